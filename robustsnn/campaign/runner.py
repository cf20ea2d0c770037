"""Running one cell of a campaign: attack examples one by one, log each outcome as it
happens, resume after a kill, and write the run record.

Outputs, under ``<results>/<campaign>/``: ``<cell>__<protocol>.csv`` (the per-example
log, see :mod:`.log`) and ``<cell>__<protocol>.json`` (the run record: campaign, threat
model, model, attack and encoder descriptions, seeds, versions, machine, metrics).
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import UserError
from ..records.log import AttackLog, exclusive, final_verdict, outcomes_of, parse_bool
from ..records.metrics import (
    BUDGET,
    FAILED,
    SKIPPED,
    SUCCESSFUL,
    UNATTACKABLE,
    budget_spent,
    compute_metrics,
    compute_verdict,
    mark_budget_stopped,
    words_changed,
)
from ..records.record import RecordError, RunRecord
from .spec import Campaign, Cell, Example, example_seed, select_examples


def build_classifier(cell: Cell, campaign: Campaign, checkpoint: Path | None = None,
                     encoding: Any = None) -> Any:
    """The model of ``cell`` (with its defense) as a TextClassifier.

    It draws with ``cell.encoding`` - the Encoding parsed where the mode entered - under
    the campaign seed; ``encoding`` replaces it (the verdict's fresh draws). A cell of a
    stochastic model or of a randomized defense needs an encoding, any other takes none:
    either mismatch is an error, never a silent default. The mode governs the network's
    spikes and the defense's draws alike (``mean-<k>`` over both: the defense averages k
    outputs, each of fresh draws of both; robustsnn/defenses/__init__.py).
    """
    from ..defenses import is_randomized
    from ..models.encoding import Encoding
    from ..noise import DEFENSE_MODES, MEAN
    from ..zoo import model_entry

    # A training-time defense (a2t) is the model's checkpoint trained under it.
    entry = model_entry(cell.model, cell.defense, checkpoint)
    encoding = encoding or cell.encoding
    randomized = is_randomized(cell.defense)
    if (entry.stochastic or randomized) and encoding is None:
        what = f"model '{cell.model}' is stochastic" if entry.stochastic else f"defense '{cell.defense}' is randomized"
        raise UserError(f"{what}; its cell needs a noise mode (fresh, frozen or mean-<k>, e.g. mean-20), not 'none'")
    if not (entry.stochastic or randomized) and encoding is not None:
        raise UserError(f"model '{cell.model}' is deterministic; it takes no noise mode (got '{encoding}')")
    if not entry.stochastic and randomized and encoding.mode not in DEFENSE_MODES:
        raise UserError(f"'{encoding}' is a mode of a spiking model's input; model '{cell.model}' under randomized "
                        f"defense '{cell.defense}' runs fresh, frozen or mean-<k> (its deterministic form is frozen)")
    if encoding is not None:
        encoding = replace(encoding, seed=campaign.campaign.seed)
    network = encoding if entry.stochastic else None
    if network is not None and randomized and encoding.mode == MEAN:
        network = Encoding("fresh", seed=encoding.seed)  # the defense averages; each copy one fresh draw
    classifier = entry.load(cell.dataset, checkpoint, network)
    if cell.defense != "none":
        from ..defenses import apply_defense

        classifier = apply_defense(cell.defense, classifier, cell.dataset, campaign.campaign.seed,
                                   noise=None if encoding is None else str(encoding))
    return classifier


def victim(cell: Cell, campaign: Campaign, checkpoint: Path | None = None) -> tuple[Any, int, Any]:
    """``(classifier, verdict draws, verdict classifier)`` for ``cell``: the model as
    attacked, and for a Poisson encoding or a randomized defense's cell (any mode but
    ``direct``) the same model with fresh draws for the R-draw verdict (``0, None``
    otherwise: deterministic models sample nothing, nor does ``direct``, whose defense
    draws frozen)."""
    from ..models.encoding import FRESH

    classifier = build_classifier(cell, campaign, checkpoint)
    # build_classifier checked the encoding against the model.
    if cell.encoding is None or not cell.encoding.poisson or not campaign.verdict.draws:
        return classifier, 0, None
    return classifier, campaign.verdict.draws, build_classifier(cell, campaign, checkpoint, encoding=FRESH)


def verdict_defense_draws(cell: Cell, verdict_draws: int) -> str | None:
    """How the cell's defense draws in its verdict: ``fresh`` for a randomized defense's
    cell that takes a verdict (:func:`victim` builds its verdict model fresh), else None;
    part of the log's identity (:func:`robustsnn.records.identity.run_identity`)."""
    from ..defenses import is_randomized

    return "fresh" if verdict_draws and is_randomized(cell.defense) else None


