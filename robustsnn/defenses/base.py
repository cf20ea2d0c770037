"""The wrapper every built-in defense is, and plugin defenses may subclass.

A defended classifier is itself a :class:`~robustsnn.classifier.TextClassifier`, so
attacks, the verdict over draws and the contract checks see no difference. It keeps
the classifier it wraps as ``base`` (which already carries its spike encoding, so a
defense composes with every noise mode), exposes the base's torch module as
``model`` and its ``num_classes``, and adds its own name and settings to the base's
``describe()`` for result records.

A defense that draws at random as deployed (SAFER) sets ``randomized = True``, here and
on its builder (see :mod:`robustsnn.defenses`): the harness then gives its cells a noise
mode and judges it by its majority over fresh draws, as it judges the Poisson SNN.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..classifier import TextClassifier, check_texts
from ..errors import UserError


class DefendedClassifier:
    """Override :meth:`transform` (text in, text out) or :meth:`predict_checked`."""

    # Whether its answers vary between calls as deployed (random draws of its own): a
    # deterministic wrapper (FGWS) keeps False. See the module docstring.
    randomized: bool = False

    def __init__(self, base: TextClassifier, name: str, settings: Mapping[str, Any] | None = None,
                 reference: str = "") -> None:
        if not isinstance(base, TextClassifier):
            raise UserError(f"defense '{name}' needs a TextClassifier to wrap, got {type(base).__name__}")
        self.base = base
        self.name = name
        self.settings = dict(settings or {})
        self.reference = reference

    @property
    def model(self) -> Any:
        """The base's torch module (TextAttack reads it), or None."""
        return getattr(self.base, "model", None)

    @property
    def num_classes(self) -> int:
        return int(self.base.num_classes)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.num_classes))
        return self.predict_checked(texts)

    def predict_checked(self, texts: list[str]) -> np.ndarray:
        """Probability rows for ``texts`` (already checked: a list of non-empty strings)."""
        return np.asarray(self.base.predict_proba(self.transform(texts)), dtype=np.float64)

    def transform(self, texts: list[str]) -> list[str]:
        """What the base classifier is given instead of ``texts`` (default: unchanged)."""
        return texts

    def describe(self) -> dict[str, Any]:
        described = dict(self.base.describe())
        inner = described.pop("defense", None)  # a defense over a defense keeps both
        own: dict[str, Any] = {"name": self.name, **self.settings}
        if self.reference:
            own["reference"] = self.reference
        if inner is not None:
            own["inner"] = inner
        return {**described, "defense": own}
