"""The HTML of the leaderboard site (:mod:`.site`): the page frame, the run pages with
every logged example and its changed words marked (:func:`highlight`), the pooled per-model
tables of ``experiments.html`` (not a ranking) and the tables of ``tables.html``. The ranked
leaderboard of ``index.html`` and the model card pages are :mod:`.site_standard`'s.

Every value is escaped here (:func:`_e`); table cells carry a ``data-sort`` value for the
site's sorter (:mod:`.site_assets`). The run entry (:class:`_Entry`) and the small value
helpers live here too, beside the pages that read them, so that the plots
(:mod:`.site_plots`) and the builder (:mod:`.site`) share them without an import cycle.
"""

from __future__ import annotations

import difflib
import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from ..records.record import short_key

CSS_NAME, JS_NAME = "site.css", "site.js"


# ------------------------------------------------------------------ small helpers


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _pct(x: Any, digits: int = 1) -> str:
    return "-" if _missing(x) else f"{100 * x:.{digits}f}"


def _sort(x: Any) -> str:
    """A ``data-sort`` value: the raw number, or empty (sorts last) when there is none."""
    return "" if _missing(x) else repr(float(x)) if isinstance(x, float) else str(x)


def _component(text: str) -> str:
    """A file-name-safe path component (campaign names and log stems normally are already)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    return safe or "_"


def _href(relpath: str, depth: int = 0) -> str:
    """An escaped, URL-quoted link from a page ``depth`` folders below the site root."""
    return _e("../" * depth + quote(relpath))


def _td(content: str, sort: Any = None, title: str | None = None, cls: str | None = None) -> str:
    """A cell; ``content`` is HTML already escaped, ``sort`` a raw value for the sorter."""
    attrs = ""
    if cls:
        attrs += f' class="{cls}"'
    if sort is not None:
        attrs += f' data-sort="{_e(_sort(sort))}"'
    if title:
        attrs += f' title="{_e(title)}"'
    return f"<td{attrs}>{content}</td>"


def _thead(headers: Sequence[tuple[str, str]]) -> str:
    """Sortable column heads: (label, tooltip); a button inside each for the keyboard."""
    cells = []
    for label, tip in headers:
        title = f' title="{_e(tip)}"' if tip else ""
        cells.append(f'<th scope="col"{title}><button type="button">{_e(label)}</button></th>')
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


def _kv_table(items: Mapping[str, Any]) -> str:
    """A key/value table of a record section (nested values as lists or JSON)."""
    rows = []
    for key in sorted(items):
        value = items[key]
        if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            shown = "<ul>" + "".join(f"<li>{_e(v)}</li>" for v in value) + "</ul>" if value else "[]"
        elif isinstance(value, (dict, list)):
            shown = f"<code>{_e(json.dumps(value, sort_keys=True))}</code>"
        elif value is None or isinstance(value, bool):
            shown = _e(json.dumps(value))  # as the record has it, not Python's spelling
        else:
            shown = _e(value)
        rows.append(f'<tr><th scope="row">{_e(key)}</th><td>{shown}</td></tr>')
    return '<table class="kv">' + "".join(rows) + "</table>" if rows else "<p class=\"note\">(none recorded)</p>"


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _share(votes: Any, draws: int) -> float | None:
    """``votes`` of ``draws`` as a share (sorts verdicts that used different draws alike)."""
    value = _number(votes)
    return None if value is None or not draws else value / draws


def _column(recipe: str, protocol: str, several_protocols: bool) -> str:
    return f"{recipe} ({protocol})" if several_protocols else recipe


def _dataset_title(dataset: str) -> str:
    from .accuracy import DATASET_TITLES

    return DATASET_TITLES.get(dataset, dataset)


def _dataset_order(datasets: Iterable[str]) -> list[str]:
    from .accuracy import DATASET_ORDER

    known = [d for d in DATASET_ORDER if d in set(datasets)]
    return known + sorted(set(datasets) - set(known))


# ------------------------------------------------------------------ changed words


_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"\s+|[{_CJK}]|[^\s{_CJK}]+")


def _tokens(text: str) -> list[str]:
    """Words and the whitespace between them; each CJK character is a word of its own
    (Chinese texts are not split by spaces, and a swap changes one or two characters)."""
    return _TOKEN.findall(text)


def highlight(original: str, perturbed: str) -> tuple[str, str]:
    """Both texts as escaped HTML with the words that differ in ``<mark>``: replaced or
    deleted words on the original side, replaced or inserted ones on the perturbed side.
    The word lists are aligned (difflib, as :func:`~robustsnn.records.metrics.words_changed`
    does), so a word split in two by an inserted space marks only its two halves."""
    a, b = _tokens(original), _tokens(perturbed)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        changed = tag != "equal"
        left += [(t, changed and not t.isspace()) for t in a[i1:i2]]
        right += [(t, changed and not t.isspace()) for t in b[j1:j2]]
    return _marked(left), _marked(right)


def _marked(parts: list[tuple[str, bool]]) -> str:
    out: list[str] = []
    for i, (text, mark) in enumerate(parts):
        previous = i > 0 and parts[i - 1][1]
        following = i + 1 < len(parts) and parts[i + 1][1]
        # Adjacent marked tokens (CJK characters) share one <mark>.
        out.append(("" if not mark or previous else "<mark>") + _e(text)
                   + ("" if not mark or following else "</mark>"))
    return "".join(out)


# ------------------------------------------------------------------ the runs


@dataclass
class _Entry:
    """One run record with everything the pages need."""

    record: Any  # its robustsnn.records.record.RunRecord (read from a file: record.path is set)
    row: dict[str, Any]  # its Table 2 row (robustsnn.analysis.table.collect)
    run: Any  # its robustsnn.analysis.worst_case.Run
    page: str  # site-relative path of its page
    model_key: tuple[str, str, str, str, str] = ("", "", "", "", "")  # dataset, model, defense, noise, sha
    card: str = ""  # site-relative path of its model's pooled card (experiments only)
    standard: bool = False  # a run of the standard evaluation (under <root>/benchmark), not an experiment
    standard_cards: tuple[tuple[str, str], ...] = ()  # (page, label) of the standard cards that count it

    @property
    def transfer(self) -> bool:
        from ..campaign.transfer import is_transfer

        return is_transfer(self.record.cell.recipe)


# ------------------------------------------------------------------ pages


def _page(title: str, body: str, depth: int, records: int, current: str = "") -> str:
    root = "../" * depth
    links = []
    for href, text in (("index.html", "Leaderboard"), ("experiments.html", "Experiments (not ranked)"),
                       ("tables.html", "Tables and figures")):
        here = ' aria-current="page"' if href == current else ""
        links.append(f'<a href="{root}{href}"{here}>{text}</a>')
    nav = "".join(links)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{root}{CSS_NAME}">\n'
        f'<script src="{root}{JS_NAME}" defer></script>\n'
        "</head>\n<body>\n"
        f"<header><nav>{nav}</nav></header>\n<main>\n{body}\n</main>\n"
        f"<footer>Generated by <code>robustsnn report site</code> from {records} run records.</footer>\n"
        "</body>\n</html>\n")


def _run_page(entry: _Entry, rows: list[dict[str, str]], pages_by_log: Mapping[Path, str], records: int) -> str:
    from ..records.log import draws_used, final_verdict

    record, row = entry.record, entry.row
    cell = record.cell.to_dict()
    depth = entry.page.count("/")
    stochastic = entry.run.stochastic
    replay = entry.transfer
    defended = "" if cell["defense"] == "none" else f" + {cell['defense']}"
    title = f"{_dataset_title(cell['dataset'])}: {cell['model']}{defended}, {cell['recipe']}, {cell['noise']}"
    summary = [
        ("campaign", _e(row["campaign"])), ("dataset", _e(cell["dataset"])), ("model", _e(cell["model"])),
        ("defense", _e(cell["defense"])), ("recipe", _e(cell["recipe"])), ("noise", _e(cell["noise"])),
        ("protocol", _e(row["protocol"])),
        ("examples", f"{row['n']} of {_e(record.examples_selected)}"
                     + ("" if row["complete"] else " (not complete)")),
        ("Cln / Boa / Suc (%)", " / ".join(_pct(row[k]) for k in ("clean_accuracy", "accuracy_under_attack",
                                                                   "attack_success_rate"))),
    ]
    if row["verdict_draws"]:
        left = row.get("verdict_left_out")
        summary.append((f"Cln_R / Boa_R / Suc_R (%), R = {row['verdict_draws']}",
                        " / ".join(_pct(row[k]) for k in ("verdict_clean_accuracy", "verdict_accuracy_under_attack",
                                                           "verdict_attack_success_rate"))
                        + ("" if _missing(left) or not left else
                           f" (over {_e(row['verdict_n'])} examples: {_e(left)} left out, skipped by the search "
                           "while the majority gets the clean text right, so never attacked)")))
    if entry.card:
        summary.append(("model card (pooled)", f'<a href="{_href(entry.card, depth)}">{_e(entry.card)}</a>'))
    if entry.standard:
        cards = [f'<a href="{_href(page, depth)}">{_e(label)}</a>' for page, label in entry.standard_cards]
        summary.append(("standard evaluation", "a run of the standard evaluation; counted by "
                        + (", ".join(cards) if cards else "no model card on this site (a surrogate's own run, "
                                                         "or a card not written yet)")))
    attack = record.attack
    if replay and attack.get("source_log"):
        source = pages_by_log.get((record.log_path.parent / attack["source_log"]).resolve())
        if source:
            summary.append(("source run", f'<a href="{_href(source, depth)}">{_e(source)}</a>'))
    overview = '<table class="kv">' + "".join(f'<tr><th scope="row">{_e(k)}</th><td>{v}</td></tr>'
                                              for k, v in summary) + "</table>"
    provenance = {k: record.get(k) for k in ("git", "date", "robustsnn", "python", "versions", "machine", "command")}
    provenance.update(campaign_file=record.campaign_file, complete=record.complete,
                      examples_selected=record.examples_selected, verdict_draws=record.verdict_draws,
                      examples=record.examples, seed=record.seed)

    headers = [("#", "example index in the split"), ("label", "true class"), ("result", "the log's outcome"),
               ("original text", "changed words marked"), ("perturbed text", "the attack's final text"),
               ("output", "predicted class: clean -> final"),
               ("score", "goal-function score (TextAttack): clean -> final"),
               ("queries", ""), ("words changed", "")]
    if stochastic:
        headers.append(("verdict votes", "draws for the true class, of the draws the verdict used "
                                         "(R, or fewer once settled): clean text -> final text"))
    body = []
    for r in sorted(rows, key=lambda r: int(r["index"])):
        left, right = highlight(r["original_text"], r["perturbed_text"])
        cells = [
            _td(_e(r["index"]), int(r["index"]), cls="num"), _td(_e(r["label"])),
            _td(_e(r["result"]), cls=f"result-{_component(r['result'])}"),
            _td(left, cls="text"), _td(right, cls="text"),
            _td(f"{_e(r['original_output'])} &rarr; {_e(r['perturbed_output'])}", cls="nowrap"),
            _td(f"{_e(_short(r['original_score']))} &rarr; {_e(_short(r['perturbed_score']))}",
                title=f"{r['original_score']} -> {r['perturbed_score']}", cls="nowrap"),
            _td(_e(r["queries"]), _number(r["queries"]), cls="num"),
            _td(_e(r["words_perturbed"]), _number(r["words_perturbed"]), cls="num"),
        ]
        if stochastic:
            final_correct, final_votes = final_verdict(r, replay)
            clean_draws, final_draws = draws_used(r), draws_used(r, final=True, replay=replay)
            cells.append(_td(f"{_e(r['verdict_clean_votes'])}/{clean_draws} &rarr; {_e(final_votes)}/{final_draws}",
                             _share(final_votes, final_draws), cls="num",
                             title=f"majority right: clean {r['verdict_clean_correct']}, final {final_correct}"))
        body.append(f'<tr data-result="{_e(r["result"])}">' + "".join(cells) + "</tr>")
    results = sorted({r["result"] for r in rows})
    options = '<option value="">all results</option>' + "".join(f'<option value="{_e(x)}">{_e(x)}</option>'
                                                                  for x in results)
    examples = (
        '<div class="controls">'
        '<label>Search <input type="search" id="example-search" aria-controls="examples" '
        'placeholder="words, results, numbers"></label>'
        f'<label>Result <select id="example-result">{options}</select></label>'
        f'<span id="example-count" aria-live="polite">{len(rows)} of {len(rows)} examples shown</span></div>'
        '<div class="scroll"><table id="examples" class="examples sortable">' + _thead(headers)
        + "<tbody>" + "\n".join(body) + "</tbody></table></div>")
    parts = [
        f"<h1>{_e(title)}</h1>", overview,
        "<h2>Threat model</h2>", _kv_table(record.threat),
        "<h2>Attack</h2>", _kv_table(attack),
        "<h2>Model</h2>", _kv_table(record.model),
        "<h2>Provenance</h2>", _kv_table(provenance),
        f"<h2>Adversarial examples ({len(rows)})</h2>",
        '<p class="note">Words that differ between the original and the perturbed text are marked. '
        + ("Verdict votes: fresh draws that predict the true label, of the draws the verdict used (R, or "
           "fewer where the vote stopped once no further draw could change it), for the clean and the final "
           "text (an unchanged final text counts with the clean text's votes, as the metrics do). "
           if stochastic else "")
        + "Click a column head to sort.</p>",
        examples,
    ]
    return _page(title, "\n".join(parts), depth, records)


def _short(text: str) -> str:
    value = _number(text)
    return text if value is None else f"{value:.3f}"


def _pooled_table(dataset: str, cards: list[tuple[str, dict[str, Any]]]) -> str:
    """One dataset's pooled per-model table of the experiments, from their pooled model
    cards, in card order (model, defense, noise): not a ranking."""
    attacks = [a for _, c in cards for a in c["attacks"]]
    several = len({a["protocol"] for a in attacks if not a["transfer"]}) > 1
    columns = sorted({_column(a["recipe"], a["protocol"], several) for a in attacks if not a["transfer"]})
    has_transfer = any(a["transfer"] for a in attacks)
    has_energy = any(c["energy_pj_per_inference"] is not None for _, c in cards)
    headers = [("model", "model card"), ("defense", ""), ("noise", "spike encoding under attack"),
               ("checkpoint", "sha256 of the checkpoint (- : a record from before it was stored)"),
               ("N", "examples every attack on the deployed model covered"),
               ("clean", "clean accuracy (%) on those examples; Poisson SNN: majority verdict"),
               ("worst-case robust", "right on the clean text and on every attack's text (%)"),
               ("attacks", "attacks in the worst-case ensemble")]
    headers += [(c, "accuracy under attack (%), Boa; the strongest run of this recipe") for c in columns]
    if has_transfer:
        headers.append(("best transfer", "accuracy under attack (%) of the strongest transfer run"))
    headers.append(("passes / query", "forward passes per query: draws per query x T time steps (x copies for "
                                      "SAFER); TextCNN 1"))
    if has_energy:
        headers.append(("energy / inference (µJ)", "paper/energy.csv, one forward pass"))

    def strongest(runs: list[dict[str, Any]]) -> str:
        if not runs:
            return _td("-", cls="num")
        best = min(runs, key=lambda a: (math.inf if a["accuracy_under_attack"] is None
                                        else a["accuracy_under_attack"], a["run"]))
        lines = [f"{a['run']}: Boa {_pct(a['accuracy_under_attack'])}"
                 + (f", Boa_R {_pct(a['verdict_accuracy_under_attack'])}" if a["verdict_draws"] else "")
                 + f", N {a['n']}" for a in runs]
        link = f'<a href="{_href(best["page"])}">{_pct(best["accuracy_under_attack"])}</a>'
        return _td(link, best["accuracy_under_attack"], title="\n".join(lines), cls="num")

    body = []
    for path, c in sorted(cards):
        runs, sha = c["attacks"], c["model_sha256"]
        cells = [
            _td(f'<a href="{_href(path)}">{_e(c["model"])}</a>', title=c["name"]),
            _td(_e(c["defense"])), _td(_e(c["noise"]), cls="nowrap"),
            _td(f'<span class="sha">{_e(short_key(sha, empty="-"))}</span>', sha,
                title=f"{sha or 'not recorded'} ({c['checkpoint']})"),
            _td(_e(c["worst_case_n"]), c["worst_case_n"], cls="num"),
            _td(_pct(c["clean_accuracy"]), c["clean_accuracy"], cls="num"),
            _td(_pct(c["worst_case_robust_accuracy"]), c["worst_case_robust_accuracy"], cls="num headline",
                title=f"strongest single attack: {c['strongest_single_attack']} "
                      f"({_pct(c['strongest_single_robust_accuracy'])}); {c['worst_case_scope']}"),
            _td(_e(c["worst_case_attacks"]), c["worst_case_attacks"], cls="num"),
        ]
        for column in columns:
            cells.append(strongest([a for a in runs if not a["transfer"]
                                    and _column(a["recipe"], a["protocol"], several) == column]))
        if has_transfer:
            cells.append(strongest([a for a in runs if a["transfer"]]))
        passes = c["forward_passes_per_query"]
        why = (f"{c['draws_per_query']} draws x T = {c['time_steps']}" if c["kind"] == "snn" else "TextCNN")
        why += f" x {c['copies_per_query']} copies" if c["copies_per_query"] != 1 else ""
        if c["kind"] == "snn" and c["time_steps"] is None:
            why += " (T unknown: no record or table gives it)"
        cells.append(_td(_e("-" if passes is None else passes), passes, title=why, cls="num"))
        if has_energy:
            pj = c["energy_pj_per_inference"]
            cells.append(_td("-" if pj is None else f"{pj / 1e6:.2f}", pj, cls="num"))
        key = Path(path).stem
        body.append(f'<tr data-card="{_e(key)}">' + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="pooled sortable compact" id="pooled-{_e(dataset)}" '
            f'data-dataset="{_e(dataset)}">' + _thead(headers) + "<tbody>" + "\n".join(body)
            + "</tbody></table></div>")


EXPERIMENTS_NOTE = (
    "<b>Not a ranking.</b> These rows pool every run record of the experiments per model, defense and "
    "spike-encoding mode: different rows faced different attacks, on different examples, under different "
    "threat settings, so their numbers are not comparable across rows and the order is by name. Only the "
    "leaderboard ranks models: there every row faced the same standard evaluation.")


def _experiments(cards: Mapping[str, dict[str, Any]], figures: Sequence[dict[str, Any]], level: int = 1) -> str:
    """The experiments section: per dataset, the pooled per-model table and its figures,
    under a heading of ``level`` (1 on ``experiments.html``, 2 below the index's note)."""
    by_dataset: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path, card in cards.items():
        by_dataset.setdefault(card["dataset"], []).append((path, card))
    parts = [
        f'<h{level} id="experiments">Experiments (not ranked)</h{level}>',
        f'<p class="note not-ranked">{EXPERIMENTS_NOTE}</p>',
        '<p class="note">One row per model, defense and spike-encoding mode. <b>Worst-case robust</b>: the share '
        "of examples the model gets right on the clean text and that no attack in the experiments turned into a "
        "text it gets wrong (every recipe, noise mode, protocol, transfer and gradient run against the deployed "
        "model, on the examples all of them attacked; a Poisson SNN judged by the majority over its verdict's "
        "fresh draws, so its fresh, frozen and mean-k rows share one deployed model and one worst case). Recipe "
        "columns: accuracy under attack (Boa, single-draw search) of the strongest run of that recipe; click a "
        "number for its run page, hover for every run. Click a column head to sort. Percentages.</p>",
    ]
    if not by_dataset:
        parts.append('<p class="note">No experiment run records in the results.</p>')
    for dataset in _dataset_order(by_dataset):
        parts.append(f'<h{level + 1} id="experiments-{_e(dataset)}">{_e(_dataset_title(dataset))}</h{level + 1}>')
        parts.append(_pooled_table(dataset, sorted(by_dataset[dataset])))
        parts.append(_figures([f for f in figures if f["dataset"] == dataset]))
    return "\n".join(parts)


def _experiments_page(cards: Mapping[str, dict[str, Any]], figures: Sequence[dict[str, Any]], records: int) -> str:
    return _page("robustsnn: experiments (not ranked)", _experiments(cards, figures), 0, records, "experiments.html")


def _table2(entries: Sequence[_Entry]) -> str:
    headers = [("campaign", ""), ("dataset", ""), ("model", ""), ("defense", ""), ("recipe", ""), ("noise", ""),
               ("protocol", ""), ("cache", "TextAttack's per-example cache of model outputs"),
               ("N", "* = run not complete"), ("Cln", "clean accuracy"), ("Boa", "accuracy under attack"),
               ("Suc", "attack success rate"), ("unatt", "share of attacked examples with no candidate text"),
               ("Boa_a", "Boa over the attackable examples"), ("Suc_a", "Suc over the attackable examples"),
               ("% words", "mean share of words perturbed by successful attacks"), ("queries", ""),
               ("s/ex", "seconds per example"), ("R", "fresh draws of the verdict"),
               ("left_R", "left out of Cln_R / Boa_R / Suc_R: skipped by the search, right by the majority"),
               ("Cln_R", ""), ("Boa_R", ""), ("Suc_R", ""),
               ("holds_R", "share of single-draw successes that still fool the majority")]
    ordered = sorted(entries, key=lambda e: tuple(str(e.row[k]) for k in ("campaign", "dataset", "recipe", "model",
                                                                         "defense", "noise")) + (e.page,))
    body = []
    for e in ordered:
        r = e.row
        n = f"{r['n']}{'' if r['complete'] else '*'}"
        cells = [_td(f'<a href="{_href(e.page)}">{_e(r["campaign"])}</a>')]
        cells += [_td(_e(r[k])) for k in ("dataset", "model", "defense", "recipe", "noise", "protocol")]
        cells += [_td("on" if r["query_cache"] else "off"), _td(_e(n), r["n"], cls="num")]
        for k in ("clean_accuracy", "accuracy_under_attack", "attack_success_rate", "unattackable_share",
                  "accuracy_under_attack_attackable", "attack_success_rate_attackable", "words_perturbed"):
            cells.append(_td(_pct(r[k]), r[k], cls="num"))
        cells.append(_td("-" if _missing(r["queries"]) else f"{r['queries']:.0f}", r["queries"], cls="num"))
        cells.append(_td("-" if _missing(r["seconds_per_example"]) else f"{r['seconds_per_example']:.2f}",
                         r["seconds_per_example"], cls="num"))
        cells.append(_td(_e(r["verdict_draws"] or "-"), r["verdict_draws"] or None, cls="num"))
        left = r.get("verdict_left_out")
        cells.append(_td("-" if _missing(left) else _e(int(left)), None if _missing(left) else left, cls="num"))
        for k in ("verdict_clean_accuracy", "verdict_accuracy_under_attack", "verdict_attack_success_rate",
                  "verdict_attack_holds"):
            cells.append(_td(_pct(r[k]), r[k], cls="num"))
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="scroll"><table class="sortable compact" id="table2">' + _thead(headers) + "<tbody>"
            + "\n".join(body) + "</tbody></table></div>")


