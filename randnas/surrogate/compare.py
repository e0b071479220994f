"""Random search against ASHA on the surrogate at equal simulated GPU-hours, over many seeds.

The same seed draws the same sequence of cells for every method (trial k depends on (seed, k) only), so
methods are compared seed by seed: the paired difference of what each would hand over at the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from randnas.search.asha.executors import EventLog
from randnas.statistics import mean_interval
from randnas.surrogate.search import (
    SurrogateSearchConfig,
    SurrogateTrials,
    anytime_grid,
    run_surrogate_search,
    search_summary,
    trajectory,
)

GRID_POINTS = 60


def method_configs(etas: Sequence[int], r: int, R: int) -> list[SurrogateSearchConfig]:
    """Random search without early stopping, then ASHA with each eta (budget and workers set later)."""
    return [
        SurrogateSearchConfig(method="random", r=r, R=R),
        *(SurrogateSearchConfig(method="asha", r=r, R=R, eta=eta) for eta in etas),
    ]


def run_comparison(
    seeds: Iterable[int],
    budgets_hours: Sequence[float],
    workers: Sequence[int],
    etas: Sequence[int],
    data_root: str = "",
    r: int = 1,
    R: int = 98,
    events_dir: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every (budget, workers, method, seed) search: one summary row each, and its anytime curve on a
    grid of GPU-hours. With `events_dir`, the first seed's event log of each setting is written there."""
    summaries, curves = [], []
    seeds = list(seeds)
    for seed in seeds:
        trials = SurrogateTrials(seed, data_root)  # shared by every method: one set of curve predictions per seed
        for budget in budgets_hours:
            grid = np.linspace(0.0, budget, GRID_POINTS + 1)[1:]
            for count in workers:
                for method in method_configs(etas, r, R):
                    config = replace(method, workers=count, gpu_hours=budget)
                    log = None
                    if events_dir is not None and seed == seeds[0]:
                        log = EventLog(events_dir / f"{config.method}-eta{config.eta}-w{count}-{budget:g}h.jsonl")
                    search = run_surrogate_search(config, trials, log)
                    summaries.append(search_summary(search, trials))
                    values = anytime_grid(trajectory(search, trials), grid)
                    curves.extend(
                        {
                            "label": config.label,
                            "workers": count,
                            "budget_hours": budget,
                            "seed": seed,
                            "gpu_hours": float(h),
                            "final_accuracy": float(v),
                        }
                        for h, v in zip(grid, values, strict=True)
                    )
    return pd.DataFrame(summaries), pd.DataFrame(curves)


def compare_methods(summary: pd.DataFrame) -> pd.DataFrame:
    """Per budget, workers and method: the mean predicted accuracy at the deadline with its bootstrap interval,
    cells evaluated, and the paired difference to random search on the same seeds (and how often it wins)."""
    rows = []
    for (budget, workers), group in summary.groupby(["gpu_hours", "workers"], sort=True):
        random = group[group["method"] == "random"].set_index("seed")["final_accuracy"]
        for label, runs in group.groupby("label", sort=False):
            accuracy = runs.set_index("seed")["final_accuracy"]
            finished = accuracy.notna().sum()
            row = {
                "GPU-hours": budget,
                "workers": workers,
                "method": label,
                "predicted accuracy at the deadline (%)": mean_interval(accuracy.to_numpy()).text(2, 100)
                if finished
                else f"no cell finished by the deadline (0 of {len(accuracy)} seeds)",
                "cells evaluated (median)": float(runs["cells_evaluated"].median()),
                "cells trained to R (median)": float(runs["cells_at_R"].median()),
                "mean accuracy": float(accuracy.mean()),
            }
            if (runs["method"] == "random").all():
                row["minus random search (points)"] = ""
                row["beats random search"] = ""
            elif random.isna().all():
                row["minus random search (points)"] = "random search finished no cell by the deadline"
                row["beats random search"] = (
                    f"{int(accuracy.notna().sum())} of {len(accuracy)} seeds (it handed over a cell)"
                )
            else:
                paired = (accuracy - random).dropna()
                row["minus random search (points)"] = mean_interval(paired.to_numpy()).text(3, 100)
                row["beats random search"] = (
                    f"{int((paired > 0).sum())} of {len(paired)} seeds ({int((paired == 0).sum())} ties)"
                )
            rows.append(row)
    return pd.DataFrame(rows)


def anytime_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Per setting and GPU-hour: the mean over seeds of the incumbent's predicted accuracy, its bootstrap 95 %
    interval, and how many seeds had a result by then (what the anytime figure draws)."""
    rows = []
    keys = ["label", "workers", "budget_hours", "gpu_hours"]
    for key, group in curves.groupby(keys, sort=False):
        estimate = mean_interval(group["final_accuracy"].to_numpy())
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "mean": estimate.value,
                "low": estimate.low,
                "high": estimate.high,
                "seeds_with_result": estimate.n,
                "seeds": len(group),
            }
        )
    return pd.DataFrame(rows)
