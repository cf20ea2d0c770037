"""``robustsnn migrate-digests``: logs, run records and model cards written before content
digests name their checkpoint by the sha256 of its *file* (``checkpoint_sha256``); this
rewrites them, once, to name it by its content digest (``model_sha256``, see
:func:`robustsnn.models.checkpoint.model_sha256`).

The mapping is checked, never assumed: a legacy digest is mapped only when a checkpoint
file under ``$ROBUSTSNN_RUNS`` hashes to it, and then to that file's content digest. A
legacy digest no local file has is reported and every file naming it is left as it is
(a file naming two legacy digests, a transfer run's target and source, moves only when
both are known), so nothing is ever named by a guess.

What moves, and nothing else in those files:

* run records (``*.json`` read through :mod:`robustsnn.records.record`):
  ``model.checkpoint_sha256`` -> ``model.model_sha256``; a transfer's
  ``attack.source_checkpoint_sha256`` -> ``attack.source_model_sha256``;
* attack logs, plain (``*.csv``) or compressed (``*.csv.gz``): the same two fields of
  the identity line (:mod:`robustsnn.records.identity`); the rows' bytes are kept as they
  are. A plain log is rewritten under its writer lock
  (:func:`robustsnn.records.log.exclusive`): a log a run is appending to is skipped and
  named, never rewritten under it;
* model cards (``benchmark/cards/...``): ``checkpoint_sha256`` -> ``model_sha256``, and a
  file named ``...__<12 hex>.json`` after the old digest takes the new one's.

Each file is replaced atomically (:func:`robustsnn.io_utils.atomic_write`), and a file
already naming content digests is left alone, so running it twice changes nothing.
"""

from __future__ import annotations

import gzip
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..errors import UserError
from ..records.record import LEGACY_DIGEST

NEW = "model_sha256"
# Where a digest sits in each kind of file: (section, legacy key, new key). A section of
# None: the top level (a card).
_RECORD_FIELDS = (("model", LEGACY_DIGEST, NEW), ("attack", "source_checkpoint_sha256", "source_model_sha256"))
_CARD_FIELDS = ((None, LEGACY_DIGEST, NEW), ("architecture", LEGACY_DIGEST, NEW))


@dataclass(frozen=True)
class Verified:
    """A legacy digest that a local checkpoint file hashes to, and that file's content digest."""

    legacy: str
    content: str
    checkpoint: Path


@dataclass
class DigestMap:
    """Legacy file digest -> :class:`Verified`, built from the checkpoint files at hand."""

    verified: dict[str, Verified] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # checkpoint files that would not load

    def get(self, legacy: str) -> Verified | None:
        return self.verified.get(legacy)


@dataclass
class Migration:
    """What :func:`migrate_digests` did (or would do, with ``dry_run``)."""

    digests: DigestMap
    migrated: list[Path] = field(default_factory=list)
    current: int = 0  # files that already name content digests (or no digest at all)
    unverified: dict[str, list[Path]] = field(default_factory=dict)  # legacy digest -> files left alone
    in_use: list[Path] = field(default_factory=list)  # logs a run holds: left alone
    conflicts: list[Path] = field(default_factory=list)  # cards whose new name is taken: left alone
    renamed: dict[Path, Path] = field(default_factory=dict)  # cards: old name -> new name
    used: set[str] = field(default_factory=set)  # legacy digests that were mapped

    def report(self) -> list[str]:
        """The outcome in lines: what was mapped to what, what could not be verified."""
        lines = [f"{v.legacy} -> {v.content} ({v.checkpoint})"
                 for v in sorted((self.digests.verified[d] for d in self.used), key=lambda v: str(v.checkpoint))]
        for legacy, files in sorted(self.unverified.items()):
            lines.append(f"{legacy}: no checkpoint file under $ROBUSTSNN_RUNS hashes to it; "
                         f"{len(files)} files left as they are (first: {files[0]})")
        lines += [f"{path}: a run holds it (it is being written); left as it is" for path in self.in_use]
        lines += [f"{path}: a card named after the content digest is already there; left as it is"
                  for path in self.conflicts]
        lines += [f"renamed {old.name} -> {new.name}" for old, new in self.renamed.items()]
        return lines


