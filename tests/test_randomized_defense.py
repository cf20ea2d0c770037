"""A randomized defense (issue 33) in the campaign machinery: its cells take a noise mode,
the mode reaches the defense (and, over a stochastic model, the network, except that
mean-<k> averages whole defended outputs over fresh network draws), the verdict judges it
by fresh draws, and logs from before it drew by mode resume as frozen.

The models and the defense are toys registered for the test: a deterministic and a
stochastic model that return the toy keyword classifier, and SAFER over the toy world
(robustsnn.testing), so nothing is trained or read from disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from robustsnn.campaign.runner import build_classifier, victim
from robustsnn.campaign.spec import Cell, campaign_from_dict, cells
from robustsnn.defenses import DEFENSES
from robustsnn.defenses.safer import Safer
from robustsnn.errors import UserError
from robustsnn.testing import TEXTS, ToyClassifier, toy_context
from robustsnn.zoo import MODELS


class ToyNetwork(ToyClassifier):
    """The toy classifier, keeping the encoding it was loaded with (None: deterministic)."""

    def __init__(self, encoding: Any = None) -> None:
        super().__init__()
        self.encoding = encoding

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "encoding": None if self.encoding is None else str(self.encoding)}


@dataclass(frozen=True)
class ToyEntry:
    stochastic: bool

    def load(self, dataset: str, checkpoint: Any = None, encoding: Any = None) -> ToyNetwork:
        return ToyNetwork(encoding)


class ToySafer:
    """SAFER (4 copies) over the toy world, built with the campaign's seed and the cell's mode."""

    randomized = True

    def __call__(self, classifier: Any, context: Any) -> Any:
        return Safer(copies=4)(classifier, toy_context(context.seed, noise=context.noise))


@pytest.fixture
def toys():
    MODELS.register("toy-det", ToyEntry(False))
    MODELS.register("toy-stoch", ToyEntry(True))
    DEFENSES.register("toy-safer", ToySafer())
    try:
        yield
    finally:
        MODELS.unregister("toy-det")
        MODELS.unregister("toy-stoch")
        DEFENSES.unregister("toy-safer")


def campaign(noise=("frozen",), models=("toy-det",), defenses=("toy-safer",), draws=9):
    return campaign_from_dict({"campaign": {"name": "randomized", "models": list(models), "recipes": ["pwws"],
                                            "noise": list(noise), "defenses": list(defenses), "seed": 3},
                               "verdict": {"draws": draws}})


def test_a_randomized_defense_cell_needs_a_noise_mode_and_one_it_draws_by(toys):
    c = campaign()
    with pytest.raises(UserError, match="defense 'toy-safer' is randomized; its cell needs a noise mode"):
        build_classifier(Cell("sst2", "toy-det", "toy-safer", "pwws", "none"), c)
    for noise in ("direct", "crn-2"):
        with pytest.raises(UserError, match=f"'{noise}' is a mode of a spiking model's input"):
            build_classifier(Cell("sst2", "toy-det", "toy-safer", "pwws", noise), c)
    # Without the defense the network is deterministic as ever.
    with pytest.raises(UserError, match="model 'toy-det' is deterministic"):
        build_classifier(Cell("sst2", "toy-det", "none", "pwws", "frozen"), c)


@pytest.mark.parametrize("model, noise, network, draws", [
    ("toy-det", "fresh", None, "fresh"),
    ("toy-det", "frozen", None, "frozen"),
    ("toy-det", "mean-3", None, "mean-3"),
    ("toy-stoch", "fresh", "fresh", "fresh"),
    ("toy-stoch", "frozen", "frozen", "frozen"),
    ("toy-stoch", "mean-3", "fresh", "mean-3"),  # the defense averages; each copy one fresh network draw
    ("toy-stoch", "direct", "direct", "frozen"),
    ("toy-stoch", "crn-2", "crn-2", "frozen"),
])
def test_the_cells_mode_governs_the_network_and_the_defense(toys, model, noise, network, draws):
    c = campaign()
    classifier, verdict_draws, verdict = victim(Cell("sst2", model, "toy-safer", "pwws", noise), c)
    assert classifier.randomized and str(classifier.draws) == draws
    assert classifier.describe()["defense"]["draws"] == draws and classifier.seed == 3
    assert classifier.base.describe()["encoding"] == network
    if network is not None:
        assert classifier.base.encoding.seed == 3  # the campaign seed
    if noise == "direct":  # a deterministic form: no verdict
        assert verdict_draws == 0 and verdict is None
    else:  # judged as deployed: fresh draws of everything
        assert verdict_draws == 9 and str(verdict.draws) == "fresh"
        assert verdict.base.describe()["encoding"] == (None if model == "toy-det" else "fresh")


def test_the_verdict_over_a_randomized_defense_is_reproducible(toys):
    import torch

    from robustsnn.campaign.verdict import majority_votes

    _, draws, verdict = victim(Cell("sst2", "toy-det", "toy-safer", "pwws", "frozen"), campaign(draws=15))
    torch.manual_seed(1)
    first = majority_votes(verdict, list(TEXTS), 1, draws, early_stop=False)
    torch.manual_seed(1)
    assert majority_votes(verdict, list(TEXTS), 1, draws, early_stop=False) == first
    assert any(0 < v.label_votes < draws for v in first)  # fresh draws disagree somewhere


def test_cells_give_a_deterministic_model_under_a_randomized_defense_the_modes_it_draws_by(toys):
    c = campaign(noise=("fresh", "frozen", "mean-3", "direct", "crn-2"), models=("toy-det", "toy-stoch"),
                 defenses=("none", "toy-safer", "fgws"))
    grid = {(cell.model, cell.defense): [] for cell in cells(c)}
    for cell in cells(c):
        grid[cell.model, cell.defense].append(cell.noise)
    assert grid["toy-det", "none"] == ["none"] and grid["toy-det", "fgws"] == ["none"]
    assert grid["toy-det", "toy-safer"] == ["fresh", "frozen", "mean-3"]
    for defense in ("none", "toy-safer", "fgws"):
        assert grid["toy-stoch", defense] == ["fresh", "frozen", "mean-3", "direct", "crn-2"]


def test_api_attack_cells_of_a_randomized_defense_name_a_mode(toys):
    from robustsnn.api import _cell_noise

    c = campaign(noise=("direct", "mean-3"))
    assert str(_cell_noise("toy-det", False, None, c, "toy-safer")) == "mean-3"  # the first mode it draws by
    assert _cell_noise("toy-det", False, None, c, "none") == "none"
    with pytest.raises(UserError, match="defense 'toy-safer' is randomized; give a noise mode"):
        _cell_noise("toy-det", False, "none", c, "toy-safer")
    with pytest.raises(UserError, match="lists none of them; give --noise"):
        _cell_noise("toy-det", False, None, campaign(noise=("direct",)), "toy-safer")


def test_a_log_from_before_the_defense_drew_by_mode_resumes_as_frozen():
    from robustsnn.records.identity import first_difference

    before = {"model": {"model": "snn", "defense": {"name": "safer", "copies": 16, "seed": 0}}}
    frozen = {"model": {"model": "snn", "defense": {"name": "safer", "copies": 16, "seed": 0, "draws": "frozen"}}}
    fresh = {"model": {"model": "snn", "defense": {"name": "safer", "copies": 16, "seed": 0, "draws": "fresh"}}}
    assert first_difference(before, frozen) is None
    assert first_difference(before, fresh) == ("model.defense.draws", "frozen", "fresh")


def test_frozen_cells_answer_as_before_issue_33(toys):
    """A frozen cell's classifier is the keyed SAFER: the same outputs as one built outside a campaign."""
    classifier = build_classifier(Cell("sst2", "toy-det", "toy-safer", "pwws", "frozen"), campaign())
    alone = Safer(copies=4)(ToyClassifier(), toy_context(3))
    np.testing.assert_array_equal(classifier.predict_proba(list(TEXTS)), alone.predict_proba(list(TEXTS)))


