"""The ASHA driver: a seeded simulated search is one fixed event log, on any backend; budgets; worker
counts; resuming from the event log; a killed worker's job retried; Ray."""

from __future__ import annotations

import json

import pytest

from randnas.backends import ProcessPoolBackend, RayBackend, WorkerLost
from randnas.search.asha.executors import Budget, EventLog, event_log, run_asha, run_simulated
from randnas.search.asha.scheduler import AshaScheduler
from tests.search.asha.toy import ToyJob, toy_cost


def search(seed=0, workers=4, budget=None, eta=3, **kwargs):
    budget = budget or Budget(max_trials=40)
    scheduler = AshaScheduler(1, 27, eta)
    return scheduler, run_asha(scheduler, ToyJob(seed), budget, workers=workers, cost=toy_cost(seed), **kwargs)


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
    _, events = search(0, budget=Budget(max_resource=100))
    trained = {}
    for e in events:
        trained[e.trial] = max(trained.get(e.trial, 0), e.resource)
    total = sum(trained.values())
    assert 100 <= total < 100 + 4 * 27  # stops handing out work at the budget; running jobs finish


def test_time_budget_on_the_simulated_clock():
    _, events = search(0, budget=Budget(max_time=30))
    # no job starts at or after time 30; the ones running then finish (the longest takes 1.5 x 27)
    assert 30 <= max(e.time for e in events) < 30 + 1.5 * 27


def test_one_worker_is_sequential_and_no_early_stopping_trains_every_trial_to_R():
    _, events = search(0, workers=1, budget=Budget(max_trials=10))
    assert all(e.worker == 0 for e in events)
    scheduler = AshaScheduler(1, 27, 3, early_stopping=False)
    events = run_simulated(scheduler, ToyJob(0), 2, Budget(max_trials=5))
    assert [e.resource for e in events] == [27] * 5
    assert sorted(e.trial for e in events) == list(range(5))


def test_bad_budget_workers_and_clock():
    with pytest.raises(ValueError, match="a budget needs"):
        Budget()
    with pytest.raises(ValueError, match="budget limits cannot be negative"):
        Budget(max_trials=-1)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run_simulated(AshaScheduler(1, 9, 3), ToyJob(0), 0, Budget(max_trials=1))
    with pytest.raises(ValueError, match="unknown ASHA clock 'sundial'; choose one of simulated, wall"):
        run_asha(AshaScheduler(1, 9, 3), ToyJob(0), Budget(max_trials=1), clock="sundial")


def test_a_spent_trial_budget_still_lets_started_trials_be_promoted():
    scheduler = AshaScheduler(1, 3, 3)
    events = run_simulated(scheduler, ToyJob(0), 2, Budget(max_trials=3))
    assert [(e.trial, e.rung) for e in events if e.rung == 1] and scheduler.next_trial == 3


def test_the_log_holds_every_event_and_a_stopped_search_resumes_to_the_same_end(tmp_path):
    _, whole = search(0, budget=Budget(max_trials=30), log=EventLog(tmp_path / "whole.jsonl"))
    assert EventLog(tmp_path / "whole.jsonl").read() == whole

    class Stop(Exception):
        pass

    calls = {"n": 0}

    def stopping_job(suggestion, previous):
        calls["n"] += 1
        if calls["n"] == 25:
            raise Stop
        return ToyJob(0)(suggestion, previous)

    log = EventLog(tmp_path / "stopped.jsonl")
    with pytest.raises(Stop):
        run_asha(AshaScheduler(1, 27, 3), stopping_job, Budget(max_trials=30), workers=4, cost=toy_cost(0), log=log)
    partial = log.read()
    assert 0 < len(partial) < len(whole)
    with open(log.path, "a") as handle:
        handle.write('{"time": 3.')  # the process died while writing an event
    trained = []

    def counting_job(suggestion, previous):
        trained.append((suggestion.trial, suggestion.rung))
        return ToyJob(0)(suggestion, previous)

    scheduler = AshaScheduler(1, 27, 3)
    resumed = run_asha(scheduler, counting_job, Budget(max_trials=30), workers=4, cost=toy_cost(0), log=log)
    assert event_log(resumed) == event_log(whole)
    assert log.read() == whole
    assert not {(e.trial, e.rung) for e in partial} & set(trained)  # logged results are not trained again


