"""Keeping the committed record portable and private: repo-relative artifact paths, no folder or login name of
the machine that made it, and runs from a tracking server copied into the committed file store.

Papermill writes the notebook's input and output paths (and the notebook's parameters, the data root among
them) into every executed copy; printed outputs can name the data root too. `scrub_notebook` turns those into
repo-relative paths and `<data root>`; `scrub_record` applies it, and the same to `data_root` params and config
artifacts, over `book/runs` and a file store. `export_record` is the one step (`randnas record export`, part of
`make book`) that does all of it after the runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from randnas.record.artifacts import artifact_folder
from randnas.record.store import check_reachable, ensure_store_layout, is_file_store, mlflow_module, open_store
from randnas.record.vocabulary import (
    ANONYMOUS_USER,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    FINISHED,
    PARENT_TAG,
    TAG_EXPORTED_FROM,
    USER_TAG,
    counted,
)
from randnas.record.writer import METRICS_PER_BATCH, PARAMS_PER_BATCH

_ABSOLUTE_LOCATION = re.compile(r"^(artifact_location|artifact_uri): (?:file://)?(/.*)$", re.MULTILINE)


RUNNING_STATUS_LINE = re.compile(r"^status: 1$", re.MULTILINE)  # RunStatus.RUNNING as the file store writes it


class RecordUnwritable(RuntimeError):
    """A file of the record could not be rewritten (a full disk, say); the old file is left as it was."""


def replace_text(path: Path, text: str) -> None:
    """Rewrite a file of the record so readers see the old file or the new one, never half of it; a failed write
    (a full disk) leaves the old file and no partial one."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RecordUnwritable(
            f"cannot rewrite {path} ({error.strerror or error}); it is unchanged: free space or fix permissions, "
            "then rerun"
        ) from None


def readable_text(path: Path) -> str | None:
    """A record file's text, or None when it is not UTF-8 or cannot be read: a file no command may rewrite, since
    rewriting it would erase the evidence (`record check` names it)."""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def make_portable(store: Path) -> int:
    """Rewrite absolute artifact paths inside `store` as paths relative to its parent folder.

    Returns how many meta.yaml files changed. Paths that point outside the store are left alone.
    """
    store = store.resolve()
    anchor = store.parent
    changed = 0
    for meta in store.rglob("meta.yaml"):
        text = readable_text(meta)
        if text is None:
            continue  # a damaged file is named by every reader (damaged_meta_files), not rewritten here

        def relative(match: re.Match) -> str:
            target = Path(unquote(match.group(2)))
            if store not in (target, *target.parents):
                return match.group(0)
            return f"{match.group(1)}: {target.relative_to(anchor).as_posix()}"

        if RUNNING_STATUS_LINE.search(text):
            continue  # a live run's writer still updates this file: made portable by the next export
        new_text = _ABSOLUTE_LOCATION.sub(relative, text)
        if new_text != text:
            replace_text(meta, new_text)
            changed += 1
    return changed


# ---- export: a tracking server's runs into the portable file store ---------------------------------


