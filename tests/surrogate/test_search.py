"""ASHA and random search on the surrogate: the shared driver, the runtime cost model, equal budgets, the comparison."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from randnas.search.asha.executors import EventLog
from randnas.surrogate.compare import compare_methods, run_comparison
from randnas.surrogate.search import (
    SurrogateSearchConfig,
    SurrogateTrials,
    anytime_grid,
    busy_gpu_hours,
    run_surrogate_search,
    trajectory,
)


def test_a_fixed_seed_gives_the_same_event_log_twice(data_root, tmp_path):
    config = SurrogateSearchConfig(method="asha", eta=3, workers=4, gpu_hours=12.0)
    first = run_surrogate_search(config, SurrogateTrials(7, data_root), EventLog(tmp_path / "a.jsonl"))
    second = run_surrogate_search(config, SurrogateTrials(7, data_root), EventLog(tmp_path / "b.jsonl"))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first.digest == second.digest and len(first.events) > 50
    other = run_surrogate_search(config, SurrogateTrials(8, data_root))
    assert other.digest != first.digest


def test_a_cheaper_cell_reaches_a_rung_earlier(data_root):
    trials = SurrogateTrials(2, data_root)
    config = SurrogateSearchConfig(method="asha", eta=4, workers=8, gpu_hours=2.0)
    search = run_surrogate_search(config, trials)
    first_jobs = [e for e in search.events if e.rung == 0 and e.trial < 8]
    costs = {e.trial: trials.seconds(e.trial, 1) for e in first_jobs}
    assert len(set(costs.values())) == 8  # the cells really differ in cost
    # the 8 workers start together; each finishes its rung-0 job after exactly its cell's predicted time
    assert [e.trial for e in sorted(first_jobs, key=lambda e: e.time)] == sorted(costs, key=costs.get)
    assert all(e.time == pytest.approx(costs[e.trial]) for e in first_jobs)


@pytest.mark.parametrize("workers", [1, 8])
def test_random_search_and_asha_spend_the_same_budget(data_root, workers):
    trials = SurrogateTrials(0, data_root)
    spent = {}
    for method in ("random", "asha"):
        config = SurrogateSearchConfig(method=method, workers=workers, gpu_hours=15.0)
        search = run_surrogate_search(config, trials)
        assert all(e.time <= config.deadline for e in search.counted)
        assert any(e.time > config.deadline for e in search.events)  # a job ran past it and was cut off
        spent[method] = busy_gpu_hours(search)
    assert spent["random"] == pytest.approx(15.0) and spent["asha"] == pytest.approx(15.0)


def test_random_search_trains_every_cell_to_R_and_asha_promotes(data_root):
    trials = SurrogateTrials(1, data_root)
    random = run_surrogate_search(SurrogateSearchConfig(method="random", gpu_hours=10.0), trials)
    assert {e.resource for e in random.events} == {98}
    asha = run_surrogate_search(SurrogateSearchConfig(method="asha", eta=4, gpu_hours=10.0), trials)
    assert {e.resource for e in asha.events} <= {1, 6, 24, 98} and {1, 6} <= {e.resource for e in asha.events}


def test_the_incumbent_is_the_best_of_the_highest_rung(data_root):
    trials = SurrogateTrials(4, data_root)
    search = run_surrogate_search(SurrogateSearchConfig(method="asha", eta=3, gpu_hours=20.0), trials)
    path = trajectory(search, trials)
    assert path["gpu_hours"].is_monotonic_increasing
    last = path.iloc[-1]
    top = max(e.rung for e in search.counted)
    in_top = [e for e in search.counted if e.rung == top]
    assert last["rung"] == top and last["observed"] == max(e.value for e in in_top)
    assert last["final_accuracy"] == pytest.approx(trials.value(int(last["trial"]), 98))


def test_anytime_grid_is_a_step_function():
    path = pd.DataFrame({"gpu_hours": [1.0, 3.0], "final_accuracy": [0.9, 0.92]})
    values = anytime_grid(path, np.array([0.5, 1.0, 2.0, 3.0, 4.0]))
    assert math.isnan(values[0]) and list(values[1:]) == [0.9, 0.9, 0.92, 0.92]


def test_compare_pairs_methods_by_seed():
    rows = []
    for seed, (rand, asha) in enumerate([(0.90, 0.91), (0.92, 0.91), (0.90, 0.93)]):
        rows.append(
            {
                "gpu_hours": 5.0,
                "workers": 1,
                "method": "random",
                "label": "random",
                "seed": seed,
                "final_accuracy": rand,
                "cells_evaluated": 3,
                "cells_at_R": 3,
            }
        )
        rows.append(
            {
                "gpu_hours": 5.0,
                "workers": 1,
                "method": "asha",
                "label": "asha",
                "seed": seed,
                "final_accuracy": asha,
                "cells_evaluated": 30,
                "cells_at_R": 1,
            }
        )
        rows.append(
            {
                "gpu_hours": 5.0,
                "workers": 8,
                "method": "random",
                "label": "random",
                "seed": seed,
                "final_accuracy": math.nan,
                "cells_evaluated": 0,
                "cells_at_R": 0,
            }
        )
        rows.append(
            {
                "gpu_hours": 5.0,
                "workers": 8,
                "method": "asha",
                "label": "asha",
                "seed": seed,
                "final_accuracy": asha,
                "cells_evaluated": 40,
                "cells_at_R": 0,
            }
        )
    table = compare_methods(pd.DataFrame(rows)).set_index(["workers", "method"])
    assert table.loc[(1, "asha"), "beats random search"] == "2 of 3 seeds (0 ties)"
    assert table.loc[(1, "asha"), "minus random search (points)"].startswith("1.000 (n=3, too few to conclude)")
    assert (
        table.loc[(8, "random"), "predicted accuracy at the deadline (%)"]
        == "no cell finished by the deadline (0 of 3 seeds)"
    )
    assert table.loc[(8, "asha"), "minus random search (points)"] == "random search finished no cell by the deadline"


def test_run_comparison_covers_every_setting(data_root, tmp_path):
    summary, curves = run_comparison([0, 1], [4.0], [1, 2], [4], data_root, events_dir=tmp_path)
    assert len(summary) == 2 * 2 * 2  # seeds x workers x (random, ASHA)
    assert set(summary["busy_gpu_hours"].round(9)) == {4.0}
    assert len(list(tmp_path.glob("*.jsonl"))) == 4  # the first seed's log of each setting
    assert curves.groupby(["label", "workers", "seed"]).size().eq(60).all()


def test_bad_settings_fail_with_one_line():
    with pytest.raises(ValueError, match="beyond the surrogate's last epoch 98"):
        SurrogateSearchConfig(R=300)
    with pytest.raises(ValueError, match="unknown surrogate search method"):
        SurrogateSearchConfig(method="bohb")
    with pytest.raises(ValueError, match="gpu_hours"):
        SurrogateSearchConfig(gpu_hours=float("inf"))
