"""Tailored TextCNN -> spiking TextCNN, as ordered stages (validate -> copy -> calibrate
-> finalize), after SpikingJelly's ``ann2snn`` converter.

* **validate** - the source must be a ``tailored`` checkpoint (no biases, average pooling:
  the only kind with an exact spiking counterpart) and must rebuild strictly.
* **copy** - every weight tensor of the source is copied into the spiking net, and every
  weight of the spiking net comes from the source (same names, same shapes); anything
  else is an error. The spiking net's only other state is neuron constants from the recipe.
* **calibrate** - normalisation factors lambda per layer (Diehl et al. 2015):
  ``none``: 1; ``model``: the layer's largest positive weight (docs/method.md's "MN"; the
  "largest sum of positive incoming weights" variant gave chance accuracy there);
  ``data``: the 99.9th percentile of the layer's positive ANN activations on the
  dataset's training split (Rueckauer et al. 2017's robust form of Diehl's max).
  Layer-wise: one lambda for all three conv branches (they feed one pooling layer).
* **finalize** - rescale: data-based ``W_l <- W_l * lambda_{l-1} / lambda_l`` with
  lambda_0 = 1 (input rates are embedding values <= 1), so the ANN's activations map to
  rates in [0, 1]; model-based divides each layer by its own lambda, as documented.
  The pooling neurons have no weights: their input is an average of rates, already <= 1.

The SNN checkpoint is an ordinary robustsnn checkpoint of kind ``snn`` (the tailored
config and vocabulary, plus meta: source, norm, factors), so ``pipeline.load_model``
rebuilds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..artifacts import converted
from ..errors import UserError

NORMS = ("none", "model", "data")


@dataclass
class Conversion:
    model: nn.Module  # the spiking net, eval mode
    payload: dict[str, Any]  # what was (or would be) saved
    factors: dict[str, float]  # lambda per layer
    out: Path | None


# ------------------------------------------------------------------ copy


def weight_names(model: nn.Module) -> list[str]:
    """State-dict names that are learned weights: everything not owned by a spiking
    neuron (whose threshold, beta... are constants from the recipe)."""
    from snntorch._neurons.neurons import SpikingNeuron

    neurons = tuple(f"{name}." for name, m in model.named_modules() if isinstance(m, SpikingNeuron))
    return [k for k in model.state_dict() if not (neurons and k.startswith(neurons))]


def copy_weights(source: nn.Module, snn: nn.Module) -> list[str]:
    """Strict copy of every weight of ``source`` (a tailored or a spiking net) into the
    spiking net ``snn``; returns the copied names."""
    src = {k: v for k, v in source.state_dict().items() if k in set(weight_names(source))}
    names = weight_names(snn)
    missing, extra = sorted(set(names) - set(src)), sorted(set(src) - set(names))
    if missing or extra:
        raise UserError(f"weights do not match the spiking net: missing {missing or 'none'}, "
                        f"unexpected {extra or 'none'}")
    dst = snn.state_dict()
    for name in names:
        if src[name].shape != dst[name].shape:
            raise UserError(f"weight {name} has shape {tuple(src[name].shape)}, the spiking net "
                            f"needs {tuple(dst[name].shape)}")
    snn.load_state_dict({**dst, **{n: src[n].detach().clone() for n in names}}, strict=True)
    return names


# ------------------------------------------------------------------ calibrate


class TopTail:
    """Exact high percentile of a stream of values, keeping only the top tail in memory."""

    def __init__(self, max_count: int, q: float):
        self.q = q
        self.capacity = int(math.ceil(max_count * (1.0 - q / 100.0))) + 2
        self.top = torch.empty(0)
        self.count = 0

    def add(self, values: torch.Tensor) -> None:
        values = values.detach().flatten().float()
        self.count += values.numel()
        merged = torch.cat([self.top, values])
        self.top = merged.topk(min(self.capacity, merged.numel())).values  # descending

    def value(self) -> float:
        """numpy's default ('linear') percentile of everything added."""
        if self.count == 0:
            raise UserError("no positive activations to calibrate on")
        pos = self.q / 100.0 * (self.count - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, self.count - 1)
        a_lo, a_hi = self.top[self.count - 1 - lo], self.top[self.count - 1 - hi]
        return float(a_lo + (a_hi - a_lo) * (pos - lo))


@torch.no_grad()
def activation_percentiles(tailored: nn.Module, ids: torch.Tensor, q: float = 99.9,
                           batch_size: int = 256) -> dict[str, float]:
    """Percentile ``q`` of the positive conv activations (all branches, all positions) and
    of the positive output pre-activations of the tailored net, in eval mode."""
    was_training = tailored.training
    tailored.eval()
    try:
        length = ids.shape[1]
        conv_outputs = sum(tailored.convs[0].out_channels * (length - c.kernel_size[0] + 1)
                           for c in tailored.convs)
        conv = TopTail(len(ids) * conv_outputs, q)
        out = TopTail(len(ids) * tailored.fc.out_features, q)
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            x = tailored.embedding(batch).transpose(1, 2)
            pooled = []
            for layer in tailored.convs:
                act = torch.relu(layer(x))
                conv.add(act[act > 0])
                pooled.append(act.mean(dim=2))
            pre = tailored.fc(torch.cat(pooled, dim=1))
            out.add(pre[pre > 0])
        return {"conv": conv.value(), "fc": out.value()}
    finally:
        tailored.train(was_training)


