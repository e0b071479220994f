"""Where the record lives and how it is read: the only module besides the record package's writer that talks
to MLflow.

A `Store` names one MLflow store (a folder, a file URI or a tracking server's URI) and is passed to every
function that reads or writes it: nothing here sets MLflow's process-wide tracking URI or active run.

The committed `mlruns/` is a file store whose artifact paths are relative to the folder that holds it (the
repo root), so it works from any clone. MLflow would resolve such paths against the working directory;
randnas never changes that directory, so every artifact of a file store is read and written here at a path
resolved explicitly (`artifact_folder`). New runs get absolute paths; `randnas record export` (part of
`make book`) makes the record portable again, once, after the runs.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from randnas.record.vocabulary import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    FINISHED,
    NOTE_TAG,
    PARENT_TAG,
    RUNNING,
    TAG_ADOPTED,
    TAG_PLAN_KEY,
)

STORE_ENV = "MLFLOW_TRACKING_URI"  # MLflow's own setting: the store used when none is given
RUN_FOLDERS = ("metrics", "params", "artifacts", "tags")
EXPERIMENT_FOLDERS = ("tags",)
REACH_TIMEOUT_S = 5.0
# every call to a tracking server: at most 10 s, tried twice, so a server that dies or hangs mid-job stops the job
# within a minute (MLflow's defaults, 120 s and 7 retries with doubling back-off, wait many minutes); a team's
# slower server sets these variables itself
SERVER_CALL_LIMITS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}


def mlflow_module():
    """MLflow, imported on first use (it is slow to import) and set up for the file store."""
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow >= 3.13 refuses ./mlruns without it
    # keep notebook outputs readable: no download progress bars, no "creating experiment" notices
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name, value in SERVER_CALL_LIMITS.items():  # inherited by the notebook kernels a plan starts
        os.environ.setdefault(name, value)
    warnings.filterwarnings("ignore", message="IProgress not found")
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return mlflow


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding the book's `_toc.yml`, else `start` itself."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return here


def file_store_path(uri: str) -> Path | None:
    """The folder of a file-store URI or plain path; None for a tracking server."""
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https", "databricks", "sqlite", "postgresql", "mysql", "mssql"):
        return None
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(uri)


def default_location() -> str:
    """$MLFLOW_TRACKING_URI if set, else the project's `mlruns/`."""
    return os.environ.get(STORE_ENV) or str(find_project_root() / "mlruns")


@dataclass(frozen=True)
class Store:
    """One MLflow store, opened (`open_store`): its tracking URI, and for a file store its folder."""

    uri: str
    folder: Path | None = field(default=None, compare=False)

    def client(self):
        return _client(self.uri)

    @property
    def project_root(self) -> Path:
        """The folder whose `checkpoints/` and `book/` belong with this store: the project holding a file store,
        else the project of the working directory."""
        return find_project_root(self.folder.parent if self.folder is not None else None)


@functools.lru_cache(maxsize=16)
def _client(uri: str):
    return mlflow_module().MlflowClient(tracking_uri=uri)


class StoreUnreachable(RuntimeError):
    """A tracking server that does not answer: said at once, not after MLflow's minutes of retries."""


def check_reachable(uri: str) -> None:
    """Raise StoreUnreachable unless an http(s) tracking server answers an HTTP request within a few seconds (a
    server that accepts connections and never answers is as gone as one that refuses them)."""
    import urllib.error
    import urllib.request

    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return  # a database URI is opened by MLflow itself
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=REACH_TIMEOUT_S):
            pass
    except urllib.error.HTTPError:
        return  # it answered (a proxy in front may not serve /health): it is there
    except (OSError, ValueError) as error:
        cause = getattr(error, "reason", error)  # urllib wraps the socket's error
        reason = getattr(cause, "strerror", None) or str(cause) or type(error).__name__
        if isinstance(error, TimeoutError) or "timed out" in str(reason):
            reason = f"no answer within {REACH_TIMEOUT_S:g} s"
        raise StoreUnreachable(
            f"cannot reach the tracking server {uri} ({reason}); start it (`make ui`, or "
            f"`mlflow server` on that address) or unset {STORE_ENV} to use ./mlruns"
        ) from None


