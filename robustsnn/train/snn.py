"""Training the spiking TextCNN with surrogate gradients (BPTT): fine-tuning a converted
net, and the directly-trained baseline from random init. Both run through the one
training loop, :func:`robustsnn.train.fit.fit` (resume, selection, early stopping,
records); :func:`snn_trainer` is the SNN half it is given.

Loss: cross-entropy on the per-step population spike counts, averaged over time
(:func:`~robustsnn.models.snn.rate_loss`); fresh Poisson draws for every batch (the
global torch RNG, whose state ``last.pt`` keeps); AdamW with ``finetune.lr``, betas
(0.9, 0.999), no weight decay; batch ``finetune.batch_size``. Selection on the dev
split: accuracy averaged over ``finetune.eval_draws`` seeded draws; stop after
``finetune.patience`` epochs without a better one. Fine-tuning evaluates the converted
net first (epoch 0), so it is kept when no epoch beats it.

Embeddings stay frozen. The spike generator samples Bernoulli(p): no gradient reaches
``p`` without an extra estimator the paper does not use, and the attack vocabulary is
the whole pre-trained one - moving only the training words' rows would drift them away
from the neighbours attacks substitute. The direct baseline reads the same positive
pre-trained embeddings as the tailored net started from.

Directly-trained baseline, deviations from "the same net from PyTorch's default init":
with that init the output neurons never fire on SST-2 and training stays at chance
(measured: dev 0.48 after two epochs at lr 1e-4 and at 1e-3). By default the random
init is therefore prepared on 256 training sentences (:mod:`robustsnn.train.snn_init`, which
records the measurements behind each step): conv filters centred on the average input
window, the class populations of the output layer started as copies of one another,
and every layer rescaled until conv and output neurons fire at ``DIRECT_INIT_RATES``.
Nothing else differs from fine-tuning: same loss, optimiser, ``finetune.lr`` (1e-4 beat
3e-4 from this init: dev 0.54 vs 0.50 after 400 steps), batch, dropout, epochs and
selection. ``init="default"`` trains from PyTorch's init as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..artifacts import DIRECT, finetuned
from ..config import Recipe, recipe_from_dict, validate_recipe
from ..data.tsv import Dataset
from ..errors import UserError
from ..models.loading import encode_split
from .ann import seed_everything, train_one_epoch
from .evaluate import DrawAccuracy, evaluate_snn
from .fit import DevScore, FitOutcome, Report, Trainer
from .fit import fit as fit_loop

# Sections ``finetune --set`` may change: anything else would not fit the checkpoint's weights.
TUNABLE_SECTIONS = ("finetune", "snn")


@dataclass
class SNNTrainResult:
    run_dir: Path
    best_epoch: int
    dev: DrawAccuracy
    test: DrawAccuracy
    seconds_per_epoch: float
    epochs_run: int


@dataclass
class _Job:
    """What differs between fine-tuning and direct training."""

    name: str  # "finetune" | "direct"
    model: nn.Module
    recipe: Recipe
    encoder: Any  # text.TextEncoder
    vocab: list[str]
    meta: dict[str, Any]
    evaluate_initial: bool
    dataset: Dataset  # the recipe's (train on train, select on dev, report on test)


def _loss(counts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    from ..models.snn import rate_loss

    return rate_loss(counts, labels)


def _optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=recipe.finetune.lr, betas=(0.9, 0.999), weight_decay=0.0)


def _check_overrides(overrides: Sequence[str]) -> None:
    for item in overrides:
        section = item.split("=", 1)[0].strip().split(".", 1)[0]
        if section not in TUNABLE_SECTIONS:
            raise UserError(f"fine-tuning can only override {', '.join(s + '.*' for s in TUNABLE_SECTIONS)} "
                            f"(the weights fix the rest), got '{item}'")


def finetune_job(checkpoint: str | Path, overrides: Sequence[str] = ()) -> _Job:
    """A converted (kind ``snn``) checkpoint, rebuilt under ``overrides``."""
    from ..models.factory import build_model
    from ..models.loading import load_model
    from .convert import copy_weights

    _check_overrides(overrides)
    loaded = load_model(checkpoint)
    if loaded.kind != "snn":
        raise UserError(f"{checkpoint} holds a '{loaded.kind}' model; fine-tuning needs a spiking one "
                        f"(make it with: robustsnn convert {checkpoint})")
    recipe = recipe_from_dict(loaded.recipe.to_dict(), overrides)
    validate_recipe(recipe)
    weight = loaded.model.embedding.weight
    model = build_model("snn", recipe, weight.shape[0], weight.shape[1], loaded.model.num_classes)
    copy_weights(loaded.model, model)  # neuron constants come from the (overridden) recipe
    meta = {"training": "finetune", "source_checkpoint": str(Path(checkpoint).resolve()),
            "norm": loaded.meta.get("norm"), "source_meta": loaded.meta}
    return _Job("finetune", model, recipe, loaded.encoder, loaded.encoder.vocab, meta, True, loaded.dataset)


# Target mean firing rates (conv neurons, output neurons) of the data-driven init.
DIRECT_INIT_RATES = (0.2, 0.2)
DIRECT_INIT_EXAMPLES = 256
INITS = ("data", "default")


def direct_job(recipe: Recipe, init: str = "data",
               init_rates: tuple[float, float] = DIRECT_INIT_RATES) -> _Job:
    """The same spiking net from random init: PyTorch's default init for conv and fc,
    prepared on training sentences (``init="data"``: centred filters, mirrored class
    populations, rescaled to fire at ``init_rates`` (conv, output); see
    :func:`robustsnn.train.snn_init.data_driven_init`) or left as it is (``init="default"``)."""
    from ..models.factory import build_model, embedding_weights
    from ..models.loading import prepare
    from .snn_init import data_driven_init

    if init not in INITS:
        raise UserError(f"unknown init '{init}' (choices: {', '.join(INITS)})")
    prepared = prepare(recipe)
    table = prepared.table
    seed_everything(recipe.finetune.seed)
    model = build_model("snn", recipe, len(table.vocab), table.raw.shape[1],
                        prepared.dataset.spec.num_classes)
    with torch.no_grad():
        model.embedding.weight.copy_(embedding_weights("snn", table))
    meta: dict[str, Any] = {"training": "direct", "embedding": table.info, "init": {"method": init}}
    if init == "data":
        ids, _ = encode_split(prepared.encoder, prepared.dataset.train)
        pick = torch.randperm(len(ids), generator=torch.Generator().manual_seed(recipe.finetune.seed))
        calibration = ids[pick[:DIRECT_INIT_EXAMPLES]]
        report = data_driven_init(model, calibration, init_rates[0], init_rates[1], seed=recipe.finetune.seed,
                                  center=True, mirror=True)
        meta["init"].update({"centered_filters": True, "mirrored_classes": True,
                             "target_conv_rate": init_rates[0], "target_output_rate": init_rates[1],
                             "calibration_examples": len(calibration), **report.to_dict()})
    return _Job("direct", model, recipe, prepared.encoder, prepared.encoder.vocab, meta, False,
                prepared.dataset)


def default_finetune_dir(job: _Job) -> Path:
    """``snn-finetuned-<norm>`` or ``snn-direct`` under the dataset's runs (:mod:`robustsnn.artifacts`)."""
    artifact = finetuned(job.meta["norm"]) if job.name == "finetune" else DIRECT
    return artifact.run_path(job.recipe.data.dataset)


