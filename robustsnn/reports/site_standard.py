"""The standard evaluation on the leaderboard site (:mod:`.site`): the ranked leaderboard of
``index.html`` and one page per model card.

The cards are those ``robustsnn benchmark`` wrote to ``<root>/benchmark/cards/<evaluation>/``;
the ranking is :func:`robustsnn.evaluation.leaderboard.rows`' (full cards of the evaluation
only, deterministic and randomized models in separate tables), never re-derived here. A
card of another evaluation in that folder is left out; a ``partial`` card gets its page and
is listed under its dataset, never ranked, and so is a card of another training seed than
the registered checkpoints' (the same model trained again; ``robustsnn report seeds``
compares the seeds). Card pages link the run pages of the card's runs
(``attacks[].log``, relative to the results root) where those runs are on the site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .site_pages import (
    _component,
    _dataset_order,
    _dataset_title,
    _e,
    _Entry,
    _experiments,
    _href,
    _kv_table,
    _missing,
    _page,
    _td,
    _thead,
)

TABLES = ("deterministic", "randomized")
# Card fields shown in the card page's own sections; any other field lands in "Other fields".
_SHOWN = {"card_version", "evaluation", "name", "dataset", "model", "defense", "deployed_form", "architecture",
          "checkpoint", "model_sha256", "training_seed", "threat_model", "examples", "clean_accuracy",
          "worst_case_robust_accuracy", "best_single_attack", "attacks", "verdict_draws",
          "forward_passes_per_prediction", "wall_seconds", "flags", "provenance"}


@dataclass
class StandardCard:
    """One model card of the evaluation, with its place on the site."""

    data: dict[str, Any]  # the card as written (without load_cards' ``_path``)
    source: Path  # the card file under <root>/benchmark/cards/<evaluation>/
    page: str  # cards/<stem>.html
    copy: str  # cards/<stem>.json: the card file, byte for byte
    row: dict[str, Any] | None = None  # its leaderboard row (rank, table), None when not ranked
    runs: list[str | None] = field(default_factory=list)  # run page of each of data["attacks"], or None

    @property
    def stem(self) -> str:
        return self.page[len("cards/"): -len(".html")]

    @property
    def label(self) -> str:
        return f"{self.data['name']} on {self.data['dataset']} ({_sha12(self.data)})"


def _sha12(card: Mapping[str, Any]) -> str:
    return (card.get("model_sha256") or "")[:12] or "unhashed"


def cards_folder(root: Path, evaluation: str) -> Path:
    return Path(root) / "benchmark" / "cards" / evaluation


def gather_cards(root: Path, evaluation: str) -> list[StandardCard]:
    """The cards of ``evaluation`` under the results ``root``, in path order, each with its
    leaderboard row where it is ranked; none when the folder does not exist."""
    from ..evaluation.card import relative_to
    from ..evaluation.leaderboard import load_cards, rows

    folder = cards_folder(root, evaluation)
    if not folder.is_dir():
        return []
    loaded = [c for c in load_cards(folder) if c["evaluation"] == evaluation]
    by_path = {relative_to(c["_path"], root): c for c in loaded}
    ranked = {r["card"]: r for r in rows(loaded, evaluation, root)}
    out, stems = [], set()
    for rel, card in by_path.items():
        source = card.pop("_path")
        stem = "__".join(_component(p) for p in source.relative_to(folder).with_suffix("").parts)
        base, n = stem, 2
        while stem in stems:
            stem, n = f"{base}-{n}", n + 1
        stems.add(stem)
        out.append(StandardCard(card, source, f"cards/{stem}.html", f"cards/{stem}.json", ranked.get(rel)))
    return out


def link_runs(cards: Sequence[StandardCard], entries: Sequence[_Entry], root: Path) -> None:
    """Each card's attacks to the run pages of their logs; each run entry to the cards that count it."""
    pages = {e.record.log_path.resolve(): e for e in entries}
    counted: dict[int, list[tuple[str, str]]] = {}
    for card in cards:
        card.runs = []
        for attack in card.data.get("attacks", []):
            entry = pages.get((Path(root) / str(attack.get("log", ""))).resolve()) if attack.get("log") else None
            card.runs.append(entry.page if entry else None)
            if entry is not None:
                counted.setdefault(id(entry), []).append((card.page, card.label))
    for entry in entries:
        entry.standard_cards = tuple(sorted(set(counted.get(id(entry), []))))


# ------------------------------------------------------------------ values