def open_store(location: str | Path | Store | None = None) -> Store:
    """The store at `location` (a folder, a file URI, a server URI; default: `default_location()`), checked
    and made usable: a server must answer; a file store gets the empty folders git drops."""
    if isinstance(location, Store):
        return location
    uri = str(location) if location else default_location()
    folder = file_store_path(uri)
    if folder is None:
        check_reachable(uri)
        mlflow_module()
        return Store(uri)
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    ensure_store_layout(folder)
    mlflow_module()
    return Store(folder.as_uri(), folder)


def _experiment_dirs(store: Path) -> Iterator[Path]:
    for child in sorted(store.iterdir()):
        if child.is_dir() and (child / "meta.yaml").is_file():
            yield child
    trash = store / ".trash"
    if trash.is_dir():
        yield from (child for child in sorted(trash.iterdir()) if (child / "meta.yaml").is_file())


def _run_dirs(experiment: Path) -> Iterator[Path]:
    for child in sorted(experiment.iterdir()):
        if (
            child.is_dir()
            and child.name not in ("tags", "models", "datasets", "traces")
            and (child / "meta.yaml").is_file()
        ):
            yield child


def is_file_store(folder: Path) -> bool:
    """Whether `folder` holds an MLflow file store (an experiment folder with its meta.yaml, or MLflow's .trash):
    the test before any command rewrites files in a folder it was pointed at."""
    return folder.is_dir() and ((folder / ".trash").is_dir() or next(_experiment_dirs(folder), None) is not None)


def ensure_store_layout(store: Path) -> None:
    """Recreate the empty folders MLflow's file store expects and git does not keep."""
    (store / ".trash").mkdir(exist_ok=True)
    for experiment in _experiment_dirs(store):
        for name in EXPERIMENT_FOLDERS:
            (experiment / name).mkdir(exist_ok=True)
        for run in _run_dirs(experiment):
            for name in RUN_FOLDERS:
                (run / name).mkdir(exist_ok=True)


# ---- damaged files: skipped with a warning, never a stop for what they do not touch --------------------

_WARNED: set[Path] = set()  # a damaged file is named once per process


def _meta_damage(meta: Path, key: str) -> str:
    """Why MLflow could not read this meta.yaml ("" if it can): a cheap check, run on every read of the record."""
    try:
        text = meta.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    except OSError as error:
        return error.strerror or "unreadable"
    return "" if f"{key}:" in text else "empty or cut short"


def damaged_meta_files(folder: Path) -> dict[Path, str]:
    """Every experiment and run meta.yaml of a file store MLflow could not read, with why."""
    damaged = {}
    for experiment in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (experiment / "meta.yaml").is_file():
            continue
        if problem := _meta_damage(experiment / "meta.yaml", "experiment_id"):
            damaged[experiment / "meta.yaml"] = problem
            continue
        for run in experiment.iterdir():
            if (
                run.is_dir()
                and (run / "meta.yaml").is_file()
                and (problem := _meta_damage(run / "meta.yaml", "run_id"))
            ):
                damaged[run / "meta.yaml"] = problem
    for path, problem in damaged.items():
        if path not in _WARNED:
            _WARNED.add(path)
            print(
                f"randnas: warning: skipping {path} ({problem}); restore it with `git checkout -- {path}` or delete "
                "its folder (`randnas record check` lists every damaged file)",
                file=sys.stderr,
            )
    return damaged


def _damage(store: Store) -> dict[Path, str]:
    if store.folder is None or not store.folder.is_dir():
        return {}
    return damaged_meta_files(store.folder)


class RecordUnreadable(RuntimeError):
    """A damaged file of the record (an experiment meta.yaml, a param or tag file) keeps MLflow from using it."""


# ---- experiments -----------------------------------------------------------------------------------


def experiment_names(store: Store) -> dict[str, str]:
    """Experiment id -> name, leaving out an experiment whose meta.yaml is damaged."""
    damaged = _damage(store)
    client = store.client()
    if not damaged:
        return {e.experiment_id: e.name for e in client.search_experiments()}
    names = {}
    for meta in sorted(store.folder.glob("*/meta.yaml")):
        if meta not in damaged and not meta.parent.name.startswith("."):
            experiment = client.get_experiment(meta.parent.name)
            if experiment.lifecycle_stage == "active":
                names[experiment.experiment_id] = experiment.name
    return names


