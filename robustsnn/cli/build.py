"""``robustsnn build``: make the checkpoints a campaign attacks, and check them against its logs.

``$ROBUSTSNN_RUNS`` is a cache: a new machine (or a deleted ``runs/``) has none of it,
while the attack logs in ``results/`` stay. Each log records the content digest of the
network it attacked (``model_sha256``: format, kind, recipe, vocabulary and weights, see
:func:`robustsnn.models.checkpoint.model_sha256`) and refuses to resume against another.
Training pins its thread count (:mod:`robustsnn.train.threads`), so it is deterministic
for a seed and recipe, and rebuilding with the recipe's commands, in any folder, gives
the network back; this module says whether it did: a half-finished log can only be
resumed against the network it started with.

What is built is spelled in :mod:`robustsnn.artifacts` (one chain of commands per
registered model); this module only runs the missing links of those chains, in order,
through the CLI itself, so a build is exactly what the printed commands would do.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

from ..artifacts import REGISTERED_SEED, RUNS_VAR, Artifact
from ..errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="make the checkpoints a campaign attacks (the missing ones) and "
                                     "check them against its logs")
    p.add_argument("campaign", type=Path, nargs="?", default=None,
                   help="campaign, a shipped name (e.g. paper) or a file: build its datasets x models, "
                        "then compare with its logs")
    p.add_argument("--datasets", default=None, help="comma-separated datasets (default: the campaign's)")
    p.add_argument("--models", default=None, help="comma-separated registered models (default: the campaign's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a campaign key, e.g. --set 'campaign.datasets=[\"mr\"]' (repeatable)")
    p.add_argument("--results", type=Path, default=None,
                   help="where the campaign's logs are (default: $ROBUSTSNN_RESULTS/attacks)")
    p.add_argument("--defense", default="none",
                   help="build the models' checkpoints trained under this training-time defense (a2t; "
                        "default: none, and those the campaign lists)")
    p.add_argument("--seed", default="0", metavar="N",
                   help="training seed: train with --set train.seed=N --set finetune.seed=N (the data split "
                        "stays the recipe's) into $ROBUSTSNN_RUNS/<dataset>/seed-N/ (default: 0, the shipped "
                        "recipes' seed: the registered checkpoints)")
    p.add_argument("--dry-run", action="store_true", help="print the commands that would run")
    p.set_defaults(func=cmd_build)


@dataclass(frozen=True)
class Step:
    """One missing link: ``artifact`` for ``dataset``, made by ``command``."""

    dataset: str
    artifact: Artifact
    command: str


@dataclass
class LogCheck:
    """How the logs of one (dataset, model) compare with the checkpoint on disk."""

    dataset: str
    model: str
    checkpoint: str  # relative to $ROBUSTSNN_RUNS
    sha256: str  # its content digest (models/checkpoint.py model_sha256)
    matching: list[str] = field(default_factory=list)
    other_finished: list[str] = field(default_factory=list)  # finished with another checkpoint
    other_partial: list[str] = field(default_factory=list)  # cannot resume against this one
    to_migrate: list[str] = field(default_factory=list)  # matching, by the file's sha256 of old


def chain(artifact: Artifact) -> list[Artifact]:
    """``artifact`` and everything it is built from, sources first."""
    links = [artifact]
    while links[0].source is not None:
        links.insert(0, links[0].source)
    return links


def plan(pairs: Sequence[tuple[str, str]], runs: Path, defense: str = "none",
         seed: int = REGISTERED_SEED) -> tuple[list[Step], list[str]]:
    """The missing links for each (dataset, registered model), each once, in build order;
    and the models that are not built from a recipe (plug-ins, ``--checkpoint`` only).
    ``defense``: a training-time defense (a2t): the chains of its checkpoints; ``seed``:
    the training seed (0: the registered checkpoints; another: the ``seed-<n>/`` chains)."""
    from ..zoo import MODELS, CheckpointModel, trains

    steps: list[Step] = []
    seen: set[tuple[str, Artifact]] = set()
    foreign: list[str] = []
    for dataset, model in pairs:
        entry = MODELS.get(model)
        if not isinstance(entry, CheckpointModel):
            foreign.append(model)
            continue
        if defense != "none" and not trains(defense):
            raise UserError(f"defense '{defense}' wraps a model at attack time: it has no checkpoint to build")
        if trains(defense):
            try:
                entry = entry.with_defense(defense)
            except UserError as exc:  # snn-direct: no such variant; the other models still build
                foreign.append(f"{model}: {exc}")
                continue
        entry = entry.with_seed(seed)
        for link in chain(entry.artifact):
            # A stopped run's best.pt is only its best epoch so far: resume it (bit for bit as if
            # uninterrupted; from the start when no epoch ended) instead of taking it as built.
            unfinished = link.unfinished(dataset, runs)
            if (dataset, link) in seen or (link.path(dataset, runs).is_file() and not unfinished):
                continue
            seen.add((dataset, link))
            # The printed commands spell the runs root as $ROBUSTSNN_RUNS; run them on this one.
            command = link.command(dataset, spell_defaults=False).replace(RUNS_VAR, str(runs))
            steps.append(Step(dataset, link, command + (" --resume" if unfinished else "")))
    return steps, sorted(set(foreign))


def run_steps(steps: Sequence[Step], log: Callable[[str], None] = print) -> None:
    """Run each step's command through the CLI; stop at the first that fails."""
    from ..paths import shipped_names
    from . import main

    for i, step in enumerate(steps, 1):
        recipe = step.artifact.recipe(step.dataset)  # trained from it (None: from another artefact)
        if recipe is not None and recipe not in shipped_names("recipe"):
            raise UserError(f"no shipped recipe for dataset '{step.dataset}' (shipped recipes: "
                            f"{', '.join(shipped_names('recipe'))}): build {step.artifact.relpath} "
                            "with robustsnn train --config <your recipe file> first")
        log(f"[{i}/{len(steps)}] {step.dataset}: {step.command}")
        code = main(shlex.split(step.command)[1:])
        if code != 0:
            raise UserError(f"building {step.artifact.relpath} for {step.dataset} failed (exit {code}); "
                            f"the command was: {step.command}")


