"""Build a network by kind from a recipe, and rebuild one from a checkpoint."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import Recipe
from ..errors import UserError

MODEL_KINDS = ("textcnn", "tailored", "snn", "spikformer")


def build_model(kind: str, recipe: Recipe, vocab_size: int, dim: int, num_classes: int) -> nn.Module:
    """An untrained network of ``kind``; embedding weights are loaded by the caller."""
    from .textcnn import TailoredTextCNN, TextCNN

    m = recipe.model
    if kind == "textcnn":
        return TextCNN(vocab_size, dim, num_classes, m.widths, m.maps, m.dropout,
                       trainable_embedding=not m.freeze_embedding)
    if kind == "tailored":
        return TailoredTextCNN(vocab_size, dim, num_classes, m.widths, m.maps, m.dropout,
                               m.neurons_per_class)
    if kind == "snn":
        from .snn import SpikingTextCNN

        s = recipe.snn
        return SpikingTextCNN(vocab_size, dim, num_classes, m.widths, m.maps, m.dropout,
                              m.neurons_per_class, s.time_steps, s.threshold, s.beta, s.surrogate_slope)
    if kind == "spikformer":
        return _spikformer(recipe, vocab_size, dim, num_classes)
    raise UserError(f"unknown model '{kind}' (choices: {', '.join(MODEL_KINDS)})")


def check_recipe_for(kind: str, recipe: Recipe) -> None:
    """A one-line error when ``recipe`` lacks what ``kind`` is built from (checked before any
    data is loaded)."""
    if kind == "spikformer" and recipe.spikformer is None:
        raise UserError(f"recipe for {recipe.data.dataset} has no [spikformer] section; train the spiking "
                        f"transformer from its own recipe (--config {recipe.data.dataset}-spikformer)")


def _spikformer(recipe: Recipe, vocab_size: int, dim: int, num_classes: int) -> nn.Module:
    from .spikformer import SpikingTransformer

    check_recipe_for("spikformer", recipe)
    s = recipe.spikformer
    assert s is not None  # for the type checker: check_recipe_for raised otherwise
    return SpikingTransformer(vocab_size, dim, num_classes, s.width, s.depth, s.heads, s.mlp_ratio, s.kernel,
                              s.time_steps, s.threshold, s.attention_threshold, s.beta, s.surrogate_slope,
                              s.attention_scale, s.dropout)


def embedding_weights(kind: str, table: Any) -> torch.Tensor:
    """The original TextCNN reads raw vectors; the tailored (and spiking) nets positive ones."""
    return torch.from_numpy(table.raw if kind == "textcnn" else table.positive)


def build_from_checkpoint(ckpt: dict[str, Any], recipe: Recipe, num_classes: int) -> nn.Module:
    """The empty network a checkpoint's state dict belongs to."""
    kind = ckpt["kind"]
    state = ckpt["model"]
    weight = state.get("embedding.weight") if isinstance(state, dict) else None
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise UserError(f"checkpoint has no embedding matrix (kind '{kind}')")
    if weight.shape[0] != len(ckpt["vocab"]):
        raise UserError(
            f"checkpoint vocabulary ({len(ckpt['vocab'])} words) does not match its embedding "
            f"({weight.shape[0]} rows)"
        )
    if kind not in MODEL_KINDS:
        raise UserError(f"checkpoint holds an unknown model kind '{kind}'")
    return build_model(kind, recipe, weight.shape[0], weight.shape[1], num_classes)
