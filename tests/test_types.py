"""Type checks in one place: config.py checks every value a file gives against the
dataclass annotations; __post_init__ methods check ranges through robustsnn.checks,
which also refuse wrong types when a dataclass is built directly in Python."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from robustsnn.attack.threat import ThreatModel
from robustsnn.campaign.spec import Campaign, campaign_from_dict, load_campaign
from robustsnn.checks import is_int, is_number, require_choice, require_fraction
from robustsnn.config import from_dict, load_recipe, recipe_from_dict
from robustsnn.defenses import DefenseContext
from robustsnn.defenses.fgws import FGWS
from robustsnn.defenses.safer import Safer
from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding

RECIPE = {"data": {"dataset": "sst2", "max_len": 25}}
CAMPAIGN = {"campaign": {"name": "t"}}


def with_section(base: dict, section: str, **values: object) -> dict:
    return {**base, section: {**base.get(section, {}), **values}}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ wrong types, named by key


def test_recipe_key_of_the_wrong_type_is_named():
    with pytest.raises(UserError, match=r"^config key 'train.lr' must be a number, got 'fast'$"):
        recipe_from_dict(with_section(RECIPE, "train", lr="fast"))
    with pytest.raises(UserError, match=r"'model.widths\[1\]' must be an integer, got 4.5"):
        recipe_from_dict(with_section(RECIPE, "model", widths=[3, 4.5]))


def test_campaign_key_of_the_wrong_type_is_named():
    with pytest.raises(UserError, match=r"'campaign.seed' must be an integer, got 'x'"):
        campaign_from_dict(with_section(CAMPAIGN, "campaign", seed="x"))
    with pytest.raises(UserError, match=r"'campaign.datasets' must be a list, got 'sst2'"):
        campaign_from_dict(with_section(CAMPAIGN, "campaign", datasets="sst2"))
    with pytest.raises(UserError, match=r"'examples.split' must be a string, got 1"):
        campaign_from_dict(with_section(CAMPAIGN, "examples", split=1))
    with pytest.raises(UserError, match=r"'verdict.draws' must be an integer"):
        campaign_from_dict(CAMPAIGN, ["verdict.draws=many"])


def test_threat_key_of_the_wrong_type_is_named():
    with pytest.raises(UserError, match=r"'threat.candidates' must be an integer, got 'x'"):
        campaign_from_dict(with_section(CAMPAIGN, "threat", candidates="x"))
    with pytest.raises(UserError, match=r"'threat.stopwords' must be true or false, got 1"):
        campaign_from_dict(with_section(CAMPAIGN, "threat", stopwords=1))
    with pytest.raises(UserError, match=r"'threat.similarity' must be a number"):
        campaign_from_dict(CAMPAIGN, ["threat.similarity=high"])
    with pytest.raises(UserError, match=r"^candidates must be a positive integer, got 'x'$"):
        ThreatModel(candidates="x")  # built in Python: __post_init__ refuses it too


def test_a_range_error_from_a_section_names_the_full_key():
    with pytest.raises(UserError, match=r"^threat.candidates must be a positive integer, got 0$"):
        campaign_from_dict(with_section(CAMPAIGN, "threat", candidates=0))
    with pytest.raises(UserError, match=r"^threat.max_modification_rate must be in \(0, 1\]"):
        campaign_from_dict(CAMPAIGN, ["threat.max_modification_rate=2"])


@pytest.mark.parametrize("build, message", [
    (lambda: Safer(copies="4"), "safer copies must be a positive integer, got '4'"),
    (lambda: Safer(similarity="high"), "safer similarity must be a number, got 'high'"),
    (lambda: Safer(skip_stopwords="no"), "safer skip_stopwords must be true or false"),
    (lambda: FGWS(percentile=None), "fgws percentile must be a number, got None"),
    (lambda: FGWS(neighbours=2.0), "fgws neighbours must be a non-negative integer, got 2.0"),
    (lambda: FGWS(use_wordnet=0), "fgws use_wordnet must be true or false"),
    (lambda: from_dict(Safer, {"copies": "x"}, "safer."), "'safer.copies' must be an integer, got 'x'"),
    (lambda: from_dict(FGWS, {"percentile": 120}, "fgws."), "fgws percentile must be in \\[0, 100\\]"),
])
def test_defense_setting_of_the_wrong_type_is_refused(build, message):
    with pytest.raises(UserError, match=message):
        build()


@pytest.mark.parametrize("build, message", [
    (lambda: Encoding("mean-k", k="3"), "encoding k must be a positive integer, got '3'"),
    (lambda: Encoding("mean-k", k=2.0), "encoding k must be a positive integer, got 2.0"),
    (lambda: Encoding("frozen", seed="7"), "encoding seed must be a non-negative integer, got '7'"),
    (lambda: Encoding("frozen", seed=None), "encoding seed must be a non-negative integer, got None"),
])
def test_encoding_of_the_wrong_type_is_refused(build, message):
    with pytest.raises(UserError, match=message):
        build()


# ------------------------------------------------------------------ TOML dates and times


def test_a_toml_date_is_a_user_error_naming_the_key(tmp_path):
    path = write(tmp_path, '[campaign]\nname = "t"\nseed = 1979-05-27\n')
    with pytest.raises(UserError, match=r"'campaign.seed' must be an integer, got a TOML date/time "
                                        r"\(1979-05-27\)"):
        load_campaign(path)
    path = write(tmp_path, '[campaign]\nname = "t"\n[threat]\nsentence_encoder = 07:32:00\n')
    with pytest.raises(UserError, match=r"'threat.sentence_encoder' must be a string, got a TOML date/time"):
        load_campaign(path)
    with pytest.raises(UserError, match=r"'campaign.seed' must be an integer, got a TOML date/time"):
        campaign_from_dict(CAMPAIGN, ["campaign.seed=1979-05-27T07:32:00Z"])
    path = write(tmp_path, '[data]\ndataset = "sst2"\nmax_len = 1979-05-27\n')
    with pytest.raises(UserError, match=r"'data.max_len' must be an integer, got a TOML date/time"):
        load_recipe(path)


# ------------------------------------------------------------------ bool is not an int; an int is a float


@pytest.mark.parametrize("build, key", [
    (lambda: recipe_from_dict(with_section(RECIPE, "train", batch_size=True)), "train.batch_size"),
    (lambda: recipe_from_dict(RECIPE, ["snn.time_steps=true"]), "snn.time_steps"),
    (lambda: campaign_from_dict(with_section(CAMPAIGN, "campaign", seed=False)), "campaign.seed"),
    (lambda: campaign_from_dict(with_section(CAMPAIGN, "threat", candidates=True)), "threat.candidates"),
    (lambda: campaign_from_dict(with_section(CAMPAIGN, "threat", similarity=True)), "threat.similarity"),
    (lambda: ThreatModel(query_budget=False), "query_budget"),
    (lambda: Safer(copies=True), "safer copies"),
    (lambda: Safer(pseudo_votes=False), "safer pseudo_votes"),
    (lambda: FGWS(neighbours=True), "fgws neighbours"),
    (lambda: DefenseContext("sst2", seed=True), "defense seed"),
    (lambda: Encoding("mean-k", k=True), "encoding k"),
    (lambda: Encoding("frozen", seed=False), "encoding seed"),
])
def test_bool_is_refused_where_an_int_or_a_number_is_expected(build, key):
    with pytest.raises(UserError, match=re.escape(key)):
        build()


def test_an_int_is_accepted_for_a_float():
    recipe = recipe_from_dict(with_section(RECIPE, "train", lr=1), ["snn.beta=1"])
    assert recipe.train.lr == 1.0 and isinstance(recipe.train.lr, float)
    assert isinstance(recipe.snn.beta, float)
    campaign = campaign_from_dict(with_section(CAMPAIGN, "threat", similarity=0, max_modification_rate=1))
    assert isinstance(campaign.threat.similarity, float) and campaign.threat.max_modification_rate == 1.0
    assert Safer(similarity=1, pseudo_votes=0).similarity == 1
    assert FGWS(percentile=75).percentile == 75


# ------------------------------------------------------------------ what the checker supports


@dataclass(frozen=True)
class Inner:
    size: int = 1


@dataclass(frozen=True)
class Everything:
    mode: Literal["a", "b"] = "a"
    limit: int | None = None
    ratio: float | None = None
    pair: tuple[int, str] = (0, "")
    names: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)
    hidden: str = field(default="", metadata={"config": False})


def test_literal_optional_tuples_lists_and_nested_sections():
    built = from_dict(Everything, {"mode": "b", "limit": 3, "ratio": 1, "pair": [2, "x"],
                                   "names": ["p", "q"], "inner": {"size": 4}})
    assert built == Everything("b", 3, 1.0, (2, "x"), ["p", "q"], Inner(4))
    assert isinstance(built.ratio, float)
    assert from_dict(Everything, {"limit": None}) == Everything()
    for data, message in [
        ({"mode": "c"}, "'mode' must be one of a, b, got 'c'"),
        ({"limit": "3"}, "'limit' must be an integer, got '3'"),
        ({"limit": True}, "'limit' must be an integer, got True"),
        ({"pair": [1]}, r"'pair' must be a list of 2 values, got \[1\]"),
        ({"pair": [1, 2]}, r"'pair\[1\]' must be a string, got 2"),
        ({"names": ["p", 1]}, r"'names\[1\]' must be a string, got 1"),
        ({"inner": {"size": 1.5}}, "'inner.size' must be an integer, got 1.5"),
        ({"inner": 3}, "config section 'inner' must be a table"),
        ({"hidden": "x"}, "unknown config key 'hidden'"),
    ]:
        with pytest.raises(UserError, match=message):
            from_dict(Everything, data)


@pytest.mark.parametrize("build", [
    lambda: recipe_from_dict(RECIPE), lambda: campaign_from_dict(CAMPAIGN), ThreatModel, Safer, FGWS,
], ids=["Recipe", "Campaign", "ThreatModel", "Safer", "FGWS"])
def test_every_config_dataclass_round_trips_through_the_checker(build):
    instance = build()
    data = instance.to_dict() if hasattr(instance, "to_dict") else asdict(instance)
    assert from_dict(type(instance), data) == instance


def test_campaign_threat_is_a_threat_model():
    import typing

    assert typing.get_type_hints(Campaign)["threat"] is ThreatModel
    assert isinstance(Campaign(campaign_from_dict(CAMPAIGN).campaign).threat, ThreatModel)


def test_the_shared_predicates():
    assert is_int(3) and not is_int(True) and not is_int(3.0) and not is_int("3")
    assert is_number(3) and is_number(0.5) and not is_number(False) and not is_number("0.5")
    assert require_fraction("f", 1) == 1.0
    with pytest.raises(UserError, match="f must be in"):
        require_fraction("f", float("nan"))
    with pytest.raises(UserError, match="c must be one of 1, 2, got True"):
        require_choice("c", True, (1, 2))


def test_the_bool_versus_int_check_is_written_once():
    package = Path(__file__).resolve().parents[1] / "robustsnn"
    pattern = re.compile(r"isinstance\([^)]*,\s*bool\)\s*or\s+not\s+isinstance")
    found = [str(p.relative_to(package)) for p in package.rglob("*.py") if pattern.search(p.read_text())]
    assert found == [], found
