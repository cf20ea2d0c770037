"""The one training loop (robustsnn.train.fit): selection on dev, early stopping, records,
resume after a real interruption, and that the ANN and the SNN both go through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import tiny_recipe_dict
from robustsnn.config import recipe_from_dict
from robustsnn.errors import UserError
from robustsnn.models.checkpoint import load_checkpoint
from robustsnn.train import fit as loop
from robustsnn.train.fit import DevScore, FitOutcome, Report, Trainer, fit

QUIET = {"log": lambda _: None}


class Interrupted(Exception):
    """Stands for a kill: raised from inside an epoch."""


def toy_trainer(max_epochs: int = 4, patience: int = 10, scores: list[float] | None = None,
                initial: str | None = None, stop_at: int | None = None, seed: int = 3) -> Trainer:
    """A small net trained with dropout and Adam on fixed random data. Dev scores come from
    ``scores`` (one per evaluation) when given, else from the net itself. ``stop_at``:
    raise :class:`Interrupted` in the middle of that epoch."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
    data = torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
    labels = (data[:, 0] > 0).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scripted = list(scores) if scores is not None else None
    epochs_seen = {"n": 0}

    def train_epoch(generator: torch.Generator, desc: str) -> float:
        epochs_seen["n"] += 1
        model.train()
        order = torch.randperm(len(data), generator=generator)
        total = 0.0
        for start in range(0, len(data), 16):
            if stop_at is not None and desc.endswith(f"epoch {stop_at}") and start >= 32:
                raise Interrupted(desc)
            idx = order[start : start + 16]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(data[idx]), labels[idx])  # dropout: global RNG
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / 4

    def evaluate_dev() -> DevScore:
        if scripted is not None:
            value = scripted.pop(0)
        else:
            model.eval()
            with torch.no_grad():
                value = float((model(data).argmax(1) == labels).float().mean())
            model.train()
        return DevScore(value, f"{value:.4f}", {"dev_accuracy": value}, {"dev_accuracy": value})

    def payload(meta: dict) -> dict:
        return {"kind": "toy", "model": model.state_dict(), "config": {"max_epochs": max_epochs},
                "vocab": ["<pad>"], "meta": {"source": "toy", **meta}}

    def report(outcome: FitOutcome) -> Report:
        return Report({"best_epoch": outcome.best_epoch, "dev_accuracy": outcome.best_dev,
                       "epochs_run": outcome.epochs_run, "stopped_early": outcome.stopped_early},
                      f"toy: best epoch {outcome.best_epoch}", outcome)

    return Trainer(name="toy", model=model, optimizers=[optimizer], seed=seed, max_epochs=max_epochs,
                   patience=patience, train_epoch=train_epoch, evaluate_dev=evaluate_dev, payload=payload,
                   resume_mismatch=lambda state: None if state["meta"]["source"] == "toy" else "elsewhere",
                   report=report, initial=initial)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key  # bit for bit, not approximately


def _without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_selects_on_dev_stops_early_and_records(tmp_path):
    lines: list[str] = []
    out = fit(toy_trainer(max_epochs=10, patience=2, scores=[0.5, 0.7, 0.6, 0.7, 0.6, 0.9]),
              tmp_path, log=lines.append)
    # Epoch 2 is best; a tie (epoch 4) does not replace it; epoch 5 is more than 2 after it.
    assert out.best_epoch == 2 and out.best_dev == 0.7 and out.stopped_early
    assert [h["epoch"] for h in out.history] == [1, 2, 3, 4] and out.epochs_run == 4
    best = load_checkpoint(tmp_path / "best.pt")
    from robustsnn.train.threads import numerics

    assert best["meta"] == {"source": "toy", "epoch": 2, "dev_accuracy": 0.7, "torch_threads": 1,
                            "torch_numerics": numerics()}
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["epoch"] == 4 and last["best_epoch"] == 2 and last["best_dev"] == 0.7
    assert {"optimizers", "torch_rng", "history"} <= last.keys()
    log = json.loads((tmp_path / "log.json").read_text())
    assert [h["dev_accuracy"] for h in log] == [0.5, 0.7, 0.6, 0.7]
    assert set(log[0]) == {"epoch", "loss", "dev_accuracy", "seconds"}
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["best_epoch"] == 2 and result["stopped_early"] is True and result["epochs_run"] == 4
    assert {"git", "date", "versions"} <= result.keys()  # provenance is appended
    assert lines[1].startswith("toy epoch   2  loss ") and lines[1].endswith("*best")
    assert "*best" not in lines[3] and lines[-1] == "toy: best epoch 2"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_runs_all_epochs_without_patience_running_out(tmp_path):
    out = fit(toy_trainer(max_epochs=3, patience=1, scores=[0.5, 0.6, 0.7]), tmp_path, **QUIET)
    assert out.best_epoch == 3 and not out.stopped_early and out.epochs_run == 3


