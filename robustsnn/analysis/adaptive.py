"""The adaptive-evaluation report: ``robustsnn table --worst-case``.

Four tables, all computed from run records and their logs (nothing is re-run):

* **worst case** (:mod:`.worst_case`): per deployed model, the share of examples that
  survive every attack in the results - the headline number;
* **k-curve**: for the Poisson SNN, the attack success rate against the number of draws
  ``k`` averaged per query (``fresh`` is one draw per distinct text; ``mean-k`` is the
  expectation-over-draws attack), single-draw and by the R-draw verdict, on the examples
  every k attacked;
* **transfer**: source -> target, the share of the source attack's successes that also
  fool the target (among those the target gets right when clean);
* **matched subset**: every attack's success rate on the examples that all compared
  models classify correctly, so that a model is not credited for the slice's easy
  examples it happens to get right.

Every rate has its 95% Wilson interval in the CSVs (``<rate>_ci_low`` / ``<rate>_ci_high``,
from the counts behind it), and the Markdown shows the headline rate's. Deployed models of
one dataset are compared paired (``<stem>_paired.csv`` and a Markdown section): over the
examples both were evaluated on, robust in the worst case or not, exact McNemar test.

Every row names the network(s) it is about (``model_sha256``; ``source_model_sha256`` and
``target_model_sha256`` for a transfer; ``a_model_sha256`` / ``b_model_sha256`` for a pair:
:attr:`~robustsnn.records.record.RunRecord.model_key`), and the Markdown says under its
title which networks the tables describe (:mod:`robustsnn.records.networks`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..campaign.transfer import is_transfer
from ..io_utils import atomic_write_text
from ..noise import draws_per_query
from ..records.log import read_log
from ..records.metrics import FAILED_TYPES, SUCCESSFUL
from ..records.metrics import percent as _pct
from ..records.networks import key_of, networks_line
from ..records.record import short_key
from ..stats import wilson_interval
from .compare import p_cell
from .worst_case import Run, compare_deployed, load_runs, matched_success_rates, worst_case

CONFIDENCE, ALPHA = 0.95, 0.05


def _rate(hits: int, n: int) -> float:
    return hits / n if n else math.nan


def _ci(name: str, hits: int, n: int) -> dict[str, float]:
    """``{name_ci_low, name_ci_high}``: the Wilson interval of ``hits / n`` (nan when n is 0)."""
    low, high = wilson_interval(hits, n, CONFIDENCE) if n else (math.nan, math.nan)
    return {f"{name}_ci_low": low, f"{name}_ci_high": high}


def _ci_of_rate(name: str, rate: float, n: int) -> dict[str, float]:
    """As :func:`_ci` for a rate stored as ``hits / n`` (the count recovered exactly)."""
    if math.isnan(rate) or not n:
        return _ci(name, 0, 0)
    hits = round(rate * n)
    if abs(hits / n - rate) > 1e-9:
        raise RuntimeError(f"{name} = {rate!r} is not a count over {n}")
    return _ci(name, hits, n)


def k_curve(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Success rate against draws per query, per dataset x model x defense x recipe."""
    groups: dict[tuple[str, str, str, str, str], list[Run]] = {}
    for run in runs:
        if run.form == "poisson" and draws_per_query(run.noise) and not is_transfer(run.recipe):
            groups.setdefault((run.dataset, run.model, run.defense, run.recipe, run.checkpoint), []).append(run)
    rows = []
    for (dataset, model, defense, recipe, checkpoint), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        common = sorted(set.intersection(*(set(r.examples) for r in members)))
        for run in sorted(members, key=lambda r: draws_per_query(r.noise)):
            ex = [run.examples[i] for i in common]
            attacked = [e for e in ex if e.result == SUCCESSFUL or e.result in FAILED_TYPES]
            clean = [e for e in ex if e.clean_correct]
            successes = sum(e.result == SUCCESSFUL for e in attacked)
            fooled = sum(not e.final_correct for e in clean)
            rows.append({
                "dataset": dataset, "model": model, "defense": defense, "recipe": recipe,
                "noise": run.noise, "k": draws_per_query(run.noise), "n": len(common),
                "attack_success_rate": _rate(successes, len(attacked)),
                "verdict_attack_success_rate": _rate(fooled, len(clean)),
                "run": run.name, "model_sha256": checkpoint,
                **_ci("attack_success_rate", successes, len(attacked)),
                **_ci("verdict_attack_success_rate", fooled, len(clean)),
            })
    return rows