def check_logs(campaign: Any, results: Path, runs: Path,
               pairs: Collection[tuple[str, str]]) -> list[LogCheck]:
    """For each (dataset, model) in ``pairs`` (what was asked for) that ``campaign`` attacks
    and whose checkpoint is on disk, which of its logs under ``results`` were written with
    that very file."""
    from ..campaign.runner import cell_paths
    from ..campaign.spec import cells
    from ..io_utils import file_sha256
    from ..models.checkpoint import model_digest
    from ..records.record import RunRecord
    from ..zoo import MODELS, CheckpointModel, trains

    checks: dict[tuple[str, str], LogCheck] = {}
    files: dict[tuple[str, str], str] = {}
    for cell in cells(campaign):
        if (cell.dataset, cell.model) not in pairs:
            continue
        entry = MODELS.get(cell.model)
        if not isinstance(entry, CheckpointModel):
            continue
        model = cell.model
        if trains(cell.defense):  # an a2t cell attacked the a2t checkpoint
            entry, model = entry.with_defense(cell.defense), f"{cell.model}+{cell.defense}"
        path = entry.artifact.path(cell.dataset, runs)
        if not path.is_file():
            continue
        key = (cell.dataset, model)
        if key not in checks:
            checks[key] = LogCheck(cell.dataset, model, f"{cell.dataset}/{entry.relpath}", model_digest(path))
            files[key] = ""  # the file's own sha256, computed only if a legacy record asks
        check = checks[key]
        _, record_path = cell_paths(results, campaign, cell)
        if not record_path.is_file():
            continue
        record = RunRecord.load(record_path)
        if record.legacy_file_sha256 and not record.model_sha256 and not files[key]:
            files[key] = file_sha256(path)
        # A record not yet migrated (robustsnn migrate-digests) names the file's sha256.
        if record.model_sha256 == check.sha256 or (not record.model_sha256
                                                   and record.legacy_file_sha256 == files[key] != ""):
            check.matching.append(record_path.name)
            if not record.model_sha256:
                check.to_migrate.append(record_path.name)
        elif record.complete:
            check.other_finished.append(record_path.name)
        else:
            check.other_partial.append(record_path.name)
    return list(checks.values())


