"""robustsnn.api: the verbs the CLI is a shell over (load_classifier's noise rules, the
TextAttack wrapper, the package-level names). The attack, campaign and table verbs run
end to end in tests/test_readme_examples.py and through the CLI in test_attack_runner.py."""

import numpy as np
import pytest

import robustsnn
from robustsnn import api
from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding

TEXTS = ["the movie was good .", "the plot was dull and boring ."]


def test_package_names_are_the_api_verbs():
    import robustsnn.campaign.spec  # noqa: F401  (puts the subpackage under robustsnn.attack)

    assert robustsnn.load_classifier is api.load_classifier
    assert robustsnn.run_attack is api.attack and robustsnn.run_campaign is api.run_campaign
    assert robustsnn.table is api.table and robustsnn.textattack_wrapper is api.textattack_wrapper
    assert robustsnn.nltk_offline is api.nltk_offline
    assert type(robustsnn.attack).__name__ == "module"  # why the verb is exported as run_attack
    assert set(robustsnn._API) <= set(dir(robustsnn)) and set(robustsnn._API) <= set(robustsnn.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        robustsnn.nope  # noqa: B018


def test_snn_noise_is_parsed_once_on_the_way_in(tiny_net):
    load = lambda noise: robustsnn.load_classifier("sst2", "snn-converted", tiny_net.converted, noise)  # noqa: E731
    frozen = robustsnn.load_classifier("sst2", "snn-converted", checkpoint=tiny_net.converted)
    assert frozen.encoding == Encoding("frozen")  # the default
    np.testing.assert_array_equal(frozen.predict_proba(TEXTS), frozen.predict_proba(TEXTS))
    assert load("mean-20").encoding == Encoding("mean-k", k=20)
    assert load(" Fresh ").encoding == Encoding("fresh")
    assert load(Encoding("frozen", seed=7)).encoding == Encoding("frozen", seed=7)
    assert load("mean-20").describe()["encoding"] == "mean-20"
    with pytest.raises(UserError, match="write the number of draws in the mode, e.g. mean-20"):
        load("mean-k")
    for none in (None, "none"):
        with pytest.raises(UserError, match="model 'snn-converted' is stochastic; give noise="):
            load(none)


def test_deterministic_models_take_frozen_or_nothing(tiny_net):
    load = lambda noise: robustsnn.load_classifier("sst2", "tailored", tiny_net.tailored, noise)  # noqa: E731
    for noise in ("frozen", None, "none", Encoding("frozen")):
        classifier = load(noise)
        assert classifier.encoding is None and classifier.describe()["encoding"] is None
    rows = load("frozen").predict_proba(TEXTS)
    assert rows.shape == (2, 2) and np.allclose(rows.sum(axis=1), 1)
    for noise in ("fresh", "mean-20", Encoding("mean-k", k=3)):
        with pytest.raises(UserError, match="model 'tailored' is deterministic"):
            load(noise)


def test_names_and_arguments_are_checked():
    with pytest.raises(UserError, match="unknown model 'resnet'"):
        robustsnn.load_classifier("sst2", "resnet")
    with pytest.raises(UserError, match="unknown dataset 'imdb'"):
        robustsnn.load_classifier("imdb", "snn")
    with pytest.raises(UserError, match="num_examples must be a positive integer"):
        robustsnn.run_attack("snn", "pwws", num_examples=0)
    with pytest.raises(UserError, match="needs a campaign"):
        robustsnn.run_campaign(None)
    with pytest.raises(UserError, match="campaign file not found"):
        robustsnn.run_campaign("attacks/nope.toml")


def test_textattack_wrapper_gives_probability_rows(tiny_net):
    from attack_toys import require_textattack

    require_textattack()
    wrapper = robustsnn.textattack_wrapper(
        robustsnn.load_classifier("sst2", "snn-converted", tiny_net.converted, "frozen"))
    import textattack

    assert isinstance(wrapper, textattack.models.wrappers.ModelWrapper)
    rows = wrapper(TEXTS)
    assert rows.shape == (2, 2) and np.allclose(rows.sum(axis=1), 1)