def _accuracy_tables(rows: list[dict[str, str]]) -> str:
    """Table 1 (and any other table in paper/accuracy.csv) as the paper prints it."""
    parts = []
    for table in sorted({r.get("table", "") for r in rows}):
        members = [r for r in rows if r.get("table", "") == table]
        datasets = _dataset_order({r.get("dataset", "") for r in members})
        labels = list(dict.fromkeys(r.get("row", "") for r in members))
        cells = {(r.get("row", ""), r.get("dataset", "")): r for r in members}
        body = []
        for label in labels:
            tds = [f"<th scope=\"row\">{_e(label)}</th>"]
            for d in datasets:
                r = cells.get((label, d))
                mean = _number(r.get("mean")) if r and r.get("status") == "ok" else None
                if mean is None:
                    tds.append(_td("", title=(r or {}).get("note") or None))
                    continue
                det = (r.get("deterministic") or "").lower() == "true"
                std = _number(r.get("std")) or 0.0
                text = f"{100 * mean:.2f} (det.)" if det else f"{100 * mean:.2f} ± {100 * std:.2f}"
                tds.append(_td(_e(text), mean, cls="num", title=r.get("checkpoint") or None))
            body.append("<tr>" + "".join(tds) + "</tr>")
        heads = [("method", "")] + [(_dataset_title(d), "") for d in datasets]
        title = "Table 1: test accuracy" if table == "table1" else f"Test accuracy ({table})"
        parts.append(f"<h3>{_e(title)}</h3>"
                     '<p class="note">In %, from paper/accuracy.csv. ANN rows are deterministic (det.); SNN rows: '
                     "mean ± std over Poisson draws. Empty: no checkpoint (hover for the note).</p>"
                     f'<div class="scroll"><table class="sortable compact" id="accuracy-{_e(_component(table))}">'
                     + _thead(heads) + "<tbody>" + "\n".join(body) + "</tbody></table></div>")
    return "\n".join(parts)


