"""``crn-<k>``: the output rates of k frozen draws (k derived seeds) averaged per query, the
same k draws for every query (common random numbers). Parsing and refusals; the exact
average of k explicit frozen runs; incremental == full; determinism; gradients; a cell
end to end with the R-draw verdict."""

import random

import pytest
import torch

from robustsnn import noise
from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding, crn_seed, input_spikes
from robustsnn.models.incremental import CommonDrawsSimulator, IncrementalSimulator
from robustsnn.models.snn import SpikingTextCNN

VOCAB, LENGTH = 120, 14


def network(time_steps=16, seed=0):
    torch.manual_seed(seed)
    model = SpikingTextCNN(VOCAB, 16, 2, (2, 3), 12, 0.5, 4, time_steps)
    with torch.no_grad():
        model.embedding.weight.normal_(0.5, 0.17).clamp_(0.0, 1.0)
        model.embedding.weight[0] = 0.0
        for conv in model.convs:
            conv.weight.normal_(0.05, 0.3)
        model.fc.weight.normal_(0.1, 0.5)
    return model.eval()


def texts(seed=1):
    """A sentence and the one-word (and one two-word) variants an attack queries next."""
    rng = random.Random(seed)
    base = [rng.randint(2, VOCAB - 1) for _ in range(10)] + [0] * (LENGTH - 10)
    rows = [list(base)]
    for position in (0, 4, 9, 10):
        row = list(base)
        row[position] = rng.randint(2, VOCAB - 1)
        rows.append(row)
    two = list(base)
    two[2], two[7] = rng.randint(2, VOCAB - 1), rng.randint(2, VOCAB - 1)
    return torch.tensor(rows + [two])


# ------------------------------------------------------------------ vocabulary

@pytest.mark.parametrize("text, k, spelled", [("crn-20", 20, "crn-20"), (" CRN-003 ", 3, "crn-3"),
                                              (f"crn-{noise.MAX_DRAWS}", noise.MAX_DRAWS, f"crn-{noise.MAX_DRAWS}")])
def test_crn_parses_to_one_canonical_spelling(text, k, spelled):
    parsed = noise.parse_mode(text)
    assert (parsed.mode, parsed.k, str(parsed)) == (noise.CRN, k, spelled)
    assert noise.canonical(text) == spelled
    encoding = Encoding.parse(text, seed=4)
    assert encoding == Encoding("crn-k", k=k, seed=4) and str(encoding) == spelled and encoding.draws == k


@pytest.mark.parametrize("bad, message", [("crn-0", "positive whole number"), ("crn-x", "positive whole number"),
                                          ("crn-1001", "at most 1000 draws"), ("crn", "how many draws"),
                                          ("crn-k", "how many draws")])
def test_crn_refusals(bad, message):
    with pytest.raises(UserError, match=message):
        noise.parse_mode(bad)


def test_crn_refusals_through_the_python_api():
    with pytest.raises(UserError, match="crn-<k> averages 1 to 1000"):
        Encoding("crn-k", k=1001)
    with pytest.raises(UserError):
        Encoding("crn-k", k=0)
    with pytest.raises(UserError, match="'mean-k' and 'crn-k' only"):
        Encoding("frozen", k=3)
    with pytest.raises(ValueError, match="frozen draws"):
        input_spikes(torch.zeros(1, 2, 3), torch.zeros(1, 3, dtype=torch.long), Encoding("crn-k", k=2), 4)


def test_what_reports_read_from_crn():
    assert noise.draws_per_query("crn-20") is None  # not fresh draws: off the k-curve
    assert noise.simulations_per_query("crn-20") == 20 == noise.simulations_per_query("mean-20")
    assert [noise.simulations_per_query(m) for m in ("none", "fresh", "frozen", "direct")] == [1, 1, 1, 1]
    assert noise.deployed_form("crn-20") == "poisson" and noise.is_poisson("crn-3")
    modes = ["direct", "crn-20", "mean-100", "frozen", "crn-5", "mean-20", "fresh"]
    assert sorted(modes, key=noise.sort_key) == ["fresh", "frozen", "mean-20", "mean-100", "crn-5", "crn-20",
                                                 "direct"]


