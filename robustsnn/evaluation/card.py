"""The model card of one standard evaluation: the numbers, their intervals, and the flags.

Computed from the run records and logs of the plan's runs against the target (nothing is
re-run), in the spirit of RobustBench's ``model_info`` files: what the model is, what it
was evaluated with, its clean and worst-case robust accuracy with 95% Wilson intervals,
the robust accuracy under each attack alone, the cost of a prediction and of the
evaluation, and flags that say when a number should not be trusted as it stands.

Which examples count: those every run against the target covers. An example that a run
of a stochastic model skipped because its one search-time draw got the clean text wrong,
while the R-draw majority gets it right, was never attacked by that run; unless another
run broke it (evidence), it is left out of N and counted (``left_out_unattacked``), never
counted as robust (:func:`robustsnn.analysis.worst_case.worst_case`).

Flags (AutoAttack's symptoms of an evaluation that flatters a model):

* ``randomized`` - the model answers by a majority over random draws (a Poisson SNN, or a
  randomized defense such as SAFER); judged as deployed.
* ``flat-output`` - searches ended with no word changed on more than the evaluation's
  share of the examples they attacked, although they had candidates: no single swap moved
  the output (quantised or flat scores stop score-based searches).
* ``black-box-beats-white-box`` - a transfer, decision-based or score-based attack fooled
  more examples than the white-box one (gradient masking); ``no-white-box`` where none ran.
* ``single-attack`` - one attack alone reaches the worst case: the rest of the ensemble
  added nothing, so the worst case rests on that attack.
* ``partial`` - fewer examples than the evaluation's set: not comparable, never ranked.

``training_seed`` says which training seeds made the network, read from the checkpoint's
recipe (:func:`robustsnn.models.checkpoint.training_seeds`: ``{"train": 1}``, or
``{"train": 1, "finetune": 1}`` for a fine-tuned SNN), when the checkpoint on disk is the
one the runs attacked; null where nothing says (a plug-in, a checkpoint since replaced).
Cards written before the field have none: they are all of registered checkpoints, trained
with the shipped recipes' seed 0 (:func:`card_seeds`). A card of another seed than 0 is
never ranked on the leaderboard (it is the same model trained again; ``robustsnn report
seeds`` compares the seeds).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..artifacts import REGISTERED_SEED
from ..errors import UserError
from ..records.metrics import FAILED, SKIPPED
from .plan import EOT, SCORE, WHITE_BOX, Step, Target
from .standard import StandardEvaluation

CARD_VERSION = 1


def _rate(hits: int, n: int) -> dict[str, Any]:
    from ..stats import wilson_interval

    low, high = wilson_interval(hits, n)
    return {"value": hits / n if n else math.nan, "ci95": [low, high], "hits": hits, "n": n}


def flat_share(records: Sequence[Any]) -> tuple[float, int]:
    """Share of the attacked examples of score-based and white-box searches that ended with
    no word changed although the search had candidate texts; and how many were attacked."""
    from ..records.log import read_log

    attacked = flat = 0
    for record in records:
        for row in read_log(record.log_path):
            if row["result"] == SKIPPED or row.get("candidates_offered") in ("", None, "0"):
                continue
            attacked += 1
            flat += row["result"] == FAILED and int(row["words_perturbed"]) == 0
    return (flat / attacked if attacked else math.nan), attacked


def build_card(evaluation: StandardEvaluation, target: Target, steps: Sequence[Step],
               num_examples: int, root: Path | None = None, time_steps: int | None = None) -> dict[str, Any]:
    """The card of ``target`` from the finished runs of ``steps`` (see the module docstring).
    ``root``: the results folder (paths in the card are relative to it); ``time_steps``:
    the SNN's T (None for a TextCNN), for the cost of a prediction."""
    from ..analysis.worst_case import run_from_record, worst_case
    from ..campaign.runner import cell_paths
    from ..paths import results_dir
    from ..records.identity import refuse_legacy_digest
    from ..records.record import RunRecord

    root = Path(root) if root is not None else results_dir()
    on_target = [s for s in steps if s.on_target]
    records, runs = [], []
    for step in on_target:
        _, record_path = cell_paths(root / "benchmark", step.campaign, step.cell)
        record = RunRecord.load(record_path)
        refuse_legacy_digest(record_path, record.model)  # a card names the network by its content digest
        if not record.complete:
            raise UserError(f"{record_path} is not complete; run the benchmark again to finish it")
        records.append(record)
        runs.append(run_from_record(record))
    digests = {r.checkpoint for r in runs}
    if len(digests) != 1:  # never pool two networks into one worst case
        raise UserError(f"the runs against {target.label} on {target.dataset} attacked {len(digests)} different "
                        "checkpoints; evaluate each with its own --checkpoint")
    [case] = worst_case(runs)  # one target: the same deployed model and checkpoint in every run
    indices, n, robust = case.examples, case.n, set(case.robust_examples)
    clean = {i for i in indices if all(r.examples[i].clean_correct for r in runs)}
    attacks = []
    for step, run in zip(on_target, runs):
        alone = sum(run.examples[i].clean_correct and run.examples[i].final_correct for i in indices)
        attacks.append({"attack": step.name, "kind": step.kind, "noise": step.cell.noise,
                        "protocol": step.campaign.threat.protocol, "robust_accuracy": _rate(alone, n),
                        "log": relative_to(run.record.log_path, root)})
    best = min(attacks, key=lambda a: (a["robust_accuracy"]["hits"], a["attack"]))
    flags = _flags(evaluation, target, records, on_target, attacks, len(robust), best, num_examples)
    first = records[0]
    return {
        "card_version": CARD_VERSION,
        "evaluation": evaluation.name,
        "name": target.label,
        "dataset": target.dataset,
        "model": target.model,
        "defense": target.defense,
        "deployed_form": target.form,
        # What the network is; how one run drew its spikes is the attack's business.
        "architecture": architecture(first.model),
        "checkpoint": first.checkpoint,
        "model_sha256": first.model_sha256,
        "training_seed": checkpoint_training_seeds(target, first.model_sha256),
        "threat_model": first.attack.get("threat_description") or dict(first.threat),
        "examples": {"split": evaluation.split, "selection": evaluation.selection, "seed": evaluation.seed,
                     "num_examples": num_examples, "n": n, "left_out_unattacked": case.left_out},
        "clean_accuracy": _rate(len(clean), n),
        "worst_case_robust_accuracy": _rate(len(robust), n),
        "best_single_attack": best["attack"],
        "attacks": attacks,
        "verdict_draws": evaluation.verdict_draws if target.stochastic else 0,
        "forward_passes_per_prediction": _forward_passes(first, target, evaluation, time_steps),
        # Logged attack time of the runs against the model (the surrogates' own runs are shared).
        "wall_seconds": sum(float(r.metrics.get("seconds_per_example", 0.0)) * int(r.metrics.get("n", 0))
                            for r in records),
        "flags": flags,
        "provenance": {k: first.get(k) for k in ("robustsnn", "git", "date", "versions", "machine")},
    }


