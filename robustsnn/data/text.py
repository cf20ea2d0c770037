"""One tokenizer per language and the vocabulary encoder, shared by training,
evaluation and attacks (the original code preprocessed each differently).

English: lower-cased, PTB-style clitics split off ("it's" -> "it 's", "don't" ->
"do n't") and punctuation separated, which is how GloVe's vocabulary was built.
Chinese: segmented with jieba (imported on first use; it is slow to load).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from ..errors import UserError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
UNK_MARK = "[UNK]"  # TextAttack's placeholder for a removed word

# PTB bracket escapes in SST ("-lrb-"); GloVe has the brackets themselves.
_BRACKETS = {"lrb": " ( ", "rrb": " ) ", "lsb": " [ ", "rsb": " ] ", "lcb": " { ", "rcb": " } "}
_BRACKET_RE = re.compile(r"-(lrb|rrb|lsb|rsb|lcb|rcb)-")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CLITICS = re.compile(r"(?<=\w)(n't|'s|'re|'ve|'ll|'d|'m)(?!\w)")
_TOKEN = re.compile(
    r"""(?:\w\.){2,}           # abbreviations: u.s. e.g.
      | n't | '(?:s|re|ve|ll|d|m)(?!\w)
      | \w+(?:[-'.&/]\w+)*     # words, with inner hyphens/apostrophes/dots kept
      | \.{2,} | -{2,} | `` | ''
      | \S                     # any other single symbol
    """,
    re.VERBOSE,
)


def tokenize_en(text: str) -> list[str]:
    text = text.lower().translate(_QUOTES)
    text = _BRACKET_RE.sub(lambda m: _BRACKETS[m.group(1)], text)
    text = _CLITICS.sub(r" \1", text)
    return _TOKEN.findall(text)


@lru_cache(maxsize=1)
def _jieba() -> object:
    import logging
    import warnings

    with warnings.catch_warnings():  # jieba imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba prints a banner on first use otherwise
    return jieba


def tokenize_zh(text: str) -> list[str]:
    return [tok for tok in _jieba().lcut(text.lower()) if tok.strip()]  # type: ignore[attr-defined]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"en": tokenize_en, "zh": tokenize_zh}

# Texts that exercise each tokenizer's rules (clitics, PTB brackets, quotes, abbreviations,
# compounds, [UNK] marks, punctuation runs); their tokens enter TextEncoder.digest.
_PROBES = {
    "en": "It's the U.S. -lrb- \u201cgroan-to-guffaw\u201d -rrb- film ... you don't [UNK] want -- ok?!",
    "zh": ("\u8fd9\u90e8\u7535\u5f71\u771f\u7684\u5f88\u597d\u770b\uff0c"
           "\u5916\u5356\u5374\u592a\u6162\u4e86\uff01 [UNK] OK"),
}


def get_tokenizer(language: str) -> Callable[[str], list[str]]:
    try:
        return TOKENIZERS[language]
    except KeyError:
        raise UserError(f"no tokenizer for language '{language}' (choices: en, zh)") from None


class TextEncoder:
    """Maps raw texts to fixed-length id rows over a fixed vocabulary.

    Index 0 is padding, 1 the single UNK. A hyphenated compound missing from the
    vocabulary falls back to its parts ("groan-to-guffaw" -> groan - to - guffaw),
    so compounds still get pre-trained vectors.
    """

    def __init__(self, vocab: Sequence[str], language: str, max_len: int):
        if len(vocab) < 2 or vocab[PAD_ID] != PAD or vocab[UNK_ID] != UNK:
            raise ValueError("vocabulary must start with <pad>, <unk>")
        self.vocab = list(vocab)
        self.index = {word: i for i, word in enumerate(self.vocab)}
        self.language = language
        self.max_len = max_len
        self.tokenize = get_tokenizer(language)

    def __len__(self) -> int:
        return len(self.vocab)

    def digest(self) -> str:
        """sha256 of what turns a text into ids: the language, ``max_len``, the vocabulary
        and the ids this encoder gives a fixed probe text (so a change in the tokenizer's
        behaviour changes the digest, while a comment in its code does not)."""
        import hashlib

        probe = _PROBES[self.language]
        parts = [self.language, str(self.max_len), "\n".join(self.vocab), " ".join(self.tokens(probe)),
                 " ".join(map(str, self.token_ids(probe)))]
        return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()

    def token_ids(self, text: str) -> list[int]:
        """Ids of every token of ``text`` (not padded or truncated).

        The literal ``[UNK]`` (which word-saliency searches such as PWWS and BERT-Attack
        put in place of a word) is the unknown token, not the three tokens ``[ unk ]``.
        """
        return [i for _, i in self.pieces(text)]

    def tokens(self, text: str) -> list[str]:
        """The token strings behind :meth:`token_ids`, one per id (attacks align words
        with them to read per-token gradients)."""
        return [tok for tok, _ in self.pieces(text)]

    def pieces(self, text: str) -> list[tuple[str, int]]:
        """``(token, id)`` for every token of ``text``."""
        if UNK_MARK in text:
            out: list[tuple[str, int]] = []
            for i, piece in enumerate(text.split(UNK_MARK)):
                if i:
                    out.append((UNK_MARK, UNK_ID))
                out.extend(self.pieces(piece))
            return out
        out = []
        get = self.index.get
        for tok in self.tokenize(text):
            i = get(tok)
            if i is None and "-" in tok.strip("-"):
                out.extend((p, get(p, UNK_ID)) for p in re.split(r"(-)", tok) if p)
            else:
                out.append((tok, UNK_ID if i is None else i))
        return out

    def encode_ids(self, texts: Iterable[str]) -> list[list[int]]:
        """Padded/truncated id rows; an empty text is an error (it has no words to classify)."""
        rows = []
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise UserError(f"cannot classify an empty text: {text!r}")
            ids = self.token_ids(text)[: self.max_len]
            rows.append(ids + [PAD_ID] * (self.max_len - len(ids)))
        return rows

    def encode(self, texts: Iterable[str]) -> torch.Tensor:  # noqa: F821
        import torch

        return torch.tensor(self.encode_ids(texts), dtype=torch.long)

    def coverage(self, texts: Iterable[str]) -> float:
        """Share of tokens (before truncation) that have their own vector."""
        total = known = 0
        for text in texts:
            ids = self.token_ids(text)
            total += len(ids)
            known += sum(1 for i in ids if i != UNK_ID)
        return known / total if total else 0.0
