"""A2T adversarial training (robustsnn/attack/adversarial_training.py) and the ``a2t`` defense: the
loop on tiny data, a toy task where it measurably helps, and how ``--defense a2t``
resolves to its own checkpoint."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from attack_toys import require_textattack, textattack_fixture
from conftest import tiny_recipe_dict, write_split
from robustsnn.errors import UserError

require_textattack()

textattack = pytest.fixture(scope="module")(textattack_fixture)
QUIET = {"log": lambda _: None}

# The toy task: a sentence's sentiment is its cue word. Each cue has a synonym (its only
# neighbour in the toy swap) that the training split holds as often in positive as in
# negative sentences, always beside a cue of the sentence's own label: a clean net
# learns the synonyms as neutral, so swapping a cue for its synonym leaves it guessing.
CUES = {"good": "nice", "great": "terrific", "superb": "wonderful", "lovely": "pleasant",
        "bad": "lousy", "awful": "dreadful", "poor": "weak", "dull": "boring"}
POSITIVE, NEGATIVE = ["good", "great", "superb", "lovely"], ["bad", "awful", "poor", "dull"]
FILLER = ["the", "movie", "film", "was", "a", "plot", "and", "it", "is", "very", "of", "story"]


def _sentence(rng: random.Random, cues: list[str]) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(6, 9))]
    for cue in cues:
        words.insert(rng.randrange(len(words) + 1), cue)
    return " ".join(words) + " ."


def make_synonym_task(root: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    splits: dict[str, list[tuple[int, str]]] = {}
    for split, n in (("train", 320), ("dev", 60), ("test", 60)):
        rows = [(i % 2, _sentence(rng, [rng.choice(POSITIVE if i % 2 else NEGATIVE)])) for i in range(n)]
        splits[split] = rows
    for synonym_of in CUES:
        for other in (1, 0):  # the synonym beside a cue of either label, twice each
            for _ in range(2):
                cue = rng.choice(POSITIVE if other else NEGATIVE)
                splits["train"].append((other, _sentence(rng, [cue, CUES[synonym_of]])))
    for split, rows in splits.items():
        write_split(root / "sst2" / f"{split}.tsv", rows)
    return root


def synonym_embedding():
    """Counter-fitted-style vectors: each cue's nearest neighbour is its synonym (cosine
    0.95), every other pair orthogonal."""
    from robustsnn.resources.components import DescribedWordEmbedding
    from robustsnn.resources.counterfitting import nearest_neighbours

    words = [*CUES, *CUES.values(), *FILLER]
    vectors = np.eye(len(words), dtype=np.float32)
    for i, _ in enumerate(CUES):
        vectors[len(CUES) + i, i] = 3.0
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    nn = nearest_neighbours(vectors, k=len(words) - 1)
    return DescribedWordEmbedding(vectors, {w: i for i, w in enumerate(words)}, dict(enumerate(words)),
                                  nn, "toy synonym vectors", {"source": "toy"})


@pytest.fixture
def synonym_task(tmp_path, monkeypatch):
    root = make_synonym_task(tmp_path / "data")
    monkeypatch.setenv("ROBUSTSNN_DATA", str(root))
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    return root


# One swapped word per sentence, no sentence encoder (the toy has none): the rest is A2T's.
TOY_THREAT = {"candidates": 1, "max_modification_rate": 0.1, "similarity": 0.0}


def _settings(**kw):
    from robustsnn.attack.adversarial_training import A2TSettings

    return A2TSettings(**{"warmup_epochs": 1, "fraction": 0.5, "threat": TOY_THREAT, **kw})


def _resources():
    from robustsnn.resources import AttackResources

    return AttackResources(embedding=synonym_embedding())


def success_rate(checkpoint: Path, recipe: str = "gradient-wir") -> tuple[float, int]:
    """Share of the correctly classified test sentences that ``recipe`` turns (toy swap)."""
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.threat import ThreatModel
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.loading import load_model

    loaded = load_model(checkpoint)
    attack = build_attack(recipe, TextClassifierWrapper(NetworkClassifier(loaded)), ThreatModel(**TOY_THREAT),
                          _resources())
    test = loaded.dataset.test
    results = [attack.attack(text, label) for text, label in zip(test.texts, test.labels)]
    attacked = [r for r in results if not isinstance(r, SkippedAttackResult)]
    return sum(isinstance(r, SuccessfulAttackResult) for r in attacked) / len(attacked), len(attacked)


def test_a2t_training_writes_a_loadable_checkpoint_with_the_defense(textattack, synonym_task, tmp_path):
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict
    from robustsnn.defenses.trained import trained_defense
    from robustsnn.models.checkpoint import load_checkpoint
    from robustsnn.models.loading import load_model

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
    run = tmp_path / "run"
    result = train_a2t(recipe, "tailored", run, settings=_settings(), resources=_resources(), **QUIET)
    assert result.test_accuracy > 0.9
    ckpt = load_checkpoint(run / "best.pt")
    defense = ckpt["meta"]["defense"]
    assert defense["name"] == "a2t" and defense["fraction"] == 0.5 and defense["threat"] == TOY_THREAT
    assert ckpt["config"] == recipe.to_dict()  # the recipe is untouched: the defense lives in meta
    assert trained_defense(load_model(run / "best.pt").meta) == (defense, 0)
    # Epoch 1 is the clean warm-up; epochs 2 and 3 each attacked half the training split.
    assert sorted(p.name for p in (run / "adversarial").iterdir()) == ["epoch-2.tsv", "epoch-3.tsv"]
    rows = (run / "adversarial" / "epoch-2.tsv").read_text().splitlines()[1:]
    assert rows and all(any(s in row.split() for s in CUES.values()) for row in rows)
    import json

    assert json.loads((run / "result.json").read_text())["defense"] == defense


def test_a2t_resume_refuses_other_settings(textattack, synonym_task, tmp_path):
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}))
    train_a2t(recipe, "textcnn", tmp_path / "run", settings=_settings(), resources=_resources(), **QUIET)
    with pytest.raises(UserError, match="another defense"):
        train_a2t(recipe, "textcnn", tmp_path / "run", resume=True, settings=_settings(fraction=0.25),
                  resources=_resources(), **QUIET)
    with pytest.raises(UserError, match="another defense"):
        train(recipe, "textcnn", tmp_path / "run", resume=True, **QUIET)


def test_a2t_resumed_run_matches_the_uninterrupted_one(textattack, synonym_task, tmp_path):
    """A resumed run regenerates its epoch's examples from the restored net and the same
    draw of training examples, so it ends where an uninterrupted run ends."""
    import torch

    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict
    from robustsnn.models.checkpoint import load_checkpoint

    def run(out, epochs, resume=False):
        recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": epochs, "patience": 10}))
        train_a2t(recipe, "textcnn", tmp_path / out, resume=resume, settings=_settings(), resources=_resources(),
                  **QUIET)

    run("full", 4)
    run("half", 2)
    # The recipe is part of a run's identity: the longer one resumes the shorter one's last.pt.
    state = load_checkpoint(tmp_path / "half" / "last.pt")
    state["config"]["train"]["max_epochs"] = 4
    torch.save(state, tmp_path / "half" / "last.pt")
    run("half", 4, resume=True)
    full, resumed = (load_checkpoint(tmp_path / d / "last.pt") for d in ("full", "half"))
    assert all(torch.equal(full["model"][k], resumed["model"][k]) for k in full["model"])
    assert (tmp_path / "full" / "adversarial" / "epoch-4.tsv").read_text() == \
        (tmp_path / "half" / "adversarial" / "epoch-4.tsv").read_text()


def test_a2t_settings_are_checked():
    from robustsnn.attack.adversarial_training import A2TSettings
    from robustsnn.attack.threat import ThreatModel
    from robustsnn.evaluation.standard import STANDARD_V1

    # Trained against the constraints it is evaluated under.
    assert A2TSettings().threat_model() == ThreatModel(**STANDARD_V1.threat)
    with pytest.raises(UserError, match="fraction"):
        A2TSettings(fraction=0.0)
    with pytest.raises(UserError, match="warmup"):
        A2TSettings(warmup_epochs=-1)
    with pytest.raises(UserError, match="candidates"):
        A2TSettings(threat={"candidates": 0})
    with pytest.raises(UserError, match="a2t threat"):
        A2TSettings(threat={"candidate": 3})
    with pytest.raises(UserError, match="part_of_speech"):
        A2TSettings(part_of_speech=1)


def test_a2t_needs_an_epoch_after_the_warm_up(synonym_task, tmp_path):
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    with pytest.raises(UserError, match=r"max_epochs \(1\) must exceed"):
        train_a2t(recipe, "textcnn", tmp_path / "run", **QUIET)
    assert not (tmp_path / "run").exists()


def test_a2t_makes_the_known_swap_fail(textattack, synonym_task, tmp_path):
    """The clean net, which never saw a synonym carry sentiment, is fooled by swapping a
    cue for its synonym; the A2T net, trained on exactly such swaps, much less often.
    Same recipe, seed and epochs; only the augmentation differs."""
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 5, "patience": 5}))
    clean = train(recipe, "textcnn", tmp_path / "clean", **QUIET)
    robust = train_a2t(recipe, "textcnn", tmp_path / "a2t", settings=_settings(), resources=_resources(), **QUIET)
    assert clean.test_accuracy > 0.9 and robust.test_accuracy > 0.9
    clean_rate, n_clean = success_rate(tmp_path / "clean" / "best.pt")
    robust_rate, n_robust = success_rate(tmp_path / "a2t" / "best.pt")
    assert n_clean > 40 and n_robust > 40
    assert clean_rate >= 0.3, f"the toy should fool the clean net: {clean_rate:.2f}"
    assert robust_rate <= clean_rate - 0.25, f"clean {clean_rate:.2f}, a2t {robust_rate:.2f}"


# ---------------------------------------------------------------- --defense a2t resolves


def test_a2t_artifacts_spell_their_own_chain():
    from robustsnn.artifacts import Artifact, finetuned

    textcnn = Artifact("textcnn", defense="a2t")
    assert textcnn.relpath == "textcnn-a2t/best.pt"
    assert textcnn.chain("sst2") == "robustsnn train --config sst2 --model textcnn --defense a2t"
    snn = finetuned(defense="a2t")
    assert snn.relpath == "snn-finetuned-none-a2t/best.pt"
    assert snn.chain("sst2") == (
        "robustsnn train --config sst2 --model tailored --defense a2t"
        " && robustsnn convert $ROBUSTSNN_RUNS/sst2/tailored-a2t/best.pt"
        " --out $ROBUSTSNN_RUNS/sst2/snn/converted-none-a2t.pt"
        " && robustsnn finetune $ROBUSTSNN_RUNS/sst2/snn/converted-none-a2t.pt"
        " --out $ROBUSTSNN_RUNS/sst2/snn-finetuned-none-a2t")
    assert Artifact("textcnn").relpath == "textcnn/best.pt"  # the undefended chain is unchanged
    with pytest.raises(ValueError, match="directly-trained SNN"):
        Artifact("direct", defense="a2t")


def test_model_entry_picks_the_a2t_checkpoint_and_leaves_wrappers_alone():
    from robustsnn.zoo import MODELS, model_entry, trains

    assert trains("a2t") and not trains("safer") and not trains("none")
    assert model_entry("textcnn", "a2t").relpath == "textcnn-a2t/best.pt"
    assert model_entry("snn", "a2t").relpath == "snn-finetuned-none-a2t/best.pt"
    assert model_entry("snn", "a2t").stochastic
    assert model_entry("textcnn", "safer") is MODELS.get("textcnn")
    with pytest.raises(UserError, match="directly-trained SNN has no 'a2t'"):
        model_entry("snn-direct", "a2t")


def _cell(defense="a2t", model="textcnn"):
    from robustsnn.campaign.spec import Cell

    return Cell("sst2", model, defense, "gradient-wir", "none")


def _campaign(n=6):
    from robustsnn.campaign.spec import campaign_from_dict

    return campaign_from_dict({
        "campaign": {"name": "toy-a2t", "models": ["textcnn"], "recipes": ["gradient-wir"], "noise": ["frozen"],
                     "defenses": ["a2t"], "seed": 0},
        "examples": {"num_examples": n}, "threat": TOY_THREAT,
    })


def test_a_missing_a2t_checkpoint_is_one_line_with_its_build_command(synonym_task, tmp_path):
    from robustsnn.campaign.runner import build_classifier
    from robustsnn.evaluation.plan import target_of

    for refuse in (lambda: build_classifier(_cell(), _campaign()), lambda: target_of("textcnn", "sst2", "a2t")):
        with pytest.raises(UserError) as info:
            refuse()
        message = str(info.value)
        assert "\n" not in message and "textcnn-a2t/best.pt" in message
        assert message.endswith("build it with: robustsnn train --config sst2 --model textcnn --defense a2t")


def test_cli_benchmark_with_a_missing_a2t_checkpoint_says_how_to_build_it(synonym_task, tmp_path, capsys):
    from robustsnn.cli import main

    assert main(["benchmark", "textcnn", "--dataset", "sst2", "--defense", "a2t"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "robustsnn train --config sst2 --model textcnn --defense a2t" in err


@pytest.fixture
def a2t_textcnn(textattack, synonym_task):
    """A toy A2T TextCNN and a plain one, where the zoo looks for them."""
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train
    from robustsnn.zoo import MODELS

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
    train(recipe, "textcnn", MODELS.get("textcnn").artifact.run_path("sst2"), **QUIET)
    train_a2t(recipe, "textcnn", None, settings=_settings(), resources=_resources(), **QUIET)
    return MODELS.get("textcnn").with_defense("a2t").default_checkpoint("sst2")


def test_defense_a2t_loads_the_a2t_checkpoint_white_box_and_described(a2t_textcnn):
    from robustsnn.campaign.runner import build_classifier
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.loading import load_model
    from robustsnn.testing import TEXTS

    assert a2t_textcnn.parent.name == "textcnn-a2t"
    defended = build_classifier(_cell(), _campaign())
    described = defended.describe()
    assert described["checkpoint"].endswith("textcnn-a2t/best.pt")
    assert described["defense"]["name"] == "a2t" and described["defense"]["trained"] == "this network"
    assert described["defense"]["fraction"] == 0.5
    direct = NetworkClassifier(load_model(a2t_textcnn))
    assert np.array_equal(defended.predict_proba(TEXTS), direct.predict_proba(TEXTS))
    # Not a wrapper that hides the gradient: white-box attacks reach the network's own.
    ids, grad = defended.input_gradient("the movie was good .")
    assert np.array_equal(grad, direct.input_gradient("the movie was good .")[1])
    plain = build_classifier(_cell("none"), _campaign())
    assert plain.describe()["checkpoint"].endswith("textcnn/best.pt") and "defense" not in plain.describe()


def test_defense_a2t_refuses_a_checkpoint_not_trained_with_it(a2t_textcnn):
    from robustsnn.campaign.runner import build_classifier
    from robustsnn.zoo import MODELS

    plain = MODELS.get("textcnn").default_checkpoint("sst2")
    with pytest.raises(UserError, match="was not trained with defense 'a2t'"):
        build_classifier(_cell(), _campaign(), checkpoint=plain)
    assert build_classifier(_cell(), _campaign(), checkpoint=a2t_textcnn).describe()["defense"]["name"] == "a2t"


def test_an_attack_on_textcnn_a2t_records_the_defense(a2t_textcnn, tmp_path):
    from robustsnn.campaign.runner import run_cell
    from robustsnn.records.record import RunRecord

    record = run_cell(_campaign(n=4), _cell(), tmp_path / "res", resources=_resources(), **QUIET)
    assert record.complete and record.metrics["n"] == 4
    saved = RunRecord.load(tmp_path / "res" / "toy-a2t" / "sst2__textcnn__a2t__gradient-wir__none__shared-swap.json")
    assert saved.cell.defense == "a2t" and saved.model["defense"]["name"] == "a2t"
    assert saved.model["checkpoint"].endswith("textcnn-a2t/best.pt")


def test_snn_a2t_is_its_a2t_parent_converted_and_fine_tuned_by_robustsnn_build(textattack, synonym_task):
    """The SNN's adversarial examples come from its parent: ``robustsnn build --defense a2t``
    converts and fine-tunes the A2T-trained tailored net, and the SNN's record says so."""
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.campaign.runner import build_classifier
    from robustsnn.campaign.spec import Cell
    from robustsnn.cli.build import build
    from robustsnn.config import recipe_from_dict
    from robustsnn.zoo import model_entry

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}))
    train_a2t(recipe, "tailored", None, settings=_settings(), resources=_resources(), **QUIET)
    lines: list[str] = []
    steps, _ = build([("sst2", "snn")], defense="a2t", log=lines.append)
    assert [s.artifact.step for s in steps] == ["convert", "finetune"]  # the A2T parent was in place
    assert model_entry("snn", "a2t").default_checkpoint("sst2").is_file()
    cell = Cell("sst2", "snn", "a2t", "gradient-wir", "frozen")
    described = build_classifier(cell, _campaign()).describe()
    assert described["checkpoint"].endswith("snn-finetuned-none-a2t/best.pt")
    assert described["defense"]["name"] == "a2t"
    assert described["defense"]["trained"] == "its parent TextCNN, before conversion"
    # The undefended SNN was never built: the a2t chain left the plain folders alone.
    assert not model_entry("snn").default_checkpoint("sst2").exists()


