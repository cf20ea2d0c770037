"""Executable contracts for plugin authors: :func:`check_model` and :func:`check_defense`.

Like scikit-learn's ``check_estimator``: call them in your own tests; they return the
names of the checks that passed and raise :class:`ContractError` (an
``AssertionError``, so pytest reports it as a failure) naming the first check that
failed. Nothing here needs the benchmark datasets or the attack resources: by
default a defense is checked around :class:`ToyClassifier` with
:func:`toy_context` (a made-up training set, counter-fitted-style vectors, stopwords
and WordNet-style synonyms over a forty-word vocabulary)::

    from robustsnn.testing import check_defense, check_model

    check_defense("my-defense")        # a registered name, or the builder itself
    check_model(my_classifier)         # any TextClassifier
    check_model("snn", dataset="sst2", checkpoint="runs/sst2/snn/converted-none.pt")

What every classifier must do (what attacks and result records rely on): probability
rows of shape ``[n, num_classes]``, finite, non-negative, each summing to 1; in
deterministic modes the same answer whatever the batching and whatever was asked
before; a :class:`~robustsnn.errors.UserError` for an empty text, a non-string or a
bare string instead of a list; a ``describe()`` dict that JSON can store.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .checks import is_int
from .classifier import TextClassifier, check_texts
from .errors import UserError

if TYPE_CHECKING:
    from .defenses.context import DefenseContext

__all__ = ["ContractError", "check_model", "check_defense", "ToyClassifier", "ToyEmbedding",
           "toy_context", "TEXTS"]

# TextAttack takes rows as probabilities only when each sums to 1 within 1e-6.
ROW_SUM_TOLERANCE = 1e-6
# Deterministic answers may differ by float rounding when a batch is split differently.
SAME_ANSWER_TOLERANCE = 1e-5

TEXTS = (
    "the movie was good but the plot was dull",
    "a superb film with a decent script",
    "the acting was terrible",
    "this flick is boring and the story is weak",
    "Great cast , lousy picture .",
)
OTHER_TEXTS = ("the performance was nice", "an awful , tedious story", "a fine film")


class ContractError(AssertionError):
    """A classifier or defense broke the contract; the message names the check."""


def _fail(check: str, detail: str) -> None:
    raise ContractError(f"{check}: {detail}")


# ---------------------------------------------------------------------- checks


def _rows(classifier: TextClassifier, texts: Sequence[str], check: str) -> np.ndarray:
    try:
        out = np.asarray(classifier.predict_proba(list(texts)), dtype=np.float64)
    except UserError as exc:
        _fail(check, f"predict_proba refused valid texts: {exc}")
    n, c = len(texts), int(classifier.num_classes)
    if out.shape != (n, c):
        _fail("probabilities", f"predict_proba returned shape {out.shape} for {n} texts, "
                               f"expected ({n}, {c})")
    if not np.isfinite(out).all():
        _fail("probabilities", "predict_proba returned non-finite values")
    if (out < 0).any():
        _fail("probabilities", f"predict_proba returned negative values (min {out.min():.3g})")
    sums = out.sum(axis=1)
    worst = float(np.abs(sums - 1.0).max()) if n else 0.0
    if worst > ROW_SUM_TOLERANCE:
        _fail("probabilities", f"rows must sum to 1; a row sums to "
                               f"{float(sums[np.argmax(np.abs(sums - 1.0))]):.6g}")
    return out


def _same(check: str, a: np.ndarray, b: np.ndarray, what: str) -> None:
    diff = float(np.abs(a - b).max()) if a.size else 0.0
    if diff > SAME_ANSWER_TOLERANCE:
        _fail(check, f"{what} (largest difference {diff:.3g})")


def _check_interface(classifier: Any) -> None:
    if not isinstance(classifier, TextClassifier):
        _fail("interface", f"{type(classifier).__name__} is not a TextClassifier "
                           "(needs num_classes, predict_proba(texts), describe())")
    n = classifier.num_classes
    if not (is_int(n) or isinstance(n, np.integer)) or n < 2:
        _fail("interface", f"num_classes must be an integer >= 2, got {n!r}")


def _check_bad_input(classifier: TextClassifier, text: str) -> None:
    cases: list[tuple[str, Any]] = [
        ("an empty text", [""]), ("a blank text", ["   "]),
        ("a non-string", [text, 3]), ("a bare string instead of a list", text),
    ]
    for what, value in cases:
        try:
            classifier.predict_proba(value)
        except UserError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other type breaks the contract
            _fail("bad input", f"{what} raised {type(exc).__name__} ({exc}), not robustsnn.errors.UserError")
        _fail("bad input", f"{what} was accepted; it must raise robustsnn.errors.UserError")


def _check_describe(classifier: TextClassifier) -> dict[str, Any]:
    described = classifier.describe()
    if not isinstance(described, dict) or not all(isinstance(k, str) for k in described):
        _fail("describe", f"describe() must return a dict with str keys, got {type(described).__name__}")
    try:
        json.dumps(described)
    except (TypeError, ValueError) as exc:
        _fail("describe", f"describe() must be JSON-serialisable for result records ({exc})")
    return described


def _check_classifier(classifier: Any, texts: Sequence[str], deterministic: bool) -> list[str]:
    texts = check_texts(texts)
    if len(texts) < 2:
        raise UserError("contract checks need at least two texts")
    _check_interface(classifier)
    first = _rows(classifier, texts, "probabilities")
    passed = ["interface", "probabilities"]
    if deterministic:
        singles = np.concatenate([_rows(classifier, [t], "batch invariance") for t in texts])
        _same("batch invariance", first, singles, "one batch and one text at a time answer differently")
        _same("repeatability", first, _rows(classifier, texts, "repeatability"),
              "the same texts asked twice answer differently")
        _rows(classifier, [*OTHER_TEXTS, *reversed(texts)], "no state leak")
        _same("no state leak", first, _rows(classifier, texts, "no state leak"),
              "an unrelated call in between changed the answer")
        passed += ["batch invariance", "repeatability", "no state leak"]
    _check_bad_input(classifier, texts[0])
    _check_describe(classifier)
    return passed + ["bad input", "describe"]


def check_model(model: Any, texts: Sequence[str] | None = None, *, dataset: str = "sst2",
                checkpoint: str | Path | None = None, seed: int = 0,
                deterministic: bool | None = None) -> list[str]:
    """Check a classifier, or a model entry (a registered name or an object with
    ``stochastic`` and ``load(dataset, checkpoint, encoding)``), against the contract.

    A classifier counts as deterministic unless ``deterministic=False`` (a stochastic
    one gets every check that does not compare answers). A stochastic entry is loaded
    twice: with the frozen encoding (``seed``), checked as deterministic, and with
    fresh draws, checked as stochastic. Returns the names of the checks passed.
    """
    texts = TEXTS if texts is None else texts
    if isinstance(model, str):
        from .zoo import MODELS

        model = MODELS.get(model)
    if hasattr(model, "load") and hasattr(model, "stochastic") and not isinstance(model, TextClassifier):
        if not model.stochastic:
            return _check_classifier(model.load(dataset, checkpoint, None), texts, True)
        from .models.encoding import Encoding

        passed = _check_classifier(model.load(dataset, checkpoint, Encoding("frozen", seed=seed)), texts, True)
        _check_classifier(model.load(dataset, checkpoint, Encoding("fresh")), texts, False)
        return passed
    return _check_classifier(model, texts, True if deterministic is None else deterministic)


def check_defense(defense: Any, *, base: TextClassifier | None = None,
                  context: DefenseContext | None = None, texts: Sequence[str] | None = None,
                  deterministic: bool | None = None) -> list[str]:
    """Check a defense (a registered name or a builder) against the contract.

    It is built around ``base`` (default :class:`ToyClassifier`) with ``context``
    (default :func:`toy_context`); the defended classifier must keep ``base`` as
    ``.base``, share its ``num_classes`` and ``model``, name itself in ``describe()``
    and pass :func:`check_model`; a second build from the same context must answer
    the same (a defense is a function of the seed and its input, not of global state).
    ``deterministic`` defaults to whether ``base`` is (ToyClassifier: yes).

    A randomized defense (its builder's ``randomized = True``; see
    :mod:`robustsnn.defenses`) is checked in its frozen form as above (``context``'s mode,
    frozen by default), and also built with noise ``fresh``: the classifier must say
    ``randomized = True``, and its fresh draws must come from the global RNGs the harness
    seeds (``random``, ``numpy.random``, ``torch``), so that the same seeds give the same
    answers (``randomized``).
    """
    name = None
    if isinstance(defense, str):
        from .defenses import DEFENSES

        name, defense = defense, DEFENSES.get(defense)
    if not callable(defense):
        raise UserError(f"a defense is a builder (classifier, context) -> classifier, got {defense!r}")
    base = base if base is not None else ToyClassifier()
    context = context if context is not None else toy_context()
    texts = TEXTS if texts is None else texts
    defended = defense(base, context)
    _check_interface(defended)
    if getattr(defended, "base", None) is not base:
        _fail("wrapper", "the defended classifier must keep the wrapped one as .base")
    if int(defended.num_classes) != int(base.num_classes):
        _fail("wrapper", f"num_classes {defended.num_classes} differs from the base's {base.num_classes}")
    if getattr(defended, "model", None) is not getattr(base, "model", None):
        _fail("wrapper", "the defended classifier must expose the base's .model (None if it has none)")
    own = _check_describe(defended).get("defense")
    if not isinstance(own, dict) or not isinstance(own.get("name"), str) or not own["name"]:
        _fail("describe", 'describe() must hold {"defense": {"name": ..., <settings>}}')
    if name is not None and own["name"] != name:
        _fail("describe", f"describe() names the defense '{own['name']}', registered as '{name}'")
    det = True if deterministic is None else deterministic
    passed = ["wrapper", *_check_classifier(defended, texts, det)]
    if det:
        again = defense(base, context)
        _same("rebuild", _rows(defended, texts, "rebuild"), _rows(again, texts, "rebuild"),
              "a second build from the same context answers differently")
        passed.append("rebuild")
    if getattr(defense, "randomized", False):
        passed.append(_check_randomized(defense, base, context, texts))
    elif getattr(defended, "randomized", False):
        _fail("randomized", "the defended classifier says randomized = True but its builder does not")
    return passed


def _check_randomized(defense: Any, base: TextClassifier, context: DefenseContext, texts: Sequence[str]) -> str:
    """A randomized defense built with fresh draws answers alike under the same global seeds."""
    import random
    from dataclasses import replace

    def seeded(seed: int) -> np.ndarray:
        import torch

        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        return _rows(fresh, texts, "randomized")

    fresh = defense(base, replace(context, noise="fresh"))
    if not getattr(fresh, "randomized", False):
        _fail("randomized", "the builder says randomized = True but the classifier it built does not")
    _same("randomized", seeded(0), seeded(0),
          "fresh draws differ under the same seeds of random, numpy.random and torch (draw from those)")
    return "randomized"


# ---------------------------------------------------------------------- toys

# Near-synonym groups, most frequent first: word -> sentiment weight.
TOY_GROUPS: tuple[dict[str, float], ...] = (
    {"good": 1.0, "fine": 0.8, "decent": 0.5, "nice": 0.7},
    {"great": 1.2, "superb": 1.1, "terrific": 1.0, "brilliant": 1.1},
    {"bad": -1.0, "poor": -0.8, "weak": -0.6, "lousy": -0.9},
    {"awful": -1.2, "terrible": -1.1, "dreadful": -1.0, "horrible": -1.1},
    {"dull": -0.7, "boring": -0.7, "tedious": -0.6},
    {"movie": 0.0, "film": 0.0, "picture": 0.0, "flick": 0.0},
    {"plot": 0.0, "story": 0.0, "script": 0.0},
    {"acting": 0.0, "performance": 0.0, "cast": 0.0},
)
TOY_STOPWORDS = frozenset({"the", "a", "an", "was", "is", "and", "but", "with", "this"})
# WordNet stand-in: synonyms the vectors do not know ("cinema" has no vector).
TOY_WORDNET = {"superb": ("excellent", "great"), "cinema": ("movie", "film"), "flick": ("movie",)}


class ToyClassifier:
    """Deterministic keyword sentiment: sigmoid(2 x the summed weights of known words)."""

    num_classes = 2

    def __init__(self) -> None:
        self.weights = {w: v for group in TOY_GROUPS for w, v in group.items()}

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        scores = [sum(self.weights.get(w, 0.0) for w in re.findall(r"[a-z]+", t.lower())) for t in texts]
        p = 1.0 / (1.0 + np.exp(-2.0 * np.asarray(scores, dtype=np.float64)))
        return np.stack([1.0 - p, p], axis=1).reshape(len(texts), 2)

    def describe(self) -> dict[str, Any]:
        return {"model": "toy-keywords"}


class ToyEmbedding:
    """Counter-fitted-style vectors over the toy words: group g lies on ``e_2g + t e_2g+1``
    (t = 0, 0.15, 0.3, ... in group order), so neighbours are the word's own group,
    nearest first, all with cosine > 0.8; other groups are orthogonal."""

    def __init__(self) -> None:
        self.words = [w for group in TOY_GROUPS for w in group]
        rows = []
        for g, group in enumerate(TOY_GROUPS):
            for rank in range(len(group)):
                v = np.zeros(2 * len(TOY_GROUPS))
                v[2 * g], v[2 * g + 1] = 1.0, 0.15 * rank
                rows.append(v / np.linalg.norm(v))
        self.embedding_matrix = np.array(rows)
        self._index = {w: i for i, w in enumerate(self.words)}

    def word2index(self, word: str) -> int:
        return self._index[word]  # KeyError when unknown, as TextAttack's

    def index2word(self, index: int) -> str:
        return self.words[index]

    def nearest_neighbours(self, index: int, topn: int) -> list[int]:
        sims = self.embedding_matrix @ self.embedding_matrix[index]
        order = [int(j) for j in np.argsort(-sims, kind="stable") if j != index]
        return order[:topn]

    def describe(self) -> str:
        return f"toy counter-fitted vectors ({len(self.words)} words)"


def toy_training_set() -> tuple[list[str], list[int]]:
    """Word frequencies 8, 4, 2, 1 down each group (so FGWS has rare words to replace)."""
    texts, labels = [], []
    for group in TOY_GROUPS:
        for rank, (word, weight) in enumerate(group.items()):
            for _ in range(2 ** max(3 - rank, 0)):
                texts.append(f"the {word}")
                labels.append(int(weight >= 0))
    return texts, labels


def toy_context(seed: int = 0, **overrides: Any) -> DefenseContext:
    """A :class:`~robustsnn.defenses.DefenseContext` over the toy world (no files read)."""
    from .defenses.context import DefenseContext

    settings: dict[str, Any] = {
        "dataset": "toy", "seed": seed, "language": "en", "train": toy_training_set(),
        "embedding": ToyEmbedding(), "stopwords": TOY_STOPWORDS,
        "wordnet": lambda word: TOY_WORDNET.get(word, ()),
    }
    settings.update(overrides)
    return DefenseContext(**settings)