def dev_score(dev: DrawAccuracy) -> DevScore:
    """An SNN's dev score: the accuracy averaged over seeded Poisson draws."""
    return DevScore(dev.mean, str(dev),
                    {"dev_accuracy": dev.mean, "dev_std": dev.std, "dev_per_draw": list(dev.per_draw)},
                    {"dev_accuracy": dev.mean, "dev_std": dev.std})


def snn_trainer(job: _Job) -> Trainer:
    """The SNN half of :func:`robustsnn.train.fit.fit` for ``job``: seeds, builds the
    optimiser, encodes the train and dev splits."""
    ft = job.recipe.finetune
    model = job.model
    seed_everything(ft.seed)
    optimizer = _optimizer(model, job.recipe)
    train_ids, train_y = encode_split(job.encoder, job.dataset.train)
    dev_ids, dev_y = encode_split(job.encoder, job.dataset.dev)
    config = job.recipe.to_dict()

    def train_epoch(generator: torch.Generator, desc: str) -> float:
        return train_one_epoch(model, train_ids, train_y, [optimizer], ft.batch_size, generator,
                               desc=desc, loss_fn=_loss)

    def payload(meta: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "snn", "model": model.state_dict(), "config": config, "vocab": job.vocab,
                "meta": {**job.meta, **meta}}

    def resume_mismatch(state: dict[str, Any]) -> str | None:
        if state["config"] != config or state["meta"].get("training") != job.name \
                or state["meta"].get("source_checkpoint") != job.meta.get("source_checkpoint") \
                or _init_method(state["meta"]) != _init_method(job.meta):
            return "from another source or config"
        return None

    def report(outcome: FitOutcome) -> Report:
        from ..models.loading import load_model

        best = load_model(outcome.best_path)
        chosen = outcome.best_entry
        dev = DrawAccuracy(chosen["dev_accuracy"], chosen["dev_std"], tuple(chosen["dev_per_draw"]))
        test = evaluate_snn(best.model, *best.encoded("test"), ft.eval_draws, seed=ft.seed)
        per_epoch = outcome.seconds_per_epoch
        record = {
            "dataset": job.recipe.data.dataset, "model": "snn", "training": job.name,
            "best_epoch": outcome.best_epoch, "dev_accuracy": dev.mean, "dev_std": dev.std,
            "test_accuracy": test.mean, "test_std": test.std, "test_per_draw": list(test.per_draw),
            "eval_draws": ft.eval_draws, "epochs_run": outcome.epochs_run, "seconds_per_epoch": per_epoch,
            "config": config, "meta": job.meta, "seed": ft.seed,
        }
        summary = (f"snn {job.name} on {job.recipe.data.dataset}: best epoch {outcome.best_epoch}, dev {dev}, "
                   f"test {test}, {per_epoch:.1f}s/epoch -> {outcome.best_path}")
        return Report(record, summary, SNNTrainResult(outcome.run_dir, outcome.best_epoch, dev, test, per_epoch,
                                                      outcome.epochs_run))

    return Trainer(
        name=job.name, model=model, optimizers=[optimizer], seed=ft.seed, max_epochs=ft.max_epochs,
        patience=ft.patience, train_epoch=train_epoch,
        evaluate_dev=lambda: dev_score(evaluate_snn(model, dev_ids, dev_y, ft.eval_draws, seed=ft.seed)),
        payload=payload, resume_mismatch=resume_mismatch, report=report, progress=f"snn {job.name}",
        initial="converted" if job.evaluate_initial else None, epochs_key="finetune.max_epochs",
    )


