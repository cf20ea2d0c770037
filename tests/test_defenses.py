"""SAFER and FGWS on the toy world of robustsnn.testing, the wrapper they share,
apply_defense, the context's lazy resources and the shipped defenses campaign."""

import dataclasses
import re

import numpy as np
import pytest

from robustsnn.defenses import DEFENSES, DefendedClassifier, DefenseContext, apply_defense
from robustsnn.defenses.fgws import FGWS
from robustsnn.defenses.safer import Safer, draw_indices
from robustsnn.defenses.words import word_spans
from robustsnn.errors import UserError
from robustsnn.testing import TEXTS, TOY_STOPWORDS, ToyClassifier, ToyEmbedding, toy_context

BORDERLINE = "the movie was good but the plot was dull"


def safer(seed=0, **settings):
    return Safer(**settings)(ToyClassifier(), toy_context(seed))


def fgws(**settings):
    return FGWS(**settings)(ToyClassifier(), toy_context())


# ---------------------------------------------------------------- FGWS


def test_fgws_replaces_a_rare_synonym_with_the_frequent_one():
    d = fgws()
    # Toy training frequencies run 8, 4, 2, 1 down each group (great 8, superb 4; movie 8, flick 1).
    assert d.counts["great"] == 8 and d.counts["superb"] == 4 and d.counts["flick"] == 1
    assert d.transform_text("a superb flick") == "a great movie"
    assert d.transform_text("a great movie") == "a great movie"  # frequent words stay


def test_fgws_threshold_is_the_percentile_of_eligible_training_frequencies():
    d = fgws()
    eligible = [n for w, n in d.counts.items() if d.candidates(w)]
    assert "the" not in [w for w, n in d.counts.items() if d.candidates(w)]  # no synonyms: not eligible
    assert d.delta == pytest.approx(np.percentile(eligible, 90)) == 8.0
    assert fgws(percentile=50).delta == pytest.approx(np.percentile(eligible, 50))
    assert fgws(percentile=50).transform_text("a superb flick") == "a superb movie"  # superb (4) >= delta 3


def test_fgws_keeps_the_surface_form_and_uses_wordnet():
    d = fgws()
    assert d.transform_text("Superb FLICK ,  really - at the cinema !") == "Great MOVIE ,  really - at the movie !"
    assert fgws(use_wordnet=False).transform_text("the cinema") == "the cinema"  # only WordNet knows it
    assert d.transform_text("the [UNK] was superb") == "the [UNK] was great"  # the placeholder survives
    assert d.transform_text("it's a well-made zzyzx") == "it's a well-made zzyzx"  # nothing to swap


def test_fgws_classifies_the_transformed_text():
    d, base = fgws(), ToyClassifier()
    texts = ["a dreadful flick", "a superb picture"]
    np.testing.assert_allclose(d.predict_proba(texts), base.predict_proba([d.transform_text(t) for t in texts]))
    assert d.transform_text("a dreadful flick") == "a awful movie"


def test_fgws_counts_tokens_with_the_dataset_tokenizer():
    ctx = toy_context(train=(["It's GOOD, good!", "the film"], [1, 1]))
    counts = FGWS()(ToyClassifier(), ctx).counts
    assert counts["good"] == 2 and counts["'s"] == 1 and counts["it"] == 1 and "GOOD" not in counts


# ---------------------------------------------------------------- SAFER


def test_safer_vote_shares_sum_to_one_and_follow_the_formula():
    d = safer()
    texts = list(TEXTS)
    probs = d.predict_proba(texts)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    votes, mean = d.votes(texts)
    assert (votes.sum(axis=1) == 16).all()
    np.testing.assert_allclose(probs, (votes + 0.5 * mean) / 16.5)


