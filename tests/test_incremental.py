"""Incremental simulation of word-substitution queries equals a full simulation bit for
bit: random texts, substitutions at the edges and in the padding, several words at once,
a shifted row (a substitution that changes the token count), lone rows, odd batch sizes."""

import random

import pytest
import torch

from robustsnn.models.encoding import Encoding
from robustsnn.models.incremental import IncrementalSimulator
from robustsnn.models.snn import SpikingTextCNN

VOCAB, LENGTH = 300, 25


def network(time_steps=50, beta=1.0, seed=0):
    torch.manual_seed(seed)
    model = SpikingTextCNN(VOCAB, 50, 2, (3, 4, 5), 100, 0.5, 10, time_steps, beta=beta)
    with torch.no_grad():  # positive-GloVe-like probabilities, silent padding
        model.embedding.weight.normal_(0.5, 0.17).clamp_(0.0, 1.0)
        model.embedding.weight[0] = 0.0
        for conv in model.convs:  # converted nets fire: scale the currents up
            conv.weight.mul_(4.0)
        model.fc.weight.mul_(4.0)
    return model.eval()


def sentence(rng, length=None):
    n = length or rng.randint(3, LENGTH)
    return [rng.randint(2, VOCAB - 1) for _ in range(n)] + [0] * (LENGTH - n)


def variants(rng, base):
    """Texts an attack would query next to ``base``."""
    real = max(i for i, t in enumerate(base) if t) + 1
    out = []
    for position in (0, real - 1, rng.randrange(real), min(real, LENGTH - 1)):  # edges, middle, padding
        row = list(base)
        row[position] = rng.randint(2, VOCAB - 1)
        out.append(row)
    two = list(base)  # two words apart
    for position in rng.sample(range(real), min(2, real)):
        two[position] = rng.randint(2, VOCAB - 1)
    out.append(two)
    shifted = [base[0], rng.randint(2, VOCAB - 1), *base[1:-1]]  # one token more: every column moves
    out.append(shifted)
    out.append(list(base))  # the reference itself
    return out


def assert_same(fast, full, direct=False):
    # A network that never fired would make the comparison empty.
    assert full.layer_spikes["conv0"].min() > 0 and full.layer_spikes["output"].sum() > 0
    assert torch.equal(fast.out_spikes, full.out_spikes)
    assert torch.equal(fast.out_membrane, full.out_membrane)
    for name, count in full.layer_spikes.items():
        if direct and name == "input":  # a float sum of currents, not of spikes
            torch.testing.assert_close(fast.layer_spikes[name], count)
        else:
            assert torch.equal(fast.layer_spikes[name], count), name


@pytest.mark.parametrize("mode", ["frozen", "direct"])
@pytest.mark.parametrize("beta", [1.0, 0.9])
def test_incremental_equals_full_simulation(mode, beta):
    rng = random.Random(7)
    model = network(beta=beta)
    encoding = Encoding(mode, seed=3)
    simulator = IncrementalSimulator(model, encoding, capacity=4)
    with torch.no_grad():
        for _ in range(6):
            base = sentence(rng)
            for batch in ([base], variants(rng, base), variants(rng, base)[:1],
                          [*variants(rng, base), sentence(rng)][:7]):
                ids = torch.tensor(batch)
                full = model.simulate(model.encode(ids, encoding))
                assert_same(simulator.simulate(ids), full, direct=mode == "direct")
    assert simulator.stats["incremental"] > 20 and simulator.stats["full"] > 5


def test_the_run_api_and_a_changed_encoding():
    model = network(time_steps=20)
    frozen = Encoding("frozen", seed=1)
    simulator = IncrementalSimulator(model, frozen)
    rng = random.Random(1)
    base = sentence(rng, 12)
    ids = torch.tensor([base, *variants(rng, base)])
    model.run(ids[:1], frozen, simulator=simulator)  # the reference
    fast, full = model.run(ids, frozen, simulator=simulator), model.run(ids, frozen)
    assert torch.equal(fast.scores, full.scores) and torch.equal(fast.rates, full.rates)
    assert simulator.stats["incremental"] >= 5
    with pytest.raises(ValueError, match="simulator runs frozen"):
        model.run(ids, Encoding("frozen", seed=2), simulator=simulator)
    with pytest.raises(ValueError, match="deterministic encoding"):
        IncrementalSimulator(model, Encoding("fresh"))


def test_conv_outputs_do_not_depend_on_rows_or_length():
    """What the bit-identity rests on: from two rows on, a conv output element is computed
    alike whatever the batch size, row length or position of the slice."""
    torch.manual_seed(1)
    for w in (3, 5):
        conv = torch.nn.Conv1d(50, 100, w, bias=False)
        x = (torch.rand(300, 50, 40) < 0.4).float()
        whole = conv(x)
        for rows in (2, 3, 50, 256):
            for start, length in ((0, w), (5, 2 * w - 1), (40 - 17, 17)):
                part = conv(x[:rows, :, start : start + length].contiguous())
                assert torch.equal(part, whole[:rows, :, start : start + length - w + 1])


def test_simulators_run_together_equal_each_alone():
    """simulate_together batches several simulators' windows into one call per branch; with
    different references (so different windows, widened to one width) each result still
    equals that simulator's own full simulation."""
    from robustsnn.models.incremental import simulate_together

    rng = random.Random(3)
    model = network(time_steps=20)
    encodings = [Encoding("frozen", seed=s) for s in (1, 2, 3)]
    simulators = [IncrementalSimulator(model, e, capacity=4) for e in encodings]
    base = sentence(rng, 20)
    near = list(base)
    near[2] = rng.randint(2, VOCAB - 1)
    far = list(base)
    far[5:9] = [rng.randint(2, VOCAB - 1) for _ in range(4)]
    with torch.no_grad():
        simulators[0].simulate(torch.tensor([base, base]))  # a reference one word away
        simulators[1].simulate(torch.tensor([far, far]))  # a reference five words away
        for batch in ([near, base, far], variants(rng, base), [base]):  # simulators[2]: none yet
            ids = torch.tensor(batch)
            together = simulate_together(simulators, ids)
            for simulation, encoding in zip(together, encodings):
                assert_same(simulation, model.simulate(model.encode(ids, encoding)))
    assert all(s.stats["incremental"] > 0 for s in simulators)
    with pytest.raises(ValueError, match="one model and one T"):
        simulate_together([simulators[0], IncrementalSimulator(network(), encodings[0])], torch.tensor([base]))


def test_direct_batches_that_span_several_chunks_equal_full_simulation():
    """A batch of ~100 rows runs in several time chunks, both the windows (2048 rows per
    call) and the rows simulated in full (256): with direct input each chunk length's
    convolution is computed once and reused (SpikingTextCNN.conv_stage), bit for bit."""
    rng = random.Random(11)
    model = network()
    encoding = Encoding("direct")
    simulator = IncrementalSimulator(model, encoding, capacity=4)
    with torch.no_grad():
        for _ in range(2):
            base = sentence(rng, LENGTH - 2)
            simulator.simulate(torch.tensor([base]))  # the reference the variants differ from
            rows = [row for _ in range(15) for row in variants(rng, base)] + [sentence(rng) for _ in range(20)]
            ids = torch.tensor(rows)
            every = model.simulate(model.encode(ids, encoding), constant=False)
            assert_same(model.simulate(model.encode(ids, encoding), constant=True), every)
            assert_same(simulator.simulate(ids), every, direct=True)
    assert simulator.stats["incremental"] > 100 and simulator.stats["full"] > 20
