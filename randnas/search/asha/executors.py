"""The ASHA driver: hands work to free workers, feeds results to the scheduler, keeps the event log.

Two clocks decide the order in which results reach the scheduler:
- `simulated` (the exactly reproducible mode): each job's duration comes from a cost model known
  before it runs (by default the epochs it trains), and results are consumed in simulated-time order
  whatever the backend and however fast the machine. The whole search is then fixed by the seed, even
  when a process pool or Ray trains the jobs in parallel.
- `wall`: results are consumed as they really arrive, as in the paper's asynchronous runs; the search
  then depends on timing and is not exactly repeatable.

Events sit on a (time, counter) order, so jobs finishing at the same time resolve first in, first out.
Every event is appended to a JSON-lines log as it happens. A search stopped as a whole resumes from
that log: the driver replays it (the same suggestions, with the logged values instead of training)
and then goes on; a job that was running when it stopped is trained again from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from randnas.backends import Backend, InProcessBackend
from randnas.search.asha.scheduler import AshaScheduler, Suggestion

CLOCKS = ("simulated", "wall")


@dataclass(frozen=True)
class Budget:
    """When to stop handing out work (whichever comes first; 0 = no limit)."""

    max_trials: int = 0  # new trials started
    max_resource: float = 0.0  # epochs trained, summed over jobs
    max_time: float = 0.0  # on the driver's clock: cost units when simulated, seconds on the wall clock

    def __post_init__(self) -> None:
        if not (self.max_trials or self.max_resource or self.max_time):
            raise ValueError("a budget needs max_trials, max_resource or max_time")
        if min(self.max_trials, self.max_resource, self.max_time) < 0:
            raise ValueError(f"budget limits cannot be negative: {self}")


@dataclass(frozen=True)
class Event:
    """One finished job: what was trained, by which worker, when, the value it reached and the metrics
    of the epochs it trained."""

    time: float
    worker: int
    trial: int
    rung: int
    resource: int
    value: float
    metrics: tuple[dict, ...] = ()


# cost(suggestion, previous_resource) -> the job's duration on the simulated clock
CostModel = Callable[[Suggestion, int], float]


def epochs_cost(suggestion: Suggestion, previous: int) -> float:
    return float(suggestion.resource - previous)


class EventLog:
    """The search's events as JSON lines, flushed to disk one by one; a torn last line is dropped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> list[Event]:
        if not self.path.is_file():
            return []
        lines = self.path.read_text().splitlines()
        events = []
        for number, line in enumerate(lines, 1):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # the process stopped while writing it
                    break
                raise ValueError(f"{self.path}: line {number} is not an event; the log is damaged") from None
            events.append(Event(**{**data, "metrics": tuple(data.get("metrics", ()))}))
        return events

    def rewrite(self, events: list[Event]) -> None:
        """Write `events` afresh (drops a torn last line before new events are appended)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text("".join(json.dumps(asdict(e)) + "\n" for e in events))
        os.replace(partial, self.path)

    def append(self, event: Event) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(asdict(event)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


@dataclass
class _Running:
    order: int
    worker: int
    suggestion: Suggestion
    previous: int
    finish: float  # on the simulated clock
    handle: Any = None  # None: its result is replayed from the log
    replayed: Event | None = field(default=None, repr=False)


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _value_and_metrics(report: Any) -> tuple[float, tuple[dict, ...]]:
    if isinstance(report, (int, float)):
        return float(report), ()
    return float(report.value), tuple(report.metrics)


@dataclass
class _Spent:
    trials: int = 0  # new trials started
    resource: float = 0.0  # epochs handed out
    order: int = 0  # jobs started, the tie-break of equal finishing times


class AshaDriver:
    """Runs until the budget is spent and every started job has reported; `run()` returns the events.

    `job(suggestion, previous)` trains a trial from `previous` up to `suggestion.resource` and returns
    its value (higher is better) or a `Report`. With `log`, events already in it are replayed first.
    """

    def __init__(
        self,
        scheduler: AshaScheduler,
        job: Callable[[Suggestion, int], Any],
        budget: Budget,
        *,
        workers: int = 1,
        backend: Backend | None = None,
        clock: str = "simulated",
        cost: CostModel = epochs_cost,
        log: EventLog | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if clock not in CLOCKS:
            raise ValueError(f"unknown ASHA clock {clock!r}; choose one of {', '.join(CLOCKS)}")
        self.scheduler, self.job, self.budget = scheduler, job, budget
        self.workers, self.clock, self.cost, self.log = workers, clock, cost, log
        self.backend = backend or InProcessBackend(threads=torch_threads())
        logged = log.read() if log is not None else []
        if log is not None:
            log.rewrite(logged)
        self.replay = deque(logged)
        self.to_replay = {(e.trial, e.rung): e for e in logged}
        self.reached: dict[int, int] = {}  # trial -> resource trained so far (resources are cumulative)
        self.spent = _Spent()
        self.running: list[_Running] = []
        self.offset = logged[-1].time if logged and clock == "wall" else 0.0
        self.started = time.monotonic()

    def now(self) -> float:
        """The driver's clock when no result is being consumed (results carry their own time)."""
        return 0.0 if self.clock == "simulated" else self.offset + time.monotonic() - self.started

    def exhausted(self, now: float) -> bool:
        # the trial budget only stops new trials (see start); promotions of started ones go on
        budget = self.budget
        return bool(
            (budget.max_resource and self.spent.resource >= budget.max_resource)
            or (budget.max_time and now >= budget.max_time)
        )

    def start(self, worker: int, now: float) -> bool:
        """Give `worker` a job; False when the only work left would be a trial beyond the budget."""
        suggestion = self.scheduler.suggest()
        if suggestion.new and self.budget.max_trials and self.spent.trials >= self.budget.max_trials:
            self.scheduler.withdraw(suggestion)
            return False
        self.spent.trials += suggestion.new
        previous = self.reached.get(suggestion.trial, 0)
        entry = _Running(self.spent.order, worker, suggestion, previous, now + self.cost(suggestion, previous))
        self.spent.order += 1
        entry.replayed = self.to_replay.pop((suggestion.trial, suggestion.rung), None)
        if entry.replayed is None:
            entry.handle = self.backend.submit(self.job, suggestion, previous)
        self.spent.resource += suggestion.resource - previous
        self.reached[suggestion.trial] = suggestion.resource
        self.running.append(entry)
        return True

    def next_finished(self) -> tuple[_Running, float, float, tuple[dict, ...]]:
        """The next result in clock order: a logged one while replaying, then live ones."""
        if self.replay:
            logged_event = self.replay.popleft()
            matches = [r for r in self.running if r.replayed is logged_event]
            if not matches:
                raise ValueError(
                    f"the event log {self.log.path if self.log else ''} does not match this search: trial "
                    f"{logged_event.trial} rung {logged_event.rung} was never suggested; resume with the settings it "
                    "was started with"
                )
            return matches[0], logged_event.time, logged_event.value, logged_event.metrics
        live = [r for r in self.running if r.replayed is None]
        if self.clock == "simulated":
            entry = min(live, key=lambda r: (r.finish, r.order))
            value, metrics = _value_and_metrics(self.backend.result(entry.handle))
            return entry, entry.finish, value, metrics
        handle = self.backend.wait_any([r.handle for r in sorted(live, key=lambda r: r.order)])
        entry = next(r for r in live if r.handle is handle)
        value, metrics = _value_and_metrics(self.backend.result(handle))
        return entry, self.now(), value, metrics

    def run(self) -> list[Event]:
        events: list[Event] = []
        try:
            idle: set[int] = set()
            for worker in range(self.workers):
                now = self.now()
                if self.exhausted(now) or not self.start(worker, now):
                    idle.add(worker)
            while self.running:
                entry, now, value, metrics = self.next_finished()
                self.running.remove(entry)
                suggestion = entry.suggestion
                self.scheduler.on_result(suggestion.trial, suggestion.rung, value)
                event = Event(now, entry.worker, suggestion.trial, suggestion.rung, suggestion.resource, value, metrics)
                events.append(event)
                if self.log is not None and entry.replayed is None:
                    self.log.append(event)
                idle.add(entry.worker)
                # a new result can make a promotion possible: every idle worker gets another chance, in order
                for waiting in sorted(idle):
                    if self.exhausted(now) or not self.start(waiting, now):
                        break
                    idle.discard(waiting)
        finally:
            self.backend.close()
        return events


def run_asha(
    scheduler: AshaScheduler, job: Callable[[Suggestion, int], Any], budget: Budget, **options: Any
) -> list[Event]:
    """`AshaDriver(scheduler, job, budget, **options).run()`: the search's events, in the order they happened."""
    return AshaDriver(scheduler, job, budget, **options).run()


def run_simulated(
    scheduler: AshaScheduler,
    job: Callable[[Suggestion, int], Any],
    workers: int,
    budget: Budget,
    cost: CostModel = epochs_cost,
) -> list[Event]:
    """The exactly reproducible search, in this process."""
    return run_asha(scheduler, job, budget, workers=workers, clock="simulated", cost=cost)


def event_log(events: list[Event]) -> list[dict]:
    return [asdict(event) for event in events]
