"""What the pipeline leaves under ``$ROBUSTSNN_RUNS``, where, and the command that builds it.

Every checkpoint path and every "build it with: ..." command is spelled here and only
here; training (default run folders), the model zoo (``robustsnn attack --model``), the
accuracy report (one row per artefact) and the CLI help read them from this module.

Per dataset, under ``<runs>/<dataset>/`` (``rwe-`` prefixed: the random-word-embedding
ablation of Table 3, same commands with ``--set embedding.source=random`` and ``--out``):

* ``textcnn/best.pt``, ``tailored/best.pt`` - the original and the tailored TextCNN
  (``robustsnn train --model textcnn|tailored``);
* ``snn/converted-<norm>.pt`` - the tailored net converted (``robustsnn convert --norm <norm>``);
* ``snn-finetuned-<norm>/best.pt`` - that net fine-tuned (``robustsnn finetune``);
* ``snn-direct/best.pt`` - the directly-trained SNN (``robustsnn train-snn``);
* ``spikformer/best.pt`` - the spiking transformer, from its own recipe
  ``<dataset>-spikformer`` (``robustsnn train --config <dataset>-spikformer --model spikformer``);
* ``sweep-npc/<value>/`` - one neurons-per-class sweep point, laid out like
  ``<runs>/<dataset>/`` (``tailored/``, ``snn/converted-none.pt``, ``snn-finetuned-none/``);
* ``-<defense>`` suffixed (``textcnn-a2t/``, ``snn/converted-none-a2t.pt``,
  ``snn-finetuned-none-a2t/``): the same chain under a training-time defense (A2T
  adversarial training of the TextCNNs, ``robustsnn train --defense a2t``; the SNN is
  its A2T-trained parent converted and fine-tuned as usual);
* ``seed-<n>/`` (``seed-1/textcnn/best.pt``, ``seed-1/snn/converted-none.pt``,
  ``seed-1/snn-finetuned-none/best.pt``): another training seed, laid out like
  ``<runs>/<dataset>/``; every step trained from the recipe runs with
  ``--set train.seed=<n> --set finetune.seed=<n>`` (the data split's ``data.split_seed``
  stays the recipe's, so every seed sees the same train/dev/test split), and the SNN is
  that seed's tailored net converted and fine-tuned. Seed 0, the shipped recipes' own,
  is the registered checkpoints above: no ``seed-0/`` folder (``robustsnn build --seed``).

A training run folder holds ``best.pt`` (the dev-selected net), ``last.pt`` (resume
state), ``log.json`` (per epoch) and ``result.json`` (written when the run finishes).

It imports only :mod:`robustsnn.paths` (and, lazily, :mod:`robustsnn.config` for the RWE
hint): the model zoo, ``train/`` and ``reports/`` all import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .checks import is_int
from .paths import RUNS_ENV, runs_dir

RWE_PREFIX = "rwe-"
BEST = "best.pt"
LAST = "last.pt"
LOG = "log.json"
RESULT = "result.json"
SWEEP_NPC = "sweep-npc"
ANN_KINDS = ("textcnn", "tailored")
# What ``robustsnn train`` trains: deterministic networks, each selected on dev accuracy.
TRAIN_KINDS = (*ANN_KINDS, "spikformer")
# Trained from a recipe of their own, ``<dataset>-<kind>`` (other training settings than the
# dataset's TextCNN recipe), not from ``<dataset>``.
OWN_RECIPE_KINDS = ("spikformer",)
STEPS = ("textcnn", "tailored", "direct", "convert", "finetune", "spikformer")
NO_DEFENSE = "none"
# The training seed of the shipped recipes (``train.seed`` and ``finetune.seed``): the
# registered checkpoints. Another seed's chain lives under ``<runs>/<dataset>/seed-<n>/``.
REGISTERED_SEED = 0
SEED_PREFIX = "seed-"
MAX_SEED = 2**32 - 1  # what every generator a training run seeds takes
# How paths under the runs root are shown in messages and help texts.
RUNS_VAR = f"${RUNS_ENV}"


# ------------------------------------------------------------------ relative paths


def _suffix(defense: str) -> str:
    """``-a2t`` for a checkpoint trained under a training-time defense, else nothing."""
    return "" if defense == NO_DEFENSE else f"-{defense}"


def ann_run_dir(kind: str, rwe: bool = False, defense: str = NO_DEFENSE) -> str:
    """Run folder of a network ``robustsnn train`` trains (``textcnn``, ``tailored``, ``spikformer``)."""
    return f"{RWE_PREFIX if rwe else ''}{kind}{_suffix(defense)}"


def converted_file(norm: str, rwe: bool = False, defense: str = NO_DEFENSE) -> str:
    """The converted spiking checkpoint (weight normalisation ``norm``)."""
    return f"{RWE_PREFIX if rwe else ''}snn/converted-{norm}{_suffix(defense)}.pt"


def finetune_run_dir(norm: str, rwe: bool = False, defense: str = NO_DEFENSE) -> str:
    """Run folder of the fine-tuned spiking net (converted with ``norm``)."""
    return f"{RWE_PREFIX if rwe else ''}snn-finetuned-{norm}{_suffix(defense)}"


def direct_run_dir(rwe: bool = False) -> str:
    """Run folder of the directly-trained spiking net."""
    return f"{RWE_PREFIX if rwe else ''}snn-direct"


def seed_dir(seed: int) -> str:
    """``seed-<n>/`` for another training seed than the shipped recipes' (else nothing)."""
    return "" if seed == REGISTERED_SEED else f"{SEED_PREFIX}{seed}/"


