"""The spike-encoding mode is parsed once, where it enters (``--noise`` or a campaign's
``noise`` key), into an ``Encoding`` that every later stage receives: a ``mean-20`` cell
really averages 20 draws per query, a bare ``mean-k`` is refused with the fix, the CLI
and a campaign file give the same Encoding, and ``--k`` is gone with a one-line error.

Before: ``noise = ["mean-k"]`` ran one draw per query under a log named ``mean-k``, the
same file through ``robustsnn attack --campaign`` ran 20, and ``--k`` was silently
ignored with ``--noise fresh|frozen``.
"""

import json
from pathlib import Path

import pytest

from conftest import run_record_dict
from robustsnn.campaign.spec import NOISE_NONE, Cell, campaign_from_dict, cells, load_campaign
from robustsnn.cli import main
from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding
from robustsnn.records.log import log_exists
from robustsnn.records.record import RunRecord

HINT = "write the number of draws in the mode, e.g. mean-20"
MEAN_20 = Encoding("mean-k", k=20)


def campaign_dict(noise, models=("snn",), **sections):
    base = {"campaign": {"name": "noise", "models": list(models), "recipes": ["pwws"],
                         "noise": list(noise), "seed": 3}}
    return {**base, **sections}


def write_campaign(folder: Path, noise, models=("snn",)) -> Path:
    lines = ["# robustsnn campaign noise.toml", "[campaign]", 'name = "noise"',
             "models = [" + ", ".join(f'"{m}"' for m in models) + "]", 'recipes = ["pwws"]',
             "noise = [" + ", ".join(f'"{n}"' for n in noise) + "]", "seed = 3"]
    path = folder / "noise.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ one parser, one spelling

@pytest.mark.parametrize("text, expected", [
    ("fresh", Encoding("fresh")), ("frozen", Encoding("frozen")), ("mean-20", MEAN_20),
    (" MEAN-020 ", MEAN_20), ("mean-1", Encoding("mean-k", k=1)),
])
def test_parse_gives_the_encoding_and_spells_it_back(text, expected):
    assert Encoding.parse(text) == expected
    assert str(Encoding.parse(text)) == text.strip().lower().replace("-020", "-20")


@pytest.mark.parametrize("bare", ["mean-k", "MEAN-K", "mean"])
def test_a_bare_mean_k_is_refused_with_the_fix(bare):
    with pytest.raises(UserError, match=HINT):
        Encoding.parse(bare)
    with pytest.raises(UserError, match=HINT):
        Cell("sst2", "snn", "none", "pwws", bare)


