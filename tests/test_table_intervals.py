"""Table 2's Wilson intervals, from toy logs with known counts."""

from __future__ import annotations

import csv
import json
import math

import pytest

from conftest import run_record_dict
from robustsnn.analysis.table import INTERVAL_COLUMNS, write_table
from robustsnn.records.log import AttackLog
from robustsnn.stats import wilson_interval

# index: (single-draw result, R-draw majority right on the clean text, on the final text)
ROWS = [
    ("skipped", False, False),
    ("skipped", True, True),  # one draw wrong, the majority right
    ("successful", True, False),
    ("successful", True, True),  # a single-draw success the majority does not follow
    ("successful", False, False),
    ("failed", True, True),
    ("failed", True, True),
    ("failed", False, False),
    ("failed", True, True),
    ("unattackable", True, True),
]


def _write(folder, model, noise, draws):
    stem = f"sst2__{model}__none__pwws__{noise}__shared-swap"
    log = AttackLog(folder / "c" / f"{stem}.csv")
    for index, (result, clean_ok, final_ok) in enumerate(ROWS):
        row = {"index": index, "label": 1, "result": result, "original_text": "a text",
               "perturbed_text": "a changed text" if result == "successful" else "a text", "queries": 3,
               "candidates_offered": 0 if result == "unattackable" else 5, "candidates_kept": 0,
               "words_perturbed": 1, "num_words": 10, "seconds": 0.1}
        if draws:
            row.update({"verdict_draws": draws, "verdict_clean_votes": draws * clean_ok,
                        "verdict_final_votes": draws * final_ok, "verdict_clean_correct": clean_ok,
                        "verdict_final_correct": final_ok})
        log.append(row)
    record = run_record_dict(model=model, noise=noise, campaign="c", log=f"{stem}.csv", verdict_draws=draws,
                             examples_selected=len(ROWS))
    (folder / "c" / f"{stem}.json").write_text(json.dumps(record))


def test_every_rate_has_the_wilson_interval_of_its_counts(tmp_path):
    _write(tmp_path, "snn", "fresh", draws=10)
    _write(tmp_path, "textcnn", "none", draws=0)
    write_table(tmp_path, tmp_path / "t.csv", tmp_path / "t.md")
    with open(tmp_path / "t.csv", newline="") as f:
        table = {r["model"]: r for r in csv.DictReader(f)}
    # N = 10, S = 3, F = 5 (one unattackable), K = 2.
    expected = {
        "clean_accuracy": (8, 10), "accuracy_under_attack": (5, 10), "attack_success_rate": (3, 8),
        "accuracy_under_attack_attackable": (4, 9), "attack_success_rate_attackable": (3, 7),
    }
    # The 100-draw verdict by hand, over the 9 examples an attack ran on (1 was skipped on
    # its one draw while the majority is right: left out, never counted robust): clean
    # right on 2, 3, 5, 6, 8, 9; right on clean and final on 3, 5, 6, 8, 9; of the 6
    # clean-right, 1 flipped; of the 3 single-draw successes (2, 3, 4), the majority is
    # wrong on 2 and 4.
    verdict = {"verdict_clean_accuracy": (6, 9), "verdict_accuracy_under_attack": (5, 9),
               "verdict_attack_success_rate": (1, 6), "verdict_attack_holds": (2, 3)}
    for model, counts in (("textcnn", expected), ("snn", {**expected, **verdict})):
        for rate, (k, n) in counts.items():
            low, high = wilson_interval(k, n)
            assert float(table[model][rate]) == pytest.approx(k / n, abs=1e-15)
            assert float(table[model][f"{rate}_ci_low"]) == pytest.approx(low, abs=1e-15)
            assert float(table[model][f"{rate}_ci_high"]) == pytest.approx(high, abs=1e-15)
    # A deterministic model has no verdict, so no interval for it.
    assert all(table["textcnn"][f"{r}_ci_{e}"] == "" for r in verdict for e in ("low", "high"))
    assert len(INTERVAL_COLUMNS) == 18 and set(INTERVAL_COLUMNS) <= set(table["snn"])
    md = (tmp_path / "t.md").read_text()
    assert "Boa 95% CI" in md and "Wilson interval" in md
    low, high = wilson_interval(5, 10)
    assert f"| {100 * low:.1f}-{100 * high:.1f} " in md  # 23.7-76.3


def test_a_run_with_nothing_attacked_has_no_interval(tmp_path):
    stem = "sst2__textcnn__none__pwws__none__shared-swap"
    log = AttackLog(tmp_path / "c" / f"{stem}.csv")
    log.append({"index": 0, "label": 1, "result": "skipped", "original_text": "a", "perturbed_text": "a",
                "queries": 0, "candidates_offered": "", "candidates_kept": "", "words_perturbed": 0,
                "num_words": 1, "seconds": 0.1})
    (tmp_path / "c" / f"{stem}.json").write_text(json.dumps(run_record_dict(campaign="c", log=f"{stem}.csv")))
    [row] = write_table(tmp_path, tmp_path / "t.csv")
    assert (row["clean_accuracy_ci_low"], row["clean_accuracy_ci_high"]) == wilson_interval(0, 1)
    assert row["accuracy_under_attack_ci_low"] == 0.0  # 0 of 1: an interval, not a point
    assert math.isnan(row["attack_success_rate_ci_low"]) and math.isnan(row["attack_success_rate_ci_high"])
