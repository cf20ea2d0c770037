"""``robustsnn sweep-attack`` / ``robustsnn.sweep_attack``: one attack cell at each value of
one threat knob, each value in its own campaign folder, for robustness curves."""

from pathlib import Path
from types import SimpleNamespace

import pytest

import robustsnn
from attack_toys import require_textattack, textattack_fixture, toy_embedding
from robustsnn import api
from robustsnn.campaign.spec import campaign_from_dict
from robustsnn.campaign.sweep import KNOBS, summary_table, sweep_campaigns
from robustsnn.cli import main
from robustsnn.errors import UserError

KNOB = "threat.max_modification_rate"
CELL_LOG = "sst2__tailored__none__pwws__none__shared-swap.csv"
# The toy threat model (test_unattackable.py's): no sentence encoder, a few toy neighbours.
TOY = ["threat.similarity=0", "threat.candidates=3", "campaign.seed=1"]


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    require_textattack()  # here, not at module level: the checks below need no TextAttack
    yield from textattack_fixture(tmp_path_factory)


def test_the_knobs_are_the_numeric_threat_keys():
    assert set(KNOBS) == {f"threat.{k}" for k in ("max_modification_rate", "candidates", "similarity",
                                                  "query_budget", "similarity_window")}
    assert robustsnn.sweep_attack is api.sweep_attack and "sweep_attack" in robustsnn.__all__


def test_each_value_is_the_campaign_with_the_knob_set_and_its_own_name():
    base = campaign_from_dict({"campaign": {"name": "toy"}, "threat": {"candidates": 7}}, source="toy.toml")
    runs = sweep_campaigns(base, KNOB, " 0.2, 0.05,1")
    assert [v for v, _ in runs] == [0.2, 0.05, 1.0]
    assert [c.campaign.name for _, c in runs] == ["toy-sweep-max_modification_rate-0.2",
                                                  "toy-sweep-max_modification_rate-0.05",
                                                  "toy-sweep-max_modification_rate-1.0"]
    for value, c in runs:
        assert c.source == "toy.toml" and c.threat.candidates == 7
        ours, theirs = c.to_dict(), base.to_dict()
        ours["threat"].pop("max_modification_rate"), theirs["threat"].pop("max_modification_rate")
        ours["campaign"].pop("name"), theirs["campaign"].pop("name")
        assert ours == theirs and c.threat.max_modification_rate == value
    [(budget, c)] = sweep_campaigns(base, "threat.query_budget", [50])
    assert budget == 50 and c.campaign.name == "toy-sweep-query_budget-50"


def test_the_summary_shows_the_verdict_for_stochastic_runs():
    def record(value, boa, verdict=None):  # what summary_table reads of a RunRecord
        return SimpleNamespace(threat={"max_modification_rate": value},
                               metrics={"n": 4, "clean_accuracy": 1.0, "accuracy_under_attack": boa,
                                        "attack_success_rate": 1 - boa},
                               verdict=None if verdict is None else {"accuracy_under_attack": verdict})

    deterministic = summary_table(KNOB, [record(0.1, 0.75), record(0.2, 0.5)])
    assert "Boa_R" not in deterministic and "| 0.2 " in deterministic and "75.0" in deterministic
    stochastic = summary_table(KNOB, [record(0.1, 0.75, 0.5), record(0.2, 0.5, 0.25)])
    assert "| Boa_R" in stochastic and "25.0" in stochastic