def cell_paths(results: Path, campaign: Campaign, cell: Cell) -> tuple[Path, Path]:
    folder = Path(results) / campaign.campaign.name
    stem = f"{cell.key}__{campaign.threat.protocol}"
    return folder / f"{stem}.csv", folder / f"{stem}.json"


def legacy_identity(campaign_dict: dict[str, Any]) -> dict[str, Any]:
    """What a run record from before log identities says about the experiment."""
    examples = {k: v for k, v in campaign_dict["examples"].items() if k != "num_examples"}
    # Records written before query_cache existed ran with TextAttack's cache on.
    return {"threat": campaign_dict["threat"], "examples": examples,
            "seed": campaign_dict["campaign"]["seed"], "verdict": campaign_dict["verdict"],
            "query_cache": campaign_dict["campaign"].get("query_cache", True)}


def _check_legacy(csv_path: Path, record_path: Path, campaign: Campaign, identity: dict[str, Any]) -> None:
    """A log from before identities: its run record is the only witness of what it holds."""
    from ..records.identity import check_identity, refuse_legacy_digest

    if not record_path.exists():
        raise UserError(f"{csv_path} has no identity line (an older robustsnn wrote it) and its run record "
                        f"{record_path.name} is gone, so nothing says which experiment its rows belong to; "
                        "move it away to start over")
    try:
        old = RunRecord.load(record_path)
    except RecordError as exc:
        raise UserError(f"{exc}; move it away to start over") from None
    refuse_legacy_digest(record_path, old.model)
    stored, model = legacy_identity(dict(old.campaign)), old.model
    if identity.get("verdict_defense_draws") and old.verdict_draws and "draws" not in (model.get("defense") or {}):
        raise UserError(f"{csv_path} was voted on with defense '{old.cell.defense}' drawing frozen (keyed) draws, as "
                        "before it was judged by fresh draws; this run's verdict draws it fresh: another experiment; "
                        "give another --results folder, or move the log away to start over")
    ours = legacy_identity(campaign.to_dict())
    if not identity["verdict_draws"]:  # deterministic models never use the verdict
        stored.pop("verdict")
        ours.pop("verdict")
    if "model_sha256" in model:
        stored["model_sha256"] = model["model_sha256"]
        ours["model_sha256"] = identity["model"]["model_sha256"]
    check_identity(csv_path, stored, ours)


def open_log(csv_path: Path, record_path: Path, campaign: Campaign, identity: dict[str, Any],
             log: Callable[[str], None] = print) -> AttackLog:
    """Open (or start) the log of a run with ``identity``, refusing one written by another
    experiment (naming the first field that differs). A log from before identities is
    checked against its run record and then given its identity line."""
    from ..records.identity import check_identity

    attack_log = AttackLog(csv_path, identity, notify=log)
    if attack_log.identity is not None:
        check_identity(csv_path, attack_log.identity, identity)
    else:
        if attack_log.rows():
            _check_legacy(csv_path, record_path, campaign, identity)
        attack_log.adopt_identity(identity)
    return attack_log


def new_record(campaign: Campaign, cell: Cell, attack: dict[str, Any], model: dict[str, Any], csv_path: Path,
               examples_selected: int, verdict_draws: int) -> RunRecord:
    """The run record of a cell as it starts (an attack or a transfer run): what ran,
    against what, with which versions; the metrics join it when the run completes.
    Built through the schema's validation, so a runner never writes what readers refuse."""
    from ..provenance import provenance

    return RunRecord.from_dict({
        "campaign": campaign.to_dict(), "campaign_file": campaign.source, "cell": cell.to_dict(),
        "protocol": campaign.threat.protocol, "attack": attack, "model": model,
        "log": csv_path.name, "examples_selected": examples_selected,
        "verdict_draws": verdict_draws, "complete": False, **provenance(),
    }, f"the run record of {cell.key}", path=csv_path.with_suffix(".json"))


