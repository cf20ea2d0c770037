"""Energy estimate: FLOPs by hand on tiny networks, SOPs from measured rates, the CLI table."""

import json

import pandas as pd
import pytest
import torch

from robustsnn.cli import main
from robustsnn.models.encoding import Encoding
from robustsnn.models.loading import encode_split, load_model, load_recipe_dataset
from robustsnn.models.snn import SpikingTextCNN
from robustsnn.models.textcnn import TailoredTextCNN, TextCNN
from robustsnn.reports.energy import layer_flops, measure_snn, synaptic_ops
from robustsnn.train.evaluate import evaluate_snn


def test_flops_by_hand():
    # dim 4, length 6, widths (2, 3), 5 maps, 2 classes:
    # conv0: 5 maps x (6-2+1)=5 windows x 4 dims x 2 words = 200; conv1: 5 x 4 x 4 x 3 = 240.
    assert layer_flops(TextCNN(10, 4, 2, (2, 3), 5), 6) == {"conv0": 200, "conv1": 240, "fc": 10 * 2}
    # Population output: fc has 2 classes x 3 neurons.
    tailored = TailoredTextCNN(10, 4, 2, (2, 3), 5, neurons_per_class=3)
    snn = SpikingTextCNN(10, 4, 2, (2, 3), 5, neurons_per_class=3)
    assert layer_flops(tailored, 6) == layer_flops(snn, 6) == {"conv0": 200, "conv1": 240, "fc": 60}
    # A window wider than the sentence does no work.
    assert layer_flops(snn, 2)["conv1"] == 0


def test_synaptic_ops_use_the_rate_of_each_layer_input():
    flops = {"conv0": 200, "conv1": 240, "fc": 60}
    sops = synaptic_ops(flops, {"input": 0.5, "conv0": 0.9, "conv1": 0.9, "pool": 0.2, "output": 0.7}, 10)
    # conv reads the input spikes, fc the pooling neurons: T x rate x FLOPs.
    assert sops == pytest.approx({"conv0": 10 * 0.5 * 200, "conv1": 10 * 0.5 * 240, "fc": 10 * 0.2 * 60})


def test_measured_rates_count_the_spikes_of_the_same_draws():
    torch.manual_seed(0)
    model = SpikingTextCNN(30, 6, 2, (2, 3), 8, 0.0, 2, time_steps=12)
    with torch.no_grad():
        model.embedding.weight.uniform_(0, 1)
        model.embedding.weight[0] = 0
        for conv in model.convs:
            conv.weight.normal_(0.05, 0.3)
        model.fc.weight.normal_(0.1, 0.5)
    ids = torch.randint(1, 30, (20, 7), generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 2, (20,), generator=torch.Generator().manual_seed(2))
    m = measure_snn(model, ids, labels, draws=3, seed=5, batch_size=8)
    # Accuracy of exactly the draws evaluate_snn makes with the same seed.
    acc = evaluate_snn(model, ids, labels, draws=3, seed=5, batch_size=8)
    assert m.per_draw == pytest.approx(acc.per_draw) and m.accuracy == pytest.approx(acc.mean)
    # Input rate = input spikes / (draws x T x dim x length x examples), recounted here.
    total = 0.0
    for r in range(3):
        g = torch.Generator().manual_seed(5 + r)
        for start in range(0, 20, 8):
            total += float(model.encode(ids[start : start + 8], Encoding("fresh"), generator=g).sum())
    assert m.rates["input"] == pytest.approx(total / (3 * 12 * 6 * 7 * 20))
    assert m.spikes_per_example["input"] == pytest.approx(total / (3 * 20))
    assert 0 < m.rates["conv0"] < 1 and 0 < m.rates["output"] < 1


@pytest.fixture
def tiny_pair(tiny_net):
    return tiny_net.tailored, tiny_net.converted


def test_energy_cli_writes_the_table(tiny_pair, tmp_path, capsys):
    tailored, converted = tiny_pair
    out = tmp_path / "res" / "energy.csv"
    assert main(["energy", str(tailored), str(converted), "--draws", "2", "--out", str(out),
                 "--mac-pj", "5", "--ac-pj", "1"]) == 0
    row = pd.read_csv(out).iloc[0]
    assert not row["ann_checkpoint"].startswith("/") and not row["snn_checkpoint"].startswith("/")
    assert len(row["snn_model_sha256"]) == 64
    # tiny recipe: dim 16, length 12, widths 2 and 3, 16 maps, 2 classes x 3 neurons.
    conv = 16 * 11 * 16 * 2 + 16 * 10 * 16 * 3
    assert row["ann_flops"] == conv + 32 * 3 * 2
    assert row["ann_energy_pj"] == pytest.approx(5 * row["ann_flops"])
    rates = json.loads(row["snn_rates"])
    expected_sops = 8 * rates["input"] * conv + 8 * rates["pool"] * 32 * 6  # T = 8
    assert row["snn_sops"] == pytest.approx(expected_sops)
    assert row["snn_energy_pj"] == pytest.approx(row["snn_sops"])
    assert row["energy_reduction"] == pytest.approx(row["ann_energy_pj"] / row["snn_energy_pj"])
    loaded = load_model(converted)
    ids, labels = encode_split(loaded.encoder, load_recipe_dataset(loaded.recipe).test)
    assert row["snn_accuracy"] == pytest.approx(evaluate_snn(loaded.model, ids, labels, 2).mean)
    assert row["snn_draws"] == 2 and row["dataset"] == "sst2" and row["embedding_dim"] == 16
    md = out.with_suffix(".md").read_text()
    assert "Table 5" in md and "| sst2" in md
    assert "reduction" in capsys.readouterr().out
    # Fewer time steps: the same weights simulated shorter, so fewer synaptic operations.
    assert main(["energy", str(tailored), str(converted), "--draws", "1", "--out", str(out),
                 "--time-steps", "2"]) == 0
    short = pd.read_csv(out).iloc[0]
    assert short["time_steps"] == 2 and short["snn_sops"] < row["snn_sops"]


def test_energy_cli_refuses_unpaired_checkpoints(tiny_pair, tmp_path, capsys):
    tailored, converted = tiny_pair
    for argv, message in [
        (["energy", str(tailored)], "no spiking checkpoint"),
        (["energy", str(converted)], "no TextCNN"),
        (["energy", str(tailored), str(tailored), str(converted)], "two TextCNN checkpoints"),
        (["energy", str(tmp_path / "nope.pt")], "not found"),
        (["energy", str(tailored), str(converted), "--draws", "0"], "at least 1"),
        (["energy", str(tailored), str(converted), "--time-steps", "0"], "at least 1"),
    ]:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
