"""robustsnn.stats against answers worked out here independently, or published ones."""

import json
import math
import random
from fractions import Fraction

import pytest

from robustsnn.errors import UserError
from robustsnn.stats import PairedComparison, mcnemar_exact, paired_bootstrap, paired_comparison, wilson_interval

Z95 = 1.959963984540054  # the standard normal 97.5% quantile, as tabulated


def wilson_by_quadratic(x, n, z=Z95):
    """The Wilson bounds as the two roots of (n + z^2) p^2 - (2x + z^2) p + x^2 / n = 0,
    i.e. (x/n - p)^2 = z^2 p (1 - p) / n solved with the quadratic formula."""
    qa, qb, qc = n + z * z, -(2 * x + z * z), x * x / n
    root = math.sqrt(qb * qb - 4 * qa * qc)
    return ((-qb - root) / (2 * qa), (-qb + root) / (2 * qa))


def binomial_tail_sum(k, n):
    """P(X <= k) for X ~ Binomial(n, 1/2), written out term by term."""
    return sum(Fraction(math.comb(n, i), 2**n) for i in range(k + 1))


def log_space_mcnemar(b, c):
    """The same p-value in floating point logs: log C(n, i) from lgamma, summed by log-sum-exp."""
    n, k = b + c, min(b, c)
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, 2 * math.exp(top) * sum(math.exp(v - top) for v in logs))


def outcomes(both, only_a, only_b, neither, seed=0):
    """Two per-example outcome lists with the given 2x2 table, in a shuffled order."""
    pairs = [(1, 1)] * both + [(1, 0)] * only_a + [(0, 1)] * only_b + [(0, 0)] * neither
    random.Random(seed).shuffle(pairs)
    return [p[0] for p in pairs], [p[1] for p in pairs]


# ------------------------------------------------------------------ Wilson


@pytest.mark.parametrize("x, n, published", [
    (81, 263, (0.2553, 0.3662)),  # the usual textbook/Wikipedia example
    (8, 10, (0.4902, 0.9433)),
    (0, 10, (0.0, 0.2775)),
    (10, 10, (0.7225, 1.0)),
])
def test_wilson_matches_published_values_and_the_quadratic(x, n, published):
    low, high = wilson_interval(x, n)
    assert low == pytest.approx(published[0], abs=5e-5) and high == pytest.approx(published[1], abs=5e-5)
    ref_low, ref_high = wilson_by_quadratic(x, n)
    assert low == pytest.approx(ref_low, abs=1e-12) and high == pytest.approx(ref_high, abs=1e-12)


def test_wilson_at_the_ends_is_exact():
    z2 = Z95 * Z95
    assert wilson_interval(0, 10) == (0.0, pytest.approx(z2 / (10 + z2), abs=1e-12))
    assert wilson_interval(10, 10) == (pytest.approx(10 / (10 + z2), abs=1e-12), 1.0)
    assert wilson_interval(0, 1)[0] == 0.0 and wilson_interval(1, 1)[1] == 1.0


@pytest.mark.parametrize("x, n", [(1, 3), (37, 50), (500, 1000), (3, 20000)])
def test_wilson_bounds_solve_the_score_equation(x, n):
    """At each bound p the score statistic |x/n - p| / sqrt(p(1-p)/n) equals z."""
    for p in wilson_interval(x, n):
        assert abs(x / n - p) / math.sqrt(p * (1 - p) / n) == pytest.approx(Z95, rel=1e-9)


def test_wilson_other_confidence_levels():
    z90 = 1.6448536269514722
    assert wilson_interval(8, 10, 0.90) == pytest.approx(wilson_by_quadratic(8, 10, z90), abs=1e-12)
    w90, w95, w99 = (wilson_interval(30, 100, c) for c in (0.90, 0.95, 0.99))
    assert w99[0] < w95[0] < w90[0] < 0.3 < w90[1] < w95[1] < w99[1]


