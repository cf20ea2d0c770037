"""The leaderboard: model cards of one standard evaluation, ranked per dataset.

Only cards of the named evaluation that ran its whole example set are ranked (a
``partial`` card is listed below the table, never in it), and deterministic and
randomized models get separate tables, as RobustBench keeps randomized defenses apart:
a randomized model is judged by its majority over draws, a deterministic one by its
single answer, and the two numbers are not the same kind of claim. Paper-grid cells,
sweeps and ad-hoc runs never enter: they are experiments, shown elsewhere.

A card of another training seed than the registered checkpoints' (``robustsnn benchmark
--seed N``; :func:`.card.other_seed`) is not ranked either: it is the same model trained
again, and ranking three seeds of one model as three rows would crowd the table with one
model and let its luckiest seed stand for it. Such cards are listed below the tables, under
their own heading, with their numbers and a pointer to ``robustsnn report seeds``, which
puts each model's seeds side by side (mean and spread over seeds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import UserError
from .card import other_seed, relative_to, seeds_text


def load_cards(folder: Path) -> list[dict[str, Any]]:
    """Every card under ``folder`` (``*.json``), in path order; an unreadable one is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"no model cards under {folder} (run `robustsnn benchmark`)")
    cards = []
    for path in sorted(folder.rglob("*.json")):
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UserError(f"{path} is not a readable model card") from None
        if not isinstance(card, dict) or "worst_case_robust_accuracy" not in card or "evaluation" not in card:
            raise UserError(f"{path} is not a model card (no evaluation or worst-case robust accuracy)")
        # A card written before content digests names its checkpoint by the file's sha256
        # (robustsnn migrate-digests renames it): it has no content digest to show, and
        # its file digest must not pass for one.
        card.setdefault("model_sha256", "")
        card["_path"] = path
        cards.append(card)
    return cards


def card_case(card: dict[str, Any], root: Path) -> Any:
    """The worst case behind ``card`` (a :class:`~robustsnn.analysis.worst_case.WorstCase`),
    recomputed from the run records beside its logs under ``root`` (the results folder the
    card's paths are relative to); None when they are not there (a card copied alone)."""
    from ..analysis.worst_case import run_from_record, worst_case
    from ..records.record import RunRecord

    paths = [Path(root) / Path(a["log"]).with_suffix(".json") for a in card.get("attacks", []) if a.get("log")]
    if not paths or not all(p.is_file() for p in paths):
        return None
    cases = worst_case([run_from_record(RunRecord.load(p)) for p in paths])
    return cases[0] if len(cases) == 1 else None


def _paired_with_next(ranked: list[dict[str, Any]], cases: dict[str, Any]) -> None:
    """Each row against the row ranked just below it in its table, paired over the examples
    both were evaluated on (per example: robust in the worst case or not; exact McNemar)."""
    from ..analysis.worst_case import pair_cases

    for row, below in zip(ranked, ranked[1:]):
        a, b = cases.get(row["card"]), cases.get(below["card"])
        if a is None or b is None or (row["dataset"], row["table"]) != (below["dataset"], below["table"]):
            continue
        paired = pair_cases(a, b)
        if paired is None:
            continue
        row.update(vs_next_difference=paired.difference, vs_next_ci_low=paired.ci_low,
                   vs_next_ci_high=paired.ci_high, vs_next_p=paired.p_value, vs_next_significant=paired.significant)


def _ranked(card: dict[str, Any]) -> bool:
    return not any(flag.startswith("partial") for flag in card.get("flags", []))


def _seed_listed(card: dict[str, Any], evaluation: str) -> bool:
    """A full card of ``evaluation`` of another training seed: listed apart, never ranked."""
    return card["evaluation"] == evaluation and _ranked(card) and other_seed(card)


def _randomized(card: dict[str, Any]) -> bool:
    return any(flag.startswith("randomized") for flag in card.get("flags", []))


def rows(cards: Sequence[dict[str, Any]], evaluation: str, root: Path) -> list[dict[str, Any]]:
    """One row per ranked card of ``evaluation``: dataset, table (deterministic or
    randomized), rank within it, the numbers with intervals, flags, the card's path, and
    the paired comparison with the row ranked next (where the card's runs are under ``root``)."""
    out, cases = [], {}
    for card in cards:
        if card["evaluation"] != evaluation or not _ranked(card) or other_seed(card):
            continue
        wc, clean = card["worst_case_robust_accuracy"], card["clean_accuracy"]
        out.append({
            "dataset": card["dataset"], "table": "randomized" if _randomized(card) else "deterministic",
            "model": card["name"], "model_sha256": card["model_sha256"],
            "n": card["examples"]["n"], "clean_accuracy": clean["value"], "clean_ci_low": clean["ci95"][0],
            "clean_ci_high": clean["ci95"][1], "worst_case_robust_accuracy": wc["value"],
            "worst_case_ci_low": wc["ci95"][0], "worst_case_ci_high": wc["ci95"][1],
            "attacks": len(card["attacks"]), "best_single_attack": card["best_single_attack"],
            "forward_passes_per_prediction": card["forward_passes_per_prediction"],
            "flags": "; ".join(f.split(":")[0] for f in card["flags"]),
            "card": relative_to(card["_path"], root),
        })
        cases[out[-1]["card"]] = card_case(card, root)
    out.sort(key=lambda r: (r["dataset"], r["table"], -r["worst_case_robust_accuracy"], r["model"]))
    rank: dict[tuple[str, str], int] = {}
    for row in out:
        key = (row["dataset"], row["table"])
        rank[key] = rank.get(key, 0) + 1
        row["rank"] = rank[key]
    _paired_with_next(out, cases)
    return out


