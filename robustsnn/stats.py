"""The statistics every number in the benchmark is reported with.

Why this module exists: the benchmark's headline numbers are accuracies on a few hundred
to a few thousand examples (clean accuracy Cln, accuracy under attack Boa, attack success
rate Suc, worst-case robust accuracy). On 1,000 examples a rate near 70% has a 95%
interval about +-3 points wide, which is the size of many of the model-vs-model gaps the
paper reports. So every rate gets an interval, and every comparison says whether the gap
is larger than the noise.

- :func:`wilson_interval` - the interval for one rate. Wilson's score interval, not the
  textbook Wald one (p +- z*sqrt(p(1-p)/n)), which collapses to a single point at 0% or
  100% (an attack that always succeeds would look certain) and undercovers near the ends,
  exactly where robust accuracies under strong attacks live.
- :func:`mcnemar_exact` and :func:`paired_comparison` - two models scored on the *same*
  examples. Their outcomes are correlated (an easy example is easy for both), so treating
  the two rates as independent samples overstates the noise and hides real gaps; the
  paired analysis only looks at the examples where the two models disagree. The exact
  McNemar test is used because the number of disagreements is often small.
- :func:`paired_bootstrap` - the same question for any per-example number (perturbed-word
  fraction, queries, confidence), where no closed form applies.
- :func:`mean_interval` - the Student t interval for the mean of a few numbers, e.g. one
  paired difference per training seed (:func:`t_quantile` gives its quantile).

Everything here is pure (no I/O, no global state) and, apart from :func:`paired_bootstrap`,
uses only the standard library, so it is cheap to import and has no scipy dependency.
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Callable, Sequence

from .checks import is_int, require_in_range, shown
from .errors import UserError

# A bootstrap chunk draws at most this many indices at once (resamples x examples):
# 2**21 int64 indices and the gathered values are 16 MiB each, whatever the data size.
_BOOTSTRAP_CHUNK_ELEMENTS = 1 << 21


def _count(name: str, value: Any) -> int:
    """A non-negative integer count; numpy integers are accepted (counts often come from
    ``array.sum()``), booleans are not (``True`` is a flag, not a count)."""
    if isinstance(value, bool):
        raise UserError(f"{name} must be a non-negative integer, got {shown(value)}")
    try:  # numpy's bool has no __index__ and is refused here too
        count = operator.index(value)
    except TypeError:
        raise UserError(f"{name} must be a non-negative integer, got {shown(value)}") from None
    if count < 0:
        raise UserError(f"{name} must be a non-negative integer, got {shown(value)}")
    return count


def _z(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (1.959964 for 0.95)."""
    level = require_in_range("confidence", confidence, 0.0, 1.0, low_open=True, high_open=True)
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``successes / n``, as ``(low, high)`` in [0, 1].

    The interval is the set of proportions p the observed count is not surprising for:
    the roots in p of ``(successes/n - p)**2 = z**2 * p * (1 - p) / n`` (Wilson, 1927,
    JASA 22:209-212; recommended over Wald by Newcombe, 1998, Stat. Med. 17:857-872, and
    Brown, Cai & DasGupta, 2001, Stat. Sci. 16:101-133). Unlike the Wald interval it is
    never a single point and never leaves [0, 1]: 0/10 gives (0, 0.278), 10/10 gives
    (0.722, 1). No continuity correction.

    ``n == 0`` gives ``(nan, nan)``: a rate over no examples is unknown, not 0.
    Raises :class:`UserError` unless ``0 <= successes <= n`` and ``0 < confidence < 1``.
    """
    n = _count("n", n)
    successes = _count("successes", successes)
    if successes > n:
        raise UserError(f"successes must be at most n ({n}), got {successes}")
    z = _z(confidence)
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n successes the closed form gives exactly 0 or 1 in exact arithmetic;
    # say so rather than report a rounding residue such as -1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts.

    ``b`` = examples only model A gets right, ``c`` = examples only model B gets right
    (the examples both get right or both get wrong say nothing about which is better).
    Under "the models are equally good" each of the ``b + c`` disagreements is a fair coin,
    so the p-value is the exact binomial test: ``min(1, 2 * P(X <= min(b, c)))`` with
    X ~ Binomial(b + c, 1/2) (McNemar, 1947; the "exact conditional" McNemar test in
    Fagerland, Lydersen & Laake, 2013, BMC Med. Res. Methodol. 13:91). ``b + c == 0`` gives 1.0.
    It is conservative (its actual level is below alpha, markedly so for few
    disagreements; those authors prefer the mid-p variant): a "significant" verdict can be
    trusted, while a small real gap may be called within noise.

    The tail is summed exactly in integers, ``sum(comb(n, i)) / 2**n``, and divided once
    with correct rounding, so it neither overflows nor underflows to a wrong answer for any
    n this benchmark meets (about 0.03 s at n = 20,000 and 0.7 s at n = 100,000; a p-value
    below the smallest double, about 5e-324, is 0.0, the nearest float).
    """
    b = _count("b", b)
    c = _count("c", c)
    n = b + c
    if b == c:  # includes n == 0: the tail holds at least half the mass
        return 1.0
    k = min(b, c)
    term = 1  # comb(n, i), updated exactly: comb(n, i+1) = comb(n, i) * (n - i) / (i + 1)
    tail = 1
    for i in range(k):
        term = term * (n - i) // (i + 1)
        tail += term
    # int / int is correctly rounded in Python, however large the operands.
    return min(1.0, (2 * tail) / (1 << n))


