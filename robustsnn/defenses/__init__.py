"""Defenses by name: wrappers that turn one TextClassifier into a more robust one.

Public API::

    DEFENSES                                     Registry "defense" (entry-point group
                                                 robustsnn.defenses): name -> builder
    apply_defense(name, classifier, dataset, seed, noise=...) -> TextClassifier
    is_randomized(name) -> bool                  whether the defense draws at random
    DefenseContext(dataset, seed, ...)           what a builder may read (lazy, injectable)
    DefendedClassifier(base, name, settings)     the wrapper to subclass

A builder is ``build(classifier: TextClassifier, context: DefenseContext) ->
TextClassifier``. The classifier it returns keeps the wrapped one as ``.base``,
exposes ``.model`` (the base's, if any) and ``num_classes``, and its ``describe()``
names the defense and its settings (``{"defense": {"name": ..., ...}}``). Check a
builder with :func:`robustsnn.testing.check_defense`.

A *randomized* defense - one whose answers vary between calls as deployed, such as
SAFER's random synonym copies - says so with ``randomized = True`` on its builder (read
before anything is built: its cells take a noise mode) and on the classifier it returns
(default False on both). The harness then judges it like the Poisson SNN: by its
majority over fresh draws, attacked in each noise mode, which the builder reads as
``context.draws`` (:attr:`DefenseContext.draws`):

* ``fresh`` - new random draws on every call, taken from the global RNGs (``random``,
  ``numpy.random`` or ``torch``), which the runner seeds per example and the verdict per
  text, so fresh draws are reproducible there and nowhere else;
* ``frozen`` - draws that are a pure function of ``context.seed`` and the input (the
  defense's deterministic form; also what ``direct`` and ``crn-<k>`` cells of a spiking
  model, and every context made outside a campaign, give it);
* ``mean-<k>`` - the mean of k fresh outputs (expectation over the draws).

Over a stochastic model (the Poisson SNN) the cell's mode governs both: the network
draws its spikes in it, except under ``mean-<k>``, where the defense averages k outputs
whose every draw (spikes included) is fresh.

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
           "apply_defense", "is_randomized"]

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


def is_randomized(name: str) -> bool:
    """Whether defense ``name`` draws at random as deployed (its builder's ``randomized``;
    ``none`` and builders that do not say are not)."""
    if name == NO_DEFENSE:
        return False
    return bool(getattr(DEFENSES.get(name), "randomized", False))


def apply_defense(name: str, classifier: TextClassifier, dataset: str, seed: int,
                  context: DefenseContext | None = None, noise: Any = None) -> TextClassifier:
    """``classifier`` wrapped in defense ``name`` for ``dataset`` under campaign ``seed``.

    ``none`` returns the classifier unchanged. ``context`` replaces the default
    ``DefenseContext(dataset, seed)`` (e.g. with injected resources); ``noise``, the
    cell's noise mode, replaces the context's (a randomized defense draws by it).
    """
    from dataclasses import replace

    from ..classifier import TextClassifier as Protocol
    from ..errors import UserError

    if name == NO_DEFENSE:
        return classifier
    builder: Any = DEFENSES.get(name)
    context = context if context is not None else DefenseContext(dataset, seed)
    if noise is not None:
        context = replace(context, noise=noise)
    defended = builder(classifier, context)
    if not isinstance(defended, Protocol):
        raise UserError(f"defense '{name}' returned {type(defended).__name__}, not a TextClassifier "
                        "(needs num_classes, predict_proba(texts), describe())")
    if bool(getattr(defended, "randomized", False)) != is_randomized(name):
        # The builder's word decides how cells are made before anything is built; a
        # classifier that says otherwise would be judged as what it is not.
        raise UserError(f"defense '{name}': its builder says randomized = {is_randomized(name)} but the "
                        f"classifier it built says {bool(getattr(defended, 'randomized', False))}")
    return defended
