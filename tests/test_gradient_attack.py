"""White-box attacks end to end: TextAttack's gradient word ranking on robustsnn networks."""

from __future__ import annotations

import numpy as np
import pytest

from attack_toys import require_textattack, textattack_fixture
from conftest import FILLER, NEGATIVE, POSITIVE
from robustsnn.errors import UserError

require_textattack()

textattack = pytest.fixture(scope="module")(textattack_fixture)


def _classifier(path, noise="frozen"):
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.models.encoding import Encoding
    from robustsnn.models.loading import load_model

    loaded = load_model(path)
    return NetworkClassifier(loaded, Encoding.parse(noise) if loaded.kind == "snn" else None)


def _antonym_embedding():
    """Counter-fitted-style vectors in which each cue word's nearest neighbour is its
    opposite (good <-> bad), so one swap can flip the toy net's decision."""
    from robustsnn.resources.components import DescribedWordEmbedding
    from robustsnn.resources.counterfitting import nearest_neighbours

    words = [*POSITIVE, *NEGATIVE, *FILLER]
    vectors = np.eye(len(words), dtype=np.float32)
    for i in range(len(POSITIVE)):
        vectors[len(POSITIVE) + i, i] = 3.0  # NEGATIVE[i] leans towards POSITIVE[i]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    nn = nearest_neighbours(vectors, k=len(words) - 1)
    return DescribedWordEmbedding(vectors, {w: i for i, w in enumerate(words)}, dict(enumerate(words)),
                                  nn, "toy antonym vectors", {"source": "toy"})


@pytest.mark.parametrize("which", ["tailored", "converted"])
def test_get_grad_gives_one_row_per_token_of_the_models_own_gradient(textattack, tiny_net, which):
    import torch

    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.models.encoding import Encoding
    from robustsnn.models.gradients import ann_input_gradient, snn_input_gradient

    classifier = _classifier(getattr(tiny_net, which))
    wrapper = TextClassifierWrapper(classifier)
    # 15 tokens, 3 past max_len = 12: those never reach the network.
    text = "the plot was very superb and it is a film of the story was good"
    tokens = wrapper.tokenize([text])[0]
    out = wrapper.get_grad(text)
    assert len(tokens) == len(out["ids"]) == 15
    assert out["ids"] == classifier.loaded.encoder.token_ids(text)
    assert out["gradient"].shape == (15, 16)
    assert not out["gradient"][12:].any() and out["gradient"][:12].any()
    row = classifier.loaded.encoder.encode([text])
    model = classifier.loaded.model
    expected = (snn_input_gradient(model, row, Encoding("frozen"))[0] if which == "converted"
                else ann_input_gradient(model, row)[0])
    assert torch.allclose(torch.from_numpy(out["gradient"][:12]).float(), expected[0], atol=1e-7)


def test_gradient_wir_flips_the_snn_by_swapping_the_cue(textattack, tiny_net):
    from textattack.attack_results import SuccessfulAttackResult

    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.threat import ThreatModel
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.resources import AttackResources

    classifier = _classifier(tiny_net.converted)
    threat = ThreatModel(candidates=3, max_modification_rate=0.2, similarity=0.0)
    attack = build_attack("gradient-wir", TextClassifierWrapper(classifier), threat,
                          AttackResources(embedding=_antonym_embedding()))
    texts = [("the movie was very good and it is a story .", 1),
             ("a plot of the film was awful and very dull .", 0)]
    results = [attack.attack(text, label) for text, label in texts]
    successes = [r for r in results if isinstance(r, SuccessfulAttackResult)]
    assert successes
    for result in successes:
        adversarial = result.perturbed_result.attacked_text.text
        assert classifier.predict_proba([adversarial])[0].argmax() != result.original_result.ground_truth_output


def test_gradient_wir_and_hotflip_run_on_the_spiking_transformer(textattack, tiny_data, tmp_path):
    """The spiking transformer exposes its surrogate input gradient like a TextCNN: both
    white-box recipes search with it (toy net, so only that they run and stay consistent)."""
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.threat import ThreatModel
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.resources import AttackResources
    from robustsnn.train.ann import train
    from test_spikformer import tiny_spikformer_recipe

    run = train(tiny_spikformer_recipe(), "spikformer", tmp_path / "spikformer", log=lambda _: None)
    classifier = _classifier(run.run_dir / "best.pt")
    threat = ThreatModel(candidates=3, max_modification_rate=0.2, similarity=0.0)
    texts = [("the movie was very good and it is a story .", 1),
             ("a plot of the film was awful and very dull .", 0)]
    for recipe in ("gradient-wir", "hotflip"):
        attack = build_attack(recipe, TextClassifierWrapper(classifier), threat,
                              AttackResources(embedding=_antonym_embedding()))
        results = [attack.attack(text, label) for text, label in texts]
        assert not any(isinstance(r, SkippedAttackResult) for r in results), recipe  # it learnt the cues
        for result in results:
            if isinstance(result, SuccessfulAttackResult):
                adversarial = result.perturbed_result.attacked_text.text
                assert classifier.predict_proba([adversarial])[0].argmax() != result.original_result.ground_truth_output


def test_a_defended_model_has_no_gradient(textattack, tiny_net):
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.defenses import DefendedClassifier

    class Identity(DefendedClassifier):
        def transform(self, texts):
            return list(texts)

    wrapper = TextClassifierWrapper(Identity(_classifier(tiny_net.tailored), "identity"))
    with pytest.raises(UserError, match="exposes no input_gradient"):
        wrapper.get_grad("the movie was good .")