def _rate(rate: Any) -> tuple[str, Any, str]:
    """(shown text, sort value, tooltip) of a card's rate: ``25.0 [21.4, 29.0]`` in %."""
    if not isinstance(rate, Mapping) or _missing(rate.get("value")):
        return "-", None, ""
    low, high = (rate.get("ci95") or [None, None])[:2]
    interval = "" if _missing(low) or _missing(high) else f" [{100 * low:.1f}, {100 * high:.1f}]"
    hits = f"{rate['hits']} of {rate['n']}" if "hits" in rate and "n" in rate else ""
    return f"{100 * rate['value']:.1f}{interval}", rate["value"], hits + (", 95% Wilson interval" if interval else "")


def _other_seed(card: StandardCard) -> bool:
    from ..evaluation.card import other_seed

    return other_seed(card.data)


def _seeds_text(card: StandardCard) -> str:
    from ..evaluation.card import seeds_text

    return seeds_text(card.data)


def _flag_parts(flag: str) -> tuple[str, str]:
    short, _, rest = str(flag).partition(":")
    return short.strip(), rest.strip()


def _flags_cell(flags: Sequence[str]) -> str:
    if not flags:
        return _td("-", cls="flags")
    spans = [f'<span title="{_e(flag)}">{_e(_flag_parts(flag)[0])}</span>' for flag in flags]
    return _td(", ".join(spans), cls="flags")


# ------------------------------------------------------------------ the index


def _leaderboard_table(dataset: str, table: str, members: Sequence[StandardCard]) -> str:
    headers = [("#", "rank within this table"), ("model", "the card's name; link: its card page"),
               ("checkpoint", "sha256 of the checkpoint, first 12 hex digits"),
               ("worst-case robust", "right on the clean text and after every attack of the ensemble (%), "
                                     "95% Wilson interval"),
               ("clean", "clean accuracy (%) of the model as deployed, 95% Wilson interval"),
               ("N", "examples every attack covered"), ("attacks", "attacks in the ensemble"),
               ("best single attack", "the attack that alone leaves the lowest robust accuracy"),
               ("passes / prediction", "network evaluations behind one deployed prediction: R draws x T time "
                                       "steps for a Poisson SNN, T for a direct one, 1 for a TextCNN "
                                       "(x copies for a voting defense)"),
               ("flags", "hover a flag for its full text"), ("card", "the card page and its JSON")]
    body = []
    for card in members:
        row, c = card.row or {}, card.data
        worst, worst_sort, worst_tip = _rate(c.get("worst_case_robust_accuracy"))
        clean, clean_sort, clean_tip = _rate(c.get("clean_accuracy"))
        sha = c.get("model_sha256") or ""
        cells = [
            _td(_e(row["rank"]), row["rank"], cls="num"),
            _td(f'<a href="{_href(card.page)}">{_e(c["name"])}</a>',
                title=f"model {c.get('model')}, defense {c.get('defense')}, deployed form {c.get('deployed_form')}"),
            _td(f'<span class="sha">{_e(sha[:12] or "-")}</span>', sha, title=f"{sha} ({c.get('checkpoint')})"),
            _td(_e(worst), worst_sort, title=worst_tip, cls="num headline"),
            _td(_e(clean), clean_sort, title=clean_tip, cls="num"),
            _td(_e(row["n"]), row["n"], cls="num"),
            _td(_e(row["attacks"]), row["attacks"], cls="num"),
            _td(_e(row["best_single_attack"])),
            _td(_e(row["forward_passes_per_prediction"]), row["forward_passes_per_prediction"], cls="num"),
            _flags_cell(c.get("flags") or []),
            _td(f'<a href="{_href(card.page)}">card</a> <a href="{_href(card.copy)}">json</a>', cls="nowrap"),
        ]
        body.append(f'<tr data-card="{_e(card.stem)}">' + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="leaderboard sortable compact" id="leaderboard-{_e(dataset)}-{table}" '
            f'data-dataset="{_e(dataset)}" data-table="{table}">' + _thead(headers) + "<tbody>" + "\n".join(body)
            + "</tbody></table></div>")


