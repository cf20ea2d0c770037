"""The decision-based ``hard-label`` recipe: label-only goal function and its search.

Offline, CPU, a few seconds: the toy keyword classifier and counter-fitted embedding
of tests/attack_toys.py, no sentence encoder (``similarity=0``).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import pytest

from attack_toys import SENTENCES, KeywordClassifier, require_textattack, textattack_fixture, toy_embedding
from robustsnn.attack.threat import ThreatModel
from robustsnn.classifier import check_texts

require_textattack()

textattack = pytest.fixture(scope="module")(textattack_fixture)

# Two keyword-weighted words ("good", "great"): K = 4 offers no single swap that flips it.
TWO_CUES = "the movie was good and the plot was great"


class Recording:
    """Wraps a classifier and records every text it is asked about, in order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.num_classes = inner.num_classes
        self.asked: list[str] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        self.asked += texts
        return self.inner.predict_proba(texts)

    def label(self, text: str) -> int:
        return int(self.inner.predict_proba([text])[0].argmax())

    def describe(self) -> dict[str, Any]:
        return {"model": "recording"}


class OneHot(Recording):
    """The same classifier with its probabilities replaced by the one-hot vector of the argmax."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        probs = super().predict_proba(texts)
        return np.eye(probs.shape[1])[probs.argmax(axis=1)]


class GoodDecides:
    """Positive exactly when the word "good" is in the text; the probability itself also
    moves with every other keyword (a score a score-based search could climb)."""

    num_classes = 2

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        rows = []
        for text in texts:
            lean = 0.35 / (1.0 + np.exp(-KeywordClassifier().score(text)))  # (0, 0.35)
            p = 0.6 + lean if re.search(r"\bgood\b", text) else 0.4 - lean
            rows.append([1.0 - p, p])
        return np.array(rows)

    def describe(self) -> dict[str, Any]:
        return {"model": "good-decides"}


def attack(model: Any, threat: ThreatModel, examples: Sequence[tuple[str, int]], seed: int = 0,
           recipe: str = "hard-label") -> list[Any]:
    """The recipe's results on ``examples``, each example seeded as the runner seeds it."""
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.campaign.runner import seed_all
    from robustsnn.resources import AttackResources

    built = build_attack(recipe, TextClassifierWrapper(model), threat, AttackResources(embedding=toy_embedding()))
    results = []
    for i, (text, label) in enumerate(examples):
        seed_all(seed + i)
        results.append(built.attack(text, label))
        built.clear_cache()
    return results


def summary(results: Sequence[Any]) -> list[tuple[str, str, int]]:
    return [(type(r).__name__, r.perturbed_result.attacked_text.text, r.perturbed_result.num_queries)
            for r in results]


def changed(result: Any) -> dict[int, tuple[str, str]]:
    """Word index -> (original, substitute) for every swapped word (swaps keep positions)."""
    before = result.original_result.attacked_text.words
    after = result.perturbed_result.attacked_text.words
    assert len(before) == len(after)
    return {i: (a, b) for i, (a, b) in enumerate(zip(before, after)) if a != b}


# ------------------------------------------------------------------ labels only


