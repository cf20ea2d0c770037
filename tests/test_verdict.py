"""The R-draw verdict stops early and exactly: the settling rule against brute force,
the early-stopped verdict against the full-R one (same seed) on fake stochastic models
with known per-draw probabilities (clear, near-tie, exact-tie and 3- and 5-class texts)
and on the tiny trained SNN, and the draws it saves."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch

from robustsnn.campaign.verdict import majority, majority_votes, next_chunk, settled

R = 100


class Recorder:
    """Wraps a classifier; keeps every prediction it made, per text, in call order."""

    def __init__(self, classifier):
        self.classifier, self.num_classes = classifier, classifier.num_classes
        self.seen: dict[str, list[int]] = {}

    def predict_proba(self, texts):
        probs = np.asarray(self.classifier.predict_proba(texts))
        for text, p in zip(texts, probs.argmax(axis=1)):
            self.seen.setdefault(text, []).append(int(p))
        return probs


class FakeStochastic:
    """Each text is ``"<name>"`` with per-draw class probabilities ``probs[name]``; every
    draw is a fresh sample from torch's global RNG, as the SNN's Poisson encoding is."""

    def __init__(self, probs: dict[str, list[float]]):
        self.probs = probs
        self.num_classes = len(next(iter(probs.values())))

    def predict_proba(self, texts):
        uniforms = torch.rand(len(texts)).numpy()
        out = np.zeros((len(texts), self.num_classes))
        for row, (text, u) in enumerate(zip(texts, uniforms)):
            cut = np.cumsum(self.probs[text])
            out[row, min(int(np.searchsorted(cut, u, side="right")), self.num_classes - 1)] = 1.0
        return out


class Cycle:
    """Deterministic: a text's draws cycle through ``pattern[text]`` (knife-edges and ties
    built to the vote)."""

    def __init__(self, patterns: dict[str, list[int]], num_classes: int):
        self.patterns, self.num_classes = patterns, num_classes
        self.position: dict[str, int] = {}

    def predict_proba(self, texts):
        out = np.zeros((len(texts), self.num_classes))
        for row, text in enumerate(texts):
            i = self.position.get(text, 0)
            pattern = self.patterns[text]
            out[row, pattern[i % len(pattern)]] = 1.0
            self.position[text] = i + 1
        return out


def _completions(m: int, k: int):
    for cut in itertools.combinations(range(m + k - 1), k - 1):
        bounds = (-1, *cut, m + k - 1)
        yield [bounds[i + 1] - bounds[i] - 1 for i in range(k)]


@pytest.mark.parametrize("total,classes", [(8, 2), (7, 2), (7, 3), (6, 4)])
def test_settled_agrees_with_every_completion(total, classes):
    """``settled`` is exactly: every way the remaining draws could fall gives one verdict."""
    for n in range(total + 1):
        for counts in _completions(n, classes):
            for label in range(classes):
                outcomes = {majority([a + b for a, b in zip(counts, rest)]) == label
                            for rest in _completions(total - n, classes)}
                expected = outcomes.pop() if len(outcomes) == 1 else None
                assert settled(counts, label, total - n) is expected, (counts, label, total - n)


def test_majority_is_argmax_with_ties_to_the_lowest_class():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        counts = rng.integers(0, 4, size=rng.integers(2, 6))
        assert majority(list(counts)) == int(np.argmax(counts))


def test_chunks_are_the_fewest_draws_that_could_settle():
    assert next_chunk([0, 0], 0, 100) == 50  # 50 of 50 to class 0 win ties against class 1
    assert next_chunk([0, 0], 1, 100) == 50  # 50 of 50 to class 0 settle "wrong" (a 50-50 tie goes to 0)
    assert next_chunk([0, 0, 0, 0, 0], 2, 100) == 50
    assert next_chunk([45, 5], 0, 50) == 10  # at least a chunk
    assert next_chunk([30, 21], 1, 49, chunk=1) == 20  # 50 vs 21: 1 cannot catch up in the 29 left
    assert next_chunk([21, 30], 1, 49, chunk=1) == 21  # 51 vs 21: 0 cannot reach it (a tie would go to 0)
    assert next_chunk([3, 3], 0, 4) == 4  # never more than is left


def _draw(classifier, texts, labels, seed, early_stop):
    """Votes per text (each text its own call, as the runner votes one example's texts)."""
    out = []
    for index, (text, label) in enumerate(zip(texts, labels)):
        torch.manual_seed(seed + index)
        [votes] = majority_votes(classifier, [text], label, R, early_stop=early_stop)
        out.append(votes)
    return out


def _check_exact(classifier_factory, texts, labels, seed=0):
    """Early verdicts equal full-R ones for every text; the early draws are the first
    draws of the full vote; the full verdict is the plain majority of its R predictions."""
    early_rec, full_rec = Recorder(classifier_factory()), Recorder(classifier_factory())
    early = _draw(early_rec, texts, labels, seed, True)
    full = _draw(full_rec, texts, labels, seed, False)
    for text, label, e, f in zip(texts, labels, early, full):
        predictions = full_rec.seen[text]
        assert len(predictions) == f.draws == R
        counts = np.bincount(predictions, minlength=full_rec.num_classes)
        assert f.correct == (int(np.argmax(counts)) == label) and f.label_votes == counts[label]
        assert e.correct == f.correct, text  # the decision: identical
        assert early_rec.seen[text] == predictions[:e.draws]  # the same draws, stopped early
        assert e.label_votes == predictions[:e.draws].count(label)
    return early, full


def test_early_verdicts_equal_full_ones_on_many_texts():
    """Two classes and many per-draw probabilities, including near-ties (0.45..0.55),
    where the verdict goes either way from seed to seed."""
    rng = random.Random(1)
    levels = [0.0, 0.02, 0.1, 0.3, 0.4, 0.45, 0.48, 0.5, 0.52, 0.55, 0.6, 0.7, 0.9, 0.98, 1.0]
    probs = {f"t{i}": [1 - p, p] for i, p in enumerate(levels * 8)}
    texts = list(probs)
    labels = [rng.randrange(2) for _ in texts]
    early, full = _check_exact(lambda: FakeStochastic(probs), texts, labels)
    draws = dict(zip(texts, (e.draws for e in early)))
    clear = [t for t in texts if max(probs[t]) >= 0.9]
    assert all(draws[t] < R for t in clear) and np.mean([draws[t] for t in clear]) <= 61
    near = [t for t in texts if max(probs[t]) <= 0.52]
    assert np.mean([draws[t] for t in near]) > 80  # knife-edges draw (nearly) all
    # both verdicts occur among the near-ties: the test is not vacuous
    assert len({f.correct for t, f in zip(texts, full) if t in near}) == 2


def test_early_verdicts_equal_full_ones_with_a_runner_up():
    """Three and five classes: the label against the strongest other class, both near."""
    probs = {
        "lead": [0.6, 0.3, 0.1], "close": [0.36, 0.34, 0.30], "second": [0.34, 0.36, 0.30],
        "three-way": [0.33, 0.33, 0.34], "low-vs-high": [0.45, 0.10, 0.45],
        "five": [0.22, 0.2, 0.18, 0.2, 0.2], "five-clear": [0.05, 0.05, 0.8, 0.05, 0.05],
    }
    for copy in range(6):
        for name, p in list(probs.items())[:7]:
            probs[f"{name}-{copy}"] = p
    texts = [t for t in probs if "-" in t and t[-1].isdigit()]
    width = {t: len(probs[t]) for t in texts}
    models = {3: {t: probs[t] for t in texts if width[t] == 3}, 5: {t: probs[t] for t in texts if width[t] == 5}}
    for classes, group in models.items():
        names = list(group)
        for label in range(classes):
            _check_exact(lambda g=group: FakeStochastic(g), names, [label] * len(names), seed=10 * label)


def test_knife_edges_draw_all_and_ties_go_to_the_lowest_class():
    """Deterministic draws: a vote tied all the way draws all R; exact final ties are
    decided by the lowest class, as with all R draws."""
    patterns = {"tied": [0, 1], "tied3": [0, 2, 1, 2, 0, 1], "ahead": [1]}

    def check(text, label):
        [early], [full] = _check_exact(lambda: Cycle(patterns, 3), [text], [label])
        return early

    for label, expected in [(0, True), (1, False)]:
        e = check("tied", label)  # 50:50:0 after R, even all the way
        assert e.draws == R and e.correct is expected  # the 50-50 tie goes to class 0
    e = check("tied", 2)
    assert not e.correct and e.draws < R  # class 2 has no vote: out of the race early
    for label, expected in [(0, False), (1, False), (2, True)]:
        e = check("tied3", label)  # 33:33:34 after R
        assert e.correct is expected and e.draws > 90
    e = check("ahead", 2)  # every draw says 1
    assert not e.correct and e.draws == 50  # 50:0: 2 cannot pass 1 in the 50 left
    e = check("ahead", 1)
    assert e.correct and 50 < e.draws < R  # 50:0 is not enough: 0 would win a 50-50 tie


def test_a_texts_vote_does_not_depend_on_the_others():
    """Each text draws from its own stream: its votes are the same whatever the other
    texts of the call are, and whether or not they stopped early."""
    probs = {"a": [0.5, 0.5], "b": [0.01, 0.99], "c": [0.55, 0.45]}
    model = FakeStochastic(probs)
    results = []
    for others, early_stop in [(["b"], True), (["c"], True), (["b"], False)]:
        torch.manual_seed(5)
        results.append(majority_votes(model, ["a", *others], 0, R, early_stop=early_stop)[0])
    assert results[0] == results[1]  # the same draws of "a"
    assert results[0].correct == results[2].correct


def test_the_callers_rng_does_not_depend_on_stopping():
    model = FakeStochastic({"a": [0.9, 0.1], "b": [0.5, 0.5]})
    after = []
    for early_stop in (True, False):
        torch.manual_seed(3)
        np.random.seed(3)
        random.seed(3)
        majority_votes(model, ["a", "b"], 0, R, early_stop=early_stop)
        after.append((torch.rand(3).tolist(), np.random.rand(), random.random()))
    assert after[0] == after[1]


def test_the_tiny_snn_decides_alike_early_and_full(tiny_net):
    """The real thing: the tiny converted SNN with fresh Poisson draws, on its test
    sentences and on filler-only ones (no cue word: close to a coin flip)."""
    from conftest import FILLER
    from robustsnn.data.tsv import load_dataset
    from robustsnn.models.encoding import FRESH
    from robustsnn.zoo import MODELS

    test = load_dataset("sst2").test
    texts = list(test.texts[:24])
    labels = [int(y) for y in test.labels[:24]]
    rng = random.Random(0)
    for i in range(16):
        texts.append(" ".join(rng.choice(FILLER) for _ in range(6)) + " .")
        labels.append(i % 2)
    classifier = MODELS.get("snn-converted").load("sst2", tiny_net.converted, FRESH)
    early, full = _check_exact(lambda: classifier, texts, labels)
    assert any(e.draws < R for e in early) and all(e.draws <= R for e in early)
    assert len({f.correct for f in full}) == 2  # right and wrong verdicts both checked
