"""Intervals for the numbers the book reports: bootstrap 95 % intervals (scipy) of a mean over runs and of a
rank correlation over pairs, with the sample size, and one rule for when there are too few to conclude.

Resampling uses a generator seeded from the data's size, so the same numbers always print the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 2000
# below this many values an interval says little: the book prints "too few to conclude" instead of a verdict
MIN_FOR_INTERVAL = 5


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    n: int
    p_value: float = math.nan

    @property
    def enough(self) -> bool:
        return self.n >= MIN_FOR_INTERVAL and math.isfinite(self.low) and math.isfinite(self.high)

    def text(self, digits: int = 2, scale: float = 1.0) -> str:
        """`m [lo, hi] (n=N)`, or `m (n=N, too few to conclude)`; never a raw nan."""
        if not math.isfinite(self.value):
            return f"no value (n={self.n})"
        value = f"{self.value * scale:.{digits}f}"
        if not self.enough:
            return f"{value} (n={self.n}, too few to conclude)"
        p = f", p={self.p_value:.2g}" if math.isfinite(self.p_value) else ""
        return f"{value} [{self.low * scale:.{digits}f}, {self.high * scale:.{digits}f}] (n={self.n}{p})"


def _rng(n: int) -> np.random.Generator:
    return np.random.default_rng(n)


def mean_interval(values: Sequence[float]) -> Estimate:
    """The mean and its percentile-bootstrap 95 % interval."""
    data = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if data.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    if data.size < 2 or np.all(data == data[0]):
        return Estimate(float(data.mean()), math.nan, math.nan, int(data.size))
    result = stats.bootstrap(
        (data,), np.mean, confidence_level=CONFIDENCE, n_resamples=RESAMPLES, method="percentile", rng=_rng(data.size)
    )
    return Estimate(
        float(data.mean()),
        float(result.confidence_interval.low),
        float(result.confidence_interval.high),
        int(data.size),
    )


def difference_interval(a: Sequence[float], b: Sequence[float]) -> Estimate:
    """mean(a) - mean(b) of two independent samples and its percentile-bootstrap 95 % interval; n is the
    smaller sample's size (the interval is only as good as it)."""
    x = np.asarray([v for v in a if math.isfinite(v)], dtype=float)
    y = np.asarray([v for v in b if math.isfinite(v)], dtype=float)
    n = int(min(x.size, y.size))
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = float(x.mean() - y.mean())
    if n < 2:
        return Estimate(value, math.nan, math.nan, n)
    result = stats.bootstrap(
        (x, y),
        lambda u, v, axis: u.mean(axis) - v.mean(axis),
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        vectorized=True,
        rng=_rng(x.size + y.size),
    )
    return Estimate(value, float(result.confidence_interval.low), float(result.confidence_interval.high), n)


def kendall_interval(x: Sequence[float], y: Sequence[float]) -> Estimate:
    """Kendall's tau of paired values, its p-value, and a paired percentile-bootstrap 95 % interval."""
    return _rank_interval(x, y, stats.kendalltau)


def spearman_interval(x: Sequence[float], y: Sequence[float]) -> Estimate:
    """Spearman's rho of paired values, its p-value, and a paired percentile-bootstrap 95 % interval."""
    return _rank_interval(x, y, stats.spearmanr)


def _rank_interval(x: Sequence[float], y: Sequence[float], correlation) -> Estimate:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return Estimate(math.nan, math.nan, math.nan, int(a.size))
    tau = correlation(a, b)

    def statistic(u: np.ndarray, v: np.ndarray) -> float:
        value = correlation(u, v).statistic
        return 0.0 if math.isnan(value) else value  # a resample of ties only carries no ordering

    result = stats.bootstrap(
        (a, b),
        statistic,
        paired=True,
        vectorized=False,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=_rng(a.size),
    )
    return Estimate(
        float(tau.statistic),
        float(result.confidence_interval.low),
        float(result.confidence_interval.high),
        int(a.size),
        float(tau.pvalue),
    )


# ---- decisions at the paper's own sample sizes ------------------------------------------------------------

ALPHA = 0.05  # a difference is "detectable" when its one-sided p-value is below this


