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

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .artifacts import (
    CONVERTED,
    DIRECT,
    FINETUNED,
    NO_DEFENSE,
    REGISTERED_SEED,
    RESULT,
    SPIKFORMER,
    TAILORED,
    TEXTCNN,
    Artifact,
)
from .errors import UserError
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
    """A built-in model: the checkpoint of ``artifact`` under ``$ROBUSTSNN_RUNS/<dataset>/``
    (paths and build commands: :mod:`robustsnn.artifacts`)."""

    artifact: Artifact
    stochastic: bool = False
    # A spiking checkpoint deployed with a fixed input encoding (``direct``: the embedding
    # values as currents at every step, nothing sampled) is a deterministic classifier: it
    # takes no noise mode, so a randomized defense around it owns the cell's draws alone.
    input_encoding: str | None = None

    @property
    def kind(self) -> str:
        """Checkpoint kind expected: textcnn | tailored | spikformer | snn."""
        return self.artifact.kind

    @property
    def relpath(self) -> str:
        return self.artifact.relpath

    def build_command(self, dataset: str) -> str:
        """The commands that make the checkpoint for ``dataset``, from the recipe on."""
        return self.artifact.chain(dataset)

    def default_checkpoint(self, dataset: str) -> Path:
        return self.artifact.path(dataset)

    def with_defense(self, defense: str) -> CheckpointModel:
        """The same model trained under the training-time defense ``defense`` (its own
        checkpoint and build chain: ``textcnn-a2t/best.pt``)."""
        try:
            return replace(self, artifact=replace(self.artifact, defense=defense))
        except ValueError as exc:
            raise UserError(str(exc)) from None

    def with_seed(self, seed: int) -> CheckpointModel:
        """The same model trained with another training seed (``train.seed`` and
        ``finetune.seed``; its own checkpoint and build chain under ``seed-<n>/``; seed 0,
        the shipped recipes', is the registered checkpoint)."""
        try:
            return replace(self, artifact=replace(self.artifact, seed=seed))
        except ValueError as exc:
            raise UserError(str(exc)) from None

    def require(self, dataset: str, checkpoint: Path | None = None) -> Path:
        """The checkpoint file, or a one-line error with the commands that build it."""
        path = Path(checkpoint) if checkpoint else self.default_checkpoint(dataset)
        if not path.is_file():
            trained = "" if self.artifact.defense == NO_DEFENSE else f" ({self.artifact.defense}-trained)"
            trained += "" if self.artifact.seed == REGISTERED_SEED else f" (training seed {self.artifact.seed})"
            raise UserError(f"no {self.kind}{trained} checkpoint for {dataset} at {path}; build it with: "
                            + self.build_command(dataset))
        if checkpoint is None and self.artifact.unfinished(dataset):
            # Its best.pt is the best epoch so far of a training that is still running or was
            # stopped: attacking it would put a half-trained network's digest on a result.
            raise UserError(f"the {self.kind} checkpoint for {dataset} at {path} is from a training run that "
                            f"has not finished (no {RESULT} beside it); finish it with: "
                            + self.artifact.command(dataset, spell_defaults=False) + " --resume")
        return path

    def load(self, dataset: str, checkpoint: Path | None = None, encoding: Any = None) -> Any:
        from .classifier import NetworkClassifier

        path = self.require(dataset, checkpoint)
        loaded = load_checkpoint_model(path)
        if loaded.kind != self.kind:
            raise UserError(f"{path} holds a '{loaded.kind}' model, not '{self.kind}'")
        if loaded.recipe.data.dataset != dataset:
            raise UserError(f"{path} was trained on '{loaded.recipe.data.dataset}', not '{dataset}'")
        if self.input_encoding is not None:
            from .models.encoding import Encoding

            encoding = Encoding.parse(self.input_encoding)
        elif not self.stochastic:
            encoding = None
        return NetworkClassifier(loaded, encoding=encoding)


def _builtins(reg: Registry[Any]) -> None:
    reg.register("textcnn", CheckpointModel(TEXTCNN))
    reg.register("tailored", CheckpointModel(TAILORED))
    reg.register("snn", CheckpointModel(FINETUNED, stochastic=True))
    reg.register("snn-converted", CheckpointModel(CONVERTED, stochastic=True))
    reg.register("snn-direct", CheckpointModel(DIRECT, stochastic=True))
    # The fine-tuned SNN fed direct currents (what `--noise direct` evaluates) as a model of
    # its own: deterministic, so a randomized defense such as SAFER can wrap it and draw
    # alone (a cell has one noise mode; under SAFER the `snn` cells' mode samples spikes too).
    reg.register("snn-current", CheckpointModel(FINETUNED, input_encoding="direct"))
    # Direct (current) input, nothing sampled: a deterministic classifier, no encoding.
    reg.register("spikformer", CheckpointModel(SPIKFORMER))


MODELS: Registry[Any] = Registry("model", group="robustsnn.models", builtins=_builtins)


def trains(defense: str) -> bool:
    """Whether ``defense`` lives in the weights (a checkpoint of its own, such as ``a2t``)
    rather than in a wrapper around the model (``safer``, ``fgws``)."""
    if defense == NO_DEFENSE:
        return False
    from .defenses import DEFENSES

    return bool(getattr(DEFENSES.get(defense), "trains", False))


def model_entry(model: str, defense: str = NO_DEFENSE, checkpoint: Path | None = None) -> Any:
    """The zoo entry that (model, defense) loads: for a training-time defense the model's
    checkpoint trained under it (``textcnn`` + ``a2t`` -> ``textcnn-a2t/best.pt``), else
    the model's own (an inference-time defense wraps it after loading)."""
    entry = MODELS.get(model)
    if not trains(defense):
        return entry
    if isinstance(entry, CheckpointModel):
        return entry.with_defense(defense)
    if checkpoint is None:  # nothing says where a plug-in's adversarially trained net is
        raise UserError(f"model '{model}' is a plug-in, so robustsnn builds no '{defense}'-trained checkpoint "
                        f"for it; give one with --checkpoint")
    return entry