def test_wilson_contains_the_estimate_and_shrinks_as_n_grows():
    widths = []
    for n in (10, 100, 1000, 10000, 100000):
        x = 7 * n // 10
        low, high = wilson_interval(x, n)
        assert 0.0 <= low < x / n < high <= 1.0
        widths.append(high - low)
    assert all(w1 > w2 for w1, w2 in zip(widths, widths[1:]))
    # Large n: the Wald width 2 z sqrt(p(1-p)/n), to within 0.1%.
    assert widths[-1] == pytest.approx(2 * Z95 * math.sqrt(0.21 / 100000), rel=1e-3)


def test_wilson_of_nothing_is_unknown():
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)


def test_wilson_accepts_numpy_counts():
    np = pytest.importorskip("numpy")
    assert wilson_interval(np.int64(8), np.int64(10)) == wilson_interval(8, 10)


@pytest.mark.parametrize("args, message", [
    ((11, 10), "successes must be at most n"),
    ((-1, 10), "successes must be a non-negative integer"),
    ((1, -10), "n must be a non-negative integer"),
    ((1.5, 10), "successes must be a non-negative integer"),
    ((True, 10), "successes must be a non-negative integer"),
    ((1, 10, 0.0), "confidence must be in (0, 1)"),
    ((1, 10, 1.0), "confidence must be in (0, 1)"),
    ((1, 10, 95), "confidence must be in (0, 1)"),
    ((1, 10, float("nan")), "confidence must be in (0, 1)"),
    ((1, 10, "0.95"), "confidence must be a number"),
])
def test_wilson_refusals(args, message):
    with pytest.raises(UserError) as caught:
        wilson_interval(*args)
    assert message in str(caught.value) and "\n" not in str(caught.value)


# ------------------------------------------------------------------ McNemar


def test_mcnemar_small_cases_by_hand():
    # b=1, c=9: n=10, P(X <= 1) = (C(10,0) + C(10,1)) / 2^10 = 11/1024.
    assert mcnemar_exact(1, 9) == 2 * (1 + 10) / 1024 == 0.021484375
    # b=2, c=8: (1 + 10 + 45) / 1024, doubled.
    assert mcnemar_exact(2, 8) == 2 * (1 + 10 + 45) / 1024
    # b=0, c=5: both tails are the single all-one-way outcome, 2 / 32.
    assert mcnemar_exact(0, 5) == 0.0625
    assert mcnemar_exact(0, 1) == 1.0  # one disagreement proves nothing
    # Published: Cavo et al. (2012) in Fagerland, Lydersen & Laake, exact conditional P = 0.052479.
    assert mcnemar_exact(6, 16) == pytest.approx(0.052479, abs=5e-7)


@pytest.mark.parametrize("b, c", [(b, c) for b in range(0, 13) for c in range(0, 13)])
def test_mcnemar_equals_the_written_out_sum_and_is_symmetric(b, c):
    expected = 1.0 if b + c == 0 else float(min(Fraction(1), 2 * binomial_tail_sum(min(b, c), b + c)))
    assert mcnemar_exact(b, c) == expected == mcnemar_exact(c, b)


@pytest.mark.parametrize("k", [0, 1, 7, 100, 5000])
def test_mcnemar_is_one_when_the_models_disagree_evenly(k):
    assert mcnemar_exact(k, k) == 1.0


def test_mcnemar_large_n():
    p = mcnemar_exact(5000, 5200)
    assert p == pytest.approx(log_space_mcnemar(5000, 5200), rel=1e-9)
    # Normal approximation with continuity correction: within 1% at n = 10,200.
    z = (abs(5000 - 5200) - 1) / math.sqrt(10200)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-2)
    assert 0.045 < p < 0.05
    assert mcnemar_exact(20000, 20000 + 300) == pytest.approx(log_space_mcnemar(20000, 20300), rel=1e-9)


