"""The attack harness end to end on a tiny trained TextCNN and its spiking conversion:
per-example logs, the modification cap and K in the logged outputs, resume after a
kill, the final verdict over draws, the table and the CLI's one-line errors."""

import csv
import json
import math
import re
import subprocess
import sys

import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding
from conftest import train_zoo_models

require_textattack()

from robustsnn.campaign.runner import run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.errors import UserError  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402
from robustsnn.records.record import SCHEMA_VERSION, RunRecord  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


@pytest.fixture
def models(tiny_data, textattack, tmp_path):
    """A trained toy TextCNN and a converted SNN where the zoo looks for them."""
    return train_zoo_models(time_steps=16)


def campaign(n=8, draws=5, **threat):
    return campaign_from_dict({
        "campaign": {"name": "toy", "models": ["textcnn", "snn-converted"], "recipes": ["pwws"],
                     "noise": ["frozen"], "seed": 3},
        "examples": {"num_examples": n},
        "threat": {"candidates": 3, "max_modification_rate": 0.2, "similarity": 0.0, **threat},
        "verdict": {"draws": draws},
    })


def toy_resources():
    return AttackResources(embedding=toy_embedding())


def strip_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_cap_and_k_hold_in_the_logged_outputs(models, tmp_path):
    c = campaign(n=12)
    record = run_cell(c, Cell("sst2", "textcnn", "none", "pwws", "none"), tmp_path / "res",
                      resources=toy_resources(), log=lambda _: None)
    rows = read_log(tmp_path / "res" / "toy" / "sst2__textcnn__none__pwws__none__shared-swap.csv")
    assert len(rows) == 12 == record.metrics["n"] and record.complete
    assert {r["result"] for r in rows} <= {"successful", "failed", "skipped"}
    emb = toy_embedding()
    attacked = 0
    for r in rows:
        n_words = int(r["num_words"])
        cap = max(math.ceil(0.2 * n_words), 1)
        assert int(r["words_perturbed"]) <= cap
        before, after = r["original_text"].split(), r["perturbed_text"].split()
        if r["result"] != "successful":
            continue
        attacked += 1
        assert len(before) == len(after)
        for old, new in zip(before, after):
            if old != new:  # every substitute is among the K = 3 nearest neighbours
                neighbours = [emb.index2word(i) for i in emb.nearest_neighbours(emb.word2index(old), 3)]
                assert new in neighbours
    assert attacked > 0, "the toy attack should succeed at least once"
    assert record.protocol == "shared-swap" and record.attack["recipe"] == "pwws"
    # The runner writes through the schema: what it wrote reads back as the record it returned.
    on_disk = json.loads(record.path.read_text(encoding="utf-8"))
    assert on_disk["schema_version"] == SCHEMA_VERSION
    assert json.dumps(RunRecord.load(record.path).to_dict(), sort_keys=True) == json.dumps(on_disk, sort_keys=True)


def test_resume_after_a_kill_matches_an_uninterrupted_run(models, tmp_path):
    cell = Cell("sst2", "snn-converted", "none", "pwws", "frozen")
    full = run_cell(campaign(n=6), cell, tmp_path / "a", resources=toy_resources(), log=lambda _: None)
    reference = read_log(tmp_path / "a" / "toy" / f"{cell.key}__shared-swap.csv")

    run_cell(campaign(n=3), cell, tmp_path / "b", resources=toy_resources(), log=lambda _: None)
    path = tmp_path / "b" / "toy" / f"{cell.key}__shared-swap.csv"
    with open(path, "ab") as f:
        f.write(b"4,1,successful,1,0,0.5,0.4,9,1")  # killed while writing the next row
    lines = []
    resumed = run_cell(campaign(n=6), cell, tmp_path / "b", resources=toy_resources(), log=lines.append)
    rows = read_log(path)
    assert [r["index"] for r in rows] == [r["index"] for r in reference]  # none lost, none twice
    assert strip_seconds(rows) == strip_seconds(reference)
    assert any("resuming, 3 of 6" in line for line in lines)
    assert resumed.metrics == {**full.metrics, "seconds_per_example": resumed.metrics["seconds_per_example"]}


