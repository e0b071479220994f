"""The committed record names no folder of the machine that made it (the scrub that ensures it is exact), and
reads back whole (the integrity check, and the book stopping on a damaged run)."""

from __future__ import annotations

import json

import pytest

from randnas.experiments.catalog import load_record
from randnas.record import vocabulary as v
from randnas.record.integrity import RecordDamaged, check_store
from randnas.record.portable import DATA_ROOT_WORDS, export_record, private_paths, scrub_notebook
from randnas.record.store import find_runs, open_store
from randnas.record.writer import run_tags, tracked_run
from tests.conftest import REPO


def _executed(repo: str, data_root: str) -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["injected-parameters"]},
                "execution_count": 1,
                "source": f'data_root = "{data_root}"\n',
                "outputs": [],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 2,
                "source": "print(bench.source)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": f"from {data_root}/nb201/x.csv\n"}],
            },
        ],
        "metadata": {
            "papermill": {
                "input_path": f"{repo}/notebooks/n.ipynb",
                "output_path": "/tmp/tmpab12/seed-0.ipynb",
                "parameters": {"data_root": data_root, "seed": 0},
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_scrub_makes_paths_repo_relative_and_names_the_data_root(tmp_path):
    path = tmp_path / "seed-0.ipynb"
    path.write_text(json.dumps(_executed("/tmp/runner7", "/srv/data/nas")))
    assert scrub_notebook(path, output="book/runs/cpu/x/seed-0.ipynb")
    notebook = json.loads(path.read_text())
    papermill = notebook["metadata"]["papermill"]
    assert papermill["input_path"] == "notebooks/n.ipynb" and papermill["output_path"] == "book/runs/cpu/x/seed-0.ipynb"
    assert papermill["parameters"]["data_root"] == DATA_ROOT_WORDS and papermill["parameters"]["seed"] == 0
    assert f"from {DATA_ROOT_WORDS}/nb201/x.csv" in notebook["cells"][1]["outputs"][0]["text"]
    assert "/tmp/" not in path.read_text() and "/srv/" not in path.read_text()
    assert not scrub_notebook(path)  # nothing left to change


def test_a_notebook_without_absolute_paths_is_left_alone(tmp_path):
    path = tmp_path / "n.ipynb"
    notebook = _executed("notebooks/..", "")
    notebook["metadata"]["papermill"]["output_path"] = "book/runs/cpu/x/n.ipynb"
    text = json.dumps(notebook)
    path.write_text(text)
    assert not scrub_notebook(path) and path.read_text() == text


def test_the_committed_record_and_book_runs_name_no_machine_folder():
    files = [
        p
        for folder in (REPO / "mlruns", REPO / "book" / "runs")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in ("", ".ipynb", ".json", ".yaml", ".jsonl")
    ]
    assert len(files) > 100
    found = list(private_paths(files))
    assert not found, f"{len(found)} lines name a machine folder, e.g. {found[:3]}; run `randnas record scrub`"


def test_private_paths_finds_them(tmp_path):
    (tmp_path / "a.json").write_text('{"input_path": "/home/me/randnas/notebooks/x.ipynb"}')
    (tmp_path / "b.json").write_text('{"input_path": "notebooks/x.ipynb"}')
    assert [p.name for p, _ in private_paths(sorted(tmp_path.iterdir()))] == ["a.json"]


def test_the_committed_record_names_no_user():
    users = {
        line
        for meta in (REPO / "mlruns").glob("*/*/meta.yaml")
        for line in meta.read_text().splitlines()
        if line.startswith("user_id:")
    }
    tags = {tag.read_text() for tag in (REPO / "mlruns").glob("*/*/tags/mlflow.user")}
    assert users == {"user_id: unknown"} and tags <= {"unknown"}, "run `randnas record export`"


def test_runs_name_no_user_and_export_scrubs_an_older_record(store):
    with tracked_run("toy/user", "a", tags={v.TAG_PLAN_KEY: "p/user"}) as run:
        run.metrics({"loss": 1.0}, step=1)
    folder = next(store.glob(f"*/{run.run_id}"))
    assert "user_id: unknown" in (folder / "meta.yaml").read_text()
    assert (folder / "tags" / "mlflow.user").read_text() == "unknown"
    # a record made before: the login name in both places
    (folder / "meta.yaml").write_text((folder / "meta.yaml").read_text().replace("user_id: unknown", "user_id: alice"))
    (folder / "tags" / "mlflow.user").write_text("alice")
    export_record(store.parent, store)
    assert (
        "alice" not in (folder / "meta.yaml").read_text() and (folder / "tags" / "mlflow.user").read_text() == "unknown"
    )
    assert find_runs(open_store(), "toy/user")[0].info.status == v.FINISHED


def test_export_never_rewrites_a_file_it_cannot_read(store):
    with tracked_run("toy/undecodable", "a", tags={v.TAG_PLAN_KEY: "p/undecodable"}) as run:
        run.metrics({"loss": 1.0}, step=1)
    folder = next(store.glob(f"*/{run.run_id}"))
    damaged = (folder / "meta.yaml").read_bytes().replace(b"user_id: unknown", b"user_id: \xff\xfealice")
    (folder / "meta.yaml").write_bytes(damaged)
    (folder / "tags" / "mlflow.user").write_bytes(b"\xffbob")
    (folder / "artifacts").mkdir(exist_ok=True)
    (folder / "artifacts" / "config.json").write_text('{"data_root": "/home/x/da')  # truncated
    export_record(store.parent, store)
    assert (folder / "meta.yaml").read_bytes() == damaged  # the evidence kept for `record check` to name
    assert (folder / "tags" / "mlflow.user").read_bytes() == b"\xffbob"
    assert (folder / "artifacts" / "config.json").read_text() == '{"data_root": "/home/x/da'


def test_export_refuses_a_folder_that_is_not_a_store(tmp_path):
    from randnas.cli import main

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "meta.yaml").write_text("user_id: alice\n")  # a file export would rewrite, were it a store
    assert main(["record", "export", "--store", str(folder)]) == 2
    assert (folder / "meta.yaml").read_text() == "user_id: alice\n"


def test_a_full_disk_during_export_leaves_the_old_file_and_no_partial_one(store, monkeypatch):
    import pathlib

    from randnas.cli import main

    with tracked_run("toy/full", "a", tags={v.TAG_PLAN_KEY: "p/full"}) as run:
        run.metrics({"loss": 1.0}, step=1)
    folder = next(store.glob(f"*/{run.run_id}"))
    (folder / "tags" / "mlflow.user").write_text("alice")
    real_write = pathlib.Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.name.endswith(".partial"):
            real_write(self, "al")
            raise OSError(28, "No space left on device")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    assert main(["record", "export", "--store", str(store)]) == 2
    assert (folder / "tags" / "mlflow.user").read_text() == "alice"
    assert not list(store.rglob("*.partial"))


def test_the_committed_record_reads_back_whole():
    runs, problems = check_store(REPO / "mlruns")
    assert runs > 0 and problems == []


def test_record_check_names_each_damaged_file(store, capsys):
    from randnas.cli import main

    tags = {v.TAG_PLAN_KEY: "p/check"}
    with tracked_run("toy/check", "a", tags=tags) as first:
        first.metrics({"loss": 1.0}, step=1)
    with tracked_run("toy/check", "b", tags={}) as second:
        second.metrics({"loss": 2.0}, step=1)
    assert main(["record", "check", "--store", str(store)]) == 0
    run_a, run_b = (next(store.glob(f"*/{run.run_id}")) for run in (first, second))
    (run_a / "meta.yaml").write_text("")  # a full disk while MLflow rewrote it
    (run_b / "metrics" / "loss").write_text("1700000000000 2.0 1\nnot a metric line\n")
    (run_a.parent / "meta.yaml").write_bytes(b"name: \xff\xfe\n")  # not UTF-8
    assert main(["record", "check", "--store", str(store)]) == 1
    out = capsys.readouterr()
    assert f"damaged: {run_a / 'meta.yaml'}: empty or not a mapping" in out.out
    assert f"damaged: {run_b / 'metrics' / 'loss'}: line 2 is not 'timestamp value step'" in out.out
    assert f"damaged: {run_a.parent / 'meta.yaml'}: not readable as YAML (UnicodeDecodeError)" in out.out
    assert "3 damaged file(s)" in out.err and "git checkout -- FILE" in out.err


def test_the_book_stops_on_a_damaged_run_it_would_render_naming_the_file(store):
    from types import SimpleNamespace

    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    tags = run_tags(seed=0, preset="smoke", benchmark="toy", datasets=[toy], plan_key="p/book")
    with tracked_run("toy/book", "a", tags=tags, config={"epochs": 2}) as run:
        run.metrics({"test/error": 5.0}, step=1)
        run.metrics({"test/error": 4.0}, step=2)
    assert len(load_record(store)) == 1
    metric = next(store.glob(f"*/{run.run_id}/metrics/test/error"))
    metric.write_text(metric.read_text().splitlines()[0] + "\n")  # cut short: the mean would change silently
    with pytest.raises(
        RecordDamaged, match=r"1 damaged file\(s\) in runs the book uses: .*test/error: fewer values than the 2"
    ):
        load_record(store)
    param = next(store.glob(f"*/{run.run_id}/params/epochs"))
    metric.unlink()
    param.unlink()
    with pytest.raises(
        RecordDamaged,
        match=r"2 damaged file\(s\).*missing \(the run logged metric 'test/error'\).*"
        r"missing \(the run logged param 'epochs'\)",
    ):
        load_record(store)


@pytest.mark.parametrize("damage", ["run-empty", "run-bytes", "experiment-empty", "experiment-bytes"])
def test_a_damaged_meta_yaml_stops_nothing_unrelated_and_the_book_names_it(store, damage, capsys):
    from types import SimpleNamespace

    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)

    def log(experiment, key):
        tags = run_tags(seed=0, preset="smoke", benchmark="toy", datasets=[toy], plan_key=key)
        with tracked_run(experiment, "r", tags=tags) as run:
            run.metrics({"m": 1.0}, step=1)
        return run.run_id

    damaged_run, other = log("toy/a", "p/a"), log("toy/b", "p/b")
    folder = next(store.glob(f"*/{damaged_run}"))
    meta = folder / "meta.yaml" if damage.startswith("run") else folder.parent / "meta.yaml"
    meta.write_bytes(b"" if damage.endswith("empty") else b"name: \xff\xfe\n")
    # unrelated reads and writes go on, each naming the damaged file once
    assert [run.info.run_id for run in find_runs(open_store(), "toy/b")] == [other]
    assert damaged_run not in {run.info.run_id for run in find_runs(open_store())}
    assert log("toy/b", "p/b2") in {run.info.run_id for run in find_runs(open_store(), "toy/b")}
    assert f"skipping {meta}" in capsys.readouterr().err
    # the book, which renders every run, stops with the file's name
    with pytest.raises(RecordDamaged, match=f"{meta}: "):
        load_record(store)
