"""Shared fixtures: tiny synthetic datasets and recipes, and the shared data when present."""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

POSITIVE = ["good", "great", "fine", "superb", "lovely", "brilliant", "warm", "funny"]
NEGATIVE = ["bad", "awful", "dull", "boring", "poor", "weak", "ugly", "tedious"]
FILLER = ["the", "movie", "film", "was", "a", "plot", "and", "it", "is", "very", "of", "story"]


def make_sentence(rng: random.Random, label: int) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(4, 9))]
    cue = rng.choice(POSITIVE if label else NEGATIVE)
    words.insert(rng.randrange(len(words) + 1), cue)
    return " ".join(words) + " ."


def write_split(path: Path, rows: list[tuple[int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("label\ttext\n" + "".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")


def make_tiny_dataset(root: Path, name: str = "sst2", n_train: int = 320, n_dev: int = 60,
                      n_test: int = 60, seed: int = 0) -> Path:
    """A linearly separable toy sentiment set laid out like shared/data/<name>/."""
    rng = random.Random(seed)
    splits = {"train": n_train, "dev": n_dev, "test": n_test}
    for split, n in splits.items():
        rows = [(i % 2, make_sentence(rng, i % 2)) for i in range(n)]
        write_split(root / name / f"{split}.tsv", rows)
    return root


def tiny_recipe_dict(dataset: str = "sst2", **sections: dict[str, Any]) -> dict[str, Any]:
    """A recipe that trains in a second: random 16-d embeddings, small conv layers."""
    base: dict[str, Any] = {
        "data": {"dataset": dataset, "max_len": 12},
        "embedding": {"source": "random", "dim": 16, "seed": 0},
        "model": {"widths": [2, 3], "maps": 16, "dropout": 0.0, "neurons_per_class": 3},
        "train": {"batch_size": 16, "lr": 0.02, "max_epochs": 3, "patience": 2, "seed": 0},
        "snn": {"time_steps": 8},
        "finetune": {"batch_size": 16, "lr": 0.001, "max_epochs": 1, "eval_draws": 2},
    }
    for key, values in sections.items():
        base[key] = {**base.get(key, {}), **values}
    return base


@pytest.fixture(autouse=True)
def results_outside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its results under its own temp folder, never into the checkout's
    results/ (a test that needs another folder sets ROBUSTSNN_RESULTS itself)."""
    folder = tmp_path / "results-default"
    monkeypatch.setenv("ROBUSTSNN_RESULTS", str(folder))
    return folder


@pytest.fixture
def tiny_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A toy 'sst2' under a temp ROBUSTSNN_DATA, with runs going to a temp folder too."""
    root = make_tiny_dataset(tmp_path / "data")
    monkeypatch.setenv("ROBUSTSNN_DATA", str(root))
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    return root


@dataclass(frozen=True)
class TinyNet:
    """A tiny tailored TextCNN trained on the toy 'sst2' and its spiking conversion."""

    root: Path  # the session folder holding everything below (shared: never write here)
    data: Path  # the toy datasets it was trained on (make_tiny_dataset, seed 0)
    tailored: Path  # the tailored run's best.pt
    converted: Path  # ``robustsnn convert`` of it (norm none, T = 8)


def _fingerprint(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_net_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TinyNet, dict[str, str]]]:
    """Train the tiny tailored net and convert it, once per session (use ``tiny_net``)."""
    from robustsnn.cli import main
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    root = tmp_path_factory.mktemp("tiny-net")
    net = TinyNet(root, root / "data", root / "tailored" / "best.pt", root / "converted.pt")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROBUSTSNN_DATA", str(make_tiny_dataset(net.data)))
        mp.setenv("ROBUSTSNN_RUNS", str(root / "runs"))
        recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
        train(recipe, "tailored", net.tailored.parent, log=lambda _: None)
        assert main(["convert", str(net.tailored), "--out", str(net.converted)]) == 0
    yield net, _fingerprint(root)


@pytest.fixture
def tiny_net(tiny_net_files: tuple[TinyNet, dict[str, str]], tiny_data: Path) -> Iterator[TinyNet]:
    """The session's tiny tailored and converted checkpoints, read-only.

    Shared by every test of the session, so a test must not write into ``tiny_net.root``:
    copy a checkpoint to ``tmp_path`` to modify it, and send outputs (``--out``) there.
    Each test is checked afterwards. ROBUSTSNN_DATA is ``tiny_data``, the same toy data
    the net was trained on (a per-test copy), and ROBUSTSNN_RUNS a per-test folder.
    """
    net, fingerprint = tiny_net_files
    for split in ("train", "dev", "test"):
        name = f"sst2/{split}.tsv"
        assert (tiny_data / name).read_bytes() == (net.data / name).read_bytes(), name
    yield net
    now = _fingerprint(net.root)
    changed = sorted(k for k in now.keys() | fingerprint.keys() if now.get(k) != fingerprint.get(k))
    assert not changed, (f"the shared checkpoint folder {net.root} changed ({', '.join(changed)}): "
                         "a test must write to a copy in tmp_path")


@pytest.fixture(scope="session")
def counterfitted_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The counter-fitted vectors' cache folder (``<runs>/cache/counterfitted``), built once
    per session (about a minute; a copy already built under the caller's
    ``$ROBUSTSNN_RUNS`` is reused). Link or copy it into a test's runs folder; read-only."""
    import shutil

    from robustsnn.paths import cache_dir

    runs = tmp_path_factory.mktemp("counterfitted-runs")
    folder = runs / "cache" / "counterfitted"
    built = cache_dir() / "counterfitted"
    if built.is_dir() and any(built.glob("*/counterfitted.npz")):
        shutil.copytree(built, folder)
        return folder
    resources = os.environ.get("ROBUSTSNN_RESOURCES") or str(Path(__file__).resolve().parents[2] / "shared" /
                                                             "resources")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROBUSTSNN_RUNS", str(runs))
        mp.setenv("ROBUSTSNN_RESOURCES", resources)
        from robustsnn.resources.counterfitted import local_counterfitted

        local_counterfitted(log=lambda _: None)
    return folder


def link_counterfitted(cache: Path, runs: Path) -> None:
    """Make ``runs`` find the session's counter-fitted vectors (``counterfitted_cache``)."""
    target = runs / "cache" / "counterfitted"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(cache, target_is_directory=True)


def shared_data_dir() -> Path | None:
    """The real datasets (CI sets ROBUSTSNN_DATA=../shared/data)."""
    candidates = [os.environ.get("ROBUSTSNN_DATA", ""), str(Path(__file__).parents[2] / "shared" / "data")]
    for c in candidates:
        if c and (Path(c) / "sst2" / "train.tsv").is_file():
            return Path(c).resolve()
    return None


@pytest.fixture
def shared_data(monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("shared datasets not found (set ROBUSTSNN_DATA)")
    monkeypatch.setenv("ROBUSTSNN_DATA", str(root))
    return root


def run_record_dict(dataset: str = "sst2", model: str = "textcnn", recipe: str = "pwws", noise: str = "none",
                    sha: str | None = "ab" * 32, complete: bool = True, log: str | None = None,
                    campaign: str = "tiny", **fields: Any) -> dict[str, Any]:
    """A valid run record (robustsnn/records/record.py) with what a test does not care about
    filled in; ``fields`` replace top-level fields."""
    record: dict[str, Any] = {
        "schema_version": 1,
        "cell": {"dataset": dataset, "model": model, "defense": "none", "recipe": recipe, "noise": noise},
        "campaign": {"campaign": {"name": campaign, "seed": 0, "query_cache": True},
                     "threat": {"max_modification_rate": 0.1}, "examples": {"split": "test"}},
        "campaign_file": None, "protocol": "shared-swap", "attack": {"recipe": recipe},
        "model": {"checkpoint": f"{dataset}/{model}/best.pt", **({"model_sha256": sha} if sha else {})},
        "log": log or f"{dataset}__{model}__none__{recipe}__{noise}__shared-swap.csv", "examples_selected": 4,
        "verdict_draws": 0, "complete": complete, "date": "2026-12-07T10:00:00+00:00", "git": "abc1234",
        "robustsnn": "0.1.0", "python": "3.11.7", "versions": {}, "machine": {}, "command": "robustsnn attack",
    }
    if complete:
        record["metrics"] = {"n": 4, "clean_accuracy": 0.75}
    return {**record, **fields}


def train_zoo_models(time_steps: int) -> Path:
    """Tiny textcnn and tailored TextCNNs and the tailored one converted to an SNN with
    ``time_steps`` steps, where the zoo looks for them under ``$ROBUSTSNN_RUNS/sst2`` (the
    toy 'sst2' of ``tiny_data``); returns the runs root."""
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train
    from robustsnn.train.convert import convert

    runs = Path(os.environ["ROBUSTSNN_RUNS"])
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 4}, snn={"time_steps": time_steps}))
    train(recipe, "textcnn", runs / "sst2" / "textcnn", log=lambda _: None)
    train(recipe, "tailored", runs / "sst2" / "tailored", log=lambda _: None)
    convert(runs / "sst2" / "tailored" / "best.pt", "none", log=lambda _: None)
    return runs