def test_build_defense_a2t_plans_the_a2t_chain_and_skips_what_has_none(synonym_task):
    from robustsnn.cli.build import build

    lines: list[str] = []
    steps, _ = build([("sst2", "textcnn"), ("sst2", "snn-direct")], dry_run=True, log=lines.append,
                     defense="a2t")
    assert [s.command for s in steps] == ["robustsnn train --config sst2 --model textcnn --defense a2t"]
    assert "snn-direct: the directly-trained SNN has no 'a2t'-trained variant; skipped" in lines
    with pytest.raises(UserError, match="'safer' wraps a model at attack time"):
        build([("sst2", "textcnn")], dry_run=True, log=lines.append, defense="safer")


@pytest.fixture
def a2t_pair(a2t_textcnn, synonym_task):
    """The toy A2T TextCNN, and an A2T tailored TextCNN beside it (the other surrogate
    trained the same way)."""
    from robustsnn.attack.adversarial_training import train_a2t
    from robustsnn.config import recipe_from_dict

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
    train_a2t(recipe, "tailored", None, settings=_settings(), resources=_resources(), **QUIET)
    return a2t_textcnn


def test_the_benchmark_of_an_a2t_model_needs_the_surrogates_trained_alike(a2t_textcnn):
    from robustsnn.evaluation.plan import plan, target_of
    from robustsnn.evaluation.standard import STANDARD_V1

    # The plan never shrinks to what is on disk: the missing A2T tailored TextCNN is an
    # error naming the command that trains it.
    with pytest.raises(UserError, match="tailored \\(a2t-trained\\) checkpoint .* --defense a2t"):
        plan(STANDARD_V1, target_of("textcnn", "sst2", "a2t"), 5)


