"""Conversion tailored -> spiking: exact strict copy, normalisation factors, rate tracking."""

import numpy as np
import pytest
import torch
from torch import nn

from conftest import tiny_recipe_dict
from robustsnn.cli import main
from robustsnn.config import recipe_from_dict
from robustsnn.errors import UserError
from robustsnn.models.checkpoint import load_checkpoint
from robustsnn.models.encoding import Encoding
from robustsnn.models.loading import encode_split, load_model, load_recipe_dataset
from robustsnn.models.snn import SpikingTextCNN
from robustsnn.models.textcnn import TailoredTextCNN
from robustsnn.train.ann import train
from robustsnn.train.convert import TopTail, convert, copy_weights

QUIET = {"log": lambda _: None}


@pytest.fixture
def tailored_ckpt(tiny_net):
    return tiny_net.tailored


def test_conversion_copies_every_weight_exactly(tailored_ckpt, tmp_path):
    out = tmp_path / "snn.pt"
    assert main(["convert", str(tailored_ckpt), "--out", str(out)]) == 0
    source, snn = load_checkpoint(tailored_ckpt), load_checkpoint(out)
    assert snn["kind"] == "snn" and snn["config"] == source["config"] and snn["vocab"] == source["vocab"]
    assert snn["meta"]["norm"] == "none" and snn["meta"]["source_checkpoint"] == str(tailored_ckpt.resolve())
    weights = {k: v for k, v in snn["model"].items() if k.startswith(("embedding.", "convs.", "fc."))}
    assert weights.keys() == source["model"].keys()
    for name, value in source["model"].items():
        assert torch.equal(weights[name], value), name
    loaded = load_model(out)  # the pipeline rebuilds spiking checkpoints too
    assert loaded.kind == "snn" and isinstance(loaded.model, SpikingTextCNN)
    assert float(loaded.model.out_lif.threshold) == 1.0 and loaded.model.time_steps == 8


def test_model_norm_divides_each_layer_by_its_max_positive_weight(tailored_ckpt):
    tailored = load_model(tailored_ckpt).model
    conv = convert(tailored_ckpt, "model", save=False, **QUIET)
    lam_conv = max(float(c.weight.detach().max()) for c in tailored.convs)
    lam_fc = float(tailored.fc.weight.detach().max())
    assert conv.factors == pytest.approx({"conv": lam_conv, "fc": lam_fc})
    for a, b in zip(conv.model.convs, tailored.convs):
        torch.testing.assert_close(a.weight, b.weight / lam_conv)
    torch.testing.assert_close(conv.model.fc.weight, tailored.fc.weight / lam_fc)


def test_data_norm_uses_percentiles_of_training_activations(tailored_ckpt):
    loaded = load_model(tailored_ckpt)
    tailored = loaded.model
    ids, _ = encode_split(loaded.encoder, load_recipe_dataset(loaded.recipe).train)
    with torch.no_grad():
        x = tailored.embedding(ids).transpose(1, 2)
        acts = [torch.relu(c(x)) for c in tailored.convs]
        pre = tailored.fc(torch.cat([a.mean(dim=2) for a in acts], dim=1))
    conv_vals = torch.cat([a[a > 0] for a in acts]).numpy()
    expected = {"conv": np.percentile(conv_vals, 99.9), "fc": np.percentile(pre[pre > 0].numpy(), 99.9)}
    result = convert(tailored_ckpt, "data", save=False, **QUIET)
    assert result.factors == pytest.approx(expected, rel=1e-5)
    for a, b in zip(result.model.convs, tailored.convs):
        torch.testing.assert_close(a.weight, b.weight / expected["conv"])
    torch.testing.assert_close(result.model.fc.weight,
                               tailored.fc.weight * (expected["conv"] / expected["fc"]))
    assert result.payload["meta"]["percentile"] == 99.9
    assert tailored.training is False  # the source's mode is restored