def test_list_defenses_says_which_are_randomized():
    from robustsnn.cli.registry import _defense_summary

    assert _defense_summary("safer", DEFENSES.get("safer")).endswith("Randomized: judged by its majority over "
                                                                    "fresh draws.")
    assert "andomized" not in _defense_summary("fgws", DEFENSES.get("fgws"))


def test_the_committed_safer_records_read_as_they_were_logged():
    """results/attacks/defenses holds SAFER runs from before issue 33: the TextCNN's under noise
    'none' (one frozen draw, no verdict) and the SNN's under 'frozen' (frozen spikes and frozen
    SAFER draws, with a verdict over fresh spikes). They load unchanged; the TextCNN's stays a
    deterministic run, never pooled with a randomized textcnn+safer; the shipped campaign now
    names that cell's mode, frozen (the same model: its rerun would log under a new name)."""
    from pathlib import Path

    from robustsnn.analysis.worst_case import run_from_record
    from robustsnn.campaign.spec import load_campaign
    from robustsnn.records.find import find_records

    folder = Path(__file__).resolve().parents[1] / "results" / "attacks" / "defenses"
    runs = {(r.cell.model, r.cell.noise): run_from_record(r) for r in find_records(folder) if r.cell.defense == "safer"}
    assert set(runs) == {("textcnn", "none"), ("snn", "frozen")}
    textcnn, snn = runs["textcnn", "none"], runs["snn", "frozen"]
    assert (textcnn.form, textcnn.stochastic, len(textcnn.examples)) == ("-", False, 100)
    assert (snn.form, snn.stochastic, len(snn.examples)) == ("poisson", True, 100)
    assert "draws" not in textcnn.record.model["defense"]  # frozen, as records/identity.py reads it
    grid = {(c.model, c.defense): c.noise for c in cells(load_campaign("defenses"))}
    assert grid["textcnn", "safer"] == "frozen" and grid["textcnn", "fgws"] == "none"


