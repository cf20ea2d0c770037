"""The six benchmark datasets and what is known about each (see shared/data/SOURCES.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    language: str  # "en" or "zh": selects the tokenizer
    label_names: tuple[str, ...]
    # Splits shipped as files; a dataset without "dev" gets a seeded dev split carved from train.
    splits: tuple[str, ...]
    # The authors' pad/truncate length (docs/method.md).
    max_len: int
    # Expected rows per split, for `robustsnn data check`.
    rows: dict[str, int]

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def has_dev(self) -> bool:
        return "dev" in self.splits


_BINARY = ("negative", "positive")

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("mr", "en", _BINARY, ("train", "test"), 35, {"train": 9596, "test": 1066}),
        DatasetSpec("sst2", "en", _BINARY, ("train", "dev", "test"), 25,
                    {"train": 6920, "dev": 872, "test": 1821}),
        DatasetSpec("sst5", "en",
                    ("very negative", "negative", "neutral", "positive", "very positive"),
                    ("train", "dev", "test"), 25, {"train": 8544, "dev": 1101, "test": 2210}),
        DatasetSpec("subj", "en", ("objective", "subjective"), ("train", "test"), 35,
                    {"train": 9000, "test": 1000}),
        DatasetSpec("chnsenti", "zh", _BINARY, ("train", "test"), 32,
                    {"train": 6989, "test": 776}),
        DatasetSpec("waimai", "zh", _BINARY, ("train", "test"), 32,
                    {"train": 10789, "test": 1198}),
    )
}


def get_dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise UserError(
            f"unknown dataset '{name}' (choices: {', '.join(DATASETS)})"
        ) from None
