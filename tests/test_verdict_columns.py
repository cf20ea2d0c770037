"""The runner's verdict columns hold, by value, the votes of the text they name.

A stand-in stochastic model answers each text by a fixed, known pattern of draws (the clean
text gets its true label on 8 of every 10 draws, the adversarial text on 3 of every 10), so
the votes the runner logs for each text are known exactly from the draws it used: a runner
that swapped the clean and final columns, or logged one text's votes twice, fails here.
Before: swapping the two vote columns in the runner left every test passing.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from robustsnn.campaign.runner import CellWorker
from robustsnn.campaign.spec import Example

CLEAN, ADVERSARIAL, LABEL = "the film is good .", "the film is fine .", 1
PATTERN = {CLEAN: 8, ADVERSARIAL: 3}  # true-label draws out of every 10, in draw order


class PatternModel:
    """Draw j of a text predicts the true label iff j % 10 < PATTERN[text]."""

    num_classes = 2

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def predict_proba(self, texts):
        rows = []
        for text in texts:
            j = self.calls.get(text, 0)
            self.calls[text] = j + 1
            right = j % 10 < PATTERN[text]
            rows.append([0.0, 1.0] if right == (LABEL == 1) else [1.0, 0.0])
        return np.array(rows)


def expected_votes(text: str, draws: int) -> int:
    return sum(j % 10 < PATTERN[text] for j in range(draws))


class SuccessfulAttackResult:  # the runner reads the result's class name
    def __init__(self) -> None:
        words = lambda text: SimpleNamespace(words=text.split(), text=text)  # noqa: E731
        self.original_result = SimpleNamespace(attacked_text=words(CLEAN), output=LABEL, score=0.2, num_queries=1)
        self.perturbed_result = SimpleNamespace(attacked_text=words(ADVERSARIAL), output=1 - LABEL, score=0.7,
                                                num_queries=12)


def _worker(draws: int) -> CellWorker:
    """A CellWorker whose attack always finds ADVERSARIAL and whose verdict model is the pattern."""
    worker = object.__new__(CellWorker)
    worker.campaign = SimpleNamespace(campaign=SimpleNamespace(seed=0))
    worker.attack = SimpleNamespace(attack=lambda text, label: SuccessfulAttackResult(), clear_cache=lambda: None,
                                    goal_function=SimpleNamespace(num_queries=12, query_budget=float("inf")))
    worker.counter = SimpleNamespace(offered=5, kept=3, reset=lambda: None)
    worker.verdict_model, worker.verdict_draws = PatternModel(), draws
    return worker


def test_each_vote_column_holds_the_votes_of_its_own_text():
    for draws in (10, 100):
        row = _worker(draws).attack_example(Example(0, CLEAN, LABEL))
        assert row["result"] == "successful" and row["perturbed_text"] == ADVERSARIAL
        used_clean, used_final = row["verdict_clean_draws"], row["verdict_final_draws"]
        assert 0 < used_clean <= draws and 0 < used_final <= draws
        assert row["verdict_clean_votes"] == expected_votes(CLEAN, used_clean)
        assert row["verdict_final_votes"] == expected_votes(ADVERSARIAL, used_final)
        # 8 of 10 right: the majority gets the clean text right; 3 of 10: the adversarial text wrong.
        assert row["verdict_clean_correct"] is True and row["verdict_final_correct"] is False
        assert row["verdict_clean_votes"] != row["verdict_final_votes"]  # so a swap cannot pass
