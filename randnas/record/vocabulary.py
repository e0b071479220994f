"""The words every run of the record carries, whatever its kind: tag keys, statuses, artifact names, and
the shape of a plan job's key. Each experiment kind's own tags, params and metrics live with its writer and
reader in `randnas.experiments`; this module holds only what the store, the plan runner and every kind share.
"""

from __future__ import annotations

from collections.abc import Mapping

TAG_PREFIX = "randnas."
TAG_SEED = "randnas.seed"
TAG_PRESET = "randnas.preset"
TAG_BENCHMARK = "randnas.benchmark"
TAG_DATASET = "randnas.dataset"
TAG_DATASET_LABEL = "randnas.dataset_label"
TAG_DATASET_SHA256 = "randnas.dataset_sha256"
TAG_PLAN_KEY = "randnas.plan_key"
TAG_REPEAT = "randnas.repeat"  # > 1: the same job again, for the exact-reproducibility check
TAG_DEVICE = "randnas.device"
TAG_DIGEST = "randnas.digest"  # the run's main digest (weights, architecture weights or event log)
TAG_FINGERPRINT_PREFIX = "randnas.fp."
TAG_GIT_COMMIT = "randnas.fp.git_commit"
TAG_GIT_DIRTY = "randnas.fp.git_dirty"
TAG_RESUMED_PREFIX = "randnas.resumed_at."  # + git_commit / git_dirty of the process that resumed the run
TAG_CHILD_KEY = "randnas.child"
# a run opened outside a plan (a notebook run by hand): the book and plan jobs leave it out until adopted
TAG_HAND_RUN = "randnas.hand_run"
TAG_ADOPTED = "randnas.adopted"
TAG_EXPORTED_FROM = "randnas.exported_from"  # the run id in the store `randnas record export` copied it from
TAG_BOOK_PAGE = "randnas.book_page"  # where the book renders a plan job's executed notebook
# set on a run that `randnas run --force` replaced: kept in the record, left out of every table
TAG_SUPERSEDED_BY = "randnas.superseded_by"

# MLflow's own tags that randnas writes or reads
SOURCE_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
USER_TAG, ANONYMOUS_USER = "mlflow.user", "unknown"
PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI
# the experiment's kind for MLflow 3's UI: a machine-learning one (where the UI's workflow switch is off, the
# kind decides whether an experiment opens on its runs or on its empty Traces page)
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"

CONFIG_ARTIFACT = "config.json"  # the run's configuration dataclass, as a dict
MANIFEST_ARTIFACT = "manifest.json"  # what a FINISHED run logged, for `randnas record check`
NOTEBOOK_ARTIFACTS = "notebook"  # the executed notebook of a plan job

# MLflow's RunStatus names; the file store keeps them as numbers in meta.yaml.
FINISHED, FAILED, KILLED, RUNNING = "FINISHED", "FAILED", "KILLED", "RUNNING"


def plan_key_parts(plan_key: str) -> tuple[str, str, str, str] | None:
    """(plan, entry, preset, job) of a plan job's key `plan/entry/preset/job@hash`; None for any other text."""
    parts = plan_key.split("@")[0].split("/")
    return (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else None


def job_without_repeat(plan_key: str) -> str:
    """A plan job's key without its hash and its `repeat-N` axis: the job a same-seed repeat repeats.

    `plans.expand` names a job by its axes joined with `_` (`seed-1_repeat-2`); a key that is not a plan
    job's is returned as it is."""
    parts = plan_key_parts(plan_key)
    if parts is None:
        return plan_key
    axes = [axis for axis in parts[3].split("_") if not axis.startswith("repeat-")]
    return "/".join((*parts[:3], "_".join(axes) or "default"))


def plan_run_name(tags: Mapping[str, str], fallback: str) -> str:
    """A plan job's run is named `<preset>/<entry>/<job>` (unique per experiment, and it says the scale); a run
    outside a plan keeps the name its notebook gives."""
    parts = plan_key_parts(tags.get(TAG_PLAN_KEY, ""))
    return f"{parts[2]}/{parts[1]}/{parts[3]}" if parts else fallback


def counted(tags: Mapping[str, str]) -> bool:
    """Whether the book counts a run: every plan run that `randnas run --force` has not superseded, a hand run
    only once adopted (`randnas record adopt`)."""
    if TAG_SUPERSEDED_BY in tags:
        return False
    return tags.get(TAG_HAND_RUN) != "true" or tags.get(TAG_ADOPTED) == "true"
