"""The spiking transformer (models/spikformer.py): spikes, surrogate gradients, training on
toy data, checkpoints, and its place in the zoo, the recipes and the build chains."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import tiny_recipe_dict
from robustsnn.errors import UserError

QUIET = {"log": lambda _: None}
SPIKFORMER = {"width": 16, "heads": 2, "depth": 2, "mlp_ratio": 2, "time_steps": 4, "dropout": 0.0}


def tiny_spikformer_recipe(**train):
    from robustsnn.config import recipe_from_dict

    return recipe_from_dict(tiny_recipe_dict(spikformer=SPIKFORMER,
                                             train={"max_epochs": 4, "lr": 0.01, **train}))


def model(width=16, depth=2, vocab=30, dim=8, classes=2, seed=0, **kw):
    from robustsnn.models.spikformer import SpikingTransformer

    torch.manual_seed(seed)
    net = SpikingTransformer(vocab, dim, classes, width=width, depth=depth, heads=2, time_steps=4, **kw)
    with torch.no_grad():
        net.embedding.weight[1:].uniform_(0.0, 1.0)  # positive vectors; row 0 (padding) stays zero
    return net


def ids_with_padding(batch=6, length=9, vocab=30, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (batch, length), generator=g)
    for row in range(batch):
        ids[row, 3 + row % 5:] = 0
    return ids


def lif_outputs(net, ids):
    """Every LIF layer's output spikes in one forward pass."""
    from robustsnn.models.spikformer import LIF

    seen = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
             for m in net.modules() if isinstance(m, LIF)]
    try:
        net(ids)
    finally:
        for h in hooks:
            h.remove()
    return seen


# ---------------------------------------------------------------- the network


def test_shapes_and_binary_spikes_everywhere():
    net = model().eval()
    ids = ids_with_padding()
    with torch.no_grad():
        assert net(ids).shape == (6, 2)
        spikes, mask = net.simulate(net.embedding(ids))
    assert spikes.shape == (4, 6, 9, 16) and mask.shape == (6, 9)
    assert torch.equal(mask, (ids != 0).float())
    outputs = lif_outputs(net, ids)
    # 2 blocks x (attention in, Q, K, V, attention out, MLP in, MLP hidden) + readout
    assert len(outputs) == 2 * 7 + 1
    for out in outputs:
        assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert 0 < outputs[-1].mean() < 1  # the readout neither silent nor saturated


def test_padding_changes_nothing():
    """Masked keys and readout: the same words with more padding after them score the same."""
    net = model().eval()
    ids = ids_with_padding()
    longer = torch.cat([ids, torch.zeros(6, 5, dtype=torch.long)], dim=1)
    with torch.no_grad():
        assert torch.allclose(net(ids), net(longer), atol=1e-6)


def test_run_gives_the_forward_scores_and_every_lif_layer_rate():
    """One pass: the scores of forward bit for bit, the weights untouched, and each LIF
    layer's rate = its spikes (recounted by hooks) per neuron per step, padding included;
    the keys after the padding mask, as the attention reads them."""
    from robustsnn.models.checkpoint import model_sha256
    from robustsnn.models.spikformer import LIF

    net = model().eval()
    ids = ids_with_padding()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    digest = model_sha256({"format": 1, "kind": "spikformer", "config": {}, "vocab": [], "model": before})
    with torch.no_grad():
        expected = net(ids)
    names = {module: name for name, module in net.named_modules() if isinstance(module, LIF)}
    seen: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda m, _i, out: seen.__setitem__(names[m], out.detach()))
             for m in names]
    try:
        out = net.run(ids)
    finally:
        for h in hooks:
            h.remove()
    assert torch.equal(out.scores, expected) and torch.equal(out.predictions, expected.argmax(dim=1))
    after = net.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)
    assert model_sha256({"format": 1, "kind": "spikformer", "config": {}, "vocab": [], "model": after}) == digest
    # 2 blocks x 7 LIF layers + the readout, in firing order, named after their modules.
    assert list(out.layer_rates) == list(net.layer_sizes(9)) == [
        *(f"block{i}.{n}" for i in (0, 1)
          for n in ("attn_in", "q_lif", "k_lif", "v_lif", "attn_lif", "mlp_in", "hidden_lif")), "out_lif"]
    mask = (ids != 0).float()[None, :, :, None]
    for module_name, spikes in seen.items():
        parts = module_name.split(".")
        name = "out_lif" if module_name == "out_lif" else f"block{parts[1]}.{parts[-1]}"
        if parts[-1] == "k_lif":
            spikes = spikes * mask
        t, b, length, channels = spikes.shape
        assert net.layer_sizes(9)[name] == length * channels
        assert torch.allclose(out.layer_rates[name], spikes.sum(dim=(0, 2, 3)) / (t * length * channels)), name
    assert len(seen) == 15 and out.time_steps == 4
    assert 0 < out.layer_rates["out_lif"].mean() < 1 and 0 < out.layer_rates["block0.attn_in"].mean() < 1


