"""``threat.model_reach``: only the words the model reads may be modified (attack/reach.py)."""

import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding

require_textattack()

from conftest import write_split  # noqa: E402
from robustsnn.attack.reach import WithinModelReach, word_offsets  # noqa: E402
from robustsnn.attack.threat import ThreatModel  # noqa: E402
from robustsnn.campaign.runner import run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.errors import UserError  # noqa: E402
from robustsnn.records.identity import first_difference  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


class Reader:
    """Reads ``max_tokens`` whitespace tokens."""

    def __init__(self, max_tokens):
        self.max_tokens = max_tokens

    def count_tokens(self, text):
        return len(text.split())


class Wrapper:
    def __init__(self, classifier):
        self.classifier = classifier


def test_the_words_past_the_models_window_are_not_modifiable(textattack):
    from textattack.shared import AttackedText

    text = AttackedText("one two three four five six seven eight")
    reach = WithinModelReach(Wrapper(Reader(3)))  # slack 2: words whose prefix holds < 5 tokens
    assert reach._get_modifiable_indices(text) == {0, 1, 2, 3, 4}
    assert WithinModelReach(Wrapper(Reader(3)), slack=0)._get_modifiable_indices(text) == {0, 1, 2}
    assert WithinModelReach(Wrapper(Reader(20)))._get_modifiable_indices(text) == set(range(8))  # fits
    assert word_offsets("Aa, bb aa", ["Aa", "bb", "aa"]) == [0, 4, 7]
    with pytest.raises(UserError, match="threat.model_reach needs a model that says how many tokens it reads"):
        WithinModelReach(Wrapper(object()))._get_modifiable_indices(text)


def test_it_is_off_by_default_and_old_logs_match_a_run_that_has_the_setting():
    assert ThreatModel().model_reach is False
    stored = {"threat": {"candidates": 15}}  # a log from before the setting
    assert first_difference(stored, {"threat": {"candidates": 15, "model_reach": False}}) is None
    assert first_difference(stored, {"threat": {"candidates": 15, "model_reach": True}}) == (
        "threat.model_reach", False, True)
    with pytest.raises(UserError, match="model_reach"):
        ThreatModel(model_reach="yes")


CELL = Cell("sst2", "tailored", "none", "pwws", "none")


def campaign(reach):
    return campaign_from_dict({
        "campaign": {"name": "toy", "models": ["tailored"], "recipes": ["pwws"], "seed": 1},
        "examples": {"num_examples": 8},
        "threat": {"candidates": 3, "max_modification_rate": 0.5, "similarity": 0.0, "model_reach": reach},
    })


def test_a_deterministic_model_is_attacked_alike_with_fewer_candidates(tiny_net, tiny_data, textattack, tmp_path):
    """The toy net reads 12 tokens; half the test texts run past them. With the setting the
    search is offered only the words the net reads, and since a swap past them cannot
    change a deterministic output, every example ends as it did without it."""
    long_tail = " and the movie was a story of the plot and it is very long and the film and the script"
    rows = [(i % 2, ("good fine movie" if i % 2 else "bad dull movie") + (long_tail if i < 4 else " ."))
            for i in range(8)]
    write_split(tiny_data / "sst2" / "test.tsv", rows)
    logs = {}
    for reach in (False, True):
        run_cell(campaign(reach), CELL, tmp_path / f"res-{reach}", checkpoint=tiny_net.tailored,
                 resources=AttackResources(embedding=toy_embedding()), log=lambda _: None)
        logs[reach] = read_log(tmp_path / f"res-{reach}" / "toy" / f"{CELL.key}__shared-swap.csv")
    attacked = [(a, b) for a, b in zip(logs[False], logs[True]) if a["result"] != "skipped"]
    assert attacked
    for full, read in attacked:
        assert (read["result"], read["perturbed_text"]) == (full["result"], full["perturbed_text"])
        assert int(read["candidates_offered"]) <= int(full["candidates_offered"])
    long_rows = [(a, b) for a, b in attacked if int(a["index"]) < 4]
    assert long_rows and all(int(b["candidates_offered"]) < int(a["candidates_offered"]) for a, b in long_rows)