def test_safer_is_deterministic_for_a_seed_and_differs_across_seeds():
    a, again, other = safer(0), safer(0), safer(1)
    assert a.perturbations(BORDERLINE) == again.perturbations(BORDERLINE)
    np.testing.assert_array_equal(a.predict_proba(list(TEXTS)), again.predict_proba(list(TEXTS)))
    assert a.perturbations(BORDERLINE) != other.perturbations(BORDERLINE)
    assert not np.array_equal(a.predict_proba(list(TEXTS)), other.predict_proba(list(TEXTS)))
    # Batching changes nothing: all at once == one by one.
    together = a.predict_proba(list(TEXTS))
    alone = np.concatenate([a.predict_proba([t]) for t in TEXTS])
    np.testing.assert_array_equal(together, alone)


def test_safer_draws_from_each_words_perturbation_set_only():
    d = safer()
    copies = d.perturbations("The movie was GOOD , zzyzx !")
    assert len(copies) == 16 and len(set(copies)) > 1
    for copy in copies:
        words = copy.split()
        assert words[0] == "The" and words[2] == "was" and words[4:] == [",", "zzyzx", "!"]
        assert words[1] in ("movie", "film", "picture", "flick")
        assert words[3] in ("GOOD", "FINE", "DECENT", "NICE")  # case kept


def test_safer_changing_one_word_changes_only_that_words_draws():
    d = safer()
    before = [c.split() for c in d.perturbations("the movie was good but the plot was dull")]
    after = [c.split() for c in d.perturbations("the movie was good but the story was dull")]
    for x, y in zip(before, after):
        assert [w for i, w in enumerate(x) if i != 6] == [w for i, w in enumerate(y) if i != 6]


def test_safer_never_perturbs_stopwords_or_the_placeholder():
    d = safer()
    assert d.perturbation_set("the") == () and "the" in TOY_STOPWORDS
    for copy in d.perturbations("[UNK] the great [UNK]"):
        assert copy.startswith("[UNK] the ") and copy.endswith(" [UNK]")
    assert d.perturbation_set("zzyzx") == ()  # not in the vectors


def test_safer_majority_always_wins_and_ties_go_to_the_mean_probability():
    class Hashy:
        """Deterministic but erratic: class 1 with probability set by a hash of the text."""

        num_classes = 2

        def predict_proba(self, texts):
            p = np.array([(sum(map(ord, t)) % 97) / 96 for t in texts])
            return np.stack([1 - p, p], axis=1)

        def describe(self):
            return {}

    d = Safer(copies=4)(Hashy(), toy_context())
    texts = [f"the {a} {b} was {c}" for a in ("movie", "film") for b in ("plot", "story")
             for c in ("good", "bad", "dull", "great")]
    votes, mean = d.votes(texts)
    probs = d.predict_proba(texts)
    for v, m, p in zip(votes, mean, probs):
        if v[0] != v[1]:
            assert p.argmax() == v.argmax()
        else:
            assert p.argmax() == m.argmax()
    assert any(v[0] == v[1] for v in votes) and any(v[0] != v[1] for v in votes)


def test_draw_indices_are_uniform_enough():
    keys = np.array([12345, 999], dtype=np.uint64)
    picks = draw_indices(keys, np.array([4, 7], dtype=np.uint64), 7000)
    for column, size in ((0, 4), (1, 7)):
        counts = np.bincount(picks[:, column], minlength=size)
        assert counts.min() > 0.8 * 7000 / size and counts.max() < 1.2 * 7000 / size


@pytest.mark.parametrize("settings, message", [
    ({"copies": 0}, "copies must be a positive integer"),
    ({"pseudo_votes": 1.0}, "pseudo_votes must be in"),
    ({"similarity": 1.5}, "similarity must be in"),
])
def test_safer_settings_are_checked(settings, message):
    with pytest.raises(UserError, match=message):
        Safer(**settings)


def test_fgws_settings_are_checked():
    with pytest.raises(UserError, match="percentile must be in"):
        FGWS(percentile=120)
    with pytest.raises(UserError, match="needs a synonym source"):
        FGWS(neighbours=0, use_wordnet=False)


