"""Transfer runs and the query-cache setting, end to end on the tiny TextCNN and SNN."""

import pytest

from attack_toys import require_textattack

require_textattack()

from robustsnn.campaign.runner import run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, transfer_cells  # noqa: E402
from robustsnn.campaign.transfer import run_transfer, transfer_recipe  # noqa: E402
from robustsnn.errors import UserError  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402
from test_attack_runner import campaign as toy_campaign  # noqa: E402
from test_attack_runner import models, strip_seconds, textattack, toy_resources  # noqa: E402,F401

QUIET = dict(log=lambda _: None)


def campaign(n=8, draws=5, query_cache=True):
    """The runner tests' toy campaign, with the query cache set."""
    from dataclasses import replace

    c = toy_campaign(n=n, draws=draws)
    return replace(c, campaign=replace(c.campaign, query_cache=query_cache))
SOURCE = Cell("sst2", "textcnn", "none", "pwws", "none")


def _source_run(results, c):
    run_cell(c, SOURCE, results, resources=toy_resources(), **QUIET)
    return read_log(results / "toy" / "sst2__textcnn__none__pwws__none__shared-swap.csv")


def test_self_transfer_reproduces_the_source_run(models, tmp_path):
    # Replaying a deterministic model's own adversarial texts against it must give back
    # exactly the source's outcomes: a check of the replay and of the row semantics.
    c = campaign(n=10)
    source_rows = _source_run(tmp_path, c)
    target = Cell("sst2", "textcnn", "none", transfer_recipe(SOURCE), "none")
    record = run_transfer(c, SOURCE, target, tmp_path, **QUIET)
    rows = read_log(tmp_path / "toy" / record.log)
    assert [r["result"] for r in rows] == [r["result"] for r in source_rows]
    assert any(r["result"] == "successful" for r in rows)
    assert record.attack["transfer_from"] == SOURCE.to_dict() and record.complete


def test_transfer_to_the_snn_uses_its_answers_and_the_verdict(models, tmp_path):
    from robustsnn.api import load_classifier

    c = campaign(n=10, draws=7)
    source_rows = {r["index"]: r for r in _source_run(tmp_path, c)}
    target = Cell("sst2", "snn-converted", "none", transfer_recipe(SOURCE), "frozen")
    record = run_transfer(c, SOURCE, target, tmp_path, **QUIET)
    assert record.verdict_draws == 7 and record.verdict is not None
    snn = load_classifier("sst2", "snn-converted", noise="frozen")  # campaign seed 3, set below
    from dataclasses import replace

    snn.encoding = replace(snn.encoding, seed=3)
    rows = read_log(tmp_path / "toy" / record.log)
    assert len(rows) == len(source_rows)
    for row in rows:
        src = source_rows[row["index"]]
        label = int(row["label"])
        clean_ok = snn.predict_proba([src["original_text"]])[0].argmax() == label
        if not clean_ok:
            assert row["result"] == "skipped"
        elif src["result"] == "successful":
            fooled = snn.predict_proba([src["perturbed_text"]])[0].argmax() != label
            assert row["result"] == ("successful" if fooled else "failed")
        else:
            assert row["result"] == "failed" and row["perturbed_text"] == src["original_text"]
        assert int(row["verdict_draws"]) == 7
        assert 4 <= int(row["verdict_clean_draws"]) <= 7 and 4 <= int(row["verdict_final_draws"]) <= 7
        assert int(row["verdict_final_votes"]) <= int(row["verdict_final_draws"])
    assert record.verdict["left_out"] == 0  # a replay is never left out


