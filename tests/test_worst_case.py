"""Worst-case robust accuracy from toy logs with a known answer."""

from __future__ import annotations

import json
import math

import pytest

from conftest import run_record_dict
from robustsnn.analysis.worst_case import deployed_form, load_runs, matched_success_rates, worst_case
from robustsnn.errors import UserError
from robustsnn.records.log import AttackLog


def _write_run(folder, campaign, model, recipe, noise, rows, draws=0):
    """A run record and its log, as the runner writes them (only the fields read back)."""
    stem = f"sst2__{model}__none__{recipe}__{noise}__shared-swap"
    log = AttackLog(folder / campaign / f"{stem}.csv")
    for index, row in rows.items():
        # A successful attack changed the text; any other outcome leaves it as it was.
        final = "a changed text" if row.get("result") == "successful" else "a text"
        full = {"index": index, "label": 1, "original_text": "a text", "perturbed_text": final,
                "queries": 3, "words_perturbed": 0, "num_words": 2, "seconds": 0.1, **row}
        log.append(full)
    record = run_record_dict(model=model, recipe=recipe, noise=noise, sha=None, campaign=campaign,
                             log=f"{stem}.csv", verdict_draws=draws)
    (folder / campaign / f"{stem}.json").write_text(json.dumps(record))


def _det(result):
    return {"result": result}


def _stoch(result, clean_ok, final_ok, final_votes, draws=10):
    return {"result": result, "verdict_draws": draws, "verdict_clean_votes": draws if clean_ok else 0,
            "verdict_final_votes": final_votes, "verdict_clean_correct": clean_ok,
            "verdict_final_correct": final_ok}


def test_forms():
    assert deployed_form("none") == "-"
    assert deployed_form("direct") == "direct"
    assert {deployed_form(n) for n in ("fresh", "frozen", "mean-20")} == {"poisson"}


def test_deterministic_model_is_broken_by_any_attack(tmp_path):
    _write_run(tmp_path, "c", "textcnn", "pwws", "none",
               {0: _det("skipped"), 1: _det("successful"), 2: _det("failed"), 3: _det("failed")})
    _write_run(tmp_path, "c", "textcnn", "textfooler", "none",
               {0: _det("skipped"), 1: _det("failed"), 2: _det("successful"), 3: _det("failed"),
                4: _det("failed")})  # example 4 was attacked by one run only: left out
    [wc] = worst_case(load_runs(tmp_path))
    assert (wc.dataset, wc.model, wc.form, wc.runs, wc.n) == ("sst2", "textcnn", "-", 2, 4)
    assert wc.clean_accuracy == 0.75
    assert wc.robust_accuracy == 0.25  # 1 falls to pwws, 2 to textfooler, only 3 survives both
    assert wc.robust_examples == (3,)
    assert wc.best_single_robust_accuracy == 0.5  # each attack alone leaves two standing
    assert wc.worst_text_error is None


def test_stochastic_model_uses_the_majority_verdict_not_the_single_draw(tmp_path):
    # frozen: the single-draw attack "succeeds" on 1 but the majority still gets it right;
    # fresh: a failed search whose clean text the majority gets wrong (2).
    _write_run(tmp_path, "c", "snn", "pwws", "frozen",
               {0: _stoch("successful", True, False, 2), 1: _stoch("successful", True, True, 7),
                2: _stoch("failed", True, True, 9), 3: _stoch("failed", True, True, 10)}, draws=10)
    _write_run(tmp_path, "c", "snn", "pwws", "fresh",
               {0: _stoch("failed", True, True, 8), 1: _stoch("failed", True, True, 6),
                2: _stoch("failed", False, False, 3), 3: _stoch("failed", True, True, 10)}, draws=10)
    _write_run(tmp_path, "c", "snn", "pwws", "direct", {0: _det("failed"), 1: _det("successful"),
                                                         2: _det("failed"), 3: _det("failed")})
    poisson = next(w for w in worst_case(load_runs(tmp_path)) if w.form == "poisson")
    assert (poisson.runs, poisson.n) == (2, 4)
    assert poisson.clean_accuracy == 0.75  # example 2's clean text is wrong in the fresh run
    assert poisson.robust_examples == (1, 3)
    assert poisson.robust_accuracy == 0.5
    # worst text per example: 1 - min votes / 10 -> 0.8, 0.3, 1.0, 0.0 (an unchanged text
    # counts with its clean votes, not the log's second vote on it)
    assert poisson.worst_text_error == pytest.approx((0.8 + 0.3 + 1.0 + 0.0) / 4)
    direct = next(w for w in worst_case(load_runs(tmp_path)) if w.form == "direct")
    assert direct.robust_examples == (0, 2, 3)  # a separate deployed model