def report_fewer(csv_path: Path, rows: list[dict[str, str]], selected: set[int], record: RunRecord,
                  log: Callable[[str], None]) -> RunRecord:
    """A log that already holds more of this experiment's examples than asked for: report
    the asked-for ones, attack nothing, write nothing (an attack or a transfer run)."""
    done = {int(r["index"]) for r in rows}
    if not selected <= done:
        raise UserError(f"{csv_path} holds {len(done - selected)} examples outside the {len(selected)} selected "
                        "now and lacks some of these; run with a larger --num-examples (or none) to extend it, "
                        "or give another --results folder")
    log(f"{csv_path.name}: the log already holds {len(done)} examples; reporting the {len(selected)} selected "
        "(nothing attacked, the log and its record unchanged)")
    kept = [r for r in rows if int(r["index"]) in selected]
    return record.completed(summarise(kept, record.verdict_draws, replay=record.is_transfer,
                                      query_budget=record.threat.get("query_budget")))


class CandidateCounter:
    """Counts, per example, the candidate texts an attack's transformation offered and
    those its constraints kept, per call: a text offered again is counted again.
    (TextAttack's transformation cache serves only calls whose arguments hash, and the
    searches here - PWWS's and TextFooler's word-importance search, the hard-label search -
    pass ``indices_to_modify`` as a list, so they never hit it.) What the logs use is
    whether a count is zero: an example offered no candidate at all is unattackable."""

    def __init__(self, attack: Any) -> None:
        self.offered = self.kept = 0
        offer, keep = attack._get_transformations_uncached, attack.filter_transformations

        def offered(*args: Any, **kwargs: Any) -> Any:
            texts = offer(*args, **kwargs)
            self.offered += len(texts)
            return texts

        def kept(*args: Any, **kwargs: Any) -> Any:
            texts = keep(*args, **kwargs)
            self.kept += len(texts)
            return texts

        attack._get_transformations_uncached, attack.filter_transformations = offered, kept

    def reset(self) -> None:
        self.offered = self.kept = 0


# How many examples the pre-check looks at, and the share without a candidate that refuses.
_PRECHECK_EXAMPLES, _UNATTACKABLE_LIMIT = 20, 0.5


def prepare_language(resources: Any, cell: Cell, campaign: Campaign, classifier: Any,
                     log: Callable[[str], None]) -> None:
    """Point ``resources`` at the dataset's language: for Chinese (unless the campaign
    chose the English swap, or the caller gave an embedding) the K nearest neighbours in
    the attacked model's own word vectors (resources/chinese.py)."""
    from ..data.registry import get_dataset_spec

    language = get_dataset_spec(cell.dataset).language
    use_chinese = language == "zh" and campaign.resources.zh_swap == "neighbours"
    resources.language = "zh" if use_chinese else "en"
    if not use_chinese or resources.embedding is not None:
        return
    from ..classifier import wrapped_with
    from ..models.loading import recipe_vectors
    from ..resources.chinese import gloss_antonyms, neighbour_embedding

    network = wrapped_with(classifier, "loaded")  # under a defense: the network it wraps
    if network is None:
        raise UserError(f"{cell.key}: the Chinese word swap is built from the model's word vectors, and model "
                        f"'{cell.model}' has none (set resources.zh_swap, or give the model a recipe)")
    vectors = recipe_vectors(network.loaded.recipe)
    resources.chinese = neighbour_embedding(vectors, max(campaign.threat.candidates, 50),
                                            campaign.resources.zh_min_cos,
                                            campaign.resources.zh_negation_filter, log=log,
                                            antonyms=gloss_antonyms() if campaign.resources.zh_antonym_filter else None)


def check_attackable(attack: Any, examples: list[Example], cell: Cell, campaign: Campaign,
                     described: dict[str, Any]) -> None:
    """Refuse a cell whose transformation offers no candidate for most of its first
    examples (nothing could attack them, so the cell would read as robust), unless the
    campaign allows it."""
    if campaign.campaign.allow_unattackable or not examples:
        return
    from ..resources.textattack_import import import_textattack

    attacked_text = import_textattack().shared.AttackedText
    sample = examples[:_PRECHECK_EXAMPLES]
    empty = sum(not attack.transformation(attacked_text(e.text),
                                          pre_transformation_constraints=attack.pre_transformation_constraints)
                for e in sample)
    if empty > _UNATTACKABLE_LIMIT * len(sample):
        swap = described.get("embedding") or "; ".join(described.get("transformations", [])) or cell.recipe
        raise UserError(f"{cell.key}: for {empty} of the first {len(sample)} examples the transformation offers no "
                        f"candidate ({swap}): the attack resources do not cover dataset '{cell.dataset}'; give it "
                        "resources for its language, or set campaign.allow_unattackable = true to log such "
                        "examples as unattackable")


