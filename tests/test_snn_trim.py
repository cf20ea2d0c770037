"""Trailing padding is skipped by the convolutions, bit-identically (models/snn.py, active_length)."""

import pytest
import torch

from robustsnn.models.encoding import Encoding
from robustsnn.models.snn import rate_loss, simulate_stepwise
from test_snn_model import LEN, VOCAB, make_model


def padded_ids(batch: int = 6, real: int = 5) -> torch.Tensor:
    ids = torch.randint(2, VOCAB, (batch, LEN), generator=torch.Generator().manual_seed(4))
    ids[:, real:] = 0  # every row ends in padding: the batch's longest sentence has `real` tokens
    ids[0, real - 2:] = 0
    return ids


@pytest.mark.parametrize("encoding", [Encoding("fresh"), Encoding("frozen", seed=3)])
def test_trimmed_network_is_bit_identical_to_the_full_per_step_loop(encoding):
    model = make_model()
    ids = padded_ids()
    spikes = model.encode(ids, encoding, generator=torch.Generator().manual_seed(0))
    assert model.active_length(spikes) == 5 + max(model.widths) - 1 < LEN  # trimming happens
    with torch.no_grad():
        trimmed, full = model.simulate(spikes), simulate_stepwise(model, spikes)
    assert trimmed.out_spikes.sum() > 0
    assert torch.equal(trimmed.out_spikes, full.out_spikes)
    assert torch.equal(trimmed.out_membrane, full.out_membrane)
    for name, count in trimmed.layer_spikes.items():
        assert torch.equal(count, full.layer_spikes[name]), name


def test_trimmed_training_step_gives_the_same_loss_and_gradients():
    model = make_model().train()
    ids = padded_ids()
    spikes = model.encode(ids, Encoding("frozen"))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    grads = []
    for simulate in (model.simulate, lambda s: simulate_stepwise(model, s)):
        model.zero_grad(set_to_none=True)
        loss = rate_loss(model.population_counts(simulate(spikes).out_spikes), labels)
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in (*model.convs.parameters(), model.fc.weight)]))
    assert torch.equal(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b)


def test_active_length_edge_cases():
    model = make_model()
    silent = torch.zeros(4, 2, 12, LEN)
    assert model.active_length(silent) == max(model.widths)  # still a valid conv input
    full = torch.zeros(4, 2, 12, LEN)
    full[1, 0, 3, LEN - 1] = 1.0
    assert model.active_length(full) == LEN
