"""Worst-case robust accuracy: the minimum over every attack that was run, per example.

The AutoAttack / RobustBench principle applied to the run logs: an example counts as
robust for a model only if the model is right on its clean text and **no** attack in the
results (every recipe, noise mode, protocol, transfer and gradient run against that
model) produced a text the model gets wrong. A single attack's accuracy under attack is
an upper bound on robustness; the minimum over an ensemble is a tighter one.

What "the model" is: a run attacks one *deployed* model, named by ``(dataset, model,
defense, form)``. For the SNN the form is ``poisson`` for every Poisson noise mode
(``fresh``, ``frozen``, ``mean-k``: different ways to *attack* the same stochastic network,
whose answer is its majority over R fresh draws) and ``direct`` for the deterministic
current-injection encoding (a different network function). Deterministic models have the
form ``-``; a deterministic network under a randomized defense (SAFER) run in a noise mode
has the form ``randomized`` (its defense's draws: judged by their R-draw majority). A
record of such a defense whose cell says noise ``none`` predates the defense's noise modes:
it ran the defense's frozen draws and took no verdict, and it is read as it was logged, a
deterministic run (form ``-``), never pooled with the randomized model's runs.

"Gets wrong": for a deterministic run, the log's ``result`` (``skipped`` = wrong on the
clean text, ``successful`` = a text it gets wrong was found; ``failed``, ``unattackable``
and ``budget`` all leave the model right, as TextAttack counts a failed attack). An
example that survives only because searches had no candidate (``unattackable``) or ran
out of queries (``budget``) is no evidence of robustness: it counts as robust here
because no attack in the results broke it, and the worst case stays an upper bound; the
attack table gives both shares per run (analysis/table.py). For a stochastic run, the
R-draw majority verdict the runner stored for the clean and the final text; beside it,
the mean single-draw error on the worst text (the share of draws that misclassify it).

Every figure is computed over the examples that *all* runs of a model attacked (their
intersection), so adding a run on more examples never mixes populations.

Two deployed models are compared paired (:func:`compare_deployed`): over the examples
both were evaluated on, each example is robust in the worst case or not for each model,
and the exact McNemar test on the examples where they disagree says whether the gap
is larger than the noise (:func:`..stats.paired_comparison`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..errors import UserError
from ..noise import RANDOMIZED, deployed_form
from ..records.find import find_records
from ..records.log import draws_used, final_verdict, read_log
from ..records.metrics import SKIPPED, SUCCESSFUL
from ..records.record import TRANSFER_PREFIX, RunRecord, short_key
from ..stats import PairedComparison, paired_comparison


@dataclass(frozen=True)
class ExampleVerdict:
    """One example under one run."""

    clean_correct: bool
    final_correct: bool
    final_error: float | None = None  # stochastic: share of the verdict's draws wrong on the final text
    result: str = ""  # the log's own (single-draw) outcome: see records.metrics.RESULT_TYPES


@dataclass
class Run:
    """One attack (or transfer) run against one deployed model, per example."""

    name: str  # e.g. "sst2-first/pwws/frozen/shared-swap"
    dataset: str
    model: str
    defense: str
    form: str
    stochastic: bool
    examples: dict[int, ExampleVerdict] = field(default_factory=dict)
    recipe: str = ""
    noise: str = ""
    folder: Path | None = None  # where its record and log live
    record: RunRecord | None = field(default=None, repr=False)
    # The network's content digest (RunRecord.model_key: a legacy file digest for a record
    # not yet migrated, "" in records written before digests were stored), so the same
    # weights rebuilt elsewhere pool, and other weights never do.
    checkpoint: str = ""

    @property
    def target(self) -> tuple[str, str, str, str, str]:
        """The deployed model: runs against other weights never pool."""
        return (self.dataset, self.model, self.defense, self.form, self.checkpoint)


def _bool(text: str, what: str, path: str) -> bool:
    if text not in ("0", "1"):
        raise UserError(f"{path}: column {what} holds {text!r}, expected 0 or 1")
    return text == "1"


def verdict_of_row(row: Mapping[str, str], stochastic: bool, path: str = "log",
                   replay: bool = False) -> ExampleVerdict:
    """How one logged example fared (strings as read from the CSV log; ``replay``: a
    transfer run's row, see :func:`.log.final_verdict`)."""
    if not stochastic:
        return ExampleVerdict(row["result"] != SKIPPED, row["result"] not in (SKIPPED, SUCCESSFUL),
                              result=row["result"])
    final_correct, final_votes = final_verdict(row, replay)  # the clean text's own verdict when unchanged
    draws = draws_used(row, final=True, replay=replay)  # the votes' own draws: fewer than R when stopped early
    return ExampleVerdict(
        _bool(row["verdict_clean_correct"], "verdict_clean_correct", path),
        _bool(final_correct, "verdict_final_correct", path),
        1.0 - int(final_votes) / draws,
        result=row["result"],
    )


def run_from_record(record: RunRecord) -> Run:
    """A :class:`Run` from a run record (read from a file) and the log it names."""
    cell = record.cell
    name = "/".join([record.campaign_name, cell.recipe, cell.noise, record.protocol])
    log = record.log_path
    form = deployed_form(cell.noise)
    if form == "poisson" and cell.defense != "none" and "encoding" in record.model and record.model["encoding"] is None:
        form = RANDOMIZED  # a network without spike encoding: the draws are its defense's
    run = Run(name, cell.dataset, cell.model, cell.defense, form,
              record.stochastic, recipe=cell.recipe, noise=cell.noise, folder=log.parent,
              record=record, checkpoint=record.model_key)
    for row in read_log(log):
        run.examples[int(row["index"])] = verdict_of_row(row, record.stochastic, str(log),
                                                         replay=record.is_transfer)
    return run


def load_runs(results: Path | Sequence[Path]) -> list[Run]:
    """Every run record (``*.json`` with a ``cell`` and a ``log``) under ``results``."""
    return [run_from_record(record) for record in find_records(results)]


@dataclass(frozen=True)
class WorstCase:
    """Worst-case figures for one deployed model."""

    dataset: str
    model: str
    defense: str
    form: str
    checkpoint: str  # the network's content digest (see Run.checkpoint; "" when the records predate it)
    runs: int  # attacks in the ensemble
    n: int  # examples every run attacked
    clean_accuracy: float  # right on the clean text in every run
    robust_accuracy: float  # right on the clean text and on every attack's final text
    best_single_attack: str  # the run with the lowest robust accuracy on its own
    best_single_robust_accuracy: float
    worst_text_error: float | None  # stochastic: mean single-draw error on each example's worst text
    robust_examples: tuple[int, ...]
    examples: tuple[int, ...] = ()  # the n examples every run attacked
    # Examples left out of n: a run of a stochastic model skipped them (its one search-time
    # draw got the clean text wrong) while the majority gets the clean text right, so that
    # run never attacked them, and no other run broke them: counting them would count them
    # robust on no evidence from that run.
    left_out: int = 0

    @property
    def label(self) -> str:
        """The deployed model in words: ``snn poisson``, ``textcnn``, ``tailored (defense)``."""
        return " ".join([self.model, *([self.form] if self.form != "-" else []),
                         *([f"({self.defense})"] if self.defense != "none" else [])])


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def _common(runs: Sequence[Run]) -> list[int]:
    common = set(runs[0].examples)
    for run in runs[1:]:
        common &= set(run.examples)
    return sorted(common)


def never_attacked(run: Run, example: ExampleVerdict) -> bool:
    """Whether ``run`` skipped ``example`` on its one search-time draw although the deployed
    majority gets the clean text right (no attack ran on it). A transfer run voted on the
    transferred text whatever its single draw said, so it never leaves an example out."""
    return (run.stochastic and not run.recipe.startswith(TRANSFER_PREFIX)
            and example.result == SKIPPED and example.clean_correct)


def worst_case(runs: Sequence[Run]) -> list[WorstCase]:
    """One :class:`WorstCase` per deployed model found in ``runs``."""
    groups: dict[tuple[str, str, str, str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault(run.target, []).append(run)
    out = []
    for target, members in sorted(groups.items()):
        if len({r.stochastic for r in members}) > 1:
            raise UserError(f"{'/'.join(target)}: runs disagree on whether the model is stochastic")
        common = _common(members)
        # Left out: an example some run never attacked and no run broke (robust on no evidence
        # from that run). One that another run broke stays in, as broken: that is evidence.
        indices = [i for i in common if not (any(never_attacked(r, r.examples[i]) for r in members)
                                             and all(r.examples[i].clean_correct and r.examples[i].final_correct
                                                     for r in members))]
        n = len(indices)
        clean = [all(r.examples[i].clean_correct for r in members) for i in indices]
        robust = [c and all(r.examples[i].final_correct for r in members) for c, i in zip(clean, indices)]
        single = {r.name: sum(r.examples[i].clean_correct and r.examples[i].final_correct for i in indices)
                  for r in members}
        best = min(sorted(single), key=lambda name: single[name])
        error = None
        if members[0].stochastic:
            error = _mean(max(r.examples[i].final_error for r in members) for i in indices)
        out.append(WorstCase(
            *target, runs=len(members), n=n,
            clean_accuracy=sum(clean) / n if n else math.nan,
            robust_accuracy=sum(robust) / n if n else math.nan,
            best_single_attack=best, best_single_robust_accuracy=single[best] / n if n else math.nan,
            worst_text_error=error,
            robust_examples=tuple(i for i, ok in zip(indices, robust) if ok),
            examples=tuple(indices), left_out=len(common) - n,
        ))
    return out


@dataclass(frozen=True)
class DeployedComparison:
    """Two deployed models of one dataset, robust in the worst case on the same examples."""

    dataset: str
    a: WorstCase
    b: WorstCase
    a_label: str
    b_label: str
    paired: PairedComparison  # A against B over the examples both were evaluated on


def compare_deployed(cases: Sequence[WorstCase], confidence: float = 0.95,
                     alpha: float = 0.05) -> list[DeployedComparison]:
    """Every pair of deployed models on the same dataset, in ``cases``' order: per example
    of the examples both were evaluated on, robust in the worst case or not, compared by
    :func:`..stats.paired_comparison`. Pairs that share no example are left out. A model
    run against several checkpoints is told apart by the checkpoint's first 8 hex digits."""
    labels = {}
    for w in cases:
        same = [v for v in cases if (v.dataset, v.label) == (w.dataset, w.label)]
        labels[id(w)] = w.label + (f" [{short_key(w.checkpoint, 8)}]" if len(same) > 1 else "")
    out = []
    for i, a in enumerate(cases):
        for b in cases[i + 1:]:
            paired = pair_cases(a, b, confidence, alpha) if a.dataset == b.dataset else None
            if paired is not None:
                out.append(DeployedComparison(a.dataset, a, b, labels[id(a)], labels[id(b)], paired))
    return out


def pair_cases(a: WorstCase, b: WorstCase, confidence: float = 0.95, alpha: float = 0.05) -> PairedComparison | None:
    """``a`` against ``b`` over the examples both were evaluated on (per example: robust in
    the worst case or not), by :func:`..stats.paired_comparison`; None when they share none."""
    common = sorted(set(a.examples) & set(b.examples))
    if not common:
        return None
    robust_a, robust_b = set(a.robust_examples), set(b.robust_examples)
    return paired_comparison([j in robust_a for j in common], [j in robust_b for j in common],
                             confidence=confidence, alpha=alpha)


@dataclass(frozen=True)
class MatchedRate:
    """One run's attack success rate on the examples every compared model gets right."""

    dataset: str
    run: str
    model: str
    form: str
    n: int
    attack_success_rate: float
    checkpoint: str = ""  # the run's network (Run.checkpoint)


def matched_success_rates(runs: Sequence[Run], dataset: str,
                          models: Sequence[tuple[str, str]] | None = None) -> list[MatchedRate]:
    """Success rates on the matched subset of ``dataset``: the examples that every compared
    model ``(model, form)`` (default: all in ``runs``) classifies correctly in every run,
    among the examples all of them attacked. Models differ in clean accuracy on a slice;
    this compares them on the same, clean-correct examples."""
    on = [r for r in runs if r.dataset == dataset and (models is None or (r.model, r.form) in models)]
    if not on:
        raise UserError(f"no runs on dataset {dataset}")
    subset = [i for i in _common(on) if all(r.examples[i].clean_correct for r in on)]
    rates = []
    for run in sorted(on, key=lambda r: (r.model, r.form, r.name)):
        broken = sum(not run.examples[i].final_correct for i in subset)
        rates.append(MatchedRate(dataset, run.name, run.model, run.form, len(subset),
                                 broken / len(subset) if subset else math.nan, run.checkpoint))
    return rates