def seed_all(seed: int) -> None:
    """Seed every RNG an attack or a fresh draw uses (per example: resumes draw alike)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def result_type(result: Any) -> str:
    """TextAttack's result class -> successful | failed | skipped."""
    name = type(result).__name__
    if name == "SuccessfulAttackResult":
        return SUCCESSFUL
    if name == "SkippedAttackResult":
        return SKIPPED
    if name in ("FailedAttackResult", "MaximizedAttackResult"):
        return FAILED
    raise TypeError(f"unexpected attack result {name}")


def _outcome_row(example: Example, result: Any, seconds: float) -> dict[str, Any]:
    original = result.original_result
    perturbed = result.perturbed_result
    kind = result_type(result)
    changed = (words_changed(original.attacked_text.words, perturbed.attacked_text.words)
               if kind != SKIPPED else 0)
    return {
        "index": example.index, "label": example.label, "result": kind,
        "original_output": original.output, "perturbed_output": perturbed.output,
        "original_score": float(original.score), "perturbed_score": float(perturbed.score),
        "queries": int(perturbed.num_queries), "words_perturbed": changed,
        "num_words": len(original.attacked_text.words), "seconds": seconds,
        "original_text": example.text, "perturbed_text": perturbed.attacked_text.text,
    }


def _running(rows: list[dict[str, str]]) -> dict[str, str]:
    m = compute_metrics(outcomes_of(rows))
    pct = lambda x: "-" if x != x else f"{100 * x:.1f}"  # noqa: E731  (nan -> "-")
    return {"Cln": pct(m.clean_accuracy), "Boa": pct(m.accuracy_under_attack),
            "Suc": pct(m.attack_success_rate)}


class CellWorker:
    """What attacks the examples of one cell, built once: the victim (and its verdict
    model), the attack, its candidate counter and the cell's examples. The serial runner
    builds one in-process; each Ray actor builds its own (campaign/ray_executor.py).
    Everything an example's outcome depends on is seeded from the campaign seed and the
    example's index and every cache is cleared after it, so an example's row does not
    depend on which worker attacked it, nor on what that worker attacked before."""

    def __init__(self, campaign: Campaign, cell: Cell, checkpoint: Path | None = None,
                 resources: Any = None, log: Callable[[str], None] = print) -> None:
        from ..attack.recipes import build_attack, describe_attack
        from ..attack.wrappers import TextClassifierWrapper
        from ..data.tsv import load_dataset
        from ..records.identity import run_identity
        from ..resources.offline import AttackResources

        self.campaign, self.cell = campaign, cell
        self.classifier, self.verdict_draws, self.verdict_model = victim(cell, campaign, checkpoint)
        self.examples = select_examples(load_dataset(cell.dataset), campaign.examples, campaign.campaign.seed)
        resources = resources or AttackResources()
        prepare_language(resources, cell, campaign, self.classifier, log)
        self.attack = build_attack(cell.recipe, TextClassifierWrapper(self.classifier), campaign.threat, resources)
        # The goal function's per-example cache of model outputs (see CampaignSpec.query_cache).
        self.attack.goal_function.use_cache = campaign.campaign.query_cache
        self.described = describe_attack(cell.recipe, campaign.threat, attack=self.attack, resources=resources)
        check_attackable(self.attack, self.examples, cell, campaign, self.described)
        self.counter = CandidateCounter(self.attack)
        self.model = self.classifier.describe()
        self.identity = run_identity(campaign, cell, self.model, self.described, self.verdict_draws,
                                     verdict_defense_draws(cell, self.verdict_draws))

    def failure_kind(self, row: dict[str, Any], example: Example) -> str:
        """What a failed search's row says (any other result stays as it is):

        * ``budget`` when the search spent the query budget (TextAttack's goal function
          ends it, ``search_over``, once ``num_queries`` reaches ``query_budget``) - unless
          the transformation offers nothing for the text at all, asked here once when the
          search never got to ask it;
        * ``unattackable`` when the transformation offered no candidate at all;
        * ``failed`` when the search finished with candidates and no success.
        """
        if row["result"] != FAILED:
            return row["result"]
        goal = self.attack.goal_function
        if budget_spent(goal.num_queries, goal.query_budget):
            if self.counter.offered or self.offers_candidates(example):
                return BUDGET
            return UNATTACKABLE
        return UNATTACKABLE if self.counter.offered == 0 else FAILED  # no candidate: nothing to try

    def offers_candidates(self, example: Example) -> bool:
        """Whether the transformation (with the pre-transformation constraints, as the
        search applies them) offers any candidate for the clean text, at any position:
        the union of what a search that never changed the text could be offered (the
        pre-check's and analysis/recount.py's question; not counted as offered)."""
        from ..resources.textattack_import import import_textattack

        text = import_textattack().shared.AttackedText(example.text)
        return bool(self.attack.transformation(text, pre_transformation_constraints=
                                               self.attack.pre_transformation_constraints))

    def attack_example(self, example: Example, early_stop: bool = True) -> dict[str, Any]:
        """The log row of one example (attacked, counted and, for Poisson models, voted:
        each text's vote stops once its verdict is settled, unless ``early_stop`` is False,
        for a log from before the draws-used columns; see campaign/verdict.py)."""
        from .verdict import majority_votes

        seed_all(example_seed(self.campaign.campaign.seed, example.index))
        began = time.perf_counter()
        self.counter.reset()
        result = self.attack.attack(example.text, example.label)
        row = _outcome_row(example, result, time.perf_counter() - began)
        row.update(candidates_offered=self.counter.offered, candidates_kept=self.counter.kept)
        if self.verdict_model is not None:
            final = row["perturbed_text"] if row["result"] == SUCCESSFUL else example.text
            clean, after = majority_votes(self.verdict_model, [example.text, final], example.label,
                                          self.verdict_draws, early_stop=early_stop)
            row.update(verdict_draws=self.verdict_draws, verdict_clean_votes=clean.label_votes,
                       verdict_final_votes=after.label_votes, verdict_clean_correct=clean.correct,
                       verdict_final_correct=after.correct, verdict_clean_draws=clean.draws,
                       verdict_final_draws=after.draws)
        # After the verdict (whose final text is the clean one either way), so that asking
        # the transformation below draws nothing before the verdict's draws.
        row["result"] = self.failure_kind(row, example)
        self.attack.clear_cache()  # each example on its own: resumed runs match uninterrupted ones
        return row