def test_initial_evaluation_is_epoch_zero_and_kept_when_nothing_beats_it(tmp_path):
    lines: list[str] = []
    out = fit(toy_trainer(max_epochs=5, patience=2, scores=[0.8, 0.7, 0.8], initial="converted"),
              tmp_path, log=lines.append)
    assert lines[0] == "toy epoch   0  (converted)  dev 0.8000  *best"
    assert out.best_epoch == 0 and out.stopped_early
    assert [h["epoch"] for h in out.history] == [0, 1, 2]
    assert out.history[0]["loss"] is None and out.history[0]["seconds"] == 0.0
    assert out.epochs_run == 2  # the evaluation before training is not an epoch run
    assert load_checkpoint(tmp_path / "best.pt")["meta"]["epoch"] == 0
    assert out.best_entry is out.history[0]


def test_resume_after_an_interruption_reproduces_the_uninterrupted_run(tmp_path):
    ref = fit(toy_trainer(max_epochs=5), tmp_path / "ref", **QUIET)

    with pytest.raises(Interrupted):  # killed in the middle of epoch 3
        fit(toy_trainer(max_epochs=5, stop_at=3), tmp_path / "cut", **QUIET)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["epoch"] == 2
    assert not (tmp_path / "cut" / "result.json").exists()

    lines: list[str] = []
    # A fresh process: the model is rebuilt (and its init consumes the RNG) before resuming.
    out = fit(toy_trainer(max_epochs=5), tmp_path / "cut", resume=True, log=lines.append)
    assert lines[0].startswith("resuming toy from epoch 2 (best dev ")
    assert [h["epoch"] for h in out.history] == [1, 2, 3, 4, 5]
    assert _without_seconds(out.history) == _without_seconds(ref.history)
    assert out.best_epoch == ref.best_epoch
    _assert_same_weights(tmp_path / "ref" / "last.pt", tmp_path / "cut" / "last.pt")
    _assert_same_weights(tmp_path / "ref" / "best.pt", tmp_path / "cut" / "best.pt")


def test_resume_of_a_finished_run_trains_nothing(tmp_path):
    fit(toy_trainer(max_epochs=2), tmp_path, **QUIET)
    trainer = toy_trainer(max_epochs=2)
    out = fit(trainer, tmp_path, resume=True, **QUIET)
    assert [h["epoch"] for h in out.history] == [1, 2]
    state = load_checkpoint(tmp_path / "last.pt")
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, state["model"][key])  # the trained weights were restored


def test_resume_without_last_starts_fresh(tmp_path):
    lines: list[str] = []
    fit(toy_trainer(max_epochs=1), tmp_path, resume=True, log=lines.append)
    assert lines[0] == f"nothing to resume in {tmp_path}; starting fresh"


def test_resume_refuses_another_run(tmp_path):
    fit(toy_trainer(max_epochs=1), tmp_path, **QUIET)
    trainer = toy_trainer(max_epochs=2)
    trainer.resume_mismatch = lambda state: "with another config"
    with pytest.raises(UserError, match="last.pt was trained with another config; drop --resume"):
        fit(trainer, tmp_path, resume=True, **QUIET)


def test_no_finished_epoch_is_a_user_error(tmp_path):
    trainer = toy_trainer(max_epochs=0)
    trainer.epochs_key = "finetune.max_epochs"
    with pytest.raises(UserError, match=r"no epoch finished .*\(finetune.max_epochs too small\?\)"):
        fit(trainer, tmp_path, **QUIET)


def test_epoch_seed_is_the_documented_one():
    assert loop.epoch_seed(0, 1) == 1 and loop.epoch_seed(2, 3) == 2 * 100_003 + 3


# ------------------------------------------------------------------ the ANN and the SNN halves


def test_ann_and_snn_trainers_are_built_for_the_loop(tiny_data, tmp_path):
    from robustsnn.train.ann import ann_trainer, train
    from robustsnn.train.convert import convert
    from robustsnn.train.snn import direct_job, finetune_job, snn_trainer

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    t = ann_trainer(recipe, "tailored")
    assert t.name == "tailored" and len(t.optimizers) == 2 and t.initial is None  # dense + sparse embedding
    assert t.epochs_key == "train.max_epochs" and t.max_epochs == 1
    with pytest.raises(UserError, match="unknown model 'snn'"):
        ann_trainer(recipe, "snn")

    train(recipe, "tailored", tmp_path / "tailored", **QUIET)
    convert(tmp_path / "tailored" / "best.pt", "none", tmp_path / "conv.pt", log=lambda _: None)
    ft = snn_trainer(finetune_job(tmp_path / "conv.pt"))
    assert ft.name == "finetune" and ft.initial == "converted" and ft.progress == "snn finetune"
    assert ft.epochs_key == "finetune.max_epochs"
    dev = ft.evaluate_dev()  # mean over finetune.eval_draws seeded draws
    assert len(dev.fields["dev_per_draw"]) == 2 and dev.value == pytest.approx(sum(dev.fields["dev_per_draw"]) / 2)
    assert ft.evaluate_dev() == dev  # the draws are seeded: selection compares like with like
    direct = snn_trainer(direct_job(recipe, init="default"))
    assert direct.name == "direct" and direct.initial is None