def fit(job: _Job, run_dir: Path | None = None, resume: bool = False,
        log: Callable[[str], None] = print) -> SNNTrainResult:
    """Train ``job.model``; ``best.pt`` is the dev-selected net, ``last.pt`` resumes."""
    return fit_loop(snn_trainer(job), Path(run_dir or default_finetune_dir(job)), resume, log)


def _init_method(meta: dict[str, Any]) -> str | None:
    """How a direct run was initialised (runs from before the data-driven init: default)."""
    if meta.get("training") != "direct":
        return None
    return meta.get("init", {}).get("method", "default")


def finetune(checkpoint: str | Path, run_dir: Path | None = None, resume: bool = False,
             overrides: Sequence[str] = (), log: Callable[[str], None] = print) -> SNNTrainResult:
    """Fine-tune a converted spiking checkpoint with surrogate gradients."""
    from .threads import pinned_threads

    with pinned_threads():  # from the first forward pass on (see .threads)
        return fit(finetune_job(checkpoint, overrides), run_dir, resume, log)


def train_direct(recipe: Recipe, run_dir: Path | None = None, resume: bool = False,
                 log: Callable[[str], None] = print, init: str = "data",
                 init_rates: tuple[float, float] = DIRECT_INIT_RATES) -> SNNTrainResult:
    """The directly-trained spiking baseline (no conversion)."""
    from .threads import pinned_threads

    with pinned_threads():  # the data-driven init's forward passes too (see .threads)
        job = direct_job(recipe, init, init_rates)
        if init == "data":
            i = job.meta["init"]
            log(f"data-driven init: weight scales {_fmt(i['scales'])}; rates before {_fmt(i['rates_before'])}, "
                f"after {_fmt(i['rates_after'])}")
        return fit(job, run_dir, resume, log)


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in values.items())
