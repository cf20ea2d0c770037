"""Data-driven initialisation of the directly-trained spiking TextCNN."""

import json

import pytest
import torch

from robustsnn.cli import main
from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding
from robustsnn.models.snn import SpikingTextCNN, leaky_layer
from robustsnn.train.snn_init import center_filters, data_driven_init, fit_scale


def default_init_model(seed: int = 0, beta: float = 1.0, threshold: float = 1.0) -> SpikingTextCNN:
    """PyTorch's default init over positive 'embeddings', as train-snn builds it."""
    torch.manual_seed(seed)
    model = SpikingTextCNN(50, 12, 2, widths=(2, 3), maps=16, dropout=0.5, neurons_per_class=4,
                           time_steps=20, threshold=threshold, beta=beta)
    with torch.no_grad():
        model.embedding.weight.uniform_(0.2, 0.8)
        model.embedding.weight[0] = 0.0
    return model


def ids(batch: int = 64, length: int = 10) -> torch.Tensor:
    return torch.randint(2, 50, (batch, length), generator=torch.Generator().manual_seed(3))


def test_fit_scale_reaches_the_target_rate():
    lif = leaky_layer(1.0, 1.0, 25.0)
    currents = torch.rand(30, 8, 20, generator=torch.Generator().manual_seed(0)) * 0.05 - 0.01
    scale = fit_scale(lif, currents, 0.25)
    with torch.no_grad():
        from robustsnn.models.snn import run_neurons

        rate = float(run_neurons(lif, currents * scale)[0].mean())
    assert rate == pytest.approx(0.25, rel=0.05)
    with pytest.raises(UserError, match="never positive"):
        fit_scale(lif, -currents.abs(), 0.25)
    with pytest.raises(UserError):
        fit_scale(lif, currents, 1.5)


@pytest.mark.parametrize("beta, threshold", [(1.0, 1.0), (0.9, 2.0)])
def test_layers_fire_at_the_targets_and_mode_is_restored(beta, threshold):
    model = default_init_model(beta=beta, threshold=threshold).train()
    rows = ids()
    report = data_driven_init(model, rows, conv_rate=0.15, output_rate=0.1, seed=1)
    assert model.training  # restored
    for name in ("conv0", "conv1"):
        assert report.rates_after[name] == pytest.approx(0.15, rel=0.05)
    assert report.rates_after["output"] == pytest.approx(0.1, rel=0.05)
    # The reported rates are those of the network itself on the same draw (eval mode).
    model.eval()
    out = model.run(rows, Encoding("fresh"), generator=torch.Generator().manual_seed(1))
    assert float(out.layer_rates["output"].mean()) == pytest.approx(report.rates_after["output"], rel=1e-5)
    assert float(out.layer_rates["conv0"].mean()) == pytest.approx(report.rates_after["conv0"], rel=1e-5)


def test_only_weight_scales_change():
    model = default_init_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = data_driven_init(model, ids(), 0.2, 0.2)
    after = model.state_dict()
    torch.testing.assert_close(after["embedding.weight"], before["embedding.weight"])
    for i in range(2):
        torch.testing.assert_close(after[f"convs.{i}.weight"], before[f"convs.{i}.weight"] * report.scales[f"conv{i}"])
    torch.testing.assert_close(after["fc.weight"], before["fc.weight"] * report.scales["output"])


def test_rates_before_are_those_of_the_untouched_layer():
    model = default_init_model().eval()
    rows = ids()
    untouched = model.run(rows, Encoding("fresh"), generator=torch.Generator().manual_seed(2))
    report = data_driven_init(model, rows, 0.2, 0.2, seed=2)
    for name in ("conv0", "conv1"):  # the first layer sees the same input spikes either way
        assert report.rates_before[name] == pytest.approx(float(untouched.layer_rates[name].mean()), rel=1e-5)


def test_centred_filters_ignore_the_average_window():
    model = default_init_model()
    rows = ids()
    center_filters(model, rows)
    p = model.probabilities(rows)
    for conv in model.convs:
        width = conv.kernel_size[0]
        windows = p.unfold(2, width, 1)  # [B, dim, windows, width]
        real = (rows != 0).float().unfold(1, width, 1).amin(dim=-1)
        mean = ((windows * real[:, None, :, None]).sum(dim=(0, 2)) / real.sum()).flatten()
        with torch.no_grad():
            response = conv.weight.view(conv.out_channels, -1) @ mean
        assert response.abs().max() < 1e-5


def test_mirrored_populations_give_every_class_the_same_output():
    model = default_init_model()
    rows = ids()
    data_driven_init(model, rows, 0.2, 0.2, center=True, mirror=True)
    w = model.fc.weight.view(2, 4, -1)
    assert torch.equal(w[0], w[1])
    out = model.eval().run(rows, Encoding("fresh"), generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.rates[:, 0], out.rates[:, 1]) and float(out.rates.mean()) > 0.05


def test_train_snn_records_the_init(tiny_data, tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        '[data]\ndataset = "sst2"\nmax_len = 12\n[embedding]\nsource = "random"\ndim = 16\n'
        '[model]\nwidths = [2, 3]\nmaps = 16\ndropout = 0.0\nneurons_per_class = 3\n'
        '[snn]\ntime_steps = 16\n[finetune]\nlr = 0.001\nmax_epochs = 1\neval_draws = 1\n',
        encoding="utf-8")
    run = tmp_path / "direct"
    assert main(["train-snn", "--config", str(cfg), "--out", str(run), "--init-rates", "0.3,0.25"]) == 0
    init = json.loads((run / "result.json").read_text())["meta"]["init"]
    assert init["method"] == "data" and init["target_output_rate"] == 0.25
    assert init["centered_filters"] and init["mirrored_classes"]
    assert init["rates_after"]["output"] == pytest.approx(0.25, rel=0.1)
    assert init["rates_after"]["conv0"] == pytest.approx(0.3, rel=0.1)
    # Resuming under another init is refused (the run would mix two baselines).
    assert main(["train-snn", "--config", str(cfg), "--out", str(run), "--resume", "--init", "default"]) == 2
    assert main(["train-snn", "--config", str(cfg), "--init", "default", "--init-rates", "0.1,0.1"]) == 2
