"""``robustsnn report seeds``: how much of a robustness gap is the training seed's doing.

Each model of the comparison (the TextCNN, the tailored TextCNN and the SNN in its
deterministic ``direct`` form) is trained with several seeds (``robustsnn build --seed N``:
``train.seed`` and ``finetune.seed`` N, the same data split) and evaluated with the
standard evaluation (``robustsnn benchmark --seed N``: that seed's network attacked by the
ensemble, that seed's TextCNNs as its surrogates). From the model cards of one evaluation
this report gives, per dataset:

* per model, the worst-case robust accuracy of each seed (95% Wilson interval), their
  mean, sample standard deviation (n - 1) and range over seeds, and N;
* per comparison - the SNN against its own parent (the tailored TextCNN of the same seed,
  the network it was converted from) and against the TextCNN of the same seed index - the
  paired difference per seed over the same examples (the leaderboard's paired comparison,
  :func:`robustsnn.analysis.worst_case.pair_cases`: difference, Newcombe's 95% interval,
  exact McNemar p), then over seeds the mean difference, its standard deviation and range,
  the 95% Student t interval of the mean (df = seeds - 1) and how many seeds agree in sign.

**The verdict**: a difference *exceeds the seed spread* when that t interval excludes 0:
the seed-to-seed scatter of the paired difference does not reach across 0. All seeds are
scored on the same examples, so the interval measures the training seed's share of the
noise; each seed's McNemar p says whether that seed's gap is beyond the noise of the
examples. With fewer than two seeds evaluated there is no spread, and the report says so.

The SNN enters in its ``direct`` form (no input sampling, deterministic) because that is
the form the three seeds can be evaluated in: the Poisson SNN's standard evaluation, judged
by a 100-draw majority, takes about 14 hours per dataset and seed on the benchmark's
machine, against 30-40 minutes for a deterministic model.

Which cards count: full cards (not ``partial``) of the evaluation, without a defense,
named ``textcnn``, ``tailored`` or ``snn-direct``, whose training seeds all agree
(:func:`robustsnn.evaluation.card.card_seed`; a card written before cards recorded the
seed is a registered checkpoint's, seed 0). Two cards of one model and seed are told apart
by the checkpoint ``robustsnn build --seed`` makes; otherwise the report refuses to guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import UserError

# The models compared, by their card names, and how the report names them.
MODELS = (("textcnn", "TextCNN"), ("tailored", "tailored TextCNN"), ("snn-direct", "SNN `direct`"))
# (a, b, what b is to a): the paired differences a - b, per seed.
COMPARISONS = (("snn-direct", "tailored", "its own parent, same seed"),
               ("snn-direct", "textcnn", "same seed index"))
COLUMNS = ["section", "dataset", "subject", "seed", "n", "value", "ci_low", "ci_high", "interval", "p_value", "sd",
           "min", "max", "seeds", "same_sign", "verdict", "model_sha256", "card"]


@dataclass
class SeedCards:
    """The cards of one dataset, model name -> seed -> card."""

    dataset: str
    cards: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return sorted({s for by_seed in self.cards.values() for s in by_seed})


def _registered_path(card: dict[str, Any], seed: int) -> str | None:
    """Where ``robustsnn build --seed`` puts the checkpoint of the card's model, relative to
    the runs root as cards record it (None for a model it does not build)."""
    from ..zoo import MODELS as ZOO
    from ..zoo import CheckpointModel

    try:
        entry = ZOO.get(card.get("model", ""))
    except UserError:
        return None
    if not isinstance(entry, CheckpointModel):
        return None
    return f"{card['dataset']}/{entry.with_seed(seed).relpath}"


def gather(cards: Sequence[dict[str, Any]], evaluation: str) -> tuple[list[SeedCards], list[str]]:
    """The cards that count (see the module docstring), per dataset; and a note for each
    card of a compared model that was left out."""
    from ..evaluation.card import card_seed, card_seeds

    names = {name for name, _ in MODELS}
    found: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    notes = []
    for card in cards:
        if card.get("evaluation") != evaluation or card.get("name") not in names:
            continue
        if card.get("defense", "none") != "none":
            continue
        if any(str(f).startswith("partial") for f in card.get("flags", [])):
            continue
        seed = card_seed(card)
        if seed is None:
            notes.append(f"{card['dataset']} {card['name']} ({card['model_sha256'][:12]}): training seeds "
                         f"{card_seeds(card) or 'unknown'}, not one seed; left out")
            continue
        found.setdefault((card["dataset"], card["name"], seed), []).append(card)
    out: dict[str, SeedCards] = {}
    for (dataset, name, seed), candidates in sorted(found.items()):
        if len(candidates) > 1:
            built = [c for c in candidates if c.get("checkpoint") == _registered_path(c, seed)]
            if len(built) != 1:
                listed = ", ".join(str(c.get("_path", c["model_sha256"][:12])) for c in candidates)
                raise UserError(f"{len(candidates)} cards of {name} on {dataset} with training seed {seed} "
                                f"({listed}), and not exactly one of the checkpoint `robustsnn build --seed {seed}` "
                                "makes: move the others out of the cards folder")
            candidates = built
        out.setdefault(dataset, SeedCards(dataset)).cards.setdefault(name, {})[seed] = candidates[0]
    return [out[d] for d in sorted(out)], notes


def _spread(values: Sequence[float]) -> dict[str, Any]:
    from ..stats import mean_interval

    summary = mean_interval(values)
    return {"k": summary.n, "mean": summary.mean, "sd": summary.sd, "low": summary.low, "high": summary.high,
            "min": min(values), "max": max(values), "excludes_zero": summary.excludes_zero}


def verdict(differences: Sequence[float]) -> str:
    """Whether the mean paired difference over seeds exceeds the seed spread (its 95% t
    interval excludes 0), in words."""
    if len(differences) < 2:
        return (f"{len(differences)} seed evaluated: no spread over seeds yet" if differences
                else "no seed with both cards")
    s = _spread(differences)
    interval = f"95% t interval over {s['k']} seeds {100 * s['low']:+.1f} to {100 * s['high']:+.1f} points"
    if s["excludes_zero"]:
        return f"exceeds the seed spread ({interval}, excludes 0)"
    return f"within the seed spread ({interval}, includes 0)"


def seed_rows(groups: Sequence[SeedCards], root: Path) -> list[dict[str, Any]]:
    """The report's rows (:data:`COLUMNS`): per dataset, each model's seeds and their
    spread, then each comparison's paired differences per seed and over seeds. ``root``:
    the results folder the cards' log paths are relative to (for the paired comparisons)."""
    from ..analysis.worst_case import pair_cases
    from ..evaluation.card import relative_to
    from ..evaluation.leaderboard import card_case

    rows: list[dict[str, Any]] = []
    for group in groups:
        for name, _ in MODELS:
            by_seed = group.cards.get(name, {})
            if not by_seed:
                continue
            values = []
            for seed, card in sorted(by_seed.items()):
                wc = card["worst_case_robust_accuracy"]
                values.append(wc["value"])
                rows.append({"section": "model", "dataset": group.dataset, "subject": name, "seed": str(seed),
                             "n": card["examples"]["n"], "value": wc["value"], "ci_low": wc["ci95"][0],
                             "ci_high": wc["ci95"][1], "interval": "wilson", "model_sha256": card["model_sha256"],
                             "card": relative_to(card["_path"], root) if "_path" in card else ""})
            s = _spread(values)
            ns = sorted({card["examples"]["n"] for card in by_seed.values()})
            rows.append({"section": "model", "dataset": group.dataset, "subject": name, "seed": "all",
                         "n": ns[0] if len(ns) == 1 else "/".join(map(str, ns)), "value": s["mean"],
                         "ci_low": s["low"], "ci_high": s["high"], "interval": "t over seeds" if s["k"] > 1 else "",
                         "sd": s["sd"], "min": s["min"], "max": s["max"], "seeds": ",".join(map(str, sorted(by_seed)))})
        cases: dict[int, Any] = {}
        for a, b, _ in COMPARISONS:
            subject = f"{a} - {b}"
            common = sorted(set(group.cards.get(a, {})) & set(group.cards.get(b, {})))
            differences, used = [], []
            for seed in common:
                card_a, card_b = group.cards[a][seed], group.cards[b][seed]
                for card in (card_a, card_b):
                    if id(card) not in cases:
                        cases[id(card)] = card_case(card, root)
                case_a, case_b = cases[id(card_a)], cases[id(card_b)]
                paired = pair_cases(case_a, case_b) if case_a is not None and case_b is not None else None
                row = {"section": "comparison", "dataset": group.dataset, "subject": subject, "seed": str(seed),
                       "model_sha256": f"{card_a['model_sha256'][:12]} vs {card_b['model_sha256'][:12]}"}
                if paired is None:
                    row["verdict"] = "no paired comparison: the runs of its cards are not under the results folder"
                else:
                    differences.append(paired.difference)
                    used.append(seed)
                    row.update(n=paired.n, value=paired.difference, ci_low=paired.ci_low, ci_high=paired.ci_high,
                               interval="newcombe", p_value=paired.p_value,
                               verdict="beyond the noise of the examples (McNemar p < 0.05)" if paired.significant
                               else "within the noise of the examples")
                rows.append(row)
            if not common:
                continue
            summary = {"section": "comparison", "dataset": group.dataset, "subject": subject, "seed": "all",
                       "seeds": ",".join(map(str, used)), "verdict": verdict(differences)}
            if differences:
                s = _spread(differences)
                positive = sum(d > 0 for d in differences)
                negative = sum(d < 0 for d in differences)
                summary.update(value=s["mean"], ci_low=s["low"], ci_high=s["high"], sd=s["sd"], min=s["min"],
                               max=s["max"], interval="t over seeds" if s["k"] > 1 else "",
                               same_sign=f"{max(positive, negative)}/{len(differences)}" if s["k"] > 1 else "")
            rows.append(summary)
    return rows