class LocalExecutor:
    """Attacks a cell's examples one after another in this process (the default)."""

    def __init__(self, resources: Any = None) -> None:
        from ..resources.offline import AttackResources

        # The counter-fitted vectors and masked LM, loaded once for all cells.
        self.resources = resources or AttackResources()
        self.worker: CellWorker | None = None

    def setup(self, campaign: Campaign, cell: Cell, checkpoint: Path | None,
              log: Callable[[str], None]) -> CellWorker:
        """Build the cell's worker; the runner reads its identity, descriptions and examples."""
        self.worker = CellWorker(campaign, cell, checkpoint, self.resources, log)
        return self.worker

    def attack(self, examples: list[Example], early_stop: bool = True) -> Iterator[dict[str, Any]]:
        """The rows of ``examples``, in their order, each as soon as it is done
        (``early_stop``: see :meth:`CellWorker.attack_example`)."""
        assert self.worker is not None, "setup() first"
        for example in examples:
            yield self.worker.attack_example(example, early_stop)

    def close(self) -> None:
        self.worker = None


def run_cell(campaign: Campaign, cell: Cell, results: Path, checkpoint: Path | None = None,
             resources: Any = None, log: Callable[[str], None] = print, executor: Any = None,
             progress: Any = None) -> RunRecord:
    """Attack every selected example of ``cell`` not yet in its log; return the record.

    ``resources`` (an :class:`~robustsnn.attack.recipes.AttackResources`) lets a campaign
    load the counter-fitted vectors and the masked LM once for all its cells.
    ``executor``: where the examples are attacked (default: a :class:`LocalExecutor`
    here; campaign/ray_executor.py spreads them over Ray actors). Either way this process
    is the only writer of the log, and rows are logged in example order.
    ``progress``: a campaign-wide tqdm bar to advance instead of one for this cell.
    """
    from tqdm.auto import tqdm

    executor = executor or LocalExecutor(resources)
    csv_path, record_path = cell_paths(results, campaign, cell)
    # The model, attack and examples first: a run refused there (no checkpoint, a cell
    # nothing can attack) leaves no folder and no lock behind.
    worker = executor.setup(campaign, cell, checkpoint, log)
    finished = finished_as_logged(csv_path, record_path, worker.identity, {e.index for e in worker.examples})
    if finished is not None:
        log(f"{cell.key}: {len(worker.examples)} of {len(worker.examples)} examples already logged: "
            "finished, record kept")
        return finished
    with exclusive(csv_path):  # one writer per log, for the whole run
        examples, verdict_draws = worker.examples, worker.verdict_draws
        attack_log = open_log(csv_path, record_path, campaign, worker.identity, log)
        done = attack_log.done()
        record = new_record(campaign, cell, worker.described, worker.model, csv_path, len(examples), verdict_draws)
        selected = {e.index for e in examples}
        if not done <= selected:
            return report_fewer(csv_path, attack_log.rows(), selected, record, log)
        todo = [e for e in examples if e.index not in done]
        finished = finished_record(record_path) if not todo else None
        if finished is not None:
            log(f"{cell.key}: resuming, {len(done)} of {len(examples)} examples already logged: finished, record kept")
            return finished
        record = record.write(record_path)
        rows = attack_log.rows()
        if done:
            log(f"{cell.key}: resuming, {len(done)} of {len(examples)} examples already logged")
        bar = progress or tqdm(total=len(examples), initial=len(done), desc=cell.key, unit="ex", disable=None)
        try:
            if progress is not None:
                progress.set_description(cell.key)
                progress.update(len(done))
            # A log from before the draws-used columns can only hold votes over all R draws
            # (said only then: an executor that knows nothing of early stopping runs as ever).
            rows_of = executor.attack(todo) if attack_log.counts_draws else executor.attack(todo, early_stop=False)
            for row in rows_of:
                attack_log.append(row)
                rows.append({k: str(int(v) if isinstance(v, bool) else v) for k, v in row.items()})
                bar.update(1)
                bar.set_postfix(_running(rows))
        finally:
            if progress is None:
                bar.close()
        return record.completed(summarise(attack_log.rows(), verdict_draws,
                                          query_budget=campaign.threat.query_budget)).write(record_path)


