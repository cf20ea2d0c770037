"""NLTK data that the attack recipes read, found locally and never fetched silently.

TextAttack needs four NLTK packages: ``stopwords`` (read while ``import textattack``
runs, by a module-level ``StopwordModification()``), ``wordnet`` (PWWS), and the
POS tagger ``averaged_perceptron_tagger_eng`` with ``universal_tagset``
(TextFooler's ``PartOfSpeech``). They are looked up, in order, in

1. ``$ROBUSTSNN_RESOURCES/nltk_data`` (the offline copy in shared/resources);
2. the places NLTK already searches (``NLTK_DATA``, ``~/nltk_data``, /usr/share...);
3. ``$ROBUSTSNN_RUNS/cache/nltk_data``, filled by ``nltk.download`` where online.

NLTK >= 3.10 refuses data that another account could have written. A resources
folder with group/world write bits (a checkout made with umask 002, say) is
therefore copied once into the cache and made private (``chmod -R go-w``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Mapping

from ..errors import UserError

# nltk.download id -> the resource path nltk.data.find() resolves.
REQUIRED: Mapping[str, str] = {
    "stopwords": "corpora/stopwords",
    "wordnet": "corpora/wordnet",
    "averaged_perceptron_tagger_eng": "taggers/averaged_perceptron_tagger_eng",
    "universal_tagset": "taggers/universal_tagset",
}

# Packages TextAttack asks nltk.download() for that English attacks do not need:
# omw-1.4 (WordSwapWordNet.__init__; only non-English WordNet), the old pickled
# tagger name, omw and punkt (its post-install step).
OPTIONAL = frozenset({"omw-1.4", "omw", "averaged_perceptron_tagger", "punkt"})


def _not_private(path: Path) -> bool:
    """What NLTK >= 3.10 refuses: owned by another account, or group/world-writable."""
    st = os.lstat(path)
    if st.st_uid not in (os.geteuid(), 0):
        return True
    return bool(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _tree_not_private(root: Path) -> bool:
    if _not_private(root):
        return True
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            if _not_private(Path(current) / name):
                return True
    return False


def make_private(root: Path) -> None:
    """``chmod -R go-w root``: NLTK refuses data that others could have written."""
    for current, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(current) / name
            if not path.is_symlink():
                path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~(stat.S_IWGRP | stat.S_IWOTH))
    root.chmod(stat.S_IMODE(root.stat().st_mode) & ~(stat.S_IWGRP | stat.S_IWOTH))


def readable_root(root: Path, cache: Path) -> Path:
    """``root`` itself if NLTK will read it, else a private copy of it under ``cache``."""
    if not _tree_not_private(root):
        return root
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    copy = cache / f"nltk_data-copy-{digest}"
    if copy.is_dir() and not _tree_not_private(copy):
        return copy
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".nltk_data-", dir=cache))
    try:
        shutil.copytree(root, staging / "data", symlinks=False)
        make_private(staging / "data")
        if copy.exists():
            shutil.rmtree(copy)
        os.replace(staging / "data", copy)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return copy


def find_resource(resource: str, paths: Iterable[str] | None = None) -> bool:
    """Whether NLTK finds ``resource`` (in ``paths``, else on its search path) and will read it."""
    import warnings

    import nltk

    with warnings.catch_warnings():  # NLTK warns once per refused folder; we report ourselves
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            nltk.data.find(resource, paths=None if paths is None else list(paths))
        except (LookupError, PermissionError, OSError):
            return False
    return True


def prepare_nltk(
    resources: Path | None,
    cache: Path,
    search_system: bool = True,
    download: Callable[..., bool] | None = None,
    packages: Mapping[str, str] = REQUIRED,
) -> dict[str, str]:
    """Make every package in ``packages`` findable by NLTK; return package -> where.

    ``where`` is a folder, or ``"system"`` for NLTK's own search path. Folders used
    are put at the front of ``nltk.data.path`` (NLTK's documented mechanism; the
    process environment is left alone). ``download`` defaults to ``nltk.download``
    and is only called for packages found nowhere locally.
    """
    import nltk

    roots: list[Path] = []
    if resources is not None and resources.is_dir():
        roots.append(readable_root(resources, cache))
    download_dir = cache / "nltk_data"
    if download_dir.is_dir():
        roots.append(download_dir)

    found: dict[str, str] = {}
    missing: list[str] = []
    for package, resource in packages.items():
        where = next((str(r) for r in roots if find_resource(resource, [str(r)])), None)
        if where is None and search_system and find_resource(resource, None):
            where = "system"
        if where is None:
            missing.append(package)
        else:
            found[package] = where

    if missing:
        fetch = download if download is not None else nltk.download
        download_dir.mkdir(parents=True, exist_ok=True)
        for package in missing:
            fetch(package, download_dir=str(download_dir), quiet=True, raise_on_error=False)
        make_private(download_dir)
        for package in list(missing):
            if find_resource(packages[package], [str(download_dir)]):
                found[package] = str(download_dir)
                missing.remove(package)
        if download_dir not in roots:
            roots.append(download_dir)
    if missing:
        raise UserError(
            f"NLTK data missing: {', '.join(missing)}; put it under $ROBUSTSNN_RESOURCES/nltk_data "
            f"(see shared/resources/README.md) or, where online, run "
            f"python -m nltk.downloader {' '.join(missing)}"
        )
    for root in reversed(roots):
        if str(root) not in nltk.data.path:
            nltk.data.path.insert(0, str(root))
    return found


def offline_download(available: Callable[[str], bool]) -> Callable[..., bool]:
    """A stand-in for ``nltk.download`` while TextAttack code runs: answers from the
    local data and never touches the network (TextAttack calls it at import and in
    ``WordSwapWordNet.__init__``)."""

    def download(info_or_id: object = None, *args: object, **kwargs: object) -> bool:
        package = str(info_or_id)
        if package in OPTIONAL:
            return False
        return available(package)

    return download


_PREPARED: dict[tuple[str, str], dict[str, str]] = {}


def setup_nltk() -> dict[str, str]:
    """Prepare the NLTK data the attacks need, once per resources/cache location.

    Reads ``$ROBUSTSNN_RESOURCES/nltk_data`` and NLTK's own search path; only what is
    found nowhere is fetched with ``nltk.download`` into ``$ROBUSTSNN_RUNS/cache``
    (which works where online). Returns package -> folder (or ``"system"``).
    """
    import nltk

    from ..paths import cache_dir, resources_dir

    resources = resources_dir() / "nltk_data"
    cache = cache_dir()
    key = (str(resources), str(cache))
    found = _PREPARED.get(key)
    if found is None:
        found = _PREPARED[key] = prepare_nltk(resources, cache)
    for where in found.values():  # someone may have reset nltk.data.path meanwhile
        if where != "system" and where not in nltk.data.path:
            nltk.data.path.insert(0, where)
    return dict(found)