def open_experiment(store: Store, name: str) -> str:
    """The id of experiment `name`, created if new (past a damaged meta.yaml of another experiment where it can
    be), declared a machine-learning one so the MLflow UI opens it on its runs."""
    from mlflow.exceptions import MlflowException

    client = store.client()
    experiment_id = _find_or_create_experiment(store, name)
    if client.get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
        try:
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        except MlflowException:
            # a parallel job declared it first: a tracking server's database refuses the second insert
            if client.get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
                raise
    return experiment_id


def _find_or_create_experiment(store: Store, name: str) -> str:
    from mlflow.exceptions import MlflowException

    from randnas.record.locks import experiment_lock

    client = store.client()
    damaged = _damage(store)
    if damaged:
        found = [i for i, known in experiment_names(store).items() if known == name]
        if found:
            return found[0]
        unreadable = [path for path in damaged if path.parent.parent == store.folder]
        if unreadable:
            raise RecordUnreadable(
                f"cannot create experiment {name!r} while {unreadable[0]} is damaged ({damaged[unreadable[0]]}): "
                f"restore it with `git checkout -- {unreadable[0]}` or delete its folder"
            )
    # MLflow checks the name, then creates: two processes starting jobs of a new experiment at once (parallel
    # plan jobs) would both create it. A file store: one at a time per store; a server refuses the second.
    with experiment_lock(store):
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage != "active":
                raise RecordUnreadable(
                    f"experiment {name!r} is deleted in {store.uri}; restore it in the MLflow UI "
                    "(or `mlflow experiments restore`) before logging into it"
                )
            return experiment.experiment_id
        try:
            return client.create_experiment(name, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
        except MlflowException:
            experiment = client.get_experiment_by_name(name)  # created by a parallel job at that moment
            if experiment is None:
                raise
            return experiment.experiment_id


def declare_experiment_kinds(store: Store) -> int:
    """Declare every experiment a machine-learning one (records made before randnas did it); how many changed."""
    client = store.client()
    changed = 0
    for experiment_id in experiment_names(store):
        if client.get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
            changed += 1
    return changed


# ---- finding runs ----------------------------------------------------------------------------------


def filter_literal(value: str) -> str:
    """A string as a literal of MLflow's search filter: quoted, never able to close the quote itself."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"{value!r} holds both kinds of quote, which an MLflow search filter cannot express; rename it")


def _tolerant_runs(
    store: Store, damaged: Mapping[Path, str], experiment_ids: Sequence[str], plan_key: str | None, status: str | None
) -> list:
    """find_runs where some meta.yaml is damaged: the readable runs one by one, filtered and ordered alike."""
    client = store.client()
    runs = []
    for experiment_id in experiment_ids:
        for folder in (store.folder / experiment_id).iterdir():
            meta = folder / "meta.yaml"
            if not meta.is_file() or meta in damaged or folder.name in ("tags", "datasets", "traces", "models"):
                continue
            run = client.get_run(folder.name)
            if run.info.lifecycle_stage != "active" or (status is not None and run.info.status != status):
                continue
            if plan_key is None or run.data.tags.get(TAG_PLAN_KEY) == plan_key:
                runs.append(run)
    return sorted(runs, key=lambda run: run.info.start_time or 0, reverse=True)


def find_runs(
    store: Store, experiment: str | None = None, *, plan_key: str | None = None, status: str | None = None
) -> list:
    """Runs newest first, optionally of one experiment, one plan job and one status. A damaged meta.yaml (an
    unreadable run or experiment) is skipped with a warning naming it, so it stops nothing else."""
    client = store.client()
    damaged = _damage(store)
    if damaged:
        ids = [i for i, name in experiment_names(store).items() if experiment is None or name == experiment]
        return _tolerant_runs(store, damaged, ids, plan_key, status)
    if experiment is None:
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
    else:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return []
        experiment_ids = [found.experiment_id]
    if not experiment_ids:
        return []
    clauses = []
    if plan_key is not None:
        clauses.append(f"tags.`{TAG_PLAN_KEY}` = {filter_literal(plan_key)}")
    if status is not None:
        clauses.append(f"attributes.status = {filter_literal(status)}")
    try:
        return list(
            client.search_runs(
                experiment_ids,
                filter_string=" and ".join(clauses),
                order_by=["attributes.start_time DESC"],
                max_results=50_000,
            )
        )
    except UnicodeDecodeError:  # MLflow's file store reads each param and tag file as text
        raise RecordUnreadable(
            f"a param, tag or metric file of {store.uri} is not UTF-8 text; `randnas record check` names it: "
            "restore it from git (git checkout -- FILE)"
        ) from None


@dataclass(frozen=True)
class StoredRun:
    """One run as the store holds it: what the experiments' readers parse into their rows."""

    run_id: str
    run_name: str
    experiment: str
    experiment_id: str
    status: str
    start_ms: int
    end_ms: int | None
    parent: str  # the parent run of a child run ("" for a top-level run)
    tags: Mapping[str, str]
    params: Mapping[str, str]
    metrics: Mapping[str, float]  # each metric's last value

    @property
    def hours(self) -> float:
        return ((self.end_ms or self.start_ms) - self.start_ms) / 3_600_000.0


def stored_runs(store: Store, experiment: str | None = None, *, status: str | None = None) -> list[StoredRun]:
    """Every run (of one experiment, of one status), newest first."""
    names = experiment_names(store)
    return [
        StoredRun(
            run_id=run.info.run_id,
            run_name=run.info.run_name,
            experiment=names.get(run.info.experiment_id, run.info.experiment_id),
            experiment_id=run.info.experiment_id,
            status=run.info.status,
            start_ms=run.info.start_time or 0,
            end_ms=run.info.end_time,
            parent=run.data.tags.get(PARENT_TAG, ""),
            tags=dict(run.data.tags),
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
        )
        for run in find_runs(store, experiment, status=status)
    ]


def unfinished_run_id(store: Store, experiment: str, plan_key: str) -> str | None:
    """The newest FAILED, KILLED or RUNNING run of a plan job, which a rerun resumes."""
    if not plan_key:
        return None
    for run in find_runs(store, experiment, plan_key=plan_key):
        if run.info.status == FINISHED:
            return None
        return run.info.run_id
    return None


def metric_history(store: Store, run_id: str, key: str) -> list[tuple[int, float]]:
    """(step, value) of every value logged for `key`, by step (and time within a step)."""
    history = store.client().get_metric_history(run_id, key)
    return [(m.step, m.value) for m in sorted(history, key=lambda m: (m.step, m.timestamp))]


def set_run_tags(store: Store, run_id: str, tags: Mapping[str, str]) -> None:
    client = store.client()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


def describe_experiment(store: Store, experiment_id: str, description: str) -> None:
    """Set the experiment's description in the MLflow UI (its `mlflow.note.content` tag) unless it already reads so."""
    client = store.client()
    if description and client.get_experiment(experiment_id).tags.get(NOTE_TAG) != description:
        client.set_experiment_tag(experiment_id, NOTE_TAG, description)


def delete_run(store: Store, run_id: str) -> None:
    """MLflow's delete: the run's files stay, every search leaves it out."""
    store.client().delete_run(run_id)


def adopt_run(store: Store, run_id: str) -> str:
    """Take a hand run into the book (tag it adopted); its run name. Raises KeyError for an unknown id."""
    try:
        run = get_run(store, run_id)
    except RunNotFound:
        raise KeyError(run_id) from None
    store.client().set_tag(run_id, TAG_ADOPTED, "true")
    return run.info.run_name


def mark_unfinished(store: Store, plan_key: str, status: str) -> list[str]:
    """End every RUNNING run of a plan job (its process died without closing it) as `status`."""
    client = store.client()
    ended = []
    for run in find_runs(store, plan_key=plan_key, status=RUNNING):
        client.set_terminated(run.info.run_id, status=status)
        ended.append(run.info.run_id)
    return ended


def run_folder(store: Store, experiment_id: str, run_id: str) -> Path | None:
    """The folder of a run in a file store (None for a tracking server)."""
    return None if store.folder is None else store.folder / experiment_id / run_id


class RunNotFound(LookupError):
    """No run of that id in the store."""


def get_run(store: Store, run_id: str):
    """The run `run_id` of the store; RunNotFound naming it when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return store.client().get_run(run_id)
    except MlflowException:
        raise RunNotFound(f"no run {run_id!r} in {store.uri}") from None
