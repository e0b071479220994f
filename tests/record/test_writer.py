"""The MLflow record: tags, statuses, resume, and a store that works from any clone, read and written with the
store passed explicitly (nothing set process-wide)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest

from randnas.record import vocabulary as v
from randnas.record.artifacts import artifact_exists, download_artifact, load_json
from randnas.record.locks import RunBusy, checkpoint_dir
from randnas.record.portable import export_record, make_portable
from randnas.record.store import (
    declare_experiment_kinds,
    file_store_path,
    filter_literal,
    find_runs,
    mark_unfinished,
    metric_history,
    open_experiment,
    open_store,
    stored_runs,
)
from randnas.record.writer import flatten_config, run_tags, tracked_run


def history(run_id: str, key: str) -> list[tuple[int, float]]:
    return metric_history(open_store(), run_id, key)


def get_run(run_id: str):
    """A run of the default store ($MLFLOW_TRACKING_URI, which the `store` fixture sets)."""
    return open_store().client().get_run(run_id)


def get_experiment_by_name(name: str):
    return open_store().client().get_experiment_by_name(name)


TOY_DATA = SimpleNamespace(name="toy", label="toy data (tests)", checksum="0" * 64)


def toy_tags(plan_key: str = "", seed: int = 0) -> dict[str, str]:
    return run_tags(seed=seed, preset="smoke", benchmark="toy", datasets=[TOY_DATA], plan_key=plan_key)


@dataclasses.dataclass(frozen=True)
class Inner:
    width: int = 4
    ops: tuple = ("a", "b")


@dataclasses.dataclass(frozen=True)
class Config:
    lr: float = 0.1
    inner: Inner = Inner()


def test_flatten_config_nested_dataclass():
    assert flatten_config(Config()) == {"lr": "0.1", "inner.width": "4", "inner.ops": '["a", "b"]'}


def test_tracked_run_logs_tags_params_metrics_and_artifacts(store):
    with tracked_run("toy/family", "toy-run", tags=toy_tags("p/k"), config=Config()) as run:
        run.metrics({"valid/acc": 0.5}, step=1)
        run.metrics({"valid/acc": 0.75}, step=2)
        run.json({"genotype": [1, 2]}, "genotype.json")
    logged = get_run(run.run_id)
    assert logged.info.status == v.FINISHED
    assert logged.data.tags[v.TAG_PLAN_KEY] == "p/k"
    assert logged.data.tags[v.TAG_DATASET_SHA256] == "0" * 64
    assert logged.data.tags["randnas.fp.dataset.toy"] == "0" * 64
    assert "randnas.fp.version.torch" in logged.data.tags
    assert logged.data.params == {"lr": "0.1", "inner.width": "4", "inner.ops": '["a", "b"]'}
    assert history(run.run_id, "valid/acc") == [(1, 0.5), (2, 0.75)]
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/genotype.json") == {"genotype": [1, 2]}
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/config.json") == {
        "lr": 0.1,
        "inner": {"width": 4, "ops": ["a", "b"]},
    }


def test_tracked_run_error_ends_failed(store):
    with pytest.raises(ZeroDivisionError), tracked_run("toy/family", "broken", tags=toy_tags()) as run:
        _ = 1 / 0
    assert get_run(run.run_id).info.status == v.FAILED


def test_tracked_run_interrupt_ends_killed(store):
    with pytest.raises(KeyboardInterrupt), tracked_run("toy/family", "interrupted", tags=toy_tags()) as run:
        raise KeyboardInterrupt
    assert get_run(run.run_id).info.status == v.KILLED


def test_unfinished_plan_entry_resumes_same_run_without_relogging_params(store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracked_run("toy/family", "first", tags=toy_tags("plan/entry"), config=Config()) as first,
    ):
        first.metrics({"train/loss": 2.0}, step=1)
        raise KeyboardInterrupt
    with tracked_run("toy/family", "again", tags=toy_tags("plan/entry"), config=Config(lr=0.2)) as second:
        assert second.resumed
        second.metrics({"train/loss": 1.0}, step=2)
    assert second.run_id == first.run_id
    run = get_run(second.run_id)
    assert run.info.status == v.FINISHED
    assert run.data.params["lr"] == "0.1"  # not re-logged
    assert history(run.info.run_id, "train/loss") == [(1, 2.0), (2, 1.0)]
    # a FINISHED entry is never resumed: the next run is a new one
    with tracked_run("toy/family", "third", tags=toy_tags("plan/entry")) as third:
        assert not third.resumed
    assert third.run_id != first.run_id


def test_a_resumed_run_restores_params_and_config_its_first_attempt_lost(store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracked_run("toy/family", "first", tags=toy_tags("plan/disk"), config=Config()) as first,
    ):
        raise KeyboardInterrupt
    run_dir = next(store.glob(f"*/{first.run_id}"))
    # what a full disk mid-start leaves: some params and no config artifact
    (run_dir / "params" / "inner.width").unlink()
    (run_dir / "artifacts" / "config.json").unlink()
    with tracked_run("toy/family", "again", tags=toy_tags("plan/disk"), config=Config()) as second:
        assert second.resumed
    assert get_run(first.run_id).data.params == {"lr": "0.1", "inner.width": "4", "inner.ops": '["a", "b"]'}
    assert mlflow.artifacts.load_dict(f"runs:/{first.run_id}/config.json")["lr"] == 0.1


def test_a_resumed_run_does_not_log_a_step_it_already_holds(store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracked_run("toy/family", "first", tags=toy_tags("plan/steps")) as first,
    ):
        first.metrics({"train/loss": 2.0}, step=1)
        first.metrics({"train/loss": 1.5}, step=2)
        raise KeyboardInterrupt
    with tracked_run("toy/family", "again", tags=toy_tags("plan/steps")) as second:
        second.metrics({"train/loss": 1.5, "valid/loss": 1.7}, step=2)  # epoch 2 retrained from epoch 1's checkpoint
        second.metrics({"train/loss": 1.0}, step=3)
    assert history(first.run_id, "train/loss") == [(1, 2.0), (2, 1.5), (3, 1.0)]
    assert history(first.run_id, "valid/loss") == [(2, 1.7)]


def test_store_paths_are_relative_to_the_repo_folder_after_export(store):
    with tracked_run("toy/family", "r", tags=toy_tags()) as run:
        run.json({"a": 1}, "a.json")
    export_record(store.parent, store)
    metas = [path.read_text() for path in store.rglob("meta.yaml")]
    assert metas and not any("artifact_location: /" in m or "file://" in m or "artifact_uri: /" in m for m in metas)
    assert any("artifact_uri: mlruns/" in m for m in metas)


def copy_as_git_would(source: Path, target: Path) -> None:
    """Files only: git keeps no empty folders (metrics/, params/, artifacts/, tags/)."""
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def test_portable_store_read_from_a_copy_at_another_path(store, tmp_path, monkeypatch):
    with tracked_run("toy/family", "portable", tags=toy_tags(), config=Config()) as run:
        run.json({"kept": True}, "result.json")  # a run with no metrics leaves metrics/ empty
    make_portable(store)  # `randnas record export`, before the record is committed
    clone = tmp_path / "elsewhere" / "clone"
    copy_as_git_would(store, clone / "mlruns")
    shutil.rmtree(store)  # nothing may still point at the original
    assert not any(p.name == "metrics" for p in (clone / "mlruns").rglob("*"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(clone / "mlruns")  # anywhere inside the clone
    (clone / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    found = stored_runs(open_store())
    assert [(r.run_id, r.status) for r in found] == [(run.run_id, "FINISHED")]
    assert load_json(open_store(), run.run_id, "result.json") == {"kept": True}
    assert open_store().client().get_run(run.run_id).data.params["lr"] == "0.1"
    assert Path.cwd() == clone / "mlruns"  # read without moving this process's working directory


def test_a_portable_store_is_read_and_written_from_any_working_directory(store, tmp_path, monkeypatch):
    """Repo-relative artifact paths are resolved against the store's folder, never the working directory:
    no `os.chdir` in randnas, and nothing written where the process happens to be."""
    with tracked_run("toy/family", "first", tags=toy_tags(), config=Config()) as run:
        run.json({"kept": True}, "result.json")
    assert make_portable(store) == 2  # the experiment's meta.yaml and the run's
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_json(open_store(store), run.run_id, "result.json") == {"kept": True}
    assert artifact_exists(open_store(store), run.run_id, v.MANIFEST_ARTIFACT)
    folder = tmp_path / "events"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "a.jsonl").write_text("{}\n")
    with tracked_run("toy/family", "second", tags=toy_tags(seed=1), config=Config()) as second:
        second.json({"second": True}, "deep/result.json")
        second.artifact(folder, "logs")  # a folder keeps its name under the artifact path, as MLflow's
    with tempfile.TemporaryDirectory() as tmp:
        copy = download_artifact(open_store(), second.run_id, "deep/result.json", Path(tmp) / "not-yet")
        assert copy == Path(tmp) / "not-yet" / "deep" / "result.json" and json.loads(copy.read_text()) == {
            "second": True
        }
        logs = download_artifact(open_store(), second.run_id, "logs", Path(tmp))
        assert (logs / "events" / "inner" / "a.jsonl").read_text() == "{}\n"
    assert Path.cwd() == elsewhere and list(elsewhere.iterdir()) == []
    assert (
        store / get_run(run.run_id).info.experiment_id / second.run_id / "artifacts" / "deep" / "result.json"
    ).is_file()


def test_make_portable_leaves_a_live_run_to_its_writer(tmp_path):
    store = tmp_path / "repo" / "mlruns"
    (store / "1" / "live").mkdir(parents=True)
    (store / "1" / "done").mkdir(parents=True)
    (store / "1" / "live" / "meta.yaml").write_text(f"artifact_uri: {store}/1/live/artifacts\nstatus: 1\n")
    (store / "1" / "done" / "meta.yaml").write_text(f"artifact_uri: {store}/1/done/artifacts\nstatus: 3\n")
    assert make_portable(store) == 1
    assert (store / "1" / "live" / "meta.yaml").read_text().startswith(f"artifact_uri: {store}")
    assert (store / "1" / "done" / "meta.yaml").read_text() == "artifact_uri: mlruns/1/done/artifacts\nstatus: 3\n"


def test_make_portable_rewrites_only_paths_inside_the_store(tmp_path):
    store = tmp_path / "repo" / "mlruns"
    (store / "1" / "abc").mkdir(parents=True)
    (store / "1" / "meta.yaml").write_text(f"artifact_location: file://{store}/1\nname: x\n")
    (store / "1" / "abc" / "meta.yaml").write_text(f"artifact_uri: {store}/1/abc/artifacts\n")
    (store / "2").mkdir()
    (store / "2" / "meta.yaml").write_text("artifact_location: s3://bucket/2\n")
    (store / "3").mkdir()
    (store / "3" / "meta.yaml").write_text("artifact_location: file:///other/place/3\n")
    assert make_portable(store) == 2
    assert (store / "1" / "meta.yaml").read_text() == "artifact_location: mlruns/1\nname: x\n"
    assert (store / "1" / "abc" / "meta.yaml").read_text() == "artifact_uri: mlruns/1/abc/artifacts\n"
    assert (store / "2" / "meta.yaml").read_text() == "artifact_location: s3://bucket/2\n"
    assert (store / "3" / "meta.yaml").read_text() == "artifact_location: file:///other/place/3\n"


def test_tracking_server_uri_is_used_as_is(tmp_path, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    previous = mlflow.get_tracking_uri()
    monkeypatch.chdir(tmp_path)
    # something that answers HTTP, as a tracking server would (a bare listener that never answers is unreachable)
    listener = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    uri = f"http://127.0.0.1:{listener.server_address[1]}"
    try:
        opened = open_store(uri)
        assert opened.uri == uri and opened.folder is None
        assert mlflow.get_tracking_uri() == previous  # nothing process-wide changed: the store is passed
        assert Path.cwd() == tmp_path and list(tmp_path.iterdir()) == []  # no folder made, no directory change
    finally:
        listener.shutdown()
        listener.server_close()
    assert file_store_path("http://127.0.0.1:5999") is None
    assert file_store_path("file:///a/b") == Path("/a/b")


def test_mark_unfinished_ends_running_runs(store):
    opened = open_store(store)
    client = opened.client()
    experiment_id = client.create_experiment("toy/crashes")
    # what a process killed mid-run leaves behind: a run still RUNNING
    crashed = client.create_run(experiment_id, tags={v.TAG_PLAN_KEY: "plan/crash"})
    other = client.create_run(experiment_id, tags={v.TAG_PLAN_KEY: "plan/other"})
    assert mark_unfinished(opened, "plan/crash", v.FAILED) == [crashed.info.run_id]
    assert get_run(crashed.info.run_id).info.status == v.FAILED
    assert get_run(other.info.run_id).info.status == v.RUNNING


def test_checkpoint_dir_is_outside_the_record_and_keyed_by_run(store, tmp_path):
    path = checkpoint_dir(open_store(), "abc123")
    assert path == tmp_path / "checkpoints" / "abc123" and path.is_dir()
    assert store not in path.parents


def test_two_stores_in_one_process_leave_no_process_wide_state(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    before = mlflow.get_tracking_uri()
    with tracked_run("toy/first", "a", tags={}, store=tmp_path / "first" / "mlruns") as first:
        pass
    second = tmp_path / "second" / "mlruns"
    with tracked_run("toy/second", "b", tags={}, store=second) as run:
        pass
    # no active run, experiment or tracking URI set for the process or its children
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ and mlflow.active_run() is None
    assert mlflow.get_tracking_uri() == before
    assert [r.info.run_id for r in find_runs(open_store(second), "toy/second")] == [run.run_id]
    assert find_runs(open_store(second), "toy/first") == []
    assert [r.info.run_id for r in find_runs(open_store(tmp_path / "first" / "mlruns"))] == [first.run_id]


def test_a_plan_key_with_a_quote_is_found_not_injected(store):
    key = "default/it's/smoke/seed-0@abc"
    with tracked_run("toy/family", "quoted", tags=toy_tags(key)) as run:
        pass
    assert [r.info.run_id for r in find_runs(open_store(), plan_key=key)] == [run.run_id]
    assert find_runs(open_store(), plan_key="x' or tags.`randnas.seed` != '") == []  # no clause smuggled in
    with pytest.raises(ValueError, match="both kinds of quote"):
        filter_literal("""a'b"c""")


