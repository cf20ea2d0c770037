"""The words of a text that a word-substitution defense may replace, by position.

Defenses edit the text the classifier is given, so they work on character spans of
the original string: every character outside a replaced word stays as it was
(spacing, punctuation, case of the other words). Only plain words are candidates:

* English: runs of letters not joined to other word characters, apostrophes or
  hyphens, so clitics (``n't``, ``'s``), hyphenated compounds and numbers are never
  split or replaced;
* Chinese: the words jieba segments (the dataset's own tokenizer);
* never the ``[UNK]`` placeholder that word-saliency searches (PWWS) put in place of
  a word: it stands for the unknown token and must reach the classifier intact.
"""

from __future__ import annotations

import re
from typing import Mapping

from ..data.text import UNK_MARK

Span = tuple[int, int]

_EN_WORD = re.compile(r"(?<![\w'\u2019-])[^\W\d_]+(?![\w'\u2019-])")


def _placeholder_spans(text: str) -> list[Span]:
    spans, start = [], text.find(UNK_MARK)
    while start >= 0:
        spans.append((start, start + len(UNK_MARK)))
        start = text.find(UNK_MARK, start + 1)
    return spans


def word_spans(text: str, language: str) -> list[Span]:
    """``(start, end)`` of every replaceable word of ``text``, in order."""
    if language == "en":
        spans = [m.span() for m in _EN_WORD.finditer(text)]
    else:
        from ..data.text import _jieba

        spans = [(start, end) for word, start, end in _jieba().tokenize(text)  # type: ignore[attr-defined]
                 if re.fullmatch(r"[^\W\d_]+", word)]
    blocked = _placeholder_spans(text)
    if blocked:
        spans = [s for s in spans if not any(b0 <= s[0] and s[1] <= b1 for b0, b1 in blocked)]
    return spans


def match_case(original: str, replacement: str) -> str:
    """``replacement`` in the case pattern of ``original`` (UPPER, Title or lower)."""
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def replace_spans(text: str, replacements: Mapping[Span, str]) -> str:
    """``text`` with each span replaced (spans must not overlap)."""
    if not replacements:
        return text
    pieces, last = [], 0
    for (start, end), word in sorted(replacements.items()):
        pieces.append(text[last:start])
        pieces.append(word)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)
