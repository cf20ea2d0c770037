"""``robustsnn data fetch``: download the public sources and rebuild the TSV files.

The rebuild follows the documented procedure (shared/data/SOURCES.md) exactly: the
same clean-up, source order and seed-0 10% test split, so the results are byte-
identical and are verified by sha256 before they are moved into place.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from ..errors import UserError
from ..io_utils import atomic_write
from .registry import get_dataset_spec
from .sources import OUTPUT_SHA256, RECIPES, RawFile, raw_files_for

Rows = list[tuple[int, str]]

# Characters that would break the one-example-per-line format.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def clean(text: str) -> str:
    """TABs, line breaks and control characters become spaces; outer space is stripped."""
    return "".join(
        " " if ch == "\t" or ch in _LINE_BREAKS or unicodedata.category(ch) == "Cc" else ch
        for ch in text
    ).strip()


def _lines(data: bytes, encoding: str) -> list[str]:
    lines = data.decode(encoding).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _label_first(data: bytes) -> Rows:
    rows = []
    for line in _lines(data, "utf-8"):
        label, text = line.split(" ", 1)
        rows.append((int(label), clean(text)))
    return rows


def _sophon_csv(data: bytes, name: str) -> Rows:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    if next(reader, None) != ["label", "review"]:
        raise UserError(f"{name}: expected the CSV header 'label,review'")
    rows = []
    for record in reader:
        text = clean(record[1])
        if text:  # the source has one empty review; it is dropped
            rows.append((int(record[0]), text))
    return rows


def split_off_test(rows: Rows, seed: int = 0) -> tuple[Rows, Rows]:
    """The datasets' own 10% test split: ``random.Random(seed)`` permutation, floor(N/10)."""
    perm = list(range(len(rows)))
    random.Random(seed).shuffle(perm)
    n_test = len(rows) // 10
    return [rows[i] for i in perm[n_test:]], [rows[i] for i in perm[:n_test]]


def rebuild(dataset: str, raw: Mapping[str, bytes]) -> dict[str, bytes]:
    """Turn verified raw bytes into the TSV bytes of every split of ``dataset``."""
    kind, arg = RECIPES[dataset]
    if kind == "label-first":
        splits = {s: _label_first(raw[f]) for s, f in arg.items()}  # type: ignore[union-attr]
    elif kind == "two-files":
        rows = [(label, clean(t)) for label, f in enumerate(arg)  # type: ignore[arg-type]
                for t in _lines(raw[f], "cp1252")]
        splits = dict(zip(("train", "test"), split_off_test(rows)))
    else:
        splits = dict(zip(("train", "test"), split_off_test(_sophon_csv(raw[arg], arg))))  # type: ignore[index]
    out = {}
    for split, rows in splits.items():
        body = "".join(f"{label}\t{text}\n" for label, text in rows)
        out[split] = ("label\ttext\n" + body).encode("utf-8")
    return out


def _download(raw: RawFile, mirror: str | None, timeout: float) -> bytes:
    url = mirror.rstrip("/") + "/" + raw.name if mirror else raw.url
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"could not download {raw.name} from {url}: {reason}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != raw.sha256:
        raise UserError(f"{raw.name} from {url} has sha256 {digest}, expected {raw.sha256}")
    return data


def fetch_dataset(
    dataset: str,
    out_root: Path,
    mirror: str | None = None,
    timeout: float = 60.0,
    expected_sha256: Mapping[str, str] | None = None,
) -> list[Path]:
    """Download, rebuild, verify and write ``dataset`` under ``out_root/<dataset>/``.

    ``mirror`` replaces the GitHub addresses with ``<mirror>/<raw file name>`` (any URL
    urllib understands, ``file://`` included). Nothing is written unless every output
    matches its published sha256.
    """
    get_dataset_spec(dataset)
    raw = {f.name: _download(f, mirror, timeout) for f in raw_files_for(dataset)}
    outputs = rebuild(dataset, raw)
    expected = expected_sha256 or OUTPUT_SHA256[dataset]
    for split, data in outputs.items():
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected[split]:
            raise UserError(
                f"rebuilt {dataset}/{split}.tsv has sha256 {digest}, expected {expected[split]}"
            )
    written = []
    for split, data in outputs.items():
        path = Path(out_root) / dataset / f"{split}.tsv"
        atomic_write(path, lambda tmp, data=data: tmp.write_bytes(data))
        written.append(path)
    return written