def test_top_tail_is_numpys_percentile():
    g = torch.Generator().manual_seed(0)
    chunks = [torch.rand(n, generator=g) ** 3 for n in (1000, 7, 5000, 1)]
    tail = TopTail(sum(len(c) for c in chunks), 99.9)
    for c in chunks:
        tail.add(c)
    assert tail.value() == pytest.approx(np.percentile(torch.cat(chunks).numpy(), 99.9), rel=1e-6)
    assert tail.top.numel() <= tail.capacity


def test_converted_rates_track_the_tailored_activations():
    torch.manual_seed(0)
    tailored = TailoredTextCNN(20, 8, 2, widths=(2, 3), maps=6, dropout=0.0, neurons_per_class=3).eval()
    with torch.no_grad():
        tailored.embedding.weight.uniform_(0.0, 1.0)
        for conv in tailored.convs:
            conv.weight.normal_(0.0, 0.15)
        tailored.fc.weight.normal_(0.05, 0.4)
    snn = SpikingTextCNN(20, 8, 2, widths=(2, 3), maps=6, dropout=0.0, neurons_per_class=3,
                         time_steps=3000).eval()
    copy_weights(tailored, snn)
    ids = torch.randint(1, 20, (4, 6), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ann_out = tailored.population(ids).clamp(0.0, 1.0)
        sim = snn.simulate(snn.encode(ids, Encoding("frozen")))
        x = tailored.embedding(ids).transpose(1, 2)
        ann_conv = torch.cat([torch.relu(c(x)).clamp(max=1.0).flatten(1) for c in tailored.convs], 1)
    assert 0.1 < float(ann_out.mean()) < 0.9  # a non-trivial operating point
    snn_out = sim.out_spikes.mean(dim=0)
    assert float((snn_out - ann_out).abs().max()) < 0.05
    conv_rate = (sim.layer_spikes["conv0"] + sim.layer_spikes["conv1"]) / (3000 * ann_conv.shape[1])
    torch.testing.assert_close(conv_rate, ann_conv.mean(dim=1), atol=0.02, rtol=0)


def test_copy_is_strict():
    snn = SpikingTextCNN(20, 8, 2, widths=(2, 3), maps=6, neurons_per_class=3)
    wrong_shape = TailoredTextCNN(20, 8, 2, widths=(2, 3), maps=5, neurons_per_class=3)
    with pytest.raises(UserError, match="shape"):
        copy_weights(wrong_shape, snn)
    extra = TailoredTextCNN(20, 8, 2, widths=(2, 3), maps=6, neurons_per_class=3)
    extra.fc = nn.Linear(18, 6, bias=True)  # a bias the spiking net has no place for
    with pytest.raises(UserError, match=r"unexpected \['fc.bias'\]"):
        copy_weights(extra, snn)
    fewer = TailoredTextCNN(20, 8, 2, widths=(2,), maps=6, neurons_per_class=3)
    with pytest.raises(UserError, match="missing"):
        copy_weights(fewer, snn)


def test_convert_errors_are_one_line(tailored_ckpt, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    train(recipe, "textcnn", tmp_path / "textcnn", **QUIET)
    cases = [(corrupt, "corrupt"), (tmp_path / "missing.pt", "not found"),
             (tmp_path / "textcnn" / "best.pt", "only tailored checkpoints convert")]
    for path, message in cases:
        capsys.readouterr()
        assert main(["convert", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    # A tailored checkpoint whose weights do not fit its config is refused before conversion.
    state = load_checkpoint(tailored_ckpt)
    state["model"]["fc.bias"] = torch.zeros(state["model"]["fc.weight"].shape[0])
    torch.save(state, tmp_path / "mismatch.pt")
    capsys.readouterr()
    assert main(["convert", str(tmp_path / "mismatch.pt")]) == 2
    err = capsys.readouterr().err
    assert "does not match" in err and err.count("\n") == 1
