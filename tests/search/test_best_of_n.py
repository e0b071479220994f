"""Best of N random architectures, selection spreads and rank agreement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from randnas.search.best_of_n import best_of_n, best_of_n_summary
from randnas.search.selection import rank_agreement, spread_by_score


def test_best_of_n_is_the_maximum_of_a_draw_without_replacement():
    accuracy = np.arange(100, dtype=float)
    best = best_of_n(accuracy, 100, 3, np.random.default_rng(0))
    assert best.tolist() == [99.0] * 3  # all architectures: always the optimum
    one = best_of_n(accuracy, 1, 20_000, np.random.default_rng(0))
    assert abs(one.mean() - 49.5) < 0.6  # one architecture: the mean accuracy
    # the best of 10 out of 0..99: P(best <= k) = C(k+1, 10) / C(100, 10); its mean is 90.9 (order statistics)
    ten = best_of_n(accuracy, 10, 20_000, np.random.default_rng(1))
    assert abs(ten.mean() - 10 * 101 / 11 + 1) < 0.2


def test_summary_shrinks_the_spread_as_n_grows_and_is_seeded():
    accuracy = np.random.default_rng(3).normal(90, 2, size=2000)
    first = best_of_n_summary(accuracy, [1, 10, 100], 300, np.random.default_rng(5))
    again = best_of_n_summary(accuracy, [1, 10, 100], 300, np.random.default_rng(5))
    assert first.equals(again)
    assert first["std"].is_monotonic_decreasing and first["gap_to_optimum"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="n must be between 1 and 2000, got 0"):
        best_of_n(accuracy, 0, 1, np.random.default_rng(0))


def test_spread_by_score_covers_the_ranking_from_best_to_worst():
    scored = [{"index": i, "quick_score": s} for i, s in enumerate([0.5, 0.9, 0.1, 0.7, 0.3])]
    # ranked 0.9, 0.7, 0.5, 0.3, 0.1: the best, the middle and the worst
    assert [e["index"] for e in spread_by_score(scored, 3)] == [1, 0, 2]
    with pytest.raises(ValueError, match="count must be between 2 and the 5 scored architectures, got 6"):
        spread_by_score(scored, 6)


def test_rank_agreement_is_scipys():
    a, b = [0.1, 0.4, 0.3, 0.9, 0.5], [0.2, 0.1, 0.5, 0.8, 0.7]
    result = rank_agreement(a, b)
    assert result["kendall_tau"] == pytest.approx(stats.kendalltau(a, b).statistic)
    assert result["spearman_rho"] == pytest.approx(stats.spearmanr(a, b).statistic)
    assert rank_agreement([1, 2, 3], [10, 20, 30])["kendall_tau"] == 1.0
