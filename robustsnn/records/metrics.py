"""Robustness metrics, computed once, here, from stored per-example outcomes.

With N attacked examples, S successful, F failed and K skipped (the model was already
wrong on the clean text), as TextAttack's ``AttackSuccessRate`` (docs/protocol.md):

* Cln (clean accuracy)          = (N - K) / N
* Boa (accuracy under attack)   = F / N
* Suc (attack success rate)     = S / (S + F)

An example whose search never had a candidate text (the transformation offered none:
e.g. a Chinese text against an English swap vocabulary) is logged ``unattackable``. It
is counted as failed above, as TextAttack counts it, so tables stay comparable; beside
them: the unattackable share U / (S + F) of the examples the attack tried, and Boa and
Suc over the attackable examples only (Boa_a = (F - U) / (N - U), Suc_a = S / (S + F - U)),
so that a cell nothing could attack never reads as robust. Logs from before the
candidate counts existed cannot tell: their share is unknown (nan).

An example whose search the query budget stopped (its queries reached
``threat.query_budget``: TextAttack's own ``search_over``) without success is logged
``budget``. It too is counted as failed above, as TextAttack counts it, but it is no
evidence of robustness either: the search did not finish. Beside them: its share
B / (S + F) of the attacked examples. It is attackable (the transformation had, or may
have had, candidates), so Boa_a and Suc_a keep it. A search stopped before it asked the
transformation, for a text the transformation offers nothing for, is ``unattackable``:
that stays "the transformation offered no candidate at all". Logs from before the type
logged such searches ``failed`` (or, with no candidate counted, ``unattackable``):
:func:`mark_budget_stopped` recovers the first kind from their queries,
analysis/recount.py the second.

plus the mean share of words perturbed (over successful attacks, as TextAttack
reports it), mean queries (over attacked, i.e. not skipped, examples) and wall
seconds per example. Everything is a raw float; rounding is for rendering only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

SUCCESSFUL, FAILED, SKIPPED = "successful", "failed", "skipped"
UNATTACKABLE = "unattackable"  # failed, because the search never had a candidate
BUDGET = "budget"  # failed, because the query budget ran out before the search finished
RESULT_TYPES = (SUCCESSFUL, FAILED, SKIPPED, UNATTACKABLE, BUDGET)
FAILED_TYPES = (FAILED, UNATTACKABLE, BUDGET)  # what TextAttack counts as a failed attack


def percent(x: Any) -> str:
    """A rate as the Markdown tables print it: percent with one decimal, '-' when there is none."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


@dataclass(frozen=True)
class Outcome:
    """What one attacked example contributes to the metrics."""

    result: str  # successful | failed | skipped | unattackable | budget
    words_perturbed: int
    num_words: int
    queries: int
    seconds: float
    candidates: int | None = None  # candidate texts the transformation offered (None: not logged)

    def __post_init__(self) -> None:
        if self.result not in RESULT_TYPES:
            raise ValueError(f"unknown result type {self.result!r}")

    @property
    def failed(self) -> bool:
        """Failed as TextAttack counts it (unattackable and budget included)."""
        return self.result in FAILED_TYPES

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Outcome:
        offered = row.get("candidates_offered", "")
        return cls(str(row["result"]), int(row["words_perturbed"]), int(row["num_words"]),
                   int(row["queries"]), float(row["seconds"]),
                   None if offered in ("", None) else int(offered))


def budget_spent(queries: int | str, query_budget: int | float | None) -> bool:
    """Whether a search that made ``queries`` queries spent ``query_budget`` (0, None or
    inf: no budget). TextAttack's goal function never queries past its budget and ends the
    search (``search_over``) when ``num_queries == query_budget``."""
    return bool(query_budget) and query_budget != math.inf and int(queries) >= query_budget