def test_the_benchmark_of_textcnn_a2t_keeps_white_box_attacks_and_the_plain_textcnn_as_surrogate(a2t_pair):
    from robustsnn.campaign.spec import transfer_recipe
    from robustsnn.evaluation.plan import TRANSFER, plan, target_of
    from robustsnn.evaluation.run import _probe
    from robustsnn.evaluation.standard import STANDARD_V1

    target = target_of("textcnn", "sst2", "a2t")
    assert target.label == "textcnn+a2t"
    steps = plan(STANDARD_V1, target, 5)
    # Besides the plain surrogates, the tailored TextCNN trained the same way (for an A2T
    # SNN: its own parent), its texts replayed under a name that says which network made them.
    alike = [s.cell for s in steps if not s.on_target and s.cell.defense == "a2t"]
    assert [(c.model, c.recipe) for c in alike] == [("tailored", r) for r in STANDARD_V1.score_recipes]
    replayed = {s.cell.recipe: s.source for s in steps if s.kind == TRANSFER}
    for source in alike:
        assert replayed[transfer_recipe(source)] == source
    assert "transfer-tailored+a2t-pwws" in replayed and "transfer-tailored-pwws" in replayed
    # The plain models' plans are what they were: no source under a defense.
    plain = plan(STANDARD_V1, target_of("textcnn", "sst2"), 5)
    assert all(s.cell.defense == "none" for s in plain)
    white_box, _ = _probe(target, steps[-1].campaign, next(s for s in steps if s.on_target))
    assert white_box  # unlike SAFER or FGWS, a2t leaves the gradients to the attacks
    assert {"hotflip", "gradient-wir"} <= {s.name for s in steps if s.on_target}
    surrogates = {(s.cell.model, s.cell.defense) for s in steps if not s.on_target}
    assert ("textcnn", "none") in surrogates  # the plain net's texts are replayed against its A2T twin


def test_cli_train_defense_calls_the_defenses_trainer_and_refuses_a_wrapper(monkeypatch, tmp_path, capsys):
    import robustsnn.attack.adversarial_training as adversarial
    from robustsnn.cli import main

    calls = []
    monkeypatch.setattr(adversarial, "train_a2t",
                        lambda recipe, kind, out, resume: calls.append((recipe.data.dataset, kind, out, resume)))
    assert main(["train", "--config", "sst2", "--model", "tailored", "--defense", "a2t",
                 "--out", str(tmp_path / "run"), "--resume"]) == 0
    assert calls == [("sst2", "tailored", tmp_path / "run", True)]
    assert main(["train", "--config", "sst2", "--model", "textcnn", "--defense", "fgws"]) != 0
    assert "defense 'fgws' wraps a trained model at attack time" in capsys.readouterr().err