@dataclass(frozen=True)
class Comparison:
    """mean(a) - mean(b) of two samples, and a one-sided test of it each way."""

    gap: float
    p_larger: float  # P(a gap this large or larger | no difference): small when a's values are larger
    p_smaller: float  # the same for a gap this small or smaller
    n_a: int
    n_b: int
    test: str = "exact permutation test"
    decidable: bool = False  # whether the test could reach ALPHA at all with these sample sizes

    @property
    def a_larger(self) -> bool:
        return self.decidable and self.p_larger < ALPHA

    @property
    def a_smaller(self) -> bool:
        return self.decidable and self.p_smaller < ALPHA

    def text(self, digits: int = 2) -> str:
        if self.n_a == 0 or self.n_b == 0:
            return "nothing to compare"
        p = min(self.p_larger, self.p_smaller)
        test = f"{self.test}, one-sided p={p:.2g}" if self.decidable else "too few to decide"
        return f"{self.gap:+.{digits}f} (n={self.n_a} vs {self.n_b}; {test})"


def compare_means(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """The difference of means of `a` and `b` and its exact permutation p-values, both sides (scipy's
    permutation_test over every split of the pooled values, so 4 against 4 trials decide as well as they can)."""
    x = np.asarray([v for v in a if math.isfinite(v)], dtype=float)
    y = np.asarray([v for v in b if math.isfinite(v)], dtype=float)
    if x.size == 0 or y.size == 0:
        return Comparison(math.nan, 1.0, 1.0, int(x.size), int(y.size))
    gap = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return Comparison(gap, 1.0, 1.0, int(x.size), int(y.size))

    def statistic(u: np.ndarray, v: np.ndarray, axis: int) -> np.ndarray:
        return u.mean(axis=axis) - v.mean(axis=axis)

    splits = math.comb(x.size + y.size, x.size)
    common = {
        "permutation_type": "independent",
        "vectorized": True,
        "n_resamples": min(splits, 100_000),
        "rng": _rng(x.size + y.size),
    }
    larger = stats.permutation_test((x, y), statistic, alternative="greater", **common)
    smaller = stats.permutation_test((x, y), statistic, alternative="less", **common)
    # the smallest p-value an exact test of these sizes can give is 1 / splits (4 against 4: 1/70)
    return Comparison(
        gap, float(larger.pvalue), float(smaller.pvalue), int(x.size), int(y.size), decidable=1.0 / splits < ALPHA
    )


def compare_to_published(values: Sequence[float], mean: float, std: float, n: int) -> Comparison:
    """Our values against a published mean ± std over n runs: Welch's t-test from the summary statistics (scipy),
    one-sided both ways, as a Comparison of ours minus theirs."""
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if x.size < 2:
        return Comparison(float(x.mean()) - mean if x.size else math.nan, 1.0, 1.0, int(x.size), n)
    ours_std = float(x.std(ddof=1)) or 1e-12

    def one_sided(alternative: str) -> float:
        return float(
            stats.ttest_ind_from_stats(
                float(x.mean()), ours_std, int(x.size), mean, std or 1e-12, n, equal_var=False, alternative=alternative
            ).pvalue
        )

    return Comparison(
        float(x.mean()) - mean,
        one_sided("greater"),
        one_sided("less"),
        int(x.size),
        n,
        test="Welch's t-test against the published mean ± std",
        decidable=n >= 2,
    )


# graded words for a rank correlation: |tau| below 0.3 weak, up to 0.6 moderate, above strong
TAU_GRADES = ((0.3, "weak"), (0.6, "moderate"), (math.inf, "strong"))
TAU_WORDS = "Kendall tau graded by its size: below 0.3 weak, 0.3 to 0.6 moderate, above 0.6 strong."


def tau_grade(tau: float) -> str:
    """'weak', 'moderate' or 'strong' (of |tau|), with its sign: 'weak negative' below zero."""
    if not math.isfinite(tau):
        return "undefined"
    word = next(word for bound, word in TAU_GRADES if abs(tau) < bound)
    return word + (" negative" if tau < 0 else "")
