"""The MLflow record: the only module that imports mlflow.

Conventions (the book's "Runs" page relies on them):
- one experiment per experiment family (`cifar10/rsws-stage1`, `foundation/seed-check`, ...);
- tags under `randnas.` say what a run is: seed, preset, benchmark, dataset and its checksum, the plan
  entry that produced it (`randnas.plan_key`) and the machine fingerprint (`randnas.fp.*`);
- config dataclasses are flattened to params once (never re-logged on resume);
- metrics are named `<split>/<quantity>` and logged with `step=epoch`.

The committed `mlruns/` is a file store whose artifact paths are relative to the folder that holds it
(the repo root), so it works from any clone. MLflow would resolve such paths against the working
directory; randnas never changes that directory, so every artifact of a file store is read and written
here at a path resolved explicitly (`artifact_folder`). New runs get absolute paths; `randnas record
export` (part of `make book`) makes the record portable again, once, after the runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

TAG_PREFIX = "randnas."
TAG_SEED = "randnas.seed"
TAG_PRESET = "randnas.preset"
TAG_BENCHMARK = "randnas.benchmark"
TAG_DATASET = "randnas.dataset"
TAG_DATASET_LABEL = "randnas.dataset_label"
TAG_DATASET_SHA256 = "randnas.dataset_sha256"
TAG_PLAN_KEY = "randnas.plan_key"
TAG_FINGERPRINT_PREFIX = "randnas.fp."
TAG_DIGEST = "randnas.digest"
GENOTYPE_ARTIFACT = "genotype.json"  # the cell a run found or trained, as a dict
MANIFEST_ARTIFACT = "manifest.json"  # what a FINISHED run logged, for `randnas record check`
TAG_GIT_COMMIT = "randnas.fp.git_commit"
TAG_GIT_DIRTY = "randnas.fp.git_dirty"
TAG_RESUMED_PREFIX = "randnas.resumed_at."  # + git_commit / git_dirty of the process that resumed the run
TAG_CHILD_KEY = "randnas.child"
# a run opened outside a plan (a notebook run by hand): the book and plan jobs leave it out until adopted
TAG_HAND_RUN = "randnas.hand_run"
TAG_ADOPTED = "randnas.adopted"
TAG_EXPORTED_FROM = "randnas.exported_from"  # the run id in the store `randnas record export` copied it from
CONFIG_ARTIFACT = "config.json"
SOURCE_TAG = "mlflow.source.name"
USER_TAG, ANONYMOUS_USER = "mlflow.user", "unknown"

STORE_ENV = "MLFLOW_TRACKING_URI"
CHECKPOINT_ENV = "RANDNAS_CHECKPOINTS"
LOCK_HELD_ENV = "RANDNAS_LOCK_HELD"  # the plan key whose lock the parent process (the plan runner) holds
RUN_FOLDERS = ("metrics", "params", "artifacts", "tags")
EXPERIMENT_FOLDERS = ("tags",)

# MLflow's RunStatus names; the file store keeps them as numbers in meta.yaml.
FINISHED, FAILED, KILLED, RUNNING = "FINISHED", "FAILED", "KILLED", "RUNNING"


def _mlflow():
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow >= 3.13 refuses ./mlruns without it
    # keep notebook outputs readable: no download progress bars, no "creating experiment" notices
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", message="IProgress not found")
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return mlflow


# ---- where the record lives --------------------------------------------------------------------


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


def default_store() -> str:
    """$MLFLOW_TRACKING_URI if set, else the project's `mlruns/`."""
    return os.environ.get(STORE_ENV) or str(find_project_root() / "mlruns")


class StoreUnreachable(RuntimeError):
    """A tracking server that does not answer: said at once, not after MLflow's minutes of retries."""


REACH_TIMEOUT_S = 5.0


def check_reachable(uri: str) -> None:
    """Raise StoreUnreachable unless an http(s) tracking server accepts a connection within a few seconds."""
    import socket

    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return  # a database URI is opened by MLflow itself
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=REACH_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise StoreUnreachable(
            f"cannot reach the tracking server {uri} ({reason}); start it (`make ui`, or "
            f"`mlflow server` on that address) or unset {STORE_ENV} to use ./mlruns"
        ) from None