def test_the_draws_have_derived_seeds():
    draws = Encoding("crn-k", k=4, seed=3).frozen_draws()
    seeds = [d.seed for d in draws]
    assert seeds == [crn_seed(3, j) for j in range(4)] and len(set(seeds)) == 4
    assert all(d == Encoding("frozen", seed=s) for d, s in zip(draws, seeds))
    assert 3 not in seeds  # not the frozen mode's own seed
    assert Encoding("crn-k", k=6, seed=3).frozen_draws()[:4] == draws  # a prefix: crn-4 within crn-6
    assert Encoding("crn-k", k=4, seed=4).frozen_draws() != draws


# ------------------------------------------------------------------ simulation

@pytest.mark.parametrize("fold_draw_rows", [1, 64])  # draw by draw, and draws folded into the batch
def test_crn_is_the_exact_average_of_its_frozen_runs(fold_draw_rows):
    model, ids = network(), texts()
    model.fold_draw_rows = fold_draw_rows
    encoding = Encoding("crn-k", k=3, seed=5)
    out = model.run(ids, encoding)
    runs = [model.run(ids, draw) for draw in encoding.frozen_draws()]
    slots = model.time_steps * model.neurons_per_class
    counts = sum(torch.round(r.rates * slots) for r in runs)  # each run's whole spike counts
    assert counts.sum() > 0 and len({tuple(r.predictions.tolist()) for r in runs}) >= 1
    assert torch.equal(torch.round(out.rates * 3 * slots), counts)
    assert torch.equal(out.rates, counts / (3 * slots))  # divided once, as mean-k does
    membrane = sum(r.membrane for r in runs) / 3
    torch.testing.assert_close(out.membrane, membrane, rtol=0, atol=1e-6)
    for name, rate in out.layer_rates.items():
        torch.testing.assert_close(rate, sum(r.layer_rates[name] for r in runs) / 3)


def test_crn_folding_changes_nothing():
    model, ids = network(), texts()
    encoding = Encoding.parse("crn-4", seed=2)
    model.fold_draw_rows = 1
    alone = model.run(ids, encoding)
    model.fold_draw_rows = 64
    folded = model.run(ids, encoding)
    assert torch.equal(alone.scores, folded.scores) and torch.equal(alone.membrane, folded.membrane)


def test_incremental_crn_equals_the_full_simulation_bit_for_bit():
    model, ids = network(), texts()
    encoding = Encoding.parse("crn-3", seed=7)
    simulator = CommonDrawsSimulator(model, encoding, capacity=4)
    assert [s.encoding for s in simulator.simulators] == list(encoding.frozen_draws())
    model.run(ids[:1], encoding, simulator=simulator)  # the reference of every draw
    for batch in (ids, ids[1:2], ids[2:5], ids[[5, 0]]):
        fast, full = model.run(batch, encoding, simulator=simulator), model.run(batch, encoding)
        assert torch.equal(fast.scores, full.scores) and torch.equal(fast.rates, full.rates)
        assert torch.equal(fast.membrane, full.membrane)
        for name, rate in full.layer_rates.items():
            assert torch.equal(fast.layer_rates[name], rate), name
        for draw, sim in zip(encoding.frozen_draws(), simulator.simulate_draws(batch)):  # per draw, too
            ref = model.simulate(model.encode(batch, draw))
            assert torch.equal(sim.out_spikes, ref.out_spikes) and torch.equal(sim.out_membrane, ref.out_membrane)
    assert simulator.stats["incremental"] >= 3 * 8  # every draw reused its reference
    with pytest.raises(ValueError, match="simulator runs crn-3"):
        model.run(ids, Encoding.parse("crn-4", seed=7), simulator=simulator)
    with pytest.raises(ValueError, match="runs crn-k"):
        CommonDrawsSimulator(model, Encoding("frozen"))
    with pytest.raises(ValueError, match="deterministic encoding"):
        IncrementalSimulator(model, encoding)


def test_crn_is_deterministic_and_its_k_matters():
    model, ids = network(), texts()
    three, five = Encoding.parse("crn-3", seed=1), Encoding.parse("crn-5", seed=1)
    first = model.run(ids, three)
    assert torch.equal(first.scores, model.run(ids, three).scores)  # the same text, the same answer
    assert torch.equal(first.scores, model.run(ids.flip(0), three).scores.flip(0))  # whatever its batch
    assert not torch.equal(first.scores, model.run(ids, five).scores)
    assert not torch.equal(first.scores, model.run(ids, Encoding.parse("crn-3", seed=2)).scores)


