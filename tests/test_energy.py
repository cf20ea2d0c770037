"""Energy estimate: FLOPs by hand on tiny networks, SOPs from measured rates, the CLI table;
the spiking transformer's ops by hand and its own table."""

import json

import pandas as pd
import pytest
import torch

from robustsnn.cli import main
from robustsnn.models.encoding import Encoding
from robustsnn.models.loading import encode_split, load_model, load_recipe_dataset
from robustsnn.models.snn import SpikingTextCNN
from robustsnn.models.textcnn import TailoredTextCNN, TextCNN
from robustsnn.reports.energy import (
    layer_flops,
    measure_snn,
    measure_spikformer,
    spikformer_flops,
    spikformer_ops,
    synaptic_ops,
)
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


# ---------------------------------------------------------------- the spiking transformer


def tiny_spikformer(depth=1, kernel=3, classes=2):
    from robustsnn.models.spikformer import SpikingTransformer

    # 4-d word vectors, width 8 in 2 heads of d = 4, MLP width 16 (mlp_ratio 2).
    return SpikingTransformer(10, 4, classes, width=8, depth=depth, heads=2, mlp_ratio=2, kernel=kernel,
                              time_steps=3)


def test_spikformer_flops_by_hand():
    # L = 5 words. Tokenizer: kernel 3 with padding 1 keeps 5 positions: 8 maps x 5 x 4 dims x 3 = 480.
    # Q, K, V, projection: 5 positions x 8 in x 8 out = 320 each. K^T V per head [4, 5] x [5, 4]
    # = 4 x 5 x 4 = 80, times 2 heads = 160; Q (K^T V) per head [5, 4] x [4, 4] = 80, x 2 = 160.
    # MLP: 5 x 8 x 16 = 640 each way. Head: 8 rates x 2 classes = 16.
    block = {"q": 320, "k": 320, "v": 320, "kv": 160, "q_kv": 160, "proj": 320, "fc1": 640, "fc2": 640}
    expected = {"tokenizer": 480, **{f"block0.{k}": n for k, n in block.items()}, "head": 16}
    net = tiny_spikformer()
    assert spikformer_flops(net, 5) == expected
    assert layer_flops(net, 5) == expected  # layer_flops hands a spikformer on
    # Two blocks: the same ops again under block1; kernel 5 (padding 2): 8 x 5 x 4 x 5 = 800; 3 classes: 24.
    two = spikformer_flops(tiny_spikformer(depth=2, kernel=5, classes=3), 5)
    assert two == {"tokenizer": 800, **{f"block{i}.{k}": n for i in (0, 1) for k, n in block.items()}, "head": 24}
    # Everything but the head scales with the pad length.
    assert spikformer_flops(net, 10) == {k: (n if k == "head" else 2 * n) for k, n in expected.items()}


def test_spikformer_ops_price_real_inputs_as_macs_and_spikes_as_acs():
    flops = spikformer_flops(tiny_spikformer(), 5)
    rates = {"block0.attn_in": 0.5, "block0.q_lif": 0.1, "block0.k_lif": 0.2, "block0.v_lif": 0.3,
             "block0.attn_lif": 0.4, "block0.mlp_in": 0.6, "block0.hidden_lif": 0.7, "out_lif": 0.9}
    macs, acs = spikformer_ops(flops, rates, 3)
    # The tokenizer reads the word vectors, the head the readout rates: MACs, once, not T times.
    assert macs == {"tokenizer": 480, "head": 16}
    assert acs == pytest.approx({
        "block0.q": 3 * 0.5 * 320, "block0.k": 3 * 0.5 * 320, "block0.v": 3 * 0.5 * 320,
        "block0.kv": 3 * 0.3 * 160,  # K^T V: the larger of the K (0.2) and V (0.3) rates
        "block0.q_kv": 3 * 0.1 * 160,  # Q (K^T V): only Q is binary
        "block0.proj": 3 * 0.4 * 320, "block0.fc1": 3 * 0.6 * 640, "block0.fc2": 3 * 0.7 * 640,
    })
    swapped = spikformer_ops(flops, {**rates, "block0.k_lif": 0.3, "block0.v_lif": 0.2}, 3)[1]
    assert swapped["block0.kv"] == pytest.approx(acs["block0.kv"])


