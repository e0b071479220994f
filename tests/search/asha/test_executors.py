"""The simulated-clock executor: a seeded search is one fixed event log; budgets; worker counts."""

from __future__ import annotations

import numpy as np
import pytest

from randnas.search.asha.executors import Budget, event_log, run_simulated
from randnas.search.asha.scheduler import AshaScheduler


def toy_trainer(seed: int):
    """Each trial has a random quality; value grows with resource; duration = epochs trained (+ noise)."""
    rng = np.random.default_rng(seed)
    quality: dict[int, float] = {}

    def train(suggestion, previous):
        if suggestion.trial not in quality:
            quality[suggestion.trial] = float(rng.random())
        value = quality[suggestion.trial] * (1 - 1 / (1 + suggestion.resource))
        duration = (suggestion.resource - previous) * (1 + 0.5 * float(rng.random()))
        return value, duration

    return train


def search(seed=0, workers=4, budget=Budget(max_trials=40), eta=3):
    scheduler = AshaScheduler(1, 27, eta)
    return scheduler, run_simulated(scheduler, toy_trainer(seed), workers, budget)


def test_same_seed_same_event_log_and_best():
    (_, first), (_, again) = search(0), search(0)
    assert event_log(first) == event_log(again)
    assert event_log(first) != event_log(search(1)[1])


def test_trial_budget_and_promotions_to_the_top():
    scheduler, events = search(0, budget=Budget(max_trials=40))
    assert scheduler.next_trial == 40
    assert {e.trial for e in events if e.rung == 0} == set(range(40))
    top = [e for e in events if e.resource == 27]
    assert top, "with 40 trials and eta 3 some trial reaches R"
    # events arrive in time order, and nothing is left pending
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert scheduler.pending == {}


def test_resource_budget_counts_cumulative_epochs():
    scheduler, events = search(0, budget=Budget(max_resource=100))
    trained = {}
    for e in events:
        trained[e.trial] = max(trained.get(e.trial, 0), e.resource)
    total = sum(trained.values())
    assert 100 <= total < 100 + 4 * 27  # stops handing out work at the budget; running jobs finish


def test_one_worker_is_sequential_and_no_early_stopping_trains_every_trial_to_R():
    _, events = search(0, workers=1, budget=Budget(max_trials=10))
    assert all(e.worker == 0 for e in events)
    scheduler = AshaScheduler(1, 27, 3, early_stopping=False)
    events = run_simulated(scheduler, toy_trainer(0), 2, Budget(max_trials=5))
    assert [e.resource for e in events] == [27] * 5


def test_bad_budget_and_workers():
    with pytest.raises(ValueError, match="a budget needs"):
        Budget()
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run_simulated(AshaScheduler(1, 9, 3), toy_trainer(0), 0, Budget(max_trials=1))


def test_a_spent_trial_budget_still_lets_started_trials_be_promoted():
    scheduler = AshaScheduler(1, 3, 3)
    events = run_simulated(scheduler, toy_trainer(0), 2, Budget(max_trials=3))
    assert [(e.trial, e.rung) for e in events if e.rung == 1] and scheduler.next_trial == 3
