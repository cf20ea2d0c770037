"""``robustsnn data check`` and ``data list``: what is there, and is it well-formed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .registry import DATASETS, DatasetSpec
from .sources import OUTPUT_SHA256
from .tsv import read_tsv


@dataclass(frozen=True)
class SplitReport:
    dataset: str
    split: str
    rows: int | None
    problems: tuple[str, ...]


def check_split(spec: DatasetSpec, split: str, root: Path, verify_sha256: bool) -> SplitReport:
    path = root / spec.name / f"{split}.tsv"
    problems: list[str] = []
    if not path.is_file():
        return SplitReport(spec.name, split, None, (f"missing {path}",))
    rows = None
    try:
        rows = len(read_tsv(path, spec.num_classes))
    except UserError as exc:
        problems.append(str(exc))
    if rows is not None and rows != spec.rows[split]:
        problems.append(f"{path}: {rows} rows, expected {spec.rows[split]}")
    if verify_sha256:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != OUTPUT_SHA256[spec.name][split]:
            problems.append(f"{path}: sha256 differs from the published file")
    return SplitReport(spec.name, split, rows, tuple(problems))


def check_datasets(names: list[str], root: Path, verify_sha256: bool = False) -> list[SplitReport]:
    return [check_split(DATASETS[n], s, root, verify_sha256) for n in names for s in DATASETS[n].splits]


def count_rows(path: Path) -> int | None:
    """Example rows of a TSV file (lines minus header), or None when it is missing."""
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)
