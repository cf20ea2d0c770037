"""Transfer attacks: replay the adversarial texts one model's attack found against another.

No search runs against the target: for every example the campaign selects (its
``[examples]``, ``num_examples`` included: the same subset as an attack run of it) that
the source run logged, the target classifies the clean text and, where the source attack succeeded, the source's
adversarial text. This is the black-box transfer test of adaptive evaluation: the
tailored TextCNN has the SNN's weights before conversion, so its adversarial texts are
the strongest surrogate attack on the SNN that needs no SNN query at all.

A transfer run is logged like an attack run (same columns, resumable, one row per
example) under the recipe name ``transfer-<source model>-<source recipe>`` (the model as
``<model>+<defense>`` when the source ran under a training-time defense, plus the
source's noise mode when it had one), so :mod:`.table` and :mod:`.worst_case` read it
like any other attack. Per example: ``skipped`` when the target is wrong on the clean
text, ``successful`` when it is wrong on the transferred text, ``failed`` otherwise
(including when the source found no adversarial text), except that a source search
that had no candidate, or that its query budget stopped, passes on as ``unattackable``
or ``budget``: nothing was transferred, and that is no robustness of the target's
(both count as failed, as in the source's metrics). For Poisson targets the clean
and the final text also get the R-draw verdict, as in :func:`.runner.run_cell`; when
nothing was transferred the final text is the clean text and shares its votes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import UserError
from ..records.identity import run_identity
from ..records.log import exclusive, log_exists, read_identity, read_log
from ..records.metrics import BUDGET, FAILED, SKIPPED, SUCCESSFUL, UNATTACKABLE, mark_budget_stopped
from ..records.record import RecordError, RunRecord
from .spec import TRANSFER_PREFIX, Campaign, Cell, transfer_recipe

__all__ = ["is_transfer", "run_transfer", "transfer_recipe"]


def is_transfer(recipe: str) -> bool:
    """Whether a logged recipe name is a transfer run's (:func:`transfer_recipe`)."""
    return recipe.startswith(TRANSFER_PREFIX)


def _transfer_row(row: dict[str, str], target: Any, verdict: Any, draws: int,
                  early_stop: bool = True) -> dict[str, Any]:
    from .verdict import majority_votes

    text, label = row["original_text"], int(row["label"])
    transferred = row["result"] == SUCCESSFUL and row["perturbed_text"] != text
    final = row["perturbed_text"] if transferred else text
    began = time.perf_counter()
    probs = np.asarray(target.predict_proba([text, final] if transferred else [text]))
    clean, after = probs[0], probs[-1]
    if clean.argmax() != label:
        result = SKIPPED
    elif transferred and after.argmax() != label:
        result = SUCCESSFUL
    elif row["result"] in (UNATTACKABLE, BUDGET):  # the source's search had no candidate, or ran out
        result = row["result"]
    else:
        result = FAILED
    out: dict[str, Any] = {
        "index": int(row["index"]), "label": label, "result": result,
        "original_output": int(clean.argmax()), "perturbed_output": int(after.argmax()),
        "original_score": float(1.0 - clean[label]), "perturbed_score": float(1.0 - after[label]),
        "queries": 2 if transferred else 1,
        "candidates_offered": row.get("candidates_offered", ""), "candidates_kept": row.get("candidates_kept", ""),
        "words_perturbed": int(row["words_perturbed"]) if transferred and result != SKIPPED else 0,
        "num_words": int(row["num_words"]),
        "original_text": text, "perturbed_text": final if result != SKIPPED else text,
    }
    if verdict is not None:
        votes = majority_votes(verdict, [text, final] if transferred else [text], label, draws,
                               early_stop=early_stop)
        out.update(verdict_draws=draws, verdict_clean_votes=votes[0].label_votes,
                   verdict_final_votes=votes[-1].label_votes, verdict_clean_correct=votes[0].correct,
                   verdict_final_correct=votes[-1].correct, verdict_clean_draws=votes[0].draws,
                   verdict_final_draws=votes[-1].draws)
    out["seconds"] = time.perf_counter() - began
    return out


def _source_checkpoint(source_csv: Path, source_record: Path, campaign: Campaign) -> str | None:
    """The content digest of the checkpoint the source run attacked, after checking that the
    source ran this campaign's experiment (threat model, examples, seed, query cache; not
    the verdict: texts, not votes, transfer)."""

    from ..records.identity import check_identity, refuse_legacy_digest
    from .runner import legacy_identity

    identity = read_identity(source_csv)
    ours = legacy_identity(campaign.to_dict())
    ours = {"threat": ours["threat"], "examples": ours["examples"], "seed": ours["seed"],
            "query_cache": ours["query_cache"]}
    if identity is not None:
        refuse_legacy_digest(source_csv, identity.get("model") or {})
        check_identity(source_csv, {k: identity[k] for k in ours}, ours)
        return identity["model"].get("model_sha256")
    if not source_record.is_file():
        raise UserError(f"{source_csv} has no identity line (an older robustsnn wrote it) and no run record "
                        f"beside it, so nothing says which experiment it ran; rerun the source cell")
    try:
        record = RunRecord.load(source_record)
    except RecordError as exc:
        raise UserError(f"{exc}; rerun the source cell") from None
    refuse_legacy_digest(source_record, record.model)
    stored = legacy_identity(dict(record.campaign))
    check_identity(source_csv, {k: stored[k] for k in ours}, ours)
    return record.model_sha256 or None


