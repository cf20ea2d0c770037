"""The noise-mode vocabulary: the one owner of how a spike-encoding mode is spelled.

A *noise mode* says how a stochastic model's input spikes are drawn per query
(:mod:`robustsnn.models.encoding` draws them): ``fresh``, ``frozen``, ``mean-<k>`` (the
rates of k fresh draws averaged per query) or ``direct`` (no sampling); ``none`` is what a
deterministic model's cells carry. Campaign files, the CLI's ``--noise``, run records,
tables and reports all read modes through here, so a spelling is parsed in one place and
a report never re-derives, say, the draws of ``mean-20`` by slicing the string.

Light on purpose (no torch): the reports and the record readers import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .checks import is_int
from .errors import UserError

NONE = "none"  # a deterministic model's cells: no noise to draw
FRESH, FROZEN, MEAN, DIRECT = "fresh", "frozen", "mean-k", "direct"
MODES = (FRESH, FROZEN, MEAN, DIRECT)
# The most draws one mean-k query may average. The k-curve plateaus by k = 20-100 and the
# R-draw verdict uses 100; 1,000 draws already make one query cost a thousand frozen ones
# (hours per example on two cores), so a larger k is a typo, not an experiment.
MAX_DRAWS = 1000
# How reports order modes: the paper's fresh draws first, the adaptive ones after.
_ORDER = (FRESH, FROZEN, MEAN, DIRECT)


@dataclass(frozen=True)
class NoiseMode:
    """A parsed mode: ``mode`` one of :data:`MODES`, ``k`` the draws averaged per query
    (1 except for ``mean-k``). ``str()`` is the canonical spelling (``mean-20``)."""

    mode: str
    k: int = 1

    def __str__(self) -> str:
        return f"mean-{self.k}" if self.mode == MEAN else self.mode


def check_draws(k: int) -> None:
    """Refuse a draw count that cannot be meant (below 1 or above :data:`MAX_DRAWS`)."""
    if not is_int(k) or not 1 <= k <= MAX_DRAWS:
        raise UserError(f"mean-<k> averages 1 to {MAX_DRAWS} draws per query, got k={k!r}")


def parse_mode(text: str) -> NoiseMode:
    """``fresh``, ``frozen``, ``direct`` or ``mean-<k>`` -> a :class:`NoiseMode`. Case and
    surrounding blanks are ignored; ``mean-020`` reads as ``mean-20``. ``none`` is not a
    mode of a stochastic model and is refused here (see :func:`is_none`)."""
    if not isinstance(text, str):
        raise UserError(f"a noise mode is a string such as 'frozen' or 'mean-20', got {text!r}")
    spelled = text.strip().lower()
    if spelled in ("mean-k", "mean"):
        raise UserError(f"noise mode '{text}' does not say how many draws to average: write the "
                        "number of draws in the mode, e.g. mean-20")
    if spelled.startswith("mean-"):
        match = re.fullmatch(r"mean-([0-9]+)", spelled)
        if not match or int(match.group(1)) < 1:
            raise UserError(f"noise mode '{text}': mean-<k> takes a positive whole number of draws, e.g. mean-20")
        k = int(match.group(1))
        if k > MAX_DRAWS:
            raise UserError(f"noise mode '{text}': mean-<k> averages at most {MAX_DRAWS} draws per query")
        return NoiseMode(MEAN, k)
    if spelled not in MODES:
        raise UserError(f"unknown encoding mode '{text}' (choices: fresh, frozen, mean-<k> "
                        "with k draws averaged, e.g. mean-20, direct)")
    return NoiseMode(spelled)


def is_none(noise: object) -> bool:
    """Whether ``noise`` means "no noise" (a deterministic model): None or ``none``."""
    return noise is None or (isinstance(noise, str) and noise.strip().lower() == NONE)


def canonical(noise: str) -> str:
    """The canonical spelling of a logged or typed mode (``none`` stays ``none``)."""
    return NONE if is_none(noise) else str(parse_mode(noise))


def draws_per_query(noise: str) -> int | None:
    """Fresh Poisson draws behind one query: ``fresh`` -> 1, ``mean-<k>`` -> k; None for
    ``frozen``, ``direct`` and ``none`` (no fresh draw per query)."""
    if is_none(noise):
        return None
    parsed = parse_mode(noise)
    return parsed.k if parsed.mode in (FRESH, MEAN) else None


def deployed_form(noise: str) -> str:
    """The deployed model a run of this mode attacks: ``-`` for a deterministic model,
    ``direct`` for the SNN without sampling, ``poisson`` for every sampled mode (fresh,
    frozen and mean-k all attack the same deployed Poisson SNN)."""
    if is_none(noise):
        return "-"
    return DIRECT if parse_mode(noise).mode == DIRECT else "poisson"


def is_poisson(noise: str) -> bool:
    """Whether the deployed model of this mode samples spikes (and so takes an R-draw verdict)."""
    return deployed_form(noise) == "poisson"


def sort_key(noise: str) -> tuple[int, int, str]:
    """Reports' order: fresh, frozen, mean-k by k, direct, then anything else."""
    try:
        parsed = parse_mode(noise)
    except UserError:
        return (len(_ORDER), 0, noise)
    return (_ORDER.index(parsed.mode), parsed.k, noise)