def test_a_run_keeps_its_source_scripts_name_not_its_absolute_path(store):
    with tracked_run("toy/family", "source", tags=toy_tags()) as run:
        pass
    source = get_run(run.run_id).data.tags.get(v.SOURCE_TAG, "")
    assert source and not source.startswith("/") and "/" not in source


def test_a_resumed_run_keeps_its_commit_and_records_the_resuming_one(store):
    started = {**toy_tags("plan/resume"), v.TAG_GIT_COMMIT: "aaaa", v.TAG_GIT_DIRTY: "false"}
    with pytest.raises(KeyboardInterrupt), tracked_run("toy/family", "first", tags=started):
        raise KeyboardInterrupt
    resuming = {**started, v.TAG_GIT_COMMIT: "bbbb", v.TAG_GIT_DIRTY: "true"}
    with tracked_run("toy/family", "again", tags=resuming) as run:
        assert run.resumed
    tags = get_run(run.run_id).data.tags
    assert tags[v.TAG_GIT_COMMIT] == "aaaa" and tags[v.TAG_GIT_DIRTY] == "false"
    assert tags["randnas.resumed_at.git_commit"] == "bbbb" and tags["randnas.resumed_at.git_dirty"] == "true"


HOLD_LOCK = """
import sys, time
from randnas.record.locks import job_lock
from randnas.record.store import open_store
with job_lock(open_store(), sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def held_lock(store):
    """A separate process holding a plan job's lock (as a runner running that job would); yields the key."""
    import subprocess
    import sys

    key = "plan/busy-job"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, key], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield key, holder
    finally:
        holder.kill()
        holder.wait()


