"""A team's record: plans log to an MLflow tracking server backed by a database (sqlite here; PostgreSQL on a
cluster, see README), jobs run on Ray, the book reads the server, and `randnas record export` copies the runs
the book uses into the portable committed file store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from randnas import runner
from randnas.record import vocabulary as v
from randnas.record.artifacts import artifact_exists, load_json
from randnas.record.integrity import check_store
from randnas.record.portable import export_record, private_paths
from randnas.record.store import experiment_names, find_runs, metric_history, open_store
from randnas.report.runs import runs_index_html, runs_overview
from tests.test_plans import PARAMETERS, PLAN, statuses, write_notebook

BODY = """from types import SimpleNamespace
from randnas.record.writer import run_tags, tracked_run
toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
tags = run_tags(seed=seed, preset=preset, benchmark="toy", datasets=[toy], plan_key=plan_key)
with tracked_run("toy/server", f"toy-{seed}", tags=tags, config={"value": value}, store=store or None,
                 held_lock=held_lock) as run:
    for epoch in range(3):
        run.metrics({"valid/value": value * seed + epoch}, step=epoch)
    run.json({"seed": seed}, "result/seed.json")
    run.child("trial", "trial-0", tags={"randnas.trial": "0"}, params={"width": 4}, metrics=[("valid/acc", 0.5, 1)])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_SERVER_PIDS: dict[str, int] = {}