def test_a_log_from_other_settings_is_refused(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    search(0, budget=Budget(max_trials=10), log=log)
    with pytest.raises(
        ValueError, match="does not match this search: trial .* was never suggested; resume with the settings"
    ):
        run_asha(AshaScheduler(1, 9, 3), ToyJob(0), Budget(max_trials=10), workers=1, log=log)


def test_a_damaged_log_is_named(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("garbage\n" + json.dumps({"time": 1}) + "\n")
    with pytest.raises(ValueError, match="line 1 is not an event; the log is damaged"):
        EventLog(path).read()


def test_the_simulated_clock_gives_the_same_search_on_a_process_pool(tmp_path):
    _, alone = search(0, budget=Budget(max_trials=12))
    _, pooled = search(0, budget=Budget(max_trials=12), backend=ProcessPoolBackend(2))
    assert event_log(pooled) == event_log(alone)


def test_a_killed_worker_is_retried_and_the_search_completes(tmp_path):
    job = ToyJob(0, kill_trial=2, marker_dir=str(tmp_path))
    scheduler = AshaScheduler(1, 9, 3)
    events = run_asha(scheduler, job, Budget(max_trials=9), workers=2, backend=ProcessPoolBackend(2), cost=toy_cost(0))
    assert (tmp_path / "killed-2").exists()  # the worker did die
    assert {e.trial for e in events if e.rung == 0} == set(range(9))
    assert event_log(events) == event_log(
        run_asha(AshaScheduler(1, 9, 3), ToyJob(0), Budget(max_trials=9), workers=2, cost=toy_cost(0))
    )


def test_a_worker_that_keeps_dying_stops_the_search_with_a_clear_message(tmp_path):
    backend = ProcessPoolBackend(1, max_retries=1)
    with pytest.raises(WorkerLost, match="trial 0 \\(rung 0\\) lost its worker 2 times; rerun to resume it"):
        run_asha(
            AshaScheduler(1, 9, 3),
            ToyJob(0, kill_trial=0, marker_dir=str(tmp_path), kill_always=True),
            Budget(max_trials=1),
            backend=backend,
        )


def test_wall_clock_search_completes_on_a_process_pool():
    scheduler = AshaScheduler(1, 9, 3)
    events = run_asha(
        scheduler, ToyJob(0, sleep=0.01), Budget(max_trials=9), workers=2, clock="wall", backend=ProcessPoolBackend(2)
    )
    assert {e.trial for e in events if e.rung == 0} == set(range(9)) and scheduler.pending == {}
    assert {e.worker for e in events} == {0, 1}


def test_ray_runs_a_small_search_on_a_local_ray_with_two_cpus(tmp_path):
    job = ToyJob(0, kill_trial=1, marker_dir=str(tmp_path))
    scheduler = AshaScheduler(1, 9, 3)
    events = run_asha(scheduler, job, Budget(max_trials=9), workers=2, backend=RayBackend(2), cost=toy_cost(0))
    expected = run_asha(AshaScheduler(1, 9, 3), ToyJob(0), Budget(max_trials=9), workers=2, cost=toy_cost(0))
    assert event_log(events) == event_log(expected)
    assert (tmp_path / "killed-1").exists()  # Ray reran the task whose worker died


def test_ray_asks_one_gpu_per_worker_when_this_machine_has_gpus(monkeypatch):
    from randnas import backends

    made = []
    monkeypatch.setattr(backends, "RayBackend", lambda *args: made.append(args))
    monkeypatch.setattr(backends, "local_gpus", lambda: 2)
    backends.make_backend("ray", 2)
    backends.make_backend("ray", 2, gpus_per_job=0.5)
    monkeypatch.setattr(backends, "local_gpus", lambda: 0)
    backends.make_backend("ray", 2)
    assert [args[3] for args in made] == [1.0, 0.5, 0.0]  # (workers, threads, address, gpus_per_job)