# ------------------------------------------------------------------ Markdown


def _pct(value: Any, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"


def network_pairs(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(dataset, model, digest)`` of each seed's network in the rows: what the report describes."""
    return [(r["dataset"], f"{r['subject']} (seed {r['seed']})", r.get("model_sha256") or "")
            for r in rows if r["section"] == "model" and str(r["seed"]) != "all"]


def render(rows: Sequence[dict[str, Any]], evaluation: str, notes: Sequence[str] = ()) -> str:
    from tabulate import tabulate

    from ..records.networks import networks_line

    lines = [
        f"# Training seeds: {evaluation}", "", networks_line(network_pairs(rows)), "",
        "How much of the robustness gaps between the models is the training seed's doing. Each model was trained "
        "with several seeds (`robustsnn build --seed N`: `train.seed` and `finetune.seed` N, the same data split) "
        f"and each seed evaluated with the standard evaluation {evaluation} (`robustsnn benchmark --seed N`: that "
        "seed's network, with that seed's TextCNN and tailored TextCNN as the surrogates whose texts are replayed "
        "against it). Worst-case robust accuracy in %, with its 95% Wilson interval per seed; mean, sample standard "
        "deviation (sd, n - 1) and range over the seeds.", "",
        "**The SNN is measured in its deterministic `direct` form** (the same weights, no input sampling): the "
        "Poisson SNN's evaluation, judged by its 100-draw majority, costs about 14 hours per dataset and seed on the "
        "benchmark's machine against 30-40 minutes for a deterministic model, so its seed spread is not measured.",
        "",
        "Paired differences (points): per seed, the SNN minus its own parent (the tailored TextCNN of the same seed, "
        "which it was converted from) and minus the TextCNN of the same seed, over the examples both were evaluated "
        "on (difference, Newcombe's 95% interval, exact McNemar p: the leaderboard's paired comparison). Over the "
        "seeds: the mean difference, its sd and range, and the 95% Student t interval of the mean (df = seeds - 1). "
        "**Verdict**: the difference *exceeds the seed spread* when that t interval excludes 0; otherwise it is "
        "within the seed spread. Every seed is scored on the same examples, so the t interval measures the "
        "training seed's share of the noise, and each seed's McNemar p the examples' share; with fewer than two "
        "seeds there is no spread, and the verdict says so.", ""]
    if not rows:
        lines += ["No full card of the compared models (textcnn, tailored, snn-direct) in the cards folder: run "
                  "`robustsnn benchmark` (with `--seed N` for the other seeds) first.", ""]
    for dataset in sorted({r["dataset"] for r in rows}):
        mine = [r for r in rows if r["dataset"] == dataset]
        seeds = sorted({int(r["seed"]) for r in mine if r["seed"] != "all"})
        lines += [f"## {dataset}", "", "### Worst-case robust accuracy per seed", ""]
        body = []
        for name, label in MODELS:
            per = {r["seed"]: r for r in mine if r["section"] == "model" and r["subject"] == name}
            if not per:
                continue
            every = per["all"]
            cells = [f"{_pct(per[str(s)]['value'])} [{_pct(per[str(s)]['ci_low'])}, {_pct(per[str(s)]['ci_high'])}] "
                     f"({per[str(s)]['model_sha256'][:8]})" if str(s) in per else "-" for s in seeds]
            single = not isinstance(every.get("sd"), float) or math.isnan(every["sd"])
            body.append([label, *cells, _pct(every["value"]), "-" if single else _pct(every["sd"]),
                         "-" if single else f"{_pct(every['min'])}-{_pct(every['max'])}", every["n"]])
        lines.append(tabulate(body, headers=["model", *(f"seed {s}" for s in seeds), "mean", "sd", "min-max", "N"],
                              tablefmt="github", disable_numparse=True))
        lines += ["", "### Paired differences per seed (points)", ""]
        body = []
        for a, b, what in COMPARISONS:
            subject = f"{a} - {b}"
            per = {r["seed"]: r for r in mine if r["section"] == "comparison" and r["subject"] == subject}
            if not per:
                continue
            cells = []
            for s in seeds:
                row = per.get(str(s))
                if row is None:
                    cells.append("-")
                elif row.get("value") is None:
                    cells.append("no logs")
                else:
                    cells.append(f"{_pct(row['value'], True)} [{_pct(row['ci_low'], True)}, "
                                 f"{_pct(row['ci_high'], True)}], p = {row['p_value']:.2g}")
            every = per["all"]
            many = isinstance(every.get("sd"), float) and not math.isnan(every["sd"])
            body.append([f"SNN `direct` - {dict(MODELS)[b]} ({what})", *cells, _pct(every.get("value"), True),
                         _pct(every["sd"]) if many else "-",
                         f"{_pct(every['min'], True)} to {_pct(every['max'], True)}" if many else "-",
                         f"{_pct(every['ci_low'], True)} to {_pct(every['ci_high'], True)}" if many else "-",
                         every.get("same_sign") or "-", every["verdict"]])
        lines.append(tabulate(body, headers=["comparison", *(f"seed {s}" for s in seeds), "mean", "sd", "min to max",
                                             "95% t interval", "same sign", "verdict"],
                              tablefmt="github", disable_numparse=True) if body
                     else "No seed with both cards of a comparison.")
        lines.append("")
    if notes:
        lines += ["Left out: " + "; ".join(notes), ""]
    lines.append("Generated by `robustsnn report seeds` from the model cards and their runs.")
    return "\n".join(lines)


def write_seed_report(cards_folder: Path, out: Path, evaluation: str = "standard-v1",
                      root: Path | None = None) -> list[dict[str, Any]]:
    """The seed report of ``evaluation`` from the cards under ``cards_folder`` -> ``out``
    (CSV) and its ``.md``. ``root``: the results folder the cards' log paths are relative to
    (default: ``out``'s folder, as for the leaderboard)."""
    import pandas as pd

    from ..evaluation.leaderboard import load_cards
    from ..io_utils import atomic_write_text

    out = Path(out)
    groups, notes = gather(load_cards(cards_folder), evaluation)
    rows = seed_rows(groups, Path(root) if root is not None else out.parent)
    atomic_write_text(out, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False, float_format="%.17g"))
    atomic_write_text(out.with_suffix(".md"), render(rows, evaluation, notes) + "\n")
    return rows