def run_cli_in(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`randnas` as a person runs it in the project `project` (another process; the environment's store)."""
    return subprocess.run(
        [sys.executable, "-m", "randnas.cli", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        check=False,
    )


def server_pid(uri: str) -> int:
    return _SERVER_PIDS[uri]


def start_server(folder: Path, port: int) -> subprocess.Popen:
    """`mlflow server` on the sqlite database and artifact folder in `folder`, on 127.0.0.1:`port`, once it
    answers; started again on the same folder and port, it serves the same record."""
    log = (folder / "server.log").open("a")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'runs.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    uri = f"http://127.0.0.1:{port}"
    _SERVER_PIDS[uri] = process.pid
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the MLflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)


@pytest.fixture
def server(tmp_path: Path):
    """`mlflow server` on a sqlite database, serving artifacts from a folder, on 127.0.0.1."""
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    start_server(tmp_path, port)
    try:
        yield uri
    finally:  # the server the test left running (a test may have killed and restarted it)
        import signal

        try:
            os.killpg(_SERVER_PIDS[uri], signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_notebook(root / "notebooks" / "toy.ipynb", parameters=PARAMETERS, body=BODY)
    (root / "plans").mkdir()
    (root / "plans" / "toy.yaml").write_text(PLAN)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    return root


def _records(uri: str) -> dict[str, tuple]:
    """What the book reads of each run, keyed by plan key (children by their key), store-independent."""
    store = open_store(uri)
    runs = find_runs(store)
    records = {}
    for run in runs:
        tags = run.data.tags
        key = tags.get(v.TAG_PLAN_KEY) or f"seed {tags[v.TAG_SEED]}: {tags[v.TAG_CHILD_KEY]}"
        history = tuple(metric_history(store, run.info.run_id, name) for name in sorted(run.data.metrics))
        records[key] = (run.info.status, run.data.params, history, run.info.run_name)
    assert len(runs) == len(records)
    return records


def test_a_plan_logs_to_a_sqlite_backed_server_on_ray_and_export_makes_the_committed_record(
    server, project, tmp_path, monkeypatch
):
    import ray

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        results = runner.run_plan(project / "plans" / "toy.yaml", "smoke", root=project, store=server, backend="ray")
    finally:
        ray.shutdown()
    assert statuses(results) == ["ran", "ran"]

    # the book reads the server: every run, its metrics' histories, its artifacts
    on_server = _records(server)
    assert len(on_server) == 4 and {record[0] for record in on_server.values()} == {v.FINISHED}
    # every run in the notebook's experiment, none in "Default" (two jobs creating it at once, MLflow's race)
    remote = open_store(server)
    assert set(experiment_names(remote).values()) - {"Default"} == {"toy/server"}
    assert {run.info.experiment_id for run in find_runs(remote)} == {
        find_runs(remote, "toy/server")[0].info.experiment_id
    }
    parent = find_runs(remote, "toy/server", plan_key=results[0].job.plan_key)[0]
    assert load_json(remote, parent.info.run_id, "result/seed.json") == {"seed": 1}
    assert artifact_exists(remote, parent.info.run_id, v.MANIFEST_ARTIFACT)
    page = runs_index_html(runs_overview())  # the book's runs index, as its page renders it from $MLFLOW_TRACKING_URI
    assert parent.info.run_id[:8] in page and "toy/server" in page

    # export: the same runs in a portable file store, whole, with no path of this machine
    store = tmp_path / "repo" / "mlruns"
    copied, _, _ = export_record(project, store, server)
    assert copied == 4
    assert _records(str(store)) == on_server
    local = open_store(store)
    exported = find_runs(local, "toy/server", plan_key=results[0].job.plan_key)[0]
    assert exported.data.tags[v.TAG_EXPORTED_FROM] == parent.info.run_id
    assert load_json(local, exported.info.run_id, "result/seed.json") == {"seed": 1}
    assert artifact_exists(local, exported.info.run_id, f"notebook/{results[0].job.output.name}")
    children = [run for run in find_runs(local, "toy/server") if v.PARENT_TAG in run.data.tags]
    assert {run.data.tags[v.PARENT_TAG] for run in children} == {
        run.info.run_id for run in find_runs(local, "toy/server") if v.PARENT_TAG not in run.data.tags
    }
    assert check_store(store) == (4, [])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(store))
    page = runs_index_html(runs_overview())
    assert exported.info.run_id[:8] in page and parent.info.run_id[:8] not in page
    assert not list(private_paths([path for path in store.rglob("meta.yaml")]))
    # exporting again adds nothing; the plan runner sees the exported record's jobs as done
    assert export_record(project, store, server)[0] == 0
    assert statuses(runner.run_plan(project / "plans" / "toy.yaml", "smoke", root=project, store=store)) == [
        "skipped",
        "skipped",
    ]


def test_export_from_a_server_that_does_not_answer_is_one_line(tmp_path):
    port = _free_port()  # nothing listens there
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "randnas.cli",
            "record",
            "export",
            "--from",
            f"http://127.0.0.1:{port}",
            "--store",
            str(tmp_path / "mlruns"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "cannot reach the tracking server" in done.stderr
    assert not (tmp_path / "mlruns").exists()


EPOCHS_BODY = """import time
from types import SimpleNamespace
import torch
from randnas.record.writer import run_tags, tracked_run
from randnas.train.loop import EpochTrainer


class Toy(EpochTrainer):
    def __init__(self):
        self.model = torch.nn.Linear(1, 1, bias=False)
        torch.nn.init.zeros_(self.model.weight)

    def train_one_epoch(self, epoch):
        with torch.no_grad():
            self.model.weight.add_(epoch)
        time.sleep(sleep)
        return {"valid/value": float(self.model.weight.sum()) * value}

    def checkpointed(self):
        return {"model": self.model}, {}


toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
tags = run_tags(seed=seed, preset=preset, benchmark="toy", datasets=[toy], plan_key=plan_key)
with tracked_run("toy/faults", f"toy-{seed}", tags=tags, store=store or None, held_lock=held_lock) as run:
    Toy().train_epochs(4, run.checkpoint_dir(), lambda epoch, metrics: run.metrics(metrics, step=epoch))
"""


@pytest.mark.slow  # a real server killed, silenced or shared, and waited on: make test-slow
def test_a_server_that_hangs_mid_job_stops_it_within_a_minute_and_the_rerun_has_every_epoch(
    server, project, tmp_path, monkeypatch
):
    """SIGSTOP of the server's processes mid-job (it accepts connections and never answers): `randnas run` fails
    the job with one line in under a minute, its checkpoint kept; once the server is back, the rerun resumes the
    run, and its per-epoch metrics are an uninterrupted run's, step for step (1, 1+2, ... times the value 2)."""
    import signal

    write_notebook(project / "notebooks" / "toy.ipynb", parameters=PARAMETERS, body=EPOCHS_BODY)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(tmp_path / "checkpoints"))
    command = [sys.executable, "-m", "randnas.cli", "run", "plans/toy.yaml", "--preset", "smoke"]
    command += ["--set", "seed=[1]", "--set", "sleep=2.0"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    first = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    remote = open_store(server)
    deadline = time.monotonic() + 240
    try:
        while not any(
            metric_history(remote, run.info.run_id, "valid/value") for run in find_runs(remote, "toy/faults")
        ):  # the first epoch is reported: the server goes silent mid-job
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.5)
        group = os.getpgid(server_pid(server))
        os.killpg(group, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            out, err = first.communicate(timeout=240)
            waited = time.monotonic() - stopped
        finally:
            os.killpg(group, signal.SIGCONT)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 1 and out.splitlines()[0].startswith("running "), out + err
    [failure] = out.splitlines()[1:]  # one line for the job, saying what happened and what is left
    assert failure.startswith("failed ") and "Read timed out" in failure and "resumes the run" in failure
    assert waited < 60, f"the job waited on a silent server for {waited:.0f} s, over a minute"
    assert list((tmp_path / "checkpoints").glob("*/last.pt"))  # kept for the resume

    # the rerun, as a person types it: the claim the lost server kept is its dead owner's, taken over at once
    rerun = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0 and rerun.stdout.splitlines()[-1].startswith("ran "), rerun.stdout + rerun.stderr
    [run] = find_runs(remote, "toy/faults")
    assert run.info.status == v.FINISHED
    assert metric_history(remote, run.info.run_id, "valid/value") == [(1, 2.0), (2, 6.0), (3, 12.0), (4, 20.0)]


@pytest.mark.slow  # a real server killed, silenced or shared, and waited on: make test-slow
def test_a_server_killed_mid_job_fails_it_at_once_and_after_a_restart_the_rerun_has_every_epoch(
    server, project, tmp_path, monkeypatch
):
    """SIGKILL of the server mid-job: the job fails with one line (connections refused: no minute of waiting),
    its checkpoint kept; the server restarted on its database, the rerun resumes the run, every epoch in place."""
    import signal

    write_notebook(project / "notebooks" / "toy.ipynb", parameters=PARAMETERS, body=EPOCHS_BODY)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(tmp_path / "checkpoints"))
    args = ("run", "plans/toy.yaml", "--preset", "smoke", "--set", "seed=[1]", "--set", "sleep=2.0")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    first = subprocess.Popen(
        [sys.executable, "-m", "randnas.cli", *args], cwd=project, env=env, stdout=subprocess.PIPE, text=True
    )
    remote = open_store(server)
    deadline = time.monotonic() + 240
    try:
        while not any(metric_history(remote, r.info.run_id, "valid/value") for r in find_runs(remote, "toy/faults")):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        os.killpg(server_pid(server), signal.SIGKILL)
        out, _ = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
    [failure] = [line for line in out.splitlines() if line.startswith("failed ")]
    assert first.returncode == 1 and "resumes the run" in failure
    assert list((tmp_path / "checkpoints").glob("*/last.pt"))

    start_server(tmp_path, int(server.rsplit(":", 1)[1]))  # the same database and artifacts, the same address
    rerun = run_cli_in(project, *args)
    assert rerun.returncode == 0 and rerun.stdout.splitlines()[-1].startswith("ran "), rerun.stdout + rerun.stderr
    [run] = find_runs(remote, "toy/faults")
    assert run.info.status == v.FINISHED
    assert metric_history(remote, run.info.run_id, "valid/value") == [(1, 2.0), (2, 6.0), (3, 12.0), (4, 20.0)]


def test_a_server_that_accepts_and_never_answers_is_one_line_at_once(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "randnas.cli", "run", "plans/default.yaml", "--preset", "smoke", "--dry-run"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"},
            check=False,
        )
    assert done.returncode == 2 and time.monotonic() - started < 60
    assert done.stderr.strip().count("\n") == 0
    assert f"cannot reach the tracking server http://127.0.0.1:{port} (no answer within 5 s)" in done.stderr


@pytest.mark.slow  # a real server killed, silenced or shared, and waited on: make test-slow
def test_two_clones_on_one_server_never_share_a_run(server, project, tmp_path, monkeypatch):
    """Two clones (their own checkpoints, so their file locks never meet) run the same job against one server at
    once: one trains it, the other skips it naming the owner; the run holds one value per step."""
    import shutil
    import threading

    from randnas.record.claims import CLAIM_PREFIX

    write_notebook(project / "notebooks" / "toy.ipynb", parameters=PARAMETERS, body=EPOCHS_BODY)
    other = tmp_path / "other-clone"
    shutil.copytree(project, other)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    overrides = {"seed": [1], "sleep": 2.0}
    first: dict = {}

    def clone_one() -> None:
        first["results"] = runner.run_plan(
            project / "plans" / "toy.yaml", "smoke", overrides, root=project, store=server
        )

    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(tmp_path / "checkpoints-1"))
    worker = threading.Thread(target=clone_one)
    worker.start()
    remote = open_store(server)
    deadline = time.monotonic() + 240
    while not find_runs(remote, "toy/faults"):  # the first clone is training
        assert worker.is_alive() and time.monotonic() < deadline
        time.sleep(0.5)
    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(tmp_path / "checkpoints-2"))
    second = run_cli_in(other, "run", "plans/toy.yaml", "--preset", "smoke", "--set", "seed=[1]", "--set", "sleep=2.0")
    worker.join(timeout=240)
    assert second.returncode == 0 and second.stdout.startswith("skipped "), second.stdout + second.stderr
    assert "is being run by" in second.stdout and f"process {os.getpid()}" in second.stdout
    assert statuses(first["results"]) == ["ran"]
    [run] = find_runs(remote, "toy/faults")
    assert metric_history(remote, run.info.run_id, "valid/value") == [(1, 2.0), (2, 6.0), (3, 12.0), (4, 20.0)]
    # released: no live claim left in the experiment list
    assert not [name for name in experiment_names(remote).values() if name.startswith(CLAIM_PREFIX)]