def _energy_table(rows: list[dict[str, str]]) -> str:
    headers = [("dataset", ""), ("DNN", ""), ("DNN acc. %", ""), ("DNN energy (µJ)", ""), ("SNN", ""),
               ("SNN acc. %", "mean ± std over draws"), ("T", "time steps"), ("SNN energy (µJ)", ""),
               ("reduction", "DNN energy / SNN energy")]
    body = []
    for r in rows:
        ann_e, snn_e = _number(r.get("ann_energy_pj")), _number(r.get("snn_energy_pj"))
        ann_a, snn_a = _number(r.get("ann_accuracy")), _number(r.get("snn_accuracy"))
        red = _number(r.get("energy_reduction"))
        cells = [
            _td(_e(r.get("dataset", ""))), _td(_e(r.get("ann_kind", "")), title=r.get("ann_checkpoint") or None),
            _td(_pct(ann_a, 2), ann_a, cls="num"),
            _td("-" if ann_e is None else f"{ann_e / 1e6:.3f}", ann_e, cls="num"),
            _td(_e(r.get("snn_checkpoint", ""))),
            _td(f"{_pct(snn_a, 2)} ± {_pct(_number(r.get('snn_accuracy_std')), 2)}", snn_a, cls="num"),
            _td(_e(r.get("time_steps", "")), _number(r.get("time_steps")), cls="num"),
            _td("-" if snn_e is None else f"{snn_e / 1e6:.3f}", snn_e, cls="num"),
            _td("-" if red is None else f"{red:.2f}x", red, cls="num"),
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<p class="note">From paper/energy.csv (Table 5): FLOPs x pJ per MAC for the TextCNN, synaptic operations '
            "x pJ per accumulate for the SNN, per example.</p>"
            '<div class="scroll"><table class="sortable compact" id="energy">' + _thead(headers) + "<tbody>"
            + "\n".join(body) + "</tbody></table></div>")