@pytest.mark.parametrize("bad, message", [
    ("mean--3", "mean-<k> takes a positive whole number of draws, e.g. mean-20"),
    ("mean-0", "mean-<k> takes a positive whole number of draws"),
    ("mean-x", "mean-<k> takes a positive whole number of draws"),
    ("loud", "unknown encoding mode 'loud'"),
    ("none", "unknown encoding mode 'none'"),
])
def test_bad_modes_are_named(bad, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        Encoding.parse(bad)


def test_a_campaign_with_a_bare_mean_k_does_not_load(tmp_path):
    with pytest.raises(UserError, match=f"campaign.noise: .*{HINT}"):
        campaign_from_dict(campaign_dict(["mean-k"]))
    with pytest.raises(UserError, match=HINT):
        load_campaign(write_campaign(tmp_path, ["frozen", "mean-k"]))
    # One spelling per mode: the file's spelling is the log files' name.
    with pytest.raises(UserError, match="write 'Mean-020' as 'mean-20'"):
        campaign_from_dict(campaign_dict(["Mean-020"]))


def test_log_names_stay_what_they_were():
    """Committed logs (results/attacks) still resolve: the cell key spells the noise as before."""
    for noise, encoding in (("fresh", Encoding("fresh")), ("frozen", Encoding("frozen")),
                            ("mean-20", MEAN_20), ("none", None)):
        cell = Cell("sst2", "snn", "none", "pwws", noise)
        assert cell.key == f"sst2__snn__none__pwws__{noise}"
        assert cell.noise == noise and cell.encoding == encoding
        assert cell.to_dict()["noise"] == noise
        assert Cell("sst2", "snn", "none", "pwws", encoding or NOISE_NONE) == cell
    records = sorted(Path(__file__).parents[1].glob("results/attacks/*/*.json"))
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert path.stem == f"{Cell(**record['cell']).key}__{record['protocol']}", path
        assert log_exists(path.parent / record["log"]), path  # plain or compressed (.gz)


def test_a_cell_takes_its_seed_from_the_campaign():
    with pytest.raises(UserError, match="takes its seed from the campaign"):
        Cell("sst2", "snn", "none", "pwws", Encoding("frozen", seed=7))


# ------------------------------------------------------------------ CLI and campaign agree

@pytest.fixture
def captured_cells(monkeypatch):
    """run_cell replaced by a recorder: what each entry point would run, without running it."""
    import robustsnn.campaign.runner as runner

    seen = []

    def fake_run_cell(campaign, cell, results, checkpoint=None, resources=None, log=print, executor=None,
                      progress=None):
        seen.append((campaign, cell))
        metrics = {"n": 0, "clean_accuracy": 0.0, "accuracy_under_attack": 0.0,
                   "attack_success_rate": 0.0, "seconds_per_example": 0.0}
        return RunRecord.from_dict(run_record_dict(cell.dataset, cell.model, cell.recipe, cell.noise,
                                                   protocol=campaign.threat.protocol, metrics=metrics))

    monkeypatch.setattr(runner, "run_cell", fake_run_cell)
    return seen


def test_campaign_file_and_cli_give_the_same_encoding(tmp_path, captured_cells, capsys):
    path = write_campaign(tmp_path, ["mean-20"])
    assert [c.encoding for c in cells(load_campaign(path))] == [MEAN_20]
    assert main(["campaign", str(path)]) == 0  # robustsnn campaign FILE
    assert main(["attack", "--model", "snn", "--recipe", "pwws", "--campaign", str(path)]) == 0
    assert main(["attack", "--model", "snn", "--recipe", "pwws", "--noise", "mean-20"]) == 0
    assert main(["attack", "--model", "snn", "--recipe", "pwws", "--noise", "MEAN-20"]) == 0
    import robustsnn

    robustsnn.run_attack("snn", "pwws", noise=MEAN_20)
    robustsnn.run_attack("snn", "pwws", noise="mean-20", campaign=path)
    robustsnn.run_campaign(load_campaign(path), log=lambda _: None)
    assert len(captured_cells) == 7
    for _, cell in captured_cells:
        assert cell.encoding == MEAN_20 and cell.noise == "mean-20"
        assert cell.key == "sst2__snn__none__pwws__mean-20"
    out = capsys.readouterr().out
    assert out.count("sst2 snn (mean-20, defense none) vs pwws") == 4  # the four CLI runs


def test_cli_default_noise_is_the_campaigns_first_mode(tmp_path, captured_cells, capsys):
    assert main(["attack", "--model", "snn", "--recipe", "pwws"]) == 0  # no campaign: fresh
    path = write_campaign(tmp_path, ["frozen", "mean-20"])
    assert main(["attack", "--model", "snn", "--recipe", "pwws", "--campaign", str(path)]) == 0
    assert main(["attack", "--model", "textcnn", "--recipe", "pwws", "--campaign", str(path)]) == 0
    assert [c.noise for _, c in captured_cells] == ["fresh", "frozen", NOISE_NONE]
    assert [c.encoding for _, c in captured_cells] == [Encoding("fresh"), Encoding("frozen"), None]


@pytest.mark.parametrize("args, message", [
    (["--noise", "mean-k"], HINT),
    (["--noise", "mean--3"], "mean-<k> takes a positive whole number of draws"),
    (["--noise", "none"], "model 'snn' is stochastic; give a noise mode"),
    (["--k", "20"], "--k is gone: write the number of draws in the mode, e.g. --noise mean-20"),
    (["--noise", "mean-k", "--k", "5"], "e.g. --noise mean-5"),
    (["--noise", "frozen", "--k", "20"], "--k is gone"),  # was silently ignored
    (["--k", "-3"], "--k is gone"),  # was "unknown encoding mode 'mean--3'"
    (["--k"], "--k is gone"),
])
def test_cli_noise_errors_are_one_line(args, message, captured_cells, capsys):
    assert main(["attack", "--model", "snn", "--recipe", "pwws", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robustsnn: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not captured_cells  # nothing ran


def test_deterministic_models_still_refuse_a_noise_mode(captured_cells, capsys):
    for noise in ("fresh", "frozen", "mean-20"):
        assert main(["attack", "--model", "textcnn", "--recipe", "pwws", "--noise", noise]) == 2
        assert "model 'textcnn' is deterministic" in capsys.readouterr().err
    assert not captured_cells


def test_build_classifier_refuses_a_mismatched_cell():
    """No silent default: a stochastic model under noise 'none' used to run fresh draws."""
    from robustsnn.campaign.runner import build_classifier

    c = campaign_from_dict(campaign_dict(["frozen"]))
    with pytest.raises(UserError, match="model 'snn' is stochastic"):
        build_classifier(Cell("sst2", "snn", "none", "pwws", "none"), c)
    with pytest.raises(UserError, match="model 'textcnn' is deterministic"):
        build_classifier(Cell("sst2", "textcnn", "none", "pwws", "frozen"), c)


# ------------------------------------------------------------------ mean-20 end to end

def test_a_mean_20_cell_averages_20_draws_per_query(tiny_net, tmp_path, monkeypatch):
    """run_cell on a real ``mean-20`` campaign cell, counting the input-spike draws of every
    SNN call: 20 for each attack query, 1 for each of the verdict's fresh draws."""
    from attack_toys import require_textattack, toy_embedding

    require_textattack()
    from attack_toys import shared_resources_dir

    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(shared_resources_dir()))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import robustsnn.models.snn as snn
    from robustsnn.campaign.runner import run_cell
    from robustsnn.resources import AttackResources

    calls = []  # one [encoding, draws, batch] per SpikingTextCNN.run
    original_run, original_spikes = snn.SpikingTextCNN.run, snn.input_spikes

    def counting_run(self, ids, encoding=snn.FRESH, *args, **kwargs):
        calls.append([encoding, 0, len(ids)])
        return original_run(self, ids, encoding, *args, **kwargs)

    def counting_spikes(probabilities, ids, encoding, *args, **kwargs):
        calls[-1][1] += 1
        assert encoding == calls[-1][0]
        return original_spikes(probabilities, ids, encoding, *args, **kwargs)

    monkeypatch.setattr(snn.SpikingTextCNN, "run", counting_run)
    monkeypatch.setattr(snn, "input_spikes", counting_spikes)

    c = campaign_from_dict(campaign_dict(
        ["mean-20"], models=["snn-converted"], examples={"num_examples": 3},
        threat={"candidates": 3, "max_modification_rate": 0.2, "similarity": 0.0}, verdict={"draws": 2}))
    (cell,) = cells(c)
    assert cell.encoding == MEAN_20
    record = run_cell(c, cell, tmp_path / "res", checkpoint=tiny_net.converted,
                      resources=AttackResources(embedding=toy_embedding()), log=lambda _: None)

    assert (tmp_path / "res" / "noise" / "sst2__snn-converted__none__pwws__mean-20__shared-swap.csv").is_file()
    assert record.cell.noise == "mean-20" and record.complete and record.metrics["n"] == 3
    assert record.model["encoding"] == "mean-20" and record.model["encoding_seed"] == 3
    queries = [(draws, batch) for encoding, draws, batch in calls if encoding.mode == "mean-k"]
    verdict = [(draws, batch) for encoding, draws, batch in calls if encoding.mode == "fresh"]
    assert len(queries) >= 3 and sum(batch for _, batch in queries) > 3  # the attack really queried
    assert {draws for draws, _ in queries} == {20}, "every attack query averages 20 draws"
    assert {encoding.k for encoding, _, _ in calls if encoding.mode == "mean-k"} == {20}
    assert verdict and {draws for draws, _ in verdict} == {1}  # the verdict: single fresh draws
    assert {encoding.mode for encoding, _, _ in calls} == {"mean-k", "fresh"}