def test_a_job_another_process_is_running_is_refused_before_the_record_is_touched(store, held_lock):
    key, holder = held_lock
    busy = pytest.raises(RunBusy, match=f"plan job {key} is being run by process {holder.pid} since")
    with busy, tracked_run("toy/family", "second", tags=toy_tags(key)):
        pass
    assert find_runs(open_store(), plan_key=key) == []
    holder.kill()  # SIGKILL: the kernel releases the lock with the process
    holder.wait()
    with tracked_run("toy/family", "after", tags=toy_tags(key)) as run:
        pass
    assert get_run(run.run_id).info.status == v.FINISHED


def test_an_unreachable_tracking_server_fails_within_seconds_with_one_line(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "randnas.cli",
            "run",
            "plans/default.yaml",
            "--preset",
            "smoke",
            "--dry-run",
            "--store",
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 2, done.stderr
    # one line from the connection probe, before MLflow's own client (which retried for 257 s) is ever asked
    assert done.stderr.strip().splitlines() == [
        (
            f"randnas: error: cannot reach the tracking server http://127.0.0.1:{port} (Connection refused); start it "
            "(`make ui`, or `mlflow server` on that address) or unset MLFLOW_TRACKING_URI to use ./mlruns"
        )
    ]


def _open_experiment(store: str, name: str, start: float) -> str:
    import time

    opened = open_store(store)
    time.sleep(max(0.0, start - time.time()))  # all processes ask at once
    return open_experiment(opened, name)


def test_processes_opening_a_new_experiment_at_once_create_it_once(store):
    import multiprocessing
    import time

    start = time.time() + 3.0
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = pool.starmap(_open_experiment, [(str(store), "toy/race", start)] * 4)
    assert len(set(ids)) == 1
    assert [e.name for e in open_store(store).client().search_experiments()].count("toy/race") == 1


def test_every_experiment_is_declared_a_machine_learning_one_so_the_ui_opens_its_runs(store):
    with tracked_run("toy/kind", "r", tags=toy_tags("p/kind")):
        pass
    experiment = get_experiment_by_name("toy/kind")
    assert experiment.tags[v.EXPERIMENT_KIND_TAG] == "custom_model_development"
    open_store().client().delete_experiment_tag(experiment.experiment_id, v.EXPERIMENT_KIND_TAG)  # an older record
    assert declare_experiment_kinds(open_store()) == 1 and declare_experiment_kinds(open_store()) == 0


def test_a_plan_runs_name_says_its_preset_entry_and_job_a_hand_run_keeps_its_own(store):
    with tracked_run("toy/names", "seed0-r1", tags=toy_tags("default/cnn-rsws/cpu/seed-0_repeat-2@ab12")) as run:
        pass
    assert get_run(run.run_id).info.run_name == "cpu/cnn-rsws/seed-0_repeat-2"
    with tracked_run("toy/names", "seed0-r1", tags=toy_tags("")) as hand:
        pass
    assert get_run(hand.run_id).info.run_name == "seed0-r1"


def test_a_run_lands_in_its_experiment_when_another_process_created_it_at_the_same_moment(store, monkeypatch):
    """MLflow's set_experiment, losing the race to create an experiment, returns it without activating it."""
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    open_store(store).client().create_experiment("toy/raced")  # the other process's
    lookup = TrackingServiceClient.get_experiment_by_name
    calls = []

    def not_there_yet(self, name):  # this process looked just before the other one created it
        calls.append(name)
        return None if len(calls) == 1 else lookup(self, name)

    monkeypatch.setattr(TrackingServiceClient, "get_experiment_by_name", not_there_yet)
    with tracked_run("toy/raced", "r", tags=toy_tags()) as run:
        pass
    assert calls and get_run(run.run_id).info.experiment_id == get_experiment_by_name("toy/raced").experiment_id
