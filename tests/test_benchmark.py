"""``robustsnn benchmark``: the standard evaluation's plan adapts to what the model is, runs
end to end on tiny models (a deterministic TextCNN, a Poisson SNN and the deterministic
spiking transformer), resumes without
attacking anything again, and writes a card whose numbers are recomputed here from the
logs by separate code; runs against two checkpoints never pool into one worst case.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from attack_toys import textattack_fixture, toy_embedding
from conftest import train_zoo_models
from robustsnn.errors import UserError
from robustsnn.evaluation.plan import DECISION, EOT, SCORE, SECOND_SOURCE, TRANSFER, WHITE_BOX, plan, target_of
from robustsnn.evaluation.standard import STANDARD_V1, get_evaluation
from robustsnn.records.log import read_log


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


@pytest.fixture
def models(tiny_data, textattack):
    """Tiny textcnn, tailored and converted SNN where the zoo looks for them."""
    return train_zoo_models(time_steps=8)


# The standard evaluation, shrunk: 4 examples, K = 3, no sentence encoder, 7 verdict draws.
TINY = dataclasses.replace(
    STANDARD_V1, name="tiny-v1", num_examples=4, verdict_draws=7, eot_draws=3,
    threat={**STANDARD_V1.threat, "candidates": 3, "max_modification_rate": 0.3, "similarity": 0.0})


def kinds(steps, on_target=True):
    return sorted((s.kind, s.name) for s in steps if s.on_target == on_target)


def test_the_plan_adapts_to_what_the_model_is(tiny_data):
    textcnn = plan(TINY, target_of("textcnn", "sst2"))
    assert kinds(textcnn) == sorted([
        (SCORE, "pwws"), (SCORE, "textfooler"), (DECISION, "hard-label"), (WHITE_BOX, "gradient-wir"),
        (WHITE_BOX, "hotflip"),
        (SECOND_SOURCE, "pwws/wordnet"), (TRANSFER, "transfer-tailored-pwws"),
        (TRANSFER, "transfer-tailored-textfooler")])
    assert kinds(textcnn, on_target=False) == [(SCORE, "pwws"), (SCORE, "textfooler")]  # tailored's own runs

    snn = plan(TINY, target_of("snn-converted", "sst2"))
    assert kinds(snn) == sorted([
        (SCORE, "pwws/fresh"), (SCORE, "pwws/frozen"), (SCORE, "textfooler/fresh"), (SCORE, "textfooler/frozen"),
        (EOT, "pwws/mean-3"), (EOT, "textfooler/mean-3"), (DECISION, "hard-label/mean-3"),
        (WHITE_BOX, "gradient-wir/mean-3"), (WHITE_BOX, "hotflip/mean-3"), (SECOND_SOURCE, "pwws/frozen/wordnet"),
        *[(TRANSFER, f"transfer-{m}-{r}") for m in ("textcnn", "tailored") for r in ("pwws", "textfooler")],
        *[(TRANSFER, f"transfer-snn-converted-{r}-direct") for r in ("pwws", "textfooler")]])
    # Transfers replay against the deployed model (fresh draws, judged by the verdict) and
    # every source runs before the transfer that replays it.
    order = {s.cell: i for i, s in enumerate(snn)}
    for step in snn:
        if step.kind == TRANSFER:
            assert step.cell.noise == "fresh" and order[step.source] < order[step.cell]

    # The SNN fed direct currents is a deterministic model of its own (snn-current), so a
    # randomized defense around it owns the cells' draws, and its undefended runs transfer.
    current = plan(TINY, target_of("snn-current", "sst2", defense="safer"))
    assert {(s.cell.model, s.cell.noise) for s in current if s.on_target and s.kind != TRANSFER} == {
        ("snn-current", "fresh"), ("snn-current", "frozen"), ("snn-current", "mean-3")}
    assert {s.name for s in current if s.kind == TRANSFER} >= {"transfer-snn-current-pwws", "transfer-tailored-pwws"}
    assert kinds(plan(TINY, target_of("snn-current", "sst2"))) == sorted([
        *[(k, n) for k, n in kinds(textcnn) if k != TRANSFER],
        *[(TRANSFER, f"transfer-{m}-{r}") for m in ("textcnn", "tailored") for r in ("pwws", "textfooler")]])

    direct = plan(TINY, target_of("snn-converted", "sst2", noise="direct"))
    assert {s.cell.noise for s in direct if s.on_target} == {"direct"}
    assert not any(s.kind == WHITE_BOX for s in plan(TINY, target_of("textcnn", "sst2"), white_box=False))


@pytest.mark.parametrize("call, message", [
    (lambda: target_of("textcnn", "sst2", noise="fresh"), "deterministic; it is evaluated as it is"),
    (lambda: target_of("snn-converted", "sst2", noise="mean-20"), "--noise poisson"),
    (lambda: target_of("snn", "sst2", defense="safer", noise="direct"), "benchmark snn-current --defense safer"),
    (lambda: target_of("snn-current", "sst2", noise="direct"), "'snn-current' is deterministic"),
    (lambda: target_of("nope", "sst2"), "unknown model 'nope'"),
    (lambda: plan(TINY, target_of("textcnn", "sst2"), num_examples=5), "1..4"),
    (lambda: get_evaluation("standard-v0"), "unknown evaluation 'standard-v0'"),
])
def test_bad_requests_are_one_line_errors(tiny_data, call, message):
    with pytest.raises(UserError, match=message):
        call()


def recount(card, root):
    """The card's numbers recomputed from its logs, by code that shares nothing with card.py."""
    per_attack, robust, clean, left_out = {}, None, None, set()
    for attack in card["attacks"]:
        rows = {int(r["index"]): r for r in read_log(root / attack["log"])}
        stochastic = card["deployed_form"] in ("poisson", "randomized")
        ok, clean_ok = {}, {}
        for i, r in rows.items():
            if stochastic:
                replayed = attack["kind"] == "transfer" or r["perturbed_text"] != r["original_text"]
                final = r["verdict_final_correct"] if replayed else r["verdict_clean_correct"]
                clean_ok[i] = r["verdict_clean_correct"] == "1"
                ok[i] = clean_ok[i] and final == "1"
                if r["result"] == "skipped" and clean_ok[i] and attack["kind"] != "transfer":
                    left_out.add(i)  # never attacked by this run (a transfer votes on its text anyway)
            else:
                clean_ok[i] = r["result"] != "skipped"
                ok[i] = r["result"] not in ("skipped", "successful")
        per_attack[attack["attack"]] = ok
        robust = set(i for i in ok if ok[i]) if robust is None else robust & {i for i in ok if ok[i]}
        clean = set(i for i in clean_ok if clean_ok[i]) if clean is None else clean & {
            i for i in clean_ok if clean_ok[i]}
    left_out &= robust  # only an example no run broke: a break by another run is evidence
    n = len(next(iter(per_attack.values()))) - len(left_out)
    return n, len(clean - left_out), len(robust - left_out), {
        a: sum(v for i, v in ok.items() if i not in left_out) for a, ok in per_attack.items()}


