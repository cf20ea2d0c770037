"""One tokenizer per language; the encoder pads, truncates and falls back sensibly."""

import pytest

from robustsnn.data.text import PAD_ID, UNK_ID, TextEncoder, get_tokenizer, tokenize_en, tokenize_zh
from robustsnn.errors import UserError


def test_english_splits_clitics_like_glove():
    assert tokenize_en("John's film isn't bad, it's GREAT!") == [
        "john", "'s", "film", "is", "n't", "bad", ",", "it", "'s", "great", "!"]
    assert tokenize_en("wo n't ca n't") == ["wo", "n't", "ca", "n't"]  # SST's PTB form stays


def test_english_maps_ptb_brackets_and_keeps_compounds():
    assert tokenize_en("a -lrb- u.s. -rrb- re-imagining ...") == [
        "a", "(", "u.s.", ")", "re-imagining", "..."]
    assert tokenize_en("it\u2019s") == ["it", "'s"]


def test_chinese_is_segmented_with_jieba():
    tokens = tokenize_zh("前台服务好，房间整洁干净。")
    assert "".join(tokens) == "前台服务好，房间整洁干净。" and len(tokens) > 3


def test_unknown_language():
    with pytest.raises(UserError, match="no tokenizer"):
        get_tokenizer("fr")


VOCAB = ["<pad>", "<unk>", "the", "film", "groan", "to", "guffaw", "-", "good"]


def test_encoder_pads_truncates_and_maps_unknowns():
    enc = TextEncoder(VOCAB, "en", max_len=4)
    assert enc.encode_ids(["the film"]) == [[2, 3, PAD_ID, PAD_ID]]
    assert enc.encode_ids(["the zzz film good the"]) == [[2, UNK_ID, 3, 8]]


def test_hyphenated_compound_falls_back_to_parts():
    enc = TextEncoder(VOCAB, "en", max_len=8)
    assert enc.token_ids("groan-to-guffaw") == [4, 7, 5, 7, 6]


def test_empty_text_is_a_user_error():
    enc = TextEncoder(VOCAB, "en", max_len=4)
    with pytest.raises(UserError, match="empty text"):
        enc.encode_ids(["  "])


def test_coverage_counts_known_tokens():
    enc = TextEncoder(VOCAB, "en", max_len=4)
    assert enc.coverage(["the zzz"]) == 0.5


def test_textattack_unk_placeholder_is_one_unknown_token():
    enc = TextEncoder(VOCAB, "en", max_len=8)
    assert enc.token_ids("the [UNK] film") == [2, UNK_ID, 3]
    assert enc.token_ids("[UNK] good") == [UNK_ID, 8]