def checkpoint_training_seeds(target: Target, sha: str) -> dict[str, int] | None:
    """The training seeds of the target's checkpoint (its own, or the registered one of its
    model), read from its recipe; None when it is no built-in checkpoint, is not on disk, or
    is no longer the network the runs attacked (another content digest than ``sha``)."""
    from ..models.checkpoint import load_checkpoint, model_sha256, training_seeds
    from ..zoo import CheckpointModel, model_entry

    path = target.checkpoint
    if path is None:
        try:
            entry = model_entry(target.model, target.defense)
        except UserError:
            return None
        if not isinstance(entry, CheckpointModel):
            return None
        path = entry.default_checkpoint(target.dataset)
    if not Path(path).is_file():
        return None
    ckpt = load_checkpoint(path)
    return training_seeds(ckpt) if sha and model_sha256(ckpt) == sha else None


def card_seeds(card: dict[str, Any]) -> dict[str, int] | None:
    """A card's training seeds: its ``training_seed``; ``{"train": 0}`` for a card written
    before the field (every such card is of a registered checkpoint, seed 0); None where the
    card says nothing is known (a plug-in's)."""
    if "training_seed" not in card:
        return {"train": REGISTERED_SEED}
    seeds = card["training_seed"]
    return {str(k): int(v) for k, v in seeds.items()} if isinstance(seeds, dict) and seeds else None


def card_seed(card: dict[str, Any]) -> int | None:
    """The one training seed of a card (all its seeds agree, as ``robustsnn build --seed``
    trains them); None when they differ or nothing is known."""
    seeds = card_seeds(card)
    values = set(seeds.values()) if seeds else set()
    return values.pop() if len(values) == 1 else None


def other_seed(card: dict[str, Any]) -> bool:
    """Whether the card's network was trained with another seed than the registered
    checkpoints' (any of its training seeds is not 0): the same model trained again."""
    seeds = card_seeds(card)
    return bool(seeds) and any(v != REGISTERED_SEED for v in seeds.values())


