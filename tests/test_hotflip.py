"""The white-box ``hotflip`` recipe: first-order swap scores, its search, caps and refusals."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from attack_toys import KeywordClassifier, require_textattack, textattack_fixture
from conftest import FILLER, NEGATIVE, POSITIVE
from robustsnn.attack.threat import ThreatModel
from robustsnn.errors import UserError

require_textattack()

textattack = pytest.fixture(scope="module")(textattack_fixture)

# Unknown to the tiny net (not in its training data): the swap embedding offers it for "good".
UNKNOWN = "splendid"
STOPWORDS = {"the", "a", "was", "it", "is", "and", "very", "of"}  # the NLTK stopwords among FILLER
TEXTS = [("the movie was very good and it is a story .", 1),
         ("a plot of the film was awful and very dull .", 0),
         ("the story was great and the film is fine .", 1)]


def _classifier(path: Any, noise: str = "frozen") -> Any:
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.encoding import Encoding
    from robustsnn.models.loading import load_model

    loaded = load_model(path)
    return NetworkClassifier(loaded, Encoding.parse(noise) if loaded.kind == "snn" else None)


def _swap_embedding() -> Any:
    """Counter-fitted-style vectors: each cue's nearest neighbour is its opposite (good <->
    bad, ...), the next one for "good" the unknown word; every other pair is orthogonal."""
    from robustsnn.resources.components import DescribedWordEmbedding
    from robustsnn.resources.counterfitting import nearest_neighbours

    words = [*POSITIVE, *NEGATIVE, *FILLER, UNKNOWN]
    vectors = np.eye(len(words), dtype=np.float32)
    for i in range(len(POSITIVE)):
        vectors[len(POSITIVE) + i, i] = 3.0  # NEGATIVE[i] leans towards POSITIVE[i]
    vectors[-1, 0] = 2.0  # UNKNOWN leans towards "good", less than "bad" does
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    nn = nearest_neighbours(vectors, k=len(words) - 1)
    return DescribedWordEmbedding(vectors, {w: i for i, w in enumerate(words)}, dict(enumerate(words)),
                                  nn, "toy antonym vectors", {"source": "toy"})


def _attack(recipe: str, classifier: Any, threat: ThreatModel) -> Any:
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.resources import AttackResources

    return build_attack(recipe, TextClassifierWrapper(classifier), threat,
                        AttackResources(embedding=_swap_embedding()))


def _changed(result: Any) -> list[tuple[int, str, str]]:
    """(index, original word, new word) of every word the attack changed (swaps only)."""
    before = result.original_result.attacked_text.words
    after = result.perturbed_result.attacked_text.words
    assert len(before) == len(after)
    return [(i, a, b) for i, (a, b) in enumerate(zip(before, after)) if a != b]


THREAT = ThreatModel(candidates=3, max_modification_rate=0.2, similarity=0.0)


# ------------------------------------------------------------------ the first-order score


@pytest.mark.parametrize("which", ["tailored", "converted"])
def test_each_candidates_score_is_the_dot_product_of_its_vector_change_and_the_gradient(
        textattack, tiny_net, which) -> None:
    """(E[new] - E[old]) . g at the swapped token, computed here from the network itself."""
    from textattack.shared import AttackedText

    from robustsnn.attack.hotflip import rank, score_swaps
    from robustsnn.data.text import UNK_ID
    from robustsnn.models.encoding import Encoding
    from robustsnn.models.gradients import ann_input_gradient, snn_input_gradient

    classifier = _classifier(getattr(tiny_net, which))
    attack = _attack("hotflip", classifier, THREAT)
    text = AttackedText("the movie was very good and it is a story .")
    candidates = attack.get_transformations(text, original_text=text)
    scored = score_swaps(attack.goal_function.model, text, candidates)

    encoder, model = classifier.loaded.encoder, classifier.loaded.model
    row = encoder.encode([text.text])
    g = (snn_input_gradient(model, row, Encoding("frozen"))[0] if which == "converted"
         else ann_input_gradient(model, row)[0])[0].double()
    table = model.embedding.weight.detach().double()
    tokens = encoder.tokens(text.text)
    assert len(scored) == len(candidates) == 9  # 3 non-stopwords (movie, good, story) x K = 3
    swapped = set()
    for candidate, s in zip(candidates, scored):
        (index,) = candidate.attack_attrs["newly_modified_indices"]
        old, new = text.words[index], candidate.words[index]
        j = tokens.index(old.lower())
        old_id, new_id = encoder.index.get(old.lower(), UNK_ID), encoder.index.get(new.lower(), UNK_ID)
        expected = float((table[new_id] - table[old_id]) @ g[j])
        assert s.text is candidate and s.changes_input and s.gain is not None
        assert s.gain == pytest.approx(expected, rel=1e-9, abs=1e-12), (old, new)
        swapped.add((old, new, new_id == UNK_ID))
    # The unknown word is among them, scored with the unknown token's row.
    assert ("good", UNKNOWN, True) in swapped and ("good", "bad", False) in swapped
    # The ranking is by score, highest first.
    gains = [s.gain for s in rank(scored)]
    assert gains == sorted(gains, reverse=True) and len(gains) == len(scored)


def test_on_the_textcnn_the_gain_predicts_which_way_the_loss_moves(textattack, tiny_net) -> None:
    """Every candidate of the toy texts: the first-order gain has the sign of the true change
    of the loss (cross-entropy against the label), and the cue's antonym is in the beam."""
    from textattack.shared import AttackedText

    from robustsnn.attack.hotflip import BEAM, rank, score_swaps

    classifier = _classifier(tiny_net.tailored)
    attack = _attack("hotflip", classifier, THREAT)
    checked = 0
    for sentence, label in TEXTS:
        text = AttackedText(sentence)
        scored = rank(score_swaps(attack.goal_function.model, text,
                                  attack.get_transformations(text, original_text=text)))
        probs = classifier.predict_proba([text.text, *(s.text.text for s in scored)])[:, label]
        for s, p in zip(scored, probs[1:]):
            true_change = math.log(probs[0]) - math.log(p)
            if abs(true_change) > 1e-3:
                assert np.sign(s.gain) == np.sign(true_change), (s.text.text, s.gain, true_change)
                checked += 1
        cue = next(i for i, w in enumerate(text.words) if w in POSITIVE + NEGATIVE)
        antonym = dict(zip(POSITIVE + NEGATIVE, NEGATIVE + POSITIVE))[text.words[cue]]
        assert antonym in {s.text.words[cue] for s in scored[:BEAM]}
    assert checked >= 30