class ToySafer:
    """SAFER with 4 copies whose synonyms are the toy attack vocabulary's neighbours."""

    randomized = True

    def __call__(self, classifier, context):
        from robustsnn.defenses.safer import Safer

        return Safer(copies=4, name="toy-safer")(classifier, dataclasses.replace(context, embedding=toy_embedding()))


@pytest.fixture
def toy_safer():
    from robustsnn.defenses import DEFENSES

    DEFENSES.register("toy-safer", ToySafer())
    yield
    DEFENSES.unregister("toy-safer")


@pytest.mark.parametrize("model, noise, defense", [("textcnn", None, "none"), ("snn-converted", None, "none"),
                                                   ("spikformer", None, "none"),
                                                   ("textcnn", None, "toy-safer"),
                                                   ("snn-current", None, "toy-safer")])
def test_benchmark_runs_end_to_end_and_the_card_matches_its_logs(models, toy_safer, tmp_path, monkeypatch, model,
                                                                 noise, defense):
    from robustsnn.evaluation import standard
    from robustsnn.evaluation.run import benchmark
    from robustsnn.resources import AttackResources

    if model == "spikformer":  # the deterministic spiking family: T = 4 steps, no draws
        from robustsnn.train.ann import train
        from test_spikformer import tiny_spikformer_recipe

        train(tiny_spikformer_recipe(), "spikformer", models / "sst2" / "spikformer", log=lambda _: None)
    if model == "snn-current":  # the converted SNN stands in for the fine-tuned one it is registered as
        import shutil

        from robustsnn.artifacts import CONVERTED, FINETUNED

        FINETUNED.path("sst2", models).parent.mkdir(parents=True)
        shutil.copy(CONVERTED.path("sst2", models), FINETUNED.path("sst2", models))

    monkeypatch.setitem(standard.EVALUATIONS, TINY.name, TINY)
    resources = AttackResources(embedding=toy_embedding())
    lines: list[str] = []
    card = benchmark(model, "sst2", defense=defense, noise=noise, evaluation=TINY.name, results=tmp_path,
                     resources=resources, log=lines.append)
    name = model if defense == "none" else f"{model}+{defense}"
    written = json.loads((tmp_path / "benchmark" / "cards" / "tiny-v1" /
                          f"sst2__{name}__{card['model_sha256'][:12]}.json").read_text())
    assert written == json.loads(json.dumps(card))
    assert card["evaluation"] == "tiny-v1" and card["examples"]["num_examples"] == 4
    n, clean, robust, alone = recount(card, tmp_path)
    assert card["examples"]["n"] == n and card["examples"]["left_out_unattacked"] == 4 - n
    assert card["clean_accuracy"]["hits"] == clean and card["worst_case_robust_accuracy"]["hits"] == robust
    assert {a["attack"]: a["robust_accuracy"]["hits"] for a in card["attacks"]} == alone
    assert robust <= min(alone.values()) <= clean <= n
    low, high = card["worst_case_robust_accuracy"]["ci95"]
    assert (low <= robust / n <= high) if n else math.isnan(low)
    if defense != "none":  # judged like the Poisson SNN: by the majority over fresh draws of its copies
        assert card["deployed_form"] == "randomized" and card["verdict_draws"] == 7
        steps = 8 if model == "snn-current" else 1  # the SNN's T direct steps per copy
        assert card["forward_passes_per_prediction"] == 7 * 4 * steps  # R draws x M copies (x T)
        assert any(f.startswith("randomized") for f in card["flags"])
        assert {a["noise"] for a in card["attacks"] if a["kind"] != "transfer"} == {"fresh", "frozen", "mean-3"}
        for attack in card["attacks"]:  # each run's defense drew in its cell's mode, and was voted on
            record = json.loads((tmp_path / attack["log"]).with_suffix(".json").read_text())
            assert record["model"]["defense"]["draws"] == attack["noise"] and record["verdict_draws"] == 7
    elif model in ("textcnn", "spikformer"):
        assert card["deployed_form"] == "-" and card["verdict_draws"] == 0
        assert card["forward_passes_per_prediction"] == (4 if model == "spikformer" else 1)  # T steps
        assert not any(f.startswith("randomized") for f in card["flags"])
    else:
        assert card["deployed_form"] == "poisson" and card["verdict_draws"] == 7
        assert card["forward_passes_per_prediction"] == 7 * 8  # R draws x T steps
        assert any(f.startswith("randomized") for f in card["flags"])
    assert any(f.startswith("partial") for f in card["flags"]) is False  # the whole (tiny) example set ran

    # Run again: everything resumes, nothing is attacked, the card is the same.
    again = benchmark(model, "sst2", defense=defense, noise=noise, evaluation=TINY.name, results=tmp_path,
                      resources=resources, log=lines.append)
    assert json.dumps(again, sort_keys=True) == json.dumps(card, sort_keys=True)


