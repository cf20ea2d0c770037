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
