"""A log knows what produced it: the identity line is written before the first row, every
resume compares it (naming the first field that differs), it survives the loss of the run
record, and a log from before identities is checked against its record and upgraded."""

import errno
import json
import os
import shutil

import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding

require_textattack()

from robustsnn.campaign.runner import cell_paths, run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.errors import UserError  # noqa: E402
from robustsnn.records.log import IDENTITY_PREFIX, AttackLog, read_identity, read_log  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402

TAILORED = Cell("sst2", "tailored", "none", "pwws", "none")


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


def campaign(n=2, draws=5, **threat):
    return campaign_from_dict({
        "campaign": {"name": "toy", "models": ["tailored", "snn-converted"], "recipes": ["pwws"],
                     "noise": ["frozen"], "seed": 3},
        "examples": {"num_examples": n},
        "threat": {"candidates": 3, "max_modification_rate": 0.2, "similarity": 0.0, **threat},
        "verdict": {"draws": draws},
    })


def run(c, tmp_path, checkpoint, cell=TAILORED, messages=None):
    sink = messages.append if messages is not None else (lambda _: None)
    return run_cell(c, cell, tmp_path / "res", checkpoint=checkpoint,
                    resources=AttackResources(embedding=toy_embedding()), log=sink)


def test_the_identity_is_the_first_line_and_names_the_checkpoint(tiny_net, textattack, tmp_path):
    from robustsnn.models.checkpoint import model_digest

    record = run(campaign(), tmp_path, tiny_net.tailored)
    log_path, _ = cell_paths(tmp_path / "res", campaign(), TAILORED)
    assert log_path.read_bytes().startswith(IDENTITY_PREFIX.encode())
    identity = read_identity(log_path)
    assert identity["model"]["model_sha256"] == model_digest(tiny_net.tailored)
    assert "checkpoint_sha256" not in identity["model"]  # the file's bytes are not what it is
    assert identity["cell"] == TAILORED.to_dict() and identity["threat"]["candidates"] == 3
    assert identity["model"]["tokenizer_sha256"] == record.model["tokenizer_sha256"]
    assert "checkpoint" not in identity["model"]  # where a file lies is not what it is
    assert [r["index"] for r in read_log(log_path)] == ["0", "1"]


def test_another_checkpoint_never_extends_a_log(tiny_net, textattack, tmp_path):
    import torch

    run(campaign(n=2), tmp_path, tiny_net.tailored)
    log_path, record_path = cell_paths(tmp_path / "res", campaign(), TAILORED)
    logged = log_path.read_bytes()
    other = tmp_path / "last.pt"
    payload = torch.load(tiny_net.tailored, weights_only=True)
    payload["model"]["fc.weight"][0, 0] += 1e-3  # other weights
    torch.save(payload, other)
    with pytest.raises(UserError, match="written with model.model_sha256 = .*another experiment"):
        run(campaign(n=3), tmp_path, other)
    assert log_path.read_bytes() == logged


def test_the_same_weights_rebuilt_elsewhere_extend_the_log(tiny_net, textattack, tmp_path):
    """A checkpoint whose file differs only in meta (built in another folder: other
    source paths) and in pickling is the same network: its log resumes."""
    import torch

    run(campaign(n=2), tmp_path, tiny_net.tailored)
    log_path, _ = cell_paths(tmp_path / "res", campaign(), TAILORED)
    elsewhere = tmp_path / "elsewhere" / "best.pt"
    elsewhere.parent.mkdir()
    payload = torch.load(tiny_net.tailored, weights_only=True)
    payload["meta"] = {**payload["meta"], "dev_split": "/another/machine/sst2/dev.tsv"}
    torch.save(payload, elsewhere)  # by path: torch names the archive after the file
    assert elsewhere.read_bytes() != tiny_net.tailored.read_bytes()
    run(campaign(n=3), tmp_path, elsewhere)
    assert [r["index"] for r in read_log(log_path)] == ["0", "1", "2"]


def test_a_log_naming_the_file_digest_asks_for_the_migration(tiny_net, textattack, tmp_path):
    from robustsnn.records.log import IDENTITY_PREFIX as PREFIX

    run(campaign(n=2), tmp_path, tiny_net.tailored)
    log_path, _ = cell_paths(tmp_path / "res", campaign(), TAILORED)
    data = log_path.read_bytes()
    line, rest = data.split(b"\r\n", 1)
    identity = json.loads(line[len(PREFIX):])
    identity["model"] = {("checkpoint_sha256" if k == "model_sha256" else k): v
                         for k, v in identity["model"].items()}
    legacy = (PREFIX + json.dumps(identity)).encode() + b"\r\n" + rest
    log_path.write_bytes(legacy)
    with pytest.raises(UserError, match="sha256 of the file .*robustsnn migrate-digests"):
        run(campaign(n=3), tmp_path, tiny_net.tailored)
    assert log_path.read_bytes() == legacy


def test_a_log_from_before_identities_with_a_file_digest_record_asks_for_the_migration(tiny_net, textattack,
                                                                                      tmp_path):
    from robustsnn.io_utils import file_sha256

    run(campaign(n=2), tmp_path, tiny_net.tailored)
    log_path, record_path = cell_paths(tmp_path / "res", campaign(), TAILORED)
    data = log_path.read_bytes()
    log_path.write_bytes(data[data.index(b"\r\n") + 2:])  # no identity line: the record is the witness
    record = json.loads(record_path.read_text(encoding="utf-8"))
    del record["model"]["model_sha256"]
    record["model"]["checkpoint_sha256"] = file_sha256(tiny_net.tailored)
    record_path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(UserError, match=f"{record_path.name} names its checkpoint by the sha256 of the file"):
        run(campaign(n=3), tmp_path, tiny_net.tailored)


