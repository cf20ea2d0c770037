"""``robustsnn table``: aggregate attack run records into ``results/paper/table2.csv`` and a
markdown table. Metrics are recomputed from each per-example log by
:mod:`.metrics` (the one place they are computed); floats are stored unrounded.

Every rate comes with its 95% Wilson interval (:func:`..stats.wilson_interval`) from the
counts behind it (``<rate>_ci_low`` / ``<rate>_ci_high``, :data:`INTERVAL_COLUMNS`): Cln
over N, Boa over N, Suc over S + F, Boa_a / Suc_a over the attackable examples, and the
R-draw verdict's Cln / Boa over N, Suc over the verdict-correct clean texts, holds over
the single-draw successes. A rate over no examples has no interval (empty cells).

Each row names the network it attacked (``model_sha256``: the record's
:attr:`~robustsnn.records.record.RunRecord.model_key`, a content digest, or ``file-`` and a
legacy file digest, or empty for records from before digests), and the Markdown says under
its title which networks the table describes (:mod:`robustsnn.records.networks`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..campaign.runner import summarise
from ..io_utils import atomic_write_text
from ..records.find import find_records
from ..records.log import final_verdict, parse_bool, read_log
from ..records.metrics import FAILED_TYPES, unattacked
from ..records.metrics import percent as _pct
from ..records.networks import networks_line
from ..records.record import RunRecord
from ..stats import wilson_interval
from .compare import ROBUST_BY_INDEX, VERDICT_ROBUST_BY_INDEX, render_comparison
from .recount import budget_suspects, needs_recount

# The rates that get a 95% Wilson interval in the CSV (columns <rate>_ci_low, <rate>_ci_high).
RATES_WITH_INTERVALS = (
    "clean_accuracy", "accuracy_under_attack", "attack_success_rate",
    "accuracy_under_attack_attackable", "attack_success_rate_attackable",
    "verdict_clean_accuracy", "verdict_accuracy_under_attack", "verdict_attack_success_rate",
    "verdict_attack_holds",
)
COLUMNS = [
    "campaign", "dataset", "model", "defense", "recipe", "noise", "protocol",
    "n", "clean_accuracy", "accuracy_under_attack", "attack_success_rate",
    "unattackable_share", "accuracy_under_attack_attackable", "attack_success_rate_attackable",
    "unattackable_source", "budget_share", "words_perturbed", "queries", "seconds_per_example",
    "verdict_draws", "verdict_n", "verdict_left_out", "verdict_clean_accuracy", "verdict_accuracy_under_attack",
    "verdict_attack_success_rate", "verdict_attack_holds",
    "complete", "max_modification_rate", "candidates", "similarity", "query_budget", "query_cache",
    "encoder", "embedding", "checkpoint", "model_sha256", "git", "date",
    *(f"{rate}_ci_{end}" for rate in RATES_WITH_INTERVALS for end in ("low", "high")),
]
INTERVAL_COLUMNS = [c for c in COLUMNS if "_ci_" in c]


def _count(rate: Any, n: int) -> int | None:
    """The count behind ``rate`` over ``n`` (None when there is no rate). The verdict
    metrics are stored as rates; each is a count over a known denominator, which this
    recovers exactly, or says that the two no longer agree."""
    if rate is None or n == 0 or (isinstance(rate, float) and math.isnan(rate)):
        return None
    k = round(rate * n)
    if not 0 <= k <= n or abs(k / n - rate) > 1e-9:
        raise RuntimeError(f"rate {rate!r} is not a count over {n}: the metrics and the table's "
                           "interval denominators disagree (analysis/table.py, _intervals)")
    return k


def _intervals(m: dict[str, Any], v: dict[str, Any]) -> dict[str, float]:
    """The Wilson interval of each rate in :data:`RATES_WITH_INTERVALS` from its counts."""
    n, s, f = m["n"], m["successful"], m["failed"]
    u = m.get("unattackable", 0)
    counts: dict[str, tuple[int | None, int]] = {
        "clean_accuracy": (s + f, n), "accuracy_under_attack": (f, n), "attack_success_rate": (s, s + f),
    }
    if not math.isnan(m["unattackable_share"]):
        counts["accuracy_under_attack_attackable"] = (f - u, n - u)
        counts["attack_success_rate_attackable"] = (s, s + f - u)
    if v:
        vn = int(v.get("n", n))  # the verdict leaves out examples no attack ran on (compute_verdict)
        clean = _count(v.get("clean_accuracy"), vn)
        counts["verdict_clean_accuracy"] = (clean, vn)
        counts["verdict_accuracy_under_attack"] = (_count(v.get("accuracy_under_attack"), vn), vn)
        counts["verdict_attack_success_rate"] = (_count(v.get("attack_success_rate"), clean or 0), clean or 0)
        counts["verdict_attack_holds"] = (_count(v.get("attack_holds"), s), s)
    out = {}
    for rate in RATES_WITH_INTERVALS:
        k, d = counts.get(rate, (None, 0))
        low, high = wilson_interval(k, d) if k is not None and d else (math.nan, math.nan)
        out[f"{rate}_ci_low"], out[f"{rate}_ci_high"] = low, high
    return out


def _verdict_robust(record: RunRecord, rows: list[dict[str, str]], robust: dict[int, bool]) -> dict[int, bool] | None:
    """Per example, robust by the R-draw verdict (majority right on the clean and on the final
    text, as Boa_R counts it); a deterministic model's verdict is its single answer. None for
    a stochastic run without a verdict."""
    if record.verdict_draws:
        # Examples no attack ran on (skipped on one draw, majority right) are left out, as Boa_R leaves them.
        out = {}
        for r in rows:
            clean = bool(parse_bool(r["verdict_clean_correct"]))
            if not unattacked({"result": r["result"], "verdict_clean_correct": clean}, record.is_transfer):
                out[int(r["index"])] = clean and bool(parse_bool(final_verdict(r, record.is_transfer)[0]))
        return out
    return None if record.stochastic else robust


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
    # Single draw: robust = failed as Boa counts it (unattackable and budget-stopped included).
    robust = {int(r["index"]): r["result"] in FAILED_TYPES for r in rows}
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
        "checkpoint": record.model.get("checkpoint"), "model_sha256": record.model_key, "git": record.get("git"),
        "date": record.get("date"),
        **_intervals(m, v),
        # Not CSV columns: each example's outcome for the paired comparisons (analysis/compare.py).
        ROBUST_BY_INDEX: robust, VERDICT_ROBUST_BY_INDEX: _verdict_robust(record, rows, robust),
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


def _interval(row: dict[str, Any], rate: str) -> str:
    """``row``'s interval for ``rate`` as the Markdown shows it: ``27.3-33.1`` (percent)."""
    low, high = row.get(f"{rate}_ci_low"), row.get(f"{rate}_ci_high")
    return "-" if low is None or math.isnan(low) else f"{_pct(low)}-{_pct(high)}"