def _k_table(figures: Sequence[dict[str, Any]]) -> str:
    rows = [r for f in figures for r in f.get("rows", [])]
    if not rows:
        return ""
    headers = [("dataset", ""), ("model", ""), ("defense", ""), ("recipe", ""), ("protocol", ""), ("noise", ""),
               ("k", ""),
               ("N", "examples every k attacked"), ("Suc", "single-draw attack success rate (%)"),
               ("Suc_R", "share of verdict-correct clean texts the majority gets wrong on the final text (%)")]
    body = ["<tr>" + "".join([_td(_e(r[k])) for k in ("dataset", "model", "defense", "recipe", "protocol", "noise")]
                             + [_td(_e(r["k"]), r["k"], cls="num"), _td(_e(r["n"]), r["n"], cls="num"),
                                _td(_pct(r["attack_success_rate"]), r["attack_success_rate"], cls="num"),
                                _td(_pct(r["verdict_attack_success_rate"]), r["verdict_attack_success_rate"],
                                    cls="num")]) + "</tr>" for r in rows]
    return ("<h3>Success rate against draws per query (k)</h3>"
            '<div class="scroll"><table class="sortable compact" id="k-curve">' + _thead(headers) + "<tbody>"
            + "\n".join(body) + "</tbody></table></div>")


