"""An example robustsnn plugin: a defense that lives outside robustsnn.

``StripPunctuation`` removes punctuation before the wrapped classifier sees the
text (a character-level attack's inserted dots and dashes, for example, do not
reach the model). Apostrophes and hyphens inside words stay (``it's``,
``well-made``), and so does the ``[UNK]`` placeholder that word-saliency attacks
use for a removed word. A text that is nothing but punctuation is passed on as it is.

The class itself is the builder the entry point names: calling it with
``(classifier, context)`` returns the defended classifier.
"""

from __future__ import annotations

import re
import unicodedata

from robustsnn.classifier import TextClassifier
from robustsnn.defenses import DefendedClassifier, DefenseContext

PLACEHOLDER = "[UNK]"
_KEEP_INSIDE_WORDS = re.compile(r"(?<=\w)['\-](?=\w)")


def strip_punctuation(text: str) -> str:
    """``text`` without punctuation, whitespace collapsed; '' if nothing else is left."""
    pieces = []
    for piece in text.split(PLACEHOLDER):
        protected = _KEEP_INSIDE_WORDS.sub(lambda m: "\0" if m.group() == "'" else "\1", piece)
        kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in protected)
        pieces.append(" ".join(kept.replace("\0", "'").replace("\1", "-").split()))
    return " ".join(f" {PLACEHOLDER} ".join(pieces).split())


class StripPunctuation(DefendedClassifier):
    """Strip punctuation before classifying (robustsnn example plugin)."""

    def __init__(self, base: TextClassifier, context: DefenseContext) -> None:
        super().__init__(base, "strip-punctuation", {"keeps": "in-word apostrophes and hyphens, [UNK]"})

    def transform(self, texts: list[str]) -> list[str]:
        return [strip_punctuation(text) or text for text in texts]