def render_markdown(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    headers = ["campaign", "dataset", "model", "defense", "recipe", "noise", "protocol", "cache", "N", "Cln", "Boa",
               "Boa 95% CI", "Suc", "unatt", "budget", "Boa_a", "Suc_a", "% words", "queries", "s/ex", "R", "left_R",
               "Cln_R", "Boa_R", "Suc_R", "holds_R"]
    body = []
    for r in rows:
        body.append([
            r["campaign"], r["dataset"], r["model"], r["defense"], r["recipe"], r["noise"], r["protocol"],
            "on" if r["query_cache"] else "off", f"{r['n']}{'' if r['complete'] else '*'}", _pct(r["clean_accuracy"]),
            _pct(r["accuracy_under_attack"]), _interval(r, "accuracy_under_attack"), _pct(r["attack_success_rate"]),
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
                  "robustness either; kept in Boa_a and Suc_a). N* = run not complete. Boa 95% CI = the Wilson "
                  "interval of Boa (on N = 1,000 a Boa near 30% is known to about ±3 points); the CSV has the "
                  "Wilson interval of every rate here (`<rate>_ci_low`, `<rate>_ci_high`: Cln and Boa over N, "
                  "Suc over the attacked examples S + F, the R-draw Suc over the verdict-correct clean texts, "
                  "holds_R over the single-draw successes). "
                  f"Generated by `robustsnn table` from {len(rows)} run records; unrounded values in "
                  f"{out_csv.name}.\n")
        title = "Attack results (Table 2)" if out_csv.stem == "table2" else f"Attack results: {out_csv.stem}"
        comparison = render_comparison(rows)
        networks = networks_line((r["dataset"], r["model"], r["model_sha256"]) for r in rows)
        atomic_write_text(out_md, f"# {title}\n\n{networks}\n\n" + legend + "\n" + render_markdown(rows) + "\n"
                          + ("\n" + comparison if comparison else ""))
    return rows