def _vs_next(row: dict[str, Any]) -> str:
    if row.get("vs_next_p") is None:
        return "-"
    return (f"{100 * row['vs_next_difference']:+.1f} [{100 * row['vs_next_ci_low']:+.1f}, "
            f"{100 * row['vs_next_ci_high']:+.1f}], p = {row['vs_next_p']:.2g}"
            + ("" if row["vs_next_significant"] else ", within noise"))


def render(rows_: Sequence[dict[str, Any]], cards: Sequence[dict[str, Any]], evaluation: str,
           root: Path | None = None) -> str:
    """The leaderboard as Markdown: per dataset, the deterministic then the randomized table;
    then the partial cards and the cards of other training seeds, not ranked (their links
    relative to ``root``, the folder the leaderboard is written to)."""
    from tabulate import tabulate

    def pct(value: float, low: float, high: float) -> str:
        return f"{100 * value:.1f} [{100 * low:.1f}, {100 * high:.1f}]"

    lines = [f"# Leaderboard: {evaluation}", "",
             f"Worst-case robust accuracy (%) with its 95% Wilson interval: the share of examples that no attack of "
             f"the {evaluation} ensemble turned into a mistake of the model as deployed. Ranked within a table only; "
             "rows whose intervals overlap are not told apart by this evaluation; 'vs next' compares a row with the "
             "one ranked below it, paired over the same examples (difference in points, 95% CI, exact McNemar p). "
             "Generated by `robustsnn leaderboard` from the model cards; each row links its card (flags spelled out "
             "there).", ""]
    for dataset in sorted({r["dataset"] for r in rows_}):
        for table in ("deterministic", "randomized"):
            members = [r for r in rows_ if r["dataset"] == dataset and r["table"] == table]
            if not members:
                continue
            lines += [f"## {dataset}: {table} models", ""]
            body = [[r["rank"], r["model"], r["model_sha256"][:12],
                     pct(r["worst_case_robust_accuracy"], r["worst_case_ci_low"], r["worst_case_ci_high"]),
                     pct(r["clean_accuracy"], r["clean_ci_low"], r["clean_ci_high"]), r["n"], r["attacks"],
                     _vs_next(r), r["best_single_attack"], r["forward_passes_per_prediction"], r["flags"] or "-",
                     f"[card]({r['card']})"] for r in members]
            lines.append(tabulate(body, headers=["#", "model", "checkpoint", "worst-case robust", "clean", "N",
                                                 "attacks", "vs next (paired)", "best single attack",
                                                 "passes/prediction", "flags", "card"],
                                  tablefmt="github", disable_numparse=True))
            lines.append("")
    unranked = [c for c in cards if c["evaluation"] == evaluation and not _ranked(c)]
    if unranked:
        lines += ["Not ranked (partial evaluations): "
                  + ", ".join(f"{c['dataset']} {c['name']} (N = {c['examples']['n']})" for c in unranked), ""]
    base = Path(root) if root is not None else Path.cwd()
    seeds = sorted((c for c in cards if _seed_listed(c, evaluation)),
                   key=lambda c: (c["dataset"], c["name"], seeds_text(c), c["model_sha256"]))
    if seeds:
        lines += ["## Other training seeds (not ranked)", "",
                  "The same models trained again with another seed (`robustsnn build --seed N`, evaluated with "
                  "`robustsnn benchmark --seed N`): one model is one row above, its registered (seed 0) checkpoint; "
                  "its other seeds are listed here, not ranked. `robustsnn report seeds` (results/seeds.md) gives "
                  "each model's mean and spread over seeds and the paired differences per seed.", ""]
        body = [[c["dataset"], c["name"], seeds_text(c).removeprefix("training "), c["model_sha256"][:12],
                 pct(c["worst_case_robust_accuracy"]["value"], *c["worst_case_robust_accuracy"]["ci95"]),
                 pct(c["clean_accuracy"]["value"], *c["clean_accuracy"]["ci95"]), c["examples"]["n"],
                 "; ".join(f.split(":")[0] for f in c["flags"]) or "-", f"[card]({relative_to(c['_path'], base)})"]
                for c in seeds]
        lines.append(tabulate(body, headers=["dataset", "model", "seed", "checkpoint", "worst-case robust", "clean",
                                             "N", "flags", "card"], tablefmt="github", disable_numparse=True))
        lines.append("")
    return "\n".join(lines)


def write_leaderboard(cards_folder: Path, out: Path, evaluation: str = "standard-v1") -> list[dict[str, Any]]:
    """Rank the cards of ``evaluation`` under ``cards_folder``; write ``out`` (CSV) and its ``.md``."""
    import pandas as pd

    from ..io_utils import atomic_write_text

    out = Path(out)
    cards = load_cards(cards_folder)
    ranked = rows(cards, evaluation, out.parent)
    columns = ["dataset", "table", "rank", "model", "model_sha256", "n", "clean_accuracy", "clean_ci_low",
               "clean_ci_high", "worst_case_robust_accuracy", "worst_case_ci_low", "worst_case_ci_high", "attacks",
               "vs_next_difference", "vs_next_ci_low", "vs_next_ci_high", "vs_next_p", "vs_next_significant",
               "best_single_attack", "forward_passes_per_prediction", "flags", "card"]
    atomic_write_text(out, pd.DataFrame(ranked, columns=columns).to_csv(index=False, float_format="%.17g"))
    atomic_write_text(out.with_suffix(".md"), render(ranked, cards, evaluation, out.parent) + "\n")
    return ranked