def describe(check: LogCheck) -> str:
    """One line per (dataset, model): the checkpoint's digest and what its logs say."""
    line = f"{check.checkpoint} model_sha256 {check.sha256[:12]}: {len(check.matching)} logs written with it"
    if check.to_migrate:
        line += (f" ({len(check.to_migrate)} name it by the file's sha256, as before content digests: "
                 "robustsnn migrate-digests updates them)")
    if check.other_finished:
        line += (f"; {len(check.other_finished)} finished logs with another checkpoint "
                 "(their numbers stand; new cells will not share their checkpoint)")
    if check.other_partial:
        line += (f"; {len(check.other_partial)} unfinished logs with another checkpoint, which will "
                 f"refuse to resume: {', '.join(check.other_partial)}")
    return line


def build(pairs: Sequence[tuple[str, str]], campaign: Any = None, results: Path | None = None,
          dry_run: bool = False, log: Callable[[str], None] = print,
          defense: str = "none", seed: int = REGISTERED_SEED) -> tuple[list[Step], list[LogCheck]]:
    """Build the missing checkpoints of ``pairs`` (dataset, model); with a ``campaign``,
    then compare them with its logs under ``results``. Returns the steps (run, or that
    would run with ``dry_run``) and the log checks. ``defense``: build the checkpoints
    trained under this training-time defense instead (a2t); ``seed``: those trained with
    this training seed (``seed-<n>/`` chains; 0 is the registered checkpoints)."""
    from ..paths import runs_dir
    from ..train.threads import THREADS_ENV, training_threads

    runs = runs_dir()
    steps, foreign = plan(pairs, runs, defense, seed)
    for model in foreign:  # a plug-in, or "snn-direct: <why it has no such variant>"
        log(f"{model}; skipped" if ":" in model else
            f"{model}: not built from a recipe (a plug-in or a --checkpoint model); skipped")
    if not steps:
        log("every checkpoint is in place under " + str(runs))
    elif dry_run:
        for step in steps:
            log(step.command)
    else:
        log(f"building {len(steps)} checkpoints with {training_threads()} torch threads ({THREADS_ENV}; "
            "the same count, recipe and seed rebuild the same weights and content digest)"
            + ("" if seed == REGISTERED_SEED else f", training seed {seed}"))
        run_steps(steps, log)
    checks = check_logs(campaign, results, runs, set(pairs)) if campaign is not None and results is not None else []
    for check in checks:
        log(describe(check))
    return steps, checks


def cmd_build(args: argparse.Namespace) -> int:
    import sys

    from ..api import _campaign, _results
    from ..artifacts import parse_seed
    from ..data.registry import get_dataset_spec

    split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
    seed = parse_seed(args.seed)
    if seed != REGISTERED_SEED and args.campaign:
        raise UserError("a campaign attacks the registered checkpoints (training seed 0); build another seed with "
                        "--datasets and --models")
    campaign = _campaign(args.campaign, args.overrides, None) if args.campaign else None
    if campaign is None and args.overrides:
        raise UserError("--set changes a campaign: give the campaign file")
    datasets = split(args.datasets) if args.datasets else list(campaign.campaign.datasets) if campaign else []
    models = split(args.models) if args.models else list(campaign.campaign.models) if campaign else []
    if not datasets or not models:
        raise UserError("say what to build: a campaign file, or --datasets and --models")
    datasets = [get_dataset_spec(d).name for d in datasets]  # unknown names: one clear error
    pairs = [(d, m) for d in datasets for m in models]
    if campaign is not None and args.defense == "none":
        from ..zoo import trains

        # The campaign's a2t cells attack checkpoints of their own: build those chains too.
        for defense in campaign.campaign.defenses:
            if trains(defense):
                build(pairs, dry_run=args.dry_run, defense=defense)
    _, checks = build(pairs, campaign, _results(args.results), dry_run=args.dry_run, defense=args.defense,
                      seed=seed)
    stuck = sum(len(c.other_partial) for c in checks)
    if stuck:
        print(f"robustsnn: {stuck} unfinished logs were started with another checkpoint and cannot "
              "resume: move them away to run those cells again", file=sys.stderr)
        return 1
    return 0