def seeds_text(card: dict[str, Any]) -> str:
    """``training seed 1``, or ``training seeds train 1, finetune 0`` where they differ."""
    seeds = card_seeds(card) or {}
    if len(set(seeds.values())) == 1:
        return f"training seed {next(iter(seeds.values()))}"
    return "training seeds " + ", ".join(f"{k} {v}" for k, v in seeds.items()) if seeds else "training seed unknown"


def architecture(model: dict[str, Any]) -> dict[str, Any]:
    """What the deployed model is, from a run record's model description: without where its
    checkpoint lay and how that one run drew (its spikes' encoding, its defense's draws)."""
    out = {k: v for k, v in model.items() if k not in ("checkpoint", "encoding", "encoding_seed")}
    if isinstance(out.get("defense"), dict):
        out["defense"] = {k: v for k, v in out["defense"].items() if k != "draws"}
    return out


def _flags(evaluation: StandardEvaluation, target: Target, records: Sequence[Any], steps: Sequence[Step],
           attacks: Sequence[dict[str, Any]], robust: int, best: dict[str, Any], num_examples: int) -> list[str]:
    flags = []
    if target.stochastic:
        flags.append(f"randomized: judged as deployed, by the majority over {evaluation.verdict_draws} fresh draws")
    searched = [r for r, s in zip(records, steps) if s.kind in (SCORE, EOT, WHITE_BOX)]
    share, attacked = flat_share(searched)
    if attacked and share > evaluation.flat_output_share:
        flags.append(f"flat-output: {100 * share:.1f}% of {attacked} searched examples ended with no word changed "
                     "although the search had candidates")
    white = [a for a in attacks if a["kind"] == WHITE_BOX]
    if not white:
        flags.append("no-white-box: the model exposes no input gradient, so no white-box attack ran")
    else:
        floor = min(a["robust_accuracy"]["hits"] for a in white)
        beaten = [a["attack"] for a in attacks if a["kind"] != WHITE_BOX and a["robust_accuracy"]["hits"] < floor]
        if beaten:
            flags.append(f"black-box-beats-white-box: {', '.join(beaten)} fooled more examples than the "
                         "white-box attack")
    if best["robust_accuracy"]["hits"] == robust:
        flags.append(f"single-attack: {best['attack']} alone reaches the worst case")
    if num_examples < evaluation.num_examples:
        flags.append(f"partial: {num_examples} of the {evaluation.num_examples} examples of {evaluation.name}; "
                     "not comparable, never ranked")
    return flags


def _forward_passes(record: Any, target: Target, evaluation: StandardEvaluation, time_steps: int | None) -> int:
    """Network evaluations behind one deployed prediction: R draws x T time steps for a
    Poisson SNN, T for a directly driven one, 1 for a TextCNN (a defense's copies multiply)."""
    steps = int(time_steps or 1)
    copies = int((record.model.get("defense") or {}).get("copies") or 1)
    draws = evaluation.verdict_draws if target.stochastic else 1
    return draws * steps * copies


def relative_to(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` where it lies under it (committed files carry no machine's paths)."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def card_path(root: Path, evaluation: StandardEvaluation, card: dict[str, Any]) -> Path:
    """Where a card lies: ``<results>/benchmark/cards/<evaluation>/<dataset>__<name>__<sha12>.json``."""
    sha = card["model_sha256"][:12] or "unhashed"
    return Path(root) / "benchmark" / "cards" / evaluation.name / f"{card['dataset']}__{card['name']}__{sha}.json"


def summary(card: dict[str, Any]) -> str:
    """The card in a few lines, as ``robustsnn benchmark`` prints it."""
    def pct(rate: dict[str, Any]) -> str:
        low, high = rate["ci95"]
        return f"{100 * rate['value']:.1f} (95% CI {100 * low:.1f}-{100 * high:.1f})"

    lines = [f"{card['evaluation']}: {card['name']} on {card['dataset']} "
             f"(checkpoint {card['model_sha256'][:12]}"
             + (f", {seeds_text(card)}" if other_seed(card) else "") + f"), N = {card['examples']['n']}"
             + (f", {card['examples']['left_out_unattacked']} left out (never attacked)"
                if card["examples"]["left_out_unattacked"] else ""),
             f"  clean accuracy            {pct(card['clean_accuracy'])}",
             f"  worst-case robust accuracy {pct(card['worst_case_robust_accuracy'])} over {len(card['attacks'])} "
             f"attacks (best alone: {card['best_single_attack']})"]
    for attack in sorted(card["attacks"], key=lambda a: a["robust_accuracy"]["value"]):
        lines.append(f"    {attack['attack']:<42} {attack['kind']:<24} {pct(attack['robust_accuracy'])}")
    lines += [f"  flag: {flag}" for flag in card["flags"]]
    return "\n".join(lines)