def test_surrogate_gradients_reach_the_input_and_every_layer():
    net = model().train()
    x = net.embedding(ids_with_padding()).detach().requires_grad_(True)
    torch.nn.functional.cross_entropy(net.classify(x), torch.tensor([0, 1, 0, 1, 0, 1])).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # Behind the first LIF layer only a surrogate gradient can reach these weights: the
    # Heaviside step's own derivative is zero almost everywhere.
    for name, p in net.named_parameters():
        if name != "embedding.weight":
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fused_neurons_match_snntorch_stepping():
    """The fused LIF recurrence gives snnTorch's spikes and gradients (the speed path is exact)."""
    results = []
    for fused in (True, False):
        net = model().train()
        net.set_fused(fused)
        x = net.embedding(ids_with_padding()).detach().requires_grad_(True)
        scores = net.classify(x)
        torch.nn.functional.cross_entropy(scores, torch.tensor([0, 1, 0, 1, 0, 1])).backward()
        results.append((scores.detach(), x.grad, net.tokenizer.weight.grad))
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-5)


# ---------------------------------------------------------------- recipes and config


def test_shipped_spikformer_recipes():
    from robustsnn.artifacts import SPIKFORMER as SPIKFORMER_ARTIFACT
    from robustsnn.config import load_recipe
    from robustsnn.paths import shipped_file

    for dataset in ("sst2", "mr"):
        recipe = load_recipe(f"{dataset}-spikformer")
        assert recipe.data.dataset == dataset and recipe.data.max_len == load_recipe(dataset).data.max_len
        s = recipe.spikformer
        assert s is not None and s.time_steps == 4 and s.width % s.heads == 0
        assert load_recipe(f"{dataset}-spikformer", ["spikformer.width=64"]).spikformer.width == 64
        first = shipped_file("recipe", f"{dataset}-spikformer").read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# {SPIKFORMER_ARTIFACT.command(dataset)}"  # runs as written, anywhere


def test_the_section_is_absent_from_the_textcnn_recipes():
    """Recipes without it store exactly the dict they stored before (checkpoint bytes, resume)."""
    from robustsnn.config import load_recipe, recipe_from_dict

    recipe = load_recipe("sst2")
    assert recipe.spikformer is None and "spikformer" not in recipe.to_dict()
    assert recipe_from_dict(recipe.to_dict()) == recipe
    with_it = load_recipe("sst2-spikformer")
    assert recipe_from_dict(with_it.to_dict()) == with_it


def test_recipe_mistakes_are_one_line():
    from robustsnn.config import recipe_from_dict, validate_recipe
    from robustsnn.models.factory import build_model

    bad = recipe_from_dict(tiny_recipe_dict(spikformer={"width": 10, "heads": 4}))
    with pytest.raises(UserError, match="multiple of spikformer.heads"):
        validate_recipe(bad)
    with pytest.raises(UserError, match=r"no \[spikformer\] section.*--config sst2-spikformer"):
        build_model("spikformer", recipe_from_dict(tiny_recipe_dict()), 10, 4, 2)


