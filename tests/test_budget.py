"""A search the query budget stopped is its own outcome, ``budget``: not ``unattackable``
(the transformation offered no candidate at all) and not a plain ``failed`` (a search that
finished without success). TextAttack counts it as a failed attack, and so do Cln/Boa/Suc;
the metrics and the table give its share beside the unattackable one."""

import math

import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding

require_textattack()

from robustsnn.campaign.runner import run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402
from robustsnn.records.metrics import BUDGET, Outcome, compute_metrics  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402
from test_unattackable import foreign_test_split  # noqa: E402

CELL = Cell("sst2", "tailored", "none", "pwws", "none")
LOG = f"{CELL.key}__shared-swap.csv"


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


def campaign(n, budget, allow=False, name="toy"):
    return campaign_from_dict({
        "campaign": {"name": name, "models": ["tailored"], "recipes": ["pwws"], "seed": 1,
                     "allow_unattackable": allow},
        "examples": {"num_examples": n},
        "threat": {"candidates": 3, "max_modification_rate": 0.5, "similarity": 0.0, "query_budget": budget},
    })


def run(c, tiny_net, results):
    record = run_cell(c, CELL, results, checkpoint=tiny_net.tailored,
                      resources=AttackResources(embedding=toy_embedding()), log=lambda _: None)
    return record, read_log(results / c.campaign.name / LOG)


@pytest.mark.parametrize("budget", [1, 2])
def test_a_search_the_budget_stopped_is_logged_budget_not_unattackable(budget, tiny_net, textattack, tmp_path):
    record, rows = run(campaign(6, budget), tiny_net, tmp_path / "res")
    attacked = [r for r in rows if r["result"] != "skipped"]
    assert attacked and {r["result"] for r in attacked} == {"budget"}
    # The search never got to ask the transformation: no candidate counted, all queries spent.
    assert all(r["candidates_offered"] == "0" and int(r["queries"]) == budget for r in attacked)
    m = record.metrics
    assert m["budget_exhausted"] == len(attacked) and m["unattackable"] == 0
    assert m["failed"] == len(attacked) and m["attack_success_rate"] == 0.0  # TextAttack's count
    assert m["budget_share"] == 1.0 and m["unattackable_share"] == 0.0
    from robustsnn.cli.attack import _record_line

    line = _record_line(record)  # what `robustsnn attack` prints
    assert f"budget ran out {len(attacked)}" in line and "unattackable" not in line


def test_budget_only_where_the_search_spent_it(tiny_net, textattack, tmp_path):
    """Under a budget that runs out part way, a failed search that spent it is ``budget``
    (with or without candidates counted), one that stopped short of it is ``failed``; and
    with no budget (or one never reached) nothing is ``budget``."""
    unlimited = {r["index"]: r for r in run(campaign(6, 0, name="free"), tiny_net, tmp_path / "free")[1]}
    assert "budget" not in {r["result"] for r in unlimited.values()}
    most = max(int(r["queries"]) for r in unlimited.values())
    _, roomy = run(campaign(6, most + 1, name="roomy"), tiny_net, tmp_path / "roomy")
    assert [r["result"] for r in roomy] == [unlimited[r["index"]]["result"] for r in roomy]

    budget = 10
    _, rows = run(campaign(6, budget, name="tight"), tiny_net, tmp_path / "tight")
    for r in rows:
        if r["result"] == "budget":
            assert int(r["queries"]) == budget
        elif r["result"] in ("failed", "unattackable"):
            assert int(r["queries"]) < budget
    kinds = [r["result"] for r in rows]
    assert "budget" in kinds and "failed" in kinds  # some searches ran out, one finished short of it
    assert all(int(r["candidates_offered"]) > 0 for r in rows if r["result"] == "budget")


def test_unattackable_keeps_its_meaning_under_a_budget(tiny_net, tiny_data, textattack, tmp_path):
    """Texts the transformation offers nothing for stay ``unattackable`` even when a budget
    of 1 stops the search before it asks: the runner asks the transformation itself."""
    foreign_test_split(tiny_data)
    record, rows = run(campaign(8, 1, allow=True), tiny_net, tmp_path / "res")
    attacked = [r for r in rows if r["result"] != "skipped"]
    assert attacked and {r["result"] for r in attacked} == {"unattackable"}
    assert record.metrics["budget_exhausted"] == 0 and record.metrics["unattackable_share"] == 1.0


def test_metrics_count_budget_as_failed_and_give_its_share():
    def o(result, candidates=5):
        return Outcome(result, 1 if result == "successful" else 0, 10, 3, 0.1, candidates)

    m = compute_metrics([o("successful"), o("failed"), o(BUDGET, 0), o(BUDGET), o("unattackable", 0),
                         o("skipped", 0)])
    assert (m.successful, m.failed, m.skipped, m.unattackable, m.budget_exhausted) == (1, 4, 1, 1, 2)
    assert m.accuracy_under_attack == 4 / 6 and m.attack_success_rate == 1 / 5  # TextAttack's
    assert m.budget_share == 2 / 5 and m.unattackable_share == 1 / 5
    # Budget-stopped searches had candidates to try (or may have): they are attackable.
    assert m.accuracy_under_attack_attackable == 3 / 5 and m.attack_success_rate_attackable == 1 / 4
    old = compute_metrics([o("successful", None), o("failed", None)])  # a log from before both types
    assert old.budget_exhausted == 0 and old.budget_share == 0.0 and math.isnan(old.unattackable_share)
    assert math.isnan(compute_metrics([o("skipped", 0)]).budget_share)  # nothing attacked