# ---------------------------------------------------------------- wrapper and registry


def test_builtins_are_registered():
    assert {"safer", "fgws"} <= set(DEFENSES.names())
    assert DEFENSES.entry("safer").source == "robustsnn (built-in)"


def test_apply_defense_wraps_and_describes():
    base = ToyClassifier()
    ctx = toy_context(seed=5)
    d = apply_defense("safer", base, "toy", 5, context=ctx)
    assert isinstance(d, DefendedClassifier) and d.base is base and d.num_classes == 2 and d.model is None
    described = d.describe()
    assert described["model"] == "toy-keywords"
    own = described["defense"]
    assert own["name"] == "safer" and own["copies"] == 16 and own["similarity"] == 0.8
    assert own["seed"] == 5 and "Ye, Gong, Liu" in own["reference"] and "toy" in own["embedding"]
    f = apply_defense("fgws", base, "toy", 5, context=ctx).describe()["defense"]
    assert f["name"] == "fgws" and f["delta"] == 8.0 and f["percentile"] == 90.0
    assert apply_defense("none", base, "toy", 5) is base


def test_a_defense_over_a_defense_keeps_both_descriptions():
    ctx = toy_context()
    inner = FGWS()(ToyClassifier(), ctx)
    outer = Safer()(inner, ctx)
    own = outer.describe()["defense"]
    assert own["name"] == "safer" and own["inner"]["name"] == "fgws"
    np.testing.assert_allclose(outer.predict_proba(["a superb flick"]).sum(), 1.0)


def test_apply_defense_errors():
    with pytest.raises(UserError, match=r"unknown defense 'nope' \(choices: .*fgws.*safer"):
        apply_defense("nope", ToyClassifier(), "toy", 0, context=toy_context())
    DEFENSES.register("returns-junk", lambda classifier, context: "junk")
    try:
        with pytest.raises(UserError, match="returned str, not a TextClassifier"):
            apply_defense("returns-junk", ToyClassifier(), "toy", 0, context=toy_context())
    finally:
        DEFENSES.unregister("returns-junk")


def test_defended_classifier_rejects_bad_input_and_non_classifiers():
    d = safer()
    for bad in ([""], ["ok", 3], "a bare string"):
        with pytest.raises(UserError):
            d.predict_proba(bad)
    assert d.predict_proba([]).shape == (0, 2)
    with pytest.raises(UserError, match="needs a TextClassifier"):
        DefendedClassifier(object(), "x")


# ---------------------------------------------------------------- context


def test_context_loads_nothing_until_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_DATA", str(tmp_path))
    ctx = DefenseContext("sst2", seed=3)
    assert ctx.language == "en" and ctx.seed == 3
    with pytest.raises(UserError, match="dataset 'sst2' not found"):
        _ = ctx.train_texts  # a property: reading it loads the split


def test_context_language_and_resources():
    assert DefenseContext("chnsenti").language == "zh"
    with pytest.raises(UserError, match="unknown dataset 'toy'"):
        DefenseContext("toy")
    with pytest.raises(UserError, match="no counter-fitted vectors for language 'zh'"):
        DefenseContext("chnsenti").counterfitted()
    with pytest.raises(UserError, match="seed must be a non-negative integer"):
        DefenseContext("sst2", seed=-1)
    ctx = toy_context()
    assert ctx.train_texts[0] == "the good" and ctx.train_labels[0] == 1
    assert ctx.wordnet_synonyms("superb") == ["excellent", "great"]


def test_context_reads_the_training_split(tiny_data):
    ctx = DefenseContext("sst2", embedding=ToyEmbedding())
    assert len(ctx.train_texts) == len(ctx.train_labels) > 100
    words = ctx.word_counts()
    assert words["the"] > 0 and all(w == w.lower() for w in words)


