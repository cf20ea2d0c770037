"""An attack that had nothing to try must not read as robustness: examples whose search never
had a candidate are logged ``unattackable``, a cell made mostly of them is refused before it
runs, and the tables say how many there were."""

import math

import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding

require_textattack()

from conftest import write_split  # noqa: E402
from robustsnn.campaign.runner import run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.errors import UserError  # noqa: E402
from robustsnn.records.log import COLUMNS, LEGACY_COLUMNS, AttackLog, read_log  # noqa: E402
from robustsnn.records.metrics import Outcome, compute_metrics  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402

CELL = Cell("sst2", "tailored", "none", "pwws", "none")
# Words the toy swap vocabulary has no neighbour for (like Chinese against English GloVe).
FOREIGN = ["zorp", "quix", "blen", "mardo", "vesk", "trell"]


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


def campaign(n, allow=False):
    return campaign_from_dict({
        "campaign": {"name": "toy", "models": ["tailored"], "recipes": ["pwws"], "seed": 1,
                     "allow_unattackable": allow},
        "examples": {"num_examples": n},
        "threat": {"candidates": 3, "max_modification_rate": 0.5, "similarity": 0.0},
    })


def foreign_test_split(tiny_data, count=8):
    """The toy test split, each sentence's words replaced by ones the swap does not know
    (the label cue kept last would be known: drop it too)."""
    rows = [(i % 2, " ".join(FOREIGN[(i + j) % len(FOREIGN)] for j in range(5)) + " .") for i in range(count)]
    write_split(tiny_data / "sst2" / "test.tsv", rows)


def run(c, tiny_net, tmp_path):
    return run_cell(c, CELL, tmp_path / "res", checkpoint=tiny_net.tailored,
                    resources=AttackResources(embedding=toy_embedding()), log=lambda _: None)


def test_a_cell_nothing_can_attack_is_refused_before_it_runs(tiny_net, tiny_data, textattack, tmp_path):
    foreign_test_split(tiny_data)
    with pytest.raises(UserError, match=r"for 8 of the first 8 examples the transformation offers no candidate"
                                         r".*campaign.allow_unattackable = true"):
        run(campaign(8), tiny_net, tmp_path)
    assert not list((tmp_path / "res").rglob("*.csv"))  # refused before a row was written


def test_allowed_it_logs_unattackable_not_failed(tiny_net, tiny_data, textattack, tmp_path):
    foreign_test_split(tiny_data)
    record = run(campaign(8, allow=True), tiny_net, tmp_path)
    rows = read_log(tmp_path / "res" / "toy" / f"{CELL.key}__shared-swap.csv")
    attacked = [r for r in rows if r["result"] != "skipped"]
    assert attacked and {r["result"] for r in attacked} == {"unattackable"}
    assert all(r["candidates_offered"] == "0" and r["candidates_kept"] == "0" for r in attacked)
    m = record.metrics
    # TextAttack's numbers count them as failed (comparable), the new ones say what happened.
    assert m["failed"] == len(attacked) == m["unattackable"] and m["attack_success_rate"] == 0.0
    assert m["unattackable_share"] == 1.0 and math.isnan(m["attack_success_rate_attackable"])


def test_an_attackable_cell_counts_its_candidates(tiny_net, textattack, tmp_path):
    record = run(campaign(6), tiny_net, tmp_path)
    rows = read_log(tmp_path / "res" / "toy" / f"{CELL.key}__shared-swap.csv")
    attacked = [r for r in rows if r["result"] != "skipped"]
    assert attacked and all(int(r["candidates_offered"]) > 0 for r in attacked)
    assert all(int(r["candidates_kept"]) <= int(r["candidates_offered"]) for r in attacked)
    assert record.metrics["unattackable"] == 0 and record.metrics["unattackable_share"] == 0.0