def _outcomes(name: str, values: Any) -> list[bool]:
    """Per-example outcomes as a list of bools; True/False, 0/1 and numpy booleans accepted."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise UserError(f"{name} must be a sequence of true/false per example, got {type(values).__name__}")
    out: list[bool] = []
    for i, value in enumerate(values):
        try:
            ok = value == 1 or value == 0
            ok = bool(ok)
        except (TypeError, ValueError):
            ok = False
        if not ok or isinstance(value, (str, bytes)):
            raise UserError(f"{name}[{i}] must be true/false (or 1/0), got {shown(value)}")
        out.append(bool(value == 1))
    return out


def _newcombe_paired(both: int, only_a: int, only_b: int, neither: int, confidence: float) -> tuple[float, float]:
    """Newcombe's square-and-add interval for a difference of paired proportions (see
    :func:`paired_comparison`), clipped to [-1, 1]."""
    n = both + only_a + only_b + neither
    p1 = (both + only_a) / n
    p2 = (both + only_b) / n
    l1, u1 = wilson_interval(both + only_a, n, confidence)
    l2, u2 = wilson_interval(both + only_b, n, confidence)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    if margins == 0:  # a model right (or wrong) everywhere: no correlation to estimate
        phi = 0.0
    else:
        cross = both * neither - only_a * only_b
        # Newcombe's continuity correction of phi: shrink a positive correlation by n/2.
        if cross > n / 2:
            cross = cross - n / 2
        elif cross >= 0:
            cross = 0
        phi = cross / math.sqrt(margins)
    d = p1 - p2
    down = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    up = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    return (max(-1.0, d - math.sqrt(max(0.0, down))), min(1.0, d + math.sqrt(max(0.0, up))))


def _points(fraction: float, sign: bool = False) -> str:
    """A fraction as percentage points with one decimal; never "-0.0"."""
    value = round(fraction * 100, 1) + 0.0
    return f"{value:+.1f}" if sign else f"{value:.1f}"


def _p_text(p: float, alpha: float) -> str:
    """``p = 0.021`` to two significant digits, with more if two would round across alpha
    (0.0496 is not shown as "0.05" next to a verdict that says it is below 0.05)."""
    if p < 0.001 <= alpha:
        return "p < 0.001"
    for digits in range(2, 8):
        text = f"{p:.{digits}g}"
        if (float(text) < alpha) == (p < alpha):
            return f"p = {text}"
    return f"p = {p!r}"


@dataclass(frozen=True)
class PairedComparison:
    """Two models scored on the same ``n`` examples (see :func:`paired_comparison`).

    Rates and the difference are fractions in [0, 1] / [-1, 1]; :meth:`verdict` shows them
    in percentage points. ``b`` and ``c`` are McNemar's discordant counts: examples only
    model A gets right, and examples only model B gets right.
    """

    n: int
    a_rate: float
    b_rate: float
    difference: float  # a_rate - b_rate
    ci_low: float  # Newcombe's paired interval for the difference
    ci_high: float
    b: int
    c: int
    p_value: float  # exact McNemar, two-sided
    significant: bool  # p_value < alpha
    confidence: float
    alpha: float

    def verdict(self, label_a: str = "A", label_b: str = "B") -> str:
        """One line for a report, e.g. ``"snn ahead of textcnn by 3.0 points (95% CI 0.4 to
        5.6, McNemar p = 0.021)"`` or ``"within noise (snn - textcnn: +2.2 points, 95% CI
        -1.0 to 5.4, McNemar p = 0.18)"``.

        The decision is McNemar's (``significant``); the interval is shown beside it. The
        two are different methods and can disagree right at the boundary (p just under
        alpha with the interval just touching 0), which the line then shows honestly. When
        B is ahead the numbers are B - A, so "ahead by" is always positive.
        """
        level = f"{self.confidence * 100:g}%"
        p = _p_text(self.p_value, self.alpha)
        if not self.significant:
            return (f"within noise ({label_a} - {label_b}: {_points(self.difference, sign=True)} points, "
                    f"{level} CI {_points(self.ci_low)} to {_points(self.ci_high)}, McNemar {p})")
        if self.difference > 0:
            leader, other, gap, low, high = label_a, label_b, self.difference, self.ci_low, self.ci_high
        else:
            leader, other, gap, low, high = label_b, label_a, -self.difference, -self.ci_high, -self.ci_low
        return (f"{leader} ahead of {other} by {_points(gap)} points "
                f"({level} CI {_points(low)} to {_points(high)}, McNemar {p})")

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain numbers (int, float, bool) for JSON and CSV records."""
        return asdict(self)


