"""``robustsnn report site``: the static leaderboard site, from toy run records and toy
standard-v1 model cards with known numbers; and, in the system Chromium, the pages a person
would look at."""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from robustsnn.cli import main
from robustsnn.errors import UserError
from robustsnn.records.log import AttackLog
from robustsnn.reports.site import build_site, find_browser, highlight

SNN_SHA, CNN_SHA, MR_SHA = "b" * 64, "c" * 64, "d" * 64
SNN_CKPT = "sst2/snn-finetuned-none/best.pt"
ORIGINAL, CHANGED = "the film is good .", "the movie is good ."


def _write_run(root: Path, campaign: str, dataset: str, model: str, recipe: str, noise: str,
               rows: dict[int, dict], draws: int = 0, sha: str = CNN_SHA, checkpoint: str = "",
               rate: float = 0.1) -> None:
    """A run record and its log as the runner writes them (every field the site reads)."""
    stem = f"{dataset}__{model}__none__{recipe}__{noise}__shared-swap"
    log = AttackLog(root / campaign / f"{stem}.csv")
    for index, row in rows.items():
        changed = row.get("result") == "successful"
        full = {"index": index, "label": 1, "original_text": ORIGINAL,
                "perturbed_text": CHANGED if changed else ORIGINAL,
                "original_output": 1, "perturbed_output": 0 if changed else 1, "original_score": 0.25,
                "perturbed_score": 0.75 if changed else 0.3, "queries": 10 + index, "candidates_offered": 5,
                "candidates_kept": 3, "words_perturbed": int(changed), "num_words": 5, "seconds": 0.5, **row}
        log.append(full)
    threat = {"candidates": 15, "max_modification_rate": rate, "protocol": "shared-swap", "query_budget": 0,
              "similarity": 0.8, "stopwords": True}
    record = {
        "cell": {"dataset": dataset, "model": model, "defense": "none", "recipe": recipe, "noise": noise},
        "campaign": {"campaign": {"name": campaign, "seed": 0, "query_cache": True}, "threat": threat,
                     "examples": {"num_examples": len(rows), "selection": "first", "split": "test"}},
        "attack": {"recipe": recipe, "search_method": "GreedyWordSwapWIR(wir_method=weighted-saliency)",
                   "constraints": ["RepeatModification()", "StopwordModification()"]},
        "model": {"checkpoint": checkpoint or f"{dataset}/{model}/best.pt", "model_sha256": sha,
                  "dataset": dataset, "model": model, "encoding": None if noise == "none" else noise},
        "protocol": "shared-swap", "log": f"{stem}.csv", "verdict_draws": draws, "complete": True,
        "metrics": {"n": len(rows)},
        "examples_selected": len(rows), "git": "abc1234", "date": "2026-12-01T10:00:00+00:00",
        "command": f"robustsnn attack --model {model} --recipe {recipe}", "python": "3.11.7",
        "robustsnn": "0.1.0", "versions": {"torch": "2.13.0+cpu"}, "machine": {"cpus": 2},
    }
    (root / campaign / f"{stem}.json").write_text(json.dumps(record), encoding="utf-8")


def _det(result: str) -> dict:
    return {"result": result}