# ------------------------------------------------------------------ the mapping
def verify_digests(wanted: Iterable[str], runs: Path, log: Callable[[str], None] = print) -> DigestMap:
    """For each checkpoint file (``*.pt``) under ``runs``, its file sha256; those equal to
    a digest in ``wanted`` are loaded and give their content digest. A file that will not
    load is named, not guessed at."""
    from ..io_utils import file_sha256
    from ..models.checkpoint import model_digest

    wanted = set(wanted)
    out = DigestMap()
    if not wanted:
        return out
    if not runs.is_dir():
        raise UserError(f"no checkpoints under {runs} (set ROBUSTSNN_RUNS to the folder holding them)")
    for path in sorted(runs.rglob("*.pt")):
        if not path.is_file():
            continue
        legacy = file_sha256(path)
        if legacy not in wanted or legacy in out.verified:
            continue
        try:
            content = model_digest(path)
        except UserError as exc:
            out.unreadable.append(str(path))
            log(f"skipped {path}: {exc}")
            continue
        out.verified[legacy] = Verified(legacy, content, path)
    return out


# ------------------------------------------------------------------ the files
def _candidates(folders: Sequence[Path]) -> list[tuple[Path, str]]:
    """``(path, kind)`` of every file that may name a digest: "record", "card", "log" or
    "log.gz" (kinds of JSON are told apart when read)."""
    from ..records.log import GZ

    out = []
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"no results folder {folder}")
    seen = sorted({p.resolve() for folder in folders for p in folder.rglob("*") if p.is_file()})
    for path in seen:
        if path.name.endswith(".json"):
            out.append((path, "json"))
        elif path.name.endswith(".csv"):
            out.append((path, "log"))
        elif path.name.endswith(".csv" + GZ):
            out.append((path, "log.gz"))
    return out


def _read(path: Path, kind: str) -> tuple[str, Any] | None:
    """``(what it is, its parsed content)``: ("record" | "card", dict) for JSON, ("log",
    (identity, rest bytes)) for a log with an identity line; None for anything else."""
    from ..records.log import IDENTITY_PREFIX, _split_identity
    from ..records.record import is_run_record

    if kind == "json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        if is_run_record(data):
            return "record", data
        if isinstance(data, dict) and "card_version" in data:
            return "card", data
        return None
    if kind == "log":
        with open(path, "rb") as handle:
            if not handle.read(len(IDENTITY_PREFIX)) == IDENTITY_PREFIX.encode():
                return None
        data = path.read_bytes()
    else:
        try:
            data = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            raise UserError(f"{path} is not a readable gzip file ({exc})") from None
        if not data.startswith(IDENTITY_PREFIX.encode()):
            return None
    identity, rest = _split_identity(data, path)
    return "log", (identity, rest)


def _fields(what: str) -> tuple[tuple[str | None, str, str], ...]:
    return _CARD_FIELDS if what == "card" else _RECORD_FIELDS


def _document(what: str, data: Any) -> Mapping[str, Any]:
    return data[0] if what == "log" else data


def _legacy_of(parsed: tuple[str, Any], kind: str) -> dict[tuple[str | None, str], str]:
    """(section, legacy key) -> legacy digest, for each legacy digest the file names."""
    what, data = parsed
    doc = _document(what, data)
    out = {}
    for section, old, _ in _fields(what):
        holder = doc if section is None else doc.get(section)
        if isinstance(holder, Mapping) and isinstance(holder.get(old), str) and holder.get(old):
            out[(section, old)] = holder[old]
    return out


def _renamed(holder: Mapping[str, Any], old: str, new: str, value: str) -> dict[str, Any]:
    """``holder`` with key ``old`` replaced by ``new`` (= ``value``) in its place, so the
    identity keeps its field order (resumes name the first field that differs)."""
    if new in holder and holder[new] != value:
        raise UserError(f"names both {old} and {new}, and they disagree")
    out: dict[str, Any] = {}
    for key, item in holder.items():
        if key == old:
            out[new] = value
        elif key != new:  # already there (and equal): it takes the old key's place
            out[key] = item
    return out