def test_metrics_over_the_attackable_examples():
    def o(result, candidates=5):
        return Outcome(result, 1 if result == "successful" else 0, 10, 3, 0.1, candidates)

    m = compute_metrics([o("successful"), o("failed"), o("unattackable", 0), o("unattackable", 0), o("skipped", 0)])
    assert (m.successful, m.failed, m.skipped, m.unattackable) == (1, 3, 1, 2)
    assert m.accuracy_under_attack == 3 / 5 and m.attack_success_rate == 1 / 4  # TextAttack's
    assert m.unattackable_share == 2 / 4
    assert m.accuracy_under_attack_attackable == 1 / 3 and m.attack_success_rate_attackable == 1 / 2
    legacy = compute_metrics([o("successful", None), o("failed", None)])  # a log from before the count
    assert math.isnan(legacy.unattackable_share) and legacy.attack_success_rate == 0.5


def test_a_legacy_log_is_read_and_resumed_in_its_own_columns(tmp_path):
    import csv
    import io

    path = tmp_path / "old.csv"
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(LEGACY_COLUMNS)
    path.write_text(header.getvalue(), encoding="utf-8", newline="")
    log = AttackLog(path)
    assert log.columns == LEGACY_COLUMNS
    log.append({"index": 0, "label": 1, "result": "failed", "candidates_offered": 4})
    assert path.read_text(encoding="utf-8").splitlines()[1].count(",") == len(LEGACY_COLUMNS) - 1
    [row] = read_log(path)
    assert tuple(row) == COLUMNS and row["candidates_offered"] == "" and row["result"] == "failed"


def test_a_legacy_log_recounted_finds_exactly_the_logged_unattackable_examples(tiny_net, tiny_data, textattack,
                                                                                tmp_path, monkeypatch):
    """Run a cell that counts its candidates on a mix of texts the swap covers and texts
    it does not, turn its log into one from before the counts (legacy columns,
    ``unattackable`` written as ``failed``), and recount: the same examples come back
    unattackable, and the table's numbers equal the original log's."""
    import csv
    import io

    from robustsnn.analysis.recount import Recounter, needs_recount
    from robustsnn.analysis.table import collect
    from robustsnn.records.record import RunRecord

    known = [(i % 2, "a good movie , fine and great" if i % 2 else "a bad movie , dull and awful") for i in range(4)]
    foreign = [(i % 2, " ".join(FOREIGN[(i + j) % len(FOREIGN)] for j in range(5)) + " .") for i in range(4)]
    write_split(tiny_data / "sst2" / "test.tsv", [row for pair in zip(known, foreign) for row in pair])
    run(campaign(8, allow=True), tiny_net, tmp_path)
    folder = tmp_path / "res" / "toy"
    log_path = folder / f"{CELL.key}__shared-swap.csv"
    truth = read_log(log_path)
    assert {r["result"] for r in truth} >= {"unattackable"} and any(
        r["result"] in ("failed", "successful") for r in truth)  # both kinds present
    [before] = collect(tmp_path / "res")

    out = io.StringIO()
    writer = csv.DictWriter(out, LEGACY_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for r in truth:
        writer.writerow({**r, "result": "failed" if r["result"] == "unattackable" else r["result"]})
    log_path.write_text(out.getvalue(), encoding="utf-8", newline="")  # no identity line, no counts
    legacy = read_log(log_path)
    assert needs_recount(legacy, CELL.recipe) and "unattackable" not in {r["result"] for r in legacy}
    [unknown] = collect(tmp_path / "res")
    assert math.isnan(unknown["unattackable_share"]) and unknown["unattackable_source"] == ""

    record = RunRecord.load(folder / f"{CELL.key}__shared-swap.json")
    recounted = Recounter(AttackResources(embedding=toy_embedding())).rows(record, legacy)
    assert [r["result"] for r in recounted] == [r["result"] for r in truth]
    import robustsnn.analysis.recount as recount_module

    monkeypatch.setattr(recount_module, "Recounter", lambda: Recounter(AttackResources(embedding=toy_embedding())))
    [after] = collect(tmp_path / "res", recount=True)
    assert after["unattackable_source"] == "recounted" and before["unattackable_source"] == "logged"
    for key in ("unattackable_share", "accuracy_under_attack_attackable", "attack_success_rate_attackable",
                "attack_success_rate"):
        assert after[key] == before[key], key