def test_the_goal_function_exposes_only_the_label(textattack) -> None:
    from textattack.shared import AttackedText

    from robustsnn.attack.decision import LabelOnlyClassification
    from robustsnn.attack.wrappers import TextClassifierWrapper

    goal = LabelOnlyClassification(TextClassifierWrapper(KeywordClassifier()))
    goal.init_attack_example(AttackedText("the movie was good"), 1)
    results, _ = goal.get_results([AttackedText(t) for t in
                                   ("the movie was fine", "the movie was lame", "the movie was mediocre")])
    # KeywordClassifier gives 0.91, 0.05 and 0.14 for "positive": only the labels survive.
    assert [r.raw_output.tolist() for r in results] == [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    assert [r.score for r in results] == [0.0, 1.0, 1.0]
    assert [r.output for r in results] == [1, 0, 0]
    assert goal.num_queries == 4


def test_probabilities_and_their_one_hot_argmax_give_identical_attacks(textattack) -> None:
    threat = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0)
    examples = [*SENTENCES, (TWO_CUES, 1)]
    plain, onehot = Recording(KeywordClassifier()), OneHot(KeywordClassifier())
    with_probs = summary(attack(plain, threat, examples))
    assert with_probs == summary(attack(onehot, threat, examples))
    assert plain.asked == onehot.asked  # the very same queries, in the same order
    assert sum(kind == "SuccessfulAttackResult" for kind, _, _ in with_probs) == len(examples)
    # Not vacuous: the two models' outputs differ on what was asked...
    probs = KeywordClassifier().predict_proba(plain.asked)
    assert not np.isin(probs, (0.0, 1.0)).all()
    # ...and a score-based search run the same way tells them apart.
    pwws = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0)
    assert (summary(attack(KeywordClassifier(), pwws, examples, recipe="pwws"))
            != summary(attack(OneHot(KeywordClassifier()), pwws, examples, recipe="pwws")))


# ------------------------------------------------------------------ the search


def test_finds_the_flip_undoes_unneeded_swaps_and_moves_to_the_closest_word(textattack) -> None:
    """Only "good" decides: the random start swaps 3 words (the cap), the reduction puts
    the two unneeded ones back and the improvement takes good's closest neighbour."""
    from textattack.attack_results import SuccessfulAttackResult

    model = Recording(GoodDecides())
    threat = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0)  # 9 words -> 3
    (result,) = attack(model, threat, [(TWO_CUES, 1)])
    assert isinstance(result, SuccessfulAttackResult)
    assert result.perturbed_result.attacked_text.text == "the movie was fine and the plot was great"
    assert changed(result) == {3: ("good", "fine")}
    # The first adversarial text asked had the full 3 swaps; the reduction removed two.
    first = next(t for t in model.asked if model.label(t) == 0)
    assert len([a for a, b in zip(TWO_CUES.split(), first.split()) if a != b]) == 3
    assert result.perturbed_result.num_queries == len(model.asked)


def test_the_result_is_minimal_and_within_the_cap(textattack) -> None:
    """Each remaining swap is needed: restoring any one of them gives back the label."""
    from textattack.attack_results import SuccessfulAttackResult

    classifier = KeywordClassifier()
    threat = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0)
    examples = [*SENTENCES, (TWO_CUES, 1)]
    results = attack(classifier, threat, examples)
    assert all(isinstance(r, SuccessfulAttackResult) for r in results)
    counts = []
    for (text, label), result in zip(examples, results):
        swaps = changed(result)
        counts.append(len(swaps))
        words = result.perturbed_result.attacked_text.words
        assert classifier.label(" ".join(words)) != label
        assert len(swaps) <= max(int(np.ceil(0.3 * len(words))), 1)
        for i, (old, _) in swaps.items():
            assert old not in {"the", "a", "was", "is", "and", "but", "with", "this", "very"}
            restored = words[:i] + [old] + words[i + 1:]
            assert classifier.label(" ".join(restored)) == label, (text, i)
    assert counts == [1, 1, 1, 1, 1, 2, 2]  # the last two need both their cues changed


def test_one_word_flip_ends_on_the_closer_of_the_two_flipping_neighbours(textattack) -> None:
    """'good' flips only to mediocre or lame (its 4th and 5th neighbours); from either,
    the improvement ends on mediocre, the closer one, whatever the seed."""
    threat = ThreatModel(candidates=5, max_modification_rate=0.1, similarity=0.0)
    texts = {r.perturbed_result.attacked_text.text
             for seed in range(4) for r in attack(KeywordClassifier(), threat, [("the movie was good", 1)], seed)}
    assert texts == {"the movie was mediocre"}


