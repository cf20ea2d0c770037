"""Defenses by name: wrappers that turn one TextClassifier into a more robust one.

Public API::

    DEFENSES                                     Registry "defense" (entry-point group
                                                 robustsnn.defenses): name -> builder
    apply_defense(name, classifier, dataset, seed) -> TextClassifier
    DefenseContext(dataset, seed, ...)           what a builder may read (lazy, injectable)
    DefendedClassifier(base, name, settings)     the wrapper to subclass

A builder is ``build(classifier: TextClassifier, context: DefenseContext) ->
TextClassifier``. The classifier it returns keeps the wrapped one as ``.base``,
exposes ``.model`` (the base's, if any) and ``num_classes``, and its ``describe()``
names the defense and its settings (``{"defense": {"name": ..., ...}}``). Check a
builder with :func:`robustsnn.testing.check_defense`.

Built in: ``safer`` (:mod:`.safer`) and ``fgws`` (:mod:`.fgws`), and ``a2t``
(:mod:`.trained`: adversarial training, a checkpoint of its own rather than a wrapper;
its entry says ``trains = True`` and the model zoo loads that checkpoint). ``none`` is
not a registered defense but the absence of one: the harness then attacks the model as
it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..registry import Registry
from .base import DefendedClassifier
from .context import DefenseContext

if TYPE_CHECKING:
    from ..classifier import TextClassifier

__all__ = ["DEFENSES", "NO_DEFENSE", "DefenseBuilder", "DefenseContext", "DefendedClassifier",
           "apply_defense"]

NO_DEFENSE = "none"

DefenseBuilder = Callable[["TextClassifier", DefenseContext], "TextClassifier"]


def _register_builtins(registry: Registry[DefenseBuilder]) -> None:
    from .fgws import FGWS
    from .safer import Safer
    from .trained import a2t

    registry.register("safer", Safer())
    registry.register("fgws", FGWS())
    registry.register("a2t", a2t())


DEFENSES: Registry[DefenseBuilder] = Registry("defense", group="robustsnn.defenses",
                                              builtins=_register_builtins)


def apply_defense(name: str, classifier: TextClassifier, dataset: str, seed: int,
                  context: DefenseContext | None = None) -> TextClassifier:
    """``classifier`` wrapped in defense ``name`` for ``dataset`` under campaign ``seed``.

    ``none`` returns the classifier unchanged. ``context`` replaces the default
    ``DefenseContext(dataset, seed)`` (e.g. with injected resources).
    """
    from ..classifier import TextClassifier as Protocol
    from ..errors import UserError

    if name == NO_DEFENSE:
        return classifier
    builder: Any = DEFENSES.get(name)
    defended = builder(classifier, context if context is not None else DefenseContext(dataset, seed))
    if not isinstance(defended, Protocol):
        raise UserError(f"defense '{name}' returned {type(defended).__name__}, not a TextClassifier "
                        "(needs num_classes, predict_proba(texts), describe())")
    return defended
