"""The MLflow record: tags, statuses, resume, and a store that works from any clone."""

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

from randnas import tracking

TOY_DATA = SimpleNamespace(name="toy", label="toy data (tests)", checksum="0" * 64)


def toy_tags(plan_key: str = "", seed: int = 0) -> dict[str, str]:
    return tracking.run_tags(seed=seed, preset="smoke", benchmark="toy", datasets=[TOY_DATA], plan_key=plan_key)


@dataclasses.dataclass(frozen=True)
class Inner:
    width: int = 4
    ops: tuple = ("a", "b")


@dataclasses.dataclass(frozen=True)
class Config:
    lr: float = 0.1
    inner: Inner = Inner()


def test_flatten_config_nested_dataclass():
    assert tracking.flatten_config(Config()) == {"lr": "0.1", "inner.width": "4", "inner.ops": '["a", "b"]'}


def test_tracked_run_logs_tags_params_metrics_and_artifacts(store):
    with tracking.tracked_run("toy/family", "toy-run", tags=toy_tags("p/k"), config=Config()) as run:
        run.metrics({"valid/acc": 0.5}, step=1)
        run.metrics({"valid/acc": 0.75}, step=2)
        run.json({"genotype": [1, 2]}, "genotype.json")
    logged = mlflow.get_run(run.run_id)
    assert logged.info.status == tracking.FINISHED
    assert logged.data.tags[tracking.TAG_PLAN_KEY] == "p/k"
    assert logged.data.tags[tracking.TAG_DATASET_SHA256] == "0" * 64
    assert logged.data.tags["randnas.fp.dataset.toy"] == "0" * 64
    assert "randnas.fp.version.torch" in logged.data.tags
    assert logged.data.params == {"lr": "0.1", "inner.width": "4", "inner.ops": '["a", "b"]'}
    assert tracking.metric_history(run.run_id, "valid/acc") == [(1, 0.5), (2, 0.75)]
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/genotype.json") == {"genotype": [1, 2]}
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/config.json") == {
        "lr": 0.1,
        "inner": {"width": 4, "ops": ["a", "b"]},
    }


def test_tracked_run_error_ends_failed(store):
    with pytest.raises(ZeroDivisionError), tracking.tracked_run("toy/family", "broken", tags=toy_tags()) as run:
        _ = 1 / 0
    assert mlflow.get_run(run.run_id).info.status == tracking.FAILED


def test_tracked_run_interrupt_ends_killed(store):
    with pytest.raises(KeyboardInterrupt), tracking.tracked_run("toy/family", "interrupted", tags=toy_tags()) as run:
        raise KeyboardInterrupt
    assert mlflow.get_run(run.run_id).info.status == tracking.KILLED


def test_unfinished_plan_entry_resumes_same_run_without_relogging_params(store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracking.tracked_run("toy/family", "first", tags=toy_tags("plan/entry"), config=Config()) as first,
    ):
        first.metrics({"train/loss": 2.0}, step=1)
        raise KeyboardInterrupt
    with tracking.tracked_run("toy/family", "again", tags=toy_tags("plan/entry"), config=Config(lr=0.2)) as second:
        assert second.resumed
        second.metrics({"train/loss": 1.0}, step=2)
    assert second.run_id == first.run_id
    run = mlflow.get_run(second.run_id)
    assert run.info.status == tracking.FINISHED
    assert run.data.params["lr"] == "0.1"  # not re-logged
    assert tracking.metric_history(run.info.run_id, "train/loss") == [(1, 2.0), (2, 1.0)]
    # a FINISHED entry is never resumed: the next run is a new one
    with tracking.tracked_run("toy/family", "third", tags=toy_tags("plan/entry")) as third:
        assert not third.resumed
    assert third.run_id != first.run_id


def test_a_resumed_run_restores_params_and_config_its_first_attempt_lost(store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracking.tracked_run("toy/family", "first", tags=toy_tags("plan/disk"), config=Config()) as first,
    ):
        raise KeyboardInterrupt
    run_dir = next(store.glob(f"*/{first.run_id}"))
    # what a full disk mid-start leaves: some params and no config artifact
    (run_dir / "params" / "inner.width").unlink()
    (run_dir / "artifacts" / "config.json").unlink()
    with tracking.tracked_run("toy/family", "again", tags=toy_tags("plan/disk"), config=Config()) as second:
        assert second.resumed
    assert mlflow.get_run(first.run_id).data.params == {"lr": "0.1", "inner.width": "4", "inner.ops": '["a", "b"]'}
    assert mlflow.artifacts.load_dict(f"runs:/{first.run_id}/config.json")["lr"] == 0.1