def test_mcnemar_tiny_p_values_neither_overflow_nor_underflow_wrongly():
    # b=0, c=1000: p = 2 / 2^1000, a normal double, exactly.
    assert mcnemar_exact(0, 1000) == math.ldexp(1, -999)
    assert mcnemar_exact(1, 1000) == math.ldexp(2 * 1002, -1001)
    assert mcnemar_exact(0, 1060) == math.ldexp(1, -1059) > 0.0  # subnormal, still exact
    assert mcnemar_exact(0, 5000) == 0.0  # 2^-4999: below every double


def test_mcnemar_against_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    for b, c in [(3, 17), (40, 61), (250, 310), (1234, 1300)]:
        assert mcnemar_exact(b, c) == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


@pytest.mark.parametrize("b, c", [(-1, 3), (3, -1), (1.0, 3), (True, 3), ("2", 3), (None, 3)])
def test_mcnemar_refusals(b, c):
    with pytest.raises(UserError, match="must be a non-negative integer"):
        mcnemar_exact(b, c)


# ------------------------------------------------------------------ paired comparison


def test_paired_comparison_on_a_constructed_table():
    a, b = outcomes(both=50, only_a=12, only_b=3, neither=35)
    result = paired_comparison(a, b)
    assert isinstance(result, PairedComparison)
    assert (result.n, result.b, result.c) == (100, 12, 3)
    assert result.a_rate == pytest.approx(0.62) and result.b_rate == pytest.approx(0.53)
    assert result.difference == pytest.approx(0.09)
    # p = 2 * (C(15,0) + C(15,1) + C(15,2) + C(15,3)) / 2^15 = 2 * 576 / 32768.
    assert result.p_value == 2 * (1 + 15 + 105 + 455) / 32768 == 0.03515625
    assert result.significant
    assert result.ci_low < result.difference < result.ci_high
    assert 0.0 < result.ci_low < 0.03 and 0.15 < result.ci_high < 0.18
    assert result.verdict() == (f"A ahead of B by 9.0 points (95% CI {result.ci_low * 100:.1f} to "
                                f"{result.ci_high * 100:.1f}, McNemar p = 0.035)")


def test_paired_interval_matches_published_newcombe_values():
    # Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012): table (59, 6 / 16, 80),
    # Newcombe square-and-add: estimate -0.0621, 95% CI -0.1186 to -0.0046.
    a, b = outcomes(both=59, only_a=6, only_b=16, neither=80)
    result = paired_comparison(a, b)
    assert result.difference == pytest.approx(-0.0621, abs=5e-5)
    assert result.ci_low == pytest.approx(-0.1186, abs=5e-5) and result.ci_high == pytest.approx(-0.0046, abs=5e-5)
    # Same source, table (1, 0 / 0, 1): 0 (95% CI -0.5734 to 0.5734). With the uncorrected phi
    # (= 1 here) the interval would collapse to a point; Newcombe's corrected phi is 0.
    result = paired_comparison([True, False], [True, False])
    assert (result.ci_low, result.ci_high) == (pytest.approx(-0.5734, abs=5e-5), pytest.approx(0.5734, abs=5e-5))


def test_paired_verdict_within_noise_shows_the_signed_gap():
    # Cavo: p = 0.052 is not below 0.05, though this interval excludes 0 (McNemar's exact
    # test is conservative); the verdict follows the test and shows both numbers.
    a, b = outcomes(both=59, only_a=6, only_b=16, neither=80)
    result = paired_comparison(a, b)
    assert not result.significant
    assert result.verdict("snn", "textcnn") == (
        "within noise (snn - textcnn: -6.2 points, 95% CI -11.9 to -0.5, McNemar p = 0.052)")


