"""TextClassifierWrapper: per-row probabilities into TextAttack, used as they are.

Offline, CPU, a toy keyword classifier (tests/attack_toys.py); seconds in all.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pytest

from attack_toys import SENTENCES, KeywordClassifier, require_textattack, textattack_fixture, toy_embedding
from robustsnn.errors import UserError

require_textattack()


@pytest.fixture(scope="module")
def textattack(tmp_path_factory: pytest.TempPathFactory):
    yield from textattack_fixture(tmp_path_factory)


@pytest.fixture
def wrapper(textattack):
    from robustsnn.attack.wrappers import TextClassifierWrapper

    return TextClassifierWrapper(KeywordClassifier())


class RowsClassifier:
    """Returns fixed rows (whatever they are) for any input."""

    num_classes = 2

    def __init__(self, rows: Any) -> None:
        self.rows = rows

    def predict_proba(self, texts: Sequence[str]) -> Any:
        return self.rows

    def describe(self) -> dict[str, Any]:
        return {"model": "rows"}


@pytest.mark.parametrize("n", [1, 2, 7, 70])
def test_wrapper_returns_the_classifiers_rows(wrapper, n: int) -> None:
    texts = [SENTENCES[i % len(SENTENCES)][0] for i in range(n)]
    out = wrapper(texts)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (n, 2)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(out, wrapper.classifier.predict_proba(texts), atol=1e-12)
    assert wrapper.classifier.batches[0] == n  # one call: the classifier batches itself


def test_wrapper_on_no_texts_does_not_call_the_classifier(wrapper) -> None:
    assert wrapper([]).shape == (0, 2)
    assert wrapper.classifier.batches == []


def test_textattack_uses_the_rows_without_softmax(textattack) -> None:
    """TextAttack softmaxes a whole batch unless every row sums to 1 within 1e-6;
    rows that are probabilities up to rounding reach its goal function unchanged."""
    from textattack.goal_functions import UntargetedClassification
    from textattack.models.wrappers import ModelWrapper
    from textattack.shared import AttackedText

    from robustsnn.attack.wrappers import TextClassifierWrapper

    rows = np.array([[0.9, 0.1 + 5e-5], [0.3, 0.7]])  # float32-ish rounding in row 0

    class PassThrough(ModelWrapper):  # what a naive wrapper does
        model = None

        def __call__(self, texts: list[str], **kwargs: Any) -> np.ndarray:
            return rows

    texts = [AttackedText("a b"), AttackedText("c d")]
    naive = UntargetedClassification(PassThrough())._call_model(texts)
    ours = UntargetedClassification(TextClassifierWrapper(RowsClassifier(rows)))._call_model(texts)
    ours = np.stack([o.numpy() for o in ours])
    np.testing.assert_allclose(ours, rows / rows.sum(axis=1, keepdims=True), atol=1e-12)
    assert abs(float(naive[1][1]) - 0.7) > 0.05  # the naive batch was softmaxed: 0.7 -> 0.599


@pytest.mark.parametrize("rows, message", [
    (np.array([[2.0, -1.0], [0.5, 0.5]]), "negative or non-finite"),
    (np.array([[3.0, 1.0], [0.5, 0.5]]), "summing to 4"),
    (np.array([[0.5, 0.5]]), r"shape \(1, 2\) for 2 texts"),
    (np.array([[np.nan, 0.5], [0.5, 0.5]]), "negative or non-finite"),
])
def test_wrapper_rejects_what_is_not_probabilities(textattack, rows: np.ndarray, message: str) -> None:
    from robustsnn.attack.wrappers import TextClassifierWrapper

    with pytest.raises(UserError, match=message) as err:
        TextClassifierWrapper(RowsClassifier(rows))(["a text", "another text"])
    assert "\n" not in str(err.value) and "RowsClassifier" in str(err.value)


def test_wrapper_refuses_non_classifiers_and_text_pairs(wrapper) -> None:
    from robustsnn.attack.wrappers import TextClassifierWrapper

    with pytest.raises(UserError, match="not a TextClassifier"):
        TextClassifierWrapper(object())
    with pytest.raises(UserError, match="text pairs"):
        wrapper([("premise", "hypothesis")])


def test_wrapper_model_is_the_torch_module_when_there_is_one(textattack) -> None:
    import torch

    from robustsnn.attack.wrappers import TextClassifierWrapper

    toy = KeywordClassifier()
    assert TextClassifierWrapper(toy).model is toy
    module = torch.nn.Linear(2, 2)
    toy.model = module  # as NetworkClassifier.model
    assert TextClassifierWrapper(toy).model is module


def test_plain_textattack_attacker_runs_our_recipe_and_wrapper(textattack) -> None:
    """Our wrapper and recipe inside TextAttack's own Attacker/AttackArgs loop."""
    from textattack import AttackArgs, Attacker
    from textattack.attack_results import SuccessfulAttackResult
    from textattack.datasets import Dataset

    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.threat import ThreatModel
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.resources import AttackResources

    classifier = KeywordClassifier()
    threat = ThreatModel(candidates=5, similarity=0.0, max_modification_rate=0.3)
    attack = build_attack("pwws", TextClassifierWrapper(classifier), threat,
                          AttackResources(embedding=toy_embedding()))
    args = AttackArgs(num_examples=len(SENTENCES), silent=True, disable_stdout=True, random_seed=0)
    results = Attacker(attack, Dataset(SENTENCES), args).attack_dataset()
    assert len(results) == len(SENTENCES)
    successes = [r for r in results if isinstance(r, SuccessfulAttackResult)]
    assert len(successes) >= len(SENTENCES) // 2
    for result in successes:  # the adversarial text really flips the classifier
        original = result.original_result.attacked_text.text
        adversarial = result.perturbed_result.attacked_text.text
        assert classifier.label(adversarial) != classifier.label(original)
        assert result.perturbed_result.output == classifier.label(adversarial)