def mark_budget_stopped(rows: Iterable[Mapping[str, str]], query_budget: int | None) -> list[dict[str, str]]:
    """Log rows (as read) with each ``failed`` search that spent ``query_budget`` marked
    ``budget``: how a log from before that type says what the runner now logs. A log
    written since has no such row, so this changes nothing there."""
    return [{**r, "result": BUDGET} if r["result"] == FAILED and budget_spent(r["queries"], query_budget)
            else dict(r) for r in rows]


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
    unattackable: int = 0  # among the failed
    unattackable_share: float = math.nan  # U / (S + F); nan when the log cannot tell
    accuracy_under_attack_attackable: float = math.nan  # Boa over attackable examples
    attack_success_rate_attackable: float = math.nan  # Suc over attackable examples
    budget_exhausted: int = 0  # among the failed: searches the query budget stopped
    budget_share: float = math.nan  # B / (S + F); nan when nothing was attacked

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def compute_metrics(outcomes: Iterable[Outcome], unattackable_known: bool | None = None) -> Metrics:
    """``unattackable_known``: whether U can be told (default: every attacked example
    counted its candidates; True for a legacy log recounted by analysis/recount.py)."""
    outcomes = list(outcomes)
    n = len(outcomes)
    s = sum(o.result == SUCCESSFUL for o in outcomes)
    f = sum(o.failed for o in outcomes)
    u = sum(o.result == UNATTACKABLE for o in outcomes)
    b = sum(o.result == BUDGET for o in outcomes)
    k = n - s - f
    perturbed = [o.words_perturbed / o.num_words for o in outcomes
                 if o.result == SUCCESSFUL and o.num_words > 0]
    # Only logs that counted candidates for every attacked example can tell U.
    known = unattackable_known
    if known is None:
        known = all(o.candidates is not None for o in outcomes if o.result != SKIPPED)
    return Metrics(
        n=n, successful=s, failed=f, skipped=k,
        clean_accuracy=(n - k) / n if n else math.nan,
        accuracy_under_attack=f / n if n else math.nan,
        attack_success_rate=s / (s + f) if s + f else math.nan,
        words_perturbed=_mean(perturbed),
        queries=_mean([float(o.queries) for o in outcomes if o.result != SKIPPED]),
        seconds_per_example=_mean([o.seconds for o in outcomes]),
        unattackable=u,
        unattackable_share=(u / (s + f) if s + f else math.nan) if known else math.nan,
        accuracy_under_attack_attackable=((f - u) / (n - u) if n - u else math.nan) if known else math.nan,
        attack_success_rate_attackable=(s / (s + f - u) if s + f - u else math.nan) if known else math.nan,
        budget_exhausted=b,
        budget_share=b / (s + f) if s + f else math.nan,
    )


@dataclass(frozen=True)
class VerdictMetrics:
    """The final verdict over R fresh draws (majority vote per text), for stochastic models.

    For each example the clean text and the attack's final text (the adversarial text
    when the single-draw attack succeeded, else the clean text) are re-scored with R
    fresh draws.

    An example the search skipped (its one search-time draw got the clean text wrong)
    while the majority gets the clean text right was never attacked: counting it would
    count it robust under the verdict with no attack run on it. Such examples are left
    out of the verdict's N (``left_out`` says how many), so Cln_R, Boa_R and Suc_R are
    over the ``n`` examples the verdict can judge: attacked, or wrong by the majority on
    the clean text. A transfer run (``replay``) replays its source's text whatever the
    target's single draw said, so none of its examples is left out.
    """

    draws: int
    clean_accuracy: float  # share of clean texts the majority gets right
    accuracy_under_attack: float  # majority right on the clean AND on the final text
    attack_success_rate: float  # among majority-right clean texts, share the final text flips
    attack_holds: float  # among single-draw successes, share the majority still gets wrong
    n: int = 0  # examples the rates above are over: the log's N less ``left_out``
    left_out: int = 0  # skipped by the search, majority-right on the clean text: never attacked

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def unattacked(row: Mapping[str, object], replay: bool = False) -> bool:
    """Whether the verdict leaves ``row`` out (see :class:`VerdictMetrics`): the search
    skipped it and the majority gets its clean text right."""
    return not replay and row["result"] == SKIPPED and bool(row["verdict_clean_correct"])


def compute_verdict(rows: Iterable[Mapping[str, object]], draws: int, replay: bool = False) -> VerdictMetrics:
    """``rows`` carry ``result``, ``verdict_clean_correct`` and ``verdict_final_correct`` (bools);
    ``replay``: a transfer run's rows (nothing left out)."""
    rows = list(rows)
    judged = [r for r in rows if not unattacked(r, replay)]
    n = len(judged)
    clean = [bool(r["verdict_clean_correct"]) for r in judged]
    final = [bool(r["verdict_final_correct"]) for r in judged]
    both = sum(c and f for c, f in zip(clean, final))
    flipped = sum(c and not f for c, f in zip(clean, final))
    successes = [not f for r, f in zip(judged, final) if r["result"] == SUCCESSFUL]
    return VerdictMetrics(
        draws=draws,
        clean_accuracy=sum(clean) / n if n else math.nan,
        accuracy_under_attack=both / n if n else math.nan,
        attack_success_rate=flipped / sum(clean) if sum(clean) else math.nan,
        attack_holds=_mean([float(x) for x in successes]),
        n=n, left_out=len(rows) - n,
    )
