"""The run record has one typed form (robustsnn/records/record.py): every committed record
loads through it at the current schema version, a record survives a round trip unchanged,
and a malformed one is refused with one line naming the file and the field, by the API and
by the CLI alike. ``robustsnn migrate-records`` brings older records to the schema once.

Before: 54 ``record["..."]`` lookups in 12 files read an unversioned dict, and a record
without, say, ``log`` surfaced as a KeyError traceback from whichever table read it first.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from robustsnn.cli import main
from robustsnn.records.find import find_records, migrate_records
from robustsnn.records.record import SCHEMA_VERSION, RecordError, RunRecord, short_key

COMMITTED = Path(__file__).resolve().parents[1] / "results" / "attacks"


def _valid() -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "cell": {"dataset": "sst2", "model": "snn", "defense": "none", "recipe": "pwws", "noise": "mean-20"},
        "campaign": {"campaign": {"name": "toy", "seed": 0, "query_cache": True},
                     "threat": {"max_modification_rate": 0.1}, "examples": {"split": "test"}},
        "campaign_file": "attacks/toy.toml", "protocol": "shared-swap",
        "attack": {"recipe": "pwws", "search_method": "GreedyWordSwapWIR(wir_method=weighted-saliency)"},
        "model": {"checkpoint": "sst2/snn/best.pt", "model_sha256": "ab" * 32, "plugin_field": [1, 2]},
        "log": "sst2__snn__none__pwws__mean-20__shared-swap.csv", "examples_selected": 4, "verdict_draws": 100,
        "complete": True, "metrics": {"n": 4, "clean_accuracy": 0.75, "queries": float("nan")},
        "verdict": {"draws": 100, "clean_accuracy": 0.75},
        "date": "2026-12-07T10:00:00+00:00", "git": "abc1234", "robustsnn": "0.1.0", "python": "3.11.7",
        "versions": {"torch": "2.13.0+cpu"}, "machine": {"cpus": 2}, "command": "robustsnn attack",
    }


def test_every_committed_record_loads_through_the_schema_at_the_current_version():
    records = find_records(COMMITTED)
    assert len(records) > 250
    for record in records:
        on_disk = json.loads(record.path.read_text(encoding="utf-8"))
        assert on_disk["schema_version"] == SCHEMA_VERSION, record.path  # migrated once, committed
        assert json.dumps(record.to_dict(), sort_keys=True) == json.dumps(on_disk, sort_keys=True), record.path
        assert record.log_path.parent == record.path.parent and record.cell.key in record.path.stem


def test_a_record_survives_a_round_trip_and_reads_as_typed_fields(tmp_path):
    data = _valid()
    record = RunRecord.from_dict(copy.deepcopy(data), "toy")
    again = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())), "toy")
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(data, sort_keys=True)
    assert record.campaign_name == "toy" and record.seed == 0 and record.query_cache
    assert record.model_sha256 == "ab" * 32 and record.stochastic and not record.is_transfer
    assert record.model["plugin_field"] == [1, 2]  # a plugin's description fields are kept
    written = record.write(tmp_path / "r.json")
    assert written.log_path == tmp_path / data["log"]
    loaded = RunRecord.load(tmp_path / "r.json")
    assert loaded.path == tmp_path / "r.json" and loaded.to_dict().keys() == record.to_dict().keys()
    assert json.dumps(loaded.to_dict(), sort_keys=True) == json.dumps(data, sort_keys=True)


def test_a_record_from_before_content_digests_reads_with_its_file_digest_apart():
    data = _valid()
    data["model"] = {("checkpoint_sha256" if k == "model_sha256" else k): v for k, v in data["model"].items()}
    record = RunRecord.from_dict(data, "toy")
    assert record.model_sha256 == "" and record.legacy_file_sha256 == "ab" * 32
    # Told apart from other networks, and never taken for (or pooled with) a content digest.
    assert record.model_key == "file-" + "ab" * 32
    current = RunRecord.from_dict(_valid(), "toy")
    assert current.model_key == current.model_sha256 == "ab" * 32 and current.legacy_file_sha256 == ""
    assert short_key(record.model_key, 8) == "file-abababab" and short_key(current.model_key, 8) == "abababab"
    assert short_key("") == "unhashed" and short_key("", empty="-") == "-"


def _broken(change) -> dict:
    data = _valid()
    change(data)
    return data


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("log"), "lacks field 'log'"),
    (lambda d: d["cell"].pop("noise"), "lacks field 'cell.noise'"),
    (lambda d: d.update(examples_selected="4"), "'examples_selected' must be int, got str"),
    (lambda d: d.update(verdict_draws=True), "'verdict_draws' must be int, got bool"),
    (lambda d: d.update(verdict_draws=-1), "'verdict_draws' must not be negative"),
    (lambda d: d["campaign"]["campaign"].pop("seed"), "lacks field 'campaign.campaign.seed'"),
    (lambda d: d["model"].update(model_sha256="xyz"), "'model.model_sha256' is not a sha256"),
    (lambda d: d["model"].update(checkpoint_sha256="AB" * 32), "'model.checkpoint_sha256' is not a sha256"),
    (lambda d: d.update(log="/work/elsewhere/x.csv"), "'log' must be a file name beside the record"),
    (lambda d: d["metrics"].update(n="4"), "'metrics.n' must be a number"),
    (lambda d: d.pop("metrics"), "says complete but has no metrics"),
    (lambda d: d.update(cel={}), "unknown run record field 'cel'"),
    (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "newer than this robustsnn reads"),
])
def test_a_malformed_record_is_one_line_naming_the_file_and_the_field(change, message):
    with pytest.raises(RecordError, match=message) as caught:
        RunRecord.from_dict(_broken(change), "results/attacks/toy/x.json")
    assert str(caught.value).startswith("results/attacks/toy/x.json: ") and "\n" not in str(caught.value)


def test_the_cli_refuses_a_malformed_record_with_one_line(tmp_path, capsys):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "x.json").write_text(json.dumps(_broken(lambda d: d.pop("protocol"))), encoding="utf-8")
    assert main(["table", "--results", str(tmp_path), "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.json: run record lacks field 'protocol'" in err
    (folder / "x.json").write_bytes(b"\xff\xfe not json")
    assert main(["table", "--results", str(tmp_path), "--out", str(tmp_path / "t.csv")]) == 2
    assert "is not a readable run record" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def test_migrate_records_rewrites_old_records_once(tmp_path):
    old = _valid()
    del old["schema_version"]  # what robustsnn wrote before the schema
    (tmp_path / "a.json").write_text(json.dumps(old, sort_keys=True), encoding="utf-8")
    (tmp_path / "notes.json").write_text('{"not": "a record"}', encoding="utf-8")  # left alone
    assert RunRecord.load(tmp_path / "a.json").schema_version == SCHEMA_VERSION  # read as current already
    lines: list[str] = []
    assert migrate_records(tmp_path, log=lines.append) == (1, 0)
    assert len(lines) == 1 and "schema 0 -> 1" in lines[0]
    migrated = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    expected = {**old, "schema_version": SCHEMA_VERSION}
    assert json.dumps(migrated, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert migrate_records(tmp_path, log=lines.append) == (0, 1)
    assert (tmp_path / "notes.json").read_text(encoding="utf-8") == '{"not": "a record"}'