def _card(name, dataset, robust, flags=(), evaluation="standard-v1", n=500):
    return {"evaluation": evaluation, "name": name, "dataset": dataset, "model_sha256": "a" * 64,
            "examples": {"n": n}, "clean_accuracy": {"value": 0.8, "ci95": [0.76, 0.83]},
            "worst_case_robust_accuracy": {"value": robust, "ci95": [robust - 0.04, robust + 0.04]},
            "attacks": [{}] * 9, "best_single_attack": "pwws/mean-20", "forward_passes_per_prediction": 1,
            "flags": list(flags)}


def test_the_leaderboard_ranks_only_full_standard_evaluations_and_keeps_randomized_apart(tmp_path):
    from robustsnn.evaluation.leaderboard import write_leaderboard

    cards = tmp_path / "cards"
    cards.mkdir()
    for i, card in enumerate([
        _card("textcnn", "sst2", 0.20), _card("tailored", "sst2", 0.25), _card("snn-direct", "sst2", 0.28),
        _card("snn", "sst2", 0.26, flags=["randomized: judged as deployed"]),
        _card("snn+safer", "sst2", 0.55, flags=["randomized: x", "partial: 100 of the 500 examples"], n=100),
        _card("textcnn", "sst2", 0.90, evaluation="standard-v0"),  # another evaluation: never pooled
        _card("textcnn", "mr", 0.19),
    ]):
        (cards / f"{i}.json").write_text(json.dumps(card), encoding="utf-8")
    ranked = write_leaderboard(cards, tmp_path / "leaderboard.csv")
    table = [(r["dataset"], r["table"], r["rank"], r["model"]) for r in ranked]
    assert table == [("mr", "deterministic", 1, "textcnn"),
                     ("sst2", "deterministic", 1, "snn-direct"), ("sst2", "deterministic", 2, "tailored"),
                     ("sst2", "deterministic", 3, "textcnn"), ("sst2", "randomized", 1, "snn")]
    assert all(r["card"] == f"cards/{i}.json" for r, i in zip(ranked, (6, 2, 1, 0, 3)))
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "## sst2: randomized models" in md and "26.0 [22.0, 30.0]" in md
    assert "Not ranked (partial evaluations): sst2 snn+safer (N = 100)" in md and "90.0" not in md


