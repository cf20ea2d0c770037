"""The one training loop: every network robustsnn trains (the original and the tailored
TextCNN, the fine-tuned and the directly-trained SNN) runs through :func:`fit`.

What the loop owns, the same for all of them:

* **epochs** - epoch ``e`` shuffles with a generator seeded ``seed * 100_003 + e``
  (so a resumed run draws the same batches as an uninterrupted one);
* **selection on dev** - after every epoch, ``best.pt`` is replaced when the dev score
  beats the best so far (strictly: a tie keeps the earlier epoch; adversarial training
  leaves out its clean warm-up and gives ties to the later epoch, see
  :attr:`Trainer.select_after`);
* **early stopping** - stop once ``patience`` epochs have passed without a better dev
  score;
* **resume** - ``last.pt`` (written after every epoch) holds the weights, optimiser
  states, the global torch RNG state, the history and the best-so-far; ``fit(...,
  resume=True)`` continues from it and reproduces the uninterrupted run bit for bit;
* **records** - ``log.json`` (one entry per epoch, rewritten every epoch) and, at the
  end, ``result.json`` (the trainer's report plus provenance);
* **atomic writes** - every file is written beside its target and renamed into place, so
  a killed run leaves the previous version intact;
* **progress** - one line per epoch through ``log`` and a progress bar per epoch;
* **threads** - torch runs with a pinned thread count (:mod:`.threads`), recorded in
  every checkpoint's ``meta["torch_threads"]`` (with the torch version and CPU kernels in
  ``meta["torch_numerics"]``), so the same recipe and seed train the same weights on any
  machine alike in those; a ``last.pt`` trained with another count is not resumed.

What differs (how to build the model and its optimisers, one training epoch, the dev
score - deterministic accuracy for ANNs, the mean over Poisson draws for SNNs -, what a
checkpoint holds, when a ``last.pt`` belongs to another run, and the final test report)
comes in a :class:`Trainer`: see :func:`robustsnn.train.ann.ann_trainer` and
:func:`robustsnn.train.snn.snn_trainer`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..artifacts import BEST, LAST, LOG, RESULT
from ..errors import UserError
from ..io_utils import atomic_write_json
from ..models.checkpoint import load_checkpoint, save_checkpoint
from .threads import META_KEY, NUMERICS_KEY, THREADS_ENV, numerics, pinned_threads


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the generator that shuffles epoch ``epoch``."""
    return seed * 100_003 + epoch


@dataclass(frozen=True)
class DevScore:
    """A dev-split evaluation: what selection compares and what gets recorded."""

    value: float  # higher is better; compared strictly
    text: str  # for the epoch's progress line
    fields: dict[str, Any]  # added to the epoch's log.json entry
    meta: dict[str, Any]  # added to best.pt's meta


@dataclass
class FitOutcome:
    """Where a finished loop left things; what :attr:`Trainer.report` reads."""

    run_dir: Path
    best_path: Path
    history: list[dict[str, Any]]  # log.json; epoch 0 is the evaluation before training
    best_epoch: int
    best_dev: float
    stopped_early: bool

    @property
    def trained(self) -> list[dict[str, Any]]:
        """History entries of epochs that trained (not the epoch-0 evaluation)."""
        return [h for h in self.history if h["epoch"] > 0]

    @property
    def epochs_run(self) -> int:
        return len(self.trained)

    @property
    def seconds_per_epoch(self) -> float:
        timed = [h["seconds"] for h in self.trained]
        return sum(timed) / max(len(timed), 1)

    @property
    def best_entry(self) -> dict[str, Any]:
        return next(h for h in self.history if h["epoch"] == self.best_epoch)


@dataclass
class Report:
    """The trainer's final report: ``result.json`` (provenance is appended), the closing
    progress line, and what :func:`fit` returns."""

    record: dict[str, Any]
    summary: str
    result: Any


@dataclass
class Trainer:
    """The model-specific half of a training run (see the module docstring).

    ``train_epoch(generator, desc)`` runs one pass in the order ``generator`` draws and
    returns the mean loss; ``payload(meta)`` is a checkpoint of the model as it stands
    with ``meta`` merged into its meta; ``resume_mismatch(state)`` says why a ``last.pt``
    belongs to another run (``None``: it is this one's)."""

    name: str  # in progress lines: "tailored", "finetune"...
    model: nn.Module
    optimizers: Sequence[torch.optim.Optimizer]
    seed: int
    max_epochs: int
    patience: int
    train_epoch: Callable[[torch.Generator, str], float]
    evaluate_dev: Callable[[], DevScore]
    payload: Callable[[dict[str, Any]], dict[str, Any]]
    resume_mismatch: Callable[[dict[str, Any]], str | None]
    report: Callable[[FitOutcome], Report]
    progress: str = ""  # progress bar label (default: name)
    initial: str | None = None  # set: evaluate (and keep) the untrained net as epoch 0, so labelled
    epochs_key: str = "max_epochs"  # the recipe key behind max_epochs, for messages
    # Called with the epoch's number before it trains (adversarial training attacks the
    # current net here); train_epoch alone cannot know it on a resumed run.
    before_epoch: Callable[[int], None] | None = None
    # Epochs up to this one are never selected (A2T's clean warm-up: a tie on clean dev
    # accuracy would otherwise keep the net that never saw an adversarial example).
    select_after: int = 0
    # A tie on dev goes to the later epoch (A2T: at equal clean accuracy, the net that has
    # been through more rounds of adversarial examples); default: the earlier one stays.
    ties_to_later: bool = False


