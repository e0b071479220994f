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