# ------------------------------------------------------------------ the card on toy logs with known answers

SHA, OTHER_SHA = "c" * 64, "d" * 64


def _write_toy_run(root, step, fooled, flat=(), skipped=(9,), sha=SHA, n=10, verdict=0, model=None):
    """A finished run of ``step`` as the runner leaves it: a log of ``n`` examples (``fooled``
    successful, ``flat`` failed with no word changed, ``skipped`` wrong on the clean text) and
    its record. ``verdict``: R > 0 gives every row an R-draw verdict agreeing with its result
    (a randomized target's run); ``model``: the record's model description."""
    from robustsnn.campaign.runner import cell_paths
    from robustsnn.records.log import AttackLog

    csv_path, record_path = cell_paths(root / "benchmark", step.campaign, step.cell)
    csv_path.unlink(missing_ok=True)  # a rewrite starts a fresh log
    log = AttackLog(csv_path)
    for i in range(n):
        result = "skipped" if i in skipped else "successful" if i in fooled else "failed"
        row = {"index": i, "label": 1, "result": result, "original_output": 1, "perturbed_output": 1,
               "original_score": 0.3, "perturbed_score": 0.4, "queries": 5, "candidates_offered": 5,
               "candidates_kept": 3, "words_perturbed": 0 if i in flat or result == "skipped" else 1,
               "num_words": 6, "seconds": 0.5, "original_text": f"text {i}",
               "perturbed_text": f"text {i}" if result != "successful" else f"changed {i}"}
        if verdict:
            clean_ok, final_ok = result != "skipped", result not in ("skipped", "successful")
            row.update(verdict_draws=verdict, verdict_clean_votes=verdict * clean_ok,
                       verdict_final_votes=verdict * final_ok, verdict_clean_correct=int(clean_ok),
                       verdict_final_correct=int(final_ok), verdict_clean_draws=verdict, verdict_final_draws=verdict)
        log.append(row)
    record = {
        "cell": step.cell.to_dict(), "campaign": step.campaign.to_dict(), "campaign_file": None,
        "protocol": step.campaign.threat.protocol, "attack": {"recipe": step.cell.recipe},
        "model": model or {"checkpoint": "sst2/textcnn/best.pt", "model_sha256": sha, "model": "textcnn"},
        "log": csv_path.name, "examples_selected": n, "verdict_draws": verdict, "complete": True,
        "metrics": {"n": n, "seconds_per_example": 0.5}, "date": "2026-12-07T10:00:00+00:00", "git": "abc",
        "robustsnn": "0.1.0", "python": "3.11", "versions": {}, "machine": {}, "command": "robustsnn benchmark",
    }
    record_path.write_text(json.dumps(record), encoding="utf-8")


