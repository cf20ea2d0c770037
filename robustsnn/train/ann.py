"""Training the original and the tailored TextCNN (reference-script shape:
``train_one_epoch``, ``evaluate``, ``train``).

Model selection uses the dev split only; early stopping after ``train.patience``
epochs without a better dev accuracy. ``last.pt`` holds everything needed to resume
(optimiser and RNG states, history); ``best.pt`` is the selected model.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..config import Recipe
from ..errors import UserError
from ..io_utils import atomic_write_json
from ..models.factory import build_model, embedding_weights
from ..paths import runs_dir
from ..models.loading import Prepared, encode_split, prepare
from ..provenance import provenance


def default_run_dir(dataset: str, kind: str) -> Path:
    return runs_dir() / dataset / kind


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


def _payload(kind: str, model: nn.Module, prepared: Prepared, meta: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "model": model.state_dict(), "config": prepared.recipe.to_dict(),
            "vocab": prepared.encoder.vocab, "meta": meta}


def train(recipe: Recipe, kind: str, run_dir: Path | None = None, resume: bool = False,
          log: Callable[[str], None] = print) -> TrainResult:
    """Train ``kind`` (textcnn | tailored) as the recipe says; resumable from ``last.pt``."""
    if kind not in ("textcnn", "tailored"):
        raise UserError(f"unknown model '{kind}' (choices: textcnn, tailored)")
    run_dir = Path(run_dir or default_run_dir(recipe.data.dataset, kind))
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    t = recipe.train
    seed_everything(t.seed)
    prepared = prepare(recipe)
    model = _build(kind, prepared)
    optimizers = make_optimizers(model, recipe)
    train_ids, train_y = encode_split(prepared.encoder, prepared.dataset.train)
    dev_ids, dev_y = encode_split(prepared.encoder, prepared.dataset.dev)

    history: list[dict[str, Any]] = []
    best_dev, best_epoch, start_epoch = -math.inf, 0, 1
    if resume and last_path.exists():
        state = load_checkpoint(last_path)
        if state["config"] != recipe.to_dict() or state["kind"] != kind:
            raise UserError(f"{last_path} was trained with another config or model; "
                            "drop --resume or use another --out")
        model.load_state_dict(state["model"])
        for opt, opt_state in zip(optimizers, state["optimizers"]):
            opt.load_state_dict(opt_state)
        torch.set_rng_state(state["torch_rng"])
        history, best_dev, best_epoch = state["history"], state["best_dev"], state["best_epoch"]
        start_epoch = state["epoch"] + 1
        log(f"resuming {kind} from epoch {state['epoch']} (best dev {best_dev:.4f} at epoch {best_epoch})")
    elif resume:
        log(f"nothing to resume in {run_dir}; starting fresh")

    after_step = None
    if kind == "tailored":
        after_step = model.clip_embedding  # spike probabilities must stay in [0, 1]
    meta = {"embedding": prepared.table.info, "dev_split": prepared.dataset.dev.origin,
            "train_split": prepared.dataset.train.origin}
    stopped_early = False
    for epoch in range(start_epoch, t.max_epochs + 1):
        if epoch - best_epoch > t.patience and best_epoch > 0:
            stopped_early = True
            break
        generator = torch.Generator().manual_seed(t.seed * 100_003 + epoch)
        began = time.perf_counter()
        loss = train_one_epoch(model, train_ids, train_y, optimizers, t.batch_size, generator,
                               after_step, desc=f"{kind} epoch {epoch}")
        seconds = time.perf_counter() - began
        dev_acc = evaluate(model, dev_ids, dev_y)
        improved = dev_acc > best_dev
        if improved:
            best_dev, best_epoch = dev_acc, epoch
            save_checkpoint(best_path, _payload(kind, model, prepared,
                                                {**meta, "epoch": epoch, "dev_accuracy": dev_acc}))
        history.append({"epoch": epoch, "loss": loss, "dev_accuracy": dev_acc, "seconds": seconds})
        log(f"{kind} epoch {epoch:3d}  loss {loss:.4f}  dev {dev_acc:.4f}  {seconds:.1f}s"
            + ("  *best" if improved else ""))
        save_checkpoint(last_path, {
            **_payload(kind, model, prepared, meta), "epoch": epoch,
            "optimizers": [o.state_dict() for o in optimizers], "torch_rng": torch.get_rng_state(),
            "history": history, "best_dev": best_dev, "best_epoch": best_epoch,
        })
        atomic_write_json(run_dir / "log.json", history)

    from ..models.loading import load_model

    best = load_model(best_path)
    test_ids, test_y = encode_split(best.encoder, prepared.dataset.test)
    test_acc = evaluate(best.model, test_ids, test_y)
    timed = [h["seconds"] for h in history]
    result = TrainResult(kind, run_dir, best_epoch, best_dev, test_acc,
                         sum(timed) / max(len(timed), 1), len(history))
    atomic_write_json(run_dir / "result.json", {
        "dataset": recipe.data.dataset, "model": kind, "best_epoch": best_epoch,
        "dev_accuracy": best_dev, "test_accuracy": test_acc, "epochs_run": len(history),
        "stopped_early": stopped_early, "seconds_per_epoch": result.seconds_per_epoch,
        "config": recipe.to_dict(), "embedding": prepared.table.info,
        "dev_split": prepared.dataset.dev.origin, "seed": t.seed, **provenance(),
    })
    log(f"{kind} on {recipe.data.dataset}: best epoch {best_epoch}, dev {best_dev:.4f}, "
        f"test {test_acc:.4f}, {result.seconds_per_epoch:.1f}s/epoch -> {best_path}")
    return result
