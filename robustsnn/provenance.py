"""What every result record carries: versions, machine, date, code revision."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("torch", "snntorch", "numpy", "textattack", "transformers", "nltk", "gensim")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_revision() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance() -> dict[str, Any]:
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # What robustsnn.__version__ reads, read here: the package root re-exports
        # robustsnn.api, which imports this module (tests/test_layout.py: no cycle).
        "robustsnn": _version("robustsnn") or "0+unknown",
        "git": git_revision(),
        "python": sys.version.split()[0],
        "versions": {name: v for name in _PACKAGES if (v := _version(name))},
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "command": " ".join(["robustsnn", *sys.argv[1:]]) if sys.argv else None,
    }