def test_stochastic_model_gets_a_final_verdict(models, tmp_path):
    cell = Cell("sst2", "snn-converted", "none", "pwws", "frozen")
    record = run_cell(campaign(n=4, draws=7), cell, tmp_path, resources=toy_resources(), log=lambda _: None)
    rows = read_log(tmp_path / "toy" / f"{cell.key}__shared-swap.csv")
    assert all(r["verdict_draws"] == "7" for r in rows)
    # Votes count out of the draws each verdict used: R, or fewer once it was settled.
    for r in rows:
        for text in ("clean", "final"):
            assert 4 <= int(r[f"verdict_{text}_draws"]) <= 7  # a 7-draw majority needs at least 4
            assert 0 <= int(r[f"verdict_{text}_votes"]) <= int(r[f"verdict_{text}_draws"])
    assert record.verdict["draws"] == 7 and 0 <= record.verdict["clean_accuracy"] <= 1
    assert record.verdict["n"] + record.verdict["left_out"] == 4
    assert record.model["encoding"] == "frozen" and record.model["encoding_seed"] == 3


def test_a_log_from_before_the_draws_used_is_resumed_with_full_votes(models, tmp_path):
    """A stochastic log written before ``verdict_*_draws`` existed goes on in its own
    columns, so its new rows vote all R draws (the log refuses an early-stopped one);
    their verdicts are those of the early-stopped run."""
    import csv
    import io

    from robustsnn.records.log import UNCOUNTED_DRAWS_COLUMNS

    cell = Cell("sst2", "snn-converted", "none", "pwws", "frozen")
    run_cell(campaign(n=5, draws=30), cell, tmp_path / "new", resources=toy_resources(), log=lambda _: None)
    reference = read_log(tmp_path / "new" / "toy" / f"{cell.key}__shared-swap.csv")
    assert any(int(r["verdict_clean_draws"]) < 30 for r in reference[2:])  # stops early where resumed

    run_cell(campaign(n=2, draws=30), cell, tmp_path / "old", resources=toy_resources(), log=lambda _: None)
    path = tmp_path / "old" / "toy" / f"{cell.key}__shared-swap.csv"
    identity = path.read_bytes().split(b"\r\n", 1)[0].decode("utf-8")
    out = io.StringIO()
    writer = csv.DictWriter(out, UNCOUNTED_DRAWS_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(read_log(path))
    path.write_text(identity + "\r\n" + out.getvalue(), encoding="utf-8", newline="")  # an older log
    run_cell(campaign(n=5, draws=30), cell, tmp_path / "old", resources=toy_resources(), log=lambda _: None)
    rows = read_log(path)
    assert [r["index"] for r in rows] == [r["index"] for r in reference]
    for old, new in zip(rows, reference):
        assert old["verdict_clean_draws"] == old["verdict_final_draws"] == ""  # read back as R
        for text in ("clean", "final"):
            assert old[f"verdict_{text}_correct"] == new[f"verdict_{text}_correct"]  # the same decisions


def test_table_aggregates_records(models, tmp_path):
    from robustsnn.analysis.table import write_table

    for cell in (Cell("sst2", "textcnn", "none", "pwws", "none"),
                 Cell("sst2", "snn-converted", "none", "pwws", "frozen")):
        run_cell(campaign(n=3), cell, tmp_path / "res", resources=toy_resources(), log=lambda _: None)
    out = tmp_path / "table2.csv"
    rows = write_table(tmp_path / "res", out, tmp_path / "table2.md")
    assert [(r["model"], r["noise"]) for r in rows] == [("snn-converted", "frozen"), ("textcnn", "none")]
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    assert table[1]["n"] == "3" and table[1]["protocol"] == "shared-swap"
    cln = float(table[1]["clean_accuracy"])
    assert 0 <= cln <= 1 and (tmp_path / "table2.md").read_text().count("| sst2") == 2
    # Several folders (one inside another counts each record once); a missing one is an error.
    run_cell(campaign(n=2), Cell("sst2", "textcnn", "none", "textfooler", "none"), tmp_path / "more",
             resources=toy_resources(), log=lambda _: None)
    both = write_table([tmp_path / "res", tmp_path / "more", tmp_path / "res" / "toy"], out)
    assert sorted(r["recipe"] for r in both) == ["pwws", "pwws", "textfooler"]
    with pytest.raises(UserError, match="no attack results under"):
        write_table([tmp_path / "res", tmp_path / "nowhere"], out)


def test_finished_logs_compress_and_every_reader_and_resume_take_them(models, tmp_path):
    from robustsnn.analysis.table import write_table
    from robustsnn.cli import main

    res = tmp_path / "res"
    cells = (Cell("sst2", "textcnn", "none", "pwws", "none"), Cell("sst2", "snn-converted", "none", "pwws", "frozen"))
    first = [run_cell(campaign(n=3), c, res, resources=toy_resources(), log=lambda _: None) for c in cells]
    before = write_table(res, tmp_path / "a.csv")
    logs = sorted((res / "toy").glob("*.csv"))
    plain = {p.name: read_log(p) for p in logs}
    # A run that has not finished keeps its plain log, to be appended to.
    unfinished = res / "toy" / "unfinished.json"
    started = {**first[0].to_dict(), "log": "unfinished.csv", "complete": False}
    del started["metrics"]  # a record as the runner writes it before the first example
    unfinished.write_text(json.dumps(started))
    (res / "toy" / "unfinished.csv").write_text("x")

    assert main(["compress-logs", str(res)]) == 0
    assert sorted(p.name for p in (res / "toy").glob("*.csv")) == ["unfinished.csv"]
    assert {p.name: read_log(p) for p in logs} == plain
    unfinished.unlink()
    assert write_table(res, tmp_path / "b.csv") == before

    # Running the finished cell again finds every example logged, attacks none, and keeps
    # the record of the run that wrote the rows (its command and date) byte for byte. It
    # reads the compressed log as it lies, without its writer lock: another evaluation
    # checking the same shared run at that moment (holding the lock) does not stop it.
    from robustsnn.records.log import compressed, exclusive

    record = next((res / "toy").glob("sst2__snn-converted__*.json"))
    log_path = record.with_suffix(".csv")
    kept, packed = record.read_bytes(), compressed(log_path).read_bytes()
    lines = []
    with exclusive(log_path):
        again = run_cell(campaign(n=3), cells[1], res, resources=toy_resources(), log=lines.append)
    same = json.dumps(again.metrics, sort_keys=True) == json.dumps(first[1].metrics, sort_keys=True)
    assert same and not any("restored" in line for line in lines)  # (dumps: NaN != NaN as a float)
    assert any("3 of 3" in line and "record kept" in line for line in lines)
    assert record.read_bytes() == kept and compressed(log_path).read_bytes() == packed
    assert not log_path.exists()
    # More examples than it logged: the run restores the log and goes on with it.
    lines = []
    more = run_cell(campaign(n=4), cells[1], res, resources=toy_resources(), log=lines.append)
    assert any("restored" in line for line in lines) and more.examples_selected == 4
    assert len(read_log(log_path)) == 4


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "robustsnn", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["attack", "--model", "snn", "--recipe", "nope"], "unknown attack recipe 'nope'"),
    (["attack", "--model", "resnet", "--recipe", "pwws"], "unknown model 'resnet'"),
    (["attack", "--model", "textcnn", "--recipe", "pwws", "--dataset", "imdb"], "unknown dataset 'imdb'"),
    (["attack", "--model", "textcnn", "--recipe", "pwws", "--noise", "fresh"], "is deterministic"),
    (["attack", "--model", "snn", "--recipe", "pwws", "--noise", "loud"], "unknown encoding mode 'loud'"),
    (["campaign", "attacks/nope.toml"], "campaign file not found"),
    (["campaign", "nope"], "(shipped campaigns: adaptive, "),
    (["campaign", "paper", "--set", "threat.candidatez=3"], "unknown config key 'threat.candidatez'"),
    (["campaign", "attacks/paper.toml", "--set", "threat.candidatez=3"], "unknown config key 'threat.candidatez'"),
])
def test_cli_names_are_checked_in_one_line(args, message):
    proc = _cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_checkpoint_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ROBUSTSNN_RESULTS", str(tmp_path / "results"))
    proc = _cli("attack", "--model", "textcnn", "--recipe", "pwws", "--dataset", "mr")
    assert proc.returncode == 2
    assert "no textcnn checkpoint for mr" in proc.stderr
    assert "robustsnn train --config mr --model textcnn" in proc.stderr
    assert not (tmp_path / "results").exists()  # a refused run leaves no folder and no lock