def test_word_spans_skip_clitics_compounds_and_numbers():
    text = "it 's a well-made , 2002 film ; Don't go"
    assert [text[a:b] for a, b in word_spans(text, "en")] == ["it", "a", "film", "go"]


# ---------------------------------------------------------------- the campaign file


def test_defenses_campaign_loads():
    from robustsnn.campaign.spec import cells, load_campaign
    from robustsnn.paths import shipped_file

    first = shipped_file("campaign", "defenses").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# robustsnn campaign defenses")
    c = load_campaign("defenses")
    assert c.campaign.defenses == ("none", "safer", "fgws") and c.campaign.recipes == ("pwws",)
    assert c.campaign.noise == ("frozen",) and c.examples.num_examples == 100
    assert c.threat.max_modification_rate == 0.1 and c.threat.candidates == 15 and c.threat.similarity == 0.8
    grid = cells(c)
    assert len(grid) == 6 and {cell.defense for cell in grid} == {"none", "safer", "fgws"}
    assert re.search(r"--results results/attacks", first)


# ---------------------------------------------------------------- SAFER as a randomized defense (issue 33)

# SAFER's outputs and copies on the toy world as computed before issue 33 (keyed draws
# only), by the code of commit 4eb1367: sha256 of predict_proba(TEXTS).tobytes() and of
# the copies joined by newlines, per (seed, copies). The frozen mode must still give them.
BEFORE_ISSUE_33 = {
    (0, 5): ("61124c7ac9760a04694c1b38ce34402479859da57d6832566566519ad8c46f86",
             "20a492ae56e656261ac2599439386b762726f223fd2d7ca1409d39525524b627"),
    (3, 5): ("619141c2d2685f4c833eac670810d6dec789cc4b8ee2cdcdf045bd1a2f4a7689",
             "ad3cb9532870912d8faf09158ec89016c8082f25e91091d2f5e385c418b94bec"),
    (0, 16): ("1f9f18a721e7b6ed8491831d37669c4556dfdc6ff59e07e4ff21e7882854b1da",
              "b2caf1cf5279401b44465ffc4cb257178b76bf34f7fa2dfaab9988cbed2479a9"),
}


def drawing(noise, seed=0, copies=16, base=None):
    return Safer(copies=copies)(base or ToyClassifier(), toy_context(seed, noise=noise))


def test_safer_declares_itself_randomized_and_fgws_does_not():
    from robustsnn.defenses import is_randomized

    assert is_randomized("safer") and Safer.randomized and safer().randomized
    assert not is_randomized("fgws") and not fgws().randomized and not is_randomized("none")
    assert "randomized" not in {f.name for f in dataclasses.fields(Safer)}  # a declaration, not a setting


@pytest.mark.parametrize("seed, copies", sorted(BEFORE_ISSUE_33))
def test_safer_frozen_is_bit_identical_to_its_draws_before_issue_33(seed, copies):
    import hashlib

    for noise in ("frozen", "direct", "crn-4", "none"):  # every deterministic form meets the keyed draws
        d = drawing(noise, seed, copies)
        probs = d.predict_proba(list(TEXTS))
        joined = "\n".join(c for t in TEXTS for c in d.perturbations(t))
        assert (hashlib.sha256(probs.tobytes()).hexdigest(),
                hashlib.sha256(joined.encode()).hexdigest()) == BEFORE_ISSUE_33[seed, copies], noise
    assert safer(seed, copies=copies).describe()["defense"]["draws"] == "frozen"  # outside a campaign: frozen