def transfer_table(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per transfer run: how many of its source's successes also fool the target."""
    rows = []
    for run in runs:
        if not is_transfer(run.recipe):
            continue
        attack = run.record.attack if run.record is not None else {}
        source = attack.get("transfer_from", {})
        source_rows = {int(r["index"]): r for r in read_log(run.folder / attack["source_log"])}
        successes = [i for i, r in source_rows.items() if r["result"] == SUCCESSFUL and i in run.examples]
        eligible = [i for i in successes if run.examples[i].clean_correct]
        fooled = sum(not run.examples[i].final_correct for i in eligible)
        rows.append({
            "dataset": run.dataset, "source": source.get("model"), "source_noise": source.get("noise"),
            "recipe": source.get("recipe"), "target": run.model, "target_noise": run.noise,
            "defense": run.defense, "source_successes": len(successes), "target_clean_correct": len(eligible),
            "transfer_rate": _rate(fooled, len(eligible)),
            "by": "verdict" if run.stochastic else "deterministic", "run": run.name,
            "source_model_sha256": key_of(attack.get("source_model_sha256"), attack.get("source_checkpoint_sha256")),
            "target_model_sha256": run.checkpoint,
            **_ci("transfer_rate", fooled, len(eligible)),
        })
    return sorted(rows, key=lambda r: (r["dataset"], r["source"], r["recipe"], r["target"], r["target_noise"]))


def matched_table(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per dataset, every search attack's success rate on the examples all models get right."""
    rows = []
    attacks = [r for r in runs if not is_transfer(r.recipe)]
    for dataset in sorted({r.dataset for r in attacks}):
        for m in matched_success_rates(attacks, dataset):
            rows.append({"dataset": m.dataset, "model": m.model, "form": m.form, "run": m.run, "n": m.n,
                         "attack_success_rate": m.attack_success_rate, "model_sha256": m.checkpoint,
                         **_ci_of_rate("attack_success_rate", m.attack_success_rate, m.n)})
    return rows


def worst_case_table(runs: Sequence[Run]) -> list[dict[str, Any]]:
    return [{
        "dataset": w.dataset, "model": w.model, "defense": w.defense, "form": w.form, "attacks": w.runs,
        "n": w.n, "clean_accuracy": w.clean_accuracy, "worst_case_robust_accuracy": w.robust_accuracy,
        "strongest_single_attack": w.best_single_attack,
        "strongest_single_robust_accuracy": w.best_single_robust_accuracy,
        "worst_text_single_draw_error": w.worst_text_error, "model_sha256": w.checkpoint,
        **_ci_of_rate("clean_accuracy", w.clean_accuracy, w.n),
        **_ci("worst_case_robust_accuracy", len(w.robust_examples), w.n),
        **_ci_of_rate("strongest_single_robust_accuracy", w.best_single_robust_accuracy, w.n),
    } for w in worst_case(runs)]


def paired_table(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Every pair of deployed models on one dataset, paired on "robust in the worst case"
    over the examples both were evaluated on (:func:`.worst_case.compare_deployed`)."""
    rows = []
    for c in compare_deployed(worst_case(runs), confidence=CONFIDENCE, alpha=ALPHA):
        p = c.paired
        rows.append({
            "dataset": c.dataset, "a": c.a_label, "b": c.b_label, "n": p.n,
            "a_worst_case_robust_accuracy": p.a_rate, "b_worst_case_robust_accuracy": p.b_rate,
            "difference": p.difference, "difference_ci_low": p.ci_low, "difference_ci_high": p.ci_high,
            "only_a": p.b, "only_b": p.c, "mcnemar_p": p.p_value, "significant": p.significant,
            "verdict": _who(p, c.a_label, c.b_label),
            "a_model_sha256": c.a.checkpoint, "b_model_sha256": c.b.checkpoint,
        })
    return rows


def _who(p: Any, a: str, b: str) -> str:
    if not p.significant:
        return "within noise"
    return f"{a if p.difference > 0 else b} ahead"


def _markdown(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    from tabulate import tabulate

    if not rows:
        return "(no runs of this kind in the results)\n"
    percent = {"clean_accuracy", "worst_case_robust_accuracy", "strongest_single_robust_accuracy",
               "worst_text_single_draw_error", "attack_success_rate", "verdict_attack_success_rate",
               "transfer_rate", "a_worst_case_robust_accuracy", "b_worst_case_robust_accuracy"}
    def cell(row: dict[str, Any], key: str) -> Any:
        if key.endswith("_ci"):  # the interval of the rate named before "_ci", as lo-hi
            low, high = row[f"{key}_low"], row[f"{key}_high"]
            return "-" if math.isnan(low) else f"{_pct(low)}-{_pct(high)}"
        value = row[key]
        if key in percent:
            return _pct(value)
        if key == "mcnemar_p":
            return p_cell(value, ALPHA)
        if key == "difference":  # paired: with its interval, in points
            return (f"{100 * value:+.1f} [{100 * row['difference_ci_low']:+.1f}, "
                    f"{100 * row['difference_ci_high']:+.1f}]")
        return short_key(value, empty="-") if key == "model_sha256" else value  # enough to tell them apart

    body = [[cell(r, key) for key, _ in columns] for r in rows]
    return tabulate(body, headers=[title for _, title in columns], tablefmt="github") + "\n"


def write_adaptive(results: Path | Sequence[Path], out_csv: Path) -> dict[str, list[dict[str, Any]]]:
    """Compute the tables from the run records under ``results``; write ``out_csv``
    (worst case), ``<stem>_k.csv``, ``<stem>_transfer.csv``, ``<stem>_matched.csv``,
    ``<stem>_paired.csv`` (unrounded) and ``<stem>.md`` (all of them)."""
    import pandas as pd

    runs = load_runs(results)
    tables = {"worst_case": worst_case_table(runs), "k": k_curve(runs), "transfer": transfer_table(runs),
              "matched": matched_table(runs), "paired": paired_table(runs)}
    paths = {"worst_case": out_csv, "k": out_csv.with_name(f"{out_csv.stem}_k.csv"),
             "transfer": out_csv.with_name(f"{out_csv.stem}_transfer.csv"),
             "matched": out_csv.with_name(f"{out_csv.stem}_matched.csv"),
             "paired": out_csv.with_name(f"{out_csv.stem}_paired.csv")}
    for name, rows in tables.items():
        atomic_write_text(paths[name], pd.DataFrame(rows).to_csv(index=False, float_format="%.17g"))
    md = [
        f"# Adaptive evaluation: {out_csv.stem}\n",
        networks_line((r.dataset, r.model, r.checkpoint) for r in runs) + "\n",
        f"Generated by `robustsnn table --worst-case` from {len(runs)} run records; unrounded values in "
        f"{', '.join(p.name for p in paths.values())}. Percentages.\n",
        "## Worst-case robust accuracy\n",
        "An example counts as robust only if the model is right on the clean text and no attack "
        "in the results (every recipe, noise mode, protocol, transfer and gradient run against it) "
        "produced a text it gets wrong. Stochastic (Poisson) models: right/wrong by the R-draw "
        "majority; `worst text err` is the mean share of single draws that misclassify each "
        "example's worst text. N = examples every attack covered; 95% CI = Wilson interval of the "
        "worst-case robust accuracy (the CSV has one for every rate).\n",
        _markdown(tables["worst_case"], [
            ("dataset", "dataset"), ("model", "model"), ("defense", "defense"), ("form", "form"),
            ("attacks", "attacks"), ("n", "N"), ("clean_accuracy", "Cln"),
            ("worst_case_robust_accuracy", "worst-case robust"), ("worst_case_robust_accuracy_ci", "95% CI"),
            ("strongest_single_robust_accuracy", "best single attack"),
            ("strongest_single_attack", "which"), ("worst_text_single_draw_error", "worst text err"),
            ("model_sha256", "checkpoint")]),
        "## Deployed models compared, worst case, paired\n",
        "Every pair of deployed models on one dataset, over the examples both were evaluated on "
        "(N): each example is robust in the worst case or not for each model (as above). Δ = A minus "
        f"B in points with Newcombe's {CONFIDENCE * 100:g}% interval for paired rates; only A / only B = "
        "examples only that model keeps (McNemar's discordant pairs); p = exact McNemar test. "
        f"\"within noise\" where p >= {ALPHA:g}.\n",
        _markdown(tables["paired"], [
            ("dataset", "dataset"), ("a", "A"), ("b", "B"), ("n", "N"),
            ("a_worst_case_robust_accuracy", "A robust"), ("b_worst_case_robust_accuracy", "B robust"),
            ("difference", f"Δ [{CONFIDENCE * 100:g}% CI]"), ("only_a", "only A"), ("only_b", "only B"),
            ("mcnemar_p", "p"), ("verdict", "verdict")]),
        "## Success rate against draws per query (k)\n",
        "fresh = one draw per distinct text (k = 1); mean-k averages k fresh draws per query "
        "(expectation over draws). Suc = single-draw success rate of the search; Suc_R = share of "
        "verdict-correct clean texts whose final text the R-draw majority gets wrong.\n",
        _markdown(tables["k"], [("dataset", "dataset"), ("model", "model"), ("recipe", "recipe"),
                                ("noise", "noise"), ("k", "k"), ("n", "N"),
                                ("attack_success_rate", "Suc"), ("verdict_attack_success_rate", "Suc_R"),
                                ("verdict_attack_success_rate_ci", "Suc_R 95% CI")]),
        "## Transfer\n",
        "Share of the source attack's successes that also fool the target, among those the "
        "target classifies correctly when clean (Poisson targets: by the R-draw verdict).\n",
        _markdown(tables["transfer"], [("dataset", "dataset"), ("source", "source"), ("recipe", "recipe"),
                                       ("target", "target"), ("target_noise", "target noise"),
                                       ("source_successes", "source successes"),
                                       ("target_clean_correct", "target right on clean"),
                                       ("transfer_rate", "transfer rate"),
                                       ("transfer_rate_ci", "95% CI")]),
        "## Matched subset\n",
        "Attack success rate on the examples every compared model classifies correctly "
        "(deterministic models: by their output; Poisson models: by the R-draw verdict), "
        "so every model is attacked on the same examples.\n",
        _markdown(tables["matched"], [("dataset", "dataset"), ("model", "model"), ("form", "form"),
                                      ("run", "run"), ("n", "N"), ("attack_success_rate", "Suc"),
                                      ("attack_success_rate_ci", "Suc 95% CI")]),
    ]
    atomic_write_text(out_csv.with_suffix(".md"), "\n".join(md))
    return tables
