"""robustsnn.testing: every registered model kind and defense passes the contract, and
deliberately broken classifiers and defenses fail it with a message naming the check."""

import numpy as np
import pytest

from conftest import make_tiny_dataset, tiny_recipe_dict
from robustsnn.classifier import check_texts
from robustsnn.defenses import DEFENSES, DefendedClassifier
from robustsnn.errors import UserError
from robustsnn.testing import ContractError, ToyClassifier, check_defense, check_model, toy_context
from robustsnn.zoo import MODELS, CheckpointModel

QUIET = {"log": lambda _: None}


# ---------------------------------------------------------------- registered entries


@pytest.mark.parametrize("name", DEFENSES.names())
def test_every_registered_defense_passes_the_contract(name):
    passed = check_defense(name)
    assert {"wrapper", "probabilities", "batch invariance", "no state leak", "bad input",
            "describe", "rebuild"} <= set(passed)
    assert ("randomized" in passed) == bool(getattr(DEFENSES.get(name), "randomized", False))


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory):
    """Every built-in model kind, trained in seconds on the toy 'sst2', where the zoo looks."""
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train
    from robustsnn.train.convert import convert
    from robustsnn.train.snn import finetune, train_direct

    root = tmp_path_factory.mktemp("zoo")
    mp = pytest.MonkeyPatch()
    mp.setenv("ROBUSTSNN_DATA", str(make_tiny_dataset(root / "data")))
    mp.setenv("ROBUSTSNN_RUNS", str(root / "runs"))
    try:
        runs = root / "runs" / "sst2"
        recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}, snn={"time_steps": 8},
                                                   finetune={"max_epochs": 1}))
        train(recipe, "textcnn", runs / "textcnn", **QUIET)
        train(recipe, "tailored", runs / "tailored", **QUIET)
        convert(runs / "tailored" / "best.pt", "none", out=runs / "snn" / "converted-none.pt", **QUIET)
        finetune(runs / "snn" / "converted-none.pt", runs / "snn-finetuned-none", **QUIET)
        train_direct(recipe, runs / "snn-direct", **QUIET)
        spikformer = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2},
                                                       spikformer={"width": 16, "heads": 2, "time_steps": 4}))
        train(spikformer, "spikformer", runs / "spikformer", **QUIET)
        yield runs
    finally:
        mp.undo()


@pytest.mark.parametrize("name", MODELS.names())
def test_every_registered_model_kind_passes_the_contract(name, tiny_zoo, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_DATA", str(tiny_zoo.parents[1] / "data"))
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tiny_zoo.parent))
    entry = MODELS.get(name)
    if not isinstance(entry, CheckpointModel):
        pytest.skip(f"'{name}' comes from a plugin; its author checks it with check_model")
    assert entry.default_checkpoint("sst2").is_file()
    passed = check_model(name, dataset="sst2")
    assert "batch invariance" in passed  # stochastic kinds are checked in frozen mode too


def test_defenses_compose_with_the_snn_encodings(tiny_zoo, monkeypatch):
    """A defense wraps the SNN whatever its noise mode: frozen stays deterministic."""
    from robustsnn.models.encoding import Encoding

    monkeypatch.setenv("ROBUSTSNN_DATA", str(tiny_zoo.parents[1] / "data"))
    entry = MODELS.get("snn-converted")
    checkpoint = tiny_zoo / "snn" / "converted-none.pt"
    for name in ("safer", "fgws"):
        frozen = entry.load("sst2", checkpoint, Encoding("frozen", seed=1))
        assert "rebuild" in check_defense(name, base=frozen)
        fresh = entry.load("sst2", checkpoint, Encoding("fresh"))
        defended = DEFENSES.get(name)(fresh, toy_context())
        assert "batch invariance" not in check_defense(name, base=fresh, deterministic=False)
        assert defended.model is fresh.model and defended.describe()["encoding"] == "fresh"


# ---------------------------------------------------------------- broken classifiers


class Base:
    num_classes = 2

    def score(self, texts):
        return np.array([len(t) % 7 / 7 for t in texts], dtype=np.float64)

    def predict_proba(self, texts):
        texts = check_texts(texts)
        p = self.score(texts)
        return np.stack([1 - p, p], axis=1)

    def describe(self):
        return {"model": type(self).__name__}


class RowsDoNotSum(Base):
    def predict_proba(self, texts):
        return super().predict_proba(texts) * 1.3


class Negative(Base):
    def predict_proba(self, texts):
        return super().predict_proba(texts) * np.array([2.0, -1.0])


class BatchDependent(Base):
    """Normalises scores over the batch (a BatchNorm left in training mode)."""

    def score(self, texts):
        raw = super().score(texts)
        return np.clip(raw - raw.mean() + 0.5, 0, 1)


class Drifting(Base):
    """Answers move with every call (e.g. an RNG that is never re-seeded)."""

    calls = 0

    def score(self, texts):
        self.calls += 1
        return np.clip(super().score(texts) + 0.01 * self.calls, 0, 1)


