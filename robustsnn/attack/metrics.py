"""Robustness metrics, computed once, here, from stored per-example outcomes.

With N attacked examples, S successful, F failed and K skipped (the model was already
wrong on the clean text), as TextAttack's ``AttackSuccessRate`` (protocol.md):

* Cln (clean accuracy)          = (N - K) / N
* Boa (accuracy under attack)   = F / N
* Suc (attack success rate)     = S / (S + F)

plus the mean share of words perturbed (over successful attacks, as TextAttack
reports it), mean queries (over attacked, i.e. not skipped, examples) and wall
seconds per example. Everything is a raw float; rounding is for rendering only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

SUCCESSFUL, FAILED, SKIPPED = "successful", "failed", "skipped"
RESULT_TYPES = (SUCCESSFUL, FAILED, SKIPPED)


@dataclass(frozen=True)
class Outcome:
    """What one attacked example contributes to the metrics."""

    result: str  # successful | failed | skipped
    words_perturbed: int
    num_words: int
    queries: int
    seconds: float

    def __post_init__(self) -> None:
        if self.result not in RESULT_TYPES:
            raise ValueError(f"unknown result type {self.result!r}")

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Outcome:
        return cls(str(row["result"]), int(row["words_perturbed"]), int(row["num_words"]),
                   int(row["queries"]), float(row["seconds"]))


def words_changed(original: Sequence[str], perturbed: Sequence[str]) -> int:
    """Original words an attack changed: words replaced or deleted in the best alignment
    of the two word lists, plus words inserted. Aligning (difflib) rather than comparing
    position by position keeps a word split in two (TextBugger's inserted space: "con
    noisseur") at one changed word; TextAttack's ``all_words_diff`` would count every
    word after the split as changed."""
    import difflib

    count = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=list(original), b=list(perturbed),
                                                       autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            count += i2 - i1
        elif tag == "insert":
            count += j2 - j1
    return count


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


@dataclass(frozen=True)
class Metrics:
    n: int
    successful: int
    failed: int
    skipped: int
    clean_accuracy: float  # Cln
    accuracy_under_attack: float  # Boa
    attack_success_rate: float  # Suc (nan when nothing was attacked)
    words_perturbed: float  # mean fraction of words changed, successful attacks only
    queries: float  # mean queries per attacked example
    seconds_per_example: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def compute_metrics(outcomes: Iterable[Outcome]) -> Metrics:
    outcomes = list(outcomes)
    n = len(outcomes)
    s = sum(o.result == SUCCESSFUL for o in outcomes)
    f = sum(o.result == FAILED for o in outcomes)
    k = n - s - f
    perturbed = [o.words_perturbed / o.num_words for o in outcomes
                 if o.result == SUCCESSFUL and o.num_words > 0]
    return Metrics(
        n=n, successful=s, failed=f, skipped=k,
        clean_accuracy=(n - k) / n if n else math.nan,
        accuracy_under_attack=f / n if n else math.nan,
        attack_success_rate=s / (s + f) if s + f else math.nan,
        words_perturbed=_mean(perturbed),
        queries=_mean([float(o.queries) for o in outcomes if o.result != SKIPPED]),
        seconds_per_example=_mean([o.seconds for o in outcomes]),
    )


@dataclass(frozen=True)
class VerdictMetrics:
    """The final verdict over R fresh draws (majority vote per text), for stochastic models.

    For each example the clean text and the attack's final text (the adversarial text
    when the single-draw attack succeeded, else the clean text) are re-scored with R
    fresh draws.
    """

    draws: int
    clean_accuracy: float  # share of clean texts the majority gets right
    accuracy_under_attack: float  # majority right on the clean AND on the final text
    attack_success_rate: float  # among majority-right clean texts, share the final text flips
    attack_holds: float  # among single-draw successes, share the majority still gets wrong

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def compute_verdict(rows: Iterable[Mapping[str, object]], draws: int) -> VerdictMetrics:
    """``rows`` carry ``result``, ``verdict_clean_correct`` and ``verdict_final_correct`` (bools)."""
    rows = list(rows)
    n = len(rows)
    clean = [bool(r["verdict_clean_correct"]) for r in rows]
    final = [bool(r["verdict_final_correct"]) for r in rows]
    both = sum(c and f for c, f in zip(clean, final))
    flipped = sum(c and not f for c, f in zip(clean, final))
    successes = [not f for r, f in zip(rows, final) if r["result"] == SUCCESSFUL]
    return VerdictMetrics(
        draws=draws,
        clean_accuracy=sum(clean) / n if n else math.nan,
        accuracy_under_attack=both / n if n else math.nan,
        attack_success_rate=flipped / sum(clean) if sum(clean) else math.nan,
        attack_holds=_mean([float(x) for x in successes]),
    )
