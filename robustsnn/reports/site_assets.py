"""The stylesheet and the script of the leaderboard site (:mod:`.site`), as strings.

Kept as Python strings rather than package data so that the site builds from a plain
checkout and from any install without a ``package-data`` entry. No framework and no
CDN: the site must work opened from disk (``file://``) on a machine without network.
"""

from __future__ import annotations

CSS = """\
:root {
  --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa; --accent: #0b5cad;
  --mark: #ffe58a; --ok: #1a7f37; --bad: #b42318; --skip: #6e7781;
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
header { border-bottom: 1px solid var(--line); background: var(--head); }
header nav { max-width: 1800px; margin: 0 auto; padding: .6rem 1rem; display: flex; gap: 1.2rem; }
header nav a { color: var(--accent); text-decoration: none; font-weight: 600; }
header nav a[aria-current="page"] { color: var(--fg); }
main { max-width: 1800px; margin: 0 auto; padding: 1rem; }
footer { max-width: 1800px; margin: 2rem auto 1rem; padding: 0 1rem; color: var(--muted); font-size: .85rem; }
h1 { font-size: 1.5rem; margin: .4rem 0 .8rem; }
h2 { font-size: 1.2rem; margin: 1.8rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p.note, .legend { color: var(--muted); font-size: .88rem; max-width: 70rem; }
a { color: var(--accent); }
code { font-size: .85em; background: var(--head); padding: 0 .2em; border-radius: 3px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .3rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .45rem; vertical-align: top; }
thead th { background: var(--head); position: sticky; top: 0; text-align: left; white-space: nowrap; }
tbody th { text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.sortable thead th button {
  all: unset; cursor: pointer; display: block; width: 100%;
}
table.sortable thead th button::after { content: " \\2195"; color: var(--muted); font-size: .8em; }
table.sortable thead th[aria-sort="ascending"] button::after { content: " \\25B2"; color: var(--fg); }
table.sortable thead th[aria-sort="descending"] button::after { content: " \\25BC"; color: var(--fg); }
table.sortable thead th button:focus-visible { outline: 2px solid var(--accent); }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.headline { font-weight: 700; }
.not-ranked { border-left: 4px solid var(--bad); padding-left: .6rem; }
table.leaderboard td.flags span { border-bottom: 1px dotted var(--muted); cursor: help; }
table.kv th { background: var(--head); text-align: left; font-weight: 600; white-space: nowrap; }
table.kv td { max-width: 60rem; word-break: break-word; }
table.kv ul { margin: 0; padding-left: 1.1rem; }
table.examples td.text { min-width: 18rem; max-width: 34rem; }
mark { background: var(--mark); padding: 0 .1em; border-radius: 2px; }
.result-successful { color: var(--bad); font-weight: 600; }
.result-failed, .result-unattackable, .result-budget { color: var(--ok); }
.result-skipped { color: var(--skip); }
.controls { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; margin: .5rem 0; }
.controls input[type="search"] { font: inherit; padding: .25rem .5rem; min-width: 22rem; }
.controls select { font: inherit; padding: .2rem; }
td.nowrap, table.compact td { white-space: nowrap; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; margin: .5rem 0 1.5rem; }
figure { margin: 0; width: 480px; max-width: 100%; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85rem; }
.sha { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
"""

JS = """\
"use strict";
// Sortable tables (numeric-aware, ascending/descending toggle, empty cells last) and the
// example search of the run pages. Plain DOM: the site is opened from disk, offline.
(function () {
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function valueOf(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var sort = cell.getAttribute("data-sort");
    return (sort !== null ? sort : cell.textContent).trim();
  }

  function missing(value) { return value === "" || value === "-"; }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) { return x - y; }
    return collator.compare(a, b);
  }

  function sortTable(table, header) {
    var index = header.cellIndex;
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var headers = header.parentNode.children;
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, position: position, value: valueOf(row, index) };
    });
    rows.sort(function (p, q) {
      var mp = missing(p.value), mq = missing(q.value);
      if (mp !== mq) { return mp ? 1 : -1; }  // no value sorts last either way
      var c = mp ? 0 : compare(p.value, q.value);
      return (ascending ? c : -c) || p.position - q.position;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (header) {
      header.addEventListener("click", function () { sortTable(table, header); });
    });
  });

  var search = document.getElementById("example-search");
  if (search) {
    var table = document.getElementById(search.getAttribute("aria-controls"));
    var result = document.getElementById("example-result");
    var count = document.getElementById("example-count");
    var update = function () {
      var query = search.value.trim().toLowerCase();
      var wanted = result ? result.value : "";
      var rows = table.tBodies[0].rows, shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = (!query || rows[i].textContent.toLowerCase().indexOf(query) >= 0)
          && (!wanted || rows[i].getAttribute("data-result") === wanted);
        rows[i].hidden = !hit;
        if (hit) { shown++; }
      }
      count.textContent = shown + " of " + rows.length + " examples shown";
    };
    search.addEventListener("input", update);
    if (result) { result.addEventListener("change", update); }
    update();
  }
})();
"""