def _every_run(client: Any) -> list:
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    runs, token = [], None
    while experiment_ids:
        page = client.search_runs(experiment_ids, max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            break
    return runs


def copy_runs(source_uri: str, target: Path) -> int:
    """Copy every run the book uses (FINISHED and counted, with its child runs) from the store at `source_uri`
    (a tracking server, or another store) into the file store `target`: params, every metric value with its
    step and time, tags, artifacts, status and times. Each copy is tagged with its source run id, so copying
    again adds only new runs. Returns how many runs were copied."""
    from mlflow.entities import Metric, Param

    mlflow = mlflow_module()
    check_reachable(source_uri)
    source = mlflow.MlflowClient(tracking_uri=source_uri)
    target = target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    ensure_store_layout(target)
    target_uri = target.as_uri()
    destination = mlflow.MlflowClient(tracking_uri=target_uri)
    copied_as = {
        run.data.tags[TAG_EXPORTED_FROM]: run.info.run_id
        for run in _every_run(destination)
        if TAG_EXPORTED_FROM in run.data.tags
    }
    runs = _every_run(source)
    chosen = {
        run.info.run_id
        for run in runs
        if run.info.status == FINISHED and counted(run.data.tags) and PARENT_TAG not in run.data.tags
    }
    children = [run for run in runs if run.data.tags.get(PARENT_TAG) in chosen]
    copied = 0
    for run in [r for r in runs if r.info.run_id in chosen] + children:  # parents first: children name them
        if run.info.run_id in copied_as:
            continue
        name = source.get_experiment(run.info.experiment_id).name
        experiment = destination.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else destination.create_experiment(name, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
        )
        tags = {**run.data.tags, TAG_EXPORTED_FROM: run.info.run_id}
        if PARENT_TAG in tags:
            tags[PARENT_TAG] = copied_as[tags[PARENT_TAG]]
        new_id = destination.create_run(
            experiment_id, start_time=run.info.start_time, tags=tags, run_name=run.info.run_name
        ).info.run_id
        params = [Param(key, value) for key, value in run.data.params.items()]
        for start in range(0, len(params), PARAMS_PER_BATCH):
            destination.log_batch(new_id, params=params[start : start + PARAMS_PER_BATCH])
        metrics = [
            Metric(key, m.value, m.timestamp, m.step)
            for key in run.data.metrics
            for m in source.get_metric_history(run.info.run_id, key)
        ]
        for start in range(0, len(metrics), METRICS_PER_BATCH):
            destination.log_batch(new_id, metrics=metrics[start : start + METRICS_PER_BATCH])
        if source.list_artifacts(run.info.run_id):
            with tempfile.TemporaryDirectory() as tmp:
                fetched = mlflow.artifacts.download_artifacts(
                    run_id=run.info.run_id, dst_path=tmp, tracking_uri=source_uri
                )
                shutil.copytree(fetched, artifact_folder(open_store(target), new_id), dirs_exist_ok=True)
        destination.set_terminated(new_id, run.info.status, end_time=run.info.end_time)
        copied_as[run.info.run_id] = new_id
        copied += 1
    return copied


# ---- scrubbing: no machine's folders or login names in the record ----------------------------------


DATA_ROOT_WORDS = "<data root>"
PRIVATE_PREFIXES = ("/tmp/", "/home/", "/root/", "/work/", "/Users/", "/private/", "/var/folders/")


def _replace_all(text: str, replacements: Mapping[str, str]) -> str:
    # longest first: a data root inside the repository is named as the data root, not as a repo path
    for old in sorted((k for k in replacements if k), key=len, reverse=True):
        text = text.replace(old, replacements[old])
    return text


def notebook_replacements(notebook: dict, repo_root: str | Path | None = None) -> dict[str, str]:
    """The absolute paths one executed notebook carries, each with what it becomes."""
    papermill = notebook.get("metadata", {}).get("papermill", {})
    replacements: dict[str, str] = {}
    data_root = str(papermill.get("parameters", {}).get("data_root", "") or "")
    if data_root.startswith("/"):
        replacements[data_root.rstrip("/")] = DATA_ROOT_WORDS
    input_path = str(papermill.get("input_path", "") or "")
    if input_path.startswith("/") and "/notebooks/" in input_path:
        replacements[input_path.split("/notebooks/")[0] + "/"] = ""  # the repo it ran in -> repo-relative paths
    if repo_root:
        replacements[str(Path(repo_root).resolve()) + "/"] = ""
    output_path = str(papermill.get("output_path", "") or "")
    if output_path.startswith("/"):
        replacements[output_path] = Path(output_path).name  # papermill's temporary file: its name is what stays
    return replacements


def scrub_notebook(path: Path, repo_root: str | Path | None = None, output: str | None = None) -> bool:
    """Rewrite one executed notebook without the recording machine's paths; True when it changed."""
    text = readable_text(path)
    try:
        notebook = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        notebook = None
    if not isinstance(notebook, dict):
        return False  # damaged: left as it is for `record check` to name, never rewritten
    replacements = notebook_replacements(notebook, repo_root)
    papermill = notebook.get("metadata", {}).get("papermill", {})
    if output and papermill.get("output_path"):
        replacements[papermill["output_path"]] = output
    new_text = _replace_all(text, replacements)
    if new_text == text:
        return False
    json.loads(new_text)  # still a notebook
    replace_text(path, new_text)
    return True


def _scrub_data_root_param(run: Path) -> bool:
    changed = False
    param = run / "params" / "data_root"
    if param.is_file() and (readable_text(param) or "").startswith("/"):
        replace_text(param, DATA_ROOT_WORDS)
        changed = True
    config = run / "artifacts" / "config.json"
    text = readable_text(config) if config.is_file() else None
    try:
        data = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        data = None  # damaged: `record check` names it; never rewritten
    if isinstance(data, dict) and str(data.get("data_root", "")).startswith("/"):
        data["data_root"] = DATA_ROOT_WORDS
        replace_text(config, json.dumps(data))
        changed = True
    return changed


_USER_LINE = re.compile(r"^user_id: (.*)$", re.MULTILINE)


def _scrub_user(run: Path) -> int:
    """The login name MLflow recorded for a run (meta.yaml's user_id, the mlflow.user tag) -> MLflow's 'unknown'.
    A live run's meta.yaml is left to its writer (the next scrub takes it)."""
    changed = 0
    meta = run / "meta.yaml"
    text = readable_text(meta)
    if text is None or RUNNING_STATUS_LINE.search(text):
        return 0  # damaged (named by `record check`, never rewritten) or live (its writer still owns it)
    new_text = _USER_LINE.sub(f"user_id: {ANONYMOUS_USER}", text)
    if new_text != text:
        replace_text(meta, new_text)
        changed += 1
    tag = run / "tags" / USER_TAG
    if tag.is_file() and readable_text(tag) not in (None, ANONYMOUS_USER):
        replace_text(tag, ANONYMOUS_USER)
        changed += 1
    return changed


def scrub_record(repo_root: Path, store: Path) -> int:
    """Scrub every executed notebook under `book/runs` and the store's artifacts, and data-root params; returns the
    number of files changed."""
    from randnas.record.integrity import run_problems
    from randnas.record.manifest import refresh_manifest

    changed = 0
    for notebook in sorted((repo_root / "book" / "runs").rglob("*.ipynb")):
        changed += scrub_notebook(notebook, repo_root, output=notebook.relative_to(repo_root).as_posix())
    for run in sorted(store.glob("*/*/")):
        if not (run / "meta.yaml").is_file():
            continue
        whole = not run_problems(run)  # before the scrub: a damaged run's manifest is never refreshed
        content = sum(scrub_notebook(path, repo_root) for path in sorted(run.glob("artifacts/notebook/*.ipynb")))
        content += _scrub_data_root_param(run)
        if content and whole:
            refresh_manifest(run)  # the scrub changed what the run logged on purpose; its digests follow
        changed += content + _scrub_user(run)
    return changed


def export_record(repo_root: Path, store: Path, source_uri: str | None = None) -> tuple[int, int, int]:
    """Make `store` the portable committed record: copy into it the runs the book uses from `source_uri` (a
    tracking server, when one is given), write its artifact paths relative to the repo, and scrub the
    recording machine's paths. Returns (runs copied, meta.yaml files made portable, files scrubbed).

    One step after the runs, not a rewrite after each: a live run's meta.yaml is left to the next export."""
    if store.exists() and any(store.iterdir()) and not is_file_store(store):
        # export rewrites files: never in a folder that is not a store (a mistyped --store, say)
        raise RecordUnwritable(
            f"{store} is not an MLflow file store (no experiment folder with a meta.yaml); "
            "give --store the record's folder, e.g. mlruns"
        )
    copied = copy_runs(source_uri, store) if source_uri else 0
    if not store.is_dir():
        raise FileNotFoundError(f"no file store at {store}; give --store, or --from a tracking server to copy from")
    return copied, make_portable(store), scrub_record(repo_root, store)


def private_paths(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Every (file, line) of `paths` that names a machine-specific absolute folder."""
    for path in paths:
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for line in text.splitlines():
            if any(
                f'"{prefix}' in line or line.startswith(prefix) or f" {prefix}" in line or f"'{prefix}" in line
                for prefix in PRIVATE_PREFIXES
            ):
                yield path, line.strip()[:200]
