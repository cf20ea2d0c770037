"""Attack campaigns: which attack recipes run against which models, on which
examples, under one block of shared constraints (``attacks/*.toml``).

A campaign file has four tables whose keys map 1:1 onto the dataclasses below
(``[threat]`` onto :class:`robustsnn.attack.threat.ThreatModel`); unknown keys and
wrong types are errors naming the key. ``cells()`` expands the grid
datasets x models x defenses x recipes x noise modes; deterministic models run once
per grid point with noise ``none``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from dataclasses import asdict, dataclass, field, make_dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from ..config import apply_overrides, from_dict
from ..errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NOISE_NONE = "none"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    datasets: tuple[str, ...] = ("sst2",)
    models: tuple[str, ...] = ("textcnn", "snn")
    recipes: tuple[str, ...] = ("pwws",)
    # Spike-encoding modes for stochastic models: fresh | frozen | mean-<k>.
    noise: tuple[str, ...] = ("fresh", "frozen")
    defenses: tuple[str, ...] = ("none",)
    # Seeds the example selection, the frozen encoding and every per-example RNG.
    seed: int = 0


@dataclass(frozen=True)
class ExampleSelection:
    split: str = "test"
    # first: the first N lines of the split; random: N lines drawn with the campaign seed.
    selection: str = "first"
    num_examples: int = 1000
    # Keep only texts with at least this many whitespace-separated words (0 = all).
    min_words: int = 0


@dataclass(frozen=True)
class VerdictSpec:
    # Final verdict for stochastic models: re-score every clean and every final text
    # with this many fresh draws (majority vote); 0 turns it off.
    draws: int = 100


def _threat_cls() -> type:
    from .threat import ThreatModel

    return ThreatModel


@dataclass(frozen=True)
class Campaign:
    campaign: CampaignSpec
    examples: ExampleSelection = field(default_factory=ExampleSelection)
    threat: Any = None  # ThreatModel (imported lazily: it lives beside TextAttack code)
    verdict: VerdictSpec = field(default_factory=VerdictSpec)
    source: str = ""  # the file it came from

    def to_dict(self) -> dict[str, Any]:
        return {"campaign": asdict(self.campaign), "examples": asdict(self.examples),
                "threat": self.threat.to_dict(), "verdict": asdict(self.verdict)}


@dataclass(frozen=True)
class Cell:
    """One run of the grid: an attack recipe against one model on one dataset."""

    dataset: str
    model: str
    defense: str
    recipe: str
    noise: str

    @property
    def key(self) -> str:
        return "__".join((self.dataset, self.model, self.defense, self.recipe, self.noise))


def campaign_from_dict(data: dict[str, Any], overrides: Sequence[str] = (), source: str = "") -> Campaign:
    threat_cls = _threat_cls()
    raw = json.loads(json.dumps(data))
    known = {"campaign", "examples", "threat", "verdict"}
    for key in raw:
        if key not in known:
            raise UserError(f"unknown campaign section '{key}' (known: {', '.join(sorted(known))})")
    if "campaign" not in raw:
        raise UserError("campaign file needs a [campaign] table with at least name = \"...\"")
    schema = make_dataclass("CampaignSchema", [("campaign", CampaignSpec), ("examples", ExampleSelection),
                                               ("threat", threat_cls), ("verdict", VerdictSpec)])
    raw = apply_overrides(raw, schema, overrides)  # --set threat.candidates=50 etc., type-checked
    spec = from_dict(CampaignSpec, raw["campaign"], "campaign.")
    examples = from_dict(ExampleSelection, raw.get("examples", {}), "examples.")
    threat = from_dict(threat_cls, raw.get("threat", {}), "threat.")
    verdict = from_dict(VerdictSpec, raw.get("verdict", {}), "verdict.")
    campaign = Campaign(spec, examples, threat, verdict, source)
    validate_campaign(campaign)
    return campaign


def load_campaign(path: str | Path, overrides: Sequence[str] = ()) -> Campaign:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"campaign file not found: {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"campaign file is not UTF-8: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"campaign {path} is not valid TOML: {exc}") from None
    return campaign_from_dict(data, overrides, source=str(path))


def parse_noise(noise: str, seed: int) -> Any:
    """``fresh`` / ``frozen`` / ``mean-<k>`` -> an Encoding (errors name the mode)."""
    from ..models.encoding import Encoding

    return Encoding.parse(noise, seed=seed)


def validate_campaign(c: Campaign) -> None:
    from ..data.registry import get_dataset_spec

    spec = c.campaign
    if not _NAME.match(spec.name):
        raise UserError(f"campaign.name '{spec.name}' must be letters, digits, '.', '_' or '-'")
    for key in ("datasets", "models", "recipes", "noise", "defenses"):
        values = getattr(spec, key)
        if not values:
            raise UserError(f"campaign.{key} must not be empty")
        if len(set(values)) != len(values):
            raise UserError(f"campaign.{key} lists a name twice")
    for name in spec.datasets:
        get_dataset_spec(name)
    for noise in spec.noise:
        parse_noise(noise, spec.seed)
    ex = c.examples
    if ex.split not in ("train", "dev", "test"):
        raise UserError("examples.split must be train, dev or test")
    if ex.selection not in ("first", "random"):
        raise UserError("examples.selection must be 'first' or 'random'")
    if ex.num_examples < 1:
        raise UserError("examples.num_examples must be positive")
    if ex.min_words < 0:
        raise UserError("examples.min_words must not be negative")
    if c.verdict.draws < 0:
        raise UserError("verdict.draws must not be negative")


def cells(c: Campaign) -> list[Cell]:
    """The grid in run order; names are checked against the registries first."""
    from ..defenses import DEFENSES, NO_DEFENSE
    from ..zoo import MODELS
    from .recipes import RECIPES

    spec = c.campaign
    for recipe in spec.recipes:
        RECIPES.entry(recipe)
    for defense in spec.defenses:  # checked before the first cell runs, not hours later
        if defense != NO_DEFENSE:
            DEFENSES.entry(defense)
    out = []
    for dataset in spec.datasets:
        for model in spec.models:
            stochastic = MODELS.get(model).stochastic
            for defense in spec.defenses:
                for recipe in spec.recipes:
                    for noise in (spec.noise if stochastic else (NOISE_NONE,)):
                        out.append(Cell(dataset, model, defense, recipe, noise))
    return out


@dataclass(frozen=True)
class Example:
    index: int  # line number in the split (0-based, header excluded)
    text: str
    label: int


def select_examples(dataset: Any, selection: ExampleSelection, seed: int) -> list[Example]:
    """The campaign's examples from ``dataset`` (a loaded :class:`Dataset`)."""
    split = dataset.split(selection.split)
    pool = [Example(i, t, y) for i, (t, y) in enumerate(zip(split.texts, split.labels))
            if len(t.split()) >= selection.min_words]
    if selection.selection == "random":
        # Shuffle-then-cut: the first 100 of a seed are also in its first 1000, so a
        # larger run extends a smaller one's log instead of contradicting it.
        random.Random(seed).shuffle(pool)
        return sorted(pool[: selection.num_examples], key=lambda e: e.index)
    return pool[: selection.num_examples]


def example_seed(seed: int, index: int) -> int:
    """A per-example seed, so a resumed run draws exactly as an uninterrupted one."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def with_examples(c: Campaign, num_examples: int | None) -> Campaign:
    if num_examples is None:
        return c
    return replace(c, examples=replace(c.examples, num_examples=num_examples))