def _selected_rows(source_csv: Path, campaign: Campaign, dataset: str,
                   log: Callable[[str], None]) -> tuple[list[dict[str, str]], int]:
    """The source log's rows of the examples ``campaign`` selects, in selection order, and
    how many it selects; a selected example the source has not logged is named in one
    line and left out (a source run with fewer examples, or one still going)."""
    from ..data.tsv import load_dataset
    from .spec import select_examples

    selected = select_examples(load_dataset(dataset), campaign.examples, campaign.campaign.seed)
    # A source log from before the budget type: its budget-stopped searches say so here too.
    logged = {int(r["index"]): r for r in mark_budget_stopped(read_log(source_csv), campaign.threat.query_budget)}
    rows = [logged[e.index] for e in selected if e.index in logged]
    missing = len(selected) - len(rows)
    if missing:
        log(f"{source_csv.name} lacks {missing} of the {len(selected)} selected examples: they are not "
            "transferred (run the source cell with as many examples first, then this again to add them)")
    return rows, len(selected)


def run_transfer(campaign: Campaign, source: Cell, target: Cell, results: Path,
                 checkpoint: Path | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Replay ``source``'s log (a finished or partial run of ``campaign`` under ``results``)
    against ``target`` (a cell whose recipe is :func:`transfer_recipe` of ``source``): the
    campaign's selected examples (``num_examples`` of them), those the source logged;
    resumable, and a larger selection extends the log; returns the run record."""
    from tqdm.auto import tqdm

    from .runner import (
        cell_paths,
        example_seed,
        finished_as_logged,
        finished_record,
        new_record,
        open_log,
        report_fewer,
        seed_all,
        summarise,
        verdict_defense_draws,
        victim,
    )

    if target.recipe != transfer_recipe(source) or target.dataset != source.dataset:
        raise UserError(f"a transfer from {source.key} is logged as recipe '{transfer_recipe(source)}' "
                        f"on {source.dataset}, not {target.recipe} on {target.dataset}")
    source_csv, source_record = cell_paths(results, campaign, source)
    if not log_exists(source_csv):
        raise UserError(f"no source run {source_csv} to transfer from; run the campaign's attack cells first")
    source_checkpoint = _source_checkpoint(source_csv, source_record, campaign)
    csv_path, record_path = cell_paths(results, campaign, target)
    classifier, draws, verdict = victim(target, campaign, checkpoint)  # before the lock: a refusal writes nothing
    rows, selected = _selected_rows(source_csv, campaign, target.dataset, log)
    attack = {"recipe": target.recipe, "transfer_from": source.to_dict(),
              "source_model_sha256": source_checkpoint,
              "source_log": source_csv.name, "search": "none (replays the source's final texts)"}
    model = classifier.describe()
    identity = run_identity(campaign, target, model, attack, draws, verdict_defense_draws(target, draws))
    wanted = {int(r["index"]) for r in rows}
    finished = finished_as_logged(csv_path, record_path, identity, wanted)
    if finished is not None and finished.examples_selected == selected:
        log(f"{target.key}: all {len(rows)} examples already transferred from {source.key}: finished, record kept")
        return finished
    with exclusive(csv_path):  # one writer per log, for the whole run
        transfer_log = open_log(csv_path, record_path, campaign, identity, log)
        done = transfer_log.done()
        record = new_record(campaign, target, attack, model, csv_path, selected, draws)
        if not done <= wanted:  # a larger selection transferred before: report these, replay nothing
            return report_fewer(csv_path, transfer_log.rows(), wanted, record, log)
        todo = [r for r in rows if int(r["index"]) not in done]
        finished = finished_record(record_path) if not todo else None
        if finished is not None and finished.examples_selected == selected:
            log(f"{target.key}: all {len(rows)} examples already transferred from {source.key}: finished, record kept")
            return finished
        record = record.write(record_path)
        with tqdm(total=len(rows), initial=len(rows) - len(todo), desc=target.key, unit="ex", disable=None) as bar:
            for row in todo:
                seed_all(example_seed(campaign.campaign.seed, int(row["index"])))
                # A log from before the draws-used columns can only hold votes over all R draws.
                transfer_log.append(_transfer_row(row, classifier, verdict, draws, transfer_log.counts_draws))
                bar.update(1)
        record = record.completed(summarise(transfer_log.rows(), draws, replay=True)).write(record_path)
        log(f"{target.key}: transferred {len(rows)} examples from {source.key}")
        return record