def test_transfer_resumes_without_losing_or_repeating_rows(models, tmp_path):
    c = campaign(n=8, draws=3)
    _source_run(tmp_path, c)
    target = Cell("sst2", "snn-converted", "none", transfer_recipe(SOURCE), "frozen")
    record = run_transfer(c, SOURCE, target, tmp_path, **QUIET)
    path = tmp_path / "toy" / record.log
    full = read_log(path)
    lines = path.read_bytes().split(b"\r\n")
    path.write_bytes(b"\r\n".join(lines[:-4]) + b"\r\n" + lines[-4][:10])  # drop rows, tear one
    run_transfer(c, SOURCE, target, tmp_path, **QUIET)
    assert strip_seconds(read_log(path)) == strip_seconds(full)
    # Called again with every row logged: nothing replayed, the record kept byte for byte.
    record_path = path.with_suffix(".json")
    kept, logged = record_path.read_bytes(), path.read_bytes()
    lines = []
    from robustsnn.records.log import exclusive

    with exclusive(path):  # another evaluation checking the same run: no collision
        again = run_transfer(c, SOURCE, target, tmp_path, log=lines.append)
    assert record_path.read_bytes() == kept and path.read_bytes() == logged
    assert again.complete is True and any("record kept" in line for line in lines)


def test_transfer_needs_its_source_and_a_matching_name(models, tmp_path):
    c = campaign(n=4)
    target = Cell("sst2", "snn-converted", "none", transfer_recipe(SOURCE), "frozen")
    with pytest.raises(UserError, match="no source run"):
        run_transfer(c, SOURCE, target, tmp_path, **QUIET)
    wrong = Cell("sst2", "snn-converted", "none", "transfer-tailored-pwws", "frozen")
    with pytest.raises(UserError, match="is logged as recipe 'transfer-textcnn-pwws'"):
        run_transfer(c, SOURCE, wrong, tmp_path, **QUIET)


def test_campaign_transfer_section_expands_to_source_target_pairs():
    from robustsnn.campaign.spec import campaign_from_dict

    c = campaign_from_dict({
        "campaign": {"name": "t", "models": ["textcnn", "tailored", "snn"], "recipes": ["pwws", "textfooler"],
                     "noise": ["frozen", "mean-20"]},
        "transfer": {"sources": ["textcnn", "tailored"], "targets": ["snn"], "noise": ["fresh", "direct"]},
    })
    pairs = transfer_cells(c)
    assert len(pairs) == 2 * 2 * 2  # sources x recipes x target modes
    assert {t.key for _, t in pairs} >= {"sst2__snn__none__transfer-tailored-textfooler__direct"}
    assert all(s.model in ("textcnn", "tailored") and s.noise == "none" for s, _ in pairs)
    with pytest.raises(UserError, match="transfer.sources names bert"):
        transfer_cells(campaign_from_dict({"campaign": {"name": "t"}, "transfer": {"sources": ["bert"]}}))


def test_query_cache_off_asks_the_model_again(models, tmp_path, monkeypatch):
    from robustsnn.classifier import NetworkClassifier

    asked = []
    original = NetworkClassifier.predict_proba

    def counting(self, texts):
        asked.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(NetworkClassifier, "predict_proba", counting)
    on = run_cell(campaign(n=4, query_cache=True), SOURCE, tmp_path / "on", resources=toy_resources(), **QUIET)
    with_cache = sum(asked)
    asked.clear()
    uncached = campaign(n=4, query_cache=False)
    off = run_cell(uncached, SOURCE, tmp_path / "off", resources=toy_resources(), **QUIET)
    assert sum(asked) > with_cache  # repeated texts are scored again
    assert off.query_cache is False and on.query_cache
    # A deterministic model answers the same either way: the outcomes agree.
    rows = lambda d: [r["result"] for r in read_log(d / "toy" / "sst2__textcnn__none__pwws__none__shared-swap.csv")]  # noqa: E731
    assert rows(tmp_path / "on") == rows(tmp_path / "off")


