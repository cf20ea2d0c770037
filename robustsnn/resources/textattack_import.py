"""Import TextAttack without its import-time side effects.

What ``import textattack`` (0.3.11) does on its own, read from its source
(``textattack/shared/utils/install.py`` and the modules ``textattack/__init__.py``
imports), and what :func:`import_textattack` does about each:

1. ``_post_install_if_needed()``: unless ``<cache>/post_install_check_3`` exists,
   ``nltk.download`` of averaged_perceptron_tagger, stopwords, omw, universal_tagset,
   wordnet and punkt, and ``stanza.download("en")`` if stanza is installed. Offline
   that prints errors (or hangs on a slow resolver). -> NLTK data is prepared first
   from local files (:mod:`.nltk_data`); the marker file is created in the cache
   TextAttack will use; and for the duration of the import ``nltk.download`` answers
   from local data (a safety net if the marker's name ever changes).
2. ``augmentation/recipes.py`` builds ``StopwordModification()`` at module level,
   which reads the NLTK ``stopwords`` corpus: without it the import itself fails.
   -> the same NLTK preparation.
3. Cache location: ``TEXTATTACK_CACHE_DIR`` is ``$TA_CACHE_DIR`` or
   ``~/.cache/textattack``, fixed at import. -> ``$TA_CACHE_DIR`` when the user set
   it, else ``$ROBUSTSNN_RUNS/cache/textattack``, so nothing lands in the home cache.
4. When ``TA_CACHE_DIR`` is set, ``set_cache_dir`` rewrites ``HF_HOME``,
   ``PYTORCH_TRANSFORMERS_CACHE``, ``TFHUB_CACHE_DIR`` and ``XDG_CACHE_HOME`` for the
   whole process; it also sets ``TOKENIZERS_PARALLELISM``, and ``gpt2.py`` sets
   ``WANDB_SILENT``. -> ``os.environ`` is restored exactly after the import. Hugging
   Face libraries freeze their cache paths from the environment when first imported,
   so transformers/datasets are imported BEFORE the temporary change: masked LMs
   are still looked up in the user's own Hugging Face cache. (Variables that
   dependencies set while being imported, such as scikit-learn's ``KMP_*``, are
   restored too: the contract is that ``os.environ`` is left exactly as found.)

Use TextAttack only through :func:`import_textattack`; code that imports it directly
gets the side effects back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Iterator

from ..paths import cache_dir

# textattack 0.3.11: shared/utils/install.py, path_in_cache("post_install_check_3").
POST_INSTALL_MARKER = "post_install_check_3"

_LOCK = threading.Lock()
_READY = False  # NLTK prepared and textattack imported in this process


def textattack_cache_dir() -> Path:
    """Where TextAttack keeps downloads: ``$TA_CACHE_DIR``, else ``runs/cache/textattack``."""
    value = os.environ.get("TA_CACHE_DIR", "").strip()
    return Path(value).expanduser() if value else cache_dir() / "textattack"


@contextlib.contextmanager
def restored_environ() -> Iterator[None]:
    """Undo, on exit, every change made to ``os.environ`` inside the block."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k not in before]:
            del os.environ[key]
        for key, value in before.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


@contextlib.contextmanager
def nltk_downloads_offline() -> Iterator[list[str]]:
    """Inside the block ``nltk.download`` never reaches the network: it answers from
    the local NLTK data. Yields the list of ids that were asked for."""
    import nltk

    from .nltk_data import REQUIRED, find_resource, offline_download

    asked: list[str] = []
    answer = offline_download(lambda package: package in REQUIRED and find_resource(REQUIRED[package]))

    def recording(info_or_id: object = None, *args: object, **kwargs: object) -> bool:
        asked.append(str(info_or_id))
        return answer(info_or_id)

    original = nltk.download
    nltk.download = recording
    try:
        yield asked
    finally:
        nltk.download = original


def import_textattack() -> ModuleType:
    """The ``textattack`` module, imported offline and without lasting side effects.

    The first call prepares the NLTK data (:func:`robustsnn.resources.nltk_data.setup_nltk`),
    also when something else imported textattack already; later calls return at once.
    """
    global _READY
    from .nltk_data import setup_nltk

    with _LOCK:
        if _READY:
            return sys.modules["textattack"]
        with restored_environ():  # importing nltk imports scikit-learn, which sets KMP_*
            setup_nltk()
        if "textattack" not in sys.modules:
            _import_quietly()
        _READY = True
        return sys.modules["textattack"]


def _import_quietly() -> None:
    import importlib.util

    from ..errors import UserError

    if importlib.util.find_spec("textattack") is None:
        raise UserError("the attacks need TextAttack: pip install -e '.[attack]' "
                        "(after torch==2.13.0)")
    ta_cache = textattack_cache_dir()
    ta_cache.mkdir(parents=True, exist_ok=True)
    (ta_cache / POST_INSTALL_MARKER).touch()
    with restored_environ(), warnings.catch_warnings():
        # jieba (imported by textattack) warns that pkg_resources is deprecated.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        # Freeze the Hugging Face cache paths from the user's environment first.
        import datasets  # noqa: F401
        import transformers  # noqa: F401

        with nltk_downloads_offline():
            os.environ["TA_CACHE_DIR"] = str(ta_cache)
            import textattack  # noqa: F401
