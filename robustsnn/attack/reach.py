"""Only the words a model reads may be modified (``threat.model_reach``).

The networks pad or truncate every text to ``max_len`` tokens (the shipped recipes:
25 for SST-2, 32 for the Chinese datasets, whose reviews run to hundreds of words). A
word past that point never reaches the network: swapping it cannot change a
deterministic model's output, and changes a stochastic model's only by the noise of a
new draw. A search that scores such words spends most of its queries, and of the
sentence encoder's time, on them (measured on ChnSenti: 95 words, 32 read), and under
fresh draws it can "improve" its score by noise alone and spend its modification budget
there. This pre-transformation constraint leaves them out. The modification rate still
counts every word of the text, and the similarity check still compares whole texts.

Which words are read: word ``i`` (TextAttack's segmentation) is kept when the model's
tokenizer finds fewer than ``max_len + slack`` tokens in the text before it. The slack
(2 tokens) covers segmentations that differ where a prefix is cut (jieba), so a word
the model reads is never left out; at worst one or two unread words stay modifiable.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import UserError
from ..resources.textattack_import import import_textattack

import_textattack()

from textattack.constraints import PreTransformationConstraint  # noqa: E402

SLACK = 2


def model_reader(classifier: Any) -> tuple[Callable[[str], int], int]:
    """``(count_tokens, max_tokens)`` of the network behind ``classifier`` (through any
    defenses around it), or a one-line error when it does not say how much it reads."""
    from ..classifier import wrapped_with

    network = wrapped_with(classifier, "max_tokens")
    if network is None:
        raise UserError(f"threat.model_reach needs a model that says how many tokens it reads (max_tokens, "
                        f"count_tokens); {type(classifier).__name__} does not: set threat.model_reach = false")
    return network.count_tokens, network.max_tokens


def word_offsets(text: str, words: list[str]) -> list[int]:
    """Where each word starts in ``text``, found left to right as TextAttack finds them."""
    lower, cursor, out = text.lower(), 0, []
    for word in words:
        at = lower.find(word.lower(), cursor)
        at = cursor if at < 0 else at
        out.append(at)
        cursor = at + len(word)
    return out


class WithinModelReach(PreTransformationConstraint):
    """Words the model reads (see the module docstring); the rest are not modifiable."""

    def __init__(self, model_wrapper: Any, slack: int = SLACK) -> None:
        super().__init__()
        self.model_wrapper = model_wrapper
        self.slack = slack
        self._reader: tuple[Callable[[str], int], int] | None = None

    def read_words(self, text: str, words: list[str]) -> int:
        """How many leading words of ``text`` the model reads."""
        if self._reader is None:
            self._reader = model_reader(self.model_wrapper.classifier)
        count, max_tokens = self._reader
        if count(text) < max_tokens:  # the whole text fits
            return len(words)
        offsets = word_offsets(text, words)
        lo, hi = 0, len(words)  # the first word whose prefix holds max_tokens + slack tokens
        while lo < hi:
            mid = (lo + hi) // 2
            if count(text[: offsets[mid]]) < max_tokens + self.slack:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _get_modifiable_indices(self, current_text: Any) -> set[int]:
        return set(range(self.read_words(current_text.text, current_text.words)))

    def check_compatibility(self, transformation: Any) -> bool:
        return True

    def extra_repr_keys(self) -> list[str]:
        return ["slack"]