def test_the_classifier_simulates_crn_incrementally(tiny_net):
    import numpy as np

    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.loading import load_model

    loaded = load_model(tiny_net.converted)
    encoding = Encoding.parse("crn-3", seed=3)
    fast, full = NetworkClassifier(loaded, encoding), NetworkClassifier(loaded, encoding, incremental=False)
    sentence = "the plot was very superb and it is a film"
    words = sentence.split()
    variants = [sentence] + [" ".join(words[:i] + ["story"] + words[i + 1:]) for i in range(len(words))]
    fast.predict_proba(variants[:1])
    assert np.array_equal(fast.predict_proba(variants), full.predict_proba(variants))
    assert isinstance(fast._simulator, CommonDrawsSimulator) and fast._simulator.stats["incremental"] > 0
    assert full._incremental() is None


# ------------------------------------------------------------------ gradients

def test_the_crn_gradient_is_the_average_of_its_frozen_gradients():
    from robustsnn.models.gradients import snn_input_gradient

    model, ids = network(), texts()[:3]
    encoding = Encoding.parse("crn-3", seed=2)
    grad, labels = snn_input_gradient(model, ids, encoding)
    each = [snn_input_gradient(model, ids, draw, labels=labels)[0] for draw in encoding.frozen_draws()]
    assert grad.abs().sum() > 0
    torch.testing.assert_close(grad, sum(each) / 3, rtol=1e-5, atol=1e-7)
    again, _ = snn_input_gradient(model, ids, encoding)
    assert torch.equal(grad, again)  # deterministic, unlike mean-k's


# ------------------------------------------------------------------ a cell end to end

def test_a_crn_3_cell_runs_end_to_end_with_the_r_draw_verdict(tiny_net, tmp_path, monkeypatch):
    from attack_toys import require_textattack, shared_resources_dir, toy_embedding

    require_textattack()
    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(shared_resources_dir()))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import robustsnn.models.snn as snn
    from robustsnn.campaign.runner import run_cell
    from robustsnn.campaign.spec import campaign_from_dict, cells
    from robustsnn.records.log import read_log
    from robustsnn.resources import AttackResources

    calls = []  # (encoding, simulator type) per SpikingTextCNN.run
    original_run = snn.SpikingTextCNN.run

    def counting_run(self, ids, encoding=snn.FRESH, *args, simulator=None, **kwargs):
        calls.append((encoding, type(simulator).__name__))
        return original_run(self, ids, encoding, *args, simulator=simulator, **kwargs)

    monkeypatch.setattr(snn.SpikingTextCNN, "run", counting_run)
    c = campaign_from_dict({
        "campaign": {"name": "crn", "models": ["snn-converted"], "recipes": ["pwws"], "noise": ["crn-3"],
                     "seed": 3},
        "examples": {"num_examples": 3},
        "threat": {"candidates": 3, "max_modification_rate": 0.2, "similarity": 0.0},
        "verdict": {"draws": 5}})
    (cell,) = cells(c)
    assert cell.noise == "crn-3" and cell.encoding == Encoding("crn-k", k=3)
    record = run_cell(c, cell, tmp_path / "res", checkpoint=tiny_net.converted,
                      resources=AttackResources(embedding=toy_embedding()), log=lambda _: None)
    rows = read_log(tmp_path / "res" / "crn" / "sst2__snn-converted__none__pwws__crn-3__shared-swap.csv")
    assert len(rows) == 3 == record.metrics["n"] and record.complete
    assert record.model["encoding"] == "crn-3" and record.model["encoding_seed"] == 3
    queries = [sim for encoding, sim in calls if encoding == Encoding("crn-k", k=3, seed=3)]
    assert queries and set(queries) == {"CommonDrawsSimulator"}  # the attack's queries, incrementally
    assert {encoding.mode for encoding, _ in calls} == {"crn-k", "fresh"}  # the verdict: fresh draws
    assert record.verdict["draws"] == 5 and record.verdict["n"] + record.verdict["left_out"] == 3
    assert all(r["verdict_draws"] == "5" for r in rows)
