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
from .worst_case import Run, load_runs, matched_success_rates, worst_case


def _rate(hits: int, n: int) -> float:
    return hits / n if n else math.nan


def k_curve(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Success rate against draws per query, per dataset x model x defense x recipe."""
    groups: dict[tuple[str, str, str, str, str], list[Run]] = {}
    for run in runs:
        if run.form == "poisson" and draws_per_query(run.noise) and not is_transfer(run.recipe):
            groups.setdefault((run.dataset, run.model, run.defense, run.recipe, run.checkpoint), []).append(run)
    rows = []
    for (dataset, model, defense, recipe, _), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        common = sorted(set.intersection(*(set(r.examples) for r in members)))
        for run in sorted(members, key=lambda r: draws_per_query(r.noise)):
            ex = [run.examples[i] for i in common]
            attacked = [e for e in ex if e.result == SUCCESSFUL or e.result in FAILED_TYPES]
            clean = [e for e in ex if e.clean_correct]
            rows.append({
                "dataset": dataset, "model": model, "defense": defense, "recipe": recipe,
                "noise": run.noise, "k": draws_per_query(run.noise), "n": len(common),
                "attack_success_rate": _rate(sum(e.result == SUCCESSFUL for e in attacked), len(attacked)),
                "verdict_attack_success_rate": _rate(sum(not e.final_correct for e in clean), len(clean)),
                "run": run.name,
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
        })
    return sorted(rows, key=lambda r: (r["dataset"], r["source"], r["recipe"], r["target"], r["target_noise"]))


def matched_table(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per dataset, every search attack's success rate on the examples all models get right."""
    rows = []
    attacks = [r for r in runs if not is_transfer(r.recipe)]
    for dataset in sorted({r.dataset for r in attacks}):
        for m in matched_success_rates(attacks, dataset):
            rows.append({"dataset": m.dataset, "model": m.model, "form": m.form, "run": m.run, "n": m.n,
                         "attack_success_rate": m.attack_success_rate})
    return rows


def worst_case_table(runs: Sequence[Run]) -> list[dict[str, Any]]:
    return [{
        "dataset": w.dataset, "model": w.model, "defense": w.defense, "form": w.form, "attacks": w.runs,
        "n": w.n, "clean_accuracy": w.clean_accuracy, "worst_case_robust_accuracy": w.robust_accuracy,
        "strongest_single_attack": w.best_single_attack,
        "strongest_single_robust_accuracy": w.best_single_robust_accuracy,
        "worst_text_single_draw_error": w.worst_text_error, "checkpoint_sha256": w.checkpoint,
    } for w in worst_case(runs)]


def _markdown(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    from tabulate import tabulate

    if not rows:
        return "(no runs of this kind in the results)\n"
    percent = {"clean_accuracy", "worst_case_robust_accuracy", "strongest_single_robust_accuracy",
               "worst_text_single_draw_error", "attack_success_rate", "verdict_attack_success_rate",
               "transfer_rate"}
    def cell(key: str, value: Any) -> Any:
        if key in percent:
            return _pct(value)
        return (value[:12] or "-") if key == "checkpoint_sha256" else value  # enough to tell them apart

    body = [[cell(key, r[key]) for key, _ in columns] for r in rows]
    return tabulate(body, headers=[title for _, title in columns], tablefmt="github") + "\n"


def write_adaptive(results: Path | Sequence[Path], out_csv: Path) -> dict[str, list[dict[str, Any]]]:
    """Compute the four tables from the run records under ``results``; write ``out_csv``
    (worst case), ``<stem>_k.csv``, ``<stem>_transfer.csv``, ``<stem>_matched.csv``
    (unrounded) and ``<stem>.md`` (all four)."""
    import pandas as pd

    runs = load_runs(results)
    tables = {"worst_case": worst_case_table(runs), "k": k_curve(runs), "transfer": transfer_table(runs),
              "matched": matched_table(runs)}
    paths = {"worst_case": out_csv, "k": out_csv.with_name(f"{out_csv.stem}_k.csv"),
             "transfer": out_csv.with_name(f"{out_csv.stem}_transfer.csv"),
             "matched": out_csv.with_name(f"{out_csv.stem}_matched.csv")}
    for name, rows in tables.items():
        atomic_write_text(paths[name], pd.DataFrame(rows).to_csv(index=False, float_format="%.17g"))
    md = [
        f"# Adaptive evaluation: {out_csv.stem}\n",
        f"Generated by `robustsnn table --worst-case` from {len(runs)} run records; unrounded values in "
        f"{', '.join(p.name for p in paths.values())}. Percentages.\n",
        "## Worst-case robust accuracy\n",
        "An example counts as robust only if the model is right on the clean text and no attack "
        "in the results (every recipe, noise mode, protocol, transfer and gradient run against it) "
        "produced a text it gets wrong. Stochastic (Poisson) models: right/wrong by the R-draw "
        "majority; `worst text err` is the mean share of single draws that misclassify each "
        "example's worst text. N = examples every attack covered.\n",
        _markdown(tables["worst_case"], [
            ("dataset", "dataset"), ("model", "model"), ("defense", "defense"), ("form", "form"),
            ("attacks", "attacks"), ("n", "N"), ("clean_accuracy", "Cln"),
            ("worst_case_robust_accuracy", "worst-case robust"),
            ("strongest_single_robust_accuracy", "best single attack"),
            ("strongest_single_attack", "which"), ("worst_text_single_draw_error", "worst text err"),
            ("checkpoint_sha256", "checkpoint")]),
        "## Success rate against draws per query (k)\n",
        "fresh = one draw per distinct text (k = 1); mean-k averages k fresh draws per query "
        "(expectation over draws). Suc = single-draw success rate of the search; Suc_R = share of "
        "verdict-correct clean texts whose final text the R-draw majority gets wrong.\n",
        _markdown(tables["k"], [("dataset", "dataset"), ("model", "model"), ("recipe", "recipe"),
                                ("noise", "noise"), ("k", "k"), ("n", "N"),
                                ("attack_success_rate", "Suc"), ("verdict_attack_success_rate", "Suc_R")]),
        "## Transfer\n",
        "Share of the source attack's successes that also fool the target, among those the "
        "target classifies correctly when clean (Poisson targets: by the R-draw verdict).\n",
        _markdown(tables["transfer"], [("dataset", "dataset"), ("source", "source"), ("recipe", "recipe"),
                                       ("target", "target"), ("target_noise", "target noise"),
                                       ("source_successes", "source successes"),
                                       ("target_clean_correct", "target right on clean"),
                                       ("transfer_rate", "transfer rate")]),
        "## Matched subset\n",
        "Attack success rate on the examples every compared model classifies correctly "
        "(deterministic models: by their output; Poisson models: by the R-draw verdict), "
        "so every model is attacked on the same examples.\n",
        _markdown(tables["matched"], [("dataset", "dataset"), ("model", "model"), ("form", "form"),
                                      ("run", "run"), ("n", "N"), ("attack_success_rate", "Suc")]),
    ]
    atomic_write_text(out_csv.with_suffix(".md"), "\n".join(md))
    return tables