def test_a_cell_being_written_is_refused_before_anything_is_touched(models, tmp_path):
    from robustsnn.campaign.runner import cell_paths
    from robustsnn.records.log import exclusive

    c = campaign(n=3)
    csv_path, record_path = cell_paths(tmp_path, c, SOURCE)
    with exclusive(csv_path):
        with pytest.raises(UserError, match="is being written by pid"):
            run_cell(c, SOURCE, tmp_path, resources=toy_resources(), **QUIET)
    assert not csv_path.exists() and not record_path.exists()
    run_cell(c, SOURCE, tmp_path, resources=toy_resources(), **QUIET)  # free again
    assert len(read_log(csv_path)) == 3


def test_a_transfer_replays_exactly_the_selected_examples(models, tmp_path):
    """``--num-examples`` selects a transfer's examples as it selects an attack's: the
    campaign's first N, not every row of the source log; a larger selection extends it."""
    from robustsnn.api import transfer
    from robustsnn.campaign.spec import select_examples
    from robustsnn.data.tsv import load_dataset

    c = campaign(n=6, draws=3)
    source_rows = _source_run(tmp_path, c)
    assert len(source_rows) == 6
    first3 = [e.index for e in select_examples(load_dataset("sst2"), campaign(n=3).examples, c.campaign.seed)]
    assert len(first3) == 3 and set(first3) < {int(r["index"]) for r in source_rows}
    lines = []
    record = transfer("textcnn", "pwws", "snn-converted", noise="frozen", campaign=c, results=tmp_path,
                      num_examples=3, log=lines.append)
    path = tmp_path / "toy" / record.log
    assert [int(r["index"]) for r in read_log(path)] == first3
    assert record.metrics["n"] == 3 == record.examples_selected and record.complete
    assert not any("lacks" in line for line in lines)

    again = transfer("textcnn", "pwws", "snn-converted", noise="frozen", campaign=c, results=tmp_path,
                     num_examples=6, log=lambda _: None)  # extends the log with the other three
    rows = read_log(path)
    assert [r["index"] for r in rows] == [r["index"] for r in source_rows]
    assert again.metrics["n"] == 6 == again.examples_selected

    # Asked for 3 again: those 3 are reported, nothing replayed or rewritten.
    logged, kept = path.read_bytes(), path.with_suffix(".json").read_bytes()
    fewer = transfer("textcnn", "pwws", "snn-converted", noise="frozen", campaign=c, results=tmp_path,
                     num_examples=3, log=lambda _: None)
    assert fewer.metrics["n"] == 3 and path.read_bytes() == logged and path.with_suffix(".json").read_bytes() == kept


def test_a_transfer_names_the_selected_examples_its_source_lacks(models, tmp_path):
    c = campaign(n=3, draws=3)
    _source_run(tmp_path, c)  # a source run of 3 examples
    target = Cell("sst2", "snn-converted", "none", transfer_recipe(SOURCE), "frozen")
    lines = []
    record = run_transfer(campaign(n=6, draws=3), SOURCE, target, tmp_path, log=lines.append)
    assert [line for line in lines if "lacks" in line] == [
        "sst2__textcnn__none__pwws__none__shared-swap.csv lacks 3 of the 6 selected examples: they are not "
        "transferred (run the source cell with as many examples first, then this again to add them)"]
    assert record.metrics["n"] == 3 and record.examples_selected == 6  # the table marks it N* (incomplete)


def test_a_source_budget_stop_passes_on_as_budget(models, tmp_path):
    c = campaign(n=6, draws=3)
    from dataclasses import replace

    c = replace(c, threat=replace(c.threat, query_budget=1))
    source_rows = _source_run(tmp_path, c)
    assert {r["result"] for r in source_rows} <= {"budget", "skipped"} and "budget" in {
        r["result"] for r in source_rows}
    target = Cell("sst2", "textcnn", "none", transfer_recipe(SOURCE), "none")
    record = run_transfer(c, SOURCE, target, tmp_path, **QUIET)
    assert [r["result"] for r in read_log(tmp_path / "toy" / record.log)] == [r["result"] for r in source_rows]
    assert record.metrics["budget_exhausted"] == sum(r["result"] == "budget" for r in source_rows)
