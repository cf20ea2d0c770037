"""Training end to end on a toy dataset: selection on dev, checkpoints, resume, CLI errors."""

import subprocess
import sys

import pytest
import torch

from conftest import tiny_recipe_dict
from robustsnn.cli import main
from robustsnn.config import recipe_from_dict
from robustsnn.models.checkpoint import load_checkpoint
from robustsnn.models.loading import load_model
from robustsnn.train.ann import train


def test_tailored_training_learns_and_checkpoints(tiny_data, tmp_path):
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 4}))
    result = train(recipe, "tailored", tmp_path / "run", log=lambda _: None)
    assert result.test_accuracy > 0.9 and result.dev_accuracy > 0.9
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["kind"] == "tailored" and ckpt["config"] == recipe.to_dict()
    assert ckpt["meta"]["dev_accuracy"] == result.dev_accuracy
    emb = ckpt["model"]["embedding.weight"]
    assert emb.min() >= 0 and emb.max() <= 1  # clipped after every step
    loaded = load_model(tmp_path / "run" / "best.pt")
    assert not loaded.model.training and loaded.encoder.vocab == ckpt["vocab"]
    assert (tmp_path / "run" / "result.json").exists()


def test_original_textcnn_trains(tiny_data, tmp_path):
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
    result = train(recipe, "textcnn", tmp_path / "run", log=lambda _: None)
    assert result.test_accuracy > 0.9


def test_retraining_reproduces_the_checkpoint_byte_for_byte(tiny_data, tmp_path):
    """Attack logs record the checkpoint's sha256 and refuse to resume against another
    file: the same seed and recipe, trained into another folder, must give the same bytes
    (torch.save once named the zip archive after the random temporary file)."""
    import hashlib

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}))
    digests, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)  # promised for one thread (sums in another order otherwise)
    try:
        for out in ("a", "b"):
            train(recipe, "textcnn", tmp_path / out, log=lambda _: None)
            digests.append(hashlib.sha256((tmp_path / out / "best.pt").read_bytes()).hexdigest())
    finally:
        torch.set_num_threads(threads)
    assert len(digests) == 2 and digests[0] == digests[1]


def test_resume_continues_where_it_stopped(tiny_data, tmp_path):
    full = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 4, "patience": 10}))
    train(full, "tailored", tmp_path / "a", log=lambda _: None)
    ref = load_checkpoint(tmp_path / "a" / "last.pt")

    half = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2, "patience": 10}))
    train(half, "tailored", tmp_path / "b", log=lambda _: None)
    # Emulate a 4-epoch run killed after epoch 2: its last.pt carries the full config.
    state = load_checkpoint(tmp_path / "b" / "last.pt")
    assert state["epoch"] == 2
    state["config"] = full.to_dict()
    torch.save(state, tmp_path / "b" / "last.pt")
    lines: list[str] = []
    train(full, "tailored", tmp_path / "b", resume=True, log=lines.append)
    assert any("resuming tailored from epoch 2" in line for line in lines)
    done = load_checkpoint(tmp_path / "b" / "last.pt")
    assert [h["epoch"] for h in done["history"]] == [1, 2, 3, 4]
    for key, value in ref["model"].items():
        torch.testing.assert_close(done["model"][key], value)


def test_resume_refuses_another_config(tiny_data, tmp_path):
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    train(recipe, "tailored", tmp_path / "r", log=lambda _: None)
    other = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1, "lr": 0.5}))
    from robustsnn.errors import UserError

    with pytest.raises(UserError, match="another config"):
        train(other, "tailored", tmp_path / "r", resume=True, log=lambda _: None)


def _write_recipe(tmp_path, text):
    p = tmp_path / "recipe.toml"
    p.write_text(text, encoding="utf-8")
    return p


TINY_TOML = """
[data]
dataset = "sst2"
max_len = 12
[embedding]
source = "random"
dim = 16
[model]
widths = [2, 3]
maps = 8
neurons_per_class = 3
[train]
lr = 0.01
max_epochs = 2
"""


def test_cli_train_and_evaluate(tiny_data, tmp_path, capsys):
    recipe = _write_recipe(tmp_path, TINY_TOML)
    out = tmp_path / "cli-run"
    assert main(["train", "--config", str(recipe), "--model", "tailored", "--out", str(out)]) == 0
    assert main(["evaluate", str(out / "best.pt"), "--split", "dev"]) == 0
    assert "tailored sst2 dev: accuracy" in capsys.readouterr().out


def _run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "robustsnn", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("args, message", [
    (["train", "--config", "recipes/nope.toml"], "recipe file not found"),
    (["train", "--config", "sst3"],
     "recipe file not found: sst3 (shipped recipes: chnsenti, mr, mr-spikformer, sst2, "),
    (["train", "--config", "sst2", "--set", "train.lrr=1"], "unknown config key 'train.lrr'"),
    (["evaluate", "missing.pt"], "checkpoint not found"),
    (["data", "check", "imdb"], "unknown dataset 'imdb'"),
])
def test_user_errors_are_one_line_without_traceback(args, message):
    proc = _run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    proc = _run_cli("evaluate", str(bad))
    assert proc.returncode == 2 and "corrupt" in proc.stderr and "Traceback" not in proc.stderr


def test_truncated_and_foreign_checkpoints(tiny_data, tmp_path):
    from robustsnn.errors import UserError

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    train(recipe, "tailored", tmp_path / "r", log=lambda _: None)
    data = (tmp_path / "r" / "best.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt"):
        load_model(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(UserError, match="not a robustsnn checkpoint"):
        load_model(tmp_path / "foreign.pt")
    ckpt = load_checkpoint(tmp_path / "r" / "best.pt")
    ckpt["model"]["fc.weight"] = torch.zeros(1, 1)
    torch.save(ckpt, tmp_path / "mismatch.pt")
    with pytest.raises(UserError, match="does not match its model"):
        load_model(tmp_path / "mismatch.pt")


def test_empty_text_at_evaluation_is_a_user_error(tiny_data, tmp_path):
    from robustsnn.errors import UserError

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    train(recipe, "tailored", tmp_path / "r", log=lambda _: None)
    loaded = load_model(tmp_path / "r" / "best.pt")
    with pytest.raises(UserError, match="empty text"):
        loaded.encoder.encode(["fine film", ""])


@pytest.mark.slow
def test_real_sst2_tailored_with_glove_learns(shared_data, tmp_path, monkeypatch):
    """Five epochs on the real SST-2 with GloVe 50d clear 75% dev accuracy (about 15 s)."""
    from robustsnn.config import load_recipe

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    recipe = load_recipe("sst2", ["train.max_epochs=5"])
    result = train(recipe, "tailored", tmp_path / "sst2", log=lambda _: None)
    assert result.dev_accuracy > 0.75 and result.test_accuracy > 0.75
