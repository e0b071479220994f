"""Executors drive an `AshaScheduler` with workers; the clock is theirs, not the scheduler's.

`run_simulated` replays an asynchronous search on a simulated clock: each job's duration comes from a
cost model, so the order in which results arrive, and with it every promotion, is fixed by the seed.
Events sit on a (time, counter) heap, so jobs finishing at the same time resolve first in, first out.
The process-pool and Ray executors of the ASHA issue plug into the same `train` callable.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass

from randnas.search.asha.scheduler import AshaScheduler, Suggestion


@dataclass(frozen=True)
class Budget:
    """When to stop handing out work (whichever comes first; 0 = no limit)."""

    max_trials: int = 0  # new trials started
    max_resource: float = 0.0  # epochs trained, summed over jobs
    max_time: float = 0.0  # on the executor's clock

    def __post_init__(self) -> None:
        if not (self.max_trials or self.max_resource or self.max_time):
            raise ValueError("a budget needs max_trials, max_resource or max_time")


@dataclass(frozen=True)
class Event:
    """One finished job: what was trained, by which worker, when, and the value it reached."""

    time: float
    worker: int
    trial: int
    rung: int
    resource: int
    value: float


# train(suggestion, previous_resource) -> (value, duration): train the trial from `previous_resource`
# (its checkpoint) up to `suggestion.resource`, report the objective and how long that took.
TrainJob = Callable[[Suggestion, int], tuple[float, float]]


def run_simulated(scheduler: AshaScheduler, train: TrainJob, workers: int, budget: Budget) -> list[Event]:
    """Run until the budget is spent and every started job has reported; returns the event log."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    reached: dict[int, int] = {}  # trial -> resource trained so far (resources are cumulative)
    spent = {"trials": 0, "resource": 0.0}
    counter = itertools.count()
    running: list[tuple[float, int, int, Suggestion, float]] = []
    events: list[Event] = []

    def exhausted(now: float) -> bool:
        # the trial budget only stops new trials (see start); promotions of started ones go on
        return bool(
            (budget.max_resource and spent["resource"] >= budget.max_resource)
            or (budget.max_time and now >= budget.max_time)
        )

    def start(worker: int, now: float) -> bool:
        """Give `worker` a job; False when the only work left would be a trial beyond the budget."""
        suggestion = scheduler.suggest()
        if suggestion.new and budget.max_trials and spent["trials"] >= budget.max_trials:
            scheduler.withdraw(suggestion)
            return False
        spent["trials"] += suggestion.new
        previous = reached.get(suggestion.trial, 0)
        value, duration = train(suggestion, previous)
        spent["resource"] += suggestion.resource - previous
        reached[suggestion.trial] = suggestion.resource
        heapq.heappush(running, (now + duration, next(counter), worker, suggestion, value))
        return True

    idle: set[int] = set()
    for worker in range(workers):
        if exhausted(0.0) or not start(worker, 0.0):
            idle.add(worker)
    while running:
        now, _, worker, suggestion, value = heapq.heappop(running)
        scheduler.on_result(suggestion.trial, suggestion.rung, value)
        events.append(Event(now, worker, suggestion.trial, suggestion.rung, suggestion.resource, value))
        idle.add(worker)
        # a new result can make a promotion possible: every idle worker gets another chance, in order
        for waiting in sorted(idle):
            if exhausted(now) or not start(waiting, now):
                break
            idle.discard(waiting)
    return events


def event_log(events: list[Event]) -> list[dict]:
    return [asdict(event) for event in events]
