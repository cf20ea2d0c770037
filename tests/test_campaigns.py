"""Campaigns: every shipped one (``attacks/*.toml``, globbed, so a new file is covered
the day it lands) loads, validates and expands to a grid of built-in names only."""

from pathlib import Path

import pytest

from robustsnn.attack.threat import ThreatModel
from robustsnn.campaign.spec import NOISE_NONE, campaign_from_dict, cells, load_campaign
from robustsnn.data.registry import DATASETS
from robustsnn.registry import BUILTIN

CAMPAIGNS = sorted((Path(__file__).parents[1] / "attacks").glob("*.toml"))


def test_campaigns_ship():
    names = {p.stem for p in CAMPAIGNS}
    # The README's and the Makefile's campaigns; more may come, none may go silently.
    assert {"demo", "paper", "textdefender", "defenses"} <= names


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.stem)
def test_shipped_campaign_is_valid(path):
    from robustsnn.attack.recipes import RECIPES
    from robustsnn.defenses import DEFENSES, NO_DEFENSE
    from robustsnn.zoo import MODELS

    rel = f"attacks/{path.name}"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"# robustsnn campaign {rel}"), "the first line says how to run it"
    c = load_campaign(path)  # parses, type-checks and validates (names, noise modes, ranges)
    spec = c.campaign
    # Results go to <results>/<campaign.name>/: one name per file, so no two shipped
    # campaigns share (and refuse or mix) each other's logs.
    assert spec.name == path.stem

    grid = cells(c)  # checks every recipe and defense name against its registry
    assert grid, "empty grid"
    assert len(set(grid)) == len(grid), "a cell twice"
    for cell in grid:
        assert cell.dataset in DATASETS
        assert MODELS.entry(cell.model).source == BUILTIN, f"{cell.model}: a shipped campaign needs a plugin"
        assert RECIPES.entry(cell.recipe).source == BUILTIN, cell.recipe
        assert cell.defense == NO_DEFENSE or DEFENSES.entry(cell.defense).source == BUILTIN, cell.defense
        if MODELS.get(cell.model).stochastic:
            assert cell.noise in spec.noise
        else:  # deterministic models run once per grid point
            assert cell.noise == NOISE_NONE
    # The grid is the full product: nothing in the file is silently dropped.
    assert {(x.dataset, x.model, x.defense, x.recipe) for x in grid} == {
        (d, m, f, r) for d in spec.datasets for m in spec.models for f in spec.defenses for r in spec.recipes}
    stochastic = [m for m in spec.models if MODELS.get(m).stochastic]
    if stochastic:
        assert {x.noise for x in grid if x.model in stochastic} == set(spec.noise)

    # The threat model and the whole campaign round-trip through their records, which
    # is what check_same_experiment compares when a run is resumed.
    assert ThreatModel(**c.threat.to_dict()) == c.threat
    assert campaign_from_dict(c.to_dict(), source=c.source) == c