@pytest.mark.parametrize("args, message", [
    (["--knob", "threat.protocol", "--values", "1"], "cannot sweep 'threat.protocol'"),
    (["--knob", "threat.stopwords", "--values", "1"], "cannot sweep 'threat.stopwords'"),
    (["--knob", "campaign.seed", "--values", "1,2"], "cannot sweep 'campaign.seed'"),
    (["--knob", "max_modification_rate", "--values", "0.1"], "as 'threat.max_modification_rate'"),
    (["--knob", KNOB, "--values", ""], "no sweep values"),
    (["--knob", KNOB, "--values", "0.1,,0.2"], "an empty item"),
    (["--knob", KNOB, "--values", "0.1,"], "an empty item"),
    (["--knob", KNOB, "--values", "0.1,a"], "'a' is not a number"),
    (["--knob", KNOB, "--values", "0.1,0.10"], "is given twice"),
    # A rejected value late in the list stops the sweep before its first value runs.
    (["--knob", KNOB, "--values", "0.1,1.5"], "sweep value 1.5: threat.max_modification_rate must be in (0, 1]"),
    (["--knob", KNOB, "--values", "0.1,0"], "sweep value 0: threat.max_modification_rate must be in (0, 1]"),
    (["--knob", "threat.candidates", "--values", "5,7.5"], "'threat.candidates' must be an integer, got 7.5"),
    (["--knob", "threat.query_budget", "--values", "0,-5"], "threat.query_budget must be a non-negative integer"),
    (["--knob", KNOB, "--values", "0.1", "--set", f"{KNOB}=0.3"], "sets the knob the sweep varies"),
])
def test_bad_knobs_and_values_are_one_line_errors_before_anything_runs(args, message, tmp_path, capsys):
    results = tmp_path / "results"
    code = main(["sweep-attack", "--model", "tailored", "--recipe", "pwws", "--results", str(results), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("robustsnn: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert not results.exists()


def test_the_api_checks_its_values_alike():
    with pytest.raises(UserError, match="no sweep values"):
        api.sweep_attack("tailored", "pwws", KNOB, [])
    with pytest.raises(UserError, match="True is not a number"):
        api.sweep_attack("tailored", "pwws", KNOB, [0.1, True])
    with pytest.raises(UserError, match="sweep value nan"):
        api.sweep_attack("tailored", "pwws", KNOB, [float("nan")])


def _identity(path: Path) -> dict:
    from robustsnn.records.log import read_identity

    identity = read_identity(path)
    assert identity is not None
    return identity


def test_a_sweep_runs_each_value_into_its_own_log_and_resumes(tiny_net, textattack, tmp_path, capsys,
                                                             monkeypatch):
    from robustsnn.campaign import runner
    from robustsnn.records.identity import first_difference
    from robustsnn.records.log import read_log
    from robustsnn.resources import AttackResources

    results, lines = tmp_path / "results", []
    records = api.sweep_attack("tailored", "pwws", KNOB, "0.5,0.1", results=results, overrides=TOY,
                               num_examples=8, checkpoint=tiny_net.tailored, log=lines.append,
                               resources=AttackResources(embedding=toy_embedding()))
    names = ["adhoc-sweep-max_modification_rate-0.5", "adhoc-sweep-max_modification_rate-0.1"]
    assert [r.campaign_name for r in records] == names  # in value order
    assert sorted(p.name for p in results.iterdir()) == sorted(names)
    logs = [results / name / CELL_LOG for name in names]
    assert all(log.is_file() and log.with_suffix(".json").is_file() for log in logs)
    # The two experiments differ in the knob alone: in their records and in their logs' identities.
    large, small = (r.threat for r in records)
    assert (large.pop("max_modification_rate"), small.pop("max_modification_rate")) == (0.5, 0.1)
    assert large == small
    assert first_difference(_identity(logs[1]), _identity(logs[0])) == (KNOB, 0.1, 0.5)

    # A larger budget extends the same greedy search: an example the smaller one broke the
    # larger one breaks too, so accuracy under attack cannot rise with the rate.
    rows = {name: {r["index"]: r["result"] for r in read_log(log)} for name, log in zip(names, logs)}
    broken = {name: {i for i, result in by_index.items() if result == "successful"} for name, by_index in rows.items()}
    assert broken[names[1]] <= broken[names[0]]
    boa = [r.metrics["accuracy_under_attack"] for r in records]
    assert boa[0] <= boa[1] and records[0].metrics["n"] == records[1].metrics["n"] == 8

    # The same command again resumes each value from its own log: nothing is attacked again.
    def attacked(*args, **kwargs):
        raise AssertionError("an example was attacked again")

    monkeypatch.setattr(runner.CellWorker, "attack_example", attacked)
    before = [log.read_bytes() for log in logs]

    class ToyResources(AttackResources):  # what the CLI builds, with the toy swap in it
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            if self.embedding is None:
                self.embedding = toy_embedding()

    from robustsnn.resources import offline

    monkeypatch.setattr(offline, "AttackResources", ToyResources)
    capsys.readouterr()
    code = main(["sweep-attack", "--model", "tailored", "--recipe", "pwws", "--knob", KNOB, "--values", "0.5,0.1",
                 "--num-examples", "8", "--results", str(results), "--checkpoint", str(tiny_net.tailored),
                 *[arg for item in TOY for arg in ("--set", item)]])
    out = capsys.readouterr().out
    assert code == 0
    assert [log.read_bytes() for log in logs] == before
    cln = records[0].metrics["clean_accuracy"]
    for value, b in zip(("0.5", "0.1"), boa):
        assert (f"[max_modification_rate={value}] sst2__tailored__none__pwws__none: "
                "8 of 8 examples already logged: finished") in out
        # robustsnn attack's line, after the value it ran
        assert (f"max_modification_rate={value}: sst2 tailored (none, defense none) vs pwws [shared-swap]: "
                f"N=8 Cln={100 * cln:.1f} Boa={100 * b:.1f}") in out
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in out.splitlines() if line.startswith("| ")]
    assert cells[0] == [KNOB, "N", "Cln", "Boa", "Suc"]  # no Boa_R: a TextCNN has no verdict
    assert [(c[0], c[3]) for c in cells[1:]] == [("0.5", f"{100 * boa[0]:.1f}"), ("0.1", f"{100 * boa[1]:.1f}")]


def test_a_stochastic_sweep_reports_its_verdict_and_the_site_plots_it_as_one_curve(tiny_net, textattack, tmp_path):
    """The site's knob plots pool runs of one model and recipe that differ only in the knob."""
    from robustsnn.reports.site import build_site
    from robustsnn.resources import AttackResources

    results = tmp_path / "results"
    records = api.sweep_attack("snn-converted", "pwws", "threat.query_budget", [0, 20], noise="frozen",
                               results=results, overrides=[*TOY, "verdict.draws=3"], num_examples=2,
                               checkpoint=tiny_net.converted, log=lambda _: None,
                               resources=AttackResources(embedding=toy_embedding()))
    assert [r.campaign_name for r in records] == ["adhoc-sweep-query_budget-0",
                                                                    "adhoc-sweep-query_budget-20"]
    assert all(r.cell.noise == "frozen" and r.verdict["draws"] == 3 for r in records)
    assert "| Boa_R" in summary_table("threat.query_budget", records)
    build_site(results, tmp_path / "site", root=tmp_path)
    assert (tmp_path / "site" / "plots" / "query_budget__sst2__pwws__shared-swap.png").is_file()
