"""Metric formulas on hand-made outcomes (docs/protocol.md)."""

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


def _verdict_row(result, clean, final):
    return {"result": result, "verdict_clean_correct": clean, "verdict_final_correct": final}


def test_the_verdict_leaves_out_examples_the_search_never_attacked():
    """A search that skipped an example (its one draw wrong on the clean text) while the
    majority gets the clean text right never attacked it: it is left out of Cln_R, Boa_R
    and Suc_R (counted in ``left_out``), never counted robust."""
    rows = [
        _verdict_row("successful", True, False),  # flipped by the majority too
        _verdict_row("successful", True, True),  # the majority shrugs it off
        _verdict_row("failed", True, True),  # robust
        _verdict_row("unattackable", True, True),  # failed as TextAttack counts it
        _verdict_row("skipped", False, False),  # wrong by the majority too: counted, not robust
        _verdict_row("skipped", True, True),  # never attacked: left out
        _verdict_row("skipped", True, True),  # never attacked: left out
    ]
    v = compute_verdict(rows, draws=100)
    assert (v.n, v.left_out) == (5, 2)
    assert v.clean_accuracy == pytest.approx(4 / 5)
    assert v.accuracy_under_attack == pytest.approx(3 / 5)  # was 5 / 7, counting the two as robust
    assert v.attack_success_rate == pytest.approx(1 / 4)  # was 1 / 6
    assert v.attack_holds == pytest.approx(1 / 2)
    assert v.to_dict()["left_out"] == 2 and v.to_dict()["n"] == 5
    # A transfer run replays its source's text whatever the target's single draw said.
    replayed = compute_verdict(rows, draws=100, replay=True)
    assert (replayed.n, replayed.left_out) == (7, 0) and replayed.accuracy_under_attack == pytest.approx(5 / 7)
    # Nothing but unattacked examples: no rate, not a robust 100 %.
    only = compute_verdict(rows[-2:], draws=100)
    assert (only.n, only.left_out) == (0, 2) and math.isnan(only.accuracy_under_attack)


def test_the_table_counts_the_left_out_examples(tmp_path):
    """A toy log through ``robustsnn table``: known left-out examples, and Cln_R / Boa_R /
    Suc_R over the rest."""
    import json

    from conftest import run_record_dict
    from robustsnn.analysis.table import collect, render_markdown
    from robustsnn.records.log import AttackLog

    stem = "sst2__snn__none__pwws__fresh__shared-swap"
    log = AttackLog(tmp_path / "c" / f"{stem}.csv")
    outcomes = [("successful", 1, 0), ("failed", 1, 1), ("skipped", 0, 0), ("skipped", 1, 1), ("failed", 1, 1)]
    for index, (result, clean, final) in enumerate(outcomes):
        changed = result == "successful"
        log.append({"index": index, "label": 1, "result": result, "original_text": "a text",
                    "perturbed_text": "a changed text" if changed else "a text", "queries": 3,
                    "candidates_offered": 2, "words_perturbed": int(changed), "num_words": 2, "seconds": 0.1,
                    "verdict_draws": 10, "verdict_clean_votes": 9 if clean else 1,
                    "verdict_final_votes": 9 if final else 1, "verdict_clean_correct": clean,
                    "verdict_final_correct": final, "verdict_clean_draws": 6, "verdict_final_draws": 6})
    record = run_record_dict(model="snn", noise="fresh", campaign="c", log=f"{stem}.csv", verdict_draws=10,
                             examples_selected=5)
    (tmp_path / "c" / f"{stem}.json").write_text(json.dumps(record))
    [row] = collect(tmp_path)
    assert (row["n"], row["verdict_n"], row["verdict_left_out"]) == (5, 4, 1)
    assert row["verdict_clean_accuracy"] == pytest.approx(3 / 4)
    assert row["verdict_accuracy_under_attack"] == pytest.approx(2 / 4)
    assert row["verdict_attack_success_rate"] == pytest.approx(1 / 3)
    header, _, line = render_markdown([row]).splitlines()[:3]
    cells = dict(zip([h.strip() for h in header.split("|")], [c.strip() for c in line.split("|")]))
    assert (cells["R"], cells["left_R"], float(cells["Boa_R"])) == ("10", "1", 50.0)
