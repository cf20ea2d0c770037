"""``robustsnn build``: the missing checkpoints of a campaign, rebuilt byte for byte, and
checked against the logs that recorded their digests."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import run_record_dict
from robustsnn.cli import main

TINY_RECIPE = """
[data]
dataset = "sst2"
max_len = 12
[embedding]
source = "random"
dim = 16
seed = 0
[model]
widths = [2, 3]
maps = 8
neurons_per_class = 3
[train]
batch_size = 16
lr = 0.02
max_epochs = 2
seed = 0
[snn]
time_steps = 8
[finetune]
batch_size = 16
max_epochs = 1
eval_draws = 2
"""

CAMPAIGN = """
[campaign]
name = "tiny"
datasets = ["sst2"]
models = ["textcnn", "snn"]
recipes = ["pwws"]
noise = ["frozen"]
[examples]
num_examples = 4
"""

BUILT = ("textcnn/best.pt", "tailored/best.pt", "snn/converted-none.pt", "snn-finetuned-none/best.pt")


@pytest.fixture
def machine_threads():
    """Set torch's thread count as a machine would (``set(n)``), restored after: training
    pins its own (robustsnn/train/threads.py), so the rebuild must not depend on it."""
    import torch

    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def ship_recipes(monkeypatch, folder, recipes):
    """Stand ``recipes`` (name -> text) in for the shipped recipes, which the build
    commands name (``--config sst2``): the real sst2 recipe trains for minutes."""
    import robustsnn.paths as paths

    folder.mkdir()
    for name, text in recipes.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    shipped = paths.shipped_folder
    monkeypatch.setattr(paths, "shipped_folder", lambda kind: folder if kind == "recipe" else shipped(kind))


@pytest.fixture
def repo(tiny_data, tmp_path, monkeypatch):
    """The working directory, with a campaign of the user's own (attacks/tiny.toml), and a
    tiny recipe shipped as sst2."""
    ship_recipes(monkeypatch, tmp_path / "shipped-recipes", {"sst2": TINY_RECIPE})
    (tmp_path / "attacks").mkdir()
    (tmp_path / "attacks" / "tiny.toml").write_text(CAMPAIGN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _digests(runs):
    return {name: hashlib.sha256((runs / "sst2" / name).read_bytes()).hexdigest() for name in BUILT}


def test_builds_the_missing_chain_once_and_rebuilds_the_same_bytes(repo, capsys, machine_threads):
    import shutil

    runs = repo / "runs"
    machine_threads(1)
    assert main(["build", "--datasets", "sst2", "--models", "textcnn,snn"]) == 0
    out = capsys.readouterr().out
    assert "building 4 checkpoints" in out and "[4/4] sst2: robustsnn finetune" in out
    first = _digests(runs)

    assert main(["build", "--datasets", "sst2", "--models", "snn,tailored"]) == 0
    assert "every checkpoint is in place" in capsys.readouterr().out

    shutil.rmtree(runs)  # a new machine: runs/ is gone, the logs are not
    machine_threads(2)  # with another thread count
    assert main(["build", "attacks/tiny.toml"]) == 0
    assert _digests(runs) == first


def test_dry_run_prints_the_commands_and_builds_nothing(repo, capsys):
    assert main(["build", "--datasets", "sst2", "--models", "snn", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["robustsnn train --config sst2 --model tailored",
                         f"robustsnn convert {repo / 'runs' / 'sst2' / 'tailored' / 'best.pt'}"]
    assert not (repo / "runs" / "sst2").exists()


def _record(repo, model, noise, sha, complete):
    folder = repo / "results" / "attacks" / "tiny"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sst2__{model}__none__pwws__{noise}__shared-swap.json"
    path.write_text(json.dumps(run_record_dict(model=model, noise=noise, sha=sha, complete=complete)),
                    encoding="utf-8")
    return path


def test_logs_are_checked_against_the_rebuilt_checkpoints(repo, capsys):
    assert main(["build", "--datasets", "sst2", "--models", "textcnn"]) == 0
    from robustsnn.models.checkpoint import model_digest

    built = repo / "runs" / "sst2" / "textcnn" / "best.pt"
    sha = model_digest(built)
    results = str(repo / "results" / "attacks")
    args = ["build", "attacks/tiny.toml", "--models", "textcnn", "--results", results]

    _record(repo, "textcnn", "none", sha, complete=False)
    assert main(args) == 0
    assert "sst2/textcnn/best.pt model_sha256 " + sha[:12] + ": 1 logs written with it" in capsys.readouterr().out

    # A record from before content digests names the file's sha256: it matches this very
    # file, and is named for the migration.
    path = _record(repo, "textcnn", "none", None, complete=False)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["checkpoint_sha256"] = hashlib.sha256(built.read_bytes()).hexdigest()
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert ": 1 logs written with it (1 name it by the file's sha256" in out and "migrate-digests" in out

    _record(repo, "textcnn", "none", "0" * 64, complete=True)
    assert main(args) == 0
    assert "1 finished logs with another checkpoint" in capsys.readouterr().out

    _record(repo, "textcnn", "none", "0" * 64, complete=False)
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "refuse to resume: sst2__textcnn__none__pwws__none__shared-swap.json" in captured.out
    assert "cannot resume" in captured.err


def test_only_the_datasets_and_models_asked_for_are_checked(repo, capsys):
    """``--models textcnn`` on a campaign that also has the SNN: the SNN's logs are not
    this call's business, so an SNN log that cannot resume does not fail it."""
    assert main(["build", "--datasets", "sst2", "--models", "textcnn,snn"]) == 0
    _record(repo, "snn", "frozen", "0" * 64, complete=False)
    args = ["build", "attacks/tiny.toml", "--results", str(repo / "results" / "attacks")]
    capsys.readouterr()

    assert main(args + ["--models", "textcnn"]) == 0
    out = capsys.readouterr().out
    assert "sst2/textcnn/best.pt" in out and "snn" not in out

    assert main(args) == 1  # the whole campaign: the SNN's stuck log is named
    assert "refuse to resume: sst2__snn__none__pwws__frozen__shared-swap.json" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["build"], "a campaign file, or --datasets and --models"),
    (["build", "--datasets", "imdb", "--models", "snn"], "unknown dataset 'imdb'"),
    (["build", "--datasets", "sst2", "--models", "nope"], "unknown model 'nope'"),
    (["build", "--datasets", "sst2", "--models", "snn", "--set", "campaign.seed=1"], "give the campaign file"),
])
def test_bad_requests_are_one_line_errors(repo, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_dataset_without_a_shipped_recipe_is_named(tiny_data, tmp_path, monkeypatch, capsys):
    ship_recipes(monkeypatch, tmp_path / "shipped-recipes", {"mr": TINY_RECIPE})
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--datasets", "sst2", "--models", "textcnn"]) == 2
    err = capsys.readouterr().err
    assert "no shipped recipe for dataset 'sst2' (shipped recipes: mr): build textcnn/best.pt" in err
    assert err.count("\n") == 1 and not (tmp_path / "runs" / "sst2").exists()


def test_a_campaign_with_a2t_cells_builds_the_a2t_chains_too(repo, capsys):
    (repo / "attacks" / "a2t.toml").write_text(CAMPAIGN.replace('noise = ["frozen"]', 'noise = ["frozen"]\n'
                                                                'defenses = ["none", "a2t"]'), encoding="utf-8")
    assert main(["build", "attacks/a2t.toml", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "robustsnn train --config sst2 --model textcnn --defense a2t" in lines
    assert "robustsnn train --config sst2 --model tailored --defense a2t" in lines
    assert "robustsnn train --config sst2 --model textcnn" in lines  # the plain chain as well
    assert not (repo / "runs" / "sst2").exists()


def test_a_training_seed_builds_its_own_chain_beside_the_registered_one(repo, capsys):
    """``--seed 1`` trains with train.seed=1 and finetune.seed=1 into ``seed-1/``: other
    weights (another content digest) on the same data split, with the seed in the config;
    seed 0 stays the registered checkpoints, at their paths."""
    from robustsnn.models.checkpoint import checkpoint_seeds, load_checkpoint, model_digest

    runs = repo / "runs" / "sst2"
    one = runs / "seed-1"
    assert main(["build", "--datasets", "sst2", "--models", "textcnn,snn", "--seed", "1", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"robustsnn train --config sst2 --model textcnn --set train.seed=1 --set finetune.seed=1 "
        f"--out {one / 'textcnn'}",
        f"robustsnn train --config sst2 --model tailored --set train.seed=1 --set finetune.seed=1 "
        f"--out {one / 'tailored'}",
        f"robustsnn convert {one / 'tailored' / 'best.pt'} --out {one / 'snn' / 'converted-none.pt'}",
        f"robustsnn finetune {one / 'snn' / 'converted-none.pt'} --out {one / 'snn-finetuned-none'}"]
    assert not runs.exists()

    assert main(["build", "--datasets", "sst2", "--models", "textcnn,snn", "--seed", "1"]) == 0
    assert "building 4 checkpoints" in capsys.readouterr().out
    assert main(["build", "--datasets", "sst2", "--models", "textcnn,snn"]) == 0  # seed 0: the registered ones
    assert sorted(str(p.relative_to(runs)) for p in runs.rglob("*.pt") if p.name != "last.pt") == sorted(
        [*BUILT, *(f"seed-1/{b}" for b in BUILT)])
    for name in BUILT:
        assert model_digest(runs / name) != model_digest(runs / "seed-1" / name), name
    assert checkpoint_seeds(runs / "seed-1" / "snn-finetuned-none" / "best.pt") == {"train": 1, "finetune": 1}
    assert checkpoint_seeds(runs / "snn-finetuned-none" / "best.pt") == {"train": 0, "finetune": 0}
    assert checkpoint_seeds(runs / "seed-1" / "textcnn" / "best.pt") == {"train": 1}
    configs = [load_checkpoint(runs / s / "tailored" / "best.pt")["config"] for s in ("", "seed-1")]
    assert configs[0]["data"] == configs[1]["data"]  # split_seed and all: the same split
    for name in ("textcnn", "tailored"):  # the same dev split, measured on the same examples
        results = [json.loads((runs / s / name / "result.json").read_text(encoding="utf-8")) for s in ("", "seed-1")]
        assert results[0]["dev_split"] == results[1]["dev_split"] and results[1]["seed"] == 1

    assert main(["build", "--datasets", "sst2", "--models", "snn", "--seed", "1"]) == 0
    assert "every checkpoint is in place" in capsys.readouterr().out


@pytest.mark.parametrize("seed", ["-1", "one", "1.0", "99999999999"])
def test_a_bad_seed_is_a_one_line_error(repo, capsys, seed):
    assert main(["build", "--datasets", "sst2", "--models", "snn", "--seed", seed, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "--seed must be a non-negative integer" in err and err.count("\n") == 1


def test_a_campaign_is_built_for_the_registered_seed_only(repo, capsys):
    assert main(["build", "attacks/tiny.toml", "--seed", "2", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "a campaign attacks the registered checkpoints" in err and err.count("\n") == 1
    assert main(["build", "attacks/tiny.toml", "--seed", "0", "--dry-run"]) == 0  # seed 0 is the campaign's own
