"""Defenses that live in the weights: ``a2t`` (adversarial training, Yoo & Qi 2021).

SAFER and FGWS wrap a trained model at inference time; an adversarially trained model
is another checkpoint. Such a defense is registered in :data:`~robustsnn.defenses.DEFENSES`
like the others, so ``--defense a2t`` is checked, listed, recorded in every cell key,
run record and model card the same way, but its entry says ``trains = True``, and then:

* the model zoo (:func:`robustsnn.zoo.model_entry`) loads the model's checkpoint trained
  under it (``textcnn`` -> ``<runs>/<dataset>/textcnn-a2t/best.pt``; the SNN -> its
  A2T-trained parent converted and fine-tuned; the chains are in
  :mod:`robustsnn.artifacts`, built by ``robustsnn build --defense a2t``), and refuses
  in one line with the build commands when it is missing;
* the builder then marks that network: :class:`TrainedNetwork` answers as the network does
  (white-box attacks still reach its gradients: the defense is not a wrapper that hides
  them) and names the defense, with the settings the checkpoint recorded, in
  ``describe()``. It refuses a robustsnn network whose checkpoint was not trained under
  the defense (``--checkpoint plain.pt --defense a2t``).
"""

from __future__ import annotations

from typing import Any

from ..errors import UserError
from .base import DefendedClassifier
from .context import DefenseContext

# What white-box attacks read from a robustsnn network (classifier.py); forwarded, since
# training-time defenses leave the network's gradients as they are.
WHITE_BOX = ("tokens", "token_ids", "word_vectors", "count_tokens", "max_tokens", "input_gradient")


def trained_defense(meta: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
    """``(meta["defense"], generations)`` of a checkpoint's meta: the defense recorded by
    the training run that made it (0) or by the run its source came from (converted from
    and fine-tuned from: 1, 2...); ``(None, -1)`` when no run in the chain recorded one."""
    depth = 0
    while isinstance(meta, dict):
        if isinstance(meta.get("defense"), dict):
            return meta["defense"], depth
        meta, depth = meta.get("source_meta"), depth + 1
    return None, -1


class TrainedNetwork(DefendedClassifier):
    """A network trained under defense ``name``: answers as it does, describes the defense."""

    def __init__(self, base: Any, name: str, reference: str = "") -> None:
        from ..classifier import wrapped_with

        network = wrapped_with(base, "loaded")
        if network is None:  # a plug-in's classifier: its checkpoint cannot be checked here
            settings: dict[str, Any] = {"trained": "unverified (not a robustsnn network)"}
        else:
            recorded, depth = trained_defense(network.loaded.meta)
            if recorded is None or recorded.get("name") != name:
                raise UserError(f"{network.loaded.path} was not trained with defense '{name}'; use the checkpoint "
                                f"its build makes (robustsnn build --defense {name} ...)")
            settings = {k: v for k, v in recorded.items() if k not in ("name", "reference")}
            settings["trained"] = "this network" if depth == 0 else "its parent TextCNN, before conversion"
        super().__init__(base, name, settings, reference)

    def __getattr__(self, attribute: str) -> Any:
        # Only reached for attributes the wrapper lacks; only the white-box ones pass.
        if attribute in WHITE_BOX:
            return getattr(self.base, attribute)
        raise AttributeError(attribute)


class TrainedDefense:
    """A registered training-time defense: ``trains`` tells the zoo to load the model's
    checkpoint trained under it; called like any defense builder, it marks that network
    (:class:`TrainedNetwork`). ``trainer`` names, as ``module:function``, what trains a
    TextCNN under it (``robustsnn train --defense`` imports and calls it: the training
    sits in higher layers than defenses/)."""

    trains = True

    def __init__(self, name: str, summary: str, reference: str, trainer: str) -> None:
        self.name = name
        self.__doc__ = summary  # what `robustsnn list defenses` shows
        self.reference = reference
        self.trainer = trainer  # "module:function": (recipe, kind, run_dir, resume, log) -> result

    def __call__(self, classifier: Any, context: DefenseContext) -> TrainedNetwork:
        return TrainedNetwork(classifier, self.name, self.reference)

    def __repr__(self) -> str:
        return f"robustsnn.defenses.trained:TrainedDefense({self.name!r})"


def a2t() -> TrainedDefense:
    """The built-in ``a2t``: A2T adversarial training (robustsnn/attack/adversarial_training.py)."""
    return TrainedDefense(
        "a2t", "A2T: adversarial training, a checkpoint of its own (Yoo & Qi, Findings of EMNLP 2021).",
        "Yoo & Qi 2021, Towards Improving Adversarial Training of NLP Models (A2T), arXiv:2109.00544",
        "robustsnn.attack.adversarial_training:train_a2t")
