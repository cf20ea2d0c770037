"""The spiking TextCNN: encodings, state, equivalence with the per-step loop, gradients, ties."""

import pytest
import torch

from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding, frozen_uniforms
from robustsnn.models.snn import (
    SpikingTextCNN,
    leaky_layer,
    rate_loss,
    run_neurons,
    simulate_stepwise,
    tie_broken_scores,
)

VOCAB, DIM, LEN = 60, 12, 10


def make_model(time_steps: int = 16, dropout: float = 0.0, seed: int = 0) -> SpikingTextCNN:
    torch.manual_seed(seed)
    model = SpikingTextCNN(VOCAB, DIM, 3, widths=(2, 3), maps=8, dropout=dropout,
                           neurons_per_class=4, time_steps=time_steps)
    with torch.no_grad():
        model.embedding.weight.uniform_(0.0, 1.0)
        model.embedding.weight[0] = 0.0  # padding
        for conv in model.convs:
            conv.weight.normal_(0.05, 0.3)  # strong enough for every layer to fire
        model.fc.weight.normal_(0.1, 0.5)
    return model.eval()


def make_ids(batch: int = 5, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, VOCAB, (batch, LEN), generator=g)
    ids[0, 7:] = 0  # one padded row
    return ids


def test_encoding_validation_and_parsing():
    assert Encoding.parse("mean-20") == Encoding("mean-k", k=20)
    assert Encoding.parse("frozen", seed=4) == Encoding("frozen", seed=4)
    assert str(Encoding("mean-k", k=3)) == "mean-3"
    for bad in (lambda: Encoding("poisson"), lambda: Encoding("mean-k", k=0),
                lambda: Encoding("fresh", k=2), lambda: Encoding("frozen", seed=-1),
                lambda: Encoding.parse("mean-x")):
        with pytest.raises(UserError):
            bad()