def test_training_from_a_recipe_without_the_section_is_one_line(capsys, monkeypatch, tmp_path):
    from robustsnn.cli import main

    monkeypatch.setenv("ROBUSTSNN_DATA", str(tmp_path / "no-data"))  # refused before any data is read
    assert main(["train", "--config", "sst2", "--model", "spikformer"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("robustsnn: error: recipe for sst2 has no [spikformer] section; train the spiking transformer "
                   "from its own recipe (--config sst2-spikformer)")


# ---------------------------------------------------------------- training and checkpoints


@pytest.fixture
def trained(tiny_data, tmp_path):
    from robustsnn.train.ann import train

    result = train(tiny_spikformer_recipe(), "spikformer", tmp_path / "run", **QUIET)
    return result


def test_training_learns_the_toy_task(trained):
    log = json.loads((trained.run_dir / "log.json").read_text())
    losses = [epoch["loss"] for epoch in log if epoch["loss"] is not None]
    assert len(losses) == 4
    assert losses[-1] < 0.5 * losses[0]
    assert trained.test_accuracy >= 0.9  # one cue word per sentence decides the label; chance is 0.5


def test_checkpoint_round_trip_is_strict(trained, tmp_path):
    from robustsnn.models.checkpoint import load_checkpoint
    from robustsnn.models.loading import load_model

    path = trained.run_dir / "best.pt"
    loaded = load_model(path)
    assert loaded.kind == "spikformer" and not loaded.model.training
    ids, _ = loaded.encoded("test")
    with torch.no_grad():
        assert torch.equal(loaded.model(ids), load_model(path).model(ids))
    ckpt = load_checkpoint(path)
    assert ckpt["config"]["spikformer"]["depth"] == 2
    del ckpt["model"]["blocks.1.attention.q.linear.weight"]
    torch.save(ckpt, tmp_path / "broken.pt")
    with pytest.raises(UserError, match="does not match its model"):
        load_model(tmp_path / "broken.pt")


def test_registered_by_name_as_a_deterministic_white_box_model(trained, monkeypatch):
    from robustsnn.models.gradients import ann_input_gradient
    from robustsnn.testing import check_model
    from robustsnn.zoo import MODELS

    entry = MODELS.get("spikformer")
    assert entry.stochastic is False and entry.relpath == "spikformer/best.pt"
    checkpoint = trained.run_dir / "best.pt"
    assert "batch invariance" in check_model("spikformer", dataset="sst2", checkpoint=checkpoint)
    classifier = entry.load("sst2", checkpoint, None)
    assert classifier.describe()["model"] == "spikformer" and classifier.describe()["encoding"] is None
    # What TextClassifierWrapper.get_grad hands to hotflip and gradient-wir
    # (tests/test_gradient_attack.py runs gradient-wir on it end to end).
    ids, grad = classifier.input_gradient("the movie was good and the plot was dull")
    assert len(ids) == 9 and grad.shape == (9, 16) and np.abs(grad).sum() > 0
    expected, _ = ann_input_gradient(classifier.loaded.model, classifier.loaded.encoder.encode(
        ["the movie was good and the plot was dull"]))
    assert torch.allclose(torch.from_numpy(grad).float(), expected[0, :9], atol=1e-7)
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.encoding import Encoding
    from robustsnn.zoo import load_checkpoint_model

    with pytest.raises(UserError, match="deterministic; it takes no encoding"):
        NetworkClassifier(load_checkpoint_model(checkpoint), encoding=Encoding("direct"))


def test_build_chain_and_missing_checkpoint_message(tmp_path, monkeypatch):
    from robustsnn.artifacts import SPIKFORMER
    from robustsnn.cli.build import plan
    from robustsnn.zoo import MODELS

    assert SPIKFORMER.kind == "spikformer" and SPIKFORMER.relpath == "spikformer/best.pt"
    assert SPIKFORMER.recipe("mr") == "mr-spikformer"
    assert SPIKFORMER.chain("mr") == "robustsnn train --config mr-spikformer --model spikformer"
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    steps, foreign = plan([("sst2", "spikformer")], tmp_path)
    assert [s.command for s in steps] == ["robustsnn train --config sst2-spikformer --model spikformer"]
    assert foreign == []
    with pytest.raises(UserError, match="build it with: robustsnn train --config sst2-spikformer"):
        MODELS.get("spikformer").load("sst2")