def _leaderboard(cards: Sequence[StandardCard], evaluation: str) -> str:
    parts = []
    for dataset in _dataset_order({c.data["dataset"] for c in cards}):
        mine = [c for c in cards if c.data["dataset"] == dataset]
        parts.append(f'<h2 id="{_e(dataset)}">{_e(_dataset_title(dataset))}</h2>')
        for table in TABLES:
            members = sorted((c for c in mine if c.row and c.row["table"] == table), key=lambda c: c.row["rank"])
            parts.append(f"<h3>{table.capitalize()} models</h3>")
            if table == "randomized" and members:
                parts.append('<p class="note">Models that answer by a majority over random draws, judged as '
                             "deployed; ranked apart from the deterministic ones (RobustBench's practice).</p>")
            parts.append(_leaderboard_table(dataset, table, members) if members
                         else f'<p class="note">No {table} model with a full {_e(evaluation)} card.</p>')
        unranked = [c for c in mine if c.row is None and not _other_seed(c)]
        if unranked:
            links = ", ".join(f'<a href="{_href(c.page)}">{_e(c.data["name"])}</a> (N = {_e(c.data["examples"]["n"])})'
                              for c in unranked)
            parts.append(f'<p class="unranked">Not ranked (partial evaluations): {links}</p>')
        seeds = [c for c in mine if c.row is None and _other_seed(c)]
        if seeds:
            links = ", ".join(f'<a href="{_href(c.page)}">{_e(c.data["name"])}</a> ({_e(_seeds_text(c))}, worst case '
                              f'{_e(_rate(c.data.get("worst_case_robust_accuracy"))[0])})' for c in seeds)
            parts.append(f'<p class="unranked seeds">Other training seeds (not ranked: the same models trained '
                         f"again; <code>robustsnn report seeds</code> compares them): {links}</p>")
    return "\n".join(parts)


def index_page(cards: Sequence[StandardCard], evaluation: str, pooled: Mapping[str, dict[str, Any]],
               figures: Sequence[dict[str, Any]], records: int) -> str:
    """The index: the leaderboard of ``evaluation`` per dataset; without any card, one line
    saying so and the experiments (not ranked) below it."""
    parts = [f"<h1>Leaderboard: {_e(evaluation)}</h1>"]
    if not cards:
        parts.append(f'<p class="no-cards">No {_e(evaluation)} model cards in the results '
                     f"(<code>benchmark/cards/{_e(evaluation)}/</code>): nothing is ranked yet; "
                     "<code>robustsnn benchmark</code> evaluates a model.</p>")
        parts.append(_experiments(pooled, figures, level=2))
        return _page(f"robustsnn leaderboard ({evaluation})", "\n".join(parts), 0, records, "index.html")
    parts.append(
        f'<p class="note">Only models that ran the whole standard evaluation <b>{_e(evaluation)}</b> are ranked: '
        "the same attack ensemble (score-based, expectation over draws, decision-based, white-box, transfer and a "
        "second word source, adapted to what the model is) on the same test examples under the same threat "
        "model. <b>Worst-case robust</b>: the share of examples the model as deployed gets right on the clean "
        "text and after every attack of the ensemble, with its 95% Wilson interval; rows whose intervals overlap "
        "are not told apart. Deterministic and randomized models are ranked in separate tables; a partial "
        "evaluation is listed, never ranked. Flags (hover for the text) say when a number should not be trusted "
        "as it stands; each model links its card. Percentages.</p>")
    parts.append(_leaderboard(cards, evaluation))
    parts.append('<p class="note not-ranked">Everything else in the results - paper-grid cells, sweeps, single '
                 'attacks - is on <a href="experiments.html">Experiments (not ranked)</a>: those rows faced '
                 "different attacks on different examples and are not a ranking.</p>")
    return _page(f"robustsnn leaderboard ({evaluation})", "\n".join(parts), 0, records, "index.html")


# ------------------------------------------------------------------ a card's page


def _attack_table(card: StandardCard) -> str:
    headers = [("attack", "the ensemble member"), ("kind", ""), ("noise", "the encoding the attack ran against"),
               ("protocol", ""), ("robust accuracy", "right on the clean text and after this attack alone (%), "
                                                     "95% Wilson interval"),
               ("robust / N", "examples"), ("run", "its run page (or its log, where the run is not on the site)")]
    attacks = list(zip(card.data.get("attacks", []), card.runs or [None] * len(card.data.get("attacks", []))))

    def key(pair: tuple[dict[str, Any], str | None]) -> tuple[float, str]:
        value = (pair[0].get("robust_accuracy") or {}).get("value")
        return (math.inf if _missing(value) else value, str(pair[0].get("attack")))

    body = []
    for attack, page in sorted(attacks, key=key):
        rate = attack.get("robust_accuracy") or {}
        shown, sort, tip = _rate(rate)
        run = (f'<a href="{_href(page, 1)}">{_e(page)}</a>' if page
               else f'<code title="not on this site">{_e(attack.get("log", "-"))}</code>')
        cells = [_td(_e(attack.get("attack"))), _td(_e(attack.get("kind"))), _td(_e(attack.get("noise"))),
                 _td(_e(attack.get("protocol"))), _td(_e(shown), sort, title=tip, cls="num"),
                 _td(f"{_e(rate.get('hits', '-'))} / {_e(rate.get('n', '-'))}", rate.get("hits"), cls="num"),
                 _td(run)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="scroll"><table class="sortable compact" id="attacks">' + _thead(headers) + "<tbody>"
            + "\n".join(body) + "</tbody></table></div>")