def test_the_identity_outlives_a_deleted_record(tiny_net, textattack, tmp_path):
    run(campaign(n=2), tmp_path, tiny_net.tailored)
    log_path, record_path = cell_paths(tmp_path / "res", campaign(), TAILORED)
    record_path.unlink()
    logged = log_path.read_bytes()
    with pytest.raises(UserError, match="written with threat.max_modification_rate = 0.2, this run has 0.5"):
        run(campaign(n=3, candidates=10, max_modification_rate=0.5), tmp_path, tiny_net.tailored)
    assert log_path.read_bytes() == logged and not record_path.exists()
    # The same experiment resumes without its record and writes a new one.
    assert run(campaign(n=3), tmp_path, tiny_net.tailored).metrics["n"] == 3
    assert record_path.exists()


def test_a_log_from_before_identities_is_checked_by_its_record_then_upgraded(tiny_net, textattack, tmp_path):
    run(campaign(n=2), tmp_path, tiny_net.tailored)
    log_path, record_path = cell_paths(tmp_path / "res", campaign(), TAILORED)
    data = log_path.read_bytes()
    legacy = data[data.index(b"\r\n") + 2:]  # as an older robustsnn wrote it: header first
    log_path.write_bytes(legacy)
    assert read_identity(log_path) is None and len(read_log(log_path)) == 2
    with pytest.raises(UserError, match="threat.candidates"):
        run(campaign(n=3, candidates=10), tmp_path, tiny_net.tailored)
    assert log_path.read_bytes() == legacy
    assert run(campaign(n=3), tmp_path, tiny_net.tailored).metrics["n"] == 3
    assert log_path.read_bytes().startswith(data)  # identity line added, old rows kept
    # Without its record an old log says nothing about its experiment: refused.
    shutil.copy(log_path, tmp_path / "keep.csv")
    log_path.write_bytes(legacy)
    record_path.unlink()
    with pytest.raises(UserError, match="no identity line .* run record .* is gone"):
        run(campaign(n=3), tmp_path, tiny_net.tailored)
    assert log_path.read_bytes() == legacy


def test_fewer_examples_than_logged_are_reported_not_refused(tiny_net, textattack, tmp_path):
    full = run(campaign(n=3), tmp_path, tiny_net.tailored)
    log_path, record_path = cell_paths(tmp_path / "res", campaign(), TAILORED)
    logged, recorded = log_path.read_bytes(), record_path.read_bytes()
    messages = []
    part = run(campaign(n=2), tmp_path, tiny_net.tailored, messages=messages)
    assert part.metrics["n"] == 2 and full.metrics["n"] == 3
    assert any("already holds 3 examples; reporting the 2 selected" in m for m in messages)
    assert log_path.read_bytes() == logged and record_path.read_bytes() == recorded


def test_the_verdict_belongs_to_a_stochastic_models_identity(tiny_net, textattack, tmp_path):
    snn = Cell("sst2", "snn-converted", "none", "pwws", "frozen")
    run(campaign(n=1, draws=5), tmp_path, tiny_net.converted, cell=snn)
    with pytest.raises(UserError, match="verdict_draws = 5, this run has 7"):
        run(campaign(n=2, draws=7), tmp_path, tiny_net.converted, cell=snn)


def test_a_failed_write_leaves_no_torn_row(tmp_path, monkeypatch):
    log = AttackLog(tmp_path / "x.csv", {"format": 1})
    log.append({"index": 0, "label": 1, "result": "failed"})
    before = log.path.read_bytes()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as caught:
        log.append({"index": 1, "label": 0, "result": "failed", "original_text": "x" * 1000})
    assert caught.value.errno == errno.ENOSPC
    assert log.path.read_bytes() == before
    monkeypatch.undo()
    assert [r["index"] for r in read_log(log.path)] == ["0"]


def test_repairing_a_partial_row_says_so(tmp_path):
    path = tmp_path / "x.csv"
    AttackLog(path, {"format": 1}).append({"index": 0, "label": 1, "result": "failed"})
    whole = path.read_bytes()
    path.write_bytes(whole + b"1,0,succ")
    heard = []
    log = AttackLog(path, {"format": 1}, notify=heard.append)
    assert path.read_bytes() == whole and log.done() == {0}
    assert len(heard) == 1 and "partial last row (8 bytes)" in heard[0]


def test_a_garbled_identity_line_is_a_one_line_error_and_a_torn_one_is_redone(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(IDENTITY_PREFIX.encode() + b"{not json\r\nindex\r\n")
    with pytest.raises(UserError, match="identity line does not parse"):
        read_log(path)
    with pytest.raises(UserError, match="identity line does not parse"):
        AttackLog(path, {"a": 1})
    # A first write torn inside the identity line held no row: the log starts afresh.
    path.write_bytes(IDENTITY_PREFIX.encode() + json.dumps({"a": 1}).encode()[:4])
    log = AttackLog(path, {"a": 1}, notify=lambda _: None)
    assert log.identity == {"a": 1} and read_log(path) == []


def test_records_never_hold_an_absolute_checkpoint_path(tmp_path, monkeypatch):
    from robustsnn.paths import portable_path

    runs, work, elsewhere = tmp_path / "runs", tmp_path / "repo", tmp_path / "elsewhere"
    for folder in (runs / "sst2" / "snn", work / "models", elsewhere):
        folder.mkdir(parents=True)
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(runs))
    monkeypatch.chdir(work)
    assert portable_path(runs / "sst2" / "snn" / "best.pt") == "sst2/snn/best.pt"
    assert portable_path(work / "models" / "x.pt") == "models/x.pt"
    assert portable_path(elsewhere / "y.pt") == "<outside>/y.pt"
    assert portable_path("models/x.pt") == "models/x.pt"
