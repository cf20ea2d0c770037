"""Finding run records: every ``*.json`` with a ``cell`` and a ``log`` under result folders,
read through the schema (:mod:`.record`); and migrating old ones to it.

One reader for everything that aggregates runs (Table 2, the adaptive tables), so they
agree on what counts as a run and on its errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from ..errors import UserError
from .record import SCHEMA_VERSION, RecordError, RunRecord, is_run_record


def find_records(results: Path | Sequence[Path]) -> list[RunRecord]:
    """Every run record under ``results`` (one folder or several, each searched
    recursively; a record reached twice counts once), in path order, each validated
    through the schema (:class:`~.record.RunRecord`: one-line errors naming the file)."""
    folders = [Path(results)] if isinstance(results, (str, Path)) else [Path(f) for f in results]
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"no attack results under {folder} (run `robustsnn attack` or `robustsnn campaign`)")
    found = []
    for path in sorted({p.resolve() for folder in folders for p in folder.rglob("*.json")}):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RecordError(f"{path} is not a readable run record") from None
        if is_run_record(data):
            found.append(RunRecord.from_dict(data, path, path=path))
    if not found:
        raise UserError(f"no run records under {', '.join(map(str, folders))}")
    return found


def migrate_records(results: Path | Sequence[Path], dry_run: bool = False,
                    log: Callable[[str], None] = print) -> tuple[int, int]:
    """Rewrite every run record under ``results`` that an older robustsnn wrote in the
    current schema (atomically; nothing else in it changes). Returns (migrated, current)."""
    migrated = current = 0
    for record in find_records(results):
        assert record.path is not None
        on_disk = json.loads(record.path.read_text(encoding="utf-8")).get("schema_version")
        if on_disk == SCHEMA_VERSION:
            current += 1
            continue
        log(f"{'would migrate' if dry_run else 'migrated'} {record.path} (schema {on_disk or 0} -> {SCHEMA_VERSION})")
        if not dry_run:
            record.write()
        migrated += 1
    return migrated, current


def compress_finished_logs(results: Path | Sequence[Path], min_bytes: int = 0, dry_run: bool = False,
                           log: Callable[[str], None] = print) -> tuple[int, int, int]:
    """Gzip the log of every complete run under ``results`` that is at least ``min_bytes``
    long; a log another process holds (a run going on with it) is skipped and named.
    Returns (logs compressed, bytes before, bytes after); ``dry_run`` only lists them."""
    from .log import compress_log, exclusive

    count = before = after = 0
    for record in find_records(results):
        path = record.log_path
        if not record.complete or not path.is_file() or path.stat().st_size < min_bytes:
            continue
        if dry_run:
            log(f"would compress {path} ({path.stat().st_size:,} bytes)")
            count += 1
            continue
        try:
            with exclusive(path):  # a run going on with this log holds it
                plain, packed = compress_log(path)
        except UserError as exc:
            log(f"skipped {path.name}: {exc}")
            continue
        log(f"compressed {path.name}: {plain:,} -> {packed:,} bytes")
        count, before, after = count + 1, before + plain, after + packed
    return count, before, after
