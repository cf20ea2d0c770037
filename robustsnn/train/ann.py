"""Training the original and the tailored TextCNN, and the spiking transformer
(reference-script shape: ``train_one_epoch``, ``evaluate``, ``train``).

The spiking transformer is trained here too: with direct (current) input it is a
deterministic classifier whose class scores come straight from its head, so it needs
nothing else than a TextCNN does (cross-entropy on the scores; BPTT through the
surrogate happens inside its forward pass).

This is the ANN half of the one training loop, :func:`robustsnn.train.fit.fit` (resume
from ``last.pt``, selection of ``best.pt`` on the dev split only, early stopping after
``train.patience`` epochs without a better dev accuracy, ``log.json``, ``result.json``):
:func:`ann_trainer` builds the net and its optimisers, and passes one training epoch,
the (deterministic) dev accuracy, the checkpoint payload and the test report.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch
from torch import nn

from ..artifacts import TRAIN_KINDS, Artifact
from ..config import Recipe
from ..data.tsv import Split
from ..errors import UserError
from ..models.factory import build_model, check_recipe_for, embedding_weights
from ..models.loading import LoadedModel, Prepared, encode_split, prepare
from .fit import DevScore, FitOutcome, Report, Trainer, fit


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def predict_scores(model: nn.Module, ids: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class scores for ``ids`` in eval mode (the caller's train/eval mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Accuracy; ties between class scores go to the lowest class index (argmax rule)."""
    scores = predict_scores(model, ids, batch_size)
    return float((scores.argmax(dim=1) == labels).float().mean())


def make_optimizers(model: nn.Module, recipe: Recipe) -> list[torch.optim.Optimizer]:
    """AdamW (betas 0.9/0.999, the recipe's weight decay) for the dense layers and sparse
    Adam with the same betas for embedding rows (only rows seen in a batch move)."""
    t = recipe.train
    dense = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("embedding.")]
    opts: list[torch.optim.Optimizer] = [
        torch.optim.AdamW(dense, lr=t.lr, betas=(0.9, 0.999), weight_decay=t.weight_decay)
    ]
    emb = model.embedding.weight
    if emb.requires_grad:
        opts.append(torch.optim.SparseAdam([emb], lr=t.embedding_lr or t.lr, betas=(0.9, 0.999)))
    return opts


def train_one_epoch(
    model: nn.Module, ids: torch.Tensor, labels: torch.Tensor, optimizers: Sequence[torch.optim.Optimizer],
    batch_size: int, generator: torch.Generator, after_step: Callable[[torch.Tensor], None] | None = None,
    desc: str = "train", loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> float:
    """One pass over shuffled batches; returns the mean training loss.

    ``loss_fn(model(ids), labels)`` defaults to cross-entropy on class scores (the spiking
    net passes its per-time-step loss)."""
    from tqdm.auto import tqdm

    model.train()
    order = torch.randperm(len(ids), generator=generator)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    total, steps = 0.0, 0
    batches = range(0, len(ids), batch_size)
    with tqdm(batches, desc=desc, unit="batch", leave=False, disable=None) as bar:
        for start in bar:
            idx = order[start : start + batch_size]
            batch_ids = ids[idx]
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch_ids), labels[idx])
            loss.backward()
            for opt in optimizers:
                opt.step()
            if after_step is not None:
                after_step(batch_ids)
            total += loss.item()
            steps += 1
            bar.set_postfix(loss=f"{total / steps:.4f}")
    return total / max(steps, 1)


@dataclass
class TrainResult:
    kind: str
    run_dir: Path
    best_epoch: int
    dev_accuracy: float
    test_accuracy: float
    seconds_per_epoch: float
    epochs_run: int


def _build(kind: str, prepared: Prepared) -> nn.Module:
    table = prepared.table
    model = build_model(kind, prepared.recipe, len(table.vocab), table.raw.shape[1],
                        prepared.dataset.spec.num_classes)
    with torch.no_grad():
        model.embedding.weight.copy_(embedding_weights(kind, table))
    return model


def dev_score(accuracy: float) -> DevScore:
    """An ANN's dev score: its (deterministic) accuracy."""
    return DevScore(accuracy, f"{accuracy:.4f}", {"dev_accuracy": accuracy}, {"dev_accuracy": accuracy})


