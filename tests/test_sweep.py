"""``robustsnn sweep``: constants swept on one checkpoint, neurons per class retrained per value."""

import pandas as pd
import pytest

from robustsnn.cli import main
from robustsnn.errors import UserError
from robustsnn.models.loading import load_model
from robustsnn.reports.sweep import DEFAULT_VALUES, npc_point_dir, parse_values, rebuild, sweep_neurons_per_class

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def converted(tiny_net):
    return tiny_net.converted


def test_parse_values():
    assert parse_values("time_steps", None) == list(DEFAULT_VALUES["time_steps"])
    assert parse_values("time_steps", "5, 10") == [5, 10]
    assert parse_values("beta", "0.9,1") == [0.9, 1.0]
    for param, text in [("time_steps", "2.5"), ("threshold", "0,1"), ("beta", "1.2"), ("neurons", "1"),
                        ("threshold", "a")]:
        with pytest.raises(UserError):
            parse_values(param, text)


def test_rebuild_changes_only_the_constant(converted):
    loaded = load_model(converted)
    model = rebuild(loaded, "threshold", 2.0)
    assert model.threshold == 2.0 and float(model.out_lif.threshold) == 2.0
    for name, value in loaded.model.state_dict().items():
        if name.endswith("weight"):
            assert model.state_dict()[name].equal(value)
    assert rebuild(loaded, "time_steps", 3).time_steps == 3


def test_threshold_sweep_cli_writes_csv_and_png(converted, tmp_path, capsys):
    out = tmp_path / "sweeps"
    assert main(["sweep", "threshold", str(converted), "--values", "0.25,4", "--draws", "2",
                 "--out-dir", str(out)]) == 0
    frame = pd.read_csv(out / "sst2-threshold.csv")
    assert frame["value"].tolist() == [0.25, 4.0] and frame["threshold"].tolist() == [0.25, 4.0]
    assert (frame["draws"] == 2).all() and {"accuracy", "accuracy_std", "rate_conv0", "git"} <= set(frame.columns)
    # Same input spikes (same seeds), higher threshold: the conv neurons fire less.
    assert frame["rate_conv0"][0] > frame["rate_conv0"][1]
    assert frame["spikes_per_example"][0] > frame["spikes_per_example"][1]
    assert (out / "sst2-threshold.png").read_bytes()[:8] == PNG
    assert "threshold = 4" in capsys.readouterr().out


def test_time_steps_sweep_evaluates_each_length(converted, tmp_path):
    out = tmp_path / "sweeps"
    assert main(["sweep", "time_steps", str(converted), "--values", "2,16", "--draws", "1",
                 "--out-dir", str(out)]) == 0
    frame = pd.read_csv(out / "sst2-time_steps.csv")
    assert frame["time_steps"].tolist() == [2, 16]
    assert frame["spikes_per_example"][1] > frame["spikes_per_example"][0]


def test_neurons_per_class_retrains_one_resumable_run_per_value(tiny_data, tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        '[data]\ndataset = "sst2"\nmax_len = 12\n[embedding]\nsource = "random"\ndim = 16\n'
        '[model]\nwidths = [2, 3]\nmaps = 16\ndropout = 0.0\n[train]\nlr = 0.02\nmax_epochs = 2\n'
        '[snn]\ntime_steps = 8\n', encoding="utf-8")
    runs = tmp_path / "runs"
    lines: list[str] = []
    rows = sweep_neurons_per_class(cfg, [1, 3], draws=1, runs=runs, log=lines.append)
    assert [r["neurons_per_class"] for r in rows] == [1, 3]
    for value in (1, 3):
        point = npc_point_dir(runs, "sst2", value)
        assert load_model(point / "snn" / "converted-none.pt").model.neurons_per_class == value
    assert sum("training the tailored" in line for line in lines) == 2
    lines.clear()
    again = sweep_neurons_per_class(cfg, [1, 3], draws=1, runs=runs, log=lines.append)
    assert not any("training" in line or "converted" in line for line in lines)  # finished points reused
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in rows]


def test_sweep_cli_errors(tiny_net, capsys):
    converted = tiny_net.converted
    for argv, message in [
        (["sweep", "neurons_per_class", "--config", "sst2"], "--retrain"),
        (["sweep", "time_steps"], "needs a spiking checkpoint"),
        (["sweep", "beta", str(converted), "--retrain"], "without retraining"),
        (["sweep", "beta", str(converted), "--values", "2"], "beta must be in [0, 1]"),
        (["sweep", "beta", str(converted), "--draws", "0"], "at least 1"),
        (["sweep", "beta", str(tiny_net.tailored)], "spiking checkpoint"),
    ]:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
