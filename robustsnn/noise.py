"""The noise-mode vocabulary: the one owner of how a spike-encoding mode is spelled.

A *noise mode* says how a stochastic model's input spikes are drawn per query
(:mod:`robustsnn.models.encoding` draws them): ``fresh``, ``frozen``, ``mean-<k>`` (the
rates of k fresh draws averaged per query), ``crn-<k>`` (the rates of k *frozen* draws with
k derived seeds averaged per query: every query of a search meets the same k draws, the
common random numbers) or ``direct`` (no sampling); ``none`` is what a deterministic
model's cells carry. The same mode governs a randomized defense's draws
(:func:`defense_draws`), so a cell has one mode however many sources of randomness its
model has. Campaign files, the CLI's ``--noise``, run records,
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
FRESH, FROZEN, MEAN, DIRECT, CRN = "fresh", "frozen", "mean-k", "direct", "crn-k"
MODES = (FRESH, FROZEN, MEAN, DIRECT, CRN)
# The modes a randomized defense over a deterministic network runs in (direct and crn-k
# are modes of the spike input: over a TextCNN they would repeat frozen).
DEFENSE_MODES = (FRESH, FROZEN, MEAN)
# The deployed form of a deterministic network whose only randomness is its defense's.
RANDOMIZED = "randomized"
# The modes spelled with their number of draws (``mean-20``, ``crn-20``): mode -> prefix.
COUNTED = {MEAN: "mean", CRN: "crn"}
# The most draws one mean-k query may average. The k-curve plateaus by k = 20-100 and the
# R-draw verdict uses 100; 1,000 draws already make one query cost a thousand frozen ones
# (hours per example on two cores), so a larger k is a typo, not an experiment.
MAX_DRAWS = 1000
# How reports order modes: the paper's fresh draws first, the adaptive ones after.
_ORDER = (FRESH, FROZEN, MEAN, CRN, DIRECT)


@dataclass(frozen=True)
class NoiseMode:
    """A parsed mode: ``mode`` one of :data:`MODES`, ``k`` the draws averaged per query
    (1 except for ``mean-k`` and ``crn-k``). ``str()`` is the canonical spelling
    (``mean-20``, ``crn-20``)."""

    mode: str
    k: int = 1

    def __str__(self) -> str:
        return spell(self.mode, self.k)


def spell(mode: str, k: int) -> str:
    """The canonical spelling of ``mode`` with ``k`` draws: ``mean-20``, ``crn-20``, ``frozen``."""
    return f"{COUNTED[mode]}-{k}" if mode in COUNTED else mode


def check_draws(k: int, mode: str = MEAN) -> None:
    """Refuse a draw count that cannot be meant (below 1 or above :data:`MAX_DRAWS`)."""
    if not is_int(k) or not 1 <= k <= MAX_DRAWS:
        raise UserError(f"{COUNTED[mode]}-<k> averages 1 to {MAX_DRAWS} draws per query, got k={k!r}")


def parse_mode(text: str) -> NoiseMode:
    """``fresh``, ``frozen``, ``direct``, ``mean-<k>`` or ``crn-<k>`` -> a :class:`NoiseMode`.
    Case and surrounding blanks are ignored; ``mean-020`` reads as ``mean-20``. ``none`` is
    not a mode of a stochastic model and is refused here (see :func:`is_none`)."""
    if not isinstance(text, str):
        raise UserError(f"a noise mode is a string such as 'frozen' or 'mean-20', got {text!r}")
    spelled = text.strip().lower()
    for mode, prefix in COUNTED.items():
        if spelled in (f"{prefix}-k", prefix):
            raise UserError(f"noise mode '{text}' does not say how many draws to average: write the "
                            f"number of draws in the mode, e.g. {prefix}-20")
        if spelled.startswith(f"{prefix}-"):
            match = re.fullmatch(prefix + r"-([0-9]+)", spelled)
            if not match or int(match.group(1)) < 1:
                raise UserError(f"noise mode '{text}': {prefix}-<k> takes a positive whole number of draws, "
                                f"e.g. {prefix}-20")
            k = int(match.group(1))
            if k > MAX_DRAWS:
                raise UserError(f"noise mode '{text}': {prefix}-<k> averages at most {MAX_DRAWS} draws per query")
            return NoiseMode(mode, k)
    if spelled not in MODES:
        raise UserError(f"unknown encoding mode '{text}' (choices: fresh, frozen, mean-<k> "
                        "with k fresh draws averaged, e.g. mean-20, crn-<k> with k frozen draws "
                        "averaged, e.g. crn-20, direct)")
    return NoiseMode(spelled)


def is_none(noise: object) -> bool:
    """Whether ``noise`` means "no noise" (a deterministic model): None or ``none``."""
    return noise is None or (isinstance(noise, str) and noise.strip().lower() == NONE)


def canonical(noise: str) -> str:
    """The canonical spelling of a logged or typed mode (``none`` stays ``none``)."""
    return NONE if is_none(noise) else str(parse_mode(noise))


def draws_per_query(noise: str) -> int | None:
    """Fresh Poisson draws behind one query: ``fresh`` -> 1, ``mean-<k>`` -> k; None for
    ``frozen``, ``crn-<k>``, ``direct`` and ``none`` (no fresh draw per query). ``crn-k``
    averages k draws too, but frozen ones, the same for every query of a search: it is
    not a point of the k-curve (success rate against fresh draws per query), which
    pools fresh draws only; its cost is :func:`simulations_per_query`."""
    if is_none(noise):
        return None
    parsed = parse_mode(noise)
    return parsed.k if parsed.mode in (FRESH, MEAN) else None


def simulations_per_query(noise: str) -> int:
    """Network simulations behind one query (its cost, before any incremental reuse):
    k for ``mean-<k>`` and ``crn-<k>``, else 1 (``none`` included)."""
    return 1 if is_none(noise) else parse_mode(noise).k


def defense_draws(noise: str) -> NoiseMode:
    """How a randomized defense (``randomized = True``, :mod:`robustsnn.defenses`) draws in a
    cell of mode ``noise``: ``fresh`` (new draws on every call, from the global RNGs the
    runner and the verdict seed), ``mean-<k>`` (the mean of k fresh outputs) or ``frozen``
    (its keyed draws: a pure function of the campaign seed and the input). ``frozen``,
    ``direct``, ``crn-<k>`` and ``none`` all read as ``frozen``: ``direct`` and ``crn-<k>``
    are modes of the spike input, whose deterministic forms meet the defense's keyed draws
    (its common random numbers), and a ``none`` cell of a randomized defense is a record
    from before the defense declared itself randomized, when it always drew keyed draws."""
    if is_none(noise):
        return NoiseMode(FROZEN)
    parsed = parse_mode(noise)
    return parsed if parsed.mode in (FRESH, MEAN) else NoiseMode(FROZEN)


def deployed_form(noise: str) -> str:
    """The deployed model a run of this mode attacks: ``-`` for a deterministic model,
    ``direct`` for the SNN without sampling, ``poisson`` for every sampled mode (fresh,
    frozen, mean-k and crn-k all attack the same deployed Poisson SNN). The mode alone
    cannot tell a Poisson SNN from a deterministic network under a randomized defense:
    :func:`robustsnn.analysis.worst_case.run_from_record` names the latter ``randomized``
    from its record."""
    if is_none(noise):
        return "-"
    return DIRECT if parse_mode(noise).mode == DIRECT else "poisson"


def is_poisson(noise: str) -> bool:
    """Whether the deployed model of this mode samples spikes (and so takes an R-draw verdict)."""
    return deployed_form(noise) == "poisson"


def sort_key(noise: str) -> tuple[int, int, str]:
    """Reports' order: fresh, frozen, mean-k by k, crn-k by k, direct, then anything else."""
    try:
        parsed = parse_mode(noise)
    except UserError:
        return (len(_ORDER), 0, noise)
    return (_ORDER.index(parsed.mode), parsed.k, noise)
