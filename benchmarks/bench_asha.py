"""ASHA's scheduling overhead: 27 trials of near-zero work (r = 1, R = 9, eta = 3), measured in one run
for a bare loop (no scheduler: every trial trained to R), randnas' driver on each backend and clock,
and Ray Tune's ASHAScheduler (the stopping variant; a benchmark-only dependency, see
benchmarks/requirements.txt). Ratios compare equal work: a search's time against the bare loop's time for as many
epochs as that search trained, both from the same run.

    python -m benchmarks.bench_asha            # writes benchmarks/results/asha_overhead.json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.common import write_results
from randnas.backends import make_backend
from randnas.search.asha.executors import Budget, run_asha
from randnas.search.asha.scheduler import AshaScheduler, Suggestion

TRIALS, R_MIN, R_MAX, ETA = 27, 1, 9, 3


def toy_value(trial: int, epoch: int) -> float:
    quality = float(np.random.default_rng([trial]).random())
    return quality * (1 - 1 / (1 + epoch))


@dataclass(frozen=True)
class NearZeroJob:
    """Trains `trial` from `previous` to `suggestion.resource` epochs; each epoch is one value."""

    def __call__(self, suggestion: Suggestion, previous: int) -> float:
        value = 0.0
        for epoch in range(previous + 1, suggestion.resource + 1):
            value = toy_value(suggestion.trial, epoch)
        return value


REPEATS = 5  # in-process timings are medians of this many runs; pools and Ray are timed once, start-up included


def bare_loop() -> dict:
    def once() -> float:
        start = time.perf_counter()
        for trial in range(TRIALS):
            for epoch in range(1, R_MAX + 1):
                toy_value(trial, epoch)
        return time.perf_counter() - start

    once()  # warm-up
    return {"seconds": statistics.median(once() for _ in range(REPEATS)), "jobs": TRIALS, "epochs": TRIALS * R_MAX}


def randnas_asha(backend: str, clock: str, workers: int) -> dict:
    def once() -> tuple[float, list]:
        scheduler = AshaScheduler(R_MIN, R_MAX, ETA)
        start = time.perf_counter()
        events = run_asha(
            scheduler,
            NearZeroJob(),
            Budget(max_trials=TRIALS),
            workers=workers,
            backend=make_backend(backend, workers),
            clock=clock,
        )
        return time.perf_counter() - start, events

    runs = [once() for _ in range(REPEATS if backend == "inprocess" else 1)]
    seconds, events = statistics.median(t for t, _ in runs), runs[0][1]
    reached: dict[int, int] = {}
    for event in events:
        reached[event.trial] = max(reached.get(event.trial, 0), event.resource)
    return {
        "seconds": seconds,
        "jobs": len(events),
        "epochs": sum(reached.values()),
        "reached_R": sum(1 for r in reached.values() if r == R_MAX),
    }


def ray_tune_asha(workers: int) -> dict:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    def trainable(config):
        for epoch in range(1, R_MAX + 1):
            tune.report({"value": toy_value(config["trial"], epoch), "epoch": epoch})

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        with tempfile.TemporaryDirectory() as storage:
            scheduler = ASHAScheduler(
                time_attr="epoch", metric="value", mode="max", max_t=R_MAX, grace_period=R_MIN, reduction_factor=ETA
            )
            tuner = tune.Tuner(
                trainable,
                param_space={"trial": tune.grid_search(list(range(TRIALS)))},
                tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=workers),
                run_config=tune.RunConfig(storage_path=storage, verbose=0),
            )
            start = time.perf_counter()
            results = tuner.fit()
            seconds = time.perf_counter() - start
        epochs = [int(result.metrics["epoch"]) for result in results]
    finally:
        ray.shutdown()
    return {
        "seconds": seconds,
        "jobs": TRIALS,
        "epochs": sum(epochs),
        "reached_R": sum(1 for e in epochs if e == R_MAX),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-tune", action="store_true", help="leave out Ray Tune (when it is not installed)")
    args = parser.parse_args()
    import os

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    results = {"bare_loop": bare_loop()}
    for backend, clock, workers in [
        ("inprocess", "simulated", 1),
        ("inprocess", "simulated", args.workers),
        ("inprocess", "wall", args.workers),
        ("process", "simulated", args.workers),
        ("process", "wall", args.workers),
        ("ray", "simulated", args.workers),
    ]:
        results[f"randnas_{backend}_{clock}_{workers}w"] = randnas_asha(backend, clock, workers)
    if not args.skip_tune:
        results["ray_tune_ASHAScheduler"] = ray_tune_asha(args.workers)
    per_epoch = results["bare_loop"]["seconds"] / results["bare_loop"]["epochs"]
    for name, row in results.items():
        # equal work: each search against the bare loop's time for the epochs that search trained (an early-stopping
        # search trains fewer epochs than the bare loop's 27 x 9, so whole-run times would flatter it)
        bare_equal = per_epoch * row["epochs"]
        row["bare_loop_seconds_same_epochs"] = bare_equal
        row["ratio_to_bare_loop_same_epochs"] = row["seconds"] / bare_equal
        row["overhead_per_job_ms"] = 1000 * (row["seconds"] - bare_equal) / row["jobs"]
        print(
            f"{name:36s} {row['seconds']:8.3f} s  {row['jobs']:3d} jobs  {row['epochs']:4d} epochs  "
            f"x{row['ratio_to_bare_loop_same_epochs']:9.1f}  {row['overhead_per_job_ms']:8.2f} ms/job"
        )
    notes = (
        f"{TRIALS} trials, r={R_MIN}, R={R_MAX}, eta={ETA}, near-zero work per epoch. randnas' driver promotes "
        "(a promoted trial is one more job from its checkpoint); Ray Tune's ASHAScheduler stops trials "
        "instead, so its 'jobs' are whole trials. Process-pool and Ray times include starting the workers."
    )
    print(write_results("asha_overhead", results, notes))


if __name__ == "__main__":
    main()