def card_page(card: StandardCard, evaluation: str, records: int) -> str:
    c = card.data
    row = card.row
    standing = (f"rank {row['rank']} of the {row['table']} models on {_dataset_title(c['dataset'])}" if row
                else "not ranked (" + ("partial evaluation" if any(_flag_parts(f)[0] == "partial"
                                                                   for f in c.get("flags") or [])
                                       else f"another training seed: {_seeds_text(card)}" if _other_seed(card)
                                       else "not a full card of this evaluation") + ")")
    worst, _, worst_tip = _rate(c.get("worst_case_robust_accuracy"))
    clean, _, clean_tip = _rate(c.get("clean_accuracy"))
    examples = c.get("examples") or {}
    overview = [
        ("evaluation", _e(c.get("evaluation"))), ("standing", f'<a href="../index.html#{_e(c["dataset"])}">'
                                                              f"{_e(standing)}</a>"),
        ("dataset", _e(c.get("dataset"))), ("model", _e(c.get("model"))), ("defense", _e(c.get("defense"))),
        ("deployed form", _e(c.get("deployed_form"))), ("checkpoint", f"<code>{_e(c.get('checkpoint'))}</code>"),
        ("checkpoint sha256", f'<span class="sha">{_e(c.get("model_sha256"))}</span>'),
        ("training seed", _e(_seeds_text(card).removeprefix("training seed ").removeprefix("training seeds "))),
        ("worst-case robust accuracy (%)", f"<b>{_e(worst)}</b> ({_e(worst_tip)})"),
        ("clean accuracy (%)", f"{_e(clean)} ({_e(clean_tip)})"),
        ("N", f"{_e(examples.get('n'))} of {_e(examples.get('num_examples', '-'))} examples"
              + (f", {_e(examples['left_out_unattacked'])} left out (never attacked)"
                 if examples.get("left_out_unattacked") else "")),
        ("best single attack", _e(c.get("best_single_attack"))),
        ("verdict draws", _e(c.get("verdict_draws"))),
        ("forward passes per prediction", _e(c.get("forward_passes_per_prediction"))),
        ("wall seconds (logged attack time)", _e(c.get("wall_seconds"))),
        ("card version", _e(c.get("card_version"))),
        ("card JSON", f'<a href="{_href(card.copy, 1)}">{_e(Path(card.copy).name)}</a>'),
    ]
    flags = c.get("flags") or []
    flag_list = ("<ul class=\"flags\">" + "".join(f"<li><b>{_e(_flag_parts(f)[0])}</b>: {_e(_flag_parts(f)[1])}</li>"
                                                for f in flags) + "</ul>") if flags else "<p>None.</p>"
    threat = c.get("threat_model")
    other = {k: v for k, v in c.items() if k not in _SHOWN}
    parts = [
        f"<h1>{_e(evaluation)}: {_e(c['name'])} on {_e(_dataset_title(c['dataset']))}</h1>",
        '<table class="kv">' + "".join(f'<tr><th scope="row">{_e(k)}</th><td>{v}</td></tr>' for k, v in overview)
        + "</table>",
        f"<h2>Attacks ({len(c.get('attacks', []))})</h2>",
        '<p class="note">Robust accuracy under each attack alone, on the same N examples, strongest attack '
        "first; the worst case counts an example robust only if every attack left it right.</p>",
        _attack_table(card),
        f"<h2>Flags ({len(flags)})</h2>", flag_list,
        "<h2>Examples</h2>", _kv_table(examples),
        "<h2>Threat model</h2>", _kv_table(threat) if isinstance(threat, Mapping) else f"<p>{_e(threat)}</p>",
        "<h2>Architecture</h2>", _kv_table(c.get("architecture") or {}),
        "<h2>Provenance</h2>", _kv_table(c.get("provenance") or {}),
    ]
    if other:
        parts += ["<h2>Other fields</h2>", _kv_table(other)]
    return _page(f"{evaluation}: {c['name']} on {_dataset_title(c['dataset'])}", "\n".join(parts), 1, records)