def parse_seed(text: object) -> int:
    """A training seed as the CLI takes it: a non-negative integer (a UserError otherwise)."""
    from .errors import UserError

    value = str(text).strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_SEED:
        raise UserError(f"--seed must be a non-negative integer up to {MAX_SEED} (0 is the shipped recipes' seed, "
                        f"the registered checkpoints), got '{text}'")
    return int(value)


def seed_overrides(seed: int) -> str:
    """The recipe overrides that train with ``seed``: both of the recipe's training seeds
    (``train.seed`` for ``robustsnn train``, ``finetune.seed`` for fine-tuning and
    ``train-snn``), never ``data.split_seed``."""
    return f" --set train.seed={seed} --set finetune.seed={seed}"


def dataset_runs(dataset: str, runs: Path | None = None) -> Path:
    """``<runs>/<dataset>`` (``runs`` defaults to ``$ROBUSTSNN_RUNS``)."""
    return Path(runs if runs is not None else runs_dir()) / dataset


def shown(relpath: str, dataset: str = "<dataset>") -> str:
    """``relpath`` under the runs root as messages show it: ``$ROBUSTSNN_RUNS/<dataset>/...``."""
    return f"{RUNS_VAR}/{dataset}/{relpath}"


def example(relpath: str, dataset: str = "sst2") -> str:
    """``relpath`` under the default runs root, for examples in help texts: ``runs/sst2/...``."""
    return f"runs/{dataset}/{relpath}"


def npc_point_dir(dataset: str, value: int, runs: Path | None = None) -> Path:
    """Root of one neurons-per-class sweep point (laid out like ``<runs>/<dataset>/``)."""
    return dataset_runs(dataset, runs) / SWEEP_NPC / str(int(value))


def recipe_file(dataset: str, kind: str = "") -> str:
    """The shipped recipe of ``dataset`` as ``--config`` takes it: its name (``sst2``, or
    ``sst2-spikformer`` for a ``kind`` with a recipe of its own), which finds the package's
    copy from any folder, in a checkout or an installed wheel."""
    return f"{dataset}-{kind}" if kind in OWN_RECIPE_KINDS else dataset