def _wilson(k, n, z=1.959963984540054):
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_the_card_and_its_flags_on_toy_logs_with_known_answers(tiny_data, tmp_path):
    from robustsnn.evaluation.card import build_card

    evaluation = dataclasses.replace(TINY, num_examples=10, flat_output_share=0.1)
    target = target_of("textcnn", "sst2")
    steps = plan(evaluation, target)
    outcomes = {  # attack -> (fooled, flat): example 9 is wrong on the clean text everywhere
        "pwws": ({0, 1}, {2, 3, 4}), "textfooler": ({0}, {2, 3}), "hard-label": ({5}, ()),
        "gradient-wir": ({0}, ()), "hotflip": ({0}, ()), "pwws/wordnet": ((), ()),
        "transfer-tailored-pwws": ({1, 6}, ()),
        "transfer-tailored-textfooler": ((), ())}
    for step in steps:
        fooled, flat = outcomes.get(step.name, ((), ())) if step.on_target else ((), ())
        _write_toy_run(tmp_path, step, fooled, flat)
    card = build_card(evaluation, target, steps, 10, root=tmp_path)

    assert card["examples"]["n"] == 10 and card["clean_accuracy"]["hits"] == 9
    assert card["worst_case_robust_accuracy"]["hits"] == 5  # 0, 1, 5, 6 fooled by someone; 9 wrong already
    assert card["worst_case_robust_accuracy"]["ci95"] == pytest.approx(_wilson(5, 10))
    alone = {a["attack"]: a["robust_accuracy"]["hits"] for a in card["attacks"]}
    assert alone == {"pwws": 7, "textfooler": 8, "hard-label": 8, "gradient-wir": 8, "hotflip": 8, "pwws/wordnet": 9,
                     "transfer-tailored-pwws": 7, "transfer-tailored-textfooler": 9}
    assert card["best_single_attack"] == "pwws"  # ties broken by name
    flags = {f.split(":")[0]: f for f in card["flags"]}
    assert set(flags) == {"flat-output", "black-box-beats-white-box"}
    # pwws 3 + textfooler 2 flat of 36 searched (9 attacked examples each of pwws, textfooler and the two
    # white-box searches)
    assert "13.9% of 36 searched examples" in flags["flat-output"]
    assert flags["black-box-beats-white-box"].split(": ")[1].startswith("pwws, transfer-tailored-pwws fooled")

    # One attack alone reaching the worst case is flagged; the default threshold (20%) clears flat-output.
    for step in steps:
        if step.on_target:
            _write_toy_run(tmp_path, step, {0, 1} if step.name == "pwws" else (), {2, 3, 4})
    card = build_card(TINY, target, steps, 10, root=tmp_path)
    flags = {f.split(":")[0] for f in card["flags"]}
    assert "single-attack" in flags and "flat-output" in flags and "black-box-beats-white-box" in flags


