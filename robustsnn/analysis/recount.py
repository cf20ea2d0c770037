"""Unattackable examples of logs written before the candidate counts existed.

A log written since the counts existed marks an example ``unattackable`` when the
attack's transformation offered no candidate text during its whole search. An older log
only says ``failed``; this module recovers which of those failures were unattackable,
without querying any model, from the cell's own recipe and threat (in its record):

* a ``successful`` example had candidates, and so did a ``failed`` one whose final text
  changed a word, so only failures with no word perturbed are checked;
* for those the search never changed the text, so every candidate it could be offered
  was a candidate of the clean text at some position; the transformation (with the
  pre-transformation constraints, as the search applies them) is asked once for all
  positions of the clean text, and an empty answer means the search had nothing to
  try: exactly the logged definition (runner.CandidateCounter counts what the
  transformation offers, before the constraints that compare candidates).

A failure with candidates but no perturbation is the other kind: the search found no
swap that lowered the model's score for the true class (a flat output, e.g. rates that
do not move), which is robustness the attack could not get past, not a missing resource.

Transfer runs replay texts and never search: they have no unattackable share.

Searches the query budget stopped (logged ``budget`` since that type exists, see
:mod:`..records.metrics`) are left as they are: the runner already asked the
transformation about those that had no candidate counted. A log from before that type
logged such a search ``unattackable`` when it had counted no candidate, though its
budget may have ended it before it asked the transformation at all (a budget of 1 leaves
no query past the clean text's): those rows (:func:`budget_suspects`) are asked here
too, and are ``budget`` when the transformation does offer candidates. (A budget-stopped
``failed`` row of such a log needs no model: its queries reached the budget, see
:func:`..records.metrics.mark_budget_stopped`.)
"""

from __future__ import annotations

from typing import Any

from ..campaign.spec import TRANSFER_PREFIX, Cell, campaign_from_dict, select_examples
from ..errors import UserError
from ..records.metrics import BUDGET, FAILED, SKIPPED, UNATTACKABLE, budget_spent
from ..records.record import RunRecord


def needs_recount(rows: list[dict[str, str]], recipe: str) -> bool:
    """A search run whose log cannot tell its unattackable examples (no candidate counts)."""
    if recipe.startswith(TRANSFER_PREFIX):
        return False
    return any(r["result"] != SKIPPED and r["candidates_offered"] == "" for r in rows)


def _query_budget(record: RunRecord) -> int | None:
    return record.threat.get("query_budget")


def _budget_suspect(row: dict[str, str], query_budget: int | None) -> bool:
    return row["result"] == UNATTACKABLE and budget_spent(row["queries"], query_budget)


def budget_suspects(rows: list[dict[str, str]], record: RunRecord) -> bool:
    """Whether a search run's log has ``unattackable`` rows whose queries reached the
    budget: before the ``budget`` type those may be searches the budget stopped before
    they asked the transformation (:meth:`Recounter.rows` asks it)."""
    if record.is_transfer:
        return False
    return any(_budget_suspect(r, _query_budget(record)) for r in rows)


def _failure_suspect(row: dict[str, str]) -> bool:
    """A failure of a log without candidate counts that never changed the text: it may
    have had nothing to try."""
    return row["result"] == FAILED and row["words_perturbed"] == "0" and row["candidates_offered"] == ""


class Recounter:
    """Marks the unattackable failures of legacy logs (one holder for many logs: the
    attack resources and each (dataset, recipe, threat)'s transformation load once)."""

    def __init__(self, resources: Any = None) -> None:
        from ..resources.offline import AttackResources

        self.resources = resources or AttackResources()
        self._attacks: dict[str, Any] = {}
        self._texts: dict[tuple[str, str], dict[int, str]] = {}

    def rows(self, record: RunRecord, rows: list[dict[str, str]]) -> list[dict[str, str]]:
        """``rows`` with each failure that had no candidate marked ``unattackable``, and
        each ``unattackable`` row the budget stopped (:func:`budget_suspects`) whose text
        does have candidates marked ``budget``."""
        from ..resources.textattack_import import import_textattack

        budget = _query_budget(record)
        suspect = lambda r: _failure_suspect(r) or _budget_suspect(r, budget)  # noqa: E731
        suspects = [r for r in rows if suspect(r)]
        if not suspects:
            return rows
        campaign = campaign_from_dict(dict(record.campaign))
        cell = Cell(**record.cell.to_dict())
        if self._language(cell.dataset) != "en":
            raise UserError(f"{cell.key}: recounting needs the swap of a {self._language(cell.dataset)} dataset, "
                            "which is built from the attacked model's vectors; rerun the cell instead")
        attack = self._attack(cell.recipe, campaign)
        texts = self._example_texts(cell.dataset, campaign)
        attacked_text = import_textattack().shared.AttackedText
        out = []
        for row in rows:
            row = dict(row)
            if suspect(row):
                text = texts.get(int(row["index"]))
                if text is None:
                    raise UserError(f"{cell.key}: example {row['index']} is not among the campaign's examples")
                offered = attack.transformation(attacked_text(text),
                                                pre_transformation_constraints=attack.pre_transformation_constraints)
                if not offered:
                    row["result"] = UNATTACKABLE
                elif row["result"] == UNATTACKABLE:  # it had candidates: the budget stopped it first
                    row["result"] = BUDGET
            out.append(row)
        return out

    def _language(self, dataset: str) -> str:
        from ..data.registry import get_dataset_spec

        return get_dataset_spec(dataset).language

    def _attack(self, recipe: str, campaign: Any) -> Any:
        from ..attack.recipes import build_unqueried_attack

        key = repr((recipe, campaign.threat))
        if key not in self._attacks:
            self._attacks[key] = build_unqueried_attack(recipe, campaign.threat, self.resources)
        return self._attacks[key]

    def _example_texts(self, dataset: str, campaign: Any) -> dict[int, str]:
        from ..data.tsv import load_dataset

        key = (dataset, repr((campaign.examples, campaign.campaign.seed)))
        if key not in self._texts:
            examples = select_examples(load_dataset(dataset), campaign.examples, campaign.campaign.seed)
            self._texts[key] = {e.index: e.text for e in examples}
        return self._texts[key]

