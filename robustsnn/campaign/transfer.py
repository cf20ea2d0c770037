"""Transfer attacks: replay the adversarial texts one model's attack found against another.

No search runs against the target: for every example of a finished source run, the
target classifies the clean text and, where the source attack succeeded, the source's
adversarial text. This is the black-box transfer test of adaptive evaluation: the
tailored TextCNN has the SNN's weights before conversion, so its adversarial texts are
the strongest surrogate attack on the SNN that needs no SNN query at all.

A transfer run is logged like an attack run (same columns, resumable, one row per
example) under the recipe name ``transfer-<source model>-<source recipe>`` (plus the
source's noise mode when it had one), so :mod:`.table` and :mod:`.worst_case` read it
like any other attack. Per example: ``skipped`` when the target is wrong on the clean
text, ``successful`` when it is wrong on the transferred text, ``failed`` otherwise
(including when the source found no adversarial text). For Poisson targets the clean
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
from ..records.metrics import FAILED, SKIPPED, SUCCESSFUL, UNATTACKABLE
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
    elif row["result"] == UNATTACKABLE:  # the source's search had no candidate for it
        result = UNATTACKABLE
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
    """The sha256 of the checkpoint the source run attacked, after checking that the
    source ran this campaign's experiment (threat model, examples, seed, query cache; not
    the verdict: texts, not votes, transfer)."""

    from ..records.identity import check_identity
    from .runner import legacy_identity

    identity = read_identity(source_csv)
    ours = legacy_identity(campaign.to_dict())
    ours = {"threat": ours["threat"], "examples": ours["examples"], "seed": ours["seed"],
            "query_cache": ours["query_cache"]}
    if identity is not None:
        check_identity(source_csv, {k: identity[k] for k in ours}, ours)
        return identity["model"].get("checkpoint_sha256")
    if not source_record.is_file():
        raise UserError(f"{source_csv} has no identity line (an older robustsnn wrote it) and no run record "
                        f"beside it, so nothing says which experiment it ran; rerun the source cell")
    try:
        record = RunRecord.load(source_record)
    except RecordError as exc:
        raise UserError(f"{exc}; rerun the source cell") from None
    stored = legacy_identity(dict(record.campaign))
    check_identity(source_csv, {k: stored[k] for k in ours}, ours)
    return record.checkpoint_sha256 or None


def run_transfer(campaign: Campaign, source: Cell, target: Cell, results: Path,
                 checkpoint: Path | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Replay ``source``'s log (a finished or partial run of ``campaign`` under ``results``)
    against ``target`` (a cell whose recipe is :func:`transfer_recipe` of ``source``);
    resumable; returns the run record."""
    from tqdm.auto import tqdm

    from .runner import cell_paths, example_seed, finished_record, new_record, open_log, seed_all, summarise, victim

    if target.recipe != transfer_recipe(source) or target.dataset != source.dataset:
        raise UserError(f"a transfer from {source.key} is logged as recipe '{transfer_recipe(source)}' "
                        f"on {source.dataset}, not {target.recipe} on {target.dataset}")
    source_csv, source_record = cell_paths(results, campaign, source)
    if not log_exists(source_csv):
        raise UserError(f"no source run {source_csv} to transfer from; run the campaign's attack cells first")
    source_checkpoint = _source_checkpoint(source_csv, source_record, campaign)
    csv_path, record_path = cell_paths(results, campaign, target)
    with exclusive(csv_path):  # one writer per log, for the whole run
        classifier, draws, verdict = victim(target, campaign, checkpoint)
        rows = read_log(source_csv)
        attack = {"recipe": target.recipe, "transfer_from": source.to_dict(),
                  "source_checkpoint_sha256": source_checkpoint,
                  "source_log": source_csv.name, "search": "none (replays the source's final texts)"}
        model = classifier.describe()
        transfer_log = open_log(csv_path, record_path, campaign,
                                run_identity(campaign, target, model, attack, draws), log)
        done = transfer_log.done()
        todo = [r for r in rows if int(r["index"]) not in done]
        finished = finished_record(record_path) if not todo else None
        if finished is not None:
            log(f"{target.key}: all {len(rows)} examples already transferred from {source.key}: finished, record kept")
            return finished
        record = new_record(campaign, target, attack, model, csv_path, len(rows), draws).write(record_path)
        with tqdm(total=len(rows), initial=len(rows) - len(todo), desc=target.key, unit="ex", disable=None) as bar:
            for row in todo:
                seed_all(example_seed(campaign.campaign.seed, int(row["index"])))
                # A log from before the draws-used columns can only hold votes over all R draws.
                transfer_log.append(_transfer_row(row, classifier, verdict, draws, transfer_log.counts_draws))
                bar.update(1)
        record = record.completed(summarise(transfer_log.rows(), draws, replay=True)).write(record_path)
        log(f"{target.key}: transferred {len(rows)} examples from {source.key}")
        return record

