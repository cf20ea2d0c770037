"""The final verdict over draws for stochastic models (protocol.md).

Poisson input makes the SNN's answer vary from query to query, and TextAttack keeps
the first answer per text. So after the attack, the clean text and the attack's final
text are each re-scored with R fresh draws; the majority class decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Votes:
    label_votes: int  # draws that predicted the true label
    correct: bool  # the majority class (ties -> lowest index) is the true label


def majority_votes(classifier: Any, texts: list[str], label: int, draws: int) -> list[Votes]:
    """Vote ``draws`` fresh predictions for each of ``texts`` (one batched call)."""
    batch = [t for t in texts for _ in range(draws)]
    preds = np.asarray(classifier.predict_proba(batch)).argmax(axis=1).reshape(len(texts), draws)
    out = []
    for row in preds:
        counts = np.bincount(row, minlength=classifier.num_classes)
        out.append(Votes(int(counts[label]), int(counts.argmax()) == label))
    return out