@dataclass
class _State:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_dev: float = -math.inf
    best_epoch: int = -1  # -1: nothing selected yet
    next_epoch: int = 1


def _restore(trainer: Trainer, last_path: Path, threads: int) -> _State:
    state = load_checkpoint(last_path)
    reason = trainer.resume_mismatch(state)
    if reason:
        raise UserError(f"{last_path} was trained {reason}; drop --resume or use another --out")
    # A last.pt from before the count was recorded: resumed as before.
    theirs = state.get("meta", {}).get(META_KEY, threads)
    if theirs != threads:
        raise UserError(f"{last_path} was trained with {theirs} torch threads, this run has {threads}; "
                        f"set {THREADS_ENV}={theirs} to resume it bit for bit, or drop --resume")
    trainer.model.load_state_dict(state["model"])
    for opt, opt_state in zip(trainer.optimizers, state["optimizers"]):
        opt.load_state_dict(opt_state)
    torch.set_rng_state(state["torch_rng"])
    return _State(state["history"], state["best_dev"], state["best_epoch"], state["epoch"] + 1)


def fit(trainer: Trainer, run_dir: str | Path, resume: bool = False,
        log: Callable[[str], None] = print) -> Any:
    """Train ``trainer.model`` in ``run_dir``; returns ``trainer.report(...).result``."""
    with pinned_threads() as threads:
        return _fit(trainer, Path(run_dir), resume, log, {META_KEY: threads, NUMERICS_KEY: numerics()})


def _fit(trainer: Trainer, run_dir: Path, resume: bool, log: Callable[[str], None], machine: dict[str, Any]) -> Any:
    last_path, best_path = run_dir / LAST, run_dir / BEST
    name, progress = trainer.name, trainer.progress or trainer.name

    def save_best(epoch: int, dev: DevScore) -> None:
        save_checkpoint(best_path, trainer.payload({"epoch": epoch, **machine, **dev.meta}))

    if resume and last_path.exists():
        s = _restore(trainer, last_path, machine[META_KEY])
        log(f"resuming {name} from epoch {s.next_epoch - 1} (best dev {s.best_dev:.4f} at epoch {s.best_epoch})")
    else:
        s = _State()
        if resume:
            log(f"nothing to resume in {run_dir}; starting fresh")
        if trainer.initial is not None:
            dev = trainer.evaluate_dev()
            s.best_dev, s.best_epoch = dev.value, 0
            save_best(0, dev)
            s.history.append({"epoch": 0, "loss": None, **dev.fields, "seconds": 0.0})
            # Marks the folder as a run under way before its first epoch (whose last.pt
            # comes only at its end): a run killed in between is then resumed by `robustsnn
            # build`, and refused as a checkpoint to attack, not taken as built from this
            # best.pt (artifacts.Artifact.unfinished).
            atomic_write_json(run_dir / LOG, s.history)
            log(f"{name} epoch   0  ({trainer.initial})  dev {dev.text}  *best")

    stopped_early = False
    for epoch in range(s.next_epoch, trainer.max_epochs + 1):
        if s.best_epoch >= 0 and epoch - s.best_epoch > trainer.patience:
            stopped_early = True
            break
        generator = torch.Generator().manual_seed(epoch_seed(trainer.seed, epoch))
        began = time.perf_counter()
        if trainer.before_epoch is not None:
            trainer.before_epoch(epoch)
        loss = trainer.train_epoch(generator, f"{progress} epoch {epoch}")
        seconds = time.perf_counter() - began
        dev = trainer.evaluate_dev()
        improved = epoch > trainer.select_after and (
            dev.value > s.best_dev or (trainer.ties_to_later and dev.value == s.best_dev))
        if improved:
            s.best_dev, s.best_epoch = dev.value, epoch
            save_best(epoch, dev)
        s.history.append({"epoch": epoch, "loss": loss, **dev.fields, "seconds": seconds})
        log(f"{name} epoch {epoch:3d}  loss {loss:.4f}  dev {dev.text}  {seconds:.1f}s"
            + ("  *best" if improved else ""))
        save_checkpoint(last_path, {
            **trainer.payload({"epoch": epoch, **machine}), "epoch": epoch,
            "optimizers": [o.state_dict() for o in trainer.optimizers], "torch_rng": torch.get_rng_state(),
            "history": s.history, "best_dev": s.best_dev, "best_epoch": s.best_epoch,
        })
        atomic_write_json(run_dir / LOG, s.history)

    if not best_path.exists():
        raise UserError(f"no epoch finished in {run_dir} ({trainer.epochs_key} too small?)")
    from ..provenance import provenance

    report = trainer.report(FitOutcome(run_dir, best_path, s.history, s.best_epoch, s.best_dev, stopped_early))
    atomic_write_json(run_dir / RESULT, {**report.record, **provenance()})
    log(report.summary)
    return report.result