def paired_comparison(a: Sequence[Any], b: Sequence[Any], confidence: float = 0.95,
                      alpha: float = 0.05) -> PairedComparison:
    """Compare two models' per-example outcomes on the SAME examples, in the same order.

    ``a[i]`` / ``b[i]``: whether model A / model B is right (or robust) on example i, as
    True/False or 1/0. Unequal lengths or no examples raise :class:`UserError`: an unpaired
    pair of lists would silently give a wrong answer.

    The interval for ``a_rate - b_rate`` is Newcombe's square-and-add ("method 10") interval
    for paired proportions: the Wilson intervals of the two rates combined with the
    correlation phi between the paired outcomes, with Newcombe's continuity correction of
    phi (Newcombe, 1998, "Improved confidence intervals for the difference between binomial
    proportions based on paired data", Stat. Med. 17:2635-2650; as implemented and
    recommended in Fagerland, Lydersen & Laake, 2014, Stat. Med. 33:2850-2875, and their
    R package contingencytables). It is closed-form, stays inside [-1, 1], and keeps near
    nominal coverage for small counts and rates near 0 or 1, where the Wald interval for
    the paired difference does not. The test is :func:`mcnemar_exact` at level ``alpha``.
    """
    left = _outcomes("a", a)
    right = _outcomes("b", b)
    if len(left) != len(right):
        raise UserError(f"a and b must score the same examples: got {len(left)} and {len(right)} outcomes")
    if not left:
        raise UserError("a and b are empty: there is nothing to compare")
    level = require_in_range("confidence", confidence, 0.0, 1.0, low_open=True, high_open=True)
    alpha = require_in_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    n = len(left)
    both = only_a = only_b = 0
    for x, y in zip(left, right):
        if x and y:
            both += 1
        elif x:
            only_a += 1
        elif y:
            only_b += 1
    neither = n - both - only_a - only_b
    low, high = _newcombe_paired(both, only_a, only_b, neither, level)
    p_value = mcnemar_exact(only_a, only_b)
    return PairedComparison(
        n=n, a_rate=(both + only_a) / n, b_rate=(both + only_b) / n, difference=(only_a - only_b) / n,
        ci_low=low, ci_high=high, b=only_a, c=only_b, p_value=p_value, significant=p_value < alpha,
        confidence=level, alpha=alpha)


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for x in [0, 1]."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile of Student's t with ``df`` degrees of freedom (4.3027 for
    0.975 and 2), by bisection on its distribution function (no scipy here)."""
    p = require_in_range("probability", probability, 0.0, 1.0, low_open=True, high_open=True)
    df = _count("df", df)
    if df < 1:
        raise UserError("df must be at least 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if _t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class MeanInterval:
    """The mean of ``n`` numbers, their sample standard deviation and the Student t interval
    of the mean (NaN where ``n`` < 2: one number has no spread)."""

    n: int
    mean: float
    sd: float
    low: float
    high: float
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        return self.n >= 2 and (self.low > 0.0 or self.high < 0.0)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> MeanInterval:
    """The mean of ``values`` with its ``confidence`` Student t interval,
    mean +- t(df = n - 1) x sd / sqrt(n), sd the sample standard deviation (n - 1)."""
    level = require_in_range("confidence", confidence, 0.0, 1.0, low_open=True, high_open=True)
    xs = [float(v) for v in values]
    if not xs:
        raise UserError("mean_interval needs at least one value")
    n, mean = len(xs), math.fsum(xs) / len(xs)
    if n < 2:
        return MeanInterval(n, mean, math.nan, math.nan, math.nan, level)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return MeanInterval(n, mean, sd, mean - half, mean + half, level)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], statistic: Callable[..., Any] | None = None,
                     resamples: int = 10000, seed: int = 0, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval for ``statistic(a) - statistic(b)`` over paired examples.

    ``a[i]`` and ``b[i]`` are two models' numbers on the same example i. Each resample
    draws n examples with replacement and keeps the pairs together, so the correlation
    between the models is respected (Efron & Tibshirani, 1993, ch. 13). ``statistic`` is
    called as ``statistic(values, axis=1)`` on a (resamples, n) array and must return one
    value per row; None means the mean. Returns ``(low, high)``.

    Reproducible: the same inputs, ``seed`` and numpy version give the same interval.
    Memory is bounded: resamples are drawn in chunks of about 2 million indices.
    For 0/1 outcomes prefer :func:`paired_comparison`, which is exact where this is not.
    """
    import numpy as np

    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.ndim != 1 or y.ndim != 1:
        raise UserError(f"a and b must be one-dimensional, got shapes {x.shape} and {y.shape}")
    if x.size != y.size:
        raise UserError(f"a and b must score the same examples: got {x.size} and {y.size} values")
    if x.size == 0:
        raise UserError("a and b are empty: there is nothing to compare")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise UserError("a and b must be finite numbers (no NaN or infinity)")
    if not is_int(resamples) or resamples < 1:
        raise UserError(f"resamples must be a positive integer, got {shown(resamples)}")
    if not is_int(seed):
        raise UserError(f"seed must be an integer, got {shown(seed)}")
    level = require_in_range("confidence", confidence, 0.0, 1.0, low_open=True, high_open=True)
    n = x.size
    rng = np.random.default_rng(seed)
    rows = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    diffs = np.empty(resamples)
    difference = x - y  # the mean of differences is the difference of means
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        index = rng.integers(0, n, size=(stop - start, n))
        if statistic is None:
            diffs[start:stop] = difference[index].mean(axis=1)
        else:
            diffs[start:stop] = (np.asarray(statistic(x[index], axis=1), dtype=float)
                                 - np.asarray(statistic(y[index], axis=1), dtype=float))
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return (float(low), float(high))
