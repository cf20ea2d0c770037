"""``robustsnn sweep-attack``: one attack cell run at each value of one numeric threat knob,
for robustness curves (accuracy under attack against the modification rate or the
query budget).

Each value runs under its own campaign, named ``<campaign>-sweep-<knob leaf>-<value>``
(``adhoc-sweep-max_modification_rate-0.2``): a log belongs to one threat model (its
identity line refuses any other), so the values need a folder each, and the name says
in every record and table row which value it ran. Only the knob and the name differ
between the values' campaigns, which is what the site's knob plots group runs by
(reports/site_plots.py).

Pure data: importing this module imports no TextAttack.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Sequence

from ..attack.threat import ThreatModel
from ..checks import is_number
from ..errors import UserError
from ..records.metrics import percent as _pct
from ..records.record import RunRecord
from .spec import Campaign, campaign_from_dict

_HINTS = typing.get_type_hints(ThreatModel)
# The knobs a curve can run along: the [threat] keys that are numbers (bools are not).
KNOBS = tuple(f"threat.{f.name}" for f in dataclasses.fields(ThreatModel) if _HINTS[f.name] in (int, float))


def check_knob(knob: str, overrides: Sequence[str] = ()) -> str:
    """The leaf of ``knob`` (``threat.candidates`` -> ``candidates``); a knob that is not a
    numeric threat key, or one an override also sets, is an error."""
    if f"threat.{knob}" in KNOBS:  # one spelling, the key as a campaign file and --set write it
        raise UserError(f"write the knob '{knob}' as 'threat.{knob}'")
    if knob not in KNOBS:
        raise UserError(f"cannot sweep '{knob}': the knob must be a numeric threat key "
                        f"(choices: {', '.join(KNOBS)})")
    for item in overrides:
        if item.split("=", 1)[0].strip() == knob:  # two values for one key: which one ran?
            raise UserError(f"--set {item} sets the knob the sweep varies; leave it out")
    return knob.split(".", 1)[1]


def parse_values(values: str | Sequence[Any]) -> list[int | float]:
    """``"0.05,0.1"`` or a sequence of numbers (or their spellings) -> numbers, in order.
    Whether each fits the knob is for the threat model to say (:func:`sweep_campaigns`)."""
    items = values.split(",") if isinstance(values, str) else list(values)
    if not items or (isinstance(values, str) and not values.strip()):
        raise UserError("no sweep values: give them comma-separated, e.g. 0.05,0.1,0.2")
    out: list[int | float] = []
    for item in items:
        if is_number(item):
            out.append(item)
            continue
        if not isinstance(item, str):
            raise UserError(f"sweep values: {item!r} is not a number")
        text = item.strip()
        if not text:
            raise UserError(f"sweep values: an empty item in {values!r} (give them comma-separated, e.g. 0.05,0.1)")
        try:
            out.append(int(text))
        except ValueError:
            try:
                out.append(float(text))
            except ValueError:
                raise UserError(f"sweep values: '{text}' is not a number") from None
    return out


def spell(value: int | float) -> str:
    """The value as the campaign name writes it: exact and short (``0.2``, ``1e-05``, ``50``)."""
    return repr(value)


def sweep_name(base: str, leaf: str, value: int | float) -> str:
    return f"{base}-sweep-{leaf}-{spell(value)}"


def sweep_campaigns(base: Campaign, knob: str, values: str | Sequence[Any]) -> list[tuple[Any, Campaign]]:
    """``(value, campaign)`` per value, in order: ``base`` with the knob set and renamed.
    Every value is checked (type and range, by the threat model) before any is returned,
    so a bad one stops the sweep before it runs."""
    leaf = check_knob(knob)
    out: list[tuple[Any, Campaign]] = []
    seen: set[Any] = set()
    for given in parse_values(values):
        raw = base.to_dict()
        raw["threat"][leaf] = given
        try:  # through the file's path: the same type and range checks, errors naming the key
            c = campaign_from_dict(raw, source=base.source)
        except UserError as exc:
            raise UserError(f"sweep value {given!r}: {exc}") from None
        value = getattr(c.threat, leaf)  # as the threat model holds it (1 -> 1.0 for a rate)
        if value in seen:
            raise UserError(f"sweep values: {knob} = {spell(value)} is given twice")
        seen.add(value)
        renamed = dataclasses.replace(c.campaign, name=sweep_name(base.campaign.name, leaf, value))
        out.append((value, dataclasses.replace(c, campaign=renamed)))
    return out


def label(knob: str, value: int | float) -> str:
    """``max_modification_rate=0.2``: what tells a value's lines apart (the cell is the same)."""
    return f"{knob.split('.', 1)[1]}={spell(value)}"


def record_value(knob: str, record: RunRecord) -> Any:
    """The knob's value in a run record (its campaign's threat model)."""
    return record.threat[knob.split(".", 1)[1]]


def summary_table(knob: str, records: Sequence[RunRecord]) -> str:
    """Value -> Cln / Boa / Suc (%), and Boa_R (the R-draw verdict's accuracy under attack)
    where a run has a verdict (stochastic models); the value read from each record."""
    from tabulate import tabulate

    verdict = any(r.verdict is not None for r in records)
    rows = []
    for r in records:
        m = r.metrics
        row = [spell(record_value(knob, r)), m["n"], _pct(m["clean_accuracy"]),
               _pct(m["accuracy_under_attack"]), _pct(m["attack_success_rate"])]
        if verdict:
            row.append(_pct(r.verdict["accuracy_under_attack"]) if r.verdict is not None else "-")
        rows.append(row)
    headers = [knob, "N", "Cln", "Boa", "Suc"] + (["Boa_R"] if verdict else [])
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
