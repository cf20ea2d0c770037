"""``robustsnn table``: aggregate attack run records into ``results/table2.csv`` and a
markdown table. Metrics are recomputed from each per-example log by
:mod:`.metrics` (the one place they are computed); floats are stored unrounded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..campaign.runner import summarise
from ..io_utils import atomic_write_text
from ..records.find import find_records
from ..records.log import read_log
from ..records.metrics import percent as _pct
from ..records.record import RunRecord
from .compare import render_comparison
from .recount import budget_suspects, needs_recount

COLUMNS = [
    "campaign", "dataset", "model", "defense", "recipe", "noise", "protocol",
    "n", "clean_accuracy", "accuracy_under_attack", "attack_success_rate",
    "unattackable_share", "accuracy_under_attack_attackable", "attack_success_rate_attackable",
    "unattackable_source", "budget_share", "words_perturbed", "queries", "seconds_per_example",
    "verdict_draws", "verdict_n", "verdict_left_out", "verdict_clean_accuracy", "verdict_accuracy_under_attack",
    "verdict_attack_success_rate", "verdict_attack_holds",
    "complete", "max_modification_rate", "candidates", "similarity", "query_budget", "query_cache",
    "encoder", "embedding", "checkpoint", "git", "date",
]


def _row(record: RunRecord, recounter: Any = None) -> dict[str, Any]:
    rows = read_log(record.log_path)
    recipe = record.cell.recipe
    source = "" if record.is_transfer else "logged"
    if needs_recount(rows, recipe):  # a log from before the candidate counts
        if recounter is not None:
            rows, source = recounter.rows(record, rows), "recounted"
        else:
            source = ""
    elif recounter is not None and budget_suspects(rows, record):  # from before the budget type
        rows = recounter.rows(record, rows)
    # query_budget: a log from before the budget type logged a budget-stopped search failed.
    summary = summarise(rows, record.verdict_draws, replay=record.is_transfer,
                        unattackable_known=True if source == "recounted" else None,
                        query_budget=record.threat.get("query_budget"))
    m, v = summary["metrics"], summary.get("verdict", {})
    threat, attack = record.threat, record.attack
    return {
        "campaign": record.campaign_name, **record.cell.to_dict(),
        "protocol": record.protocol, "n": m["n"],
        "clean_accuracy": m["clean_accuracy"], "accuracy_under_attack": m["accuracy_under_attack"],
        "attack_success_rate": m["attack_success_rate"], "unattackable_share": m["unattackable_share"],
        "accuracy_under_attack_attackable": m["accuracy_under_attack_attackable"],
        "attack_success_rate_attackable": m["attack_success_rate_attackable"],
        "unattackable_source": source if not math.isnan(m["unattackable_share"]) else "",
        "budget_share": m["budget_share"],
        "words_perturbed": m["words_perturbed"],
        "queries": m["queries"], "seconds_per_example": m["seconds_per_example"],
        "verdict_draws": v.get("draws", 0),
        "verdict_n": v.get("n"), "verdict_left_out": v.get("left_out"),
        "verdict_clean_accuracy": v.get("clean_accuracy"),
        "verdict_accuracy_under_attack": v.get("accuracy_under_attack"),
        "verdict_attack_success_rate": v.get("attack_success_rate"),
        "verdict_attack_holds": v.get("attack_holds"),
        "complete": record.complete and m["n"] == record.examples_selected,
        "max_modification_rate": threat.get("max_modification_rate"),
        "candidates": threat.get("candidates"), "similarity": threat.get("similarity"),
        "query_budget": threat.get("query_budget"),
        "query_cache": record.query_cache,
        "encoder": attack.get("sentence_encoder"), "embedding": attack.get("embedding"),
        "checkpoint": record.model.get("checkpoint"), "git": record.get("git"),
        "date": record.get("date"),
    }


def collect(results: Path | Sequence[Path], recount: bool = False) -> list[dict[str, Any]]:
    """One row per run record under ``results`` (one folder or several, each searched
    recursively), in a stable order. ``recount``: recover the unattackable examples of
    logs from before the candidate counts (analysis/recount.py; loads the attack resources)."""
    recounter = None
    if recount:
        from .recount import Recounter

        recounter = Recounter()
    rows = [_row(record, recounter) for record in find_records(results)]
    order = ("campaign", "dataset", "recipe", "model", "defense", "noise")
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in order))


def render_markdown(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    headers = ["campaign", "dataset", "model", "defense", "recipe", "noise", "protocol", "cache", "N", "Cln", "Boa",
               "Suc", "unatt", "budget", "Boa_a", "Suc_a", "% words", "queries", "s/ex", "R", "left_R", "Cln_R",
               "Boa_R", "Suc_R", "holds_R"]
    body = []
    for r in rows:
        body.append([
            r["campaign"], r["dataset"], r["model"], r["defense"], r["recipe"], r["noise"], r["protocol"],
            "on" if r["query_cache"] else "off", f"{r['n']}{'' if r['complete'] else '*'}", _pct(r["clean_accuracy"]),
            _pct(r["accuracy_under_attack"]), _pct(r["attack_success_rate"]),
            _pct(r["unattackable_share"]) + ("†" if r["unattackable_source"] == "recounted" else ""),
            _pct(r.get("budget_share")),
            _pct(r["accuracy_under_attack_attackable"]), _pct(r["attack_success_rate_attackable"]),
            _pct(r["words_perturbed"]),
            "-" if math.isnan(r["queries"]) else f"{r['queries']:.0f}",
            "-" if math.isnan(r["seconds_per_example"]) else f"{r['seconds_per_example']:.2f}",  # N = 0: nan
            r["verdict_draws"] or "-", "-" if r["verdict_left_out"] is None else r["verdict_left_out"],
            _pct(r["verdict_clean_accuracy"]),
            _pct(r["verdict_accuracy_under_attack"]), _pct(r["verdict_attack_success_rate"]),
            _pct(r["verdict_attack_holds"]),
        ])
    return tabulate(body, headers=headers, tablefmt="github")


def write_table(results: Path | Sequence[Path], out_csv: Path, out_md: Path | None = None,
                recount: bool = False) -> list[dict[str, Any]]:
    import pandas as pd

    rows = collect(results, recount)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    atomic_write_text(out_csv, frame.to_csv(index=False, float_format="%.17g"))
    if out_md is not None:
        legend = ("Cln = clean accuracy, Boa = accuracy under attack, Suc = attack success rate, in %; "
                  "% words = mean share of words perturbed by successful attacks; R = fresh draws of "
                  "the final verdict (majority vote) and its Cln/Boa/Suc, holds_R = share of "
                  "single-draw successes that still fool the majority; left_R = examples left out of "
                  "Cln_R, Boa_R and Suc_R (their N is N - left_R): the search skipped them, its one draw "
                  "getting the clean text wrong, while the majority gets it right, so no attack ran on them; "
                  "cache = TextAttack's per-example "
                  "cache of model outputs (off: every query is a new draw); unatt = share of the attacked "
                  "examples whose search never had a candidate text (counted as failed in Boa and Suc, as "
                  "TextAttack does; '-' = a log from before the count, † = recounted for such a log from the cell's "
                  "transformation, see analysis/recount.py), Boa_a and Suc_a = Boa and Suc over "
                  "the attackable examples only; budget = share of the attacked examples whose search the "
                  "query budget stopped (also counted as failed, as TextAttack does, and no evidence of "
                  "robustness either; kept in Boa_a and Suc_a). N* = run not complete. "
                  f"Generated by `robustsnn table` from {len(rows)} run records; unrounded values in "
                  f"{out_csv.name}.\n")
        title = "Attack results (Table 2)" if out_csv.stem == "table2" else f"Attack results: {out_csv.stem}"
        comparison = render_comparison(rows)
        atomic_write_text(out_md, f"# {title}\n\n" + legend + "\n" + render_markdown(rows) + "\n"
                          + ("\n" + comparison if comparison else ""))
    return rows
