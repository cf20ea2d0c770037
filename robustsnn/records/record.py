"""The run record: one JSON file per attack (or transfer) run, the benchmark's central artifact.

A run writes ``<cell>__<protocol>.json`` beside its per-example log (:mod:`.log`): what
ran (cell, campaign, attack description), against what (the model's description and its
content digest ``model.model_sha256``, see :func:`robustsnn.models.checkpoint.model_sha256`;
records from before it carry ``model.checkpoint_sha256``, the file's sha256), where its
rows are (``log``, a file name beside the record), how it went (``complete``, ``metrics``,
``verdict``) and its provenance (date, versions, machine, command). :class:`RunRecord` is
its one typed form: the runner writes through it and every reader (tables, worst case,
site, transfer, build) reads through it, so a field is spelled once and a malformed file
is refused with one line naming the file and the field.

Versions (``schema_version``):

* 0 - records written before the schema existed (no ``schema_version`` key); they read as
  version 1 (:func:`migrate`), and ``robustsnn migrate-records`` rewrites them once.
* 1 - this layout. The free-form sections (``campaign``: the campaign as
  :meth:`Campaign.to_dict` writes it; ``attack``: the attack's description; ``model``:
  the classifier's ``describe()``) are checked for the keys readers rely on, and kept as
  written otherwise, so a plugin's extra description fields survive a round trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..checks import is_int, is_number
from ..errors import UserError

SCHEMA_VERSION = 1
# How records and logs written before content digests named the checkpoint: the sha256
# of its file, meta and pickling included (robustsnn/campaign/digests.py migrates them).
LEGACY_DIGEST = "checkpoint_sha256"
# What RunRecord.model_key puts before a legacy file digest: tables and pages that name
# the network show "file-<hex>" for a record that was never migrated, so a file digest is
# never read as a content digest (and the prefix is safe in file names and URLs).
LEGACY_KEY_PREFIX = "file-"
# A transfer run's recipe name starts with this (robustsnn/campaign/transfer.py).
TRANSFER_PREFIX = "transfer-"

_PROVENANCE = ("date", "robustsnn", "git", "python", "versions", "machine", "command")
_FIELDS = {"schema_version", "cell", "campaign", "campaign_file", "protocol", "attack", "model", "log",
           "examples_selected", "verdict_draws", "complete", "metrics", "verdict", *_PROVENANCE}


class RecordError(UserError):
    """A run record that cannot be read: one line naming the file and the field."""


@dataclass(frozen=True)
class RecordCell:
    """Which cell a run belongs to, by name (the noise mode as spelled in the log's name)."""

    dataset: str
    model: str
    defense: str
    recipe: str
    noise: str

    @property
    def key(self) -> str:
        return "__".join((self.dataset, self.model, self.defense, self.recipe, self.noise))

    def to_dict(self) -> dict[str, str]:
        return {"dataset": self.dataset, "model": self.model, "defense": self.defense,
                "recipe": self.recipe, "noise": self.noise}


@dataclass(frozen=True)
class RunRecord:
    """One run record (see the module docstring). ``path``: the file it was read from or
    written to (not stored in it); ``log_path`` is resolved against it."""

    cell: RecordCell
    campaign: Mapping[str, Any]
    protocol: str
    attack: Mapping[str, Any]
    model: Mapping[str, Any]
    log: str
    examples_selected: int
    verdict_draws: int
    complete: bool = False
    campaign_file: str | None = None
    metrics: Mapping[str, Any] | None = None
    verdict: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    path: Path | None = field(default=None, compare=False)

    # ------------------------------------------------------------ what readers ask
    @property
    def campaign_name(self) -> str:
        return self.campaign["campaign"]["name"]

    @property
    def seed(self) -> int:
        return int(self.campaign["campaign"]["seed"])

    @property
    def threat(self) -> Mapping[str, Any]:
        return self.campaign.get("threat", {})

    @property
    def examples(self) -> Mapping[str, Any]:
        return self.campaign.get("examples", {})

    @property
    def query_cache(self) -> bool:
        # Records written before query_cache existed ran with TextAttack's cache on.
        return bool(self.campaign["campaign"].get("query_cache", True))

    @property
    def checkpoint(self) -> str:
        """Where the checkpoint lay, relative to ``$ROBUSTSNN_RUNS`` when it was under it."""
        return str(self.model.get("checkpoint") or "")

    @property
    def model_sha256(self) -> str:
        """The content digest of the attacked checkpoint (:func:`~robustsnn.models.checkpoint.model_sha256`;
        "" for records from before digests, or with only a legacy file digest)."""
        return str(self.model.get("model_sha256") or "")

    @property
    def legacy_file_sha256(self) -> str:
        """The sha256 of the checkpoint *file*, as records written before content digests
        named it (``model.checkpoint_sha256``; ``robustsnn migrate-digests`` replaces it
        where the file is at hand); "" otherwise."""
        return str(self.model.get(LEGACY_DIGEST) or "")

    @property
    def model_key(self) -> str:
        """Which network the run attacked, as well as the record can say: its content
        digest; else its legacy file digest after :data:`LEGACY_KEY_PREFIX` (another hash,
        so it never equals a content digest: an unmigrated run is never pooled with a
        migrated one, even of the same network); else ""."""
        if self.model_sha256:
            return self.model_sha256
        return LEGACY_KEY_PREFIX + self.legacy_file_sha256 if self.legacy_file_sha256 else ""

    @property
    def is_transfer(self) -> bool:
        return self.cell.recipe.startswith(TRANSFER_PREFIX)

    @property
    def stochastic(self) -> bool:
        """Judged by an R-draw verdict (a Poisson model): ``verdict_draws`` > 0."""
        return self.verdict_draws > 0

    @property
    def log_path(self) -> Path:
        """The per-example log (beside the record; compressed or not, :mod:`.log` reads both)."""
        if self.path is None:
            raise ValueError("this record was not read from or written to a file, so its log has no place")
        return self.path.parent / self.log

    def get(self, key: str, default: Any = None) -> Any:
        """A provenance field (``git``, ``date``, ``versions``, ...) or ``default``."""
        return self.provenance.get(key, default)

    # ------------------------------------------------------------ changing it
    def completed(self, summary: Mapping[str, Any]) -> RunRecord:
        """This record with the summary of its finished log (``metrics``, ``verdict``)."""
        return replace(self, metrics=summary["metrics"], verdict=summary.get("verdict"), complete=True)

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": self.schema_version, "cell": self.cell.to_dict(), "campaign": dict(self.campaign),
            "campaign_file": self.campaign_file, "protocol": self.protocol, "attack": dict(self.attack),
            "model": dict(self.model), "log": self.log, "examples_selected": self.examples_selected,
            "verdict_draws": self.verdict_draws, "complete": self.complete, **self.provenance,
        }
        if self.metrics is not None:
            out["metrics"] = dict(self.metrics)
        if self.verdict is not None:
            out["verdict"] = dict(self.verdict)
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "run record", path: Path | None = None) -> RunRecord:
        """Validate ``data`` (a parsed JSON object, migrated first) into a record; every
        problem is a :class:`RecordError` naming ``source`` and the field."""
        data = migrate(data, source)
        where = str(source)
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise RecordError(f"{where}: unknown run record field '{unknown[0]}' (schema {SCHEMA_VERSION})")
        cell = _section(data, "cell", where)
        campaign = _section(data, "campaign", where)
        spec = _section(campaign, "campaign", where, "campaign.")
        _typed(spec, "name", str, where, "campaign.campaign.")
        _typed(spec, "seed", int, where, "campaign.campaign.")
        for key in ("threat", "examples"):
            _section(campaign, key, where, "campaign.")
        attack = _section(data, "attack", where)
        _typed(attack, "recipe", str, where, "attack.")
        model = _section(data, "model", where)
        _typed(model, "checkpoint", str, where, "model.")
        for key in ("model_sha256", LEGACY_DIGEST):
            sha = model.get(key)
            if sha is not None and not _is_sha256(sha):
                raise RecordError(f"{where}: run record field 'model.{key}' is not a sha256 hex digest")
        log = _typed(data, "log", str, where)
        if not log or Path(log).name != log:
            raise RecordError(f"{where}: run record field 'log' must be a file name beside the record, got {log!r}")
        metrics = _optional_numbers(data, "metrics", where)
        verdict = _optional_numbers(data, "verdict", where)
        complete = _typed(data, "complete", bool, where)
        if complete and metrics is None:
            raise RecordError(f"{where}: run record says complete but has no metrics")
        campaign_file = data.get("campaign_file")
        if campaign_file is not None and not isinstance(campaign_file, str):
            raise RecordError(f"{where}: run record field 'campaign_file' must be a string or null")
        return cls(
            cell=RecordCell(**{k: _typed(cell, k, str, where, "cell.") for k in
                               ("dataset", "model", "defense", "recipe", "noise")}),
            campaign=campaign, protocol=_typed(data, "protocol", str, where), attack=attack, model=model,
            log=log, examples_selected=_count(data, "examples_selected", where),
            verdict_draws=_count(data, "verdict_draws", where), complete=complete, campaign_file=campaign_file,
            metrics=metrics, verdict=verdict, provenance={k: data[k] for k in _PROVENANCE if k in data},
            schema_version=data["schema_version"], path=path)

    @classmethod
    def load(cls, path: str | Path) -> RunRecord:
        """Read and validate the record at ``path`` (one-line errors, never a traceback)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RecordError(f"{path}: no such run record") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RecordError(f"{path} is not a readable run record (not UTF-8 JSON)") from None
        return cls.from_dict(data, path, path=path)

    def write(self, path: str | Path | None = None) -> RunRecord:
        """Write atomically (to ``path``, default where it came from); the record with its path."""
        from ..io_utils import atomic_write_json

        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("nowhere to write this record: give a path")
        atomic_write_json(target, self.to_dict())
        return replace(self, path=target)


def short_key(key: str, digits: int = 12, empty: str = "unhashed") -> str:
    """A :attr:`RunRecord.model_key` cut to ``digits`` hex digits for a label, keeping the
    legacy prefix (``file-`` and the digits); ``empty`` for a record without a digest."""
    if not key:
        return empty
    if key.startswith(LEGACY_KEY_PREFIX):
        return LEGACY_KEY_PREFIX + key[len(LEGACY_KEY_PREFIX):][:digits]
    return key[:digits]


def is_run_record(data: Any) -> bool:
    """Whether a parsed JSON file is a run record at all (other JSON files may lie beside them)."""
    return isinstance(data, dict) and "cell" in data and "log" in data


def migrate(data: Any, source: str | Path = "run record") -> dict[str, Any]:
    """``data`` in the current schema (a copy): a record from before the schema (version 0)
    becomes version 1 unchanged but for the version; a newer version is refused."""
    if not isinstance(data, dict):
        raise RecordError(f"{source}: a run record is a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", 0)
    if not is_int(version) or version < 0:
        raise RecordError(f"{source}: run record field 'schema_version' must be a whole number, got {version!r}")
    if version > SCHEMA_VERSION:
        raise RecordError(f"{source}: run record schema {version} is newer than this robustsnn reads "
                          f"({SCHEMA_VERSION}); upgrade robustsnn")
    return {**data, "schema_version": SCHEMA_VERSION}


# ------------------------------------------------------------------ validation helpers


def _typed(data: Mapping[str, Any], key: str, kind: type, where: str, prefix: str = "") -> Any:
    if key not in data:
        raise RecordError(f"{where}: run record lacks field '{prefix}{key}'")
    value = data[key]
    # bool is an int in Python; a count or a seed written as true is a malformed record.
    if not (is_int(value) if kind is int else isinstance(value, kind)):
        raise RecordError(f"{where}: run record field '{prefix}{key}' must be {kind.__name__}, "
                          f"got {type(value).__name__}")
    return value


def _section(data: Mapping[str, Any], key: str, where: str, prefix: str = "") -> dict[str, Any]:
    return _typed(data, key, dict, where, prefix)


def _count(data: Mapping[str, Any], key: str, where: str) -> int:
    value = _typed(data, key, int, where)
    if value < 0:
        raise RecordError(f"{where}: run record field '{key}' must not be negative, got {value}")
    return value


def _optional_numbers(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    section = _section(data, key, where)
    for name, number in section.items():
        if not is_number(number):
            raise RecordError(f"{where}: run record field '{key}.{name}' must be a number, got {number!r}")
    return section


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
