"""The SNN-against-TextCNN comparison under Table 2: the paper's claim per cell, paired
over the same examples, with known answers."""

from __future__ import annotations

import json

import pytest

from conftest import run_record_dict
from robustsnn.analysis.compare import ROBUST_BY_INDEX, compare, render_comparison
from robustsnn.records.log import AttackLog
from robustsnn.stats import mcnemar_exact


def outcomes(both, only_snn, only_base, neither):
    """Per-example robustness {index: robust} for the SNN and the TextCNN with these counts."""
    snn = [True] * both + [True] * only_snn + [False] * only_base + [False] * neither
    base = [True] * both + [False] * only_snn + [True] * only_base + [False] * neither
    return dict(enumerate(snn)), dict(enumerate(base))


def row(model, noise, robust, suc, recipe="pwws", dataset="sst2", complete=True, **extra):
    """A Table 2 row whose Boa is its robust share."""
    return {"campaign": "c", "dataset": dataset, "recipe": recipe, "defense": "none", "protocol": "shared-swap",
            "query_cache": True, "model": model, "noise": noise,
            "accuracy_under_attack": sum(robust.values()) / len(robust), "attack_success_rate": suc,
            "complete": complete, ROBUST_BY_INDEX: robust, **extra}


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_significant_gap_in_every_mode_holds_and_noise_does_not():
    # fresh: 50 both / 12 only SNN / 3 only TextCNN / 35 neither: p = 2 * 576 / 2^15.
    fresh, base = outcomes(50, 12, 3, 35)
    rows = [row("textcnn", "none", base, 0.60), row("snn", "fresh", fresh, 0.40)]
    found, modes = compare(rows)
    [c] = found
    assert modes == ["fresh"]
    p = c["paired"]["fresh"]
    assert (p.n, p.b, p.c) == (100, 12, 3)
    assert p.p_value == 2 * (1 + 15 + 105 + 455) / 2 ** 15 == 0.03515625
    assert c["verdict"] == "yes" and c["holds"] and c["holds_point"]

    # Against one TextCNN, fresh significantly ahead (20 / 0) and frozen within noise
    # (16 / 6 on 161 examples: p = 0.052479): the claim is not shown in this cell.
    frozen, base = outcomes(59, 16, 6, 80)
    fresh = {i: ok or 81 <= i < 101 for i, ok in base.items()}  # the TextCNN's robust ones and 20 more
    rows = [row("textcnn", "none", base, 0.60), row("snn", "fresh", fresh, 0.40),
            row("snn", "frozen", frozen, 0.40)]
    [c] = compare(rows)[0]
    assert (c["paired"]["fresh"].b, c["paired"]["fresh"].c) == (20, 0) and c["paired"]["fresh"].significant
    assert c["paired"]["frozen"].p_value == pytest.approx(0.052479, abs=5e-7) == mcnemar_exact(16, 6)
    assert c["verdict"] == "within noise" and not c["holds"] and c["holds_point"]


def test_textcnn_significantly_ahead_refutes_and_suc_is_still_checked():
    snn, base = outcomes(40, 2, 14, 44)  # TextCNN ahead by 12 points, p = 2 * (1 + 16 + 120) / 2^16
    [c] = compare([row("textcnn", "none", base, 0.5), row("snn", "fresh", snn, 0.6)])[0]
    assert c["paired"]["fresh"].p_value == 2 * (1 + 16 + 120) / 2 ** 16
    assert c["verdict"] == "no" and not c["holds"]
    snn, base = outcomes(50, 12, 3, 35)  # Boa significantly ahead, Suc not lower
    [c] = compare([row("textcnn", "none", base, 0.5), row("snn", "fresh", snn, 0.55)])[0]
    assert c["verdict"] == "no (Suc)" and not c["holds"] and not c["holds_point"]


def test_pairs_only_the_examples_both_runs_attacked():
    snn, base = outcomes(50, 12, 3, 35)
    base = {i + 10: ok for i, ok in base.items() if i + 10 < 100}  # shifted: 10..99 of the SNN's 0..99
    base.update({100 + i: True for i in range(10)})  # examples the SNN run never attacked
    [c] = compare([row("textcnn", "none", base, 0.5), row("snn", "fresh", snn, 0.4)])[0]
    p = c["paired"]["fresh"]
    assert p.n == 90  # indices 10..99
    common = range(10, 100)
    assert p.b == sum(snn[i] and not base[i] for i in common)
    assert p.c == sum(base[i] and not snn[i] for i in common)


def test_rows_without_outcomes_are_unpaired_not_counted():
    r = row("snn", "fresh", {0: True}, 0.4)
    del r[ROBUST_BY_INDEX]
    [c] = compare([row("textcnn", "none", {0: False}, 0.5), r])[0]
    assert c["verdict"] == "unpaired" and not c["holds"] and c["holds_point"]


