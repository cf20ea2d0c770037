"""Fine-tuning, the directly-trained baseline, resume and SNN evaluation, end to end on toy data."""

import json

import pytest
import torch

from robustsnn.cli import main
from robustsnn.models.checkpoint import load_checkpoint
from robustsnn.models.loading import encode_split, load_model, load_recipe_dataset
from robustsnn.train.evaluate import evaluate_snn
from robustsnn.train.snn import finetune

QUIET = {"log": lambda _: None}


@pytest.fixture
def converted(tiny_net):
    return tiny_net.converted


def test_convert_finetune_evaluate_cli(converted, tmp_path, capsys):
    run = tmp_path / "ft"
    assert main(["finetune", str(converted), "--out", str(run), "--set", "finetune.max_epochs=2"]) == 0
    out = capsys.readouterr().out
    assert "epoch   0  (converted)" in out and "epoch   2" in out
    result = json.loads((run / "result.json").read_text())
    assert result["training"] == "finetune" and result["eval_draws"] == 2
    assert len(result["test_per_draw"]) == 2 and result["test_accuracy"] > 0.65  # chance is 0.5
    best = load_checkpoint(run / "best.pt")
    assert best["kind"] == "snn" and best["meta"]["norm"] == "none"
    assert best["config"]["finetune"]["max_epochs"] == 2
    assert main(["evaluate", str(run / "best.pt"), "--draws", "3", "--split", "dev"]) == 0
    printed = capsys.readouterr().out
    assert "+-" in printed and "over 3 draws at T=8" in printed


def test_evaluation_is_reproducible_and_spread_over_draws(converted):
    loaded = load_model(converted)
    ids, labels = encode_split(loaded.encoder, load_recipe_dataset(loaded.recipe).test)
    a = evaluate_snn(loaded.model, ids, labels, draws=4, seed=7)
    b = evaluate_snn(loaded.model, ids, labels, draws=4, seed=7)
    assert a == b and len(a.per_draw) == 4 and a.std >= 0
    assert a.mean == pytest.approx(sum(a.per_draw) / 4)


def test_finetune_moves_weights_and_keeps_embeddings(converted, tmp_path):
    finetune(converted, tmp_path / "ft", overrides=["finetune.max_epochs=1", "finetune.patience=5"], **QUIET)
    before, after = load_checkpoint(converted)["model"], load_checkpoint(tmp_path / "ft" / "last.pt")["model"]
    assert torch.equal(before["embedding.weight"], after["embedding.weight"])
    assert not torch.equal(before["fc.weight"], after["fc.weight"])


def test_finetune_resume_continues_exactly(converted, tmp_path):
    full = ["finetune.max_epochs=2", "finetune.patience=9"]
    finetune(converted, tmp_path / "a", overrides=full, **QUIET)
    finetune(converted, tmp_path / "b", overrides=["finetune.max_epochs=1", "finetune.patience=9"], **QUIET)
    state = load_checkpoint(tmp_path / "b" / "last.pt")  # emulate a 2-epoch run killed after epoch 1
    state["config"]["finetune"]["max_epochs"] = 2
    torch.save(state, tmp_path / "b" / "last.pt")
    lines: list[str] = []
    finetune(converted, tmp_path / "b", resume=True, overrides=full, log=lines.append)
    assert any("resuming finetune from epoch 1" in line for line in lines)
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    assert [h["epoch"] for h in b["history"]] == [0, 1, 2]
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value)


def test_finetune_refuses_wrong_inputs(tiny_net, capsys):
    tailored, converted = tiny_net.tailored, tiny_net.converted
    for argv, message in [
        (["finetune", str(tailored)], "robustsnn convert"),
        (["finetune", str(converted), "--set", "model.maps=3"], "can only override"),
        (["finetune", str(converted), "--set", "finetune.lr=-1"], "finetune.lr must be positive"),
    ]:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_direct_training_cli(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        '[data]\ndataset = "sst2"\nmax_len = 12\n[embedding]\nsource = "random"\ndim = 16\n'
        '[model]\nwidths = [2, 3]\nmaps = 16\ndropout = 0.0\nneurons_per_class = 3\n'
        '[snn]\ntime_steps = 8\n[finetune]\nlr = 0.01\nmax_epochs = 2\neval_draws = 2\n',
        encoding="utf-8")
    run = tmp_path / "direct"
    assert main(["train-snn", "--config", str(cfg), "--out", str(run)]) == 0
    result = json.loads((run / "result.json").read_text())
    assert result["training"] == "direct" and result["epochs_run"] == 2
    assert "epoch   0" not in capsys.readouterr().out  # nothing to evaluate before training
    assert load_model(run / "best.pt").kind == "snn"
