"""`robustsnn build` resumes a training run that was stopped before it ended, instead of
taking its best-so-far checkpoint as built."""

import pytest

from robustsnn.artifacts import FINETUNED, TEXTCNN
from robustsnn.cli.build import plan
from robustsnn.errors import UserError
from robustsnn.zoo import MODELS


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def _commands(runs, model="textcnn"):
    steps, _ = plan([("sst2", model)], runs)
    return [s.command for s in steps]


def test_an_interrupted_training_run_is_resumed(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    run = TEXTCNN.run_path("sst2", tmp_path)
    assert _commands(tmp_path) == ["robustsnn train --config sst2 --model textcnn"]
    # Killed after some epochs: best.pt and last.pt, no result.json.
    _touch(run / "best.pt")
    _touch(run / "last.pt")
    assert _commands(tmp_path) == ["robustsnn train --config sst2 --model textcnn --resume"]
    # Finished: result.json written at the end.
    _touch(run / "result.json")
    assert _commands(tmp_path) == []


def test_a_checkpoint_copied_in_alone_counts_as_built(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    _touch(TEXTCNN.path("sst2", tmp_path))
    assert _commands(tmp_path) == []


def test_an_interrupted_fine_tuning_resumes_after_its_finished_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    for link in (FINETUNED.source.source, FINETUNED.source):  # tailored run, converted file
        _touch(link.path("sst2", tmp_path))
    run = FINETUNED.run_path("sst2", tmp_path)
    _touch(run / "best.pt")
    _touch(run / "last.pt")
    commands = _commands(tmp_path, "snn")
    assert len(commands) == 1 and commands[0].startswith("robustsnn finetune ") and commands[0].endswith(" --resume")


def test_a_fine_tuning_killed_before_its_first_epoch_ended_is_resumed(tmp_path, monkeypatch):
    # best.pt from the epoch-0 evaluation and log.json, but no last.pt yet (train/fit.py).
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    for link in (FINETUNED.source.source, FINETUNED.source):
        _touch(link.path("sst2", tmp_path))
    run = FINETUNED.run_path("sst2", tmp_path)
    _touch(run / "best.pt")
    _touch(run / "log.json")
    commands = _commands(tmp_path, "snn")
    assert len(commands) == 1 and commands[0].endswith(" --resume")


def test_an_unfinished_run_is_not_attacked(tmp_path, monkeypatch):
    """The registered checkpoint of a run still training (or stopped) is refused with the
    command that finishes it; a checkpoint named on the command line is the user's call."""
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    run = TEXTCNN.run_path("sst2", tmp_path)
    _touch(run / "best.pt")
    _touch(run / "log.json")
    entry = MODELS.get("textcnn")
    with pytest.raises(UserError, match=r"has not finished .*robustsnn train --config sst2 --model textcnn"
                                        r".* --resume$"):
        entry.require("sst2")
    assert entry.require("sst2", run / "best.pt") == run / "best.pt"
    _touch(run / "result.json")
    assert entry.require("sst2") == run / "best.pt"