def open_store(store: str | Path | None = None) -> str:
    """Point MLflow at `store` (a folder, a file URI or a server URI) and make a file store usable.

    For a file store: recreate the empty folders git drops (artifact paths are resolved by
    `artifact_folder`, the working directory is left alone). Returns the tracking URI.
    """
    mlflow = _mlflow()
    # mlflow.set_experiment exports the experiment's id for child processes; an id from the store this
    # process used before would send notebook kernels and Ray workers to a missing experiment
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    uri = str(store) if store is not None else default_store()
    folder = file_store_path(uri)
    if folder is None:
        check_reachable(uri)
        mlflow.set_tracking_uri(uri)
        return uri
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    ensure_store_layout(folder)
    uri = folder.as_uri()
    mlflow.set_tracking_uri(uri)
    return uri


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


def ensure_store_layout(store: Path) -> None:
    """Recreate the empty folders MLflow's file store expects and git does not keep."""
    (store / ".trash").mkdir(exist_ok=True)
    for experiment in _experiment_dirs(store):
        for name in EXPERIMENT_FOLDERS:
            (experiment / name).mkdir(exist_ok=True)
        for run in _run_dirs(experiment):
            for name in RUN_FOLDERS:
                (run / name).mkdir(exist_ok=True)


_ABSOLUTE_LOCATION = re.compile(r"^(artifact_location|artifact_uri): (?:file://)?(/.*)$", re.MULTILINE)


RUNNING_STATUS_LINE = re.compile(r"^status: 1$", re.MULTILINE)  # RunStatus.RUNNING as the file store writes it


