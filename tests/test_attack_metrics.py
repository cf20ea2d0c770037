"""Metric formulas on hand-made outcomes (protocol.md)."""

import math

import pytest

from robustsnn.records.metrics import Outcome, compute_metrics, compute_verdict, words_changed


def o(result, perturbed=0, words=10, queries=0, seconds=1.0):
    return Outcome(result, perturbed, words, queries, seconds)


def test_cln_boa_suc_follow_textattack():
    # N = 10: S = 3, F = 5, K = 2.
    outcomes = ([o("successful", 1, 10, 20, 2.0)] * 3 + [o("failed", 0, 10, 40, 3.0)] * 5
                + [o("skipped", 0, 10, 1, 0.5)] * 2)
    m = compute_metrics(outcomes)
    assert (m.n, m.successful, m.failed, m.skipped) == (10, 3, 5, 2)
    assert m.clean_accuracy == pytest.approx(8 / 10)
    assert m.accuracy_under_attack == pytest.approx(5 / 10)
    assert m.attack_success_rate == pytest.approx(3 / 8)
    assert m.words_perturbed == pytest.approx(0.1)  # successful attacks only
    assert m.queries == pytest.approx((3 * 20 + 5 * 40) / 8)  # skipped excluded
    assert m.seconds_per_example == pytest.approx((3 * 2 + 5 * 3 + 2 * 0.5) / 10)


def test_identity_cln_equals_boa_plus_successes():
    outcomes = [o("successful", 2, 8)] * 4 + [o("failed")] * 1 + [o("skipped")] * 5
    m = compute_metrics(outcomes)
    assert m.clean_accuracy == pytest.approx(m.accuracy_under_attack + m.successful / m.n)
    assert m.words_perturbed == pytest.approx(0.25)


def test_all_skipped_has_undefined_success_rate():
    m = compute_metrics([o("skipped")] * 3)
    assert m.clean_accuracy == 0 and m.accuracy_under_attack == 0
    assert math.isnan(m.attack_success_rate) and math.isnan(m.queries)


def test_empty_and_invalid():
    assert math.isnan(compute_metrics([]).clean_accuracy)
    with pytest.raises(ValueError):
        o("maximized")


def test_final_verdict_over_draws():
    rows = [
        {"result": "successful", "verdict_clean_correct": True, "verdict_final_correct": False},
        {"result": "successful", "verdict_clean_correct": True, "verdict_final_correct": True},
        {"result": "failed", "verdict_clean_correct": True, "verdict_final_correct": True},
        {"result": "skipped", "verdict_clean_correct": False, "verdict_final_correct": False},
    ]
    v = compute_verdict(rows, draws=100)
    assert v.clean_accuracy == pytest.approx(3 / 4)
    assert v.accuracy_under_attack == pytest.approx(2 / 4)
    assert v.attack_success_rate == pytest.approx(1 / 3)
    assert v.attack_holds == pytest.approx(1 / 2)  # one of two single-draw successes holds


def test_words_changed_aligns_the_two_texts():
    original = "a true connoisseur of horror , this is your ticket .".split()
    assert words_changed(original, original) == 0
    swapped = "a true connoisseur of terror , this is your ticket .".split()
    assert words_changed(original, swapped) == 1
    # A space inserted inside a word (TextBugger) is one changed word, not every word after it.
    split = "a true con noisseur of horror , this is your ticket .".split()
    assert words_changed(original, split) == 1
    assert words_changed(original, original[:2] + original[3:]) == 1  # a deletion
    assert words_changed(original, ["so", *original]) == 1  # an insertion
    assert words_changed(original, split[:5] + ["terror"] + split[6:]) == 2