class Leaky(Base):
    """Shifts its answers by how many distinct texts it has ever seen: consistent within
    a batch and for repeated texts, but an unrelated call changes what comes after."""

    def __init__(self):
        self.seen = set()

    def score(self, texts):
        self.seen.update(texts)
        return np.clip(super().score(texts) + 0.01 * len(self.seen), 0, 1)


class Lenient(Base):
    def predict_proba(self, texts):
        texts = list(texts)
        return np.stack([1 - self.score(texts), self.score(texts)], axis=1)


class WrongError(Base):
    def predict_proba(self, texts):
        if isinstance(texts, str) or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise ValueError("bad input")
        return super().predict_proba(texts)


class Unstorable(Base):
    def describe(self):
        return {"model": object()}


@pytest.mark.parametrize("classifier, message", [
    (RowsDoNotSum(), r"probabilities: rows must sum to 1; a row sums to 1\.3"),
    (Negative(), "probabilities: predict_proba returned negative values"),
    (BatchDependent(), "batch invariance: one batch and one text at a time answer differently"),
    (Drifting(), "batch invariance|repeatability"),
    (Leaky(), "no state leak: an unrelated call in between changed the answer"),
    (Lenient(), "bad input: an empty text was accepted"),
    (WrongError(), "bad input: an empty text raised ValueError"),
    (Unstorable(), "describe: describe\\(\\) must be JSON-serialisable"),
    (object(), "interface: object is not a TextClassifier"),
])
def test_broken_classifiers_fail_naming_the_check(classifier, message):
    with pytest.raises(ContractError, match=message):
        check_model(classifier)


def test_a_stochastic_classifier_is_checked_without_comparing_answers():
    assert "batch invariance" not in check_model(Drifting(), deterministic=False)
    with pytest.raises(ContractError, match="probabilities"):
        check_model(RowsDoNotSum(), deterministic=False)


def test_contract_errors_are_assertion_errors():
    assert issubclass(ContractError, AssertionError)
    with pytest.raises(UserError, match="at least two texts"):
        check_model(Base(), texts=["one"])


# ---------------------------------------------------------------- broken defenses


def test_a_defense_must_keep_its_base():
    def rebuilds_the_base(classifier, context):
        return DefendedClassifier(ToyClassifier(), "copycat")

    with pytest.raises(ContractError, match="wrapper: the defended classifier must keep the wrapped one as .base"):
        check_defense(rebuilds_the_base)


def test_a_defense_must_name_itself():
    class Anonymous(DefendedClassifier):
        def describe(self):
            return self.base.describe()

    with pytest.raises(ContractError, match=r'describe: describe\(\) must hold \{"defense"'):
        check_defense(lambda classifier, context: Anonymous(classifier, "anonymous"))


def test_a_defense_on_global_randomness_fails():
    class Dropout(DefendedClassifier):
        """Drops words at random with the process-global RNG."""

        def transform(self, texts):
            rng = np.random.default_rng()
            return [" ".join(w for w in t.split() if rng.random() > 0.5) or t for t in texts]

    with pytest.raises(ContractError, match="batch invariance|repeatability"):
        check_defense(lambda classifier, context: Dropout(classifier, "dropout"))


def test_registered_name_must_match_the_description():
    DEFENSES.register("misnamed", lambda classifier, context: DefendedClassifier(classifier, "other"))
    try:
        with pytest.raises(ContractError, match="names the defense 'other', registered as 'misnamed'"):
            check_defense("misnamed")
    finally:
        DEFENSES.unregister("misnamed")


class Coin(DefendedClassifier):
    """Randomized: in fresh mode, drops each word with probability 1/2 (frozen: keeps them all)."""

    randomized = True

    def __init__(self, base, context, rng=None):
        super().__init__(base, "coin")
        self.fresh = context.draws.mode == "fresh"
        self.rng = rng

    def transform(self, texts):
        if not self.fresh:
            return texts
        rng = self.rng or np.random  # the global RNG, as the contract asks, unless given its own
        return [" ".join(w for w in t.split() if rng.random() > 0.5) or t for t in texts]


class CoinBuilder:
    randomized = True

    def __init__(self, own_rng=False):
        self.own_rng = own_rng

    def __call__(self, classifier, context):
        return Coin(classifier, context, np.random.default_rng() if self.own_rng else None)


def test_a_randomized_defense_drawing_from_the_global_rngs_passes():
    assert "randomized" in check_defense(CoinBuilder())


def test_a_randomized_defense_with_an_unseeded_rng_of_its_own_fails():
    with pytest.raises(ContractError, match="randomized: fresh draws differ under the same seeds"):
        check_defense(CoinBuilder(own_rng=True))


def test_a_randomized_classifier_needs_a_randomized_builder():
    with pytest.raises(ContractError, match="randomized: the defended classifier says randomized = True but its"):
        check_defense(lambda classifier, context: Coin(classifier, context))