def test_shipped_campaigns_load():
    from robustsnn.campaign.spec import cells, load_campaign

    paper = load_campaign("paper")
    assert paper.threat.max_modification_rate == 0.1 and paper.threat.candidates == 15
    assert paper.threat.similarity == 0.8 and paper.threat.query_budget == 0
    assert paper.examples.selection == "first" and paper.examples.num_examples == 1000
    td = load_campaign("textdefender")
    assert td.threat.max_modification_rate == 0.3 and td.threat.candidates == 50
    assert td.threat.similarity == pytest.approx(0.840845057) and td.examples.min_words == 5
    assert len(cells(paper)) == 4 * 4 * (1 + 3)  # datasets x recipes x (textcnn + snn x 3 noise)
    assert (paper.source, td.source) == ("paper", "textdefender")  # what run records keep


def test_a_log_is_never_extended_under_other_settings(models, tmp_path):
    from dataclasses import replace

    from robustsnn.campaign.runner import cell_paths

    quiet = {"resources": toy_resources(), "log": lambda _: None}
    cell = Cell("sst2", "textcnn", "none", "pwws", "none")
    base = campaign(n=2)
    run_cell(base, cell, tmp_path, **quiet)
    log_path, record_path = cell_paths(tmp_path, base, cell)
    logged, recorded = log_path.read_bytes(), record_path.read_bytes()
    # Another protocol is another experiment with its own files: it runs, this log stays.
    native = campaign(n=2, protocol="native")
    assert cell_paths(tmp_path, native, cell)[0] != log_path
    other = run_cell(native, cell, tmp_path, **quiet)
    assert other.protocol == "native" and other.metrics["n"] == 2
    assert len(read_log(cell_paths(tmp_path, native, cell)[0])) == 2
    assert log_path.read_bytes() == logged and record_path.read_bytes() == recorded
    # The same protocol under any other threat setting, seed or selection: refused, naming
    # the first field that differs, with the log and its record left as they were.
    for changed, field in ((campaign(n=2, candidates=5), "threat.candidates = 3"),
                           (campaign(n=2, max_modification_rate=0.5), "threat.max_modification_rate"),
                           (campaign(n=2, similarity=0.5), "threat.similarity"),
                           (campaign(n=2, query_budget=100), "threat.query_budget = 0"),
                           (replace(base, campaign=replace(base.campaign, seed=4)), "seed = 3"),
                           (replace(base, examples=replace(base.examples, min_words=3)), "examples.min_words"),
                           (replace(base, campaign=replace(base.campaign, query_cache=False)), "query_cache")):
        assert cell_paths(tmp_path, changed, cell) == (log_path, record_path)
        with pytest.raises(UserError, match=f"was written with {re.escape(field)}.*another experiment"):
            run_cell(changed, cell, tmp_path, **quiet)
        assert log_path.read_bytes() == logged and record_path.read_bytes() == recorded
    # The verdict's draws are no part of a deterministic model's experiment (it has no
    # verdict): another setting resumes its log.
    assert run_cell(campaign(n=2, draws=7), cell, tmp_path, **quiet).metrics["n"] == 2
    assert log_path.read_bytes() == logged
    # More examples under the same settings extend the log: the first rows are kept.
    record = run_cell(campaign(n=3), cell, tmp_path, **quiet)
    assert record.metrics["n"] == 3
    assert log_path.read_bytes().startswith(logged) and len(read_log(log_path)) == 3
