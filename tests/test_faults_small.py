"""Faults a user meets outside the happy path, each ending in one clear line: a full,
read-only or misnamed output path, Ctrl-C and SIGTERM, the mode of written files, CRLF
data files, an empty run in the table, and checkpoints that are empty, cut short,
foreign or unsafe to unpickle."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import robustsnn.cli
from conftest import run_record_dict
from robustsnn.errors import UserError


def _toy_results(folder: Path) -> Path:
    """One run record and its log, with the fields ``robustsnn table`` reads."""
    from robustsnn.records.log import AttackLog

    stem = "sst2__textcnn__none__pwws__none__shared-swap"
    log = AttackLog(folder / "toy" / f"{stem}.csv")
    log.append({"index": 0, "label": 1, "result": "failed", "original_output": 1, "perturbed_output": 1,
                "original_score": 0.9, "perturbed_score": 0.8, "queries": 3, "words_perturbed": 0,
                "num_words": 2, "seconds": 0.1, "original_text": "a text", "perturbed_text": "a text"})
    record = run_record_dict(sha=None, campaign="toy", log=f"{stem}.csv", examples_selected=1)
    (folder / "toy" / f"{stem}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def _one_error_line(capsys: pytest.CaptureFixture[str], rc: int, *names: object) -> str:
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robustsnn: error: "), err
    for name in names:
        assert str(name) in lines[0], err
    return lines[0]


# 1. Filesystem faults: one line naming the path and the fix.

def test_table_out_under_a_file_names_the_path(tmp_path, capsys):
    results = _toy_results(tmp_path / "res")
    (tmp_path / "plain").write_text("a file, not a folder\n")
    for out in (tmp_path / "plain" / "table2.csv", tmp_path / "plain" / "sub" / "table2.csv"):
        rc = robustsnn.cli.main(["table", "--results", str(results), "--out", str(out)])
        line = _one_error_line(capsys, rc, tmp_path / "plain")
        assert "a part of this path is a file, not a folder" in line


def test_table_out_that_is_a_folder_says_give_a_file(tmp_path, capsys):
    results = _toy_results(tmp_path / "res")
    (tmp_path / "out.csv").mkdir()
    rc = robustsnn.cli.main(["table", "--results", str(results), "--out", str(tmp_path / "out.csv")])
    line = _one_error_line(capsys, rc, tmp_path / "out.csv")
    assert "this is a folder; give a file path" in line
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def test_campaign_file_that_is_a_folder(tmp_path, capsys):
    rc = robustsnn.cli.main(["campaign", str(tmp_path)])
    line = _one_error_line(capsys, rc, tmp_path)
    assert "give a file path" in line


def test_read_only_results_name_the_file_not_the_temporary(tmp_path, capsys, monkeypatch):
    import tempfile

    results = _toy_results(tmp_path / "res")
    out = tmp_path / "ro" / "table2.csv"

    def read_only(prefix: str = "", suffix: str = "", dir: str | None = None) -> tuple[int, str]:
        # What mkstemp raises on a read-only mount: the name it tried, a hidden temporary.
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.path.join(dir, f"{prefix}abc123{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    rc = robustsnn.cli.main(["table", "--results", str(results), "--out", str(out)])
    line = _one_error_line(capsys, rc, out)
    assert "read-only file system; choose a writable --results/--out folder" in line
    assert "abc123" not in line


def test_full_disk_names_the_file_and_says_runs_resume(tmp_path, capsys, monkeypatch):
    import robustsnn.analysis.table
    from robustsnn.io_utils import atomic_write

    results = _toy_results(tmp_path / "res")
    out = tmp_path / "table2.csv"

    def disk_full(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a failed write() names no file

    monkeypatch.setattr(robustsnn.analysis.table, "atomic_write_text", lambda path, text: atomic_write(path, disk_full))
    rc = robustsnn.cli.main(["table", "--results", str(results), "--out", str(out)])
    line = _one_error_line(capsys, rc, out)
    assert line.endswith("free some space and run the same command again (runs resume where they stopped)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # the temporary is gone too

    def broken(path: Path, text: str) -> None:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))  # a bug of ours, not the user's disk

    monkeypatch.setattr(robustsnn.analysis.table, "atomic_write_text", broken)
    with pytest.raises(OSError) as info:  # keeps its traceback
        robustsnn.cli.main(["table", "--results", str(results), "--out", str(out)])
    assert info.value.errno == errno.EBADF


# 2. Ctrl-C and SIGTERM: one line, exit 130 / 143, finally blocks run.

_BLOCKING = textwrap.dedent("""
    import argparse, signal, sys, time
    # A shell without job control starts background jobs with SIGINT ignored; Ctrl-C
    # reaches a robustsnn run in a terminal, so give the child Python's own handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import robustsnn.cli as cli

    def build_parser():
        parser = argparse.ArgumentParser(prog="robustsnn")
        sub = parser.add_subparsers(dest="command")
        def wait(args):
            try:
                print("ready", flush=True)
                time.sleep(60)
            finally:
                print("unwound", flush=True)
        sub.add_parser("wait").set_defaults(func=wait)
        return parser

    cli.build_parser = build_parser
    rc = cli.main(["wait"])
    print("handler restored" if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL else "handler leaked", flush=True)
    sys.exit(rc)
