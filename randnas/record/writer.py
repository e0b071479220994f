"""Writing a run: open it (or resume the unfinished run of the same plan job), log into it, and always close it.

Conventions every kind of run follows (the experiments layer, `randnas.experiments`, decides what each kind
logs; this module decides how):
- tags under `randnas.` say what a run is: seed, preset, benchmark, dataset and its checksum, the plan job that
  produced it (`randnas.plan_key`) and the machine fingerprint (`randnas.fp.*`);
- config dataclasses are flattened to params once (never re-logged on resume);
- metrics are named `<split>/<quantity>` and logged with `step=epoch`;
- a FINISHED run ends with `manifest.json`, what it logged, for `randnas record check`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from randnas.record.artifacts import artifact_exists, log_artifact, log_json
from randnas.record.locks import checkpoint_dir, job_lock
from randnas.record.store import Store, filter_literal, open_experiment, open_store, unfinished_run_id
from randnas.record.vocabulary import (
    ANONYMOUS_USER,
    CONFIG_ARTIFACT,
    FAILED,
    FINISHED,
    KILLED,
    MANIFEST_ARTIFACT,
    PARENT_TAG,
    RUNNING,
    SOURCE_TAG,
    SOURCE_TYPE_TAG,
    TAG_BENCHMARK,
    TAG_CHILD_KEY,
    TAG_DATASET,
    TAG_DATASET_LABEL,
    TAG_DATASET_SHA256,
    TAG_FINGERPRINT_PREFIX,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_HAND_RUN,
    TAG_PLAN_KEY,
    TAG_PREFIX,
    TAG_PRESET,
    TAG_RESUMED_PREFIX,
    TAG_SEED,
    USER_TAG,
    plan_run_name,
)

METRICS_PER_BATCH = 1000  # MLflow's batch limits: 1000 metrics, 100 params
PARAMS_PER_BATCH = 100


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

    `datasets` are the loaded sets (anything with `name`, `label` and `checksum`); a run on several gets their
    names and labels joined and one digest over their checksums.
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


class RunLog:
    """What a run's writer logs into its run; the run itself is opened and closed by `tracked_run`."""

    def __init__(self, store: Store, run_id: str, resumed: bool) -> None:
        self.store = store
        self.run_id = run_id
        self.resumed = resumed
        self._logged_steps: dict[str, set[int]] | None = None

    def _steps_logged_before(self) -> dict[str, set[int]]:
        if self._logged_steps is None:
            client = self.store.client()
            keys = client.get_run(self.run_id).data.metrics
            self._logged_steps = {key: {m.step for m in client.get_metric_history(self.run_id, key)} for key in keys}
        return self._logged_steps

    def metrics(self, values: Mapping[str, float], step: int) -> None:
        """Log `values` at `step`; a resumed run skips a (metric, step) it already holds, so an epoch retrained
        after a resume (from the checkpoint before a damaged one) is not counted twice."""
        from mlflow.entities import Metric

        if self.resumed:
            logged = self._steps_logged_before()
            values = {key: value for key, value in values.items() if step not in logged.get(key, ())}
        if not values:
            return
        now = int(time.time() * 1000)
        entries = [Metric(key, float(value), now, int(step)) for key, value in values.items()]
        for start in range(0, len(entries), METRICS_PER_BATCH):
            self.store.client().log_batch(self.run_id, metrics=entries[start : start + METRICS_PER_BATCH])

    def tags(self, values: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.store.client().log_batch(self.run_id, tags=[RunTag(key, str(value)) for key, value in values.items()])

    def json(self, obj: Any, artifact_file: str) -> None:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            obj = dataclasses.asdict(obj)
        log_json(self.store, self.run_id, obj, artifact_file)

    def figure(self, figure: Any, artifact_file: str) -> None:
        folder, _, name = artifact_file.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            figure.savefig(Path(tmp) / name)
            log_artifact(self.store, self.run_id, Path(tmp) / name, folder or None)

    def artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        log_artifact(self.store, self.run_id, path, artifact_path)

    def checkpoint_dir(self) -> Path:
        return checkpoint_dir(self.store, self.run_id)

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

        `key` names the child among its siblings: a resumed parent that already logged it skips it, so a rerun
        never duplicates children.
        """
        from mlflow.entities import Metric, Param

        client = self.store.client()
        parent = client.get_run(self.run_id)
        existing = client.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = {filter_literal(self.run_id)} "
            f"and tags.`{TAG_CHILD_KEY}` = {filter_literal(key)}",
        )
        if existing:
            return existing[0].info.run_id
        inherited = {k: v for k, v in parent.data.tags.items() if k.startswith(TAG_PREFIX) and k != TAG_PLAN_KEY}
        all_tags = {**inherited, **{k: str(v) for k, v in tags.items()}, PARENT_TAG: self.run_id, TAG_CHILD_KEY: key}
        run = client.create_run(parent.info.experiment_id, run_name=run_name, tags=all_tags)
        child_id = run.info.run_id
        now = int(time.time() * 1000)
        param_list = [Param(name, str(value)) for name, value in params.items()]
        for start in range(0, len(param_list), PARAMS_PER_BATCH):
            client.log_batch(child_id, params=param_list[start : start + PARAMS_PER_BATCH])
        entries = [Metric(name, float(value), now, int(step)) for name, value, step in metrics]
        for start in range(0, len(entries), METRICS_PER_BATCH):
            client.log_batch(child_id, metrics=entries[start : start + METRICS_PER_BATCH])
        client.set_terminated(child_id, FINISHED)
        return child_id


def write_manifest(store: Store, run_id: str) -> None:
    """Log what the run holds, with a digest of every param, tag, metric series and artifact, as its last
    artifact, so a later deleted, edited or truncated file is found (`randnas record check`, the plan runner, the
    book); see `randnas.record.manifest`."""
    from randnas.record.manifest import content_from_client, manifest_of

    log_json(store, run_id, manifest_of(content_from_client(store, run_id)), MANIFEST_ARTIFACT)


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    *,
    tags: Mapping[str, str],
    config: Any = None,
    store: Store | str | Path | None = None,
    held_lock: str = "",
) -> Iterator[RunLog]:
    """Open a run in `store` (default: `open_store()`'s), yield a `RunLog`, and always close it: FINISHED, FAILED
    on an error, KILLED on an interrupt. An interrupted plan job resumes its unfinished run (same run id, so the
    same checkpoint folder); params its first attempt logged stay, missing ones are added. One process at a time
    runs a plan job (`job_lock`): a second raises `RunBusy` before touching the record; `held_lock` is the plan
    key whose lock the caller (the plan runner) already holds."""
    store = open_store(store)
    with job_lock(store, tags.get(TAG_PLAN_KEY, ""), held=held_lock):
        yield from _tracked_run(store, experiment, run_name, tags=tags, config=config)


def _opened_tags(run: Any, tags: Mapping[str, str], resumed: bool) -> dict[str, str]:
    """The tags to set on an opened run: a resumed run keeps the code state it started from (the resuming one is
    recorded beside it); a run outside a plan is a hand run."""
    tags = dict(tags)
    if resumed:
        for key in (TAG_GIT_COMMIT, TAG_GIT_DIRTY):
            if key in run.data.tags and key in tags:
                tags[key.replace(TAG_FINGERPRINT_PREFIX, TAG_RESUMED_PREFIX)] = tags.pop(key)
    elif not tags.get(TAG_PLAN_KEY):
        tags[TAG_HAND_RUN] = "true"
        print(
            f"hand run {run.info.run_id} (no plan key): the book's tables and plan jobs leave it out; "
            f"`randnas record adopt {run.info.run_id}` takes it in"
        )
    return tags


def _tracked_run(
    store: Store, experiment: str, run_name: str, *, tags: Mapping[str, str], config: Any
) -> Iterator[RunLog]:
    from mlflow.entities import Param, RunTag

    client = store.client()
    experiment_id = open_experiment(store, experiment)
    # under the job's lock, a RUNNING run of this plan key has no live writer: it is resumed
    resume_id = unfinished_run_id(store, experiment, tags.get(TAG_PLAN_KEY, ""))
    if resume_id:
        client.update_run(resume_id, status=RUNNING)
        run = client.get_run(resume_id)
    else:
        # the record names no one (MLflow's own placeholder) and keeps the launching script's name, not its path
        system = {USER_TAG: ANONYMOUS_USER, SOURCE_TAG: Path(sys.argv[0]).name, SOURCE_TYPE_TAG: "LOCAL"}
        run = client.create_run(experiment_id, run_name=plan_run_name(tags, run_name), tags=system)
    run_id = run.info.run_id
    status = FAILED
    try:
        opened = _opened_tags(run, tags, resumed=resume_id is not None)
        client.log_batch(run_id, tags=[RunTag(key, str(value)) for key, value in opened.items()])
        if config is not None:
            # a resumed run logs whatever its first attempt could not (a full disk, a kill mid-start), so a
            # FINISHED run always has every param and its config
            missing = [Param(k, v) for k, v in flatten_config(config).items() if k not in run.data.params]
            for start in range(0, len(missing), PARAMS_PER_BATCH):
                client.log_batch(run_id, params=missing[start : start + PARAMS_PER_BATCH])
            if not resume_id or not artifact_exists(store, run_id, CONFIG_ARTIFACT):
                RunLog(store, run_id, False).json(config, CONFIG_ARTIFACT)
        yield RunLog(store, run_id, resumed=resume_id is not None)
        write_manifest(store, run_id)
        status = FINISHED
    except KeyboardInterrupt:
        status = KILLED
        raise
    finally:
        _end_run(store, run_id, status)


def _end_run(store: Store, run_id: str, status: str) -> None:
    """Close the run as `status`; after a failure on a tracking server that no longer answers, leave it RUNNING
    rather than wait on the server again (the rerun resumes a RUNNING run all the same)."""
    from randnas.record.store import StoreUnreachable, check_reachable

    if status != FINISHED and store.folder is None:
        try:
            check_reachable(store.uri)
        except StoreUnreachable:
            return
    store.client().set_terminated(run_id, status=status)