def test_ann_resume_after_a_real_interruption_is_bit_identical(tiny_data, tmp_path):
    from robustsnn.train.ann import train

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 4, "patience": 10},
                                               model={"dropout": 0.3}))
    ref = train(recipe, "tailored", tmp_path / "ref", **QUIET)

    def kill_after_epoch_2(line: str) -> None:
        if "epoch   3" in line:  # logged before epoch 3's last.pt is written
            raise Interrupted(line)

    with pytest.raises(Interrupted):
        train(recipe, "tailored", tmp_path / "cut", log=kill_after_epoch_2)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["epoch"] == 2
    out = train(recipe, "tailored", tmp_path / "cut", resume=True, **QUIET)
    assert (out.best_epoch, out.dev_accuracy, out.test_accuracy) == (ref.best_epoch, ref.dev_accuracy,
                                                                     ref.test_accuracy)
    _assert_same_weights(tmp_path / "ref" / "last.pt", tmp_path / "cut" / "last.pt")
    _assert_same_weights(tmp_path / "ref" / "best.pt", tmp_path / "cut" / "best.pt")
    ref_log = json.loads((tmp_path / "ref" / "log.json").read_text())
    cut_log = json.loads((tmp_path / "cut" / "log.json").read_text())
    assert _without_seconds(cut_log) == _without_seconds(ref_log)


def test_snn_resume_after_a_real_interruption_is_bit_identical(tiny_data, tmp_path):
    from robustsnn.train.ann import train
    from robustsnn.train.convert import convert
    from robustsnn.train.snn import finetune

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}))
    train(recipe, "tailored", tmp_path / "tailored", **QUIET)
    convert(tmp_path / "tailored" / "best.pt", "none", tmp_path / "conv.pt", log=lambda _: None)
    full = ["finetune.max_epochs=3", "finetune.patience=9"]
    ref = finetune(tmp_path / "conv.pt", tmp_path / "ref", overrides=full, **QUIET)

    def kill_in_epoch_2(line: str) -> None:
        if "epoch   2" in line:
            raise Interrupted(line)

    with pytest.raises(Interrupted):
        finetune(tmp_path / "conv.pt", tmp_path / "cut", overrides=full, log=kill_in_epoch_2)
    out = finetune(tmp_path / "conv.pt", tmp_path / "cut", resume=True, overrides=full, **QUIET)
    assert (out.best_epoch, out.dev, out.test) == (ref.best_epoch, ref.dev, ref.test)
    _assert_same_weights(tmp_path / "ref" / "last.pt", tmp_path / "cut" / "last.pt")
    _assert_same_weights(tmp_path / "ref" / "best.pt", tmp_path / "cut" / "best.pt")


def test_a_run_killed_in_its_first_epoch_after_the_initial_evaluation_is_marked_and_resumes_from_the_start(tmp_path):
    # Killed in epoch 1: best.pt (epoch 0) exists but no last.pt; log.json marks the run as
    # started, so `robustsnn build` resumes it instead of taking best.pt as built.
    with pytest.raises(Interrupted):
        fit(toy_trainer(max_epochs=3, initial="converted", stop_at=1), tmp_path, **QUIET)
    assert (tmp_path / "best.pt").is_file() and not (tmp_path / "last.pt").exists()
    assert [h["epoch"] for h in json.loads((tmp_path / "log.json").read_text())] == [0]
    lines: list[str] = []
    out = fit(toy_trainer(max_epochs=3, initial="converted"), tmp_path, resume=True, log=lines.append)
    whole = fit(toy_trainer(max_epochs=3, initial="converted"), tmp_path / "whole", **QUIET)
    assert lines[0].startswith("nothing to resume")
    timeless = lambda history: [{k: v for k, v in h.items() if k != "seconds"} for h in history]  # noqa: E731
    assert timeless(out.history) == timeless(whole.history)
    ours = load_checkpoint(tmp_path / "best.pt")["model"]
    theirs = load_checkpoint(tmp_path / "whole" / "best.pt")["model"]
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
