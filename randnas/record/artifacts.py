"""A run's artifacts: where a file store keeps them (resolved against the store's folder, never the working
directory), and reading, writing and downloading them whatever the store."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from randnas.record.store import Store, get_run, mlflow_module


def artifact_folder(store: Store, run_id: str) -> Path | None:
    """Where a run's artifacts lie in a file store (None for a tracking server or remote artifacts).

    A relative artifact path, as the committed record keeps them, is relative to the folder that holds the
    store (the repo root), whatever this process's working directory is."""
    if store.folder is None:
        return None
    uri = get_run(store, run_id).info.artifact_uri
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme:
        return None
    path = Path(uri)
    return path if path.is_absolute() else store.folder.parent / path


def artifact_exists(store: Store, run_id: str, artifact_file: str) -> bool:
    local = artifact_folder(store, run_id)
    if local is not None:
        return (local / artifact_file).is_file()
    folder, _, name = artifact_file.rpartition("/")
    return any(Path(entry.path).name == name for entry in store.client().list_artifacts(run_id, folder or None))


def log_artifact(store: Store, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
    """Store the file or folder `path` among the run's artifacts, under `artifact_path` by its own name; a file
    store's copy of a file appears whole or not at all."""
    path = Path(path)
    local = artifact_folder(store, run_id)
    if local is None:
        client = store.client()
        if path.is_dir():
            client.log_artifacts(run_id, str(path), artifact_path="/".join(filter(None, (artifact_path, path.name))))
        else:
            client.log_artifact(run_id, str(path), artifact_path=artifact_path)
        return
    target = local / (artifact_path or "") / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, target, dirs_exist_ok=True)
        return
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(path, partial)
    os.replace(partial, target)


def log_json(store: Store, run_id: str, obj: Any, artifact_file: str) -> None:
    folder, _, name = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_text(json.dumps(obj, indent=2), encoding="utf-8")
        log_artifact(store, run_id, Path(tmp) / name, folder or None)


def download_artifact(store: Store, run_id: str, artifact_path: str, destination: Path) -> Path:
    """A copy of the run's artifact file or folder `artifact_path` at `destination / artifact_path` (as MLflow's
    download)."""
    local = artifact_folder(store, run_id)
    if local is None:
        return Path(
            mlflow_module().artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_path, dst_path=str(destination), tracking_uri=store.uri
            )
        )
    source, target = local / artifact_path, Path(destination) / artifact_path
    if not source.exists():
        raise FileNotFoundError(f"run {run_id} has no artifact {artifact_path!r} (looked in {source})")
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)
    return target


def read_text(store: Store, run_id: str, artifact_file: str) -> str:
    """The text of one artifact file of a run."""
    local = artifact_folder(store, run_id)
    if local is not None:
        return (local / artifact_file).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        return download_artifact(store, run_id, artifact_file, Path(tmp)).read_text(encoding="utf-8")


def load_json(store: Store, run_id: str, artifact_file: str) -> Any:
    """A JSON artifact of a run."""
    return json.loads(read_text(store, run_id, artifact_file))