def rwe_dim(dataset: str) -> int | None:
    """Dimension of the pre-trained vectors the shipped recipe uses: the RWE runs use
    random vectors of the same size (a like-for-like ablation)."""
    from .config import load_recipe
    from .errors import UserError
    from .paths import shipped_names

    if recipe_file(dataset) not in shipped_names("recipe"):
        return None
    try:
        emb = load_recipe(recipe_file(dataset)).embedding
    except UserError:
        return None
    return 50 if emb.source == "glove-50d" else emb.dim


# ------------------------------------------------------------------ artefacts


@dataclass(frozen=True)
class Artifact:
    """One checkpoint the pipeline builds per dataset.

    ``step``: ``textcnn`` | ``tailored`` | ``spikformer`` (``robustsnn train``), ``direct``
    (``robustsnn train-snn``), ``convert`` (``robustsnn convert``), ``finetune``
    (``robustsnn finetune``); ``norm``: the conversion's weight normalisation (convert,
    finetune); ``rwe``: the random-word-embedding variant (``rwe-`` folders); ``defense``:
    a training-time defense (``a2t``: the TextCNNs trained adversarially, the SNN built
    from its A2T-trained parent; ``-a2t`` folders); ``seed``: the training seed
    (``train.seed`` and ``finetune.seed``; 0, the shipped recipes', is the registered
    checkpoint, another lives under ``seed-<n>/``)."""

    step: str
    norm: str = "none"
    rwe: bool = False
    defense: str = NO_DEFENSE
    seed: int = REGISTERED_SEED

    def __post_init__(self) -> None:
        if self.step not in STEPS:
            raise ValueError(f"unknown build step '{self.step}' (choices: {', '.join(STEPS)})")
        if self.defense != NO_DEFENSE and self.step == "direct":
            # A2T augments a TextCNN's training; the directly-trained SNN has no such run.
            raise ValueError(f"the directly-trained SNN has no '{self.defense}'-trained variant")
        if not is_int(self.seed) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"a training seed is a non-negative integer, not {self.seed!r}")

    @property
    def kind(self) -> str:
        """The checkpoint kind it holds: textcnn | tailored | spikformer | snn."""
        return self.step if self.step in TRAIN_KINDS else "snn"

    @property
    def is_run(self) -> bool:
        """Made by a training run (a folder with best.pt, last.pt, log.json, result.json)."""
        return self.step != "convert"

    @property
    def run_dir(self) -> str | None:
        """The training run folder, relative to ``<runs>/<dataset>/`` (None for convert)."""
        if self.step in TRAIN_KINDS:
            folder = ann_run_dir(self.step, self.rwe, self.defense)
        elif self.step == "direct":
            folder = direct_run_dir(self.rwe)
        elif self.step == "finetune":
            folder = finetune_run_dir(self.norm, self.rwe, self.defense)
        else:
            return None
        return seed_dir(self.seed) + folder

    @property
    def relpath(self) -> str:
        """The checkpoint, relative to ``<runs>/<dataset>/``."""
        if self.step == "convert":
            return seed_dir(self.seed) + converted_file(self.norm, self.rwe, self.defense)
        return f"{self.run_dir}/{BEST}"

    @property
    def source(self) -> Artifact | None:
        """The artefact this one is built from (None: built from the recipe)."""
        if self.step == "convert":
            return Artifact("tailored", rwe=self.rwe, defense=self.defense, seed=self.seed)
        if self.step == "finetune":
            return Artifact("convert", self.norm, self.rwe, self.defense, self.seed)
        return None

    def recipe(self, dataset: str) -> str | None:
        """The shipped recipe it is trained from (None: built from another artefact)."""
        return recipe_file(dataset, self.step) if self.source is None else None

    def path(self, dataset: str, runs: Path | None = None) -> Path:
        """The checkpoint under ``<runs>/<dataset>/`` (``runs``: ``$ROBUSTSNN_RUNS``)."""
        return self.at(dataset_runs(dataset, runs))

    def run_path(self, dataset: str, runs: Path | None = None) -> Path:
        """The run folder under ``<runs>/<dataset>/`` (training steps only)."""
        return self.run_at(dataset_runs(dataset, runs))

    def unfinished(self, dataset: str, runs: Path | None = None) -> bool:
        """Whether this is a training run that was stopped before it ended: its folder holds
        ``last.pt`` (written after every epoch) or ``log.json`` (also written after a
        fine-tuning's epoch-0 evaluation, whose ``best.pt`` comes before any ``last.pt``) but
        no ``result.json`` (written when training ends). Its ``best.pt`` is then only the best
        epoch so far, not the checkpoint the recipe builds. A ``best.pt`` alone (copied in
        from elsewhere) counts as finished."""
        if not self.is_run:
            return False
        folder = self.run_path(dataset, runs)
        started = (folder / LAST).is_file() or (folder / LOG).is_file()
        return started and not (folder / RESULT).is_file()

    def at(self, root: Path) -> Path:
        """The checkpoint under a folder laid out like ``<runs>/<dataset>/``."""
        return Path(root) / self.relpath

    def run_at(self, root: Path) -> Path:
        """The run folder under a folder laid out like ``<runs>/<dataset>/``."""
        if self.run_dir is None:
            raise ValueError(f"'{self.step}' makes a file, not a run folder")
        return Path(root) / self.run_dir

    def command(self, dataset: str, spell_defaults: bool = True) -> str:
        """The one command that builds this artefact for ``dataset`` from its source, writing
        to its conventional place (``spell_defaults=False``: leave out ``--norm none``)."""
        out, rwe_set = "", ""
        # The default folders are the pre-trained, undefended ones of seed 0 (train --defense
        # picks its own folder, so only the SNN steps need telling).
        if self.rwe or self.seed != REGISTERED_SEED or (self.defense != NO_DEFENSE and self.step not in TRAIN_KINDS):
            out = f" --out {shown(self.run_dir or self.relpath, dataset)}"
        if self.rwe and self.source is None:  # trained from the recipe: with random vectors instead
            dim = rwe_dim(dataset)
            rwe_set = " --set embedding.source=random" + (f" --set embedding.dim={dim}" if dim else "")
        if self.seed != REGISTERED_SEED and self.source is None:  # trained from the recipe: with this seed
            rwe_set += seed_overrides(self.seed)
        if self.step in TRAIN_KINDS:
            defense = "" if self.defense == NO_DEFENSE else f" --defense {self.defense}"
            recipe = recipe_file(dataset, self.step)
            return f"robustsnn train --config {recipe} --model {self.step}{defense}{rwe_set}{out}"
        if self.step == "direct":
            return f"robustsnn train-snn --config {recipe_file(dataset)}{rwe_set}{out}"
        source = shown(self.source.relpath, dataset)  # type: ignore[union-attr]
        if self.step == "convert":
            norm = f" --norm {self.norm}" if spell_defaults or self.norm != "none" else ""
            return f"robustsnn convert {source}{norm}{out}"
        return f"robustsnn finetune {source}{out}"

    def chain(self, dataset: str) -> str:
        """Every command from the recipe to this artefact, joined with ``&&``."""
        before = self.source.chain(dataset) + " && " if self.source else ""
        return before + self.command(dataset, spell_defaults=False)


TEXTCNN = Artifact("textcnn")
TAILORED = Artifact("tailored")
CONVERTED = Artifact("convert")  # norm none
FINETUNED = Artifact("finetune")  # from converted-none
DIRECT = Artifact("direct")
SPIKFORMER = Artifact("spikformer")


def converted(norm: str = "none", rwe: bool = False, defense: str = NO_DEFENSE,
              seed: int = REGISTERED_SEED) -> Artifact:
    return Artifact("convert", norm, rwe, defense, seed)


def finetuned(norm: str = "none", rwe: bool = False, defense: str = NO_DEFENSE,
              seed: int = REGISTERED_SEED) -> Artifact:
    return Artifact("finetune", norm, rwe, defense, seed)