def test_fails_without_an_exception_when_no_allowed_swap_flips(textattack) -> None:
    from textattack.attack_results import FailedAttackResult

    # Cap 1 (9 words x 0.1): no single swap among K = 4 flips TWO_CUES; 4 words x 4 swaps.
    model = Recording(KeywordClassifier())
    threat = ThreatModel(candidates=4, max_modification_rate=0.1, similarity=0.0)
    (result,) = attack(model, threat, [(TWO_CUES, 1)])
    assert isinstance(result, FailedAttackResult)
    assert result.perturbed_result.attacked_text.text == TWO_CUES
    assert result.perturbed_result.score == 0.0
    # The original and each of the 16 single swaps, each once (100 tries, seed 0).
    assert result.perturbed_result.num_queries == 17 == len(model.asked) == len(set(model.asked))
    # Only stopwords: nothing to swap, one query (the original), no tries spent.
    stopwords = Recording(KeywordClassifier())
    (nothing,) = attack(stopwords, threat, [("the a was", 0)])
    assert isinstance(nothing, FailedAttackResult) and nothing.perturbed_result.num_queries == 1
    assert stopwords.asked == ["the a was"]


def test_the_query_budget_stops_every_phase(textattack) -> None:
    from textattack.attack_results import FailedAttackResult, SuccessfulAttackResult

    cap1 = ThreatModel(candidates=4, max_modification_rate=0.1, similarity=0.0, query_budget=5)
    model = Recording(KeywordClassifier())
    (failed,) = attack(model, cap1, [(TWO_CUES, 1)])
    assert isinstance(failed, FailedAttackResult)
    assert failed.perturbed_result.num_queries == 5 == len(model.asked)

    # Stopped right after the random start found a flip: the start is returned, unreduced.
    unlimited = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0)
    model = Recording(GoodDecides())
    attack(model, unlimited, [(TWO_CUES, 1)])
    start = next(i for i, t in enumerate(model.asked) if model.label(t) == 0) + 1
    assert start < len(model.asked)
    budget = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0, query_budget=start)
    stopped = Recording(GoodDecides())
    (result,) = attack(stopped, budget, [(TWO_CUES, 1)])
    assert isinstance(result, SuccessfulAttackResult)
    assert result.perturbed_result.num_queries == start == len(stopped.asked)
    assert result.perturbed_result.attacked_text.text == model.asked[start - 1]
    assert len(changed(result)) == 3


def test_seeded_runs_repeat_and_the_seed_matters(textattack) -> None:
    threat = ThreatModel(candidates=5, max_modification_rate=0.3, similarity=0.0)
    examples = [*SENTENCES, (TWO_CUES, 1)]
    first = summary(attack(KeywordClassifier(), threat, examples, seed=0))
    assert first == summary(attack(KeywordClassifier(), threat, examples, seed=0))
    assert first != summary(attack(KeywordClassifier(), threat, examples, seed=100))


# ------------------------------------------------------------------ the recipe


def test_describe_and_list_show_the_recipe(textattack) -> None:
    from robustsnn.attack.recipes import describe_attack
    from robustsnn.cli.registry import list_entries
    from robustsnn.resources import AttackResources

    res = AttackResources(embedding=toy_embedding())
    record = describe_attack("hard-label", ThreatModel(candidates=3, similarity=0.0, query_budget=40),
                             resources=res)
    assert record["goal_function"] == "LabelOnlyClassification"
    assert record["search_method"] == "HardLabelSearch(init_tries=100, improve=True)"
    assert record["transformations"] == ["WordSwapEmbedding(max_candidates=3, embedding=DescribedWordEmbedding)"]
    assert record["constraints"] == ["RepeatModification()", "StopwordModification()",
                                     "MaxModificationRate(max_rate=0.1, min_threshold=1)"]
    assert record["query_budget"] == 40 and record["embedding"] == "toy counter-fitted vectors"
    assert "HLBB" in record["reference"] and "TextHoaxer" in record["reference"]
    native = describe_attack("hard-label", ThreatModel(protocol="native", similarity=0.0), resources=res)
    assert native["transformations"] == ["WordSwapEmbedding(max_candidates=15, embedding=DescribedWordEmbedding)"]
    (row,) = [r for r in list_entries("recipes") if r["name"] == "hard-label"]
    assert row["source"] == "robustsnn (built-in)" and "HLBB" in row["summary"]
