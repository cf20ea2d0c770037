"""Campaigns: every shipped one (``robustsnn/shipped/campaigns/*.toml``, globbed, so a new
file is covered the day it lands) loads, validates and expands to a grid of built-in names
only; they are found by name, by their old ``attacks/<name>.toml`` spelling and by path."""

from pathlib import Path

import pytest

from robustsnn.attack.threat import ThreatModel
from robustsnn.campaign.spec import NOISE_NONE, campaign_from_dict, cells, load_campaign
from robustsnn.data.registry import DATASETS
from robustsnn.errors import UserError
from robustsnn.registry import BUILTIN

CAMPAIGNS = sorted((Path(__file__).parents[1] / "robustsnn" / "shipped" / "campaigns").glob("*.toml"))


def test_campaigns_ship():
    from robustsnn.paths import shipped_names

    names = {p.stem for p in CAMPAIGNS}
    # The README's and the Makefile's campaigns; more may come, none may go silently.
    assert {"demo", "paper", "textdefender", "defenses"} <= names
    assert shipped_names("campaign") == sorted(names)  # what the package finds


def test_campaigns_by_name_and_by_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the checkout: the shipped names work from anywhere
    paper = load_campaign("paper")
    # What run records keep as campaign_file: the shipped name, however it was spelled;
    # attacks/paper.toml is how records written in a checkout before the move name it.
    assert paper.source == "paper"
    shipped_path = str(next(p for p in CAMPAIGNS if p.stem == "paper"))
    for spelling in ("attacks/paper.toml", "paper.toml", shipped_path):
        c = load_campaign(spelling)
        assert c == paper and c.source == "paper", spelling
    # A user's own file: read by its path, and recorded by the path as given.
    (tmp_path / "attacks").mkdir()
    (tmp_path / "attacks" / "paper.toml").write_text('[campaign]\nname = "mine"\n', encoding="utf-8")
    mine = load_campaign("attacks/paper.toml")
    assert (mine.campaign.name, mine.source) == ("mine", "attacks/paper.toml")
    assert load_campaign("paper") == paper  # a bare name is always the shipped one


def test_an_unknown_campaign_is_one_line_listing_the_shipped_names():
    with pytest.raises(UserError) as info:
        load_campaign("papr")
    message = str(info.value)
    assert message.startswith("campaign file not found: papr (shipped campaigns: adaptive, adaptive-k, ")
    assert "paper" in message and "\n" not in message


def test_list_shows_the_shipped_files():
    from robustsnn.cli.registry import list_entries

    configs = {r["name"]: r for r in list_entries("configs")}
    spikformer = {f"{d}-spikformer" for d in ("sst2", "mr")}  # the spiking transformer's own recipes
    assert set(configs) == set(DATASETS) | spikformer and configs["sst2"]["source"] == "robustsnn (shipped)"
    assert configs["sst2"]["summary"].startswith("SST-2 (binary Stanford Sentiment Treebank")
    assert configs["mr-spikformer"]["summary"].startswith("The spiking transformer")
    campaigns = {r["name"]: r for r in list_entries("campaigns")}
    assert set(campaigns) == {p.stem for p in CAMPAIGNS}
    assert campaigns["demo"]["summary"] == "The attack stage of the demo in miniature"


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.stem)
def test_shipped_campaign_is_valid(path):
    from robustsnn.attack.recipes import RECIPES
    from robustsnn.defenses import DEFENSES, NO_DEFENSE, is_randomized
    from robustsnn.zoo import MODELS

    first = path.read_text(encoding="utf-8").splitlines()[0]
    # The first line says how to run it, as written, from any folder.
    assert first.startswith(f"# robustsnn campaign {path.stem}"), first
    assert first[len(f"# robustsnn campaign {path.stem}"):][:1] in ("", " ")
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
        if MODELS.get(cell.model).stochastic or is_randomized(cell.defense):
            assert cell.noise in spec.noise  # a randomized defense draws by the mode (issue 33)
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
