"""Nearest neighbours in counter-fitted vector space, with their cosine similarity.

Reads any embedding shaped like ``textattack.shared.WordEmbedding`` (see
:class:`~robustsnn.defenses.context.DefenseContext`), so defenses never import
TextAttack themselves. Lookups are memoised per word: a defense asks about the same
few thousand words millions of times during an attack.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Neighbours:
    """``neighbours(word)``: up to ``k`` nearest words with cosine >= ``min_similarity``,
    nearest first (the word itself excluded; unknown words have none)."""

    def __init__(self, embedding: Any, k: int, min_similarity: float) -> None:
        self.embedding = embedding
        self.k = k
        self.min_similarity = min_similarity
        self._memo: dict[str, tuple[str, ...]] = {}

    def _unit(self, index: int) -> np.ndarray:
        row = np.asarray(self.embedding.embedding_matrix[index], dtype=np.float64)
        norm = np.linalg.norm(row)
        return row / norm if norm > 0 else row

    def _lookup(self, word: str) -> tuple[str, ...]:
        try:
            index = int(self.embedding.word2index(word))
        except KeyError:
            return ()
        vector = self._unit(index)
        out = []
        for j in self.embedding.nearest_neighbours(index, self.k):
            j = int(j)
            if j != index and float(self._unit(j) @ vector) >= self.min_similarity:
                out.append(str(self.embedding.index2word(j)))
        return tuple(out)

    def __call__(self, word: str) -> tuple[str, ...]:
        found = self._memo.get(word)
        if found is None:
            found = self._memo[word] = self._lookup(word)
        return found


def describe_embedding(embedding: Any) -> str:
    """The vectors' own one-line description (for result records), else their type."""
    describe = getattr(embedding, "describe", None)
    return describe() if callable(describe) else type(embedding).__name__