def test_a_log_voted_on_with_frozen_defense_draws_is_never_extended_with_fresh_ones(tmp_path):
    """Before issue 33 the verdict of an SNN+SAFER cell drew fresh spikes but SAFER's frozen
    draws; now it draws both fresh. Its log (the committed one, copied here) is refused rather
    than extended with rows of the other verdict, and so is a log with an identity from before."""
    import shutil
    from pathlib import Path

    from robustsnn.campaign.runner import open_log, verdict_defense_draws
    from robustsnn.campaign.spec import load_campaign
    from robustsnn.records.identity import first_difference, run_identity
    from robustsnn.records.record import RunRecord

    committed = Path(__file__).resolve().parents[1] / "results" / "attacks" / "defenses"
    stem = "sst2__snn__safer__pwws__frozen__shared-swap"
    for suffix in (".csv", ".json"):
        shutil.copy(committed / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    before = (tmp_path / f"{stem}.csv").read_bytes()
    c = load_campaign("defenses")
    record = RunRecord.load(tmp_path / f"{stem}.json")
    cell = Cell("sst2", "snn", "safer", "pwws", "frozen")
    assert verdict_defense_draws(cell, 20) == "fresh" and verdict_defense_draws(cell, 0) is None
    assert verdict_defense_draws(Cell("sst2", "snn", "fgws", "pwws", "frozen"), 20) is None
    identity = run_identity(c, cell, {**record.model, "defense": {**record.model["defense"], "draws": "frozen"}},
                            record.attack, 20, verdict_defense_draws(cell, 20))
    with pytest.raises(UserError, match="voted on with defense 'safer' drawing frozen"):
        open_log(tmp_path / f"{stem}.csv", tmp_path / f"{stem}.json", c, identity, log=lambda _: None)
    assert (tmp_path / f"{stem}.csv").read_bytes() == before  # nothing written
    # A log with an identity line from before names the field that differs.
    old = {k: v for k, v in identity.items() if k != "verdict_defense_draws"}
    assert first_difference(old, identity)[0] == "verdict_defense_draws"
