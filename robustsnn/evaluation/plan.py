"""Which runs the standard evaluation makes for one model, by what the model is.

A *target* is the model as deployed: a registered model on a dataset, with its defense,
its checkpoint and, for a spiking model, its deployed form - ``poisson`` (the R-draw
majority over fresh Poisson draws) or ``direct`` (no input sampling: a deterministic
network). A deterministic network under a randomized defense (``textcnn+safer``) is
deployed ``randomized``: its defense draws at random on every query, so it is judged like
the Poisson SNN - attacked fresh (as deployed), frozen (its deterministic form) and
mean-<k> (expectation over draws), and judged by its majority over fresh draws - never
by one frozen draw, which is what RobustBench refuses to rank a randomized defense by.

Every run of the plan is an ordinary campaign cell or transfer run
(:mod:`robustsnn.campaign`), logged and resumable as any other; the plan only decides
which, and what role each plays in the ensemble (:data:`KINDS`).

Runs land in one campaign per dataset and protocol, ``<evaluation>-<dataset>`` (and
``-wordnet`` for the second word source), so the surrogates' own attacks are run once and
shared by every model evaluated on that dataset. A non-default checkpoint gets folders of
its own (``...-<sha12>``): two networks of one model name never share a log. Another
training seed (``--seed N``, the checkpoints ``robustsnn build --seed N`` makes) is its own
world: the target, the TextCNN and the tailored TextCNN are all that seed's networks, in
folders ``<evaluation>-<dataset>-seed<N>`` shared by that seed's models, so each seed's
ensemble is the registered one's with every network replaced by its seed-N rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..artifacts import REGISTERED_SEED
from ..errors import UserError
from ..noise import DIRECT, RANDOMIZED, is_none
from .standard import StandardEvaluation

# What role a run plays in the ensemble (the card's flags compare them).
SCORE, EOT, DECISION, WHITE_BOX, TRANSFER, SECOND_SOURCE = (
    "score-based", "expectation over draws", "decision-based", "white-box", "transfer", "second word source")
KINDS = (SCORE, EOT, DECISION, WHITE_BOX, TRANSFER, SECOND_SOURCE)
# The forms a stochastic target is deployed in (what ``--noise`` may say).
POISSON = "poisson"
FORMS = (POISSON, DIRECT)
# Judged by an R-draw majority: the Poisson SNN, and any model under a randomized defense.
SAMPLED = (POISSON, RANDOMIZED)


@dataclass(frozen=True)
class Target:
    """The model as deployed: what one card describes."""

    dataset: str
    model: str
    defense: str = "none"
    # "-" for a deterministic model, poisson | direct for a stochastic one, randomized for a
    # deterministic one under a randomized defense (its only randomness is the defense's)
    form: str = "-"
    checkpoint: Path | None = None  # None: the registered model's own checkpoint
    # The training seed (robustsnn build --seed): 0 is the registered checkpoints; another is
    # the seed-<n>/ checkpoint (then ``checkpoint``), with that seed's surrogates.
    seed: int = 0

    @property
    def stochastic(self) -> bool:
        """Judged by its R-draw majority (a Poisson SNN, or a randomized defense)."""
        return self.form in SAMPLED

    @property
    def label(self) -> str:
        """``snn``, ``snn-direct``, ``textcnn+safer``: the name on the leaderboard."""
        name = self.model + ("" if self.form in ("-", *SAMPLED) else f"-{self.form}")
        return name + ("" if self.defense == "none" else f"+{self.defense}")


@dataclass(frozen=True)
class Step:
    """One run of the plan: an attack cell, or a transfer from ``source`` (an attack cell of
    the same campaign, run earlier in the plan)."""

    campaign: Any  # robustsnn.campaign.spec.Campaign
    cell: Any  # robustsnn.campaign.spec.Cell
    kind: str
    on_target: bool  # attacks the target itself (else a source run for a transfer)
    source: Any = None
    checkpoint: Path | None = None

    @property
    def name(self) -> str:
        """How the card names the attack: ``pwws/mean-20``, ``transfer-textcnn-pwws``."""
        noise = "" if self.cell.noise == "none" or self.kind == TRANSFER else f"/{self.cell.noise}"
        return f"{self.cell.recipe}{noise}" + ("/wordnet" if self.kind == SECOND_SOURCE else "")


def target_of(model: str, dataset: str, defense: str = "none", noise: str | None = None,
              checkpoint: str | Path | None = None, seed: int = 0) -> Target:
    """The target for ``robustsnn benchmark MODEL --dataset D [--defense X] [--noise F]
    [--seed N]``: a stochastic model is deployed ``poisson`` unless ``noise`` says
    ``direct``; a deterministic one takes no noise, and is deployed ``randomized`` under a
    randomized defense; ``seed``: the checkpoint ``robustsnn build --seed`` made (0: the
    registered one). Names are checked against the registries."""
    from ..data.registry import get_dataset_spec
    from ..defenses import DEFENSES, NO_DEFENSE, is_randomized
    from ..zoo import MODELS, model_entry, trains

    entry = MODELS.get(model)
    dataset = get_dataset_spec(dataset).name
    if defense != NO_DEFENSE:
        DEFENSES.entry(defense)
    randomized = is_randomized(defense)
    if not entry.stochastic:
        if noise is not None and not is_none(noise):
            why = f"its defense '{defense}' draws as deployed" if randomized else "it is evaluated as it is"
            raise UserError(f"model '{model}' is deterministic; {why} (no --noise)")
        form = RANDOMIZED if randomized else "-"
    else:
        form = POISSON if noise is None else str(noise).strip().lower()
        if form not in FORMS:
            raise UserError(f"a stochastic model is evaluated as deployed: --noise poisson (its majority over "
                            f"fresh draws, the default) or direct (no input sampling), not '{noise}'")
        if form == DIRECT and randomized:
            # A cell has one mode for both: direct input meets the defense's frozen draws, a
            # deterministic form of a model that draws at random as deployed.
            current = (" (or the SNN fed direct currents, a deterministic model, under it: robustsnn benchmark "
                       f"snn-current --defense {defense})") if model == "snn" else ""
            raise UserError(f"defense '{defense}' is randomized, so '{model}' under it is deployed with its draws: "
                            f"evaluate it with --noise poisson{current}; direct would judge it by one frozen draw")
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    if seed != REGISTERED_SEED:
        if path is not None:
            raise UserError("--seed picks the checkpoint (the one `robustsnn build --seed` made); give --seed or "
                            "--checkpoint, not both")
        return Target(dataset, model, defense, form, seed_checkpoint(model, dataset, seed, defense), seed)
    if path is None and trains(defense):  # a2t: its own checkpoint, missing -> the build commands, now
        model_entry(model, defense).require(dataset)
    return Target(dataset, model, defense, form, path)


def seed_checkpoint(model: str, dataset: str, seed: int, defense: str = "none") -> Path:
    """The checkpoint of ``model`` (under a training-time ``defense``) that ``robustsnn build
    --seed`` made for ``dataset``, checked to be there and trained with that seed (its
    config's seeds); a one-line error with the command that builds it otherwise."""
    from ..models.checkpoint import checkpoint_seeds
    from ..zoo import CheckpointModel, model_entry, trains

    entry = model_entry(model, defense if trains(defense) else "none")
    if not isinstance(entry, CheckpointModel):
        raise UserError(f"model '{model}' is a plug-in: robustsnn builds no other training seeds of it; give its "
                        "checkpoint with --checkpoint")
    entry = entry.with_seed(seed)
    path = entry.default_checkpoint(dataset)
    if not path.is_file():
        raise UserError(f"no {entry.kind} checkpoint of training seed {seed} for {dataset} at {path}; build it with: "
                        f"robustsnn build --datasets {dataset} --models {model} --seed {seed}"
                        + (f" --defense {defense}" if trains(defense) else ""))
    seeds = checkpoint_seeds(path)
    if set(seeds.values()) != {seed}:
        raise UserError(f"{path} was trained with the seeds {seeds}, not {seed}: it is not what `robustsnn build "
                        f"--seed {seed}` makes; move it away and build it again")
    return path


def surrogate_checkpoints(evaluation: StandardEvaluation, target: Target,
                          given: Mapping[str, Path] | None = None) -> dict[str, Path]:
    """The surrogates' checkpoints: ``given`` (model name -> file), and for a target of
    another training seed that seed's own for the others (each checked as
    :func:`seed_checkpoint` does); the registered ones otherwise (not named here)."""
    out = dict(given or {})
    if target.seed != REGISTERED_SEED:
        for s in evaluation.surrogates:
            if s not in out and (s != target.model or target.defense != "none"):
                out[s] = seed_checkpoint(s, target.dataset, target.seed)
    return out


def trained_alike(evaluation: StandardEvaluation, target: Target) -> dict[str, Path | None]:
    """The built-in surrogates trained under the target's training-time defense (``a2t``),
    other than the target's own model: name -> checkpoint (None: the registered one of
    that defense). Why: a network converted from a parent is fooled most often by its
    parent's texts (the SNN `direct` cards), and an A2T-trained SNN's parent is the
    A2T-trained tailored TextCNN, not the plain one the other surrogates are. Empty for a
    target without a training defense. A missing checkpoint is an error with the commands
    that build it, never a smaller plan: the plan must not depend on what is on disk."""
    from ..zoo import model_entry, trains

    if not trains(target.defense):
        return {}
    out: dict[str, Path | None] = {}
    for surrogate in evaluation.surrogates:
        if surrogate == target.model:
            continue
        if target.seed != REGISTERED_SEED:
            out[surrogate] = seed_checkpoint(surrogate, target.dataset, target.seed, target.defense)
        else:
            model_entry(surrogate, target.defense).require(target.dataset)
            out[surrogate] = None
    return out


def campaign_for(evaluation: StandardEvaluation, target: Target, protocol: str, num_examples: int,
                 models: tuple[str, ...]) -> Any:
    """The campaign that holds the evaluation's runs on ``target.dataset`` under ``protocol``."""
    from ..campaign.spec import campaign_from_dict
    from ..models.checkpoint import model_digest

    name = f"{evaluation.name}-{target.dataset}" + ("-wordnet" if protocol == "native" else "")
    if target.seed != REGISTERED_SEED:
        # One world per seed: its three networks' runs are shared as the registered ones are.
        name += f"-seed{target.seed}"
    elif target.checkpoint is not None:
        # Named by what the network is, not by its file's bytes: the same weights rebuilt
        # elsewhere find their runs again (models/checkpoint.py).
        name += f"-{model_digest(target.checkpoint)[:12]}"
    recipes = (*evaluation.score_recipes, evaluation.decision_recipe, *evaluation.white_box_recipes)
    return campaign_from_dict({
        "campaign": {"name": name, "datasets": [target.dataset], "models": list(models),
                     "recipes": list(dict.fromkeys(recipes)), "noise": ["fresh"], "seed": evaluation.seed},
        "examples": {"split": evaluation.split, "selection": evaluation.selection, "num_examples": num_examples},
        "threat": {**evaluation.threat, "protocol": protocol},
        "verdict": {"draws": evaluation.verdict_draws},
    }, source=f"robustsnn benchmark ({evaluation.name})")


def plan(evaluation: StandardEvaluation, target: Target, num_examples: int | None = None,
         white_box: bool = True, checkpoints: Mapping[str, Path] | None = None) -> list[Step]:
    """The runs of ``evaluation`` against ``target``, sources before the transfers that
    replay them. ``white_box``: whether the deployed model exposes input gradients (a
    defense wrapper hides them); ``checkpoints``: model name -> checkpoint file for the
    surrogates (default: each one's registered checkpoint; for a target of another training
    seed, that seed's)."""
    from ..campaign.spec import Cell, transfer_recipe

    n = evaluation.num_examples if num_examples is None else num_examples
    if not 1 <= n <= evaluation.num_examples:
        raise UserError(f"--num-examples must lie in 1..{evaluation.num_examples} "
                        f"(the {evaluation.name} example set); got {n}")
    checkpoints = surrogate_checkpoints(evaluation, target, checkpoints)
    # The target itself is no surrogate of itself. Nor is the registered network of the
    # target's model when the target is another checkpoint of it: both would be the cells
    # <dataset>/<model>/none/<recipe>/none of one campaign, a single log.
    surrogates = [s for s in evaluation.surrogates if not (s == target.model and target.defense == "none")]
    models = tuple(dict.fromkeys([*surrogates, target.model]))
    main = campaign_for(evaluation, target, "shared-swap", n, models)
    wordnet = campaign_for(evaluation, target, "native", n, (target.model,))
    ds, defense, own = target.dataset, target.defense, target.checkpoint

    def cell(recipe: str, noise: str, model: str = target.model, on_defense: str = defense) -> Any:
        return Cell(ds, model, on_defense, recipe, noise)

    steps: list[Step] = []
    sources: list[Any] = []
    # The built-in surrogates' own attacks, shared by every target; then, for a target under
    # a training-time defense, those of the surrogates trained the same way.
    networks = [(s, "none", checkpoints.get(s)) for s in surrogates]
    networks += [(s, defense, c) for s, c in trained_alike(evaluation, target).items()]
    for surrogate, trained_under, checkpoint in networks:
        for recipe in evaluation.score_recipes:
            source = cell(recipe, "none", surrogate, trained_under)
            steps.append(Step(main, source, SCORE, False, checkpoint=checkpoint))
            sources.append(source)
    if target.form == "-":
        forms = {"deployed": "none", "eot": None, "deterministic": None}
    elif target.form == DIRECT:
        forms = {"deployed": DIRECT, "eot": None, "deterministic": None}
    else:  # poisson or randomized: the defense's draws follow the same modes as the spikes
        forms = {"deployed": "fresh", "eot": f"mean-{evaluation.eot_draws}", "deterministic": "frozen"}
    # The model's own deterministic network, as a surrogate: the SNN's direct form; under a
    # randomized defense the undefended network (a built-in one is a surrogate already).
    own_network = DIRECT if target.form == POISSON else "none" if target.model not in surrogates else None
    if target.form in SAMPLED and own_network is not None:
        for recipe in evaluation.score_recipes:
            source = cell(recipe, own_network, on_defense="none")
            steps.append(Step(main, source, SCORE, False, checkpoint=own))
            sources.append(source)
    for recipe in evaluation.score_recipes:
        for noise in (forms["deployed"], forms["deterministic"]):
            if noise is not None:
                steps.append(Step(main, cell(recipe, noise), SCORE, True, checkpoint=own))
        if forms["eot"] is not None:
            steps.append(Step(main, cell(recipe, forms["eot"]), EOT, True, checkpoint=own))
    # Label-only and gradient attacks against the deployed decision: for a Poisson model
    # through the average of eot_draws draws, the closest a query gets to the R-draw majority.
    strongest = forms["eot"] or forms["deployed"]
    steps.append(Step(main, cell(evaluation.decision_recipe, strongest), DECISION, True, checkpoint=own))
    if white_box:
        for recipe in evaluation.white_box_recipes:
            steps.append(Step(main, cell(recipe, strongest), WHITE_BOX, True, checkpoint=own))
    steps.append(Step(wordnet, cell(evaluation.second_source_recipe, forms["deterministic"] or forms["deployed"]),
                      SECOND_SOURCE, True, checkpoint=own))
    for source in sources:
        target_cell = cell(transfer_recipe(source), forms["deployed"])
        steps.append(Step(main, target_cell, TRANSFER, True, source=source, checkpoint=own))
    return steps