def test_matched_subset_compares_on_examples_all_models_get_right(tmp_path):
    _write_run(tmp_path, "c", "textcnn", "pwws", "none",
               {0: _det("skipped"), 1: _det("successful"), 2: _det("successful"), 3: _det("failed")})
    _write_run(tmp_path, "c", "tailored", "pwws", "none",
               {0: _det("failed"), 1: _det("skipped"), 2: _det("successful"), 3: _det("failed")})
    rates = {r.model: r for r in matched_success_rates(load_runs(tmp_path), "sst2")}
    assert rates["textcnn"].n == rates["tailored"].n == 2  # examples 2 and 3
    assert rates["textcnn"].attack_success_rate == 0.5
    assert rates["tailored"].attack_success_rate == 0.5


def test_empty_intersection_is_nan_not_an_error(tmp_path):
    _write_run(tmp_path, "c", "textcnn", "pwws", "none", {0: _det("failed")})
    _write_run(tmp_path, "c", "textcnn", "textfooler", "none", {1: _det("failed")})
    [wc] = worst_case(load_runs(tmp_path))
    assert wc.n == 0 and math.isnan(wc.robust_accuracy)


def test_no_records_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no run records"):
        load_runs(tmp_path)


def test_k_curve_compares_draws_per_query_on_common_examples(tmp_path):
    from robustsnn.analysis.adaptive import k_curve

    _write_run(tmp_path, "c", "snn", "pwws", "fresh",
               {0: _stoch("successful", True, True, 6), 1: _stoch("failed", True, True, 9),
                2: _stoch("successful", True, False, 2)}, draws=10)
    _write_run(tmp_path, "c", "snn", "pwws", "mean-20",
               {0: _stoch("successful", True, False, 3), 1: _stoch("successful", True, False, 4),
                2: _stoch("successful", True, False, 1), 3: _stoch("failed", True, True, 10)}, draws=10)
    _write_run(tmp_path, "c", "snn", "pwws", "frozen", {0: _stoch("failed", True, True, 9)}, draws=10)
    rows = k_curve(load_runs(tmp_path))
    assert [(r["noise"], r["k"], r["n"]) for r in rows] == [("fresh", 1, 3), ("mean-20", 20, 3)]
    fresh, mean20 = rows
    assert fresh["attack_success_rate"] == pytest.approx(2 / 3)
    assert fresh["verdict_attack_success_rate"] == pytest.approx(1 / 3)  # only 2 holds by the verdict
    assert mean20["attack_success_rate"] == 1.0 and mean20["verdict_attack_success_rate"] == 1.0


def test_transfer_rate_counts_source_successes_the_target_gets_wrong(tmp_path):
    from robustsnn.analysis.adaptive import transfer_table

    _write_run(tmp_path, "c", "tailored", "pwws", "none",
               {0: _det("successful"), 1: _det("successful"), 2: _det("failed"), 3: _det("successful")})
    # Against the SNN: 0 fooled, 1 not, 3 wrong already on the clean text (not counted).
    _write_run(tmp_path, "c", "snn", "transfer-tailored-pwws", "fresh",
               {0: _stoch("successful", True, False, 2), 1: _stoch("failed", True, True, 9),
                2: _stoch("failed", True, True, 9), 3: _stoch("skipped", False, False, 1)}, draws=10)
    record_path = tmp_path / "c" / "sst2__snn__none__transfer-tailored-pwws__fresh__shared-swap.json"
    record = json.loads(record_path.read_text())
    record["attack"] = {"recipe": "transfer-tailored-pwws",
                        "transfer_from": {"model": "tailored", "recipe": "pwws", "noise": "none"},
                        "source_log": "sst2__tailored__none__pwws__none__shared-swap.csv"}
    record_path.write_text(json.dumps(record))
    [row] = transfer_table(load_runs(tmp_path))
    assert (row["source"], row["target"], row["target_noise"]) == ("tailored", "snn", "fresh")
    assert row["source_successes"] == 3 and row["target_clean_correct"] == 2
    assert row["transfer_rate"] == 0.5


