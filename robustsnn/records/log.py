"""The per-example attack log: one CSV row per attacked example, appended as it goes.

The first line of a log is its identity (``#robustsnn-identity {json}``, see
:mod:`.identity`): what experiment the rows belong to, written before the first row so
that it cannot be lost separately from them. Then come the CSV header and the rows.
Logs written before identities existed start at the header; they are read alike.

Each row is written with a single ``write`` followed by ``flush`` and ``fsync``, so a
killed run leaves at most one partial row at the end; a write that fails (disk full) is
cut off again before the error is raised, so it leaves none. Opening the log again drops
a partial row and reports which examples are done, so a resumed run neither repeats nor
loses an example.

A finished log may be stored gzip-compressed beside its name (``x.csv.gz`` for ``x.csv``;
:func:`compress_log`, ``robustsnn compress-logs``): every reader takes either, and
resuming a compressed log first restores the plain file, since a gzip stream cannot be
appended row by row with the guarantees above.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..errors import UserError
from ..io_utils import atomic_write

COLUMNS = (
    "index", "label", "result", "original_output", "perturbed_output",
    "original_score", "perturbed_score", "queries", "candidates_offered", "candidates_kept",
    "words_perturbed", "num_words", "seconds",
    "verdict_draws", "verdict_clean_votes", "verdict_final_votes",
    "verdict_clean_correct", "verdict_final_correct", "verdict_clean_draws", "verdict_final_draws",
    "original_text", "perturbed_text",
)
# The draws each text's verdict used (campaign/verdict.py stops a vote once it is settled):
# ``verdict_*_votes`` count out of these, not out of ``verdict_draws`` (R).
DRAWS_USED = ("verdict_clean_draws", "verdict_final_draws")
# Logs written before the draws used were counted, when every verdict drew all R: read
# alike (the counts empty: R), and resumed in their own columns, with all R draws.
UNCOUNTED_DRAWS_COLUMNS = tuple(c for c in COLUMNS if c not in DRAWS_USED)
# Logs written before the candidate counts existed (and the draws used): read alike
# (the counts empty), and resumed in their own columns.
LEGACY_COLUMNS = tuple(c for c in UNCOUNTED_DRAWS_COLUMNS if c not in ("candidates_offered", "candidates_kept"))
KNOWN_COLUMNS = (COLUMNS, UNCOUNTED_DRAWS_COLUMNS, LEGACY_COLUMNS)
_TERMINATOR = "\r\n"  # csv's default; texts never contain it (datasets are one line per example)
IDENTITY_PREFIX = "#robustsnn-identity "
GZ = ".gz"


def compressed(path: str | Path) -> Path:
    """Where the compressed form of the log at ``path`` lives."""
    path = Path(path)
    return path.with_name(path.name + GZ)


def log_bytes(path: str | Path) -> bytes:
    """The contents of the log at ``path``, or of its compressed form when only that exists."""
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    packed = compressed(path)
    if not packed.is_file():
        raise UserError(f"attack log not found: {path}")
    try:
        return gzip.decompress(packed.read_bytes())
    except (OSError, EOFError) as exc:
        raise UserError(f"{packed} is not a readable gzip file ({exc})") from None


def log_exists(path: str | Path) -> bool:
    return Path(path).is_file() or compressed(path).is_file()


def compress_log(path: str | Path) -> tuple[int, int]:
    """Replace the log at ``path`` by ``path.gz`` (byte-reproducible: no name or time in
    the gzip header); the plain file goes only once the compressed one reads back equal.
    Returns (plain bytes, compressed bytes)."""
    path = Path(path)
    data = path.read_bytes()
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    atomic_write(compressed(path), lambda tmp: tmp.write_bytes(packed))
    if gzip.decompress(compressed(path).read_bytes()) != data:  # never lose a row
        compressed(path).unlink()
        raise OSError(f"{compressed(path)} did not read back equal to {path}; kept {path}")
    path.unlink()
    return len(data), len(packed)


def _identity_line(identity: Mapping[str, Any]) -> bytes:
    return (IDENTITY_PREFIX + json.dumps(identity, sort_keys=False, ensure_ascii=True)
            + _TERMINATOR).encode("utf-8")


def _split_identity(data: bytes, path: Path) -> tuple[dict[str, Any] | None, bytes]:
    """``(identity or None, the CSV part)`` of a log's bytes."""
    if not data.startswith(IDENTITY_PREFIX.encode()):
        return None, data
    end = data.find(_TERMINATOR.encode())
    if end < 0:
        raise UserError(f"{path}: its identity line is cut short; move the log away to start over")
    try:
        identity = json.loads(data[len(IDENTITY_PREFIX):end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        identity = None
    if not isinstance(identity, dict):
        raise UserError(f"{path}: its identity line does not parse; move the log away to start over")
    return identity, data[end + len(_TERMINATOR):]


def _row_bytes(row: Mapping[str, Any], columns: tuple[str, ...] = COLUMNS) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=_TERMINATOR).writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(value)  # full precision, never rounded
    return value


class AttackLog:
    """Append-only CSV of outcomes, resumable after a kill.

    ``identity`` is written as the first line of a new log; an existing log keeps its own,
    readable as :attr:`identity` (None for a log written before identities existed), which
    the caller compares (:func:`.identity.check_identity`). ``notify`` hears about repairs.
    """

    def __init__(self, path: str | Path, identity: Mapping[str, Any] | None = None,
                 notify: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        notify = notify or (lambda m: print(m, file=sys.stderr))
        if not self.path.exists() and compressed(self.path).is_file():
            data = log_bytes(self.path)
            atomic_write(self.path, lambda tmp: tmp.write_bytes(data))
            compressed(self.path).unlink()
            notify(f"{compressed(self.path).name}: restored to {self.path.name} to go on with it "
                   "(robustsnn compress-logs compresses it again)")
        self._repair(notify)
        if not self.path.exists() or self.path.stat().st_size == 0:
            header = io.StringIO()
            csv.writer(header, lineterminator=_TERMINATOR).writerow(COLUMNS)
            first = _identity_line(identity) if identity is not None else b""
            self._append(first + header.getvalue().encode("utf-8"))
        self.identity, self.columns = self._read_head()

    def _read_head(self) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
        """The identity (None for a log from before identities) and the log's own header
        (a legacy log goes on in its own columns), from its first two lines only."""
        with open(self.path, "rb") as handle:
            head = handle.readline() + handle.readline()
        identity, rest = _split_identity(head, self.path)
        header = tuple(next(csv.reader(io.StringIO(rest.decode("utf-8"), newline="")), ()))
        if header not in KNOWN_COLUMNS:
            raise UserError(f"{self.path} is not an attack log of this robustsnn version "
                            "(columns differ); move it away to start over")
        return identity, header

    def _repair(self, notify: Callable[[str], None]) -> None:
        """Cut a partial last row (a run killed mid-write) off the end of the file."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(_TERMINATOR.encode()):
            cut = data.rfind(_TERMINATOR.encode())
            keep = cut + len(_TERMINATOR) if cut >= 0 else 0
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)
            notify(f"{self.path}: cut off a partial last row ({len(data) - keep} bytes) left by a run "
                   "that stopped mid-write; that example is attacked again")

    def adopt_identity(self, identity: Mapping[str, Any]) -> None:
        """Give a log written before identities existed its identity line (the caller has
        checked, from the run record, that it is the same experiment)."""
        if self.identity is not None:
            raise ValueError(f"{self.path} already has an identity")
        data = self.path.read_bytes()
        atomic_write(self.path, lambda tmp: tmp.write_bytes(_identity_line(identity) + data))
        self.identity = json.loads(json.dumps(identity))

    def _append(self, data: bytes) -> None:
        with open(self.path, "ab") as handle:
            size = handle.tell()
            try:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError:
                # Disk full (or any failed write): leave no torn row behind. Truncating
                # frees space, so it works on a full disk.
                handle.truncate(size)
                raise

    def rows(self) -> list[dict[str, str]]:
        _, data = _split_identity(self.path.read_bytes(), self.path)
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        if tuple(reader.fieldnames or ()) not in KNOWN_COLUMNS:
            raise UserError(f"{self.path} is not an attack log of this robustsnn version "
                            "(columns differ); move it away to start over")
        return [_complete(row) for row in reader]

    def done(self) -> set[int]:
        return {int(r["index"]) for r in self.rows()}

    @property
    def counts_draws(self) -> bool:
        """Whether the log records the draws each verdict used (:data:`DRAWS_USED`); a log
        from before them can only hold verdicts over all R draws."""
        return all(c in self.columns for c in DRAWS_USED)

    def append(self, row: Mapping[str, Any]) -> None:
        if not self.counts_draws:
            short = [c for c in DRAWS_USED if row.get(c) not in (None, "", row.get("verdict_draws"))]
            if short:
                raise ValueError(f"{self.path} has no {short[0]} column (an older robustsnn wrote it), so its "
                                 "verdicts must draw all R (early_stop=False); this row's did not")
        self._append(_row_bytes(row, self.columns))


@contextmanager
def exclusive(path: str | Path) -> Iterator[None]:
    """One writer per log: hold an exclusive OS lock (``flock``) on ``<log>.lock`` while
    the block runs. The kernel drops the lock when the process ends, however it ends, so
    a ``kill -9`` leaves no stale lock (the file stays, unlocked, and is reused). A second
    writer stops at once with a one-line error naming the holder's pid and host."""
    import fcntl
    import socket

    lock_path = Path(path).with_name(Path(path).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(f"{path} is being written by {holder}; one writer per log: wait for it to "
                        "finish, or stop it and run again to resume") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def read_log(path: str | Path, warn: Any = None) -> list[dict[str, str]]:
    """Rows of an existing log, checked (the file is not changed): a torn last row - a
    writer killed mid-row, or a file cut short - is left out and reported through
    ``warn`` (default: stderr), never counted; a row that does not parse, or an example
    logged twice, is a one-line error naming the log."""
    path = Path(path)
    data = log_bytes(path)
    terminator = _TERMINATOR.encode()
    if data and not data.endswith(terminator):
        cut = data.rfind(terminator)
        data = data[: cut + len(terminator)] if cut >= 0 else b""
        (warn or (lambda m: print(m, file=sys.stderr)))(
            f"robustsnn: warning: {path} ends in a torn row (a run stopped mid-write); it is left out")
    try:
        identity, data = _split_identity(data, path)
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} is not a readable attack log ({exc})") from None
    if rows and tuple(reader.fieldnames or ()) not in KNOWN_COLUMNS:
        raise UserError(f"{path} is not an attack log of this robustsnn version (columns differ)")
    seen: set[str] = set()
    first = 2 if identity is None else 3  # the line of the first row in the file
    for number, row in enumerate(rows, start=first):
        if None in row or any(v is None for v in row.values()) or not row["index"].isdigit():
            raise UserError(f"{path}: line {number} is not a complete log row")
        if row["index"] in seen:
            raise UserError(f"{path} logs example {row['index']} twice (two writers?); "
                            "it cannot be counted: rerun the cell into a fresh log")
        seen.add(row["index"])
    return [_complete(row) for row in rows]


def _complete(row: dict[str, str]) -> dict[str, str]:
    """Every column of :data:`COLUMNS` (a legacy row's missing counts empty)."""
    return {c: row.get(c, "") for c in COLUMNS}


def read_identity(path: str | Path) -> dict[str, Any] | None:
    """The identity line of the log at ``path`` (None for a log from before identities)."""
    path = Path(path)
    if not path.is_file():  # compressed: read whole
        return _split_identity(log_bytes(path), path)[0]
    with open(path, "rb") as handle:
        return _split_identity(handle.readline(), path)[0]


def final_verdict(row: Mapping[str, str], replay: bool = False) -> tuple[str, str]:
    """``(verdict_final_correct, verdict_final_votes)`` of a logged row as the metrics read
    them. In an attack run (``replay`` False) whose final text is the clean text (the
    attack failed or was skipped) the final verdict is the clean text's: the log also
    holds a second, independent vote on that same text (the runner scores [clean, final]
    together), and counting it could make one text both right and wrong, a draw-noise
    "success" (4 of 1604 such rows in the logs committed by 2026-12-01). A transfer run
    (``replay``) votes once per distinct text already, and logs the clean text as the
    final one where its single draw skipped an example whose transferred text it did
    score: its logged values stand."""
    if _final_is_clean(row, replay):
        return row["verdict_clean_correct"], row["verdict_clean_votes"]
    return row["verdict_final_correct"], row["verdict_final_votes"]


def _final_is_clean(row: Mapping[str, str], replay: bool) -> bool:
    return not replay and row["perturbed_text"] == row["original_text"]


def draws_used(row: Mapping[str, str], final: bool = False, replay: bool = False) -> int:
    """The draws out of which a logged row's clean text (``final``: its final text, read
    as :func:`final_verdict` reads it) got its ``verdict_*_votes``: the logged count
    (:data:`DRAWS_USED`; a vote stops once settled), or R for a row from before the count,
    when every vote drew all R. A share of votes is votes / this, never votes / R."""
    column = "verdict_final_draws" if final and not _final_is_clean(row, replay) else "verdict_clean_draws"
    used = row.get(column, "")
    return int(used) if used not in ("", None) else int(row["verdict_draws"])


def parse_bool(text: str) -> bool | None:
    return None if text == "" else bool(int(text))


def outcomes_of(rows: Iterable[Mapping[str, str]]) -> list[Outcome]:  # noqa: F821
    from .metrics import Outcome

    return [Outcome.from_row(r) for r in rows]
