"""Recipes: every shipped one is valid and found by name; mistakes name the key."""

from pathlib import Path

import pytest

from robustsnn.config import load_recipe, recipe_from_dict
from robustsnn.data.registry import DATASETS
from robustsnn.errors import UserError

# Package data (robustsnn/shipped/recipes/), globbed in the checkout: a new file is covered.
RECIPES = sorted((Path(__file__).parents[1] / "robustsnn" / "shipped" / "recipes").glob("*.toml"))


def test_a_recipe_ships_for_every_dataset():
    from robustsnn.artifacts import OWN_RECIPE_KINDS
    from robustsnn.paths import shipped_names

    # One per dataset, plus <dataset>-<kind> for the models trained with settings of their own.
    own = {f"{d}-{kind}" for d in DATASETS for kind in OWN_RECIPE_KINDS}
    assert set(DATASETS) <= {p.stem for p in RECIPES} <= set(DATASETS) | own
    assert shipped_names("recipe") == sorted(p.stem for p in RECIPES)  # what the package finds


def test_recipes_by_name_and_by_path(tmp_path, monkeypatch):
    from robustsnn.paths import locate

    monkeypatch.chdir(tmp_path)  # not the checkout: the shipped names work from anywhere
    shipped = load_recipe("sst2")
    # The spellings of the checkout before the recipes became package data still work.
    shipped_path = str(next(p for p in RECIPES if p.stem == "sst2"))
    for spelling in ("recipes/sst2.toml", "sst2.toml", shipped_path):
        assert load_recipe(spelling) == shipped, spelling
        assert locate("recipe", spelling).label == "sst2"
    # A user's own file is read as it is, by its path, even where it shares a shipped name.
    (tmp_path / "recipes").mkdir()
    own = write(tmp_path / "recipes", '[data]\ndataset = "sst2"\nmax_len = 7\n')
    (tmp_path / "recipes" / "sst2.toml").write_text(own.read_text(), encoding="utf-8")
    for spelling in ("recipes/r.toml", "recipes/sst2.toml", str(own)):
        assert load_recipe(spelling).data.max_len == 7
        assert locate("recipe", spelling).label == spelling
    assert load_recipe("sst2") == shipped  # a bare name is always the shipped one


@pytest.mark.parametrize("spec", ["sst3", "sst3.toml", "recipes/sst3.toml", "attacks/sst2.toml", "nope/sst2.toml"])
def test_an_unknown_recipe_is_one_line_listing_the_shipped_names(spec):
    with pytest.raises(UserError) as info:
        load_recipe(spec)
    assert str(info.value) == (f"recipe file not found: {spec} (shipped recipes: chnsenti, mr, mr-spikformer, "
                               "sst2, sst2-spikformer, sst5, subj, waimai; or give the path of a .toml file)")


# The datasets' own recipes (the TextCNNs and the converted SNN); the spiking transformer's
# are checked in tests/test_spikformer.py.
@pytest.mark.parametrize("path", [p for p in RECIPES if p.stem in DATASETS], ids=lambda p: p.stem)
def test_shipped_recipe_is_valid(path):
    recipe = load_recipe(path)
    # A checkpoint stores the recipe as a plain dict and is rebuilt from it (models/loading.py).
    assert recipe_from_dict(recipe.to_dict()) == recipe
    spec = DATASETS[recipe.data.dataset]
    assert recipe.data.dataset == path.stem
    assert recipe.data.max_len == spec.max_len  # the authors' per-dataset lengths
    assert recipe.model.widths == (3, 4, 5) and recipe.model.maps == 100
    assert recipe.train.batch_size == 32 and recipe.finetune.lr == 1e-4
    assert recipe.snn.time_steps == 50 and recipe.snn.threshold == 1.0
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# robustsnn train --config {path.stem} --model tailored"  # runs as written, anywhere


def write(tmp_path, text):
    p = tmp_path / "r.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_unknown_key_is_named(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "sst2"\nmax_len = 25\n[train]\nlrr = 0.1\n')
    with pytest.raises(UserError, match=r"unknown config key 'train.lrr'"):
        load_recipe(p)


def test_unknown_section_is_named(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "sst2"\nmax_len = 25\n[trian]\nlr = 0.1\n')
    with pytest.raises(UserError, match=r"'trian'"):
        load_recipe(p)


def test_wrong_type_is_named(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "sst2"\nmax_len = "25"\n')
    with pytest.raises(UserError, match=r"'data.max_len' must be an integer"):
        load_recipe(p)


def test_bool_is_not_an_int(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "sst2"\nmax_len = true\n')
    with pytest.raises(UserError, match="data.max_len"):
        load_recipe(p)


def test_missing_required_key(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "sst2"\n')
    with pytest.raises(UserError, match=r"'data.max_len' is required"):
        load_recipe(p)


def test_unknown_dataset(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "imdb"\nmax_len = 25\n')
    with pytest.raises(UserError, match="unknown dataset 'imdb'"):
        load_recipe(p)


def test_malformed_toml_and_missing_file(tmp_path):
    with pytest.raises(UserError, match="not valid TOML"):
        load_recipe(write(tmp_path, "[data\n"))
    with pytest.raises(UserError, match="not found"):
        load_recipe(tmp_path / "absent.toml")


def test_overrides_are_typed():
    base = {"data": {"dataset": "sst2", "max_len": 25}}
    r = recipe_from_dict(base, ["train.lr=1e-4", "model.widths=[2, 3]", "embedding.path=/x y",
                                "model.freeze_embedding=true"])
    assert r.train.lr == 1e-4 and r.model.widths == (2, 3)
    assert r.embedding.path == "/x y" and r.model.freeze_embedding is True
    assert base == {"data": {"dataset": "sst2", "max_len": 25}}  # caller's dict untouched


@pytest.mark.parametrize("text, value", [('"/x y"', "/x y"), ("'/x y'", "/x y"), ("/x y", "/x y"),
                                         ('"a\\tb"', "a\tb"), ('"unclosed', '"unclosed'), ('"', '"')])
def test_text_overrides_take_toml_strings_unquoted(text, value):
    r = recipe_from_dict({"data": {"dataset": "sst2", "max_len": 25}}, [f"embedding.path={text}"])
    assert r.embedding.path == value


@pytest.mark.parametrize("override, message", [
    ("train.lrr=1", "unknown config key 'train.lrr'"),
    ("nosuch.x=1", "unknown config key 'nosuch'"),
    ("train.batch_size=big", "'train.batch_size' must be an integer"),
    ("train=1", "is a section"),
    ("train.lr", "section.key=value"),
])
def test_bad_overrides(override, message):
    with pytest.raises(UserError, match=message):
        recipe_from_dict({"data": {"dataset": "sst2", "max_len": 25}}, [override])


def test_semantic_validation(tmp_path):
    p = write(tmp_path, '[data]\ndataset = "sst2"\nmax_len = 25\n[embedding]\nsource = "file"\n')
    with pytest.raises(UserError, match="embedding.path is required"):
        load_recipe(p)
    with pytest.raises(UserError, match="train.lr must be positive"):
        load_recipe(RECIPES[0], ["train.lr=0"])


def test_to_dict_round_trips():
    r = load_recipe(RECIPES[0])
    assert recipe_from_dict(r.to_dict()) == r