class Augmentation(Protocol):
    """Extra training examples per epoch (adversarial training: robustsnn/attack/adversarial_training.py)."""

    # Recorded as the checkpoint's meta["defense"] ({"name": ..., settings}); a last.pt
    # with another one is another run.
    defense: dict[str, Any]
    select_after: int  # epochs never selected as best (a clean warm-up)

    def examples(self, epoch: int, network: LoadedModel, train: Split) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(ids, labels)`` to train on beside the training split in ``epoch``, made with
        ``network`` as it stands before the epoch (None: the clean split alone)."""
        ...


def ann_trainer(recipe: Recipe, kind: str, augment: Augmentation | None = None) -> Trainer:
    """The ANN half of :func:`robustsnn.train.fit.fit`: seeds, builds ``kind`` with its
    pre-trained embeddings and its optimisers, and encodes the train and dev splits.
    ``augment``: examples added to each epoch's training data (and its ``defense``
    recorded in every checkpoint's meta)."""
    if kind not in TRAIN_KINDS:
        raise UserError(f"unknown model '{kind}' (choices: {', '.join(TRAIN_KINDS)})")
    check_recipe_for(kind, recipe)
    t = recipe.train
    seed_everything(t.seed)
    prepared = prepare(recipe)
    model = _build(kind, prepared)
    optimizers = make_optimizers(model, recipe)
    train_ids, train_y = encode_split(prepared.encoder, prepared.dataset.train)
    dev_ids, dev_y = encode_split(prepared.encoder, prepared.dataset.dev)
    # The tailored net's and the spiking transformer's inputs stay in [0, 1] (spike
    # probabilities, input currents); the original TextCNN reads raw vectors.
    after_step = None if kind == "textcnn" else model.clip_embedding
    config = recipe.to_dict()
    name = kind if augment is None else f"{kind}+{augment.defense['name']}"
    meta: dict[str, Any] = {"embedding": prepared.table.info, "dev_split": prepared.dataset.dev.origin,
                            "train_split": prepared.dataset.train.origin}
    extra: list[torch.Tensor] = []  # this epoch's augmentation: [ids, labels] or empty
    before_epoch: Callable[[int], None] | None = None
    if augment is not None:
        meta["defense"] = augment.defense
        # The net being trained, seen as a loaded checkpoint (what classifiers and attacks take).
        network = LoadedModel(kind, model, recipe, prepared.encoder, meta, Path(f"<{kind} in training>"))

        def augment_epoch(epoch: int) -> None:
            extra[:] = augment.examples(epoch, network, prepared.dataset.train) or ()

        before_epoch = augment_epoch

    def train_epoch(generator: torch.Generator, desc: str) -> float:
        ids, labels = train_ids, train_y
        if extra:
            ids, labels = torch.cat([ids, extra[0]]), torch.cat([labels, extra[1]])
        return train_one_epoch(model, ids, labels, optimizers, t.batch_size, generator, after_step, desc=desc)

    def payload(extra: dict[str, Any]) -> dict[str, Any]:
        return {"kind": kind, "model": model.state_dict(), "config": config,
                "vocab": prepared.encoder.vocab, "meta": {**meta, **extra}}

    def resume_mismatch(state: dict[str, Any]) -> str | None:
        if state["config"] != config or state["kind"] != kind:
            return "with another config or model"
        if (state.get("meta") or {}).get("defense") != meta.get("defense"):
            return "with another defense or its settings"
        return None

    def report(outcome: FitOutcome) -> Report:
        from ..models.loading import load_model

        best = load_model(outcome.best_path)
        test_acc = evaluate(best.model, *best.encoded("test"))
        result = TrainResult(kind, outcome.run_dir, outcome.best_epoch, outcome.best_dev, test_acc,
                             outcome.seconds_per_epoch, outcome.epochs_run)
        record = {
            "dataset": recipe.data.dataset, "model": kind, "best_epoch": outcome.best_epoch,
            "dev_accuracy": outcome.best_dev, "test_accuracy": test_acc, "epochs_run": outcome.epochs_run,
            "stopped_early": outcome.stopped_early, "seconds_per_epoch": outcome.seconds_per_epoch,
            "config": config, "embedding": prepared.table.info,
            "dev_split": prepared.dataset.dev.origin, "seed": t.seed,
            **({"defense": meta["defense"]} if "defense" in meta else {}),
        }
        summary = (f"{name} on {recipe.data.dataset}: best epoch {outcome.best_epoch}, "
                   f"dev {outcome.best_dev:.4f}, test {test_acc:.4f}, "
                   f"{outcome.seconds_per_epoch:.1f}s/epoch -> {outcome.best_path}")
        return Report(record, summary, result)

    return Trainer(
        name=name, model=model, optimizers=optimizers, seed=t.seed, max_epochs=t.max_epochs,
        patience=t.patience, train_epoch=train_epoch,
        evaluate_dev=lambda: dev_score(evaluate(model, dev_ids, dev_y)), payload=payload,
        resume_mismatch=resume_mismatch, report=report, epochs_key="train.max_epochs",
        before_epoch=before_epoch, select_after=augment.select_after if augment is not None else 0,
        ties_to_later=augment is not None,  # each later epoch has seen more adversarial rounds
    )


def train(recipe: Recipe, kind: str, run_dir: Path | None = None, resume: bool = False,
          log: Callable[[str], None] = print) -> TrainResult:
    """Train ``kind`` (textcnn | tailored | spikformer) as the recipe says; resumable from ``last.pt``
    (default run folder: :func:`robustsnn.artifacts.ann_run_dir` under the dataset's runs)."""
    from .threads import pinned_threads

    with pinned_threads():  # from the first forward pass on (see .threads)
        trainer = ann_trainer(recipe, kind)
        return fit(trainer, Path(run_dir or Artifact(kind).run_path(recipe.data.dataset)), resume, log)