def test_a_claim_whose_owner_died_is_taken_over_and_a_live_one_is_not(server, project, tmp_path, monkeypatch):
    import hashlib

    from randnas import plans
    from randnas.record.claims import CLAIM_PREFIX, HEARTBEAT_TAG, OWNER_TAG

    write_notebook(project / "notebooks" / "toy.ipynb", parameters=PARAMETERS, body=EPOCHS_BODY)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(tmp_path / "checkpoints"))
    plan, overrides = project / "plans" / "toy.yaml", {"seed": [1], "sleep": 0.0}
    [job] = plans.expand(plans.load_plan(plan, root=project), "smoke", overrides)
    client = open_store(server).client()
    prefix = f"{CLAIM_PREFIX}{hashlib.sha256(job.plan_key.encode()).hexdigest()[:24]}"
    # a live claim from another machine: the job is left to it
    live = client.create_experiment(
        f"{prefix}/1", tags={OWNER_TAG: "gpu-7 process 41", HEARTBEAT_TAG: str(time.time())}
    )
    [result] = runner.run_plan(plan, "smoke", overrides, root=project, store=server)
    assert result.status == "skipped" and "is being run by gpu-7 process 41" in result.detail
    # that machine died: its heartbeat is an hour old, and the claim is taken over (the next generation)
    client.set_experiment_tag(live, HEARTBEAT_TAG, str(time.time() - 3600))
    [result] = runner.run_plan(plan, "smoke", overrides, root=project, store=server)
    assert result.status == "ran", result.detail
    from mlflow.entities import ViewType

    names = {e.name for e in client.search_experiments(view_type=ViewType.ALL) if e.name.startswith(prefix)}
    assert names == {f"{prefix}/1", f"{prefix}/2"}
