"""What a defense may know besides the classifier it wraps: :class:`DefenseContext`.

A defense is built once per campaign cell from the dataset name, the campaign seed
and the cell's noise mode (which a randomized defense draws by; see
:func:`robustsnn.noise.defense_draws`). Everything it may read beyond that - the training split, the dataset's
tokenizer, the counter-fitted vectors, stopwords, WordNet - comes through the
context, loaded on first use and kept for the context's lifetime. Each of these can
be injected instead (a test or a plugin author's toy context needs no dataset, no
NLTK data and no vectors on disk).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..checks import require_nonnegative_int
from ..errors import UserError

# NLTK's stopword list per dataset language.
_STOPWORD_LISTS = {"en": "english", "zh": "chinese"}
# Neighbours loaded per word when a defense asks for none in particular (the cache
# built for the attacks holds 100).
DEFAULT_NEIGHBOURS = 100

SynonymSource = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class DefenseContext:
    """The dataset, seed and resources a defense is built with.

    ``language``: "" means the dataset's (from its registry entry; a dataset the
    registry does not know needs it given). Injectable resources (``None`` = load the
    real one on first use):

    * ``train``: the training split as a :class:`~robustsnn.data.tsv.Split` or a
      ``(texts, labels)`` pair (default: ``load_dataset(dataset).train``, the same
      default dev carve-out the recipes use);
    * ``embedding``: counter-fitted vectors with ``word2index(word)`` (KeyError when
      absent), ``index2word(i)``, ``nearest_neighbours(i, n)`` and ``embedding_matrix``
      - a ``textattack.shared.WordEmbedding`` or anything shaped like one (default:
      :func:`robustsnn.resources.offline.counterfitted_embedding`, English only);
    * ``stopwords``: a set of words (default: NLTK's list for the language);
    * ``wordnet``: ``word -> synonyms`` (default: NLTK WordNet 3.0, English only).

    ``noise``: the cell's noise mode (a spelling such as ``"fresh"`` or ``"mean-20"``, or
    an :class:`~robustsnn.models.encoding.Encoding`). A defense that declares
    ``randomized = True`` draws as :attr:`draws` says; others ignore it. The default,
    ``frozen``, keeps a defense built outside a campaign a deterministic function of its
    input.
    """

    dataset: str
    seed: int = 0
    language: str = ""
    train: Any = None
    embedding: Any = None
    stopwords: frozenset[str] | None = None
    wordnet: SynonymSource | None = None
    noise: Any = "frozen"
    _loaded: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise UserError(f"defense context needs a dataset name, got {self.dataset!r}")
        require_nonnegative_int("defense seed", self.seed)
        if not self.language:
            from ..data.registry import get_dataset_spec

            object.__setattr__(self, "language", get_dataset_spec(self.dataset).language)
        if self.stopwords is not None:
            object.__setattr__(self, "stopwords", frozenset(self.stopwords))
        from ..noise import canonical

        # One spelling (an Encoding's str() is its mode's), checked here so that a bad mode
        # is refused when the context is made, not when the defense first draws.
        object.__setattr__(self, "noise", canonical(str(self.noise)))

    @property
    def draws(self) -> Any:
        """How a randomized defense draws under :attr:`noise`: a
        :class:`robustsnn.noise.NoiseMode`, ``fresh``, ``frozen`` or ``mean-<k>``
        (:func:`robustsnn.noise.defense_draws`)."""
        from ..noise import defense_draws

        return defense_draws(self.noise)

    def _once(self, key: str, load: Callable[[], Any]) -> Any:
        """Load a resource on first use; the context is frozen, its cache is not."""
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]

    # ------------------------------------------------------------------ data

    def _training(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        def load() -> tuple[tuple[str, ...], tuple[int, ...]]:
            if self.train is None:
                from ..data.tsv import load_dataset

                split = load_dataset(self.dataset).train
                return tuple(split.texts), tuple(split.labels)
            if hasattr(self.train, "texts") and hasattr(self.train, "labels"):
                return tuple(self.train.texts), tuple(self.train.labels)
            try:
                texts, labels = self.train
            except (TypeError, ValueError):
                raise UserError("DefenseContext.train must be a Split or a (texts, labels) pair") from None
            texts, labels = tuple(texts), tuple(labels)
            if len(texts) != len(labels) or not all(isinstance(t, str) for t in texts):
                raise UserError("DefenseContext.train needs as many labels as texts, and texts as str")
            return texts, labels

        return self._once("train", load)

    @property
    def train_texts(self) -> tuple[str, ...]:
        return self._training()[0]

    @property
    def train_labels(self) -> tuple[int, ...]:
        return self._training()[1]

    @property
    def tokenizer(self) -> Callable[[str], list[str]]:
        """The dataset's tokenizer: the one its models were trained with."""
        from ..data.text import get_tokenizer

        return get_tokenizer(self.language)

    def word_counts(self) -> Counter[str]:
        """Token frequencies over the training split, tokenized as the models see it."""
        def count() -> Counter[str]:
            tokenize = self.tokenizer
            return Counter(tok for text in self.train_texts for tok in tokenize(text))

        return self._once("word_counts", count)

    # ------------------------------------------------------------------ resources

    def counterfitted(self, k: int = DEFAULT_NEIGHBOURS) -> Any:
        """The counter-fitted embedding (see the class docstring for its shape)."""
        if self.embedding is not None:
            return self.embedding

        def load() -> Any:
            if self.language != "en":
                raise UserError(f"no counter-fitted vectors for language '{self.language}' "
                                f"(dataset {self.dataset}); pass DefenseContext(embedding=...)")
            from ..resources.offline import counterfitted_embedding

            return counterfitted_embedding(k)

        return self._once(f"counterfitted-{k}", load)

    def stopword_set(self) -> frozenset[str]:
        if self.stopwords is not None:
            return self.stopwords

        def load() -> frozenset[str]:
            name = _STOPWORD_LISTS.get(self.language)
            if name is None:
                raise UserError(f"no stopword list for language '{self.language}'; "
                                "pass DefenseContext(stopwords=...)")
            from ..resources.offline import setup_nltk

            setup_nltk()
            from nltk.corpus import stopwords

            try:
                return frozenset(w.lower() for w in stopwords.words(name))
            except (LookupError, OSError):
                raise UserError(f"NLTK has no '{name}' stopword list here; "
                                "pass DefenseContext(stopwords=...)") from None

        return self._once("stopwords", load)

    def wordnet_synonyms(self, word: str) -> list[str]:
        """Single-word synonyms of ``word`` (lower case, without ``word``), in WordNet's
        synset order, each once."""
        source = self.wordnet if self.wordnet is not None else self._once("wordnet", self._nltk_wordnet)
        seen: dict[str, None] = {}
        for synonym in source(word):
            synonym = synonym.lower()
            if synonym != word and synonym.isalpha():  # drops multi-word lemmas (a_b, a-b)
                seen.setdefault(synonym)
        return list(seen)

    def _nltk_wordnet(self) -> SynonymSource:
        if self.language != "en":
            raise UserError(f"WordNet is English; no synonym source for language '{self.language}' "
                            f"(dataset {self.dataset}); pass DefenseContext(wordnet=...)")
        from ..resources.offline import setup_nltk

        setup_nltk()
        from nltk.corpus import wordnet

        def lookup(word: str) -> list[str]:
            return [name for synset in wordnet.synsets(word) for name in synset.lemma_names()]

        return lookup