def test_swapping_the_models_mirrors_everything():
    a, b = outcomes(both=50, only_a=12, only_b=3, neither=35)
    forward, backward = paired_comparison(a, b), paired_comparison(b, a)
    assert (backward.b, backward.c) == (forward.c, forward.b)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.ci_low == pytest.approx(-forward.ci_high) and backward.ci_high == pytest.approx(-forward.ci_low)
    assert backward.p_value == forward.p_value
    # B ahead: the numbers are given as B - A, so the same line reads the same.
    assert backward.verdict("textcnn", "snn") == forward.verdict("snn", "textcnn")
    assert backward.verdict("A", "B").startswith("B ahead of A by 9.0 points")


def test_paired_identical_models_are_within_noise():
    a, _ = outcomes(both=30, only_a=0, only_b=0, neither=20)
    result = paired_comparison(a, list(a))
    assert (result.b, result.c, result.p_value, result.difference) == (0, 0, 1.0, 0.0)
    assert not result.significant and result.ci_low < 0.0 < result.ci_high
    assert result.verdict().startswith("within noise (A - B: +0.0 points, 95% CI -")


def test_paired_interval_contains_the_difference_and_shrinks_as_n_grows():
    widths = []
    for scale in (1, 4, 16, 64):
        a, b = outcomes(both=50 * scale, only_a=12 * scale, only_b=3 * scale, neither=35 * scale)
        result = paired_comparison(a, b)
        assert result.ci_low < result.difference < result.ci_high
        assert result.difference == pytest.approx(0.09)
        widths.append(result.ci_high - result.ci_low)
    assert all(w1 > w2 for w1, w2 in zip(widths, widths[1:]))
    # Quadrupling n about halves the width.
    assert widths[-1] / widths[-2] == pytest.approx(0.5, abs=0.02)


def test_paired_interval_is_narrower_than_the_unpaired_one_when_outcomes_agree():
    # Highly correlated outcomes: pairing is the whole point.
    a, b = outcomes(both=600, only_a=30, only_b=10, neither=360)
    result = paired_comparison(a, b)
    l1, u1 = wilson_interval(630, 1000)
    l2, u2 = wilson_interval(610, 1000)
    unpaired_half = math.sqrt((0.63 - l1) ** 2 + (u2 - 0.61) ** 2)  # Newcombe's independent-samples form
    assert result.difference - result.ci_low < 0.7 * unpaired_half


def test_paired_accepts_numpy_and_ints_alike():
    np = pytest.importorskip("numpy")
    a, b = outcomes(both=20, only_a=5, only_b=1, neither=10)
    plain = paired_comparison([bool(x) for x in a], [bool(x) for x in b])
    assert paired_comparison(np.array(a, dtype=bool), np.array(b, dtype=bool)) == plain
    assert paired_comparison(np.array(a), b) == plain == paired_comparison(a, b)


def test_paired_to_dict_is_plain_numbers():
    a, b = outcomes(both=50, only_a=12, only_b=3, neither=35)
    record = paired_comparison(a, b, confidence=0.9, alpha=0.01).to_dict()
    assert set(record) == {"n", "a_rate", "b_rate", "difference", "ci_low", "ci_high", "b", "c", "p_value",
                           "significant", "confidence", "alpha"}
    assert all(isinstance(v, (int, float)) and not isinstance(v, str) for v in record.values())
    assert isinstance(record["p_value"], float) and isinstance(record["significant"], bool)
    assert record["significant"] is False and record["confidence"] == 0.9  # p = 0.035 is not below 0.01
    assert json.loads(json.dumps(record)) == record


def test_paired_p_value_is_not_rounded_across_alpha():
    # b=6, c=18: p = 0.0227; with alpha = 0.0228 two digits ("0.023") would read as not significant.
    a, b = outcomes(both=10, only_a=6, only_b=18, neither=10)
    result = paired_comparison(a, b, alpha=0.0228)
    assert result.significant and "McNemar p = 0.0227" in result.verdict()
    a, b = outcomes(both=10, only_a=0, only_b=40, neither=10)
    assert paired_comparison(a, b).verdict().endswith("McNemar p < 0.001)")


