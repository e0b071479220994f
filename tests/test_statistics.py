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


def test_the_exact_permutation_test_decides_four_against_four_and_no_fewer():
    from randnas.statistics import compare_means

    apart = compare_means([1.0, 1.1, 1.2, 1.3], [2.0, 2.1, 2.2, 2.3])
    assert apart.decidable and apart.p_smaller == pytest.approx(1 / 70) and apart.a_smaller and not apart.a_larger
    assert not compare_means([1.0, 1.1], [2.0]).decidable  # 3 splits: the smallest p is 1/3
    mixed = compare_means([1.0, 2.1, 1.2, 2.3], [2.0, 1.1, 2.2, 1.3])
    assert mixed.decidable and not mixed.a_smaller and not mixed.a_larger


def test_welch_against_a_published_mean_and_std_is_scipys():
    from scipy import stats

    from randnas.statistics import compare_to_published

    ours = [2.9, 3.0, 3.1, 3.05, 2.95]
    found = compare_to_published(ours, 2.85, 0.08, 10)
    reference = stats.ttest_ind_from_stats(
        3.0, np.std(ours, ddof=1), 5, 2.85, 0.08, 10, equal_var=False, alternative="greater"
    )
    assert found.p_larger == pytest.approx(reference.pvalue) and found.a_larger and found.gap == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("tau", "word"), [(0.1, "weak"), (-0.33, "moderate negative"), (0.67, "strong"), (float("nan"), "undefined")]
)
def test_tau_is_graded_in_words(tau, word):
    from randnas.statistics import tau_grade

    assert tau_grade(tau) == word