def test_folded_network_equals_the_per_step_loop():
    model = make_model()
    spikes = model.encode(make_ids(), Encoding("fresh"), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        folded, stepwise = model.simulate(spikes), simulate_stepwise(model, spikes)
    assert folded.out_spikes.sum() > 0  # the comparison is not between two silent nets
    assert torch.equal(folded.out_spikes, stepwise.out_spikes)
    torch.testing.assert_close(folded.out_membrane, stepwise.out_membrane)
    for name, count in folded.layer_spikes.items():
        torch.testing.assert_close(count, stepwise.layer_spikes[name])


@pytest.mark.parametrize("fold_rows", [1, 15, 10_000])  # per step, uneven chunks, all at once
def test_time_chunking_changes_neither_outputs_nor_gradients(fold_rows):
    model, ids = make_model(), make_ids()
    spikes = model.encode(ids, Encoding("frozen"))
    labels = torch.tensor([0, 1, 2, 0, 1])

    def outputs_and_grads(rows: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.fold_rows = rows
        model.zero_grad()
        sim = model.simulate(spikes)
        rate_loss(model.population_counts(sim.out_spikes), labels).backward()
        return sim.out_spikes.detach(), [p.grad.clone() for p in (*model.convs.parameters(), model.fc.weight)]

    ref_out, ref_grads = outputs_and_grads(spikes.shape[0] * spikes.shape[1])
    out, grads = outputs_and_grads(fold_rows)
    assert torch.equal(out, ref_out)
    with torch.no_grad():  # the in-place path, carrying membranes across chunks
        model.fold_rows = fold_rows
        assert torch.equal(model.simulate(spikes).out_spikes, ref_out)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r)


@pytest.mark.parametrize("beta", [1.0, 0.95])
def test_in_place_inference_recurrence_matches_snntorch_leaky(beta):
    lif = leaky_layer(beta, 1.0, 25.0)
    currents = torch.randn(30, 4, 7, generator=torch.Generator().manual_seed(0)) * 0.8
    with torch.no_grad():
        fast_spk, fast_mem = run_neurons(lif, currents)  # in place
    slow_spk, slow_mem = run_neurons(lif, currents.clone().requires_grad_())  # Leaky.forward
    assert 0 < float(fast_spk.sum()) < fast_spk.numel()
    assert torch.equal(fast_spk, slow_spk.detach()) and torch.equal(fast_mem, slow_mem.detach())
    assert lif.mem.numel() == 0


@pytest.mark.parametrize("beta", [1.0, 0.95])
def test_fused_training_recurrence_matches_snntorch_autograd(beta):
    """The fused node's spikes, membranes and gradients (to the currents and to a carried-in
    membrane, through the spikes and the last membrane) equal snnTorch's autograd graph."""
    lif = leaky_layer(beta, 1.0, 25.0)
    g = torch.Generator().manual_seed(0)
    currents, mem0 = torch.randn(30, 4, 7, generator=g) * 0.8, torch.rand(4, 7, generator=g) * 1.5
    weights, mem_weights = torch.randn(30, 4, 7, generator=g), torch.randn(4, 7, generator=g)

    def run(fused: bool):
        cur, mem = currents.clone().requires_grad_(), mem0.clone().requires_grad_()
        spk, last = run_neurons(lif, cur, mem, fused=fused)
        ((spk * weights).sum() + (last * mem_weights).sum()).backward()
        return spk.detach(), last.detach(), cur.grad, mem.grad

    fused, reference = run(True), run(False)
    assert 0 < float(fused[0].sum()) < fused[0].numel()
    assert float(fused[2].abs().sum()) > 0
    for a, b in zip(fused, reference):
        assert torch.equal(a, b)
    assert lif.mem.numel() == 0


def test_fused_training_gives_the_whole_network_snntorchs_gradients(monkeypatch):
    import functools

    import robustsnn.models.snn as snn_module

    model = make_model(dropout=0.0).train()
    model.fold_rows = 15  # membranes carried across uneven chunks
    spikes = model.encode(make_ids(), Encoding("frozen"))
    labels = torch.tensor([0, 1, 2, 0, 1])

    def grads() -> list[torch.Tensor]:
        model.zero_grad()
        rate_loss(model.population_counts(model.simulate(spikes).out_spikes), labels).backward()
        return [p.grad.clone() for p in (*model.convs.parameters(), model.fc.weight)]

    fused = grads()
    monkeypatch.setattr(snn_module, "run_neurons", functools.partial(run_neurons, fused=False))
    reference = grads()
    assert all(float(g.abs().sum()) > 0 for g in fused)
    for a, b in zip(fused, reference):
        assert torch.equal(a, b)


def test_fused_path_is_skipped_for_neurons_it_does_not_reproduce():
    lif = leaky_layer(1.0, 1.0, 25.0)
    lif.threshold = torch.nn.Parameter(torch.tensor(1.0))  # learnable: snnTorch's own graph
    currents = (torch.rand(5, 3) * 2).requires_grad_()
    spikes, _ = run_neurons(lif, currents)
    spikes.sum().backward()
    assert lif.threshold.grad is not None


def test_frozen_is_deterministic_and_fresh_is_not():
    model, ids = make_model(), make_ids()
    frozen = Encoding("frozen", seed=3)
    first = model.class_rates(ids, frozen)
    model.class_rates(make_ids(seed=9), Encoding("fresh"))  # an unrelated call in between
    assert torch.equal(first, model.class_rates(ids, frozen))
    assert not torch.equal(first, model.class_rates(ids, Encoding("frozen", seed=4)))
    fresh = [model.class_rates(ids, Encoding("fresh")) for _ in range(3)]
    assert not (torch.equal(fresh[0], fresh[1]) and torch.equal(fresh[1], fresh[2]))


def test_no_membrane_state_survives_a_call():
    model, ids = make_model(), make_ids()
    spikes = model.encode(ids, Encoding("frozen"))
    with torch.no_grad():
        a = model.simulate(spikes)
        model.simulate(torch.ones_like(spikes))  # drive every membrane hard
        b = model.simulate(spikes)
    assert torch.equal(a.out_spikes, b.out_spikes)
    for lif in [*model.conv_lifs, model.pool_lif, model.out_lif]:
        assert lif.mem.numel() == 0
    assert len({id(lif) for lif in model.conv_lifs}) == len(model.convs)  # one layer per branch


def test_frozen_changing_one_word_changes_only_that_words_spikes():
    model, ids = make_model(), make_ids()
    other = ids.clone()
    other[2, 4] = (ids[2, 4] + 1) % VOCAB or 2
    enc = Encoding("frozen", seed=11)
    a, b = model.encode(ids, enc), model.encode(other, enc)  # [T, B, D, L]
    differs = (a != b).any(dim=0).any(dim=1)  # [B, L]
    assert differs[2, 4] and differs.sum() == 1
    # The same word at another position gets another train; the same (position, word) the same.
    assert not torch.equal(model.encode(ids.roll(1, dims=1), enc)[:, :, :, 5], a[:, :, :, 4])


def test_frozen_spikes_have_the_right_rate():
    ids = torch.randint(2, VOCAB, (4, LEN))
    u = frozen_uniforms(ids, seed=5, time_steps=400, dim=DIM)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0
    assert abs(float(u.mean()) - 0.5) < 0.01
    p = torch.full((4, DIM, LEN), 0.3)
    assert abs(float((u < p).float().mean()) - 0.3) < 0.01


def test_surrogate_gradients_reach_every_weight():
    model = make_model(dropout=0.5).train()
    ids, labels = make_ids(), torch.tensor([0, 1, 2, 0, 1])
    counts = model(ids)
    assert counts.shape == (16, 5, 3) and float(counts.detach().max()) <= 4
    rate_loss(counts, labels).backward()
    for conv in model.convs:
        assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert torch.isfinite(model.fc.weight.grad).all() and model.fc.weight.grad.abs().sum() > 0
    assert model.embedding.weight.grad is None  # frozen: Bernoulli sampling has no gradient


def test_mean_k_averages_k_fresh_draws():
    model, ids = make_model(), make_ids()
    out = model.run(ids, Encoding("mean-k", k=3), generator=torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(2)
    single = [model.run(ids, Encoding("fresh"), generator=g).rates for _ in range(3)]
    torch.testing.assert_close(out.rates, sum(single) / 3)
    assert out.rates.min() >= 0 and out.rates.max() <= 1


def test_layer_rates_are_reported_per_layer():
    model, ids = make_model(), make_ids()
    out = model.run(ids, Encoding("frozen"))
    assert list(out.layer_rates) == ["input", "conv0", "conv1", "pool", "output"]
    for rate in out.layer_rates.values():
        assert rate.shape == (5,) and 0 <= float(rate.min()) and float(rate.max()) <= 1
    # Input rate = mean embedding value (padding counts as silent neurons).
    p = model.probabilities(ids).mean(dim=(1, 2))
    torch.testing.assert_close(out.layer_rates["input"], p, atol=0.03, rtol=0)


def test_tie_rule_prefers_counts_then_membrane_then_lowest_index():
    rates = torch.tensor([[0.2, 0.2, 0.1], [0.0, 0.0, 0.0], [0.3, 0.5, 0.5]])
    membrane = torch.tensor([[-1.0, 0.5, 9.0], [2.0, 2.0, 2.0], [9.0, 0.1, 0.2]])
    scores = tie_broken_scores(rates, membrane, resolution=10)
    assert scores.argmax(dim=1).tolist() == [1, 0, 2]
    assert float(scores.min()) >= 0 and float(scores.max()) < 1
    model, ids = make_model(), make_ids()
    out = model.run(ids, Encoding("frozen"))
    assert torch.equal(model.predict(ids, Encoding("frozen")), out.scores.argmax(dim=1))


def test_direct_encoding_injects_the_values_and_is_deterministic():
    from robustsnn.models.encoding import input_spikes

    model = make_model()
    ids = make_ids()
    direct = Encoding.parse("direct")
    assert str(direct) == "direct" and not direct.poisson and Encoding("frozen").poisson
    p = model.probabilities(ids)
    currents = input_spikes(p, ids, direct, 5)
    assert currents.shape == (5, *p.shape) and torch.equal(currents[3], p)
    a, b = model.run(ids, direct), model.run(ids, direct)
    assert torch.equal(a.scores, b.scores)
    # The per-step snnTorch loop on the same currents agrees (graded input, same network).
    sim = simulate_stepwise(model, input_spikes(p, ids, direct, model.time_steps))
    assert torch.equal(model.population_counts(sim.out_spikes).sum(0),
                       model.population_counts(model.simulate(
                           input_spikes(p, ids, direct, model.time_steps)).out_spikes).sum(0))


@pytest.mark.parametrize("fold_draw_rows,batch", [(10, 5), (256, 5), (7, 3), (256, 1)])
def test_folded_draws_are_bit_identical_to_draw_by_draw(fold_draw_rows, batch):
    """mean-k folds its draws into the batch in groups of ``fold_draw_rows`` rows (here 2,
    all, 2 with a remainder, all of one text); every output equals simulating each draw
    alone, bit for bit, including the membrane tie-break and the layer rates."""
    model, ids = make_model(), make_ids(batch)
    encoding = Encoding("mean-k", k=5)
    model.fold_draw_rows = 1  # one draw per simulation: the unfolded path
    alone = model.run(ids, encoding, generator=torch.Generator().manual_seed(4))
    model.fold_draw_rows = fold_draw_rows
    folded = model.run(ids, encoding, generator=torch.Generator().manual_seed(4))
    assert torch.equal(folded.rates, alone.rates) and torch.equal(folded.membrane, alone.membrane)
    assert torch.equal(folded.scores, alone.scores)
    for name, rate in alone.layer_rates.items():
        assert torch.equal(folded.layer_rates[name], rate), name
    assert alone.rates.std() > 0  # the draws fire: the comparison is not of zeros


@pytest.mark.parametrize("fold_rows", [5, 15, 35])  # 1, 3 (with a remainder) and 7 steps per chunk
def test_direct_input_reuses_each_chunk_lengths_convolution_bit_for_bit(fold_rows, monkeypatch):
    """Direct currents are the same at every step, so conv_stage computes each branch once
    per chunk length and hands that output to every chunk of the length: the outputs and
    layer rates equal computing every chunk again, bit for bit, with fewer conv calls."""
    model, ids = make_model(), make_ids()
    model.fold_rows = fold_rows
    direct = Encoding.parse("direct")
    spikes = model.encode(ids, direct)
    calls = {"n": 0}
    for conv in model.convs:
        conv.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    with torch.no_grad():
        every = model.simulate(spikes, constant=False)
        every_calls, calls["n"] = calls["n"], 0
        reused = model.simulate(spikes, constant=True)
    assert every.out_spikes.sum() > 0
    assert torch.equal(reused.out_spikes, every.out_spikes) and torch.equal(reused.out_membrane, every.out_membrane)
    for name, count in every.layer_spikes.items():
        assert torch.equal(reused.layer_spikes[name], count), name
    chunk = model.fold_chunk(model.time_steps, len(ids))
    lengths = {min(chunk, model.time_steps - start) for start in range(0, model.time_steps, chunk)}
    assert calls["n"] == len(model.convs) * len(lengths) < every_calls
    # run() takes the reuse for direct input, and leaves it under autograd (training).
    assert torch.equal(model.run(ids, direct).scores, model.run(ids, direct).scores)
    with torch.enable_grad():
        calls["n"] = 0
        model.simulate(spikes, constant=True)
        assert calls["n"] == every_calls
