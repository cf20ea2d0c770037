"""Fault injection on real attack runs: SIGKILL at seeded random moments, two writers on
one log, a log cut short, a full disk, a read-only folder, and a table of bad inputs.

Every fault must end in one of two ways: the run resumes to exactly the rows an
uninterrupted run writes (none lost, none duplicated), or the command stops with exit
status 2 and one line on stderr, no traceback, and no file changed.
"""

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from attack_toys import require_textattack, shared_resources_dir

require_textattack()

from conftest import link_counterfitted  # noqa: E402
from robustsnn.cli import main  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402

N = 40  # examples per run: enough rows for several kills, a few seconds per run
LOG = "faults/sst2__tailored__none__pwws__none__shared-swap.csv"
CAMPAIGN = f"""
[campaign]
name = "faults"
models = ["tailored"]
recipes = ["pwws"]
seed = 5

[examples]
num_examples = {N}

[threat]
candidates = 5
max_modification_rate = 0.2
similarity = 0.0
"""


@pytest.fixture
def setup(tiny_net, tmp_path, monkeypatch, counterfitted_cache):
    """The tiny tailored net, a campaign file, and the environment of a child process."""
    link_counterfitted(counterfitted_cache, Path(os.environ["ROBUSTSNN_RUNS"]))
    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(shared_resources_dir()))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    campaign = tmp_path / "faults.toml"
    campaign.write_text(CAMPAIGN, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return tiny_net, campaign, env


def attack_args(net, campaign, results):
    return ["attack", "--model", "tailored", "--recipe", "pwws", "--campaign", str(campaign),
            "--checkpoint", str(net.tailored), "--results", str(results)]


def child(args, env):
    return subprocess.Popen([sys.executable, "-m", "robustsnn", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def complete_rows(path: Path) -> int:
    """Rows whose terminator is written (the identity line and the header excluded)."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    return max(0, data.count(b"\r\n") - 2)


def wait_for(condition, proc, timeout=180.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the attack made no progress"
        time.sleep(0.01)
    return True


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def reference_rows(net, campaign, tmp_path):
    """The rows of an uninterrupted run (in this process)."""
    results = tmp_path / "reference"
    if not (results / LOG).exists():
        assert main(attack_args(net, campaign, results)) == 0
    return without_seconds(read_log(results / LOG))


def test_seeded_kills_lose_and_duplicate_nothing(setup, tmp_path):
    net, campaign, env = setup
    results = tmp_path / "killed"
    log = results / LOG
    rng = random.Random(20261201)
    kills = 0
    while kills < 6:
        before = complete_rows(log)
        proc = child(attack_args(net, campaign, results), env)
        target = before + rng.randint(1, 4)  # a seeded number of rows, then a seeded moment
        if wait_for(lambda: complete_rows(log) >= target, proc):  # noqa: B023 (called at once)
            time.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.returncode == -signal.SIGKILL:
                kills += 1
        else:
            pytest.fail(f"the run ended before kill {kills + 1}: raise N (rc {proc.returncode}: {proc.stderr.read()})")
    final = subprocess.run([sys.executable, "-m", "robustsnn", *attack_args(net, campaign, results)],
                           env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    rows = read_log(log)
    indices = [int(r["index"]) for r in rows]
    assert kills >= 5
    assert len(indices) == len(set(indices)) == N  # none duplicated, none lost
    print(f"SIGKILLs survived: {kills}; rows {len(indices)} of {N}: 0 lost, 0 duplicated")
    assert without_seconds(rows) == reference_rows(net, campaign, tmp_path)


def test_a_second_writer_stops_at_once_naming_the_first(setup, tmp_path):
    net, campaign, env = setup
    results = tmp_path / "two"
    log = results / LOG
    first = child(attack_args(net, campaign, results), env)
    try:
        assert wait_for(lambda: complete_rows(log) >= 1, first)
        first.send_signal(signal.SIGSTOP)  # holds the lock, writes nothing meanwhile
        second = subprocess.run([sys.executable, "-m", "robustsnn", *attack_args(net, campaign, results)],
                                env=env, capture_output=True, text=True, timeout=300)
        lines = second.stderr.strip().splitlines()
        assert second.returncode == 2 and len(lines) == 1, second.stderr
        assert f"being written by pid {first.pid} on " in lines[0] and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert without_seconds(read_log(log)) == reference_rows(net, campaign, tmp_path)


def test_a_log_cut_short_is_left_out_by_the_table_and_redone_by_a_resume(setup, tmp_path, capsys):
    net, campaign, env = setup
    results = tmp_path / "cut"
    assert main(attack_args(net, campaign, results)) == 0
    log = results / LOG
    whole = read_log(log)
    with open(log, "r+b") as handle:  # truncate -s -17
        handle.truncate(log.stat().st_size - 17)
    capsys.readouterr()
    assert main(["table", "--results", str(results), "--out", str(tmp_path / "t.csv")]) == 0
    captured = capsys.readouterr()
    assert "ends in a torn row" in captured.err
    assert f"| {N - 1}* |" in captured.out.replace("  ", " ").replace("  ", " ")  # not counted, incomplete
    assert main(attack_args(net, campaign, results)) == 0
    assert without_seconds(read_log(log)) == without_seconds(whole)


def _one_line_error(capsys, rc, *needles):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("robustsnn: error: "), captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_disk_full_mid_run_leaves_no_torn_row_and_resumes(setup, tmp_path, capsys, monkeypatch):
    net, campaign, env = setup
    results = tmp_path / "full"
    real_fsync, calls = os.fsync, []

    def fsync(fd):  # the disk fills up at the fifth write
        calls.append(fd)
        if len(calls) == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    rc = main(attack_args(net, campaign, results))
    monkeypatch.setattr(os, "fsync", real_fsync)
    _one_line_error(capsys, rc, "run the same command again")
    log = results / LOG
    assert log.read_bytes().endswith(b"\r\n")  # no torn row
    assert len(read_log(log)) == 3  # identity+header was write 1, rows 0-2 writes 2-4
    assert main(attack_args(net, campaign, results)) == 0
    assert without_seconds(read_log(log)) == reference_rows(net, campaign, tmp_path)


def test_a_read_only_folder_is_one_line_naming_it(setup, tmp_path, capsys, monkeypatch):
    import robustsnn.io_utils as io_utils

    net, campaign, env = setup
    results = tmp_path / "ro"

    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))

    _one_line_error(capsys, _with(monkeypatch, io_utils.os, "replace", read_only,
                                  lambda: main(attack_args(net, campaign, results))), str(results), "writable")
    assert main(attack_args(net, campaign, results)) == 0  # writable again: it runs
    before = _fingerprint(results)
    _one_line_error(capsys, _with(monkeypatch, io_utils.os, "replace", read_only, lambda: main(
        ["table", "--results", str(results), "--out", str(tmp_path / "t.csv")])), "t.csv", "writable")
    assert _fingerprint(results) == before and not (tmp_path / "t.csv").exists()


def _with(monkeypatch, owner, name, value, call):
    """``call()`` with ``owner.name`` replaced by ``value``."""
    with monkeypatch.context() as mp:
        mp.setattr(owner, name, value)
        return call()


def _fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _bad_inputs(net, campaign: Path, tmp: Path) -> list[tuple[str, list[str], str]]:
    """``(case, argv, a word the one-line error must contain)``; files made here."""
    def write(name: str, data: bytes | str) -> Path:
        path = tmp / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    base = ["--campaign", str(campaign), "--checkpoint", str(net.tailored), "--results", str(tmp / "res")]
    good = CAMPAIGN
    cases = [
        ("unknown model", ["attack", "--model", "nope", "--recipe", "pwws", *base], "nope"),
        ("unknown recipe", ["attack", "--model", "tailored", "--recipe", "nope", *base], "nope"),
        ("unknown defense", ["attack", "--model", "tailored", "--recipe", "pwws", "--defense", "nope", *base],
         "nope"),
        ("unknown dataset", ["attack", "--model", "tailored", "--recipe", "pwws", "--dataset", "nope", *base],
         "nope"),
        ("bare mean-k", ["attack", "--model", "snn", "--recipe", "pwws", "--noise", "mean-k", *base], "mean-20"),
        ("unknown noise", ["attack", "--model", "snn", "--recipe", "pwws", "--noise", "loud", *base], "loud"),
        ("removed --k", ["attack", "--model", "snn", "--recipe", "pwws", "--k", "5", *base], "mean-5"),
        ("zero examples", ["attack", "--model", "tailored", "--recipe", "pwws", "--num-examples", "0", *base],
         "positive"),
        ("--set without =", ["attack", "--model", "tailored", "--recipe", "pwws", "--set", "threat", *base],
         "threat"),
        ("--set unknown key", ["attack", "--model", "tailored", "--recipe", "pwws", "--set", "threat.nope=1",
                               *base], "nope"),
        ("--set wrong type", ["attack", "--model", "tailored", "--recipe", "pwws", "--set",
                              "threat.candidates=many", *base], "candidates"),
        ("malformed TOML", ["campaign", str(write("bad.toml", "[campaign\nname = 1"))], "bad.toml"),
        ("TOML wrong type", ["campaign", str(write("type.toml", good.replace(f"num_examples = {N}",
                                                                            'num_examples = "ten"')))],
         "num_examples"),
        ("TOML date", ["campaign", str(write("date.toml", good.replace("seed = 5", "seed = 1979-05-27")))], "seed"),
        ("TOML unknown key", ["campaign", str(write("key.toml", good + "\nfoo = 1\n"))], "foo"),
        ("campaign not UTF-8", ["campaign", str(write("latin.toml", "name = 'caf\xe9'".encode("latin-1")))],
         "latin.toml"),
        ("campaign is a folder", ["campaign", str(tmp / "inputs")], "inputs"),
        ("campaign missing", ["campaign", str(tmp / "nowhere.toml")], "nowhere.toml"),
        ("empty checkpoint", ["attack", "--model", "tailored", "--recipe", "pwws", "--campaign", str(campaign),
                              "--checkpoint", str(write("empty.pt", b"")), "--results", str(tmp / "res")],
         "empty.pt"),
        ("truncated checkpoint", ["attack", "--model", "tailored", "--recipe", "pwws", "--campaign",
                                  str(campaign), "--checkpoint",
                                  str(write("cut.pt", net.tailored.read_bytes()[:2000])),
                                  "--results", str(tmp / "res")], "cut.pt"),
        ("checkpoint missing", ["attack", "--model", "tailored", "--recipe", "pwws", "--campaign", str(campaign),
                                "--checkpoint", str(tmp / "none.pt"), "--results", str(tmp / "res")], "none.pt"),
        ("--results is a file", ["attack", "--model", "tailored", "--recipe", "pwws", "--campaign", str(campaign),
                                 "--checkpoint", str(net.tailored), "--results", str(write("file", "x"))], "file"),
        ("table of nothing", ["table", "--results", str(tmp / "nowhere")], "nowhere"),
        ("table --out a folder", ["table", "--results", str(tmp / "inputs"), "--out", str(tmp / "inputs")],
         "inputs"),
        ("train recipe malformed", ["train", "--config", str(write("r.toml", "[model\n")), "--model", "textcnn"],
         "r.toml"),
        ("evaluate a non-checkpoint", ["evaluate", str(write("text.pt", "not a checkpoint"))], "text.pt"),
    ]
    return cases


# Dataset files a run reads: each broken copy of the toy test split must stop the attack.
_BAD_SPLITS = [
    ("empty text", "label\ttext\n1\t\n", "empty"),
    ("whitespace text", "label\ttext\n1\t   \n", "empty"),
    ("not UTF-8", "label\ttext\n1\tcaf\xe9\n".encode("latin-1"), "UTF-8"),
    ("no header", "1\tgood film .\n", "header"),
    ("unknown label", "label\ttext\n7\tgood film .\n", "label"),
]


def test_bad_inputs_are_one_line_errors_that_change_nothing(setup, tmp_path, capsys, tiny_data):
    net, campaign, env = setup
    (tmp_path / "inputs").mkdir()
    cases = _bad_inputs(net, campaign, tmp_path)
    for name, data, needle in _BAD_SPLITS:
        split = tmp_path / "data" / name.replace(" ", "-") / "sst2" / "test.tsv"
        split.parent.mkdir(parents=True)
        for other in ("train", "dev"):
            (split.parent / f"{other}.tsv").write_bytes((tiny_data / "sst2" / f"{other}.tsv").read_bytes())
        split.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        cases.append((f"dataset: {name}", ["attack", "--model", "tailored", "--recipe", "pwws",
                                           "--campaign", str(campaign), "--checkpoint", str(net.tailored),
                                           "--results", str(tmp_path / "res"), "--data-root", str(split.parents[1])],
                      needle))
    tried = 0
    for name, argv, needle in cases:
        data_root = None
        if "--data-root" in argv:  # not a CLI option: the dataset comes from ROBUSTSNN_DATA
            data_root = argv[argv.index("--data-root") + 1]
            argv = argv[: argv.index("--data-root")]
        before = _fingerprint(tmp_path)
        capsys.readouterr()
        with pytest.MonkeyPatch.context() as mp:
            if data_root:
                mp.setenv("ROBUSTSNN_DATA", data_root)
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse's own usage errors also exit 2 in one line
                rc = exc.code
        captured = capsys.readouterr()
        lines = [line for line in captured.err.strip().splitlines() if not line.startswith("usage:")]
        assert rc == 2, f"{name}: exit {rc}\n{captured.err}"
        assert len(lines) == 1 and "Traceback" not in captured.err, f"{name}:\n{captured.err}"
        assert needle.lower() in lines[0].lower(), f"{name}: {lines[0]}"
        after = _fingerprint(tmp_path)
        # A refused run may leave its (unlocked) lock file: never removed, see log.exclusive;
        # importing TextAttack fills its cache under $ROBUSTSNN_RUNS/cache.
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
                   and not k.endswith(".csv.lock") and not k.startswith("runs/cache/")}
        assert not changed, f"{name} changed {sorted(changed)}"
        tried += 1
    print(f"bad inputs tried: {tried}, all one-line errors with exit 2")
    assert tried == len(cases) >= 30