def _stoch(result: str, clean_ok: bool, final_ok: bool, final_votes: int, draws: int = 10) -> dict:
    return {"result": result, "verdict_draws": draws, "verdict_clean_votes": draws if clean_ok else 0,
            "verdict_final_votes": final_votes, "verdict_clean_correct": clean_ok, "verdict_final_correct": final_ok}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """SST-2: a TextCNN under two recipes, the SNN under PWWS in four encodings; MR: a
    TextCNN under PWWS at two modification rates. Plus Table 1, the energy table and a sweep."""
    root = tmp_path / "results"
    attacks = root / "attacks"
    _write_run(attacks, "c", "sst2", "textcnn", "pwws", "none",
               {0: _det("skipped"), 1: _det("successful"), 2: _det("failed"), 3: _det("failed")})
    _write_run(attacks, "c", "sst2", "textcnn", "textfooler", "none",
               {0: _det("skipped"), 1: _det("failed"), 2: _det("successful"), 3: _det("failed")})
    snn = {"sha": SNN_SHA, "checkpoint": SNN_CKPT}
    frozen = {0: _stoch("successful", True, False, 2), 1: _stoch("successful", True, True, 7),
              2: _stoch("failed", True, True, 9), 3: _stoch("failed", True, True, 10)}
    # Two changed words, one of them split in two, and text that must be escaped.
    frozen[1].update(original_text="a truly great cast <b>&", perturbed_text="a truly grea t ensemble <b>&")
    _write_run(attacks, "c", "sst2", "snn", "pwws", "frozen", frozen, draws=10, **snn)
    _write_run(attacks, "c", "sst2", "snn", "pwws", "fresh",
               {0: _stoch("failed", True, True, 8), 1: _stoch("failed", True, True, 6),
                2: _stoch("failed", False, False, 3), 3: _stoch("failed", True, True, 10)}, draws=10, **snn)
    _write_run(attacks, "c", "sst2", "snn", "pwws", "mean-20",
               {0: _stoch("successful", True, False, 3), 1: _stoch("successful", True, False, 4),
                2: _stoch("failed", True, True, 10), 3: _stoch("failed", True, True, 10)}, draws=10, **snn)
    _write_run(attacks, "c", "sst2", "snn", "pwws", "direct",
               {0: _det("failed"), 1: _det("successful"), 2: _det("failed"), 3: _det("failed")}, **snn)
    _write_run(attacks, "m1", "mr", "textcnn", "pwws", "none",
               {0: _det("failed"), 1: _det("successful"), 2: _det("failed")}, sha=MR_SHA, rate=0.1)
    _write_run(attacks, "m2", "mr", "textcnn", "pwws", "none",
               {0: _det("successful"), 1: _det("successful"), 2: _det("failed")}, sha=MR_SHA, rate=0.2)
    (root / "paper").mkdir()
    (root / "paper" / "accuracy.csv").write_text(
        "table,row,dataset,mean,std,deterministic,time_steps,checkpoint,model_sha256,status,note\n"
        "table1,Original TextCNN,sst2,0.8,0,True,,sst2/textcnn/best.pt,,ok,\n"
        f"table1,Conv SNN FT,sst2,0.81,0.004,False,50,{SNN_CKPT},{SNN_SHA},ok,\n"
        "table1,Conv SNN FT,mr,,,,,,,missing,missing mr/snn-finetuned-none/best.pt\n", encoding="utf-8")
    (root / "paper" / "energy.csv").write_text(
        "dataset,ann_kind,ann_accuracy,ann_energy_pj,snn_accuracy,snn_accuracy_std,time_steps,snn_energy_pj,"
        "energy_reduction,ann_checkpoint,snn_checkpoint\n"
        f"sst2,tailored,0.8,6000000,0.81,0.004,50,20000000,0.3,sst2/tailored/best.pt,{SNN_CKPT}\n",
        encoding="utf-8")
    (root / "sweeps").mkdir()
    (root / "sweeps" / "sst2-time_steps.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return root


def _build(results: Path, out: Path) -> dict:
    return build_site(results / "attacks", out, root=results)


# ------------------------------------------------------------------ the standard evaluation

BENCH = "benchmark/standard-v1-sst2"
PWWS_LOG = f"{BENCH}/sst2__textcnn__none__pwws__none__shared-swap.csv"
TF_LOG = f"{BENCH}/sst2__textcnn__none__textfooler__none__shared-swap.csv"
TAILORED_SHA, DIRECT_SHA, POISSON_SHA, SAFER_SHA, MR_CARD_SHA = "1" * 64, "2" * 64, "3" * 64, "4" * 64, "5" * 64


def _rate(value: float, n: int = 500) -> dict:
    return {"value": value, "ci95": [round(value - 0.04, 4), round(value + 0.04, 4)], "hits": round(value * n),
            "n": n}


def _attack(name: str, robust: float, log: str, kind: str = "score", n: int = 500) -> dict:
    return {"attack": name, "kind": kind, "noise": "none", "protocol": "shared-swap",
            "robust_accuracy": _rate(robust, n), "log": log}


def _card(name: str, dataset: str, robust: float, sha: str, flags=(), evaluation: str = "standard-v1",
          n: int = 500, clean: float = 0.8, attacks=None, passes: int = 1, form: str = "-") -> dict:
    """A model card with every field ``robustsnn benchmark`` writes."""
    attacks = attacks or [_attack("pwws", robust, f"benchmark/{evaluation}-{dataset}/{name}-pwws.csv", n=n)]
    best = min(attacks, key=lambda a: (a["robust_accuracy"]["hits"], a["attack"]))["attack"]
    randomized = any(f.startswith("randomized") for f in flags)
    return {
        "card_version": 1, "evaluation": evaluation, "name": name, "dataset": dataset, "model": name.split("+")[0],
        "defense": name.split("+")[1] if "+" in name else "none", "deployed_form": form,
        "architecture": {"model": name, "time_steps": 50 if randomized else None},
        "checkpoint": f"{dataset}/{name}/best.pt", "model_sha256": sha,
        "threat_model": {"protocol": "shared-swap", "max_modification_rate": 0.1, "candidates": 15},
        "examples": {"split": "test", "selection": "random", "seed": 0, "num_examples": n, "n": n,
                     "left_out_unattacked": 0},
        "clean_accuracy": _rate(clean, n), "worst_case_robust_accuracy": _rate(robust, n),
        "best_single_attack": best, "attacks": attacks, "verdict_draws": 100 if randomized else 0,
        "forward_passes_per_prediction": passes, "wall_seconds": 1234.5, "flags": list(flags),
        "provenance": {"robustsnn": "0.1.0", "git": "abc1234", "date": "2026-12-07T10:00:00+00:00",
                       "versions": {"torch": "2.13.0+cpu"}, "machine": {"cpus": 2}},
    }


SINGLE = "single-attack: hard-label alone reaches the worst case"
RANDOMIZED = "randomized: judged as deployed, by the majority over 100 fresh draws"
PARTIAL = "partial: 100 of the 500 examples of standard-v1; not comparable, never ranked"


@pytest.fixture
def standard(results: Path) -> Path:
    """``results`` plus a standard-v1 evaluation: the runs of the SST-2 TextCNN's card (two of
    its three logs; the third is not on the site) and a surrogate's run under
    benchmark/standard-v1-sst2/, and cards under benchmark/cards/standard-v1/: SST-2
    deterministic textcnn 20%, tailored 25%, snn-direct 28%; randomized snn 26%; a partial
    snn+safer 55% (never ranked); a card of another evaluation (ignored); MR textcnn 19%."""
    bench = results / "benchmark"
    _write_run(bench, "standard-v1-sst2", "sst2", "textcnn", "pwws", "none",
               {0: _det("successful"), 1: _det("failed"), 2: _det("failed"), 3: _det("skipped")})
    _write_run(bench, "standard-v1-sst2", "sst2", "textcnn", "textfooler", "none",
               {0: _det("failed"), 1: _det("successful"), 2: _det("failed"), 3: _det("skipped")})
    _write_run(bench, "standard-v1-sst2", "sst2", "tailored", "pwws", "none",
               {0: _det("failed"), 1: _det("failed"), 2: _det("failed"), 3: _det("failed")})
    cards = bench / "cards" / "standard-v1"
    cards.mkdir(parents=True)
    textcnn = _card("textcnn", "sst2", 0.20, CNN_SHA, flags=[SINGLE], clean=0.75, attacks=[
        _attack("pwws", 0.30, PWWS_LOG), _attack("textfooler", 0.35, TF_LOG),
        _attack("hard-label", 0.20, f"{BENCH}/gone.csv", kind="decision")])
    for card in [
        textcnn, _card("tailored", "sst2", 0.25, TAILORED_SHA, clean=0.79),
        _card("snn-direct", "sst2", 0.28, DIRECT_SHA, clean=0.81, passes=50, form="direct"),
        _card("snn", "sst2", 0.26, POISSON_SHA, flags=[RANDOMIZED], passes=5000, form="poisson"),
        _card("snn+safer", "sst2", 0.55, SAFER_SHA, flags=[RANDOMIZED, PARTIAL], n=100, form="poisson"),
        _card("textcnn", "mr", 0.19, MR_CARD_SHA),
    ]:
        (cards / f"{card['dataset']}__{card['name']}__{card['model_sha256'][:12]}.json").write_text(
            json.dumps(card, indent=2), encoding="utf-8")
    (cards / "sst2__old__0000.json").write_text(
        json.dumps(_card("old", "sst2", 0.90, "0" * 64, evaluation="standard-v0")), encoding="utf-8")
    return results


def _leaderboard(page: Path) -> dict[tuple[str, str], dict[str, list]]:
    """The index's leaderboards by (dataset, table)."""
    tables = _tables_of(page, "leaderboard")
    out = {}
    for key, table in tables.items():
        dataset, kind = key[len("leaderboard-"):].rsplit("-", 1)
        out[(dataset, kind)] = table
    return out


class _Tables(HTMLParser):
    """The text of every cell of the tables of one class, by table id, in document order."""

    def __init__(self, cls: str) -> None:
        super().__init__()
        self.cls = cls
        self.tables: dict[str, dict[str, list]] = {}
        self.current: dict[str, list] | None = None
        self.cell: list[str] | None = None
        self.row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "table" and self.cls in (a.get("class") or "").split():
            self.current = self.tables.setdefault(a["id"], {"headers": [], "rows": [], "cards": []})
        elif self.current is not None and tag == "tr":
            self.row = []
            if "data-card" in a:
                self.current["cards"].append(a["data-card"])
        elif self.current is not None and tag in ("td", "th"):
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.current is None:
            return
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            (self.current["headers"] if not self.current["headers"] else self.current["rows"]).append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None


def _tables_of(page: Path, cls: str) -> dict[str, dict[str, list]]:
    """Tables of class ``cls`` (leaderboard, pooled) in ``page``, by id."""
    parser = _Tables(cls)
    parser.feed(page.read_text(encoding="utf-8"))
    for table in parser.tables.values():
        table["headers"] = table["headers"][0]
    return parser.tables


def _pooled(page: Path) -> dict[str, dict[str, list]]:
    """The experiments' pooled per-model tables, by dataset."""
    return {key[len("pooled-"):]: table for key, table in _tables_of(page, "pooled").items()}


def _by_card(table: dict[str, list]) -> dict[str, dict[str, str]]:
    return {card: dict(zip(table["headers"], row)) for card, row in zip(table["cards"], table["rows"])}


def test_experiments_pool_one_row_per_model_defense_and_noise_with_the_expected_numbers(results, tmp_path):
    summary = _build(results, tmp_path / "site")
    assert (summary["runs"], summary["models"], summary["plots"], summary["cards"]) == (8, 6, 2, 0)
    tables = _pooled(tmp_path / "site" / "experiments.html")
    assert list(tables) == ["mr", "sst2"]  # the paper's dataset order
    sst2 = _by_card(tables["sst2"])
    assert set(sst2) == {"sst2__textcnn__none__none", "sst2__snn__none__frozen", "sst2__snn__none__fresh",
                         "sst2__snn__none__mean-20", "sst2__snn__none__direct"}
    cnn = sst2["sst2__textcnn__none__none"]
    # 0 is wrong when clean, 1 falls to PWWS, 2 to TextFooler: only 3 survives both.
    assert (cnn["N"], cnn["clean"], cnn["worst-case robust"], cnn["attacks"]) == ("4", "75.0", "25.0", "2")
    assert (cnn["pwws"], cnn["textfooler"], cnn["passes / query"]) == ("50.0", "50.0", "1")
    assert cnn["checkpoint"] == CNN_SHA[:12]
    # The Poisson modes attack one deployed model: one worst case, by the majority verdict
    # (frozen breaks 0, mean-20 breaks 1, the clean text of 2 is wrong in the fresh run).
    for noise, boa, passes in (("frozen", "50.0", "50"), ("fresh", "100.0", "50"), ("mean-20", "50.0", "1000")):
        row = sst2[f"sst2__snn__none__{noise}"]
        assert (row["N"], row["clean"], row["worst-case robust"], row["attacks"]) == ("4", "75.0", "25.0", "3")
        assert (row["pwws"], row["textfooler"], row["passes / query"]) == (boa, "-", passes)
        assert row["energy / inference (µJ)"] == "20.00"
    direct = sst2["sst2__snn__none__direct"]  # no input sampling: another deployed model
    assert (direct["clean"], direct["worst-case robust"], direct["pwws"]) == ("100.0", "75.0", "75.0")
    # Not a ranking: in name order, whatever the numbers.
    assert tables["sst2"]["cards"] == ["sst2__snn__none__direct", "sst2__snn__none__fresh", "sst2__snn__none__frozen",
                                       "sst2__snn__none__mean-20", "sst2__textcnn__none__none"]
    [mr] = _by_card(tables["mr"]).values()
    # The strongest of the two PWWS runs (rates 0.1 and 0.2) fills the column.
    assert (mr["N"], mr["clean"], mr["worst-case robust"], mr["pwws"]) == ("3", "100.0", "33.3", "33.3")
    experiments = (tmp_path / "site" / "experiments.html").read_text(encoding="utf-8")
    assert "from 8 run records" in experiments
    assert 'href="runs/c/sst2__snn__none__pwws__frozen__shared-swap.html"' in experiments
    assert f'title="{SNN_SHA} ({SNN_CKPT})"' in experiments
    assert "<h1 id=\"experiments\">Experiments (not ranked)</h1>" in experiments and "Not a ranking." in experiments
    # Without any card the index ranks nothing, says so in one line and shows the experiments.
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    [line] = [x for x in index.splitlines() if "No standard-v1 model cards" in x]
    assert "nothing is ranked yet" in line and "robustsnn benchmark" in line
    assert _tables_of(tmp_path / "site" / "index.html", "leaderboard") == {}
    assert _pooled(tmp_path / "site" / "index.html") == tables
    assert "<h2 id=\"experiments\">Experiments (not ranked)</h2>" in index
    for png in ("plots/k__sst2__pwws__shared-swap.png", "plots/max_modification_rate__mr__pwws__shared-swap.png"):
        assert (tmp_path / "site" / png).read_bytes().startswith(b"\x89PNG")


def test_tables_page_holds_table2_table1_energy_and_the_sweeps(results, tmp_path):
    _build(results, tmp_path / "site")
    tables = (tmp_path / "site" / "tables.html").read_text(encoding="utf-8")
    assert tables.count('<a href="runs/') == 8  # one Table 2 row per run, linked to its page
    for text in ("Cln_R", "Boa_R", "Suc_R", "Table 1: test accuracy", "81.00 ± 0.40", "80.00 (det.)",
                 "Energy (Table 5)", 'src="sweeps/sst2-time_steps.png"', "k-curve"):
        assert text in tables, text
    assert (tmp_path / "site" / "sweeps" / "sst2-time_steps.png").read_bytes() == \
        (results / "sweeps" / "sst2-time_steps.png").read_bytes()


def test_run_page_marks_exactly_the_changed_words(results, tmp_path):
    _build(results, tmp_path / "site")
    page = (tmp_path / "site" / "runs" / "c" / "sst2__snn__none__pwws__frozen__shared-swap.html").read_text(
        encoding="utf-8")
    assert re.findall(r"<mark>(.*?)</mark>", page) == ["film", "movie", "great", "cast", "grea", "t", "ensemble"]
    assert "the <mark>film</mark> is good ." in page and "the <mark>movie</mark> is good ." in page
    assert "&lt;b&gt;&amp;" in page and "<b>&" not in page  # texts are escaped
    assert "10/10 &rarr; 2/10" in page  # example 0's verdict votes: clean, then final
    for text in ("max_modification_rate", "GreedyWordSwapWIR", "abc1234", "2026-12-01T10:00:00+00:00",
                 "robustsnn attack --model snn --recipe pwws", 'href="../../models/sst2__snn__none__frozen.json"'):
        assert text in page, text


def test_highlight_aligns_words_and_keeps_chinese_characters_together():
    assert highlight("a b c", "a x c") == ("a <mark>b</mark> c", "a <mark>x</mark> c")
    assert highlight("a  b", "a  b") == ("a  b", "a  b")  # whitespace kept as it was
    assert highlight("这个很好", "这个最差") == ("这个<mark>很好</mark>", "这个<mark>最差</mark>")


def test_model_cards_hold_what_the_index_shows(results, tmp_path):
    _build(results, tmp_path / "site")
    card = json.loads((tmp_path / "site" / "models" / "sst2__snn__none__mean-20.json").read_text(encoding="utf-8"))
    assert {k: card[k] for k in ("kind", "dataset", "model", "defense", "noise", "checkpoint", "model_sha256",
                                 "clean_accuracy", "worst_case_robust_accuracy", "draws_per_query", "time_steps",
                                 "forward_passes_per_query", "energy_pj_per_inference")} == {
        "kind": "snn", "dataset": "sst2", "model": "snn", "defense": "none", "noise": "mean-20",
        "checkpoint": SNN_CKPT, "model_sha256": SNN_SHA, "clean_accuracy": 0.75,
        "worst_case_robust_accuracy": 0.25, "draws_per_query": 20, "time_steps": 50,
        "forward_passes_per_query": 1000, "energy_pj_per_inference": 2e7}
    [attack] = card["attacks"]
    assert (attack["recipe"], attack["n"], attack["accuracy_under_attack"]) == ("pwws", 4, 0.5)
    assert attack["verdict_accuracy_under_attack"] == 0.5  # 0 and 1 flipped by the majority
    assert card["run_pages"] == ["runs/c/sst2__snn__none__pwws__mean-20__shared-swap.html"]
    cnn = json.loads((tmp_path / "site" / "models" / "mr__textcnn__none__none.json").read_text(encoding="utf-8"))
    assert (cnn["kind"], cnn["forward_passes_per_query"], cnn["energy_pj_per_inference"]) == ("ann", 1, None)
    assert [a["threat"]["max_modification_rate"] for a in cnn["attacks"]] == [0.1, 0.2]


def test_the_index_ranks_only_full_standard_v1_cards_and_keeps_randomized_apart(standard, tmp_path):
    summary = _build(standard, tmp_path / "site")
    # 6 standard-v1 cards (the standard-v0 one ignored), 5 of them ranked; 8 experiments + 3 standard runs.
    assert (summary["cards"], summary["ranked"], summary["runs"], summary["models"]) == (6, 5, 11, 6)
    site = tmp_path / "site"
    boards = _leaderboard(site / "index.html")
    assert list(boards) == [("mr", "deterministic"), ("sst2", "deterministic"), ("sst2", "randomized")]
    sha = {"textcnn": CNN_SHA, "tailored": TAILORED_SHA, "snn-direct": DIRECT_SHA, "snn": POISSON_SHA}
    det = boards[("sst2", "deterministic")]
    assert det["cards"] == [f"sst2__{m}__{sha[m][:12]}" for m in ("snn-direct", "tailored", "textcnn")]
    assert [r[:2] for r in det["rows"]] == [["1", "snn-direct"], ["2", "tailored"], ["3", "textcnn"]]
    assert det["headers"] == ["#", "model", "checkpoint", "worst-case robust", "clean", "N", "attacks",
                              "best single attack", "passes / prediction", "flags", "card"]
    cnn = _by_card(det)[f"sst2__textcnn__{CNN_SHA[:12]}"]
    assert cnn == {"#": "3", "model": "textcnn", "checkpoint": CNN_SHA[:12], "worst-case robust": "20.0 [16.0, 24.0]",
                   "clean": "75.0 [71.0, 79.0]", "N": "500", "attacks": "3", "best single attack": "hard-label",
                   "passes / prediction": "1", "flags": "single-attack", "card": "card json"}
    direct = _by_card(det)[f"sst2__snn-direct__{DIRECT_SHA[:12]}"]
    assert (direct["worst-case robust"], direct["passes / prediction"], direct["flags"]) == ("28.0 [24.0, 32.0]",
                                                                                               "50", "-")
    [(stem, snn)] = _by_card(boards[("sst2", "randomized")]).items()  # the partial SAFER card is not ranked
    assert stem == f"sst2__snn__{POISSON_SHA[:12]}"
    assert (snn["#"], snn["worst-case robust"], snn["passes / prediction"], snn["flags"]) == (
        "1", "26.0 [22.0, 30.0]", "5000", "randomized")
    [(stem, mr)] = _by_card(boards[("mr", "deterministic")]).items()
    assert (stem, mr["#"], mr["worst-case robust"]) == (f"mr__textcnn__{MR_CARD_SHA[:12]}", "1", "19.0 [15.0, 23.0]")
    index = (site / "index.html").read_text(encoding="utf-8")
    # Flags: short names, the full text on hover.
    assert f'<span title="{SINGLE}">single-attack</span>' in index
    assert f'<span title="{RANDOMIZED}">randomized</span>' in index
    # The partial card: listed with a link to its page, in no table.
    assert (f'Not ranked (partial evaluations): <a href="cards/sst2__snn_safer__{SAFER_SHA[:12]}.html">snn+safer</a> '
            "(N = 100)") in index
    assert "55.0" not in index
    # The card of another evaluation: ignored, no page, no copy.
    assert "90.0" not in index and not list(site.glob("cards/*old*"))
    assert index.count("No randomized model with a full standard-v1 card.") == 1  # MR's
    # The pooled experiments are not on the index when it has a leaderboard, but a link says where they are.
    assert _pooled(site / "index.html") == {} and 'href="experiments.html"' in index
    assert "different attacks on different examples and are not a ranking" in index


def test_the_experiments_keep_the_standard_runs_out_of_their_pooled_rows(standard, tmp_path):
    _build(standard, tmp_path / "site")
    site = tmp_path / "site"
    pooled = _by_card(_pooled(site / "experiments.html")["sst2"])
    # The standard runs attack the same TextCNN checkpoint, but the pooled row is as without them.
    cnn = pooled["sst2__textcnn__none__none"]
    assert (cnn["N"], cnn["clean"], cnn["worst-case robust"], cnn["attacks"]) == ("4", "75.0", "25.0", "2")
    assert "sst2__tailored__none__none" not in pooled
    # They have run pages and Table 2 rows.
    tables = (site / "tables.html").read_text(encoding="utf-8")
    assert tables.count('<a href="runs/') == 11 and tables.count('<a href="runs/standard-v1-sst2/') == 3
    assert "Experiments, not a ranking." in tables
    for page in ("experiments.html", "tables.html", "index.html"):  # in every page's navigation
        assert re.search(r'<nav>.*<a href="experiments.html"[^>]*>Experiments \(not ranked\)</a>',
                         (site / page).read_text(encoding="utf-8"))


def test_a_card_page_holds_the_card_and_links_the_runs_on_the_site(standard, tmp_path):
    _build(standard, tmp_path / "site")
    site = tmp_path / "site"
    stem = f"sst2__textcnn__{CNN_SHA[:12]}"
    source = standard / "benchmark" / "cards" / "standard-v1" / f"{stem}.json"
    assert (site / "cards" / f"{stem}.json").read_bytes() == source.read_bytes()
    page = (site / "cards" / f"{stem}.html").read_text(encoding="utf-8")
    [attacks] = _tables_of(site / "cards" / f"{stem}.html", "sortable").values()
    # Sorted by robust accuracy, strongest attack first, each with its interval and its run.
    assert [r[0] for r in attacks["rows"]] == ["hard-label", "pwws", "textfooler"]
    assert [r[4:6] for r in attacks["rows"]] == [["20.0 [16.0, 24.0]", "100 / 500"], ["30.0 [26.0, 34.0]", "150 / 500"],
                                                 ["35.0 [31.0, 39.0]", "175 / 500"]]
    pwws_page = "runs/standard-v1-sst2/sst2__textcnn__none__pwws__none__shared-swap.html"
    assert attacks["rows"][1][6] == pwws_page and f'href="../{pwws_page}"' in page
    assert (site / pwws_page).is_file()
    assert attacks["rows"][0][6] == f"{BENCH}/gone.csv"  # not on the site: the log, no link
    assert f'href="../{BENCH}/gone' not in page
    for text in ("rank 3 of the deterministic models on SST-2", "<b>20.0 [16.0, 24.0]</b> (100 of 500, 95% Wilson",
                 "<li><b>single-attack</b>: hard-label alone reaches the worst case</li>", "abc1234",
                 "2026-12-07T10:00:00+00:00", "max_modification_rate", "1234.5", CNN_SHA, "sst2/textcnn/best.pt",
                 f'href="../cards/{stem}.json"'):
        assert text in page, text
    # The run page of a counted run links its card back; a surrogate's own run says it is on no card.
    run = (site / pwws_page).read_text(encoding="utf-8")
    assert f'href="../../cards/{stem}.html">textcnn on sst2 ({CNN_SHA[:12]})</a>' in run
    assert "model card (pooled)" not in run
    surrogate = (site / "runs/standard-v1-sst2/sst2__tailored__none__pwws__none__shared-swap.html").read_text(
        encoding="utf-8")
    assert "no model card on this site" in surrogate
    partial = (site / "cards" / f"sst2__snn_safer__{SAFER_SHA[:12]}.html").read_text(encoding="utf-8")
    assert "not ranked (partial evaluation)" in partial and "<li><b>partial</b>: 100 of the 500" in partial


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_rebuild_gives_the_same_bytes_and_drops_stale_pages(standard, tmp_path):
    results = standard
    _build(results, tmp_path / "one")
    _build(results, tmp_path / "two")
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert one.keys() == two.keys() and len(one) > 10
    assert [name for name in one if one[name] != two[name]] == []
    # A record removed since: its page goes; a file the site did not write stays.
    (tmp_path / "one" / "notes.txt").write_text("mine", encoding="utf-8")
    for suffix in (".json", ".csv"):
        (results / "attacks" / "c" / f"sst2__textcnn__none__textfooler__none__shared-swap{suffix}").unlink()
    card = f"sst2__tailored__{TAILORED_SHA[:12]}"
    assert (tmp_path / "one" / "cards" / f"{card}.html").is_file()
    (results / "benchmark" / "cards" / "standard-v1" / f"{card}.json").unlink()
    _build(results, tmp_path / "one")
    assert not (tmp_path / "one" / "runs" / "c" / "sst2__textcnn__none__textfooler__none__shared-swap.html").exists()
    assert not (tmp_path / "one" / "cards" / f"{card}.html").exists()
    assert not (tmp_path / "one" / "cards" / f"{card}.json").exists()
    assert (tmp_path / "one" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_missing_or_empty_results_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(UserError, match="no attack results under"):
        build_site(tmp_path / "nowhere", tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no run records"):
        build_site(tmp_path / "empty", tmp_path / "site")
    assert main(["report", "site", "--results", str(tmp_path / "empty"), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robustsnn: error: no run records") and err.count("\n") == 1
    assert not (tmp_path / "site").exists()


def test_cli_defaults_to_the_results_root(results, monkeypatch, capsys):
    monkeypatch.setenv("ROBUSTSNN_RESULTS", str(results))
    assert main(["report", "site"]) == 0
    assert "from 8 run records" in capsys.readouterr().out
    assert (results / "site" / "index.html").is_file() and (results / "site" / "models").is_dir()


def test_screenshot_without_a_browser_is_a_one_line_error(results, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("robustsnn.reports.site_browser.find_browser", lambda: None)
    assert main(["report", "site", "--results", str(results / "attacks"), "--out", str(tmp_path / "site"),
                 "--screenshot", str(tmp_path / "shot.png")]) == 2
    err = capsys.readouterr().err
    assert "--screenshot: no Chromium found" in err and err.count("\n") == 1
    assert not (tmp_path / "site").exists()  # refused before anything was written


# ------------------------------------------------------------------ in the browser


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    return struct.unpack(">II", data[16:24])


def _need_browser():
    """Skip, saying why, where no browser can be driven; the playwright module otherwise."""
    if find_browser() is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it)")
    return pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install -e '.[dev]'")


@pytest.fixture
def chromium():
    """The system Chromium, driven by playwright (its own browser downloads are not used).
    Per test: playwright's sync API runs one driver per thread at a time, and
    ``report site --screenshot`` starts its own."""
    sync_api = _need_browser()
    executable = find_browser()
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable)
        try:
            yield browser
        finally:
            browser.close()


def _order(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} tbody tr", "rows => rows.map(r => r.dataset.card)")


def test_the_site_works_in_a_browser(chromium, standard, tmp_path):
    _build(standard, tmp_path / "site")
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto((tmp_path / "site" / "index.html").as_uri())

    # The leaderboard: ranked by worst-case robust accuracy, randomized models apart.
    det = "table.leaderboard[data-dataset='sst2'][data-table='deterministic']"
    ranked = [f"sst2__snn-direct__{DIRECT_SHA[:12]}", f"sst2__tailored__{TAILORED_SHA[:12]}",
              f"sst2__textcnn__{CNN_SHA[:12]}"]
    assert _order(page, det) == ranked
    assert _order(page, "table.leaderboard[data-dataset='sst2'][data-table='randomized']") == [
        f"sst2__snn__{POISSON_SHA[:12]}"]
    assert _order(page, "table.leaderboard[data-dataset='mr']") == [f"mr__textcnn__{MR_CARD_SHA[:12]}"]
    table = page.locator(det)
    clean = table.locator("thead th", has_text="clean")
    clean.click()  # by the value, not the text with its interval: 75 < 79 < 81
    assert clean.get_attribute("aria-sort") == "ascending"
    assert _order(page, det) == ranked[::-1]
    flag = table.locator("td.flags span", has_text="single-attack")
    assert flag.get_attribute("title") == SINGLE and flag.is_visible()
    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    width, height = _png_size(shot)
    assert width == 1400 and height > 300

    # A card page, reached from its row; its attacks sorted by robust accuracy, each run linked.
    table.locator(f"tbody tr[data-card='{ranked[2]}'] a", has_text="textcnn").click()
    page.wait_for_url(f"**/cards/{ranked[2]}.html")
    assert page.inner_text("h1") == "standard-v1: textcnn on SST-2"
    attacks = page.locator("#attacks tbody tr td:first-child")
    assert attacks.all_inner_texts() == ["hard-label", "pwws", "textfooler"]
    page.locator("#attacks thead th", has_text="robust accuracy").click()
    page.locator("#attacks thead th", has_text="robust accuracy").click()  # descending: the weakest first
    assert attacks.all_inner_texts() == ["textfooler", "pwws", "hard-label"]
    page.locator("#attacks a", has_text="sst2__textcnn__none__pwws").click()
    page.wait_for_url("**/runs/standard-v1-sst2/sst2__textcnn__none__pwws__none__shared-swap.html")
    assert page.locator("#examples tbody tr").count() == 4
    page.locator("a", has_text=f"textcnn on sst2 ({CNN_SHA[:12]})").click()  # and back to the card
    page.wait_for_url(f"**/cards/{ranked[2]}.html")

    # The experiments: the pooled table, not ranked, in name order; numeric sorting.
    page.locator("nav a", has_text="Experiments (not ranked)").click()
    page.wait_for_url("**/experiments.html")
    assert "Not a ranking." in page.inner_text("p.not-ranked")
    pooled = "table.pooled[data-dataset='sst2']"
    assert _order(page, pooled) == ["sst2__snn__none__direct", "sst2__snn__none__fresh", "sst2__snn__none__frozen",
                                    "sst2__snn__none__mean-20", "sst2__textcnn__none__none"]
    assert _order(page, "table.pooled[data-dataset='mr']") == ["mr__textcnn__none__none"]
    table = page.locator(pooled)
    # Numeric, not text, order: 1 < 50 < 1000; ties keep their order.
    passes = table.locator("thead th", has_text="passes / query")
    passes.click()
    assert passes.get_attribute("aria-sort") == "ascending"
    assert _order(page, pooled) == ["sst2__textcnn__none__none", "sst2__snn__none__direct", "sst2__snn__none__fresh",
                                    "sst2__snn__none__frozen", "sst2__snn__none__mean-20"]
    passes.click()
    assert passes.get_attribute("aria-sort") == "descending"
    assert _order(page, pooled)[0] == "sst2__snn__none__mean-20"
    assert _order(page, pooled)[-1] == "sst2__textcnn__none__none"
    pwws = table.locator("thead th", has_text="pwws")
    pwws.click()
    assert passes.get_attribute("aria-sort") is None and pwws.get_attribute("aria-sort") == "ascending"
    assert _order(page, pooled)[-2:] == ["sst2__snn__none__direct", "sst2__snn__none__fresh"]  # 75.0, 100.0

    # A run page, reached by its link: the substitutions marked, the search filtering rows.
    page.goto((tmp_path / "site" / "experiments.html").as_uri())
    table.locator("tbody tr[data-card='sst2__snn__none__frozen'] a", has_text="50.0").click()
    page.wait_for_url("**/sst2__snn__none__pwws__frozen__shared-swap.html")
    marks = page.locator("#examples mark")
    assert marks.all_inner_texts() == ["film", "movie", "great", "cast", "grea", "t", "ensemble"]
    assert marks.first.is_visible()
    rows = page.locator("#examples tbody tr")
    assert rows.count() == 4
    page.fill("#example-search", "ensemble")
    assert [r.is_visible() for r in rows.all()] == [False, True, False, False]
    assert page.inner_text("#example-count") == "1 of 4 examples shown"
    page.fill("#example-search", "")
    page.select_option("#example-result", "failed")
    assert page.inner_text("#example-count") == "2 of 4 examples shown"
    assert problems == []


def test_report_site_screenshot_saves_a_png(results, tmp_path, capsys):
    _need_browser()
    shot = tmp_path / "shots" / "index.png"
    assert main(["report", "site", "--results", str(results / "attacks"), "--root", str(results),
                 "--out", str(tmp_path / "site"), "--screenshot", str(shot)]) == 0
    assert f"wrote {shot}" in capsys.readouterr().out
    width, height = _png_size(shot)
    assert width == 1800 and height > 300


def test_the_committed_records_build_a_site_with_a_page_per_run(tmp_path):
    """The site is generated, never committed (results/site is git-ignored; `make site`
    builds it): every committed run record must still build, with its own run page."""
    from robustsnn.records.find import find_records

    results = Path(__file__).resolve().parents[1] / "results"
    folders = [results / "attacks"]
    if (results / "benchmark").is_dir() and any((results / "benchmark").rglob("*.json")):
        folders.append(results / "benchmark")  # the standard evaluation's runs: the site scans them too
    records = find_records(folders)
    site = tmp_path / "site"
    build_site([results / "attacks"], site, root=results)
    pages = list((site / "runs").rglob("*.html"))
    assert len(pages) == len(records) > 200
    experiments = (site / "experiments.html").read_text(encoding="utf-8")
    for dataset in ("SST-2", "MR", "Subj", "SST-5"):
        assert dataset in experiments
