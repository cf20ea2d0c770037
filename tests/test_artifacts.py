"""robustsnn.artifacts: the one place that spells the runs layout and the build commands,
and LoadedModel.encoded (the checkpoint -> dataset -> encoded split chain)."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_recipe_dict
from robustsnn import artifacts
from robustsnn.artifacts import Artifact


def test_layout_of_the_runs_folder():
    assert artifacts.TEXTCNN.relpath == "textcnn/best.pt"
    assert artifacts.TAILORED.relpath == "tailored/best.pt"
    assert artifacts.CONVERTED.relpath == "snn/converted-none.pt"
    assert artifacts.converted("data", rwe=True).relpath == "rwe-snn/converted-data.pt"
    assert artifacts.FINETUNED.relpath == "snn-finetuned-none/best.pt"
    assert artifacts.finetuned("model", rwe=True).run_dir == "rwe-snn-finetuned-model"
    assert artifacts.DIRECT.relpath == "snn-direct/best.pt"
    assert artifacts.SPIKFORMER.relpath == "spikformer/best.pt" and artifacts.SPIKFORMER.kind == "spikformer"
    assert Artifact("tailored", rwe=True).run_dir == "rwe-tailored"
    assert [a.kind for a in (artifacts.TEXTCNN, artifacts.TAILORED, artifacts.CONVERTED, artifacts.DIRECT)] == [
        "textcnn", "tailored", "snn", "snn"]
    assert artifacts.CONVERTED.run_dir is None and not artifacts.CONVERTED.is_run
    assert artifacts.FINETUNED.source == artifacts.CONVERTED and artifacts.CONVERTED.source == artifacts.TAILORED
    with pytest.raises(ValueError):
        Artifact("snn")


def test_paths_follow_the_runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    assert artifacts.TAILORED.path("mr") == tmp_path.resolve() / "mr" / "tailored" / "best.pt"
    assert artifacts.FINETUNED.run_path("mr", tmp_path / "x") == tmp_path / "x" / "mr" / "snn-finetuned-none"
    point = artifacts.npc_point_dir("sst2", 5, tmp_path)
    assert point == tmp_path / "sst2" / "sweep-npc" / "5"
    assert artifacts.CONVERTED.at(point) == point / "snn" / "converted-none.pt"
    with pytest.raises(ValueError):
        artifacts.CONVERTED.run_path("mr")


def test_build_commands():
    # The shipped recipe by name: the printed commands run as they are from any folder.
    assert artifacts.TEXTCNN.command("mr") == "robustsnn train --config mr --model textcnn"
    assert artifacts.DIRECT.command("mr") == "robustsnn train-snn --config mr"
    # Trained from its own recipe (its training settings are not the TextCNN's).
    assert artifacts.SPIKFORMER.command("mr") == "robustsnn train --config mr-spikformer --model spikformer"
    assert artifacts.TEXTCNN.recipe("mr") == "mr" and artifacts.CONVERTED.recipe("mr") is None
    assert artifacts.CONVERTED.command("mr") == "robustsnn convert $ROBUSTSNN_RUNS/mr/tailored/best.pt --norm none"
    assert artifacts.converted("data", rwe=True).command("mr") == (
        "robustsnn convert $ROBUSTSNN_RUNS/mr/rwe-tailored/best.pt --norm data "
        "--out $ROBUSTSNN_RUNS/mr/rwe-snn/converted-data.pt")
    assert Artifact("textcnn", rwe=True).command("mr") == (
        "robustsnn train --config mr --model textcnn --set embedding.source=random "
        "--set embedding.dim=50 --out $ROBUSTSNN_RUNS/mr/rwe-textcnn")  # the mr recipe: glove-50d
    # From the recipe on (what `robustsnn attack` prints for a missing checkpoint).
    assert artifacts.FINETUNED.chain("sst2") == (
        "robustsnn train --config sst2 --model tailored"
        " && robustsnn convert $ROBUSTSNN_RUNS/sst2/tailored/best.pt"
        " && robustsnn finetune $ROBUSTSNN_RUNS/sst2/snn/converted-none.pt")
    assert artifacts.converted("model").chain("sst2").endswith("tailored/best.pt --norm model")


def test_another_training_seed_has_its_own_folder_and_commands():
    seed1 = artifacts.finetuned(seed=1)
    assert artifacts.Artifact("textcnn", seed=1).relpath == "seed-1/textcnn/best.pt"
    assert seed1.relpath == "seed-1/snn-finetuned-none/best.pt" and seed1.run_dir == "seed-1/snn-finetuned-none"
    assert seed1.source == artifacts.converted(seed=1) and seed1.source.source == Artifact("tailored", seed=1)
    assert artifacts.converted(seed=2).relpath == "seed-2/snn/converted-none.pt"
    assert Artifact("textcnn", defense="a2t", seed=3).relpath == "seed-3/textcnn-a2t/best.pt"
    # Seed 0, the shipped recipes', is the registered checkpoint: same paths, same commands.
    assert Artifact("finetune", seed=0) == artifacts.FINETUNED and artifacts.TEXTCNN.seed == 0
    assert seed1.chain("mr") == (
        "robustsnn train --config mr --model tailored --set train.seed=1 --set finetune.seed=1"
        " --out $ROBUSTSNN_RUNS/mr/seed-1/tailored"
        " && robustsnn convert $ROBUSTSNN_RUNS/mr/seed-1/tailored/best.pt --out $ROBUSTSNN_RUNS/mr/seed-1/snn/"
        "converted-none.pt"
        " && robustsnn finetune $ROBUSTSNN_RUNS/mr/seed-1/snn/converted-none.pt"
        " --out $ROBUSTSNN_RUNS/mr/seed-1/snn-finetuned-none")
    assert Artifact("spikformer", seed=4).command("sst2") == (
        "robustsnn train --config sst2-spikformer --model spikformer --set train.seed=4 --set finetune.seed=4"
        " --out $ROBUSTSNN_RUNS/sst2/seed-4/spikformer")
    for bad in (-1, 1.5, True, "1", 2**32):
        with pytest.raises(ValueError, match="non-negative integer"):
            Artifact("textcnn", seed=bad)


@pytest.mark.parametrize("text, seed", [("0", 0), ("7", 7), (" 12 ", 12), ("4294967295", 2**32 - 1)])
def test_a_seed_from_the_command_line(text, seed):
    assert artifacts.parse_seed(text) == seed


@pytest.mark.parametrize("text", ["-1", "x", "1.5", "", "1e3", "\u0663", "4294967296"])
def test_a_bad_seed_from_the_command_line_is_a_user_error(text):
    from robustsnn.errors import UserError

    with pytest.raises(UserError, match="--seed must be a non-negative integer"):
        artifacts.parse_seed(text)


def test_zoo_and_report_read_the_same_artifacts(tmp_path, monkeypatch):
    from robustsnn.errors import UserError
    from robustsnn.reports.accuracy import TABLE1, TABLE3
    from robustsnn.zoo import MODELS

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    zoo = {name: MODELS.get(name) for name in ("textcnn", "tailored", "snn", "snn-converted", "snn-direct",
                                               "spikformer")}
    assert {n: m.relpath for n, m in zoo.items()} == {
        "textcnn": "textcnn/best.pt", "tailored": "tailored/best.pt", "snn": "snn-finetuned-none/best.pt",
        "snn-converted": "snn/converted-none.pt", "snn-direct": "snn-direct/best.pt",
        "spikformer": "spikformer/best.pt"}
    with pytest.raises(UserError, match=r"no snn checkpoint for mr at .*; build it with: robustsnn train "
                                        r"--config mr --model tailored && robustsnn convert"):
        zoo["snn-converted"].load("mr")
    with pytest.raises(UserError, match=r"no snn \(training seed 2\) checkpoint for mr at .*seed-2.*; build it with: "
                                        r"robustsnn train --config mr --model tailored --set train.seed=2"):
        zoo["snn"].with_seed(2).load("mr")
    assert zoo["snn"].with_seed(0) == zoo["snn"]
    rows = {s.label: s for s in TABLE1 + TABLE3}
    assert rows["Conv SNN FT"].artifact == zoo["snn"].artifact
    assert rows["Directly-trained SNN"].relpath == zoo["snn-direct"].relpath
    assert rows["Conv SNN DN (RWE)"].relpath == "rwe-snn/converted-data.pt" and rows["Conv SNN DN (RWE)"].rwe


def test_artifacts_sit_below_zoo_train_and_reports():
    from test_layout import import_graph

    graph = import_graph()
    below = graph["robustsnn.artifacts"]
    assert not {m for m in below if m.startswith(("robustsnn.zoo", "robustsnn.train", "robustsnn.reports",
                                                   "robustsnn.cli", "robustsnn.models", "robustsnn.attack"))}
    for user in ("robustsnn.zoo", "robustsnn.train.ann", "robustsnn.train.snn", "robustsnn.train.convert",
                 "robustsnn.reports.accuracy"):
        assert "robustsnn.artifacts" in graph[user], user


def test_loaded_model_encodes_its_splits_and_keeps_the_dataset(tiny_data, tmp_path):
    from robustsnn.config import recipe_from_dict
    from robustsnn.models.loading import encode_split, load_model, load_recipe_dataset
    from robustsnn.train.ann import train

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    train(recipe, "textcnn", tmp_path / "run", log=lambda _: None)
    loaded = load_model(tmp_path / "run" / "best.pt")
    for split in ("train", "dev", "test"):
        ids, labels = loaded.encoded(split)
        ref_ids, ref_labels = encode_split(loaded.encoder, load_recipe_dataset(loaded.recipe).split(split))
        assert torch.equal(ids, ref_ids) and torch.equal(labels, ref_labels)
    assert loaded.dataset is loaded.dataset  # loaded once
    from robustsnn.errors import UserError

    with pytest.raises(UserError, match="unknown split"):
        loaded.encoded("valid")


def test_snn_current_is_the_snn_fed_direct_currents_as_a_deterministic_model(tiny_data):
    """`snn-current` loads the fine-tuned SNN's checkpoint with direct input: the same answers
    as `snn` under the direct encoding, and like any deterministic model it takes no noise."""
    import shutil

    from conftest import train_zoo_models
    from robustsnn.artifacts import CONVERTED, FINETUNED
    from robustsnn.campaign.runner import build_classifier
    from robustsnn.campaign.spec import Cell, campaign_from_dict
    from robustsnn.errors import UserError
    from robustsnn.models.encoding import Encoding
    from robustsnn.zoo import MODELS

    runs = train_zoo_models(time_steps=8)
    FINETUNED.path("sst2", runs).parent.mkdir(parents=True)
    shutil.copy(CONVERTED.path("sst2", runs), FINETUNED.path("sst2", runs))
    entry = MODELS.get("snn-current")
    assert not entry.stochastic and entry.default_checkpoint("sst2") == MODELS.get("snn").default_checkpoint("sst2")
    texts = ["a fine film", "a dull and tired film", "not bad at all"]
    current = entry.load("sst2").predict_proba(texts)
    direct = MODELS.get("snn").load("sst2", None, Encoding.parse("direct")).predict_proba(texts)
    assert (current == direct).all() and (current == entry.load("sst2").predict_proba(texts)).all()
    campaign = campaign_from_dict({"campaign": {"name": "c", "models": ["snn-current"], "recipes": ["pwws"]}})
    assert (build_classifier(Cell("sst2", "snn-current", "none", "pwws", "none"), campaign)
            .predict_proba(texts) == current).all()
    with pytest.raises(UserError, match="'snn-current' is deterministic"):
        build_classifier(Cell("sst2", "snn-current", "none", "pwws", "frozen"), campaign)
