"""Where robustsnn finds data, offline resources and its own run artefacts.

Everything is resolved from environment variables at call time (never at import),
so tests and CI can point the package at ``../shared`` without touching globals.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "ROBUSTSNN_DATA"
RESOURCES_ENV = "ROBUSTSNN_RESOURCES"
RUNS_ENV = "ROBUSTSNN_RUNS"
RESULTS_ENV = "ROBUSTSNN_RESULTS"


def _from_env(name: str, default: str) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value or default).expanduser().resolve()


def data_dir() -> Path:
    """Root of the dataset folders (``$ROBUSTSNN_DATA``, default ``./data``)."""
    return _from_env(DATA_ENV, "data")


def resources_dir() -> Path:
    """Root of the offline resources (``$ROBUSTSNN_RESOURCES``, default ``./resources``)."""
    return _from_env(RESOURCES_ENV, "resources")


def runs_dir() -> Path:
    """Root of checkpoints, caches and logs (``$ROBUSTSNN_RUNS``, default ``./runs``)."""
    return _from_env(RUNS_ENV, "runs")


def results_dir() -> Path:
    """Generated tables and run records (``$ROBUSTSNN_RESULTS``, default ``./results``)."""
    return _from_env(RESULTS_ENV, "results")


def cache_dir() -> Path:
    """Derived, rebuildable artefacts (trained word2vec, counter-fitted vectors...)."""
    return runs_dir() / "cache"


def portable_path(path: str | os.PathLike[str]) -> str:
    """``path`` as records store it, never one machine's absolute path: relative to
    ``$ROBUSTSNN_RUNS`` when it lies there, else relative to the working directory (the
    repository, for a checkout) when it lies there, else ``<outside>/<file name>``. The
    record's ``checkpoint_sha256`` says which file it was wherever it lies."""
    resolved = Path(path).resolve()
    for root in (runs_dir(), Path.cwd().resolve()):
        try:
            return str(resolved.relative_to(root))
        except ValueError:
            continue
    return f"<outside>/{resolved.name}"
