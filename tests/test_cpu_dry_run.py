"""`make test-slow`: every notebook of the default plan runs its `cpu` job end to end on the real data, each
training capped at a few minibatches, through the plan runner into a temporary store, entries in plan order
(so stage 2 reads the pick of the search that ran before it). It catches what the fast suite's toy data
cannot: real shapes, real splits, real loading and checksums, the cpu preset's parameters.

Needs the data ($RANDNAS_DATA, else ../shared/data) with cifar10/ and ptb/ (nb201/ and yahpo-nb301/ for
their entries); skipped with the reason otherwise. About 20 minutes on 2 cores (19 min 9 s, 2026-11-30).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from randnas import plans, runner
from randnas.record import vocabulary as v
from randnas.record.locks import CHECKPOINT_ENV
from randnas.record.store import find_runs, open_store
from tests.conftest import REPO, shared_data_root

pytestmark = pytest.mark.slow

STEPS = {"epochs": 1, "max_steps_per_epoch": 2}
ENAS_STEPS = {**STEPS, "controller": {"train_steps": 1, "num_aggregate": 2, "derive_samples": 2}}
# per entry: overrides merged into the job's `overrides` (or `train`) dict, then top-level parameters
CAPS: dict[str, tuple[dict, dict]] = {
    "datasets": ({}, {}),
    "cnn-rsws": ({**STEPS, "archs_per_round": 4, "top_k": 2}, {}),
    "cnn-stage2": (STEPS, {}),
    "ptb-rsws": ({**STEPS, "archs_per_round": 4, "top_k": 2}, {}),
    "ptb-stage2": ({**STEPS, "max_eval_chunks": 2}, {}),
    "cnn-asha": ({"max_steps_per_epoch": 2}, {"R": 3, "max_trials": 3}),
    "ptb-asha": ({"max_steps_per_epoch": 2, "max_eval_chunks": 2}, {"R": 2, "max_trials": 2}),
    "cnn-ranking": (STEPS, {"architectures": 2}),
    "nb201-best-of-n": ({}, {"repeats": 200}),
    "nb201-rsws": ({**STEPS, "scored_cells": 4, "score_epochs": [1], "score_minibatches": 2}, {}),
    "nb201-darts": (STEPS, {}),
    "surrogate-asha": ({}, {"seeds": 2, "budgets": [2.0], "etas": [3]}),
    "cnn-darts": (STEPS, {}),
    "cnn-darts-stage2": (STEPS, {}),
    "ptb-darts": ({**STEPS, "max_eval_chunks": 2}, {}),
    "ptb-darts-stage2": ({**STEPS, "max_eval_chunks": 2}, {}),
    "nb201-enas": (ENAS_STEPS, {}),
    "cnn-enas": (ENAS_STEPS, {}),
    "cnn-enas-stage2": (STEPS, {}),
    "ptb-enas": (ENAS_STEPS, {}),
    "ptb-enas-stage2": ({**STEPS, "max_eval_chunks": 2}, {}),
}
CIFAR10 = ("cifar10", "cifar10-jpeg")  # either copy (randnas.data.images.CIFAR10_SUBFOLDERS)
# per entry prefix: the folders it needs under the data root, each a choice among alternatives
NEEDS = {
    "cnn": [CIFAR10],
    "ptb": [("ptb",)],
    "nb201-best": [("nb201",)],
    "nb201": [("nb201",), CIFAR10],
    "surrogate": [("yahpo-nb301",)],
    "datasets": [CIFAR10, ("ptb",)],
}


def capped(job: plans.Job, root: Path, output_dir: Path) -> plans.Job:
    inner, top = CAPS[job.entry]
    parameters = {**job.parameters, **top, "data_root": str(root)}
    for name in ("overrides", "train"):
        if name in parameters and inner:
            parameters[name] = {**parameters[name], **inner}
    plan_key = job.plan_key.replace("/cpu/", "/cpu-dry/") + "@" + plans.parameters_hash(parameters)
    parameters["plan_key"] = plan_key
    return dataclasses.replace(
        job, plan_key=plan_key, parameters=parameters, output=output_dir.relative_to(REPO) / f"{job.entry}.ipynb"
    )


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    store = tmp_path_factory.mktemp("dry") / "mlruns"
    output_dir = REPO / "_build" / "cpu-dry-run"
    plan = plans.load_plan(REPO / "plans" / "default.yaml", root=REPO)
    first_jobs = {}
    for job in plans.expand(plan, "cpu"):
        first_jobs.setdefault(job.entry, job)
    return store, output_dir, first_jobs


@pytest.mark.parametrize("entry", list(CAPS))
def test_the_cpu_job_runs_on_a_few_minibatches_of_the_real_data(entry, dry_run, monkeypatch, tmp_path):
    store, output_dir, first_jobs = dry_run
    root = shared_data_root()
    needed = next(folders for prefix, folders in NEEDS.items() if entry.startswith(prefix))
    absent = [" or ".join(choice) for choice in needed if root is None or not any((root / f).is_dir() for f in choice)]
    if absent:
        pytest.skip(f"needs <data root>/{', '.join(absent)} (data root {root}: set RANDNAS_DATA)")
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "checkpoints"))
    job = capped(first_jobs[entry], root, output_dir)
    result = runner.execute_job(job, REPO, str(store))
    assert result.status == "ran", result.detail
    assert find_runs(open_store(store), plan_key=job.plan_key, status=v.FINISHED)