def _rewrite(path, change):
    """Rewrite the log at ``path`` as an older robustsnn would have written it."""
    import csv
    import io

    from robustsnn.records.log import COLUMNS

    rows = read_log(path)
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(change(r))
    path.write_text(out.getvalue(), encoding="utf-8", newline="")


def test_the_table_has_a_budget_column_and_recovers_it_from_older_logs(tiny_net, textattack, tmp_path,
                                                                       monkeypatch):
    import robustsnn.analysis.recount as recount_module
    from robustsnn.analysis.recount import Recounter
    from robustsnn.analysis.table import collect, render_markdown

    results = tmp_path / "res"
    _, truth = run(campaign(6, 6), tiny_net, results)
    stopped = [r for r in truth if r["result"] == "budget"]
    # Both kinds of budget stop: with candidates counted, and before the transformation was asked.
    assert {r["candidates_offered"] == "0" for r in stopped} == {True, False}
    [row] = collect(results)
    attacked = [r for r in truth if r["result"] != "skipped"]
    assert row["budget_share"] == len(stopped) / len(attacked) and row["unattackable_share"] == 0.0
    header = [c.strip() for c in render_markdown([row]).splitlines()[0].strip("|").split("|")]
    assert header[header.index("unatt") + 1] == "budget"

    # Before the type existed the runner logged a budget stop failed when it had counted
    # candidates and unattackable when not: the first kind the table tells by its queries
    # (they reached the budget), the second only a recount (the transformation, asked once).
    _rewrite(results / "toy" / LOG, lambda r: {**r, "result": ("failed" if r["candidates_offered"] != "0"
                                                                else "unattackable")
                                               if r["result"] == "budget" else r["result"]})
    [old] = collect(results)
    ambiguous = sum(r["candidates_offered"] == "0" for r in stopped)
    assert old["budget_share"] == (len(stopped) - ambiguous) / len(attacked)
    assert old["unattackable_share"] == ambiguous / len(attacked)
    monkeypatch.setattr(recount_module, "Recounter", lambda: Recounter(AttackResources(embedding=toy_embedding())))
    [recounted] = collect(results, recount=True)
    for key in ("budget_share", "unattackable_share", "accuracy_under_attack", "attack_success_rate",
                "accuracy_under_attack_attackable", "attack_success_rate_attackable"):
        assert recounted[key] == row[key], key
    assert recounted["unattackable_source"] == "logged"


def test_recount_leaves_budget_rows_alone(tiny_net, textattack, tmp_path):
    from robustsnn.analysis.recount import Recounter
    from robustsnn.records.record import RunRecord

    results = tmp_path / "res"
    _, rows = run(campaign(6, 1), tiny_net, results)
    record = RunRecord.load(results / "toy" / LOG.replace(".csv", ".json"))
    legacy = [{**r, "candidates_offered": "", "candidates_kept": ""} for r in rows]
    again = Recounter(AttackResources(embedding=toy_embedding())).rows(record, legacy)
    assert [r["result"] for r in again] == [r["result"] for r in rows]


def test_worst_case_counts_a_budget_stop_as_a_failed_attack(tmp_path):
    import json

    from conftest import run_record_dict
    from robustsnn.analysis.adaptive import k_curve
    from robustsnn.analysis.worst_case import load_runs, worst_case
    from robustsnn.records.log import AttackLog

    def write(noise, results):
        stem = f"sst2__snn__none__pwws__{noise}__shared-swap"
        log = AttackLog(tmp_path / "c" / f"{stem}.csv")
        for i, result in enumerate(results):
            log.append({"index": i, "label": 1, "result": result, "original_text": "t", "queries": 1,
                        "perturbed_text": "u" if result == "successful" else "t", "words_perturbed": 0,
                        "num_words": 1, "seconds": 0.1, "verdict_draws": 4, "verdict_clean_votes": 4,
                        "verdict_final_votes": 0 if result == "successful" else 4, "verdict_clean_correct": 1,
                        "verdict_final_correct": 0 if result == "successful" else 1})
        record = run_record_dict(model="snn", noise=noise, sha=None, campaign="c", log=f"{stem}.csv",
                                 verdict_draws=4)
        (tmp_path / "c" / f"{stem}.json").write_text(json.dumps(record))

    write("fresh", ["successful", "budget", "failed", "budget"])
    write("mean-4", ["budget", "budget", "successful", "failed"])
    runs = load_runs(tmp_path)
    [wc] = worst_case(runs)
    assert wc.robust_examples == (1, 3)  # not broken by any attack: robust as far as the results go
    rates = {r["noise"]: r["attack_success_rate"] for r in k_curve(runs)}
    assert rates == {"fresh": 1 / 4, "mean-4": 1 / 4}  # budget stops are attacked examples, failed
