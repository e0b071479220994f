"""How much "the best of N random architectures" varies from one run to the next, on a tabular
benchmark where every architecture's accuracy is known (the book's NAS-Bench-201 analysis)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def best_of_n(accuracy: np.ndarray, n: int, repeats: int, rng: np.random.Generator) -> np.ndarray:
    """The best accuracy among `n` architectures drawn uniformly without replacement, `repeats` times."""
    if not 1 <= n <= len(accuracy):
        raise ValueError(f"n must be between 1 and {len(accuracy)}, got {n}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    # the first n of a random permutation is a uniform draw without replacement
    draws = np.stack([rng.permutation(len(accuracy))[:n] for _ in range(repeats)])
    return accuracy[draws].max(axis=1)


def best_of_n_summary(accuracy: np.ndarray, ns: list[int], repeats: int, rng: np.random.Generator) -> pd.DataFrame:
    """Per N: mean, standard deviation, 5th/50th/95th percentiles, min and max of the best, and the gap
    of the mean to the benchmark's optimum."""
    optimum = float(accuracy.max())
    rows = []
    for n in ns:
        best = best_of_n(accuracy, n, repeats, rng)
        p5, p50, p95 = np.percentile(best, [5, 50, 95])
        rows.append(
            {
                "N": n,
                "mean": best.mean(),
                "std": best.std(ddof=1) if repeats > 1 else np.nan,
                "p5": p5,
                "median": p50,
                "p95": p95,
                "min": best.min(),
                "max": best.max(),
                "gap_to_optimum": optimum - best.mean(),
            }
        )
    return pd.DataFrame(rows)