def test_an_unchanged_text_keeps_its_clean_verdict():
    """A failed attack's final text is the clean text; the log's second vote on it is
    draw noise, never a success (robustsnn.records.log.final_verdict)."""
    from robustsnn.campaign.runner import summarise
    from robustsnn.records.log import final_verdict

    row = {"index": "0", "label": "1", "result": "failed", "original_output": "1", "perturbed_output": "1",
           "original_score": "0.4", "perturbed_score": "0.4", "queries": "5", "candidates_offered": "3",
           "candidates_kept": "3", "words_perturbed": "0", "num_words": "4", "seconds": "0.1",
           "verdict_draws": "100", "verdict_clean_votes": "51", "verdict_final_votes": "49",
           "verdict_clean_correct": "1", "verdict_final_correct": "0",
           "original_text": "a fine film .", "perturbed_text": "a fine film ."}
    assert final_verdict(row) == ("1", "51")
    verdict = summarise([row], 100)["verdict"]
    assert verdict["attack_success_rate"] == 0.0 and verdict["accuracy_under_attack"] == 1.0
    changed = {**row, "result": "successful", "perturbed_text": "a fine movie ."}
    assert final_verdict(changed) == ("0", "49")
    assert summarise([changed], 100)["verdict"]["attack_success_rate"] == 1.0