def test_runs_against_two_checkpoints_never_pool_into_one_worst_case(tiny_data, tmp_path):
    from robustsnn.analysis.worst_case import load_runs, worst_case
    from robustsnn.evaluation.card import build_card

    target = target_of("textcnn", "sst2")
    steps = plan(TINY, target)
    for i, step in enumerate(steps):
        _write_toy_run(tmp_path, step, {i % 4}, n=4, skipped=(), sha=OTHER_SHA if step.name == "textfooler" else SHA)
    with pytest.raises(UserError, match="2 different checkpoints"):
        build_card(TINY, target, steps, 4, root=tmp_path)
    groups = {(w.model, w.checkpoint): w.runs for w in worst_case(load_runs(tmp_path / "benchmark"))}
    assert groups[("textcnn", OTHER_SHA)] == 1 and groups[("textcnn", SHA)] == 7  # two targets, never one


def test_the_leaderboard_pairs_each_row_with_the_next_over_the_same_examples(tiny_data, tmp_path):
    """Two toy evaluations on the same 10 examples: the TextCNN robust on 0-4, the tailored
    TextCNN on 0-6. Ranked tailored first, +20 points over the TextCNN, with 2 discordant
    examples both in its favour: exact McNemar p = 2 x 0.5^2 = 0.5, within noise."""
    from robustsnn.evaluation.card import build_card, card_path
    from robustsnn.evaluation.leaderboard import write_leaderboard
    from robustsnn.io_utils import atomic_write_json

    evaluation = dataclasses.replace(TINY, num_examples=10)
    for model, fooled in (("textcnn", {5, 6, 7, 8, 9}), ("tailored", {7, 8, 9})):
        target = target_of(model, "sst2")
        steps = plan(evaluation, target)
        for step in steps:
            if step.on_target:
                _write_toy_run(tmp_path, step, fooled, skipped=())
        card = build_card(evaluation, target, steps, 10, root=tmp_path)
        atomic_write_json(card_path(tmp_path, evaluation, card), card)
    ranked = write_leaderboard(tmp_path / "benchmark" / "cards" / "tiny-v1", tmp_path / "leaderboard.csv",
                               evaluation="tiny-v1")
    assert [(r["model"], r["rank"]) for r in ranked] == [("tailored", 1), ("textcnn", 2)]
    top = ranked[0]
    assert top["vs_next_difference"] == pytest.approx(0.2) and top["vs_next_p"] == pytest.approx(0.5)
    assert top["vs_next_significant"] is False and ranked[1].get("vs_next_p") is None
    assert "+20.0 [" in (tmp_path / "leaderboard.md").read_text() and "within noise" in (
        tmp_path / "leaderboard.md").read_text()


# ------------------------------------------------------------------ a randomized defense (issue 33)


def test_a_randomized_defense_is_planned_like_a_stochastic_model(tiny_data):
    target = target_of("textcnn", "sst2", defense="safer")
    assert target.form == "randomized" and target.stochastic and target.label == "textcnn+safer"
    steps = plan(TINY, target, white_box=False)  # SAFER's wrapper exposes no input gradient
    assert kinds(steps) == sorted([
        (SCORE, "pwws/fresh"), (SCORE, "pwws/frozen"), (SCORE, "textfooler/fresh"), (SCORE, "textfooler/frozen"),
        (EOT, "pwws/mean-3"), (EOT, "textfooler/mean-3"), (DECISION, "hard-label/mean-3"),
        (SECOND_SOURCE, "pwws/frozen/wordnet"),
        *[(TRANSFER, f"transfer-{m}-{r}") for m in ("textcnn", "tailored") for r in ("pwws", "textfooler")]])
    # The undefended TextCNN is among the surrogates (its own network, as the SNN's direct form is).
    assert kinds(steps, on_target=False) == sorted([(SCORE, "pwws"), (SCORE, "textfooler")] * 2)
    assert {(s.cell.model, s.cell.defense) for s in steps if not s.on_target} == {("textcnn", "none"),
                                                                                  ("tailored", "none")}
    for step in steps:
        if step.on_target:
            assert step.cell.defense == "safer" and step.campaign.verdict.draws == TINY.verdict_draws
        if step.kind == TRANSFER:
            assert step.cell.noise == "fresh"  # replayed against the model as deployed

    snn = plan(TINY, target_of("snn-converted", "sst2", defense="safer"), white_box=False)
    assert {s.cell.noise for s in snn if s.on_target and s.kind == SCORE} == {"fresh", "frozen"}
    assert {(s.cell.noise, s.cell.defense) for s in snn if not s.on_target and s.cell.model == "snn-converted"} == {
        ("direct", "none")}