def finished_as_logged(csv_path: Path, record_path: Path, identity: dict[str, Any],
                       selected: set[int]) -> RunRecord | None:
    """The finished record of a run whose log, read as it lies (compressed or not, no
    lock taken), is this experiment's and holds exactly the ``selected`` examples; else
    None, and the caller goes the locked way (which resumes, repairs or refuses). Why:
    every evaluation re-checks the surrogate runs it shares with others, and taking their
    writer lock (or restoring a compressed log) would make two evaluations on one dataset
    collide on runs that neither writes."""
    from ..records.identity import check_identity
    from ..records.log import log_exists, read_identity, read_log

    finished = finished_record(record_path)
    if finished is None or not log_exists(csv_path):
        return None
    stored = read_identity(csv_path)
    if stored is None:  # a log from before identities: the locked way adopts one
        return None
    check_identity(csv_path, stored, identity)
    torn: list[str] = []
    done = [int(r["index"]) for r in read_log(csv_path, warn=torn.append)]
    return finished if not torn and set(done) == selected else None


def finished_record(record_path: Path) -> RunRecord | None:
    """The run record at ``record_path`` if it says its run completed (else None: none
    there, or not finished). A run called again with nothing left to do returns it as it
    is (attack and transfer runs): a rewrite would give the logged rows that call's
    command and date. A malformed record is an error naming the file, never overwritten."""
    if not record_path.is_file():
        return None
    record = RunRecord.load(record_path)
    return record if record.complete else None


def summarise(rows: list[dict[str, str]], verdict_draws: int, replay: bool = False,
              unattackable_known: bool | None = None, query_budget: int | None = None) -> dict[str, Any]:
    """Metrics of a log, from the one metrics module (``replay``: a transfer run's log,
    see :func:`.log.final_verdict`; ``unattackable_known``: see :func:`.metrics.compute_metrics`;
    ``query_budget``: the search's, to tell the budget-stopped searches of a log from
    before the ``budget`` type, see :func:`.metrics.mark_budget_stopped`; never a
    transfer run's, whose queries are its replays')."""
    if query_budget and not replay:
        rows = mark_budget_stopped(rows, query_budget)
    summary: dict[str, Any] = {"metrics": compute_metrics(outcomes_of(rows), unattackable_known).to_dict()}
    if verdict_draws:
        parsed = [{"result": r["result"], "verdict_clean_correct": parse_bool(r["verdict_clean_correct"]),
                   "verdict_final_correct": parse_bool(final_verdict(r, replay)[0])} for r in rows]
        summary["verdict"] = compute_verdict(parsed, verdict_draws, replay).to_dict()
    return summary