def test_safer_fresh_draws_anew_on_every_call_and_reproducibly_under_a_seed():
    d = drawing("fresh")
    assert d.describe()["defense"]["draws"] == "fresh"
    np.random.seed(7)
    first = [d.perturbations(BORDERLINE) for _ in range(3)]
    probs = [d.predict_proba(list(TEXTS)) for _ in range(3)]
    assert first[0] != first[1] != first[2]
    assert not np.array_equal(probs[0], probs[1]) and not np.array_equal(probs[1], probs[2])
    np.random.seed(7)
    assert [d.perturbations(BORDERLINE) for _ in range(3)] == first
    for p in probs:
        np.testing.assert_array_equal(d.predict_proba(list(TEXTS)), p)
    # Fresh draws still come from each word's perturbation set, stopwords untouched.
    for copy in d.perturbations("The movie was GOOD , zzyzx !"):
        words = copy.split()
        assert words[0] == "The" and words[1] in ("movie", "film", "picture", "flick")
        assert words[3] in ("GOOD", "FINE", "DECENT", "NICE") and words[4:] == [",", "zzyzx", "!"]
    # Over many draws every member of a set turns up: not the keyed draws in disguise.
    np.random.seed(0)
    seen = {c.split()[1] for _ in range(20) for c in d.perturbations("the movie was good")}
    assert seen == {"movie", "film", "picture", "flick"}


def test_safer_mean_k_is_the_mean_of_k_fresh_outputs():
    fresh, mean = drawing("fresh", copies=4), drawing("mean-3", copies=4)
    assert mean.describe()["defense"]["draws"] == "mean-3" and mean.rounds == 3
    for text in TEXTS:  # one text per call: the k fresh calls consume the RNG exactly as mean-3's rounds
        np.random.seed(11)
        outputs = [fresh.predict_proba([text]) for _ in range(3)]
        np.random.seed(11)
        averaged = mean.predict_proba([text])
        np.testing.assert_allclose(averaged, np.mean(outputs, axis=0), rtol=0, atol=1e-15)
        np.testing.assert_allclose(averaged.sum(), 1.0, atol=1e-12)
    np.random.seed(11)
    assert len(mean.perturbations(BORDERLINE)) == 12
    votes, _ = mean.votes(list(TEXTS))
    assert (votes.sum(axis=1) == 12).all()  # every copy of every round votes
    # The mean of 3 outputs differs from one output: it is not a single draw relabelled.
    np.random.seed(11)
    one = fresh.predict_proba(list(TEXTS))
    np.random.seed(11)
    assert not np.array_equal(mean.predict_proba(list(TEXTS)), one)


def test_safer_verdict_over_fresh_draws_is_reproducible():
    import torch

    from robustsnn.campaign.verdict import majority_votes

    d = drawing("fresh", copies=3)
    texts = list(TEXTS)
    torch.manual_seed(5)
    first = majority_votes(d, texts, 1, 15, early_stop=False)
    torch.manual_seed(5)
    again = majority_votes(d, texts, 1, 15, early_stop=False)
    assert first == again
    # The draws were fresh: some text's votes are split (a frozen SAFER votes 15-0 or 0-15).
    assert any(0 < v.label_votes < 15 for v in first)
    frozen = majority_votes(drawing("frozen", copies=3), texts, 1, 15, early_stop=False)
    assert all(v.label_votes in (0, 15) for v in frozen)


def test_a_defense_context_refuses_a_bad_mode_and_apply_defense_passes_the_cells():
    with pytest.raises(UserError, match="unknown encoding mode 'sometimes'"):
        toy_context(noise="sometimes")
    d = apply_defense("safer", ToyClassifier(), "toy", 0, context=toy_context(), noise="mean-2")
    assert d.draws.mode == "mean-k" and d.draws.k == 2


def test_apply_defense_refuses_a_builder_whose_classifier_contradicts_it():
    class Liar(DefendedClassifier):
        randomized = True

    DEFENSES.register("liar", lambda classifier, context: Liar(classifier, "liar"))
    try:
        with pytest.raises(UserError, match="builder says randomized = False but the classifier it built says True"):
            apply_defense("liar", ToyClassifier(), "toy", 0, context=toy_context())
    finally:
        DEFENSES.unregister("liar")