@pytest.mark.parametrize("call, message", [
    (lambda: target_of("textcnn", "sst2", defense="safer", noise="fresh"), "its defense 'safer' draws as deployed"),
    (lambda: target_of("snn-converted", "sst2", defense="safer", noise="direct"),
     "defense 'safer' is randomized, so 'snn-converted' under it is deployed with its draws"),
])
def test_a_randomized_defense_takes_no_deployed_form_but_its_draws(tiny_data, call, message):
    with pytest.raises(UserError, match=message):
        call()


def test_the_card_of_a_randomized_defense_is_flagged_and_ranked_with_the_randomized(tiny_data, tmp_path):
    from robustsnn.evaluation.card import build_card, card_path
    from robustsnn.evaluation.leaderboard import write_leaderboard
    from robustsnn.io_utils import atomic_write_json

    evaluation = dataclasses.replace(TINY, num_examples=10)
    target = target_of("textcnn", "sst2", defense="safer")
    steps = plan(evaluation, target, white_box=False)
    model = {"checkpoint": "sst2/textcnn/best.pt", "model_sha256": SHA, "model": "textcnn", "encoding": None,
             "defense": {"name": "safer", "copies": 16, "seed": 0, "draws": "fresh"}}
    for step in steps:
        if step.on_target:
            _write_toy_run(tmp_path, step, {0} if step.name == "pwws/mean-3" else {1} if step.kind == TRANSFER
                           else (), verdict=evaluation.verdict_draws, model=model)
    card = build_card(evaluation, target, steps, 10, root=tmp_path)
    assert card["name"] == "textcnn+safer" and card["deployed_form"] == "randomized"
    assert card["verdict_draws"] == 7 and card["forward_passes_per_prediction"] == 7 * 16  # R draws x M copies
    assert "draws" not in card["architecture"]["defense"]  # how one run drew is no part of what the model is
    assert card["worst_case_robust_accuracy"]["hits"] == 7  # 0 and 1 fooled, 9 wrong on the clean text
    assert any(f.startswith("randomized: judged as deployed, by the majority over 7") for f in card["flags"])
    assert {a["noise"] for a in card["attacks"]} == {"fresh", "frozen", "mean-3"}
    atomic_write_json(card_path(tmp_path, evaluation, card), card)
    [row] = write_leaderboard(tmp_path / "benchmark" / "cards" / "tiny-v1", tmp_path / "leaderboard.csv",
                              evaluation="tiny-v1")
    assert (row["table"], row["model"]) == ("randomized", "textcnn+safer")


def test_worst_case_names_a_network_under_a_randomized_defense_randomized(tiny_data, tmp_path):
    from robustsnn.analysis.worst_case import load_runs

    target = target_of("textcnn", "sst2", defense="safer")
    step = next(s for s in plan(TINY, target, white_box=False) if s.on_target and s.cell.noise == "fresh")
    network = {"checkpoint": "sst2/textcnn/best.pt", "model_sha256": SHA, "model": "textcnn", "encoding": None,
               "defense": {"name": "safer"}}
    _write_toy_run(tmp_path, step, {0}, n=4, verdict=7, model=network)
    # A record from before issue 33: the same defense, noise none, no verdict (one frozen draw).
    legacy = dataclasses.replace(step, cell=dataclasses.replace(step.cell, noise="none"))
    _write_toy_run(tmp_path, legacy, {0}, n=4, model=network)
    forms = {run.noise: (run.form, run.stochastic) for run in load_runs(tmp_path / "benchmark")}
    assert forms == {"fresh": ("randomized", True), "none": ("-", False)}