def test_a_resumed_run_does_not_log_a_step_it_already_holds(store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracking.tracked_run("toy/family", "first", tags=toy_tags("plan/steps")) as first,
    ):
        first.metrics({"train/loss": 2.0}, step=1)
        first.metrics({"train/loss": 1.5}, step=2)
        raise KeyboardInterrupt
    with tracking.tracked_run("toy/family", "again", tags=toy_tags("plan/steps")) as second:
        second.metrics({"train/loss": 1.5, "valid/loss": 1.7}, step=2)  # epoch 2 retrained from epoch 1's checkpoint
        second.metrics({"train/loss": 1.0}, step=3)
    assert tracking.metric_history(first.run_id, "train/loss") == [(1, 2.0), (2, 1.5), (3, 1.0)]
    assert tracking.metric_history(first.run_id, "valid/loss") == [(2, 1.7)]


def test_store_paths_are_relative_to_the_repo_folder_after_export(store):
    from randnas.record import export_record

    with tracking.tracked_run("toy/family", "r", tags=toy_tags()) as run:
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
    with tracking.tracked_run("toy/family", "portable", tags=toy_tags(), config=Config()) as run:
        run.json({"kept": True}, "result.json")  # a run with no metrics leaves metrics/ empty
    tracking.make_portable(store)  # `randnas record export`, before the record is committed
    clone = tmp_path / "elsewhere" / "clone"
    copy_as_git_would(store, clone / "mlruns")
    shutil.rmtree(store)  # nothing may still point at the original
    assert not any(p.name == "metrics" for p in (clone / "mlruns").rglob("*"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(clone / "mlruns")  # anywhere inside the clone
    (clone / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    table = tracking.runs_table()
    assert table["run_id"].tolist() == [run.run_id]
    assert table["status"].tolist() == ["FINISHED"]
    assert tracking.load_json_artifact(run.run_id, "result.json") == {"kept": True}
    assert mlflow.get_run(run.run_id).data.params["lr"] == "0.1"
    assert Path.cwd() == clone / "mlruns"  # read without moving this process's working directory


def test_a_portable_store_is_read_and_written_from_any_working_directory(store, tmp_path, monkeypatch):
    """Repo-relative artifact paths are resolved against the store's folder, never the working directory:
    no `os.chdir` in randnas, and nothing written where the process happens to be."""
    with tracking.tracked_run("toy/family", "first", tags=toy_tags(), config=Config()) as run:
        run.json({"kept": True}, "result.json")
    assert tracking.make_portable(store) == 2  # the experiment's meta.yaml and the run's
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert tracking.load_json_artifact(run.run_id, "result.json", store) == {"kept": True}
    assert tracking.artifact_exists(run.run_id, tracking.MANIFEST_ARTIFACT)
    folder = tmp_path / "events"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "a.jsonl").write_text("{}\n")
    with tracking.tracked_run("toy/family", "second", tags=toy_tags(seed=1), config=Config()) as second:
        second.json({"second": True}, "deep/result.json")
        second.artifact(folder, "logs")  # a folder keeps its name under the artifact path, as MLflow's
    with tempfile.TemporaryDirectory() as tmp:
        copy = tracking.download_artifact(second.run_id, "deep/result.json", Path(tmp) / "not-yet")
        assert copy == Path(tmp) / "not-yet" / "deep" / "result.json" and json.loads(copy.read_text()) == {
            "second": True
        }
        logs = tracking.download_artifact(second.run_id, "logs", Path(tmp))
        assert (logs / "events" / "inner" / "a.jsonl").read_text() == "{}\n"
    assert Path.cwd() == elsewhere and list(elsewhere.iterdir()) == []
    assert (
        store / mlflow.get_run(run.run_id).info.experiment_id / second.run_id / "artifacts" / "deep" / "result.json"
    ).is_file()


def test_make_portable_leaves_a_live_run_to_its_writer(tmp_path):
    store = tmp_path / "repo" / "mlruns"
    (store / "1" / "live").mkdir(parents=True)
    (store / "1" / "done").mkdir(parents=True)
    (store / "1" / "live" / "meta.yaml").write_text(f"artifact_uri: {store}/1/live/artifacts\nstatus: 1\n")
    (store / "1" / "done" / "meta.yaml").write_text(f"artifact_uri: {store}/1/done/artifacts\nstatus: 3\n")
    assert tracking.make_portable(store) == 1
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
    assert tracking.make_portable(store) == 2
    assert (store / "1" / "meta.yaml").read_text() == "artifact_location: mlruns/1\nname: x\n"
    assert (store / "1" / "abc" / "meta.yaml").read_text() == "artifact_uri: mlruns/1/abc/artifacts\n"
    assert (store / "2" / "meta.yaml").read_text() == "artifact_location: s3://bucket/2\n"
    assert (store / "3" / "meta.yaml").read_text() == "artifact_location: file:///other/place/3\n"


def test_tracking_server_uri_is_used_as_is(tmp_path, monkeypatch):
    import socket

    previous = mlflow.get_tracking_uri()
    monkeypatch.chdir(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))  # something that accepts connections, as a server would
    uri = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        assert tracking.open_store(uri) == uri
        assert mlflow.get_tracking_uri() == uri  # MLflow now talks to the server
        assert Path.cwd() == tmp_path and list(tmp_path.iterdir()) == []  # no folder made, no directory change
    finally:
        listener.close()
        mlflow.set_tracking_uri(previous)
    assert tracking.file_store_path("http://127.0.0.1:5999") is None
    assert tracking.file_store_path("file:///a/b") == Path("/a/b")


def test_mark_unfinished_ends_running_runs(store):
    tracking.open_store(store)
    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("toy/crashes")
    # what a process killed mid-run leaves behind: a run still RUNNING
    crashed = client.create_run(experiment_id, tags={tracking.TAG_PLAN_KEY: "plan/crash"})
    other = client.create_run(experiment_id, tags={tracking.TAG_PLAN_KEY: "plan/other"})
    assert tracking.mark_unfinished("plan/crash") == [crashed.info.run_id]
    assert mlflow.get_run(crashed.info.run_id).info.status == tracking.FAILED
    assert mlflow.get_run(other.info.run_id).info.status == tracking.RUNNING


def test_checkpoint_dir_is_outside_the_record_and_keyed_by_run(store, tmp_path):
    path = tracking.checkpoint_dir("abc123")
    assert path == tmp_path / "checkpoints" / "abc123" and path.is_dir()
    assert store not in path.parents


def test_opening_a_store_forgets_the_experiment_id_of_the_previous_one(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    with tracking.tracked_run("toy/first", "a", tags={}, store=tmp_path / "first" / "mlruns"):
        pass
    assert os.environ.get("MLFLOW_EXPERIMENT_ID")  # what mlflow.set_experiment leaves for subprocesses
    second = tmp_path / "second" / "mlruns"
    tracking.open_store(second)
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ
    with tracking.tracked_run("toy/second", "b", tags={}, store=second) as run:
        pass
    assert [r.info.run_id for r in tracking.find_runs("toy/second")] == [run.run_id]


def test_a_plan_key_with_a_quote_is_found_not_injected(store):
    tracking.open_store(store)
    key = "default/it's/smoke/seed-0@abc"
    with tracking.tracked_run("toy/family", "quoted", tags=toy_tags(key)) as run:
        pass
    assert [r.info.run_id for r in tracking.find_runs(plan_key=key)] == [run.run_id]
    assert tracking.find_runs(plan_key="x' or tags.`randnas.seed` != '") == []  # no clause smuggled in
    with pytest.raises(ValueError, match="both kinds of quote"):
        tracking.filter_literal("""a'b"c""")


def test_a_run_keeps_its_source_scripts_name_not_its_absolute_path(store):
    with tracking.tracked_run("toy/family", "source", tags=toy_tags()) as run:
        pass
    source = mlflow.get_run(run.run_id).data.tags.get(tracking.SOURCE_TAG, "")
    assert source and not source.startswith("/") and "/" not in source


def test_a_resumed_run_keeps_its_commit_and_records_the_resuming_one(store):
    started = {**toy_tags("plan/resume"), tracking.TAG_GIT_COMMIT: "aaaa", tracking.TAG_GIT_DIRTY: "false"}
    with pytest.raises(KeyboardInterrupt), tracking.tracked_run("toy/family", "first", tags=started):
        raise KeyboardInterrupt
    resuming = {**started, tracking.TAG_GIT_COMMIT: "bbbb", tracking.TAG_GIT_DIRTY: "true"}
    with tracking.tracked_run("toy/family", "again", tags=resuming) as run:
        assert run.resumed
    tags = mlflow.get_run(run.run_id).data.tags
    assert tags[tracking.TAG_GIT_COMMIT] == "aaaa" and tags[tracking.TAG_GIT_DIRTY] == "false"
    assert tags["randnas.resumed_at.git_commit"] == "bbbb" and tags["randnas.resumed_at.git_dirty"] == "true"


HOLD_LOCK = """
import sys, time
from randnas import tracking
with tracking.job_lock(sys.argv[1]):
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
    busy = pytest.raises(tracking.RunBusy, match=f"plan job {key} is being run by process {holder.pid} since")
    with busy, tracking.tracked_run("toy/family", "second", tags=toy_tags(key)):
        pass
    assert tracking.find_runs(plan_key=key) == []
    holder.kill()  # SIGKILL: the kernel releases the lock with the process
    holder.wait()
    with tracking.tracked_run("toy/family", "after", tags=toy_tags(key)) as run:
        pass
    assert mlflow.get_run(run.run_id).info.status == tracking.FINISHED


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
        cwd=Path(__file__).resolve().parents[1],
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

    tracking.open_store(store)
    time.sleep(max(0.0, start - time.time()))  # all processes ask at once
    tracking._set_experiment(name)
    return mlflow.get_experiment_by_name(name).experiment_id


def test_processes_opening_a_new_experiment_at_once_create_it_once(store):
    import multiprocessing
    import time

    start = time.time() + 3.0
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = pool.starmap(_open_experiment, [(str(store), "toy/race", start)] * 4)
    tracking.open_store(store)
    assert len(set(ids)) == 1
    assert [e.name for e in mlflow.MlflowClient().search_experiments()].count("toy/race") == 1


def test_every_experiment_is_declared_a_machine_learning_one_so_the_ui_opens_its_runs(store):
    with tracking.tracked_run("toy/kind", "r", tags=toy_tags("p/kind")):
        pass
    experiment = mlflow.get_experiment_by_name("toy/kind")
    assert experiment.tags[tracking.EXPERIMENT_KIND_TAG] == "custom_model_development"
    mlflow.MlflowClient().delete_experiment_tag(
        experiment.experiment_id, tracking.EXPERIMENT_KIND_TAG
    )  # an older record
    assert tracking.declare_experiment_kinds() == 1 and tracking.declare_experiment_kinds() == 0


def test_a_plan_runs_name_says_its_preset_entry_and_job_a_hand_run_keeps_its_own(store):
    with tracking.tracked_run(
        "toy/names", "seed0-r1", tags=toy_tags("default/cnn-rsws/cpu/seed-0_repeat-2@ab12")
    ) as run:
        pass
    assert mlflow.get_run(run.run_id).info.run_name == "cpu/cnn-rsws/seed-0_repeat-2"
    with tracking.tracked_run("toy/names", "seed0-r1", tags=toy_tags("")) as hand:
        pass
    assert mlflow.get_run(hand.run_id).info.run_name == "seed0-r1"


def test_a_run_lands_in_its_experiment_when_another_process_created_it_at_the_same_moment(store, monkeypatch):
    """MLflow's set_experiment, losing the race to create an experiment, returns it without activating it."""
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    tracking.open_store(store)
    mlflow.MlflowClient().create_experiment("toy/raced")  # the other process's
    lookup = TrackingServiceClient.get_experiment_by_name
    calls = []

    def not_there_yet(self, name):  # this process looked just before the other one created it
        calls.append(name)
        return None if len(calls) == 1 else lookup(self, name)

    monkeypatch.setattr(TrackingServiceClient, "get_experiment_by_name", not_there_yet)
    with tracking.tracked_run("toy/raced", "r", tags=toy_tags()) as run:
        pass
    assert (
        calls
        and mlflow.get_run(run.run_id).info.experiment_id == mlflow.get_experiment_by_name("toy/raced").experiment_id
    )