@pytest.fixture
def tiny_spikformer_run(tiny_data, tmp_path):
    """A spikformer trained one epoch on the toy 'sst2', padded to 10 tokens (the tiny
    TextCNNs pad to 12: the pad lengths differ on purpose)."""
    from conftest import tiny_recipe_dict
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    recipe = recipe_from_dict(tiny_recipe_dict(
        data={"max_len": 10}, train={"max_epochs": 1, "lr": 0.01},
        spikformer={"width": 16, "heads": 2, "depth": 1, "mlp_ratio": 2, "time_steps": 4, "dropout": 0.0}))
    return train(recipe, "spikformer", tmp_path / "spikformer", log=lambda _: None).run_dir / "best.pt"


def test_energy_cli_writes_the_spikformer_table(tiny_net, tiny_spikformer_run, tmp_path, capsys):
    tailored, converted, spikformer = tiny_net.tailored, tiny_net.converted, tiny_spikformer_run
    out = tmp_path / "res" / "energy.csv"
    assert main(["energy", str(tailored), str(converted), "--draws", "2", "--out", str(out)]) == 0
    alone = pd.read_csv(out)
    # With a spikformer too: the converted table is the same (bar the date), the spikformer's beside it.
    assert main(["energy", str(tailored), str(converted), str(spikformer), "--draws", "2", "--out", str(out)]) == 0
    both = pd.read_csv(out)
    assert list(both.columns) == list(alone.columns)
    keep = [c for c in alone.columns if c != "date"]
    pd.testing.assert_frame_equal(both[keep], alone[keep], check_exact=True)
    row = pd.read_csv(tmp_path / "res" / "energy-spikformer.csv").iloc[0]
    assert row["snn_kind"] == "spikformer" and row["ann_kind"] == "tailored" and row["dataset"] == "sst2"
    # Each net at its own pad length; the TextCNN's FLOPs are the converted table's.
    assert row["ann_length"] == 12 and row["snn_length"] == 10 and row["ann_flops"] == both.iloc[0]["ann_flops"]
    # dim 16, width 16 (2 heads of 8), MLP 32, kernel 3, 2 classes, L = 10, T = 4.
    assert json.loads(row["snn_flops_per_layer"]) == {
        "tokenizer": 16 * 10 * 16 * 3, "block0.q": 10 * 16 * 16, "block0.k": 10 * 16 * 16,
        "block0.v": 10 * 16 * 16, "block0.kv": 2 * 8 * 10 * 8, "block0.q_kv": 2 * 10 * 8 * 8,
        "block0.proj": 10 * 16 * 16, "block0.fc1": 10 * 16 * 32, "block0.fc2": 10 * 32 * 16, "head": 16 * 2}
    assert row["snn_macs"] == 16 * 10 * 16 * 3 + 16 * 2
    r = json.loads(row["snn_rates"])
    b = {k.split(".")[-1]: v for k, v in r.items()}
    acs = 4 * (3 * b["attn_in"] * 2560 + max(b["k_lif"], b["v_lif"]) * 1280 + b["q_lif"] * 1280
               + b["attn_lif"] * 2560 + b["mlp_in"] * 5120 + b["hidden_lif"] * 5120)
    assert row["snn_acs"] == pytest.approx(acs)
    assert row["snn_energy_pj"] == pytest.approx(4.6 * row["snn_macs"] + 0.9 * row["snn_acs"])
    assert row["energy_reduction"] == pytest.approx(row["ann_energy_pj"] / row["snn_energy_pj"])
    assert row["ann_energy_pj"] == pytest.approx(4.6 * row["ann_flops"])
    # Rates and accuracy: one deterministic pass over the test split, as the model itself gives them.
    loaded = load_model(spikformer)
    ids, labels = loaded.encoded("test")
    m = measure_spikformer(loaded.model, ids, labels, batch_size=7)
    assert r == pytest.approx(m.rates) and row["snn_accuracy"] == pytest.approx(m.accuracy)
    with torch.no_grad():
        assert m.accuracy == int((loaded.model(ids).argmax(1) == labels).sum()) / len(ids)
    assert 0 < row["rate_mean"] < 1 and len(row["snn_model_sha256"]) == 64 and row["n_examples"] == len(ids)
    assert not row["snn_checkpoint"].startswith("/")
    md = (tmp_path / "res" / "energy-spikformer.md").read_text()
    assert "| sst2" in md and "12 / 10" in md and "block0.kv" in md and "Table 5" not in md
    assert "spikformer" in capsys.readouterr().out
    # Only a spikformer: --out is its table; none given: results/paper/energy-spikformer.csv.
    own = tmp_path / "own.csv"
    assert main(["energy", str(tailored), str(spikformer), "--out", str(own), "--time-steps", "2",
                 "--mac-pj", "5", "--ac-pj", "1"]) == 0
    short = pd.read_csv(own).iloc[0]
    assert short["snn_energy_pj"] == pytest.approx(5 * short["snn_macs"] + short["snn_acs"])
    assert short["time_steps"] == 2 and short["snn_acs"] < row["snn_acs"] and short["snn_macs"] == row["snn_macs"]
    assert not (tmp_path / "own-spikformer.csv").exists() and own.with_suffix(".md").is_file()
    assert load_model(spikformer).model.time_steps == 4
    assert main(["energy", str(tailored), str(spikformer)]) == 0
    from robustsnn.paths import results_dir

    paper = results_dir() / "paper"
    assert (paper / "energy-spikformer.csv").is_file() and not (paper / "energy.csv").exists()
    capsys.readouterr()
    assert main(["energy", str(spikformer)]) == 2
    assert "no TextCNN" in capsys.readouterr().err


