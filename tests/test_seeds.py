"""Training seeds on the leaderboard and in ``robustsnn report seeds``: toy cards built from
toy logs (10 examples, 3 seeds) whose worst cases, paired differences, spreads and
verdicts are known by hand; the Student t quantile behind the verdict."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import pytest

from robustsnn.errors import UserError
from robustsnn.evaluation.plan import Target, plan, target_of
from test_benchmark import TINY, _write_toy_run

EVALUATION = dataclasses.replace(TINY, num_examples=10)
MODEL_OF = {"textcnn": ("textcnn", "-"), "tailored": ("tailored", "-"), "snn-direct": ("snn", "direct")}
# Per model and seed, the examples no attack breaks (every clean text is right): the worst
# case is their share of the 10 examples.
ROBUST = {
    "textcnn": {0: {0, 1}, 1: {0, 1, 2}, 2: {0, 1, 2, 3}},  # 0.2, 0.3, 0.4: mean 0.3, sd 0.1
    "tailored": {0: {0, 1, 2}, 1: {0, 1, 2, 3}, 2: {0, 1}},  # 0.3, 0.4, 0.2: mean 0.3, sd 0.1
    "snn-direct": {0: {0, 1, 2, 3, 4}, 1: {0, 1, 2, 3, 4, 5}, 2: {0, 1, 2}},  # 0.5, 0.6, 0.3
}
T_975_2 = 4.302652729749752  # Student t, 0.975 quantile, 2 degrees of freedom


def _sha(name: str, seed: int) -> str:
    return f"{'abc'[list(MODEL_OF).index(name)]}{seed}".ljust(64, "0")


def _target(name: str, seed: int, runs: Path) -> Target:
    model, form = MODEL_OF[name]
    if seed == 0:
        return target_of(model, "sst2", noise=None if form == "-" else form)
    # Another seed's world, as target_of(..., seed=s) makes it (the files are not needed here).
    return Target("sst2", model, "none", form, runs / f"seed-{seed}" / model / "best.pt", seed)


def write_toy_cards(root: Path, runs: Path, seeds=(0, 1, 2), legacy_seed_0=True) -> Path:
    """One card per model and seed under ``root``, built by card.py from toy runs; seed 0's
    cards without ``training_seed`` (as written before the field) when ``legacy_seed_0``."""
    from robustsnn.evaluation.card import build_card, card_path
    from robustsnn.io_utils import atomic_write_json

    for seed in seeds:
        for name in ROBUST:
            target = _target(name, seed, runs)
            surrogates = {s: runs / f"seed-{seed}" / s / "best.pt" for s in ("textcnn", "tailored")} if seed else None
            steps = plan(EVALUATION, target, checkpoints=surrogates)
            fooled = set(range(10)) - ROBUST[name][seed]
            model = {"checkpoint": f"sst2/{'' if not seed else f'seed-{seed}/'}{target.model}/best.pt",
                     "model_sha256": _sha(name, seed), "model": target.model}
            for step in steps:
                if step.on_target:
                    # Each attack breaks part of the fooled examples; together, all of them.
                    part = {i for i in fooled if (len(step.name) + i) % 2} if step.name != "pwws" else fooled
                    _write_toy_run(root, step, part, skipped=(), model=model)
            card = build_card(EVALUATION, target, steps, 10, root=root)
            assert card["worst_case_robust_accuracy"]["hits"] == len(ROBUST[name][seed])
            if seed == 0 and legacy_seed_0:
                del card["training_seed"]
            else:
                card["training_seed"] = {"train": seed, "finetune": seed} if target.model == "snn" else {"train": seed}
            atomic_write_json(card_path(root, EVALUATION, card), card)
    return root / "benchmark" / "cards" / EVALUATION.name


def _rows(path: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["section"], r["subject"], r["seed"]): r for r in csv.DictReader(fh)}


def test_the_seed_report_on_toy_cards_with_known_answers(tiny_data, tmp_path):
    from robustsnn.reports.seeds import write_seed_report

    cards = write_toy_cards(tmp_path, tmp_path / "runs" / "sst2")
    write_seed_report(cards, tmp_path / "seeds.csv", evaluation=EVALUATION.name)
    rows = _rows(tmp_path / "seeds.csv")

    # Each model's seeds and their spread (the seed-0 cards predate training_seed: seed 0).
    for name, values in (("textcnn", [0.2, 0.3, 0.4]), ("tailored", [0.3, 0.4, 0.2]), ("snn-direct", [0.5, 0.6, 0.3])):
        for seed, value in enumerate(values):
            row = rows[("model", name, str(seed))]
            assert float(row["value"]) == pytest.approx(value) and row["n"] == "10"
            assert row["model_sha256"] == _sha(name, seed) and row["card"].startswith("benchmark/cards/tiny-v1/")
        every = rows[("model", name, "all")]
        assert float(every["value"]) == pytest.approx(sum(values) / 3)
        assert float(every["sd"]) == pytest.approx(0.1 if name != "snn-direct" else math.sqrt(0.07 / 3))
        assert (float(every["min"]), float(every["max"])) == (min(values), max(values))
        assert every["seeds"] == "0,1,2" and every["n"] == "10"

    # SNN - its parent: +0.2, +0.2, +0.1 (2, 2 and 1 examples only the SNN keeps; McNemar
    # p = 2 x 0.5^2, 2 x 0.5^2, 1): mean 1/6, sd 0.0577, 95% t interval excludes 0.
    parent = [rows[("comparison", "snn-direct - tailored", str(s))] for s in range(3)]
    assert [float(r["value"]) for r in parent] == pytest.approx([0.2, 0.2, 0.1])
    assert [float(r["p_value"]) for r in parent] == pytest.approx([0.5, 0.5, 1.0])
    assert all(r["n"] == "10" and r["verdict"] == "within the noise of the examples" for r in parent)
    every = rows[("comparison", "snn-direct - tailored", "all")]
    sd = math.sqrt(((0.2 - 1 / 6) ** 2 * 2 + (0.1 - 1 / 6) ** 2) / 2)
    half = T_975_2 * sd / math.sqrt(3)
    assert float(every["value"]) == pytest.approx(1 / 6) and float(every["sd"]) == pytest.approx(sd)
    assert (float(every["ci_low"]), float(every["ci_high"])) == pytest.approx((1 / 6 - half, 1 / 6 + half))
    assert float(every["ci_low"]) > 0 and every["same_sign"] == "3/3"
    assert every["verdict"].startswith("exceeds the seed spread (95% t interval over 3 seeds +2.3 to +31.0 points")

    # SNN - the TextCNN: +0.3, +0.3, -0.1: the sign flips on seed 2; the interval includes 0.
    every = rows[("comparison", "snn-direct - textcnn", "all")]
    assert float(every["value"]) == pytest.approx(0.5 / 3) and every["same_sign"] == "2/3"
    assert float(every["ci_low"]) < 0 < float(every["ci_high"])
    assert every["verdict"].startswith("within the seed spread")
    assert rows[("comparison", "snn-direct - textcnn", "2")]["model_sha256"] == f"{_sha('snn-direct', 2)[:12]} vs " \
                                                                                f"{_sha('textcnn', 2)[:12]}"

    md = (tmp_path / "seeds.md").read_text(encoding="utf-8")
    assert "**The SNN is measured in its deterministic `direct` form**" in md and "14 hours" in md
    assert "| SNN `direct`     | 50.0 [" in md and "| 46.7   | 15.3 | 30.0-60.0 | 10  |" in md
    assert "+20.0 [" in md and "p = 0.5" in md and "exceeds the seed spread" in md and "within the seed spread" in md


def test_with_one_seed_the_report_says_there_is_no_spread(tiny_data, tmp_path):
    from robustsnn.reports.seeds import write_seed_report

    cards = write_toy_cards(tmp_path, tmp_path / "runs" / "sst2", seeds=(0,))
    write_seed_report(cards, tmp_path / "seeds.csv", evaluation=EVALUATION.name)
    rows = _rows(tmp_path / "seeds.csv")
    every = rows[("comparison", "snn-direct - tailored", "all")]
    assert float(every["value"]) == pytest.approx(0.2) and every["sd"] == "" and every["ci_low"] == ""
    assert every["verdict"] == "1 seed evaluated: no spread over seeds yet"
    assert rows[("model", "textcnn", "all")]["sd"] == ""
    md = (tmp_path / "seeds.md").read_text(encoding="utf-8")
    assert "1 seed evaluated: no spread over seeds yet" in md and "| seed 1" not in md


def test_cards_of_one_model_and_seed_are_told_apart_by_the_built_checkpoint(tiny_data, tmp_path):
    from robustsnn.evaluation.leaderboard import load_cards
    from robustsnn.reports.seeds import gather

    cards = write_toy_cards(tmp_path, tmp_path / "runs" / "sst2", seeds=(1,))
    loaded = load_cards(cards)
    one = next(c for c in loaded if c["name"] == "textcnn")
    other = {**one, "model_sha256": "e" * 64, "checkpoint": "sst2/lr/textcnn/best.pt", "_path": Path("other.json")}
    groups, _ = gather([*loaded, other], EVALUATION.name)
    assert groups[0].cards["textcnn"][1]["model_sha256"] == _sha("textcnn", 1)  # seed-1/textcnn/best.pt wins
    with pytest.raises(UserError, match="2 cards of textcnn on sst2 with training seed 1"):
        gather([*loaded, {**other, "checkpoint": "sst2/seed-1/textcnn/best.pt"}], EVALUATION.name)
    # Seeds that disagree (a TextCNN's training seed 1, its fine-tuning seed 0) are no seed.
    mixed = {**one, "name": "snn-direct", "training_seed": {"train": 1, "finetune": 0}}
    groups, notes = gather([c for c in loaded if c["name"] != "snn-direct"] + [mixed], EVALUATION.name)
    assert "snn-direct" not in groups[0].cards and "training seeds {'train': 1, 'finetune': 0}" in notes[0]


def test_the_leaderboard_ranks_the_registered_seed_and_lists_the_others_apart(tiny_data, tmp_path):
    from robustsnn.evaluation.card import summary
    from robustsnn.evaluation.leaderboard import load_cards, write_leaderboard

    cards = write_toy_cards(tmp_path, tmp_path / "runs" / "sst2")
    ranked = write_leaderboard(cards, tmp_path / "leaderboard.csv", evaluation=EVALUATION.name)
    assert [(r["model"], r["model_sha256"]) for r in ranked] == [
        ("snn-direct", _sha("snn-direct", 0)), ("tailored", _sha("tailored", 0)), ("textcnn", _sha("textcnn", 0))]
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    ranked_part, seeds_part = md.split("## Other training seeds (not ranked)")
    assert _sha("textcnn", 1)[:12] not in ranked_part
    for name in ROBUST:
        for seed in (1, 2):
            assert f"| sst2      | {name}" in seeds_part and _sha(name, seed)[:12] in seeds_part
    assert "| snn-direct | seed 2 | c20000000000 | 30.0 [10.8, 60.3]" in seeds_part  # its seeds agree: one seed
    assert "| sst2      | textcnn    | seed 1 | a10000000000 | 30.0 [" in seeds_part
    assert "robustsnn report seeds" in seeds_part
    card = next(c for c in load_cards(cards) if c["model_sha256"] == _sha("snn-direct", 2))
    assert "training seed 2)" in summary(card).splitlines()[0]
    legacy = next(c for c in load_cards(cards) if c["model_sha256"] == _sha("snn-direct", 0))
    assert "training seed" not in summary(legacy)


def test_the_site_ranks_the_registered_seed_and_lists_the_others_apart(tiny_data, tmp_path):
    from robustsnn.reports.site import build_site

    write_toy_cards(tmp_path, tmp_path / "runs" / "sst2")
    (tmp_path / "attacks").mkdir()
    summary = build_site(tmp_path / "attacks", tmp_path / "site", root=tmp_path, evaluation=EVALUATION.name)
    assert summary["cards"] == 9 and summary["ranked"] == 3
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    ranked, listed = index.split("Other training seeds (not ranked")
    assert "Not ranked (partial evaluations)" not in index
    assert "training seed 1, worst case 60.0 [31.3, 83.2]" in listed and "c10000000000" not in ranked
    page = next((tmp_path / "site" / "cards").glob("*c20000000000*.html")).read_text(encoding="utf-8")
    assert "not ranked (another training seed: training seed 2)" in page


@pytest.mark.parametrize("p, df, expected", [(0.975, 1, 12.706204736174707), (0.975, 2, T_975_2),
                                             (0.975, 4, 2.7764451051977987), (0.95, 10, 1.8124611228107335),
                                             (0.025, 30, -2.0422724563012373), (0.5, 3, 0.0)])
def test_student_t_quantiles(p, df, expected):
    from robustsnn.stats import t_quantile

    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_mean_interval():
    from robustsnn.stats import mean_interval

    m = mean_interval([0.2, 0.2, 0.1])
    assert (m.mean, m.sd) == pytest.approx((1 / 6, math.sqrt(1 / 300)))
    assert m.high - m.mean == pytest.approx(T_975_2 * math.sqrt(1 / 300) / math.sqrt(3)) and m.excludes_zero
    one = mean_interval([0.3])
    assert one.mean == 0.3 and math.isnan(one.sd) and not one.excludes_zero
    with pytest.raises(UserError):
        mean_interval([])


def test_the_card_reads_the_training_seed_from_the_checkpoint(tmp_path, tiny_data):
    from conftest import tiny_recipe_dict
    from robustsnn.config import recipe_from_dict
    from robustsnn.evaluation.card import checkpoint_training_seeds
    from robustsnn.models.checkpoint import model_digest
    from robustsnn.train.ann import train

    path = tmp_path / "runs" / "sst2" / "seed-3" / "textcnn"
    train(recipe_from_dict(tiny_recipe_dict(train={"seed": 3, "max_epochs": 1})), "textcnn", path, log=lambda _: None)
    target = Target("sst2", "textcnn", checkpoint=path / "best.pt", seed=3)
    assert checkpoint_training_seeds(target, model_digest(path / "best.pt")) == {"train": 3}
    assert checkpoint_training_seeds(target, "f" * 64) is None  # no longer the network the runs attacked
    assert json.loads(json.dumps(checkpoint_training_seeds(target, model_digest(path / "best.pt")))) == {"train": 3}


# ------------------------------------------------------------------ robustsnn benchmark --seed, end to end


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    from attack_toys import textattack_fixture

    yield from textattack_fixture(tmp_path_factory)


@pytest.fixture
def seed_models(tiny_data, textattack):
    """The tiny zoo (seed 0) and seed 1's TextCNN and tailored TextCNN where `robustsnn build
    --seed 1` puts them."""
    from conftest import tiny_recipe_dict, train_zoo_models
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    runs = train_zoo_models(time_steps=8)
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 4, "seed": 1}, finetune={"seed": 1},
                                               snn={"time_steps": 8}))
    for kind in ("textcnn", "tailored"):
        train(recipe, kind, runs / "sst2" / "seed-1" / kind, log=lambda _: None)
    return runs


def test_a_seed_is_evaluated_against_its_own_surrogates_and_says_so(seed_models, tmp_path, monkeypatch):
    from attack_toys import toy_embedding
    from robustsnn.evaluation import standard
    from robustsnn.evaluation.card import summary
    from robustsnn.evaluation.run import benchmark
    from robustsnn.models.checkpoint import model_digest
    from robustsnn.records.record import RunRecord
    from robustsnn.resources import AttackResources

    monkeypatch.setitem(standard.EVALUATIONS, TINY.name, TINY)
    resources = AttackResources(embedding=toy_embedding())
    one = seed_models / "sst2" / "seed-1"
    card = benchmark("tailored", "sst2", evaluation=TINY.name, results=tmp_path, resources=resources, seed=1,
                     log=lambda _: None)
    assert card["training_seed"] == {"train": 1} and card["checkpoint"] == "sst2/seed-1/tailored/best.pt"
    assert card["model_sha256"] == model_digest(one / "tailored" / "best.pt")
    folder = tmp_path / "benchmark" / "tiny-v1-sst2-seed1"  # the seed's world, shared by its models
    records = {p.name: RunRecord.load(p) for p in folder.glob("*.json")}
    surrogate = records["sst2__textcnn__none__pwws__none__shared-swap.json"]
    assert surrogate.checkpoint == "sst2/seed-1/textcnn/best.pt"  # seed 1's TextCNN, not the registered one
    assert {r.checkpoint for r in records.values()} == {"sst2/seed-1/textcnn/best.pt", "sst2/seed-1/tailored/best.pt"}

    # The seed's TextCNN then finds its own attacks done (they were the surrogate's runs).
    lines: list[str] = []
    textcnn = benchmark("textcnn", "sst2", evaluation=TINY.name, results=tmp_path, resources=resources, seed=1,
                        log=lines.append)
    assert any("sst2__textcnn__none__pwws__none:" in line and "already logged: finished" in line for line in lines)
    assert textcnn["training_seed"] == {"train": 1}
    assert "training seed 1" in summary(textcnn)

    # Seed 0 is the registered checkpoints, as without --seed: the registered card is unchanged.
    registered = benchmark("textcnn", "sst2", evaluation=TINY.name, results=tmp_path, resources=resources,
                           log=lambda _: None)
    assert registered["training_seed"] == {"train": 0} and registered["checkpoint"] == "sst2/textcnn/best.pt"
    assert (tmp_path / "benchmark" / "tiny-v1-sst2").is_dir()


def test_bad_seed_requests_are_one_line_errors(seed_models):
    import shutil

    runs = seed_models / "sst2"
    with pytest.raises(UserError, match="give --seed or --checkpoint, not both"):
        target_of("textcnn", "sst2", checkpoint=runs / "textcnn" / "best.pt", seed=1)
    with pytest.raises(UserError, match=r"no snn checkpoint of training seed 1 for sst2 at .*seed-1/snn-finetuned-"
                                        r"none/best.pt; build it with: robustsnn build --datasets sst2 --models snn "
                                        r"--seed 1"):
        target_of("snn", "sst2", noise="direct", seed=1)
    (runs / "seed-2" / "textcnn").mkdir(parents=True)
    shutil.copy(runs / "textcnn" / "best.pt", runs / "seed-2" / "textcnn" / "best.pt")
    with pytest.raises(UserError, match=r"was trained with the seeds \{'train': 0\}, not 2"):
        target_of("textcnn", "sst2", seed=2)
    # A surrogate of the seed missing is named before anything runs.
    target = target_of("snn-converted", "sst2", noise="direct", checkpoint=runs / "snn" / "converted-none.pt")
    with pytest.raises(UserError, match="no textcnn checkpoint of training seed 3"):
        plan(TINY, dataclasses.replace(target, seed=3))


def test_another_checkpoint_of_a_surrogate_model_gets_no_clashing_cells(seed_models):
    """``--checkpoint`` of a TextCNN: its runs and the registered TextCNN's would be the same
    cells of one campaign, so the registered TextCNN is no surrogate of it (as of itself)."""
    target = target_of("textcnn", "sst2", checkpoint=seed_models / "sst2" / "seed-1" / "textcnn" / "best.pt")
    steps = plan(TINY, target)
    keys = [(s.campaign.campaign.name, s.cell.key) for s in steps]
    assert len(keys) == len(set(keys))
    assert {s.cell.model for s in steps if not s.on_target} == {"tailored"}


def test_report_seeds_from_the_command_line(tiny_data, tmp_path, monkeypatch, capsys):
    from robustsnn.cli import main
    from robustsnn.evaluation import standard

    monkeypatch.setitem(standard.EVALUATIONS, EVALUATION.name, EVALUATION)
    assert main(["report", "seeds", "--results", str(tmp_path), "--evaluation", EVALUATION.name]) == 2
    assert "no model cards under" in capsys.readouterr().err  # nothing evaluated yet: one line
    write_toy_cards(tmp_path, tmp_path / "runs" / "sst2", seeds=(0, 2))
    assert main(["report", "seeds", "--results", str(tmp_path), "--evaluation", EVALUATION.name]) == 0
    assert f"wrote {tmp_path / 'seeds.csv'} and {tmp_path / 'seeds.md'} (2 training seeds: 0, 2)" in (
        capsys.readouterr().out)
    rows = _rows(tmp_path / "seeds.csv")
    assert rows[("comparison", "snn-direct - tailored", "all")]["seeds"] == "0,2"
