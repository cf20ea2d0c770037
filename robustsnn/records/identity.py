"""The identity of a run: everything that makes two runs of a cell the same experiment.

It is written into the log itself, as its first line, before the first row (see
:mod:`.log`), so it cannot be lost separately from the rows it describes; every resume
compares it with the run about to extend the log and names the first field that
differs. The example count is not part of it (a run may grow), and neither is anything
that does not change an outcome (dates, machine, code revision: those are in the run
record).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..errors import UserError

# Model description keys that say where a file lies or how a draw was seeded, not what
# the model is: the network is named by its content digest, model_sha256 (format, kind,
# config, vocabulary and weights; models/checkpoint.py), the seed by "seed".
_NOT_IDENTITY = ("checkpoint", "encoding_seed")
# The parts of an attack description that decide its outcome (a TextAttack upgrade that
# renames a class, or another reference string, does not).
_ATTACK_KEYS = ("recipe", "protocol", "goal_function", "search_method", "transformations",
                "constraints", "embedding", "sentence_encoder", "masked_lm", "query_budget",
                # a transfer run: which run's texts it replays
                "transfer_from", "source_model_sha256")


def run_identity(campaign: Any, cell: Any, model: Mapping[str, Any], attack: Mapping[str, Any],
                 verdict_draws: int, verdict_defense_draws: str | None = None) -> dict[str, Any]:
    """The identity of ``cell`` of ``campaign`` run against the classifier described by
    ``model`` (its ``describe()``) with the attack described by ``attack``.

    ``verdict_draws`` is what the run uses (0 for deterministic models and ``direct``),
    so the campaign's verdict setting is no part of a TextCNN log's identity.
    ``verdict_defense_draws``: how a randomized defense draws in the verdict (``fresh``),
    None where no randomized defense votes. Before issue 33 the verdict voted with the
    defense's frozen draws, and an identity without the field is such a log: it differs,
    so a log of the old verdict is never extended with rows of the new one.
    """
    spec = campaign.to_dict()
    examples = {k: v for k, v in spec["examples"].items() if k != "num_examples"}
    return {
        "format": 1,
        "cell": cell.to_dict(),
        "model": {k: v for k, v in model.items() if k not in _NOT_IDENTITY},
        # The settings before what is built from them, so a changed setting is named
        # rather than the attack component it changes.
        "threat": spec["threat"],
        "examples": examples,
        "seed": spec["campaign"]["seed"],
        "query_cache": spec["campaign"]["query_cache"],
        "verdict_draws": verdict_draws,
        **({"verdict_defense_draws": verdict_defense_draws} if verdict_defense_draws is not None else {}),
        "attack": {k: attack[k] for k in _ATTACK_KEYS if k in attack},
    }


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key in value:
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


# Settings added after logs were written, with the value every older run had: a log
# that lacks one was written with that value, so it matches a run that has it.
# A randomized defense's "draws" (issue 33): every log from before drew frozen (keyed) draws.
ADDED_LATER = {"threat.model_reach": False, "model.defense.draws": "frozen"}


def first_difference(stored: Mapping[str, Any], ours: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
    """``(dotted field, stored value, our value)`` of the first field that differs (in
    ``stored``'s order, then fields only ``ours`` has), or None when they agree. A value
    is compared as JSON writes it, so a tuple equals the list it was stored as; a
    setting of :data:`ADDED_LATER` that ``stored`` lacks counts as its old value."""
    def norm(v: Any) -> Any:
        return json.loads(json.dumps(v))

    a, b = dict(_flatten(norm(stored))), dict(_flatten(norm(ours)))
    for key, old in ADDED_LATER.items():
        if key not in a and key in b and key.split(".")[0] in stored:
            a[key] = old
    for key in [*a, *(k for k in b if k not in a)]:
        if a.get(key, _MISSING) != b.get(key, _MISSING):
            return key, a.get(key, _MISSING), b.get(key, _MISSING)
    return None


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING = _Missing()


def refuse_legacy_digest(path: Path, model: Mapping[str, Any]) -> None:
    """Refuse a log or record whose model description (``model``) names the checkpoint only
    by the sha256 of its file, as robustsnn did before content digests: comparing that with
    a content digest would call every such log another experiment, for the wrong reason."""
    from .record import LEGACY_DIGEST

    if LEGACY_DIGEST in model and "model_sha256" not in model:
        raise UserError(f"{path} names its checkpoint by the sha256 of the file (written before content "
                        "digests); run `robustsnn migrate-digests` on its results folder first")


def check_identity(log_path: Path, stored: Mapping[str, Any], ours: Mapping[str, Any]) -> None:
    """Refuse to extend ``log_path`` (whose identity is ``stored``) with another experiment."""
    refuse_legacy_digest(log_path, stored.get("model") or {})
    diff = first_difference(stored, ours)
    if diff is None:
        return
    field, theirs, mine = diff
    raise UserError(f"{log_path} was written with {field} = {_show(theirs)}, this run has {_show(mine)}: "
                    "another experiment; give the campaign another name (--set campaign.name=...) or "
                    "another --results folder, or move the log away to start over")


def _show(value: Any) -> str:
    text = value if isinstance(value, (str, _Missing)) else json.dumps(value)
    text = str(text)
    return text if len(text) <= 80 else text[:77] + "..."