def replace_text(path: Path, text: str) -> None:
    """Rewrite a file of the record so readers see the old file or the new one, never half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def make_portable(store: Path) -> int:
    """Rewrite absolute artifact paths inside `store` as paths relative to its parent folder.

    Returns how many meta.yaml files changed. Paths that point outside the store are left alone.
    """
    store = store.resolve()
    anchor = store.parent
    changed = 0
    for meta in store.rglob("meta.yaml"):
        try:
            text = meta.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
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


def checkpoint_dir(run_id: str) -> Path:
    """Checkpoints live outside the record, keyed by run id ($RANDNAS_CHECKPOINTS or ./checkpoints)."""
    path = _checkpoint_root() / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


class RunBusy(RuntimeError):
    """Another live process is running this plan job; nothing was started or changed."""


def _checkpoint_root() -> Path:
    """$RANDNAS_CHECKPOINTS, else `checkpoints/` of the project that holds the current file store."""
    if os.environ.get(CHECKPOINT_ENV):
        return Path(os.environ[CHECKPOINT_ENV])
    store = file_store_path(_mlflow().get_tracking_uri())
    return find_project_root(store.resolve().parent if store is not None else None) / "checkpoints"


@contextmanager
def job_lock(plan_key: str) -> Iterator[None]:
    """Hold the plan job's lock for the block: one writer per job, across processes and runners.

    An exclusive `flock` on `<checkpoints>/.locks/<hash>.lock`: the kernel releases it when its holder dies,
    even by SIGKILL, so a lock never outlives a crashed run. A busy lock raises `RunBusy` at once. Empty
    keys (runs outside a plan) take no lock; a key the parent already holds (LOCK_HELD_ENV) is not taken again.
    """
    if not plan_key or os.environ.get(LOCK_HELD_ENV) == plan_key:
        yield
        return
    import fcntl

    folder = _checkpoint_root() / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(plan_key.encode()).hexdigest()[:24] + ".lock")
    handle = open(path, "a+")  # noqa: SIM115 - held open for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunBusy(
                f"plan job {plan_key} is being run by {holder}; wait for it to finish (or stop it), then rerun"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the file releases the lock


# ---- what a run logs ---------------------------------------------------------------------------


def flatten_config(config: Any, prefix: str = "") -> dict[str, str]:
    """A (nested) dataclass or mapping as flat `a.b` -> string params."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}
    if not isinstance(config, Mapping):
        raise TypeError(f"expected a dataclass or a mapping, got {type(config).__name__}")
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if (dataclasses.is_dataclass(value) and not isinstance(value, type)) or isinstance(value, Mapping):
            flat.update(flatten_config(value, prefix=f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return flat


class RunLog:
    """What a notebook logs into its run; the run itself is opened and closed by `tracked_run`."""

    def __init__(self, run_id: str, resumed: bool) -> None:
        self.run_id = run_id
        self.resumed = resumed
        self._mlflow = _mlflow()
        self._logged_steps: dict[str, set[int]] | None = None

    def _steps_logged_before(self) -> dict[str, set[int]]:
        if self._logged_steps is None:
            client = self._mlflow.MlflowClient()
            keys = client.get_run(self.run_id).data.metrics
            self._logged_steps = {key: {m.step for m in client.get_metric_history(self.run_id, key)} for key in keys}
        return self._logged_steps

    def metrics(self, values: Mapping[str, float], step: int) -> None:
        """Log `values` at `step`; a resumed run skips a (metric, step) it already holds, so an epoch
        retrained after a resume (from the checkpoint before a damaged one) is not counted twice."""
        if self.resumed:
            logged = self._steps_logged_before()
            values = {key: value for key, value in values.items() if step not in logged.get(key, ())}
            if not values:
                return
        self._mlflow.log_metrics({key: float(value) for key, value in values.items()}, step=step)

    def tags(self, values: Mapping[str, Any]) -> None:
        self._mlflow.set_tags({key: str(value) for key, value in values.items()})

    def json(self, obj: Any, artifact_file: str) -> None:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            obj = dataclasses.asdict(obj)
        log_json_artifact(self.run_id, obj, artifact_file)

    def figure(self, figure: Any, artifact_file: str) -> None:
        folder, _, name = artifact_file.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            figure.savefig(Path(tmp) / name)
            log_artifact_to_run(self.run_id, Path(tmp) / name, folder or None)

    def artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        log_artifact_to_run(self.run_id, path, artifact_path)

    def checkpoint_dir(self) -> Path:
        return checkpoint_dir(self.run_id)

    def child(
        self,
        run_name: str,
        key: str,
        *,
        tags: Mapping[str, Any],
        params: Mapping[str, Any],
        metrics: Sequence[tuple[str, float, int]],
    ) -> str:
        """Log one finished child run (MLflow shows it nested under this run) and return its id.

        `key` names the child among its siblings: a resumed parent that already logged it skips it,
        so a rerun never duplicates children.
        """
        from mlflow.entities import Metric, Param

        client = self._mlflow.MlflowClient()
        parent = client.get_run(self.run_id)
        existing = client.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.`mlflow.parentRunId` = {filter_literal(self.run_id)} and tags.`{TAG_CHILD_KEY}` = {filter_literal(key)}",
        )
        if existing:
            return existing[0].info.run_id
        inherited = {k: v for k, v in parent.data.tags.items() if k.startswith(TAG_PREFIX) and k != TAG_PLAN_KEY}
        all_tags = {
            **inherited,
            **{k: str(v) for k, v in tags.items()},
            "mlflow.parentRunId": self.run_id,
            TAG_CHILD_KEY: key,
        }
        run = client.create_run(parent.info.experiment_id, run_name=run_name, tags=all_tags)
        child_id = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(child_id, params=[Param(name, str(value)) for name, value in params.items()])
        entries = [Metric(name, float(value), now, int(step)) for name, value, step in metrics]
        for start in range(0, len(entries), 1000):  # MLflow takes at most 1000 metrics per batch
            client.log_batch(child_id, metrics=entries[start : start + 1000])
        client.set_terminated(child_id, FINISHED)
        return child_id


def darts_epoch_logger(
    run: RunLog, search: Any, more_metrics: Callable[[str], Mapping[str, float]] | None = None
) -> Callable[[int, dict], None]:
    """The per-epoch callback of a DARTS search: the epoch's metrics (with `more_metrics` of the derived
    cell's text, e.g. a benchmark lookup), and the derived cell and op weights as `darts/epoch-NNN.json`."""

    def log_epoch(epoch: int, metrics: dict) -> None:
        genotype = search.genotypes[-1]
        run.metrics({**metrics, **(more_metrics(genotype) if more_metrics else {})}, step=epoch)
        run.json({"epoch": epoch, "genotype": genotype, **search.alphas[-1]}, f"darts/epoch-{epoch:03d}.json")

    return log_epoch


def log_darts_result(run: RunLog, result: Any, genotype_text: str | None = None) -> None:
    """A DARTS search's final cell (the stage-2 pick), its cell after every epoch, and its digests."""
    run.json(result.genotype.to_dict(), GENOTYPE_ARTIFACT)
    run.json({"genotypes": result.genotypes}, "darts/genotypes.json")
    run.tags(
        {
            TAG_DIGEST: result.architecture_digest,
            "randnas.weights_digest": result.weights_digest,
            "randnas.genotype": genotype_text or result.genotype.to_darts(),
        }
    )


def run_tags(
    *,
    seed: int,
    preset: str,
    benchmark: str,
    datasets: Sequence[Any],
    plan_key: str = "",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The tags every randnas run carries, the machine fingerprint included.

    `datasets` are the loaded sets (anything with `name`, `label` and `checksum`); a run on several
    gets their names and labels joined and one digest over their checksums.
    """
    from randnas.repro import fingerprint

    if not datasets:
        raise ValueError("a run needs at least one dataset")
    checksums = {data.name: data.checksum for data in datasets}
    joint = (
        datasets[0].checksum
        if len(datasets) == 1
        else hashlib.sha256(json.dumps(checksums, sort_keys=True).encode()).hexdigest()
    )
    tags = {
        TAG_SEED: str(seed),
        TAG_PRESET: preset,
        TAG_BENCHMARK: benchmark,
        TAG_DATASET: "+".join(data.name for data in datasets),
        TAG_DATASET_LABEL: " + ".join(data.label for data in datasets),
        TAG_DATASET_SHA256: joint,
        TAG_PLAN_KEY: plan_key,
    }
    tags.update({TAG_FINGERPRINT_PREFIX + key: value for key, value in fingerprint(checksums).items()})
    tags.update({key: str(value) for key, value in (extra or {}).items()})
    return tags


def plan_key_parts(plan_key: str) -> tuple[str, str, str, str] | None:
    """(plan, entry, preset, job) of a plan job's key `plan/entry/preset/job@hash`; None for any other text."""
    parts = plan_key.split("@")[0].split("/")
    return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else None


def plan_run_name(tags: Mapping[str, str], fallback: str) -> str:
    """A plan job's run is named `<preset>/<entry>/<job>` (unique per experiment, and it says the scale); a run
    outside a plan keeps the name its notebook gives."""
    parts = plan_key_parts(tags.get(TAG_PLAN_KEY, ""))
    return f"{parts[2]}/{parts[1]}/{parts[3]}" if parts else fallback


def counted(tags: Mapping[str, str]) -> bool:
    """Whether the book counts a run: every plan run, a hand run only once adopted (`randnas record adopt`)."""
    return tags.get(TAG_HAND_RUN) != "true" or tags.get(TAG_ADOPTED) == "true"


def usable_as_input(run: Any) -> bool:
    """Whether a lookup may read `run` (a search's pick, a stage-2 result): inside a plan job only counted
    runs, so a plan's results never rest on a hand run; a hand run may read anything."""
    return not os.environ.get(LOCK_HELD_ENV) or counted(run.data.tags)


def unfinished_run_id(experiment: str, plan_key: str) -> str | None:
    """The newest FAILED, KILLED or RUNNING run of a plan entry, which a rerun resumes."""
    if not plan_key:
        return None
    for run in find_runs(experiment, plan_key=plan_key):
        if run.info.status == FINISHED:
            return None
        return run.info.run_id
    return None


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    *,
    tags: Mapping[str, str],
    config: Any = None,
    store: str | Path | None = None,
) -> Iterator[RunLog]:
    """Open a run, yield a `RunLog`, and always close it: FINISHED, FAILED on an error, KILLED on
    an interrupt. A plan entry that was interrupted earlier resumes its unfinished run (same run id,
    so the same checkpoint folder); params its first attempt logged stay, missing ones are added. One
    process at a time runs a plan job (`job_lock`): a second raises `RunBusy` before touching the record."""
    with job_lock(tags.get(TAG_PLAN_KEY, "")):
        yield from _tracked_run(experiment, run_name, tags=tags, config=config, store=store)


def _tracked_run(
    experiment: str, run_name: str, *, tags: Mapping[str, str], config: Any, store: str | Path | None
) -> Iterator[RunLog]:
    mlflow = _mlflow()
    open_store(store)
    _set_experiment(experiment)
    # under the job's lock, a RUNNING run of this plan key has no live writer: it is resumed
    resume_id = unfinished_run_id(experiment, tags.get(TAG_PLAN_KEY, ""))
    # MLflow would record the login name of whoever ran it; the record names no one (MLflow's own placeholder)
    run = (
        mlflow.start_run(run_id=resume_id)
        if resume_id
        else mlflow.start_run(run_name=plan_run_name(tags, run_name), tags={USER_TAG: ANONYMOUS_USER})
    )
    status = FAILED
    try:
        # MLflow records the launching script's absolute path; the record keeps its name only, so a
        # committed run does not carry the recording machine's folders
        source = Path(run.data.tags.get(SOURCE_TAG, "")).name
        tags = dict(tags)
        if resume_id:
            # the run keeps the code state it started from; the resuming one is recorded beside it
            for key in (TAG_GIT_COMMIT, TAG_GIT_DIRTY):
                if key in run.data.tags and key in tags:
                    tags[key.replace(TAG_FINGERPRINT_PREFIX, TAG_RESUMED_PREFIX)] = tags.pop(key)
        if not tags.get(TAG_PLAN_KEY) and not resume_id:
            tags[TAG_HAND_RUN] = "true"
            print(
                f"hand run {run.info.run_id} (no plan key): the book's tables and plan jobs leave it out; "
                f"`randnas record adopt {run.info.run_id}` takes it in"
            )
        mlflow.set_tags({**tags, **({SOURCE_TAG: source} if source else {})})
        if config is not None:
            # a resumed run logs whatever its first attempt could not (a full disk, a kill mid-start), so a
            # FINISHED run always has every param and its config
            missing = {k: v for k, v in flatten_config(config).items() if k not in run.data.params}
            if missing:
                mlflow.log_params(missing)
            if not resume_id or not artifact_exists(run.info.run_id, CONFIG_ARTIFACT):
                RunLog(run.info.run_id, False).json(config, CONFIG_ARTIFACT)
        yield RunLog(run.info.run_id, resumed=resume_id is not None)
        write_manifest(run.info.run_id)
        status = FINISHED
    except KeyboardInterrupt:
        status = KILLED
        raise
    finally:
        mlflow.end_run(status=status)


def run_folder(uri: str, experiment_id: str, run_id: str) -> Path | None:
    """The folder of a run in a file store (None for a tracking server)."""
    store = file_store_path(uri)
    return None if store is None else store / experiment_id / run_id


def write_manifest(run_id: str) -> None:
    """Log what the run holds (each metric with its number of values, each param) as its last artifact, so a
    later deleted or truncated file is found (`randnas record check`, the plan runner, the book)."""
    client = _mlflow().MlflowClient()
    data = client.get_run(run_id).data
    metrics = {key: len(client.get_metric_history(run_id, key)) for key in sorted(data.metrics)}
    log_json_artifact(run_id, {"metrics": metrics, "params": sorted(data.params)}, MANIFEST_ARTIFACT)


# ---- reading the record --------------------------------------------------------------------------


def artifact_folder(run_id: str, store_uri: str | None = None) -> Path | None:
    """Where a run's artifacts lie in a file store (default: the current one; None for a tracking server or
    remote artifacts).

    A relative artifact path, as the committed record keeps them, is relative to the folder that holds the
    store (the repo root), whatever this process's working directory is."""
    store_uri = store_uri or _mlflow().get_tracking_uri()
    store = file_store_path(store_uri)
    if store is None:
        return None
    uri = _mlflow().MlflowClient(tracking_uri=store_uri).get_run(run_id).info.artifact_uri
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme:
        return None
    path = Path(uri)
    return path if path.is_absolute() else store.resolve().parent / path


def artifact_exists(run_id: str, artifact_file: str) -> bool:
    local = artifact_folder(run_id)
    if local is not None:
        return (local / artifact_file).is_file()
    client = _mlflow().MlflowClient()
    folder, _, name = artifact_file.rpartition("/")
    return any(Path(entry.path).name == name for entry in client.list_artifacts(run_id, folder or None))


def filter_literal(value: str) -> str:
    """A string as a literal of MLflow's search filter: quoted, never able to close the quote itself."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"{value!r} holds both kinds of quote, which an MLflow search filter cannot express; rename it")


_WARNED: set[Path] = set()


def _meta_damage(meta: Path, key: str) -> str:
    """Why MLflow could not read this meta.yaml ("" if it can): a cheap check, run on every read of the record."""
    try:
        text = meta.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    except OSError as error:
        return error.strerror or "unreadable"
    return "" if f"{key}:" in text else "empty or cut short"


def damaged_meta_files(store: Path) -> dict[Path, str]:
    """Every experiment and run meta.yaml of a file store MLflow could not read, with why."""
    damaged = {}
    for experiment in sorted(p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")):
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
        if path not in _WARNED:  # once per file and process
            _WARNED.add(path)
            print(
                f"randnas: warning: skipping {path} ({problem}); restore it with `git checkout -- {path}` or delete "
                "its folder (`randnas record check` lists every damaged file)",
                file=sys.stderr,
            )
    return damaged


def _current_damage() -> tuple[Path | None, dict[Path, str]]:
    store = file_store_path(_mlflow().get_tracking_uri())
    if store is None or not store.is_dir():
        return None, {}
    return store, damaged_meta_files(store)


def experiment_names() -> dict[str, str]:
    """Experiment id -> name, leaving out an experiment whose meta.yaml is damaged."""
    store, damaged = _current_damage()
    client = _mlflow().MlflowClient()
    if not damaged:
        return {e.experiment_id: e.name for e in client.search_experiments()}
    names = {}
    for meta in sorted(store.glob("*/meta.yaml")):
        if meta not in damaged and not meta.parent.name.startswith("."):
            experiment = client.get_experiment(meta.parent.name)
            if experiment.lifecycle_stage == "active":
                names[experiment.experiment_id] = experiment.name
    return names


class RecordUnreadable(RuntimeError):
    """A damaged experiment meta.yaml keeps MLflow from creating a new experiment."""


# the experiment's kind for MLflow 3's UI: a machine-learning one (where the UI's workflow switch is off, the
# kind decides whether an experiment opens on its runs or on its empty Traces page; where it is on, the book's
# links and `randnas ui` select the model-training mode with workflowType=machine_learning)
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"


def _set_experiment(name: str) -> None:
    """mlflow.set_experiment (past a damaged meta.yaml of another experiment where it can be), the experiment
    declared a machine-learning one so the MLflow UI opens it on its runs."""
    from mlflow.exceptions import MlflowException

    # where a parallel process created it between MLflow's lookup and its create, mlflow.set_experiment returns
    # it without making it the active one (the next run would land in "Default"): activate it by id
    experiment = _mlflow().set_experiment(experiment_id=_open_experiment(name).experiment_id)
    if experiment.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
        client = _mlflow().MlflowClient()
        try:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        except MlflowException:
            # a parallel job declared it first: a tracking server's database refuses the second insert
            if client.get_experiment(experiment.experiment_id).tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
                raise


def _open_experiment(name: str):
    mlflow = _mlflow()
    store, damaged = _current_damage()
    if not damaged:
        if store is None:
            return mlflow.set_experiment(name)
        import fcntl

        # MLflow's file store checks the name, then creates: two processes starting jobs of a new experiment
        # at once (parallel plan jobs) would both create it. One at a time per store, waiting, not failing.
        folder = _checkpoint_root() / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        lock = folder / ("experiments-" + hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16] + ".lock")
        with open(lock, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            return mlflow.set_experiment(name)
    found = [i for i, known in experiment_names().items() if known == name]
    if found:
        return mlflow.set_experiment(experiment_id=found[0])
    unreadable = [path for path in damaged if path.parent.parent == store]
    if not unreadable:
        return mlflow.set_experiment(name)
    raise RecordUnreadable(
        f"cannot create experiment {name!r} while {unreadable[0]} is damaged ({damaged[unreadable[0]]}): "
        f"restore it with `git checkout -- {unreadable[0]}` or delete its folder"
    )


def declare_experiment_kinds() -> int:
    """Declare every experiment of the current store a machine-learning one (records made before randnas did it)."""
    client = _mlflow().MlflowClient()
    changed = 0
    for experiment_id in experiment_names():
        if client.get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
            changed += 1
    return changed


def _tolerant_runs(
    store: Path, damaged: Mapping[Path, str], experiment_ids: Sequence[str], plan_key: str | None, status: str | None
) -> list:
    """find_runs where some meta.yaml is damaged: the readable runs one by one, filtered and ordered alike."""
    client = _mlflow().MlflowClient()
    runs = []
    for experiment_id in experiment_ids:
        for folder in (store / experiment_id).iterdir():
            meta = folder / "meta.yaml"
            if not meta.is_file() or meta in damaged or folder.name in ("tags", "datasets", "traces", "models"):
                continue
            run = client.get_run(folder.name)
            if run.info.lifecycle_stage != "active" or (status is not None and run.info.status != status):
                continue
            if plan_key is None or run.data.tags.get(TAG_PLAN_KEY) == plan_key:
                runs.append(run)
    return sorted(runs, key=lambda run: run.info.start_time or 0, reverse=True)


def find_runs(experiment: str | None = None, *, plan_key: str | None = None, status: str | None = None) -> list:
    """Runs newest first, optionally of one experiment, one plan entry and one status. A damaged meta.yaml
    (an unreadable run or experiment) is skipped with a warning naming it, so it stops nothing else."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    store, damaged = _current_damage()
    if damaged:
        names = experiment_names()
        ids = [i for i, name in names.items() if experiment is None or name == experiment]
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
    return list(
        client.search_runs(
            experiment_ids,
            filter_string=" and ".join(clauses),
            order_by=["attributes.start_time DESC"],
            max_results=50_000,
        )
    )


def runs_table(store: str | Path | None = None):
    """Every run in the record as a DataFrame: experiment, run, status, start and end, the parent run (of
    a child), the randnas tags (without their prefix), `metric:` and `param:` columns."""
    import pandas as pd

    open_store(store)
    experiments = experiment_names()
    rows = []
    for run in find_runs():
        row = {
            "experiment": experiments.get(run.info.experiment_id, run.info.experiment_id),
            "experiment_id": run.info.experiment_id,
            "run_name": run.info.run_name,
            "run_id": run.info.run_id,
            "status": run.info.status,
            "start": pd.Timestamp(run.info.start_time, unit="ms"),
            "end": pd.Timestamp(run.info.end_time, unit="ms") if run.info.end_time else pd.NaT,
            "parent_run": run.data.tags.get("mlflow.parentRunId", ""),
        }
        row.update(
            {
                k.removeprefix(TAG_PREFIX): v
                for k, v in run.data.tags.items()
                if k.startswith(TAG_PREFIX) and not k.startswith(TAG_FINGERPRINT_PREFIX)
            }
        )
        row.update(
            {"git_commit": run.data.tags.get(TAG_GIT_COMMIT, ""), "git_dirty": run.data.tags.get(TAG_GIT_DIRTY, "")}
        )
        row.update({f"metric:{k}": v for k, v in run.data.metrics.items()})
        row.update({f"param:{k}": v for k, v in run.data.params.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def metric_history(run_id: str, key: str) -> list[tuple[int, float]]:
    client = _mlflow().MlflowClient()
    return [
        (m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
    ]


def set_run_tags(run_id: str, tags: Mapping[str, str]) -> None:
    client = _mlflow().MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


def delete_run(run_id: str) -> None:
    """MLflow's delete: the run's files stay, every search leaves it out."""
    _mlflow().MlflowClient().delete_run(run_id)


def adopt_run(run_id: str) -> str:
    """Take a hand run into the book (tag it adopted); its run name. Raises KeyError for an unknown id."""
    from mlflow.exceptions import MlflowException

    client = _mlflow().MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise KeyError(run_id) from None
    client.set_tag(run_id, TAG_ADOPTED, "true")
    return run.info.run_name


def mark_unfinished(plan_key: str, status: str = FAILED) -> list[str]:
    """End every RUNNING run of a plan entry (its process died without closing it) as `status`."""
    client = _mlflow().MlflowClient()
    ended = []
    for run in find_runs(plan_key=plan_key, status=RUNNING):
        client.set_terminated(run.info.run_id, status=status)
        ended.append(run.info.run_id)
    return ended


def log_artifact_to_run(run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
    """Store the file or folder `path` among the run's artifacts, under `artifact_path` by its own name; a file
    store's copy of a file appears whole or not at all."""
    path = Path(path)
    local = artifact_folder(run_id)
    if local is None:
        client = _mlflow().MlflowClient()
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


def log_json_artifact(run_id: str, obj: Any, artifact_file: str) -> None:
    folder, _, name = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_text(json.dumps(obj, indent=2), encoding="utf-8")
        log_artifact_to_run(run_id, Path(tmp) / name, folder or None)


def download_artifact(run_id: str, artifact_path: str, destination: Path) -> Path:
    """A copy of the run's artifact file or folder `artifact_path` at `destination / artifact_path` (as MLflow's download)."""
    local = artifact_folder(run_id)
    if local is None:
        return Path(
            _mlflow().artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_path, dst_path=str(destination)
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


def load_json_artifact(run_id: str, artifact_file: str, store: str | Path | None = None) -> Any:
    """A JSON artifact of a run in `store` (default: $MLFLOW_TRACKING_URI, else the project's mlruns/)."""
    open_store(store)
    local = artifact_folder(run_id)
    if local is None:
        return _mlflow().artifacts.load_dict(f"runs:/{run_id}/{artifact_file}")
    return json.loads((local / artifact_file).read_text(encoding="utf-8"))


def newest_finished_run(
    experiment: str, tags: Mapping[str, str], store: str | Path | None = None, params: Mapping[str, str] | None = None
):
    """The newest FINISHED run of `experiment` in `store` whose tags include all of `tags` (and whose
    params, where it logged them, equal `params`), else None."""
    open_store(store)
    for run in find_runs(experiment, status=FINISHED):
        if not usable_as_input(run):
            continue
        if all(run.data.tags.get(key) == str(value) for key, value in tags.items()) and all(
            run.data.params.get(key, str(value)) == str(value) for key, value in (params or {}).items()
        ):
            return run
    return None


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

    mlflow = _mlflow()
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
        if run.info.status == FINISHED and counted(run.data.tags) and "mlflow.parentRunId" not in run.data.tags
    }
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") in chosen]
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
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = copied_as[tags["mlflow.parentRunId"]]
        new_id = destination.create_run(
            experiment_id, start_time=run.info.start_time, tags=tags, run_name=run.info.run_name
        ).info.run_id
        params = [Param(key, value) for key, value in run.data.params.items()]
        for start in range(0, len(params), 100):  # MLflow's batch limits: 100 params, 1000 metrics
            destination.log_batch(new_id, params=params[start : start + 100])
        metrics = [
            Metric(key, m.value, m.timestamp, m.step)
            for key in run.data.metrics
            for m in source.get_metric_history(run.info.run_id, key)
        ]
        for start in range(0, len(metrics), 1000):
            destination.log_batch(new_id, metrics=metrics[start : start + 1000])
        if source.list_artifacts(run.info.run_id):
            with tempfile.TemporaryDirectory() as tmp:
                fetched = mlflow.artifacts.download_artifacts(
                    run_id=run.info.run_id, dst_path=tmp, tracking_uri=source_uri
                )
                shutil.copytree(fetched, artifact_folder(new_id, target_uri), dirs_exist_ok=True)
        destination.set_terminated(new_id, run.info.status, end_time=run.info.end_time)
        copied_as[run.info.run_id] = new_id
        copied += 1
    return copied
