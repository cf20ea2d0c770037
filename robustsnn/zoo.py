"""Registered models: names that ``robustsnn attack --model NAME`` resolves.

A model entry knows where the checkpoint built for a dataset lives, how to build it
when it is missing, whether it is stochastic, and how to load it as a
:class:`~robustsnn.classifier.TextClassifier`. Third-party packages add entries
through the ``robustsnn.models`` entry-point group; an entry is any object with

* ``stochastic: bool`` - its answers vary between calls (the SNN's Poisson input);
* ``load(dataset: str, checkpoint: Path | None, encoding) -> TextClassifier`` -
  ``encoding`` is a :class:`~robustsnn.models.encoding.Encoding` for stochastic models
  and ``None`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import UserError
from .paths import runs_dir
from .registry import Registry


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Any:
    """One in-memory copy per checkpoint file and version (campaigns reuse models)."""
    from .models.loading import load_model

    return load_model(path)


def load_checkpoint_model(path: Path) -> Any:
    path = Path(path).resolve()
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    return _load_cached(str(path), path.stat().st_mtime)


@dataclass(frozen=True)
class CheckpointModel:
    """A built-in model: a robustsnn checkpoint at ``$ROBUSTSNN_RUNS/<dataset>/<relpath>``."""

    kind: str  # checkpoint kind expected: textcnn | tailored | snn
    relpath: str
    build: str  # the commands that make it, with {dataset}
    stochastic: bool = False

    def default_checkpoint(self, dataset: str) -> Path:
        return runs_dir() / dataset / self.relpath

    def load(self, dataset: str, checkpoint: Path | None = None, encoding: Any = None) -> Any:
        from .classifier import NetworkClassifier

        path = Path(checkpoint) if checkpoint else self.default_checkpoint(dataset)
        if not path.is_file():
            raise UserError(f"no {self.kind} checkpoint for {dataset} at {path}; build it with: "
                            + self.build.format(dataset=dataset))
        loaded = load_checkpoint_model(path)
        if loaded.kind != self.kind:
            raise UserError(f"{path} holds a '{loaded.kind}' model, not '{self.kind}'")
        if loaded.recipe.data.dataset != dataset:
            raise UserError(f"{path} was trained on '{loaded.recipe.data.dataset}', not '{dataset}'")
        return NetworkClassifier(loaded, encoding=encoding if self.stochastic else None)


def _train(model: str) -> str:
    return f"robustsnn train --config recipes/{{dataset}}.toml --model {model}"


_CONVERT = _train("tailored") + " && robustsnn convert $ROBUSTSNN_RUNS/{dataset}/tailored/best.pt"


def _builtins(reg: Registry[Any]) -> None:
    reg.register("textcnn", CheckpointModel("textcnn", "textcnn/best.pt", _train("textcnn")))
    reg.register("tailored", CheckpointModel("tailored", "tailored/best.pt", _train("tailored")))
    reg.register("snn", CheckpointModel(
        "snn", "snn-finetuned-none/best.pt",
        _CONVERT + " && robustsnn finetune $ROBUSTSNN_RUNS/{dataset}/snn/converted-none.pt",
        stochastic=True))
    reg.register("snn-converted", CheckpointModel("snn", "snn/converted-none.pt", _CONVERT,
                                                  stochastic=True))
    reg.register("snn-direct", CheckpointModel(
        "snn", "snn-direct/best.pt", "robustsnn train-snn --config recipes/{dataset}.toml",
        stochastic=True))


MODELS: Registry[Any] = Registry("model", group="robustsnn.models", builtins=_builtins)
