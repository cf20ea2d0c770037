"""Attack recipes by name: TextAttack attacks rebuilt offline under a threat model.

Public API::

    RECIPES                                     Registry "attack recipe" (entry-point group
                                                robustsnn.recipes): name -> builder
    build_attack(name, model_wrapper, threat)   -> textattack.Attack
    describe_attack(name, threat)               -> dict for result records
    AttackResources (from robustsnn.resources) loaded offline resources, reusable across builds

A builder is ``build(model_wrapper, threat, resources=None) -> textattack.Attack``.
The built-in ones (``textfooler``, ``textbugger``, ``bert-attack``, ``pwws``, the
white-box ``gradient-wir`` and ``hotflip``, and the label-only ``hard-label``) live in
:mod:`robustsnn.attack.recipe_builders`, with each paper's numbers and every
deviation stated beside the code. They are registered here as light proxies, so
listing or validating recipe names never imports TextAttack.

The rule that makes "under shared constraints" mean one thing: every knob the
:class:`~robustsnn.attack.threat.ThreatModel` covers (modification rate, K, sentence
similarity, stopwords, query budget) is set by the threat model alone, replacing the
recipe's own value of that knob; each recipe keeps the rest (its search method,
``RepeatModification``, TextFooler's word-embedding distance and part of speech).
The protocol decides the transformation: ``shared-swap`` gives every recipe the same
K-nearest counter-fitted swap; ``native`` keeps each recipe's own, capped at K.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import UserError
from ..registry import Registry
from ..resources.offline import AttackResources
from .threat import ThreatModel

if TYPE_CHECKING:
    pass

RecipeBuilder = Callable[..., Any]  # (model_wrapper, threat, resources=None) -> textattack.Attack

# name -> the paper it reproduces (for result records).
REFERENCES = {
    "textfooler": "Jin et al. 2019, Is BERT Really Robust? (TextFooler), arXiv:1907.11932",
    "textbugger": "Li et al. 2018, TextBugger, arXiv:1812.05271",
    "bert-attack": "Li et al. 2020, BERT-ATTACK: Adversarial Attack Against BERT Using BERT, "
                   "arXiv:2004.09984",
    "pwws": "Ren et al. 2019, Probability Weighted Word Saliency (PWWS), ACL 2019 P19-1103",
    "gradient-wir": "white-box greedy word swap ranked by input gradients (TextAttack GreedyWordSwapWIR "
                    "'gradient'); SNN gradients through the surrogate with a straight-through rate "
                    "gradient (Bu et al., CVPR 2023)",
    "hotflip": "white-box first-order swap scores (e_new - e_old) . g with the model's own word vectors, after "
               "HotFlip (Ebrahimi et al., ACL 2018, arXiv:1712.06751) applied to word swaps; best 5 queried "
               "per step, greedy (robustsnn/attack/hotflip.py)",
    "hard-label": "decision-based (reads the predicted label only), after HLBB (Maheshwary et al., AAAI 2021, "
                  "arXiv:2012.14956) and TextHoaxer (Ye et al., AAAI 2022); the search is ours: random flip, "
                  "undo unneeded swaps, move swaps to closer words (robustsnn/attack/decision.py)",
}


class _Builtin:
    """A built-in recipe, resolved from :mod:`.recipe_builders` on first call."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, model_wrapper: Any, threat: ThreatModel,
                 resources: AttackResources | None = None) -> Any:
        from .recipe_builders import BUILDERS

        return BUILDERS[self.name](model_wrapper, threat, resources)

    def __repr__(self) -> str:
        return f"robustsnn.attack.recipe_builders:{self.name}"


def _register_builtins(registry: Registry[RecipeBuilder]) -> None:
    for name in REFERENCES:
        registry.register(name, _Builtin(name))


RECIPES: Registry[RecipeBuilder] = Registry("attack recipe", "robustsnn.recipes",
                                            builtins=_register_builtins)


def build_attack(name: str, model_wrapper: Any, threat: ThreatModel,
                 resources: AttackResources | None = None) -> Any:
    """A new ``textattack.Attack`` for recipe ``name`` against ``model_wrapper``
    (e.g. :class:`~robustsnn.attack.wrappers.TextClassifierWrapper`)."""
    if not isinstance(threat, ThreatModel):
        raise UserError(f"threat must be a ThreatModel, got {type(threat).__name__}")
    builder = RECIPES.get(name)
    with _quiet_model_check():
        return builder(model_wrapper, threat, resources)


@contextmanager
def _quiet_model_check() -> Iterator[None]:
    """TextAttack warns "Unknown if model ... compatible" for every model class it does
    not know (all of ours) while building a goal function; silence that one logger here
    (after TextAttack's import, which sets the logger's level itself)."""
    from ..resources.textattack_import import import_textattack

    import_textattack()
    logger = logging.getLogger("textattack.shared.utils.install")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_unqueried_attack(name: str, threat: ThreatModel, resources: AttackResources | None = None) -> Any:
    """Recipe ``name`` under ``threat`` without a victim: for its parts (a description,
    its transformation and constraints); running it is an error."""
    from .describe import NoModel

    return build_attack(name, NoModel(), threat, resources)


def describe_attack(name: str, threat: ThreatModel, attack: Any = None,
                    resources: AttackResources | None = None) -> dict[str, Any]:
    """What recipe ``name`` under ``threat`` consists of, for result records: the
    protocol, goal function, search, transformation(s) and constraints (one line
    each), and the ``describe()`` of every offline resource in it (counter-fitted
    embedding, sentence encoder, masked LM, homoglyph table).

    Pass the ``attack`` built by :func:`build_attack` to describe it without
    building another (which would load the resources again).
    """
    entry = RECIPES.entry(name)
    if attack is None:
        attack = build_unqueried_attack(name, threat, resources)
    from .describe import describe_components

    return {
        "recipe": name,
        "reference": REFERENCES.get(name) if entry.obj.__class__ is _Builtin else None,
        "source": entry.source,
        "protocol": threat.protocol,
        "threat": threat.to_dict(),
        "threat_description": threat.describe(),
        **describe_components(attack),
    }