def test_swaps_the_model_cannot_see_are_dropped_and_token_count_changes_ranked_last(
        textattack, tiny_net) -> None:
    from textattack.shared import AttackedText

    from robustsnn.attack.hotflip import rank, score_swaps
    from robustsnn.attack.wrappers import TextClassifierWrapper

    wrapper = TextClassifierWrapper(_classifier(tiny_net.tailored))
    text = AttackedText("the zzzz movie was good .")
    candidates = [text.replace_word_at_index(1, UNKNOWN),  # unknown -> unknown: the same ids
                  text.replace_word_at_index(3, "bad"),
                  text.replace_word_at_index(3, "so-so"),  # two unknown parts: one token more
                  text.replace_word_at_index(3, "dull")]
    scored = score_swaps(wrapper, text, candidates)
    assert [s.changes_input for s in scored] == [False, True, True, True]
    assert scored[0].gain == 0.0 and scored[2].gain is None
    assert scored[1].gain is not None and scored[3].gain is not None
    ranked = rank(scored)
    assert len(ranked) == 3 and ranked[-1] is scored[2]
    assert {id(s) for s in ranked[:2]} == {id(scored[1]), id(scored[3])} and ranked[0].gain >= ranked[1].gain


# ------------------------------------------------------------------ the search


def test_hotflip_flips_the_textcnn_with_fewer_queries_than_pwws(textattack, tiny_net) -> None:
    """Same swaps, same constraints: the first-order ranking asks one beam where PWWS ranks
    every word by queries."""
    from textattack.attack_results import SuccessfulAttackResult

    from robustsnn.attack.hotflip import BEAM

    classifier = _classifier(tiny_net.tailored)
    hotflip, pwws = _attack("hotflip", classifier, THREAT), _attack("pwws", classifier, THREAT)
    for text, label in TEXTS:
        ours, theirs = hotflip.attack(text, label), pwws.attack(text, label)
        assert isinstance(ours, SuccessfulAttackResult) and isinstance(theirs, SuccessfulAttackResult), text
        adversarial = ours.perturbed_result.attacked_text.text
        assert classifier.predict_proba([adversarial])[0].argmax() != label
        changes = _changed(ours)
        antonyms = dict(zip(POSITIVE + NEGATIVE, NEGATIVE + POSITIVE))
        assert any(antonyms.get(old) == new for _, old, new in changes), changes  # the cue flipped
        # The original text (one query, as for every recipe), then one beam per swap.
        assert ours.perturbed_result.num_queries <= 1 + BEAM * len(changes)
        assert ours.perturbed_result.num_queries < theirs.perturbed_result.num_queries