def _figures(figures: Sequence[Mapping[str, Any]]) -> str:
    if not figures:
        return ""
    return '<div class="figures">' + "".join(
        f'<figure><img src="{_href(f["path"])}" alt="{_e(f["caption"])}"><figcaption>{_e(f["caption"])}'
        "</figcaption></figure>" for f in figures) + "</div>"


def _tables(entries: Sequence[_Entry], accuracy: list[dict[str, str]], energy: list[dict[str, str]],
            k_figures: Sequence[dict[str, Any]], knob_figures: Sequence[dict[str, Any]],
            sweeps: Sequence[str], records: int) -> str:
    parts = [
        "<h1>Tables and figures</h1>",
        '<p class="note not-ranked"><b>Experiments, not a ranking.</b> One row per run: the runs faced different '
        "attacks on different examples; only the leaderboard ranks models.</p>",
        "<h2 id=\"table2\">Attack results (Table 2)</h2>",
        '<p class="note">One row per run record (the runs of the standard evaluation too: campaigns '
        "<code>&lt;evaluation&gt;-&lt;dataset&gt;</code>), as <code>robustsnn table</code> computes it from the "
        "logs; in %. "
        "Cln = clean accuracy, Boa = accuracy under attack, Suc = attack success rate; unatt = share of attacked "
        "examples whose search never had a candidate text, Boa_a / Suc_a over the attackable ones; R = fresh draws "
        "of the final verdict and its Cln_R / Boa_R / Suc_R, holds_R = share of single-draw successes that still "
        "fool the majority, left_R = examples left out of Cln_R / Boa_R / Suc_R (skipped by the search, its one "
        "draw wrong on the clean text, while the majority is right: never attacked). N* = run not complete. "
        "The campaign links to the run page.</p>",
        _table2(entries),
    ]
    if k_figures or knob_figures:
        parts.append('<h2 id="figures">Figures from the attack logs</h2>')
        parts.append(_k_table(k_figures))
        parts.append(_figures([*k_figures, *knob_figures]))
    if accuracy:
        parts += ['<h2 id="accuracy">Test accuracy</h2>', _accuracy_tables(accuracy)]
    if energy:
        parts += ['<h2 id="energy-table">Energy (Table 5)</h2>', _energy_table(energy)]
    if sweeps:
        parts.append('<h2 id="sweeps">Sweeps</h2>')
        parts.append(_figures([{"path": rel, "caption": f"{Path(rel).stem} (results/sweeps)"} for rel in sweeps]))
    return _page("robustsnn: tables and figures", "\n".join(parts), 0, records, "tables.html")