def test_table_refuses_recount_with_worst_case_rather_than_ignoring_it(tmp_path, capsys):
    from robustsnn.cli import main

    _write_run(tmp_path, "c", "textcnn", "pwws", "none", {0: _det("failed")})
    out = tmp_path / "adaptive.csv"
    assert main(["table", "--worst-case", "--recount", "--results", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--recount applies to the attack table" in err
    assert not out.exists()


def test_a_share_of_votes_is_over_the_draws_the_verdict_used():
    """A vote that stopped early counts its votes out of the draws it made, not out of R;
    a row from before the draws were logged drew all R."""
    from robustsnn.analysis.worst_case import verdict_of_row
    from robustsnn.records.log import draws_used

    row = {"result": "successful", "verdict_draws": "100", "verdict_clean_votes": "60",
           "verdict_final_votes": "15", "verdict_clean_correct": "1", "verdict_final_correct": "0",
           "verdict_clean_draws": "60", "verdict_final_draws": "60",
           "original_text": "a text", "perturbed_text": "a changed text"}
    assert (draws_used(row), draws_used(row, final=True)) == (60, 60)
    assert verdict_of_row(row, True).final_error == pytest.approx(1 - 15 / 60)
    old = {**row, "verdict_clean_draws": "", "verdict_final_draws": ""}
    assert verdict_of_row(old, True).final_error == pytest.approx(1 - 15 / 100)
    # An unchanged final text reads the clean text's verdict, and its draws.
    same = {**row, "result": "failed", "perturbed_text": "a text", "verdict_final_draws": "70"}
    assert draws_used(same, final=True) == 60 and verdict_of_row(same, True).final_error == 0.0
    assert draws_used(same, final=True, replay=True) == 70  # a transfer run's own final vote


# ------------------------------------------------------------------ intervals and paired comparisons


def _robust(indices, n=30):
    """Deterministic rows over examples 0..n-1: robust (failed) on ``indices``, broken elsewhere."""
    return {i: _det("failed" if i in indices else "successful") for i in range(n)}


def _three_models(folder):
    # tailored robust on 0-13, textcnn on 0-4 and 14, the SNN (direct) on 0-6; the TextCNN's
    # second attack covers only examples 0-19, so the TextCNN's worst case has N = 20.
    _write_run(folder, "c", "tailored", "pwws", "none", _robust(set(range(14))))
    _write_run(folder, "c", "textcnn", "pwws", "none", _robust(set(range(5)) | {14}))
    _write_run(folder, "c", "textcnn", "textfooler", "none", _robust(set(range(20)), n=20))
    _write_run(folder, "c", "snn", "pwws", "direct", _robust(set(range(7))))


def test_deployed_models_are_compared_paired_over_their_common_examples(tmp_path):
    from robustsnn.analysis.worst_case import compare_deployed
    from robustsnn.stats import mcnemar_exact

    _three_models(tmp_path)
    cases = worst_case(load_runs(tmp_path))
    assert [(w.label, w.n) for w in cases] == [("snn direct", 30), ("tailored", 30), ("textcnn", 20)]
    pairs = {(c.a_label, c.b_label): c.paired for c in compare_deployed(cases)}
    assert list(pairs) == [("snn direct", "tailored"), ("snn direct", "textcnn"), ("tailored", "textcnn")]
    # SNN vs tailored on 30: only the tailored keeps 7-13. p = 2 / 2^7.
    p = pairs[("snn direct", "tailored")]
    assert (p.n, p.b, p.c, p.p_value) == (30, 0, 7, 0.015625)
    assert p.verdict("snn direct", "tailored").startswith("tailored ahead of snn direct by 23.3 points")
    # Against the TextCNN, over the 20 examples it was evaluated on.
    p = pairs[("snn direct", "textcnn")]
    assert (p.n, p.b, p.c, p.p_value) == (20, 2, 1, 1.0) and not p.significant
    p = pairs[("tailored", "textcnn")]
    assert (p.n, p.b, p.c) == (20, 9, 1) and p.p_value == mcnemar_exact(9, 1) == 2 * 11 / 1024


def test_adaptive_report_gives_intervals_and_a_paired_section(tmp_path):
    import csv

    from robustsnn.analysis.adaptive import write_adaptive
    from robustsnn.stats import wilson_interval

    _three_models(tmp_path / "res")
    out = tmp_path / "adaptive.csv"
    tables = write_adaptive(tmp_path / "res", out)
    by = {r["model"]: r for r in tables["worst_case"]}
    assert (by["tailored"]["worst_case_robust_accuracy_ci_low"],
            by["tailored"]["worst_case_robust_accuracy_ci_high"]) == wilson_interval(14, 30)
    assert (by["textcnn"]["worst_case_robust_accuracy_ci_low"],
            by["textcnn"]["worst_case_robust_accuracy_ci_high"]) == wilson_interval(6, 20)
    assert by["textcnn"]["clean_accuracy_ci_low"] == wilson_interval(20, 20)[0]
    with open(tmp_path / "adaptive_paired.csv", newline="") as f:
        paired = list(csv.DictReader(f))
    assert [(r["a"], r["b"], r["n"], r["only_a"], r["only_b"], r["verdict"]) for r in paired] == [
        ("snn direct", "tailored", "30", "0", "7", "tailored ahead"),
        ("snn direct", "textcnn", "20", "2", "1", "within noise"),
        ("tailored", "textcnn", "20", "9", "1", "tailored ahead")]
    assert float(paired[2]["mcnemar_p"]) == 0.021484375
    md = (tmp_path / "adaptive.md").read_text()
    low, high = wilson_interval(14, 30)
    assert f"| {100 * low:.1f}-{100 * high:.1f} " in md
    section = md[md.index("## Deployed models compared"):md.index("## Success rate")]
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines()
             if line.startswith("| sst2")]
    assert lines[0][-2:] == ["0.016", "tailored ahead"] and lines[0][6] == "-23.3 [-38.4, -6.5]"
    assert lines[1] == ["sst2", "snn direct", "textcnn", "20", "35", "30", "+5.0 [-13.9, +23.5]", "2", "1", "1",
                        "within noise"]
    assert lines[2][-2:] == ["0.021", "tailored ahead"]


def test_an_example_a_stochastic_search_never_attacked_is_left_out_not_counted_robust(tmp_path):
    """Example 1: the PWWS search skipped it (its one draw got the clean text wrong) while the
    majority gets the clean text right - no attack ran on it, so it is left out of N. The
    transfer run's skip of example 2 does not leave it out: a transfer votes on the
    transferred text whatever its single draw said."""
    _write_run(tmp_path, "c", "snn", "pwws", "fresh",
               {0: _stoch("successful", True, False, 2), 1: _stoch("skipped", True, True, 9),
                2: _stoch("failed", True, True, 9), 3: _stoch("failed", True, True, 8),
                4: _stoch("skipped", True, True, 9)}, draws=10)
    _write_run(tmp_path, "c", "snn", "transfer-tailored-pwws", "fresh",
               {0: _stoch("failed", True, True, 9), 1: _stoch("failed", True, True, 9),
                2: _stoch("skipped", True, True, 7), 3: _stoch("failed", True, True, 9),
                4: _stoch("successful", True, False, 3)}, draws=10)
    [case] = worst_case(load_runs(tmp_path))
    # Example 4, also skipped by PWWS, stays in: the transfer broke it, and that is evidence.
    assert (case.n, case.left_out, case.examples, case.robust_examples) == (4, 1, (0, 2, 3, 4), (2, 3))
    assert case.robust_accuracy == pytest.approx(2 / 4)