def test_hotflip_flips_the_snn_through_its_surrogate_gradient(textattack, tiny_net) -> None:
    from textattack.attack_results import SuccessfulAttackResult

    classifier = _classifier(tiny_net.converted, "frozen")
    attack = _attack("hotflip", classifier, THREAT)
    results = [attack.attack(text, label) for text, label in TEXTS]
    successes = [r for r in results if isinstance(r, SuccessfulAttackResult)]
    assert successes
    for result in successes:
        adversarial = result.perturbed_result.attacked_text.text
        assert classifier.predict_proba([adversarial])[0].argmax() != result.original_result.ground_truth_output


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.3])
def test_hotflip_keeps_the_cap_the_stopwords_and_the_swaps_candidates(textattack, tiny_net, rate) -> None:
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult

    from robustsnn.attack.hotflip import BEAM

    threat = ThreatModel(candidates=3, max_modification_rate=rate, similarity=0.0)
    embedding = _swap_embedding()
    attack = _attack("hotflip", _classifier(tiny_net.converted, "frozen"), threat)
    for text, label in [*TEXTS, ("the movie was good and great and fine and warm .", 1)]:
        result = attack.attack(text, label)
        assert not isinstance(result, SkippedAttackResult)
        changes = _changed(result)
        cap = max(math.ceil(rate * len(result.original_result.attacked_text.words)), 1)
        assert len(changes) <= cap
        for _, old, new in changes:
            assert old not in STOPWORDS
            neighbours = embedding.nearest_neighbours(embedding.word2index(old), 3)
            assert new in {embedding.index2word(i) for i in neighbours}
        # The original text, one beam per swap, and one more for a step that found nothing better.
        assert result.perturbed_result.num_queries <= 1 + BEAM * (len(changes) + 1)
        if text.startswith("the movie was good and great") and rate < 0.3:  # four cues: the cap binds
            assert isinstance(result, FailedAttackResult) and len(changes) == cap
            assert result.perturbed_result.num_queries == 1 + BEAM * cap  # no beam asked past the cap


def test_hotflip_keeps_the_query_budget(textattack, tiny_net) -> None:
    threat = ThreatModel(candidates=3, max_modification_rate=0.3, similarity=0.0, query_budget=2)
    attack = _attack("hotflip", _classifier(tiny_net.converted, "frozen"), threat)
    for text, label in TEXTS:
        assert attack.attack(text, label).perturbed_result.num_queries <= 2


def test_a_seeded_run_repeats_under_fresh_draws(textattack, tiny_net) -> None:
    from robustsnn.campaign.runner import seed_all

    def run() -> list[tuple[str, str, int, float]]:
        attack = _attack("hotflip", _classifier(tiny_net.converted, "fresh"), THREAT)
        out = []
        for i, (text, label) in enumerate(TEXTS):
            seed_all(i)
            result = attack.attack(text, label)
            out.append((type(result).__name__, result.perturbed_result.attacked_text.text,
                        result.perturbed_result.num_queries, result.perturbed_result.score))
        return out

    first = run()
    assert first == run()
    assert any(kind != "SkippedAttackResult" for kind, *_ in first)


# ------------------------------------------------------------------ refusals and records


def test_a_model_without_gradients_is_refused_in_one_line(textattack, tiny_net) -> None:
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.defenses import DefendedClassifier
    from robustsnn.resources import AttackResources

    class Identity(DefendedClassifier):
        def transform(self, texts):
            return list(texts)

    res = AttackResources(embedding=_swap_embedding())
    for classifier in (KeywordClassifier(), Identity(_classifier(tiny_net.tailored), "identity")):
        with pytest.raises(UserError, match="exposes no input_gradient") as err:
            build_attack("hotflip", TextClassifierWrapper(classifier), THREAT, res)
        assert "\n" not in str(err.value) and "hotflip" in str(err.value)
    with pytest.raises(UserError, match="hotflip needs a robustsnn TextClassifierWrapper") as err:
        build_attack("hotflip", object(), THREAT, res)
    assert "\n" not in str(err.value)


def test_hotflip_is_described_without_a_model(textattack) -> None:
    from robustsnn.attack.recipes import describe_attack
    from robustsnn.resources import AttackResources

    record = describe_attack("hotflip", THREAT, resources=AttackResources(embedding=_swap_embedding()))
    assert record["recipe"] == "hotflip" and "HotFlip" in record["reference"]
    assert "HotFlipSearch" in str(record) and "beam" in str(record)
