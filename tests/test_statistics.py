"""Bootstrap intervals: they cover the estimate, shrink with n, repeat exactly, and say when n is too small."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from randnas.statistics import MIN_FOR_INTERVAL, kendall_interval, mean_interval


def test_mean_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = mean_interval(rng.normal(size=10)), mean_interval(rng.normal(size=400))
    for estimate in (small, large):
        assert estimate.low < estimate.value < estimate.high
    assert large.high - large.low < (small.high - small.low) / 3
    assert mean_interval(rng.normal(size=10) + 5).low > 4  # located where the data are


def test_intervals_repeat_exactly():
    values = list(np.random.default_rng(1).normal(size=20))
    assert mean_interval(values) == mean_interval(values)


def test_too_few_values_say_so_and_never_print_nan():
    assert mean_interval([1.0, 2.0]).text() == "1.50 (n=2, too few to conclude)"
    assert mean_interval([]).text() == "no value (n=0)"
    assert "nan" not in mean_interval([float("nan"), 3.0]).text()
    assert mean_interval(list(range(MIN_FOR_INTERVAL))).enough


def test_kendall_interval_carries_scipys_tau_and_p():
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    estimate = kendall_interval(x, y)
    expected = stats.kendalltau(x, y)
    assert estimate.value == pytest.approx(expected.statistic) and estimate.p_value == pytest.approx(expected.pvalue)
    assert estimate.low < estimate.value < estimate.high and estimate.n == 40
    assert "p=" in estimate.text()