def max_positive_weights(model: nn.Module) -> dict[str, float]:
    conv = max(float(c.weight.detach().max()) for c in model.convs)
    fc = float(model.fc.weight.detach().max())
    if conv <= 0 or fc <= 0:
        raise UserError("model-based normalisation needs a positive weight in every layer")
    return {"conv": conv, "fc": fc}


def weight_scales(norm: str, factors: dict[str, float]) -> dict[str, float]:
    """Multipliers applied to each layer's weights (see the module docstring)."""
    if norm == "data":
        return {"conv": 1.0 / factors["conv"], "fc": factors["conv"] / factors["fc"]}
    return {"conv": 1.0 / factors["conv"], "fc": 1.0 / factors["fc"]}


# ------------------------------------------------------------------ the stages


def validate(checkpoint: str | Path) -> Any:
    """Stage 1: the source rebuilds strictly, is tailored, and its inputs are probabilities."""
    from ..models.loading import load_model

    source = load_model(checkpoint)
    if source.kind != "tailored":
        raise UserError(f"only tailored checkpoints convert exactly (got kind '{source.kind}'); "
                        "train one with: robustsnn train --model tailored")
    weight = source.model.embedding.weight.detach()
    if float(weight.min()) < 0.0 or float(weight.max()) > 1.0:
        raise UserError(f"{checkpoint}: embeddings outside [0, 1] cannot be spike probabilities")
    return source


def calibrate(source: Any, norm: str, percentile: float) -> tuple[dict[str, float], dict[str, Any]]:
    """Stage 3: lambda per layer, and what to record about how it was found."""
    if norm == "none":
        return {"conv": 1.0, "fc": 1.0}, {}
    if norm == "model":
        return max_positive_weights(source.model), {}
    ids, _ = source.encoded("train")
    split = source.dataset.train
    factors = activation_percentiles(source.model, ids, percentile)
    return factors, {"percentile": percentile, "calibration_split": split.origin,
                     "calibration_examples": len(split)}


@torch.no_grad()
def finalize(snn: nn.Module, norm: str, factors: dict[str, float]) -> dict[str, float]:
    """Stage 4: rescale the copied weights; the spiking net ends in eval mode."""
    scales = weight_scales(norm, factors)
    for conv in snn.convs:
        conv.weight.mul_(scales["conv"])
    snn.fc.weight.mul_(scales["fc"])
    snn.eval()
    return scales


def convert(checkpoint: str | Path, norm: str = "none", out: str | Path | None = None,
            percentile: float = 99.9, save: bool = True, log: Callable[[str], None] = print) -> Conversion:
    """Convert a tailored checkpoint into a spiking one (saved to ``out`` unless ``save=False``)."""
    from ..models.checkpoint import save_checkpoint
    from ..models.factory import build_model
    from ..provenance import provenance

    if norm not in NORMS:
        raise UserError(f"unknown normalisation '{norm}' (choices: {', '.join(NORMS)})")
    if not 0.0 < percentile <= 100.0:
        raise UserError("percentile must be in (0, 100]")
    from .threads import META_KEY, NUMERICS_KEY, numerics, pinned_threads

    source = validate(checkpoint)
    weight = source.model.embedding.weight
    snn = build_model("snn", source.recipe, weight.shape[0], weight.shape[1], source.model.num_classes)
    copied = copy_weights(source.model, snn)
    with pinned_threads() as threads:  # calibration's percentiles sum over threads (see .threads)
        factors, how = calibrate(source, norm, percentile)
    scales = finalize(snn, norm, factors)

    # What converted it, without the date, git revision or machine: the same conversion
    # at the same paths saves the same bytes (attack logs name the content digest, which
    # leaves meta out anyway; training keeps such provenance in result.json).
    prov = provenance()
    meta = {"source_checkpoint": str(Path(checkpoint).resolve()), "source_kind": source.kind,
            "source_meta": source.meta, "norm": norm, "factors": factors, "weight_scales": scales,
            "copied": copied, **how, META_KEY: threads, NUMERICS_KEY: numerics(),
            "converted": {k: prov[k] for k in ("robustsnn", "python", "versions")}}
    payload = {"kind": "snn", "model": snn.state_dict(), "config": source.recipe.to_dict(),
               "vocab": source.encoder.vocab, "meta": meta}
    path = None
    if save:
        path = Path(out) if out else converted(norm).path(source.recipe.data.dataset)
        save_checkpoint(path, payload)
        log(f"converted {checkpoint} -> {path} (norm {norm}, lambda conv {factors['conv']:.4g}, "
            f"fc {factors['fc']:.4g})")
    return Conversion(snn, payload, factors, path)
