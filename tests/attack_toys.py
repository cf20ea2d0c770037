"""Small deterministic stand-ins for the attack tests: a keyword sentiment classifier,
a hand-made counter-fitted embedding over its vocabulary, and a tiny random BERT.

The embedding puts each group of near-synonyms on a short line (``base + t * dir``),
so the neighbour order inside a group follows ``|t - t'|`` and is known: e.g. the
neighbours of "good" are fine, decent, nice, mediocre, lame - the first three
positive, the last two negative - which lets a test show that K bounds the search.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from robustsnn.classifier import check_texts

# Groups of near-synonyms: word -> (position t on the group's line, sentiment weight).
GROUPS: list[dict[str, tuple[float, float]]] = [
    {"good": (0.0, 1.0), "fine": (0.1, 0.8), "decent": (0.25, 0.5), "nice": (0.45, 0.7),
     "mediocre": (0.7, -0.6), "lame": (1.0, -1.0)},
    {"great": (0.0, 1.2), "superb": (0.1, 1.1), "terrific": (0.25, 1.0), "grand": (0.45, 0.3),
     "average": (0.7, -0.5)},
    {"bad": (0.0, -1.0), "poor": (0.1, -0.8), "weak": (0.25, -0.6), "lousy": (0.45, -0.9),
     "okay": (0.7, 0.6)},
    {"awful": (0.0, -1.2), "terrible": (0.1, -1.1), "dreadful": (0.25, -1.0),
     "horrible": (0.45, -1.1), "tolerable": (0.7, 0.5)},
    {"dull": (0.0, -0.7), "boring": (0.1, -0.7), "tedious": (0.25, -0.6), "flat": (0.45, -0.2)},
    {"movie": (0.0, 0.0), "film": (0.1, 0.0), "picture": (0.25, 0.0), "flick": (0.45, 0.0)},
    {"plot": (0.0, 0.0), "story": (0.1, 0.0), "script": (0.25, 0.0), "narrative": (0.45, 0.0)},
    {"acting": (0.0, 0.0), "performance": (0.1, 0.0), "cast": (0.25, 0.0)},
]
# All NLTK stopwords, so that no attack touches them.
FILLER = ["the", "a", "was", "is", "and", "but", "with", "this", "very"]
WEIGHTS = {w: weight for group in GROUPS for w, (_, weight) in group.items()}
VOCAB = [w for group in GROUPS for w in group] + FILLER

# (text, label): the classifier's own prediction, so no example is skipped.
SENTENCES = [
    ("the movie was good but the plot was dull", 1),
    ("the acting was bad but the story was okay", 0),
    ("a great film with a decent script", 1),
    ("the picture was terrible but the cast was nice", 0),
    ("this movie is very good and the story is fine", 1),
    ("the plot was dull and the acting was poor", 0),
]


class KeywordClassifier:
    """Sentiment = sigmoid(3 x the sum of the known words' weights); unknown words
    (misspellings, homoglyphs, WordNet synonyms it never saw) count 0. Smooth, so
    score-based searches have a signal; deterministic."""

    num_classes = 2

    def __init__(self) -> None:
        self.batches: list[int] = []  # sizes of the lists it was asked about

    def score(self, text: str) -> float:
        return sum(WEIGHTS.get(w, 0.0) for w in re.findall(r"[a-z]+", text.lower()))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        self.batches.append(len(texts))
        p = 1.0 / (1.0 + np.exp(-3.0 * np.array([self.score(t) for t in texts], dtype=np.float64)))
        return np.stack([1.0 - p, p], axis=1).reshape(len(texts), 2)

    def label(self, text: str) -> int:
        return int(self.predict_proba([text])[0].argmax())

    def describe(self) -> dict[str, Any]:
        return {"model": "keywords"}


def toy_vectors() -> np.ndarray:
    """Unit rows: group g lies on base e_2g plus t * e_2g+1; fillers each on their own axis."""
    dim = 2 * len(GROUPS) + len(FILLER)
    rows = []
    for g, group in enumerate(GROUPS):
        for t, _ in group.values():
            v = np.zeros(dim)
            v[2 * g], v[2 * g + 1] = 1.0, t
            rows.append(v)
    for i in range(len(FILLER)):
        v = np.zeros(dim)
        v[2 * len(GROUPS) + i] = 1.0
        rows.append(v)
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def toy_embedding() -> Any:
    """A counter-fitted-style ``textattack.shared.WordEmbedding`` over :data:`VOCAB`."""
    from robustsnn.resources.components import DescribedWordEmbedding
    from robustsnn.resources.counterfitting import nearest_neighbours

    vectors = toy_vectors()
    nn = nearest_neighbours(vectors, k=len(VOCAB) - 1)
    return DescribedWordEmbedding(vectors, {w: i for i, w in enumerate(VOCAB)}, dict(enumerate(VOCAB)),
                                  nn, "toy counter-fitted vectors", {"source": "toy"})


def make_tiny_bert(folder: Path) -> Path:
    """A random-weight BERT masked LM whose vocabulary is the toy vocabulary."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *VOCAB, "."]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def shared_resources_dir() -> Path | None:
    for c in (os.environ.get("ROBUSTSNN_RESOURCES", ""), str(Path(__file__).parents[2] / "shared" / "resources")):
        if c and (Path(c) / "nltk_data" / "corpora" / "stopwords").is_dir():
            return Path(c).resolve()
    return None


def require_textattack() -> None:
    """Skip the calling test module without the attack extra or the shared resources.

    Not ``pytest.importorskip("textattack")``: a plain import runs TextAttack's
    import-time downloads; it is imported through ``import_textattack`` instead.
    """
    if importlib.util.find_spec("textattack") is None:
        pytest.skip("textattack not installed (pip install -e '.[attack]')", allow_module_level=True)
    if shared_resources_dir() is None:
        pytest.skip("shared/resources not found (set ROBUSTSNN_RESOURCES)", allow_module_level=True)


def textattack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Generator body of a module fixture: TextAttack offline, runs under a temp dir."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ROBUSTSNN_RESOURCES", str(shared_resources_dir()))
    mp.setenv("ROBUSTSNN_RUNS", str(tmp_path_factory.mktemp("runs")))
    mp.setenv("HF_HUB_OFFLINE", "1")
    from robustsnn.resources.offline import import_textattack

    try:
        yield import_textattack()
    finally:
        mp.undo()