def test_render_states_the_rule_and_tallies_only_significant_verdicts():
    sig_snn, sig_base = outcomes(50, 12, 3, 35)  # p = 0.035: holds
    noisy_snn, noisy_base = outcomes(59, 16, 6, 80)  # p = 0.052: within noise
    rows = [
        row("textcnn", "none", sig_base, 0.60), row("snn", "fresh", sig_snn, 0.40),
        row("textcnn", "none", noisy_base, 0.60, recipe="textfooler"),
        row("snn", "fresh", noisy_snn, 0.40, recipe="textfooler", complete=False),
        row("textcnn", "none", {0: True}, 0.1, dataset="mr"),  # no SNN row: not compared
        row("snn-converted", "fresh", {0: True}, 0.1, dataset="mr"),  # not the model the claim is about
    ]
    md = render_comparison(rows)
    assert "p < 0.05" in md and "The tally counts only significant verdicts" in md
    assert "single-draw" in md and "not the R-draw verdict" in md
    main = [cells(line) for line in md.splitlines() if line.startswith("| c ")]
    pwws, textfooler = main[0], main[1]  # main table first, then the per-mode table
    assert pwws == ["c", "sst2", "pwws", "none", "53.0 / 60.0", "62.0 / 40.0", "62.0 (fresh)",
                    "+9.0 [+1.4, +16.4]", "0.035", "yes"]
    assert textfooler[7:] == ["+6.2 [+0.5, +11.9]", "0.052", "within noise*"]
    assert "- c, sst2: holds for 1 of 2 recipes (within noise for 1; the TextCNN significantly ahead " \
           "for 0; by point estimates alone 2 of 2)" in md
    detail = [cells(line) for line in md.splitlines() if line.startswith("| c ")][2:]
    assert detail[0] == ["c", "sst2", "pwws", "none", "fresh", "100", "62.0", "53.0", "+9.0 [+1.4, +16.4]",
                         "12 / 3", "0.035", "SNN ahead", "-", "-", "-", "-"]  # no R-draw outcomes in these rows
    assert detail[1][5:12] == ["161", "46.6", "40.4", "+6.2 [+0.5, +11.9]", "16 / 6", "0.052", "within noise"]
    assert render_comparison([row("textcnn", "none", {0: True}, 0.7)]) == ""


# ------------------------------------------------------------------ from toy logs


def _write_run(folder, model, noise, results, recipe="pwws", verdicts=None, draws=0):
    """A run record and its log: ``results`` = the single-draw result per example index;
    ``verdicts`` = (clean correct, final correct) per index for a stochastic run."""
    stem = f"sst2__{model}__none__{recipe}__{noise}__shared-swap"
    log = AttackLog(folder / "c" / f"{stem}.csv")
    for index, result in enumerate(results):
        final = "a changed text" if result == "successful" else "a text"
        full = {"index": index, "label": 1, "result": result, "original_text": "a text", "perturbed_text": final,
                "queries": 3, "candidates_offered": 5, "candidates_kept": 5, "words_perturbed": 1,
                "num_words": 10, "seconds": 0.1}
        if verdicts is not None:
            clean_ok, final_ok = verdicts[index]
            full.update({"verdict_draws": draws, "verdict_clean_votes": draws if clean_ok else 0,
                         "verdict_final_votes": draws if final_ok else 0, "verdict_clean_correct": clean_ok,
                         "verdict_final_correct": final_ok})
        log.append(full)
    record = run_record_dict(model=model, recipe=recipe, noise=noise, campaign="c", log=f"{stem}.csv",
                             verdict_draws=draws, examples_selected=len(results))
    (folder / "c" / f"{stem}.json").write_text(json.dumps(record))


def _results(robust_snn, robust_base):
    """Single-draw results from robust flags: robust = failed; not robust = successful."""
    return (["failed" if ok else "successful" for ok in robust_snn],
            ["failed" if ok else "successful" for ok in robust_base])


def test_table2_pairs_the_logs_by_single_draw_outcome(tmp_path):
    from robustsnn.analysis.table import write_table

    snn, base = outcomes(50, 12, 3, 35)
    snn_results, base_results = _results([snn[i] for i in range(100)], [base[i] for i in range(100)])
    # The SNN's 100-draw verdict disagrees with its single draw on purpose (right on every
    # final text): the pairing must use the single draw, the outcome Boa counts.
    _write_run(tmp_path, "snn", "fresh", snn_results, verdicts=[(True, True)] * 100, draws=10)
    _write_run(tmp_path, "textcnn", "none", base_results)
    snn, base = outcomes(59, 16, 6, 80)
    snn_results, base_results = _results([snn[i] for i in range(161)], [base[i] for i in range(161)])
    _write_run(tmp_path, "snn", "fresh", snn_results, recipe="textfooler", verdicts=[(True, True)] * 161, draws=10)
    _write_run(tmp_path, "textcnn", "none", base_results, recipe="textfooler")
    rows = write_table(tmp_path, tmp_path / "t.csv", tmp_path / "t.md")
    by = {(r["model"], r["recipe"]): r for r in rows}
    assert by[("snn", "pwws")]["accuracy_under_attack"] == 0.62
    assert by[("snn", "pwws")]["verdict_accuracy_under_attack"] == 1.0
    md = (tmp_path / "t.md").read_text()
    assert "| 12 / 3 " in md and "| 16 / 6 " in md
    assert "- c, sst2: holds for 1 of 2 recipes (within noise for 1;" in md
    found, _ = compare(rows)
    verdicts = {c["recipe"]: (c["verdict"], c["paired"]["fresh"].p_value) for c in found}
    assert verdicts == {"pwws": ("yes", 0.03515625), "textfooler": ("within noise", mcnemar_exact(16, 6))}
    # Beside it, the R-draw verdict (right everywhere) against the TextCNN's one answer:
    # the SNN alone keeps the 47 examples the TextCNN loses, p = 2 / 2^47.
    r = next(c for c in found if c["recipe"] == "pwws")["paired_verdict"]["fresh"]
    assert (r.n, r.a_rate, r.b_rate, r.b, r.c, r.p_value) == (100, 1.0, 0.53, 47, 0, 2.0 ** -46)
    pwws_line = next(line for line in md.splitlines() if line.startswith("| c ") and "| 12 / 3 " in line)
    assert cells(pwws_line)[-4:-2] == ["100.0", "+47.0 [+36.8, +56.7]"] and cells(pwws_line)[-2:] == [
        "< 0.001", "SNN ahead"]