@pytest.mark.parametrize("a, b, message", [
    ([True, False], [True], "same examples: got 2 and 1"),
    ([], [], "empty"),
    ([True, 2], [True, False], r"a\[1\] must be true/false"),
    ([True, False], [0.5, 1], r"b\[0\] must be true/false"),
    ([True, "1"], [True, False], r"a\[1\] must be true/false"),
    ([True, None], [True, False], r"a\[1\] must be true/false"),
    ("10", "01", "must be a sequence"),
    (iter([True]), [True], "must be a sequence"),
])
def test_paired_refusals(a, b, message):
    with pytest.raises(UserError, match=message):
        paired_comparison(a, b)


@pytest.mark.parametrize("kwargs, message", [
    ({"confidence": 1.0}, "confidence must be in"),
    ({"alpha": 0.0}, "alpha must be in"),
    ({"alpha": 1.5}, "alpha must be in"),
])
def test_paired_refuses_bad_levels(kwargs, message):
    with pytest.raises(UserError, match=message):
        paired_comparison([True, False], [False, True], **kwargs)


# ------------------------------------------------------------------ bootstrap


def test_bootstrap_is_reproducible_and_seeded():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(1)
    a = rng.normal(size=500)
    b = a + rng.normal(scale=0.5, size=500)
    first = paired_bootstrap(a, b, resamples=3000, seed=7)
    assert paired_bootstrap(list(a), list(b), resamples=3000, seed=7) == first
    assert paired_bootstrap(a, b, resamples=3000, seed=8) != first


def test_bootstrap_covers_the_true_difference_and_agrees_with_newcombe():
    pytest.importorskip("numpy")
    # Rates 0.70 and 0.60 exactly, on the same 1,000 examples (5,000 resamples: several chunks).
    a, b = outcomes(both=550, only_a=150, only_b=50, neither=250)
    low, high = paired_bootstrap(a, b, resamples=5000, seed=0)
    assert low < 0.10 < high and low > 0.0
    newcombe = paired_comparison(a, b)
    assert low == pytest.approx(newcombe.ci_low, abs=0.01) and high == pytest.approx(newcombe.ci_high, abs=0.01)


def test_bootstrap_of_a_constant_shift_is_that_shift():
    np = pytest.importorskip("numpy")
    a = np.random.default_rng(2).normal(size=200)
    low, high = paired_bootstrap(a + 0.25, a, resamples=500)
    assert low == pytest.approx(0.25, abs=1e-12) and high == pytest.approx(0.25, abs=1e-12)


def test_bootstrap_custom_statistic():
    np = pytest.importorskip("numpy")
    a, b = outcomes(both=550, only_a=150, only_b=50, neither=250)
    by_default = paired_bootstrap(a, b, resamples=2000, seed=3)
    by_mean = paired_bootstrap(a, b, statistic=np.mean, resamples=2000, seed=3)
    assert by_mean == pytest.approx(by_default, abs=1e-12)  # same resamples, same numbers
    x = np.arange(101, dtype=float)
    low, high = paired_bootstrap(x + 3, x, statistic=np.median, resamples=500)
    assert low == high == pytest.approx(3.0)


@pytest.mark.parametrize("a, b, kwargs, message", [
    ([1.0, 2.0], [1.0], {}, "same examples"),
    ([], [], {}, "empty"),
    ([1.0, float("nan")], [1.0, 2.0], {}, "finite"),
    ([[1.0]], [[1.0]], {}, "one-dimensional"),
    ([1.0], [2.0], {"resamples": 0}, "resamples must be a positive integer"),
    ([1.0], [2.0], {"seed": None}, "seed must be an integer"),
    ([1.0], [2.0], {"confidence": 0.0}, "confidence must be in"),
])
def test_bootstrap_refusals(a, b, kwargs, message):
    pytest.importorskip("numpy")
    with pytest.raises(UserError, match=message):
        paired_bootstrap(a, b, **kwargs)
