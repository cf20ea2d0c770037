"""Attack campaigns: which attack recipes run against which models, on which
examples, under one block of shared constraints (the shipped ones are package data,
``robustsnn/shipped/campaigns/<name>.toml``, run by name: ``robustsnn campaign paper``).

A campaign file has four tables whose keys map 1:1 onto the dataclasses below
(``[threat]`` onto :class:`robustsnn.attack.threat.ThreatModel`); unknown keys and
wrong types are errors naming the key. ``cells()`` expands the grid
datasets x models x defenses x recipes x noise modes; deterministic models run once
per grid point with noise ``none``, unless their defense is randomized (SAFER), which
draws by the noise mode (:func:`cell_modes`).
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from ..attack.threat import ThreatModel
from ..config import apply_overrides, from_dict, plain_copy
from ..errors import UserError
from ..noise import NONE, is_none
from ..paths import locate
from ..records.record import TRANSFER_PREFIX, RecordCell

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NOISE_NONE = NONE  # a deterministic model's cells (robustsnn/noise.py owns the vocabulary)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    datasets: tuple[str, ...] = ("sst2",)
    models: tuple[str, ...] = ("textcnn", "snn")
    recipes: tuple[str, ...] = ("pwws",)
    # Spike-encoding modes for stochastic models: fresh | frozen | mean-<k> | crn-<k> | direct.
    noise: tuple[str, ...] = ("fresh", "frozen")
    defenses: tuple[str, ...] = ("none",)
    # Seeds the example selection, the frozen encoding and every per-example RNG.
    seed: int = 0
    # TextAttack's goal function answers a text it has already scored (within one
    # example's search) from its cache, so with fresh noise each distinct text gets one
    # draw - what the paper's code did. false: every query is a new model call (a new
    # draw for a stochastic model).
    query_cache: bool = True
    # A cell where most examples have no candidate text (the swap's vocabulary does not
    # cover the dataset's language) is refused before it runs; true runs it anyway, its
    # examples logged "unattackable".
    allow_unattackable: bool = False


@dataclass(frozen=True)
class TransferSpec:
    """Transfer runs (robustsnn/campaign/transfer.py): the final texts of the attack runs
    against each ``sources`` model, replayed against each ``targets`` model (default:
    the campaign's other models) in each ``noise`` mode (default: the campaign's)."""

    sources: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    noise: tuple[str, ...] = ()


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


ZH_SWAPS = ("neighbours", "counterfitted")


@dataclass(frozen=True)
class ResourcesSpec:
    """Which offline resources the attacks on each language use (resources/chinese.py).
    English: the counter-fitted GloVe swap, always."""

    # Chinese word swap: "neighbours" = the K nearest words in the dataset's own word
    # vectors with at least zh_min_cos cosine; "counterfitted" = the English swap (it
    # offers nothing for Chinese words, so such cells are refused as unattackable).
    zh_swap: str = "neighbours"
    zh_min_cos: float = 0.5
    # Drop neighbours that add or drop a negation character (不, 没, 无, ...): a
    # distributional neighbour can be the word's negation.
    zh_negation_filter: bool = True
    # Drop neighbours that are antonyms through English (CC-CEDICT glosses x the
    # counter-fitting antonym lists: "便宜" cheap -> "贵" expensive).
    zh_antonym_filter: bool = True


@dataclass(frozen=True)
class Campaign:
    campaign: CampaignSpec
    examples: ExampleSelection = field(default_factory=ExampleSelection)
    threat: ThreatModel = field(default_factory=ThreatModel)
    verdict: VerdictSpec = field(default_factory=VerdictSpec)
    transfer: TransferSpec = field(default_factory=TransferSpec)
    resources: ResourcesSpec = field(default_factory=ResourcesSpec)
    # The file it came from: not a key of the file (config skips it).
    source: str = field(default="", metadata={"config": False})

    def to_dict(self) -> dict[str, Any]:
        return {"campaign": asdict(self.campaign), "examples": asdict(self.examples),
                "threat": self.threat.to_dict(), "verdict": asdict(self.verdict),
                "transfer": asdict(self.transfer), "resources": asdict(self.resources)}


@dataclass(frozen=True)
class Cell(RecordCell):
    """One run of the grid: an attack recipe against one model on one dataset.

    ``noise`` is given as an :class:`~robustsnn.models.encoding.Encoding` (what
    :func:`cells`, the CLI and :mod:`robustsnn.api` pass: the mode parsed where it
    entered) or as its spelling (``"frozen"``, ``"mean-20"``; ``"none"`` for a
    deterministic model), parsed here once. The cell then holds both: ``noise``, the
    canonical name (``str(encoding)``; it names the log files), and ``encoding``, the
    parsed Encoding (``None`` for ``"none"``) that every later stage receives. A cell's
    encoding has no seed of its own: the campaign seed is applied when the model is
    built (:func:`robustsnn.campaign.runner.build_classifier`).
    """

    noise: Any  # str | Encoding on input; always the canonical name once built
    encoding: Any = field(default=None, init=False, compare=False, repr=False)  # Encoding | None

    def __post_init__(self) -> None:
        encoding = cell_encoding(self.noise)
        object.__setattr__(self, "encoding", encoding)
        object.__setattr__(self, "noise", NOISE_NONE if encoding is None else str(encoding))


def campaign_from_dict(data: dict[str, Any], overrides: Sequence[str] = (), source: str = "") -> Campaign:
    """Build and validate a campaign; every type is checked by :func:`robustsnn.config.from_dict`
    against the annotations of :class:`Campaign` and its sections."""
    raw = plain_copy(data)  # deep copy; overrides must not touch the caller's dict
    known = ("campaign", "examples", "threat", "verdict", "transfer", "resources")
    for key in raw:
        if key not in known:
            raise UserError(f"unknown campaign section '{key}' (known: {', '.join(known)})")
    if "campaign" not in raw:
        raise UserError("campaign file needs a [campaign] table with at least name = \"...\"")
    raw = apply_overrides(raw, Campaign, overrides)  # --set threat.candidates=50 etc., type-checked
    campaign = replace(from_dict(Campaign, raw), source=source)
    validate_campaign(campaign)
    return campaign


def load_campaign(path: str | Path, overrides: Sequence[str] = ()) -> Campaign:
    """Read and validate a campaign: a shipped name (``paper``) or a file (see
    :func:`robustsnn.paths.locate`). Its ``source``, which run records keep as
    ``campaign_file``, is the shipped name, or the path as given for another file."""
    found = locate("campaign", path)
    try:
        data = tomllib.loads(found.file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"campaign file not found: {found.label}") from None
    except UnicodeDecodeError:
        raise UserError(f"campaign file is not UTF-8: {found.label}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"campaign {found.label} is not valid TOML: {exc}") from None
    return campaign_from_dict(data, overrides, source=found.label)


def parse_noise(noise: Any, seed: int = 0) -> Any:
    """``fresh`` / ``frozen`` / ``mean-<k>`` (or an Encoding, returned as it is) -> an
    Encoding; errors name the mode. The parser is :meth:`Encoding.parse`."""
    from ..models.encoding import Encoding

    return noise if isinstance(noise, Encoding) else Encoding.parse(noise, seed=seed)


def cell_encoding(noise: Any) -> Any:
    """What a :class:`Cell` holds for ``noise``: ``None`` for ``"none"``, else the
    Encoding with seed 0 (the campaign seed is applied when the model is built)."""
    if is_none(noise):
        return None
    encoding = parse_noise(noise)
    if encoding.seed != 0:
        raise UserError(f"a cell's encoding takes its seed from the campaign (campaign.seed), "
                        f"got {encoding!r}; set the seed on the campaign instead")
    return encoding


def noise_encodings(c: Campaign) -> tuple[Any, ...]:
    """``campaign.noise`` parsed: one Encoding per mode, in file order (seed 0; see
    :func:`cell_encoding`). Errors name the key."""
    return _parse_modes(c.campaign.noise, "campaign.noise")


def _parse_modes(modes: Sequence[str], key: str) -> tuple[Any, ...]:
    out = []
    for noise in modes:
        try:
            encoding = parse_noise(noise)
        except UserError as exc:
            raise UserError(f"{key}: {exc}") from None
        if str(encoding) != noise:  # one spelling: the file's is the log files' name
            raise UserError(f"{key}: write '{noise}' as '{encoding}'")
        out.append(encoding)
    return tuple(out)


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
    noise_encodings(c)  # parses every mode: a bad one stops the campaign before it runs
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
    if c.resources.zh_swap not in ZH_SWAPS:
        raise UserError(f"resources.zh_swap must be one of {', '.join(ZH_SWAPS)}, not '{c.resources.zh_swap}'")
    if not 0.0 <= c.resources.zh_min_cos <= 1.0:
        raise UserError("resources.zh_min_cos must lie in [0, 1]")


def cells(c: Campaign) -> list[Cell]:
    """The grid in run order; names are checked against the registries first."""
    from ..attack.recipes import RECIPES
    from ..defenses import DEFENSES, NO_DEFENSE

    spec = c.campaign
    encodings = noise_encodings(c)
    for recipe in spec.recipes:
        RECIPES.entry(recipe)
    for defense in spec.defenses:  # checked before the first cell runs, not hours later
        if defense != NO_DEFENSE:
            DEFENSES.entry(defense)
    out = []
    for dataset in spec.datasets:
        for model in spec.models:
            for defense in spec.defenses:
                for recipe in spec.recipes:
                    for noise in cell_modes(model, defense, encodings):
                        out.append(Cell(dataset, model, defense, recipe, noise))
    return out


def cell_modes(model: str, defense: str, modes: Sequence[Any]) -> tuple[Any, ...]:
    """The noise modes of ``modes`` that ``model`` under ``defense`` runs: all of them for
    a stochastic model; for a deterministic one under a randomized defense, those the
    defense draws by (fresh, frozen, mean-<k>: ``direct`` and ``crn-<k>`` are modes of a
    spiking model's input, which would repeat ``frozen`` here); else ``none`` alone."""
    from ..defenses import is_randomized
    from ..noise import DEFENSE_MODES
    from ..zoo import MODELS

    if MODELS.get(model).stochastic:
        return tuple(modes)
    if is_randomized(defense):
        return tuple(m for m in modes if parse_noise(m).mode in DEFENSE_MODES)
    return (NOISE_NONE,)


def transfer_recipe(source: Cell) -> str:
    """The recipe name a transfer from ``source`` is logged under (robustsnn/campaign/transfer.py)."""
    # A source under a training-time defense is another network: its name says so.
    model = source.model if source.defense == "none" else f"{source.model}+{source.defense}"
    name = f"{TRANSFER_PREFIX}{model}-{source.recipe}"
    return name if source.noise == NOISE_NONE else f"{name}-{source.noise}"


def transfer_cells(c: Campaign) -> list[tuple[Cell, Cell]]:
    """``(source, target)`` pairs of the campaign's transfer runs, in run order: every
    attack cell of a ``transfer.sources`` model (defense none) replayed against every
    target model, defense and noise mode. Names are checked like :func:`cells`'."""
    spec, tr = c.campaign, c.transfer
    if not tr.sources:
        return []
    sources = [s for s in cells(c) if s.model in tr.sources and s.defense == "none"]
    missing = sorted(set(tr.sources) - set(spec.models))
    if missing:
        raise UserError(f"transfer.sources names {', '.join(missing)}, not among campaign.models")
    targets = tr.targets or tuple(m for m in spec.models if m not in tr.sources)
    modes = _parse_modes(tr.noise, "transfer.noise") if tr.noise else noise_encodings(c)
    out = []
    for source in sources:
        for model in targets:
            for defense in spec.defenses:
                for noise in cell_modes(model, defense, modes):
                    out.append((source, Cell(source.dataset, model, defense, transfer_recipe(source), noise)))
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
