"""Word vectors: sources, the positive shift, the model vocabulary."""

import numpy as np
import pytest

from robustsnn.embeddings import (
    WordVectors,
    build_table,
    load_glove_50d,
    load_vectors_file,
    positive_shift,
    random_vectors,
    shift_stats,
    train_word2vec,
)
from robustsnn.errors import UserError


def test_positive_shift_is_the_documented_map():
    x = np.array([[-10.0, 0.0, 1.0, 10.0]], dtype=np.float32)
    mu, sigma = 0.5, 2.0
    out = positive_shift(x, mu, sigma)
    expected = (np.clip((x - mu) / (3 * sigma), -1, 1) + 1) / 2
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.min() == 0.0 and out.max() == 1.0  # clipped at mu -+ 3 sigma


def test_shift_uses_one_global_mean_and_std():
    v = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert shift_stats(v) == pytest.approx((float(v.mean()), float(v.std())))


def test_table_has_pad_unk_and_whole_pretrained_vocab():
    wv = WordVectors(["a", "b", "c", "b"], np.array([[1, 2], [3, 4], [5, 6], [9, 9]], np.float32))
    table = build_table(wv)
    assert table.vocab == ["<pad>", "<unk>", "a", "b", "c"]  # repeated word keeps its first vector
    np.testing.assert_array_equal(table.raw[0], [0, 0])
    np.testing.assert_allclose(table.raw[1], [3, 4])  # UNK = mean vector
    np.testing.assert_array_equal(table.raw[3], [3, 4])
    assert table.positive[0].tolist() == [0, 0]
    assert (table.positive >= 0).all() and (table.positive <= 1).all()


def test_glove_50d_offline():
    wv = load_glove_50d()
    assert wv.vectors.shape == (400000, 50) and wv.words[:3] == ["the", ",", "."]
    table = build_table(wv)
    assert len(table.vocab) == 400002 and table.info["source"] == "glove-50d"


def test_glove_and_word2vec_text_files(tmp_path):
    glove = tmp_path / "g.txt"
    glove.write_text("hello 0.1 0.2 0.3\nworld 1 2 3\n", encoding="utf-8")
    wv = load_vectors_file(glove)
    assert wv.words == ["hello", "world"] and wv.dim == 3
    w2v = tmp_path / "w.txt"
    w2v.write_text("2 2\n你好 0.5 0.5\n世界 1 1\n", encoding="utf-8")
    assert load_vectors_file(w2v).words == ["你好", "世界"]


@pytest.mark.parametrize("content, message", [
    ("a 1 2\nb 1\n", "expected 2 values"),
    ("a 1 x\n", "non-numeric"),
    ("\n\n", "holds no vectors"),
])
def test_bad_vector_files(tmp_path, content, message):
    p = tmp_path / "v.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_vectors_file(p)


def test_missing_vector_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_vectors_file(tmp_path / "glove.6B.300d.txt")


def test_word2vec_is_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path))
    sents = [["好", "吃", "的", "饭"], ["不", "好", "吃"], ["送", "得", "快"]] * 20
    a = train_word2vec(sents, dim=8, seed=1, window=2, min_count=1, epochs=2, tag="t")
    cache = list((tmp_path / "cache" / "word2vec").glob("t-*.npz"))
    assert len(cache) == 1 and a.info["source"] == "word2vec"
    b = train_word2vec(sents, dim=8, seed=1, window=2, min_count=1, epochs=2, tag="t")
    assert a.words == b.words
    np.testing.assert_array_equal(a.vectors, b.vectors)


def test_random_vectors_are_seeded():
    a = random_vectors(["x", "y"], 4, seed=3)
    b = random_vectors(["x", "y"], 4, seed=3)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.info["source"] == "random"
