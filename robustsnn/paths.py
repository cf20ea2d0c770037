"""Where robustsnn finds data, offline resources, its own run artefacts, and the
experiment recipes and campaigns it ships.

Everything is resolved from environment variables at call time (never at import),
so tests and CI can point the package at ``../shared`` without touching globals.

The experiment recipes (how a model is made) and the attack campaigns (which attacks
against which models) are package data, ``robustsnn/shipped/recipes/<name>.toml`` and
``robustsnn/shipped/campaigns/<name>.toml``, so an installed wheel has them too.
:func:`locate` takes a shipped name (``sst2``, ``paper``) or a file path wherever a
recipe or a campaign is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files as package_files
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable  # importlib.abc.Traversable before 3.11

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


# Where the derived tables lie under the results root, grouped by what produced them
# (results/README.md, written by `robustsnn report index`, lists every one). The writers'
# defaults and the readers (the site) take their paths from here.
PAPER_DIR = "paper"  # the paper's tables: Table 2, Table 1 (accuracy), Table 3, Table 5 (energy)
TABLE2_CSV = f"{PAPER_DIR}/table2.csv"  # robustsnn table
ACCURACY_CSV = f"{PAPER_DIR}/accuracy.csv"  # robustsnn report accuracy (accuracy_rwe.csv with --rwe)
ENERGY_CSV = f"{PAPER_DIR}/energy.csv"  # robustsnn energy
ADAPTIVE_CSV = "adaptive/adaptive.csv"  # robustsnn table --worst-case
SWEEPS_DIR = "sweeps"  # robustsnn sweep (and the attack sweeps' table)
LEADERBOARD_CSV = "leaderboard.csv"  # robustsnn leaderboard
ATTACKS_DIR = "attacks"  # run records and logs of the campaigns
BENCHMARK_DIR = "benchmark"  # run records, logs and cards of the standard evaluation


def cache_dir() -> Path:
    """Derived, rebuildable artefacts (trained word2vec, counter-fitted vectors...)."""
    return runs_dir() / "cache"


def portable_path(path: str | os.PathLike[str]) -> str:
    """``path`` as records store it, never one machine's absolute path: relative to
    ``$ROBUSTSNN_RUNS`` when it lies there, else relative to the working directory (the
    repository, for a checkout) when it lies there, else ``<outside>/<file name>``. The
    record's ``model_sha256`` (the network's content digest) says which model it was, wherever it lies."""
    resolved = Path(path).resolve()
    for root in (runs_dir(), Path.cwd().resolve()):
        try:
            return str(resolved.relative_to(root))
        except ValueError:
            continue
    return f"<outside>/{resolved.name}"


# kind -> (its folder under robustsnn/shipped/, the folder a checkout kept it in before
# it became package data: commands and run records written then spell recipes/<name>.toml
# and attacks/<name>.toml, and those spellings still find the shipped file).
SHIPPED = {"recipe": ("recipes", "recipes"), "campaign": ("campaigns", "attacks")}


@dataclass(frozen=True)
class Located:
    """A recipe or campaign to read: ``file`` (``read_text`` works on it, installed as
    files or zipped) and ``label``, how messages and run records name it: the shipped
    name (``paper``), or the path as given for a user's own file."""

    file: Traversable
    label: str
    shipped: bool


def _kind(kind: str) -> tuple[str, str]:
    if kind not in SHIPPED:
        raise ValueError(f"unknown kind '{kind}' (choices: {', '.join(SHIPPED)})")
    return SHIPPED[kind]


def shipped_folder(kind: str) -> Traversable:
    """The package-data folder of ``kind`` (``recipe`` or ``campaign``)."""
    return package_files("robustsnn").joinpath("shipped").joinpath(_kind(kind)[0])


def shipped_names(kind: str) -> list[str]:
    """The names of the shipped ``kind`` files, sorted: ``sst2``, ``paper``..."""
    return sorted(f.name[: -len(".toml")] for f in shipped_folder(kind).iterdir()
                  if f.name.endswith(".toml") and f.is_file())


def shipped_file(kind: str, name: str) -> Traversable:
    """The shipped ``kind`` file called ``name`` (it need not exist; see :func:`locate`)."""
    return shipped_folder(kind).joinpath(f"{name}.toml")


def locate(kind: str, spec: str | os.PathLike[str]) -> Located:
    """The ``kind`` (``recipe`` or ``campaign``) file that ``spec`` names.

    * a bare shipped name (``sst2``, ``paper``: no folder, no ``.toml``) is the shipped
      file, whatever lies in the working directory;
    * anything else is a path, read as it is when it exists (a user's own file; a folder
      fails on reading with "give a file path");
    * a relative path that does not exist but is spelled as a shipped file used to be
      in a checkout (``recipes/sst2.toml``, ``attacks/paper.toml``) or as ``<name>.toml``
      is the shipped file, so old commands and records keep working;
    * otherwise a one-line error listing the shipped names.
    """
    folder, old_folder = _kind(kind)
    text = os.fspath(spec)
    path = Path(text)
    names = shipped_names(kind)
    if len(path.parts) == 1 and path.suffix != ".toml" and text in names:
        return Located(shipped_file(kind, text), text, True)
    if path.exists():
        name = path.stem if path.suffix == ".toml" else None
        if name in names and _same_file(path, shipped_file(kind, name)):  # the shipped file by its path
            return Located(shipped_file(kind, name), name, True)
        return Located(path, text, False)
    if not path.is_absolute() and path.suffix == ".toml" and path.stem in names \
            and path.parts in ((path.name,), (old_folder, path.name)):
        return Located(shipped_file(kind, path.stem), path.stem, True)
    raise UserError(f"{kind} file not found: {text} (shipped {folder}: {', '.join(names)}; "
                    "or give the path of a .toml file)")


def _same_file(path: Path, shipped: Traversable) -> bool:
    try:
        return path.resolve() == Path(str(shipped)).resolve()
    except (OSError, ValueError):
        return False