def test_energy_update_replaces_the_measured_dataset_and_keeps_the_others_bytes(tiny_pair, tmp_path, capsys):
    tailored, converted = tiny_pair
    out = tmp_path / "energy.csv"
    assert main(["energy", str(tailored), str(converted), "--draws", "2", "--out", str(out)]) == 0
    # Another dataset's row, measured by an earlier report: a copy of this one, renamed.
    first = pd.read_csv(out)
    other = first.assign(dataset="subj", git="abc1234", date="2026-11-29T05:00:00+00:00")
    pd.concat([other, first]).to_csv(out, index=False, float_format="%.17g")
    subj_line = out.read_text().splitlines()[1]
    capsys.readouterr()
    assert main(["energy", str(tailored), str(converted), "--draws", "1", "--out", str(out), "--update"]) == 0
    assert "(1 rows measured, 1 kept)" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[1] == subj_line  # kept verbatim, in its place
    table = pd.read_csv(out)
    assert list(table["dataset"]) == ["subj", "sst2"] and list(table["snn_draws"]) == [2, 1]
    md = out.with_suffix(".md").read_text()
    assert "Rows of subj: kept from the report at git abc1234 on 2026-11-29" in md
    # Without --update the table is what was measured, and says nothing was kept.
    assert main(["energy", str(tailored), str(converted), "--draws", "1", "--out", str(out)]) == 0
    assert list(pd.read_csv(out)["dataset"]) == ["sst2"] and "kept from" not in out.with_suffix(".md").read_text()


def test_energy_update_refuses_a_table_it_did_not_write(tiny_pair, tmp_path, capsys):
    tailored, converted = tiny_pair
    out = tmp_path / "energy.csv"
    out.write_text("dataset,something\nmr,1\n")
    capsys.readouterr()
    assert main(["energy", str(tailored), str(converted), "--draws", "1", "--out", str(out), "--update"]) == 2
    err = capsys.readouterr().err
    assert "lacks column(s)" in err and "without --update" in err and err.count("\n") == 1, err
    assert out.read_text() == "dataset,something\nmr,1\n"
