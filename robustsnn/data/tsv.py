"""Reading the ``label<TAB>text`` files, and the stratified dev split.

The format (shared/data/SOURCES.md): UTF-8, header ``label<TAB>text``, split at the
first TAB, nothing quoted, lines ending in LF or CRLF. Reading is strict: a bad line is
an error naming the file and line, never a silently skipped example.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..paths import DATA_ENV, data_dir
from .registry import DatasetSpec, get_dataset_spec

HEADER = "label\ttext"


@dataclass(frozen=True)
class Split:
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    # Where the split came from: a file path, or how it was carved out of train.
    origin: str

    def __len__(self) -> int:
        return len(self.texts)


def read_tsv(path: Path, num_classes: int) -> Split:
    """Read one split file; every problem is a :class:`UserError` naming file and line."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"missing data file {path}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not valid UTF-8 (byte {exc.start})") from None
    # Split on LF only (a text may hold other Unicode line breaks), then drop the CR of a
    # CRLF line ending, so a file saved on Windows reads exactly like its LF twin.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].lstrip("\ufeff") != HEADER:
        raise UserError(f"{path}: first line must be the header 'label<TAB>text'")
    texts: list[str] = []
    labels: list[int] = []
    for lineno, line in enumerate(lines[1:], start=2):
        label_text, sep, body = line.partition("\t")
        if not sep:
            raise UserError(f"{path}:{lineno}: no TAB between label and text")
        try:
            label = int(label_text)
        except ValueError:
            raise UserError(f"{path}:{lineno}: label {label_text!r} is not an integer") from None
        if not 0 <= label < num_classes:
            raise UserError(f"{path}:{lineno}: label {label} outside 0..{num_classes - 1}")
        if not body.strip():
            raise UserError(f"{path}:{lineno}: empty text")
        texts.append(body)
        labels.append(label)
    if not texts:
        raise UserError(f"{path}: no examples")
    return Split(tuple(texts), tuple(labels), str(path))


def stratified_holdout(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve a deterministic, stratified ``fraction`` of ``split`` out as dev.

    Per class, indices are shuffled with ``random.Random(seed)`` and the first
    ``round(fraction * n_class)`` go to dev; both parts keep the original order.
    """
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(split.labels):
        by_class.setdefault(label, []).append(i)
    rng = random.Random(seed)
    dev_idx: set[int] = set()
    for label in sorted(by_class):
        idx = list(by_class[label])
        rng.shuffle(idx)
        dev_idx.update(idx[: int(round(fraction * len(idx)))])
    how = f"stratified {fraction:g} of {split.origin}, seed {seed}"
    train = [i for i in range(len(split)) if i not in dev_idx]
    dev = sorted(dev_idx)
    pick = lambda ids, origin: Split(  # noqa: E731
        tuple(split.texts[i] for i in ids), tuple(split.labels[i] for i in ids), origin
    )
    return pick(train, f"{split.origin} minus {how}"), pick(dev, how)


@dataclass(frozen=True)
class Dataset:
    spec: DatasetSpec
    train: Split
    dev: Split
    test: Split

    def split(self, name: str) -> Split:
        if name not in ("train", "dev", "test"):
            raise UserError(f"unknown split '{name}' (choices: train, dev, test)")
        return getattr(self, name)


def dataset_dir(name: str, root: Path | None = None) -> Path:
    return (root or data_dir()) / name


def missing_dataset_message(name: str, where: Path) -> str:
    return (
        f"dataset '{name}' not found in {where} (set ${DATA_ENV} to the folder holding "
        f"'{name}/', or run: robustsnn data fetch {name})"
    )


def load_dataset(
    name: str, dev_fraction: float = 0.1, split_seed: int = 0, root: Path | None = None
) -> Dataset:
    """Load train/dev/test; datasets without a dev file get a stratified dev from train."""
    spec = get_dataset_spec(name)
    folder = dataset_dir(name, root)
    if not (folder / "train.tsv").exists():
        raise UserError(missing_dataset_message(name, folder.parent))
    read = lambda split: read_tsv(folder / f"{split}.tsv", spec.num_classes)  # noqa: E731
    train = read("train")
    test = read("test")
    if spec.has_dev:
        dev = read("dev")
    else:
        train, dev = stratified_holdout(train, dev_fraction, split_seed)
    return Dataset(spec, train, dev, test)
