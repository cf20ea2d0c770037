"""``robustsnn migrate-digests`` (campaign/digests.py): a legacy file digest moves to the
content digest only when a checkpoint file at hand hashes to it; an unverifiable one is
reported and its files are left byte for byte; plain and compressed logs, records and
cards move; a second run changes nothing."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from conftest import run_record_dict

HEADER = b"index,label,result\r\n"  # the migration never reads past the identity line
ROW = b"0,1,Failed\r\n"
UNKNOWN = "cd" * 32  # a legacy digest no checkpoint file has


def _identity(sha: str, source: str | None = None) -> dict:
    attack = {"recipe": "pwws", **({"source_checkpoint_sha256": source} if source else {})}
    return {"format": 1, "cell": {"dataset": "sst2"},
            "model": {"model": "tailored", "checkpoint_sha256": sha, "tokenizer_sha256": "ef" * 32},
            "threat": {"candidates": 3}, "attack": attack}


def _log_bytes(identity: dict) -> bytes:
    from robustsnn.records.log import IDENTITY_PREFIX

    return (IDENTITY_PREFIX + json.dumps(identity)).encode() + b"\r\n" + HEADER + ROW


def _legacy_record(name: str, sha: str, **attack: str) -> dict:
    data = run_record_dict(model="tailored", sha=None, log=f"{name}.csv")
    data["model"]["checkpoint_sha256"] = sha
    data["attack"].update(attack)
    return data


@pytest.fixture
def legacy(tmp_path: Path, tiny_net) -> dict:  # noqa: ANN001
    """Under tmp_path: runs/ holding a copy of the tiny tailored checkpoint; results/ with
    a plain log and its record naming its file digest, a compressed log, a transfer log
    whose source is that checkpoint, a log naming an unknown digest, a legacy card."""
    from robustsnn.io_utils import file_sha256
    from robustsnn.models.checkpoint import model_digest

    runs = tmp_path / "runs" / "sst2" / "tailored"
    runs.mkdir(parents=True)
    shutil.copy(tiny_net.tailored, runs / "best.pt")
    sha, content = file_sha256(runs / "best.pt"), model_digest(runs / "best.pt")
    res = tmp_path / "results" / "attacks" / "toy"
    res.mkdir(parents=True)
    (res / "plain.csv").write_bytes(_log_bytes(_identity(sha)))
    (res / "plain.json").write_text(json.dumps(_legacy_record("plain", sha)), encoding="utf-8")
    (res / "packed.csv.gz").write_bytes(gzip.compress(_log_bytes(_identity(sha)), mtime=0))
    (res / "packed.json").write_text(json.dumps(_legacy_record("packed", sha)), encoding="utf-8")
    (res / "transfer.csv").write_bytes(_log_bytes(_identity(sha, source=sha)))
    (res / "transfer.json").write_text(json.dumps(_legacy_record("transfer", sha, source_checkpoint_sha256=sha)),
                                       encoding="utf-8")
    (res / "half.csv").write_bytes(_log_bytes(_identity(sha, source=UNKNOWN)))  # its source is not at hand
    (res / "unknown.csv").write_bytes(_log_bytes(_identity(UNKNOWN)))
    (res / "unknown.json").write_text(json.dumps(_legacy_record("unknown", UNKNOWN)), encoding="utf-8")
    cards = tmp_path / "results" / "benchmark" / "cards" / "standard-v1"
    cards.mkdir(parents=True)
    card = {"card_version": 1, "evaluation": "standard-v1", "name": "Tailored", "checkpoint": "sst2/tailored/best.pt",
            "checkpoint_sha256": sha, "architecture": {"model": "tailored", "checkpoint_sha256": sha},
            "worst_case_robust_accuracy": {"value": 0.5}}
    (cards / f"sst2__Tailored__{sha[:12]}.json").write_text(json.dumps(card), encoding="utf-8")
    return {"root": tmp_path, "runs": tmp_path / "runs", "results": tmp_path / "results", "res": res,
            "cards": cards, "sha": sha, "content": content}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def test_verified_digests_move_and_unverifiable_ones_stay(legacy: dict) -> None:
    from robustsnn.campaign.digests import migrate_digests
    from robustsnn.records.log import read_identity
    from robustsnn.records.record import RunRecord

    res, sha, content = legacy["res"], legacy["sha"], legacy["content"]
    assert sha != content
    before = _snapshot(legacy["results"])
    messages: list[str] = []
    done = migrate_digests([legacy["results"]], legacy["runs"], log=messages.append)

    # The mapping, as verified: the legacy digest of the file at hand -> its content digest.
    assert {d: v.content for d, v in done.digests.verified.items()} == {sha: content}
    assert done.used == {sha}
    assert set(done.unverified) == {UNKNOWN}
    assert sorted(p.name for p in done.unverified[UNKNOWN]) == ["half.csv", "unknown.csv", "unknown.json"]
    assert any(line.startswith(f"{sha} -> {content}") for line in messages)
    assert any(line.startswith(f"{UNKNOWN}: no checkpoint file") for line in messages)

    for name in ("plain.csv", "packed.csv.gz", "transfer.csv"):
        identity = read_identity(res / name.removesuffix(".gz"))
        assert identity["model"] == {"model": "tailored", "model_sha256": content, "tokenizer_sha256": "ef" * 32}
        assert list(identity) == ["format", "cell", "model", "threat", "attack"]  # the order resumes compare in
    assert read_identity(res / "transfer.csv")["attack"] == {"recipe": "pwws", "source_model_sha256": content}
    # The rows are untouched, compressed or not.
    assert (res / "plain.csv").read_bytes().endswith(b"\r\n" + HEADER + ROW)
    assert gzip.decompress((res / "packed.csv.gz").read_bytes()).endswith(b"\r\n" + HEADER + ROW)
    for name in ("plain", "packed", "transfer"):
        record = RunRecord.load(res / f"{name}.json")
        assert record.model_sha256 == content and record.legacy_file_sha256 == ""
    assert RunRecord.load(res / "transfer.json").attack["source_model_sha256"] == content
    # Nothing else in a record changed.
    expected = _legacy_record("plain", sha)
    expected["model"] = {"checkpoint": expected["model"]["checkpoint"], "model_sha256": content}
    assert json.loads((res / "plain.json").read_text(encoding="utf-8")) == expected
    # Nothing that names an unverifiable digest changed, not even its verifiable half.
    after = _snapshot(legacy["results"])
    for name in ("half.csv", "unknown.csv", "unknown.json"):
        key = f"attacks/toy/{name}"
        assert after[key] == before[key], name
    # The card: both digests renamed, and its file named after the content digest.
    [card_path] = legacy["cards"].iterdir()
    assert card_path.name == f"sst2__Tailored__{content[:12]}.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    assert card["model_sha256"] == content and card["architecture"] == {"model": "tailored", "model_sha256": content}
    assert "checkpoint_sha256" not in json.dumps(card)


def test_a_second_run_changes_nothing_and_a_dry_run_writes_nothing(legacy: dict) -> None:
    from robustsnn.campaign.digests import migrate_digests

    before = _snapshot(legacy["results"])
    dry = migrate_digests([legacy["results"]], legacy["runs"], dry_run=True, log=lambda _: None)
    assert len(dry.migrated) == 7 and _snapshot(legacy["results"]) == before
    first = migrate_digests([legacy["results"]], legacy["runs"], log=lambda _: None)
    assert len(first.migrated) == 7
    once = _snapshot(legacy["results"])
    again = migrate_digests([legacy["results"]], legacy["runs"], log=lambda _: None)
    assert again.migrated == [] and _snapshot(legacy["results"]) == once
    assert set(again.unverified) == {UNKNOWN}  # still reported, still left alone


def test_a_checkpoint_with_other_bytes_verifies_nothing(legacy: dict) -> None:
    """The same network saved again (other meta: other file bytes) does not hash to the
    legacy digest: the mapping is refused rather than assumed."""
    import torch

    from robustsnn.campaign.digests import migrate_digests

    path = legacy["runs"] / "sst2" / "tailored" / "best.pt"
    payload = torch.load(path, weights_only=True)
    payload["meta"] = {**payload["meta"], "dev_split": "/elsewhere/dev.tsv"}
    torch.save(payload, path)
    before = _snapshot(legacy["results"])
    done = migrate_digests([legacy["results"]], legacy["runs"], log=lambda _: None)
    assert done.migrated == [] and set(done.unverified) == {legacy["sha"], UNKNOWN}
    assert _snapshot(legacy["results"]) == before


def test_a_card_whose_new_name_is_taken_is_left_alone(legacy: dict) -> None:
    from robustsnn.campaign.digests import migrate_digests

    [old] = legacy["cards"].iterdir()
    taken = legacy["cards"] / f"sst2__Tailored__{legacy['content'][:12]}.json"
    taken.write_text("{}", encoding="utf-8")  # written since, by a run under the new code
    before = old.read_bytes()
    done = migrate_digests([legacy["cards"]], legacy["runs"], log=lambda _: None)
    assert done.conflicts == [old.resolve()] and old.read_bytes() == before and taken.read_text() == "{}"


def test_a_log_a_run_holds_is_left_alone(legacy: dict) -> None:
    from robustsnn.campaign.digests import migrate_digests
    from robustsnn.records.log import exclusive

    log_path = legacy["res"] / "plain.csv"
    before = log_path.read_bytes()
    with exclusive(log_path):
        done = migrate_digests([legacy["res"]], legacy["runs"], log=lambda _: None)
    assert done.in_use == [log_path.resolve()] and log_path.read_bytes() == before
    migrate_digests([legacy["res"]], legacy["runs"], log=lambda _: None)
    assert log_path.read_bytes() != before  # once free, it moves


def test_the_migrated_log_resumes_against_the_checkpoint(legacy: dict) -> None:
    """After the migration the identity check compares content digests: the migrated
    identity equals what the classifier describes for the checkpoint at hand."""
    from robustsnn.campaign.digests import migrate_digests
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.loading import load_model
    from robustsnn.records.log import read_identity

    migrate_digests([legacy["res"]], legacy["runs"], log=lambda _: None)
    described = NetworkClassifier(load_model(legacy["runs"] / "sst2" / "tailored" / "best.pt")).describe()
    assert read_identity(legacy["res"] / "plain.csv")["model"]["model_sha256"] == described["model_sha256"]


def test_the_cli_reports_unverified_digests_and_exits_1(legacy: dict, capsys: pytest.CaptureFixture) -> None:
    from robustsnn.cli import main

    assert main(["migrate-digests", str(legacy["results"]), "--runs", str(legacy["runs"])]) == 1
    out, err = capsys.readouterr()
    assert f"{legacy['sha']} -> {legacy['content']}" in out and f"{UNKNOWN}: no checkpoint file" in out
    assert "migrated 7 files with 1 verified digests" in out and "3 files left as they are" in err
    (legacy["res"] / "half.csv").unlink()
    (legacy["res"] / "unknown.csv").unlink()
    (legacy["res"] / "unknown.json").unlink()
    assert main(["migrate-digests", str(legacy["results"]), "--runs", str(legacy["runs"])]) == 0