""")


@pytest.mark.parametrize("signum, rc, message", [
    (signal.SIGTERM, 143, "robustsnn: terminated; run the same command again to resume"),
    (signal.SIGINT, 130, "robustsnn: interrupted; run the same command again to resume"),
])
def test_signal_ends_in_one_line_after_unwinding(signum, rc, message):
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKING], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == rc, err
    assert err.strip() == message
    assert out.splitlines() == ["unwound", "handler restored"]


# 3. Written files follow the umask, like a plain open().

def test_atomic_write_follows_the_umask(tmp_path):
    from robustsnn.io_utils import atomic_write_text

    for mask, mode in ((0o022, 0o644), (0o002, 0o664), (0o077, 0o600)):
        path = tmp_path / f"table-{mask:o}.csv"
        old = os.umask(mask)
        try:
            atomic_write_text(path, "a,b\n")
        finally:
            os.umask(old)
        assert (stat.S_IMODE(path.stat().st_mode), path.read_text()) == (mode, "a,b\n"), oct(mask)


# 4. A CRLF data file reads like its LF twin.

def test_crlf_tsv_loads_like_lf(tmp_path, monkeypatch):
    from robustsnn.data.tsv import load_dataset, read_tsv

    rows = [(1, "a fine film ."), (0, "a dull film ."), (1, "warm and funny ."), (0, "tedious plot .")] * 3
    lf = "label\ttext\n" + "".join(f"{y}\t{t}\n" for y, t in rows)
    for name, text in (("lf", lf), ("crlf", lf.replace("\n", "\r\n"))):
        for split in ("train", "dev", "test"):
            (tmp_path / name / "sst2").mkdir(parents=True, exist_ok=True)
            (tmp_path / name / "sst2" / f"{split}.tsv").write_bytes(text.encode("utf-8"))
    crlf_file = read_tsv(tmp_path / "crlf" / "sst2" / "test.tsv", 2)
    assert (crlf_file.texts, crlf_file.labels) == (tuple(t for _, t in rows), tuple(y for y, _ in rows))
    a, b = load_dataset("sst2", root=tmp_path / "lf"), load_dataset("sst2", root=tmp_path / "crlf")
    for split in ("train", "dev", "test"):
        assert (a.split(split).texts, a.split(split).labels) == (b.split(split).texts, b.split(split).labels)
    # A CR anywhere but the line end is still the text's own.
    (tmp_path / "mid.tsv").write_bytes(b"label\ttext\r\n1\ta\rb\r\n")
    assert read_tsv(tmp_path / "mid.tsv", 2).texts == ("a\rb",)


# 5. A run with no examples shows "-" for seconds per example, not nan.

def test_empty_run_shows_no_nan_in_the_markdown_table():
    from robustsnn.analysis.table import COLUMNS, render_markdown

    nan = math.nan
    row = {key: None for key in COLUMNS}
    row.update(campaign="toy", dataset="sst2", model="snn", defense="none", recipe="pwws", noise="fresh",
               protocol="shared-swap", n=0, complete=False, query_cache=True, clean_accuracy=nan,
               accuracy_under_attack=nan, attack_success_rate=nan, words_perturbed=nan, queries=nan,
               seconds_per_example=nan, verdict_draws=0)
    lines = render_markdown([row]).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[header.index("s/ex")] == "-"
    assert "nan" not in lines[2]


# 6. Checkpoints that cannot be loaded: our words, never PyTorch's.

class _RunsCode:
    def __reduce__(self):
        return (print, ("CODE-FROM-THE-CHECKPOINT-RAN",))


def test_unloadable_checkpoints_are_named_in_our_words(tmp_path, capfd):
    import torch

    from robustsnn.models.checkpoint import load_checkpoint

    torch.save({"format": "robustsnn/1", "weights": torch.arange(4096.0)}, tmp_path / "whole.pt")
    data = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "noise.pt").write_bytes(os.urandom(4096))
    torch.save({"format": "robustsnn/1", "model": _RunsCode()}, tmp_path / "code.pt")
    expected = {
        "empty.pt": "is empty (an interrupted save?): rebuild it with the command that made it",
        "cut.pt": "is truncated, corrupt or not a PyTorch file: rebuild it",
        "noise.pt": "is truncated, corrupt or not a PyTorch file: rebuild it",
        "code.pt": "holds Python objects that could run code when loaded; robustsnn loads only plain tensors "
                   "and will not open it (rebuild it with robustsnn)",
    }
    for name, words in expected.items():
        with pytest.raises(UserError) as info:
            load_checkpoint(tmp_path / name)
        message = str(info.value)
        assert message == f"checkpoint {tmp_path / name} {words}"
        assert "weights_only" not in message and "\x1b" not in message and "\n" not in message
    out, err = capfd.readouterr()
    assert "CODE-FROM-THE-CHECKPOINT-RAN" not in out + err
    # The refused file really runs code when unpickled without the guard.
    torch.load(tmp_path / "code.pt", weights_only=False)
    assert "CODE-FROM-THE-CHECKPOINT-RAN" in capfd.readouterr().out