def _migrated(parsed: tuple[str, Any], mapping: Mapping[str, str]) -> Any:
    what, data = parsed
    doc = json.loads(json.dumps(_document(what, data)))  # a copy, key order kept
    for section, old, new in _fields(what):
        holder = doc if section is None else doc.get(section)
        if isinstance(holder, Mapping) and holder.get(old):
            moved = _renamed(holder, old, new, mapping[holder[old]])
            if section is None:
                doc = moved
            else:
                doc[section] = moved
    return doc


def _write_log(path: Path, kind: str, identity: dict[str, Any], rest: bytes) -> None:
    from ..io_utils import atomic_write
    from ..records.log import _identity_line

    data = _identity_line(identity) + rest
    if kind == "log":
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
        return
    packed = gzip.compress(data, compresslevel=9, mtime=0)  # as compress_log writes it
    if gzip.decompress(packed) != data:  # never lose a row
        raise OSError(f"{path}: the recompressed log did not read back equal; left as it was")
    atomic_write(path, lambda tmp: tmp.write_bytes(packed))


def _card_name(path: Path, legacy: str, content: str) -> Path:
    """The card's file name after its digest, when it was named after the legacy one."""
    stem = path.name.removesuffix(".json")
    if stem.endswith("__" + legacy[:12]):
        return path.with_name(stem[: -len(legacy[:12])] + content[:12] + ".json")
    return path


def migrate_digests(results: Path | Sequence[Path], runs: Path | None = None, dry_run: bool = False,
                    log: Callable[[str], None] = print) -> Migration:
    """Rewrite every log, run record and card under ``results`` (one folder or several,
    recursively) that names a checkpoint by its file's sha256 to name it by its content
    digest, for the digests a checkpoint file under ``runs`` (default ``$ROBUSTSNN_RUNS``)
    verifies; see the module docstring. ``dry_run`` writes nothing."""
    from ..io_utils import atomic_write_json
    from ..paths import runs_dir
    from ..records.log import exclusive

    folders = [Path(results)] if isinstance(results, (str, Path)) else [Path(f) for f in results]
    files = [(path, kind, parsed) for path, kind in _candidates(folders)
             if (parsed := _read(path, kind)) is not None]
    wanted = {d for _, kind, parsed in files for d in _legacy_of(parsed, kind).values()}
    digests = verify_digests(wanted, Path(runs) if runs is not None else runs_dir(), log)
    out = Migration(digests)
    for path, kind, parsed in files:
        legacy = _legacy_of(parsed, kind)
        if not legacy:
            out.current += 1
            continue
        unknown = sorted({d for d in legacy.values() if digests.get(d) is None})
        if unknown:
            for digest in unknown:
                out.unverified.setdefault(digest, []).append(path)
            continue
        mapping = {d: digests.verified[d].content for d in legacy.values()}
        out.used |= set(mapping)
        what = parsed[0]
        try:
            doc = _migrated(parsed, mapping)
        except UserError as exc:
            raise UserError(f"{path} {exc}") from None
        if dry_run:
            out.migrated.append(path)
            continue
        if what == "log":
            if kind == "log":
                with ExitStack() as held:
                    try:
                        held.enter_context(exclusive(path))  # a run appending to it holds this lock
                    except UserError:
                        out.in_use.append(path)
                        continue
                    again = _read(path, kind)  # read again under the lock: no row appended since is lost
                    if again is None or _legacy_of(again, kind) != legacy:
                        continue  # changed under us; the next run of this migrates it
                    _write_log(path, kind, doc, again[1][1])
            else:
                _write_log(path, kind, doc, parsed[1][1])
        elif what == "record":
            from ..records.record import RunRecord

            RunRecord.from_dict(doc, path)  # what readers refuse is never written
            atomic_write_json(path, doc)  # as the runner writes records; nothing else changes
        else:
            target = _card_name(path, legacy[(None, LEGACY_DIGEST)], doc[NEW])
            if target != path and target.exists():  # a card written since under the new digest
                out.conflicts.append(path)
                continue
            atomic_write_json(target, doc)
            if target != path:
                path.unlink()
                out.renamed[path] = target
        out.migrated.append(path)
    for line in out.report():
        log(line)
    return out
