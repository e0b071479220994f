"""The plan runner: each entry's jobs on a backend, entry after entry in the plan's order; a job is its notebook
run with papermill unless its plan key already has a FINISHED run, its executed copy labelled and kept for the book.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from randnas.backends import Backend, InProcessBackend, RayBackend
from randnas.plans import PRESETS, Job, PlanError, book_output, check_preset, expand, load_plan

# ---- running -----------------------------------------------------------------------------------


FAILED_JOB, BLOCKED = "failed", "blocked"


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: str  # ran, skipped, restored, failed, blocked (an entry it comes after failed)
    detail: str = ""


def run_jobs(backend: Backend, jobs: Sequence[Job], execute: Callable[[Job], JobResult]) -> list[JobResult]:
    """Each entry's jobs on `backend`, entry after entry in the plan's order: a later entry may read an
    earlier one's runs (stage 2 reads the searches' picks), while the jobs of one entry may run in parallel."""
    results: list[JobResult] = []
    unusable: set[str] = set()  # entries with a failed or blocked job in this invocation
    try:
        for entry in dict.fromkeys(job.entry for job in jobs):
            batch = [job for job in jobs if job.entry == entry]
            waiting_on = [name for name in batch[0].after if name in unusable]
            if waiting_on:
                # its notebook would read runs that do not exist: say so instead of failing on a lookup
                detail = f"needs {', '.join(waiting_on)}, which did not finish in this run; fix that and rerun"
                results += [JobResult(job, BLOCKED, detail) for job in batch]
            else:
                handles = [backend.submit(execute, job) for job in batch]
                results += [backend.result(handle) for handle in handles]
            if any(result.status in (FAILED_JOB, BLOCKED) for result in results if result.job.entry == entry):
                unusable.add(entry)
    finally:
        backend.close()
    return results


RUNNER_BACKENDS = ("local", "ray")


def plan_backend(name: str, address: str = "", cpus_per_job: float = 1.0, gpus_per_job: float = 0.0) -> Backend:
    """The plan runner's backends: `local` runs one notebook after another in this process (papermill
    starts a kernel per job); `ray` runs each entry's jobs as Ray tasks on a local Ray or the cluster at
    `address` (RAY_ADDRESS), where the project folder and the MLflow store must be on a shared file system."""
    if name not in RUNNER_BACKENDS:
        raise PlanError(f"unknown backend {name!r}; choose one of {', '.join(RUNNER_BACKENDS)}")
    if name == "local":
        return InProcessBackend(threads=None)
    # a notebook that fails has failed: no retry, its run is FAILED and a rerun resumes it
    return RayBackend(
        None,
        threads=None,
        address=address or os.environ.get("RAY_ADDRESS", ""),
        gpus_per_job=gpus_per_job,
        max_retries=0,
        cpus_per_job=cpus_per_job,
    )


def execute_job(
    job: Job, root: Path, store: str, force: bool = False, log: Callable[[str], None] | None = None
) -> JobResult:
    """Run one job with papermill unless its plan_key already has a FINISHED run in `store`.

    The executed notebook is written to a temporary file and moved into place only on success, and attached to
    the run as an artifact; a failed job leaves its notebook under _build/failed-runs/ and its run FAILED (or
    KILLED), never RUNNING. The job's lock is held throughout (the notebook is told so by its `held_lock`
    parameter), so a second runner on the same store skips a job another one is running, never resuming or
    ending that live run.
    """
    from randnas.record.locks import RunBusy, job_lock
    from randnas.record.store import open_store

    opened = open_store(store)
    try:
        with job_lock(opened, job.plan_key):
            return _execute_job_locked(job, root, opened, force, log)
    except RunBusy as busy:
        return JobResult(job, "skipped", str(busy))


def store_parameter(store: Any, root: Path) -> str:
    """How a notebook run in `root` names the store: a file store inside the project by its relative path (so the
    executed copy names no folder of this machine), any other store by its URI."""
    if store.folder is not None and store.folder.is_relative_to(root):
        return store.folder.relative_to(root).as_posix()
    return store.uri


def _execute_job_locked(job: Job, root: Path, store: Any, force: bool, log: Callable[[str], None] | None) -> JobResult:
    import papermill

    from randnas.experiments.catalog import experiment_description
    from randnas.kernels import EncryptedKernelManager
    from randnas.record import store as record
    from randnas.record.artifacts import log_artifact
    from randnas.record.portable import scrub_notebook
    from randnas.record.vocabulary import (
        FAILED,
        FINISHED,
        KILLED,
        NOTE_TAG,
        NOTEBOOK_ARTIFACTS,
        SOURCE_TAG,
        TAG_BOOK_PAGE,
    )
    from randnas.record.writer import write_manifest

    output = root / job.output
    if owner := _other_plans_notebook(output, job):
        return JobResult(job, "failed", owner)
    finished = record.find_runs(store, plan_key=job.plan_key, status=FINISHED)
    if finished and not force and (damage := _damage(store, finished[0])):
        # a damaged run is not done: it is set aside (MLflow-deleted, its files kept) and the job trained again
        (log or print)(f"damaged  {job.plan_key}: run {finished[0].info.run_id} ({damage}); set aside, training again")
        record.delete_run(store, finished[0].info.run_id)
        finished = []
    if finished and not force:
        if output.is_file():
            return JobResult(job, "skipped", finished[0].info.run_id)
        # the run is in the record but its executed notebook is not: take it back from the record
        _restore_notebook(store, finished[0].info.run_id, output)
        return JobResult(job, "restored", finished[0].info.run_id)
    missing = job.missing_data()
    if missing:  # not a failure: this machine lacks data the entry cannot do without, and nothing was started
        return JobResult(
            job, "skipped", f"needs <data root>/{', <data root>/'.join(missing)}: give --data-root or set RANDNAS_DATA"
        )
    (log or print)(f"running {job.plan_key}")
    output.parent.mkdir(parents=True, exist_ok=True)
    parameters = {**job.parameters, "store": store_parameter(store, root), "held_lock": job.plan_key}
    with tempfile.TemporaryDirectory() as tmp:
        partial = Path(tmp) / output.name
        try:
            papermill.execute_notebook(
                str(job.notebook),
                str(partial),
                parameters=parameters,
                cwd=str(root),
                kernel_name="python3",
                progress_bar=False,
                start_timeout=300,  # a loaded 2-core machine can take over a minute to start a kernel
                kernel_manager_class=EncryptedKernelManager,
            )
        except BaseException as error:  # an interrupt too: the run must not be left RUNNING
            stopped = not isinstance(error, Exception)  # KeyboardInterrupt, SystemExit: stopped, not broken
            ended = _end_unfinished(store, job.plan_key, KILLED if stopped else FAILED)
            failed_copy = root / "_build" / "failed-runs" / job.output.relative_to(job.output.parts[0])
            if partial.is_file():
                failed_copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(partial, failed_copy)
            if stopped:
                raise  # Ctrl-C and sys.exit behave as such: the plan stops here
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            ended_note = f"; runs ended {', '.join(ended)}" if ended else ""
            return JobResult(job, "failed", f"{reason} (executed notebook: {failed_copy}{ended_note})")
        runs = record.find_runs(store, plan_key=job.plan_key, status=FINISHED)
        if not runs:
            return JobResult(job, "failed", "the notebook finished without a FINISHED MLflow run for its plan_key")
        label_executed_copy(partial, job)
        scrub_notebook(partial, root, output=job.output.as_posix())  # no paths of this machine in the record
        run_id = runs[0].info.run_id
        _supersede(store, runs[1:], run_id)
        log_artifact(store, run_id, partial, artifact_path=NOTEBOOK_ARTIFACTS)
        write_manifest(store, run_id)  # the manifest's digests cover the executed notebook too
        page = book_output(job.plan_key) or job.output.with_suffix(".html").as_posix()
        # the run names its notebook, and its description in the MLflow UI says where the book renders it
        source = job.notebook.resolve().relative_to(root.resolve()).as_posix()
        note = run_description(page, job.plan_key)
        record.set_run_tags(store, run_id, {TAG_BOOK_PAGE: page, NOTE_TAG: note, SOURCE_TAG: source})
        experiment_id = runs[0].info.experiment_id
        name = store.client().get_experiment(experiment_id).name
        record.describe_experiment(store, experiment_id, experiment_description(name))
        shutil.move(str(partial), output)
        return JobResult(job, "ran", run_id)


def run_description(page: str, plan_key: str) -> str:
    """A plan run's description in the MLflow UI: a link into the book `randnas ui` serves beside the record (its
    /book/ path) to the page that renders the run, the page's path in words too, and the plan job."""
    return f"Rendered in the book at [{page}](/book/{page}) (plan job {plan_key})."


# what each notebook is, in a word or three: the sidebar names an executed copy by it, its job and its preset
NOTEBOOK_LABELS = {
    "datasets.ipynb": "Datasets",
    "rsws_search.ipynb": "CNN RSWS search",
    "ptb_rsws_search.ipynb": "PTB RSWS search",
    "train_from_scratch.ipynb": "CNN training",
    "ptb_train_from_scratch.ipynb": "PTB training",
    "asha_search.ipynb": "{benchmark} ASHA search",
    "darts_search.ipynb": "CNN DARTS search",
    "ptb_darts_search.ipynb": "PTB DARTS search",
    "sw_ranking.ipynb": "Shared-weight ranking",
    "nb201_rsws.ipynb": "NAS-Bench-201 RSWS search",
    "nb201_darts.ipynb": "NAS-Bench-201 DARTS search",
    "nb201_best_of_n.ipynb": "NAS-Bench-201 best of N",
    "surrogate_asha.ipynb": "Surrogate: ASHA against random search",
}


def job_title(job: Job) -> str:
    """How the book names an executed copy: what it is, what tells it from its siblings, and its preset,
    e.g. "CNN DARTS search: setting darts-second, seed 0, repeat 2 (cpu)"."""
    what = NOTEBOOK_LABELS.get(job.notebook.name, job.notebook.stem.replace("_", " "))
    what = what.replace("{benchmark}", str(job.parameters.get("benchmark", "")).upper()).strip()
    which = ", ".join(
        f"{key.replace('_', ' ')} {value}" for key, value in job.axes if not isinstance(value, (dict, list))
    )
    return f"{what}{': ' + which if which else ''} ({job.parameters['preset']})"


def relabel_executed_copies(plan_path: Path, root: Path) -> int:
    """Give executed copies made by older code today's form: titled by `job_title` rather than the old way
    ("<title> [<preset>: <job>]"), detached from their plan job (`detach_from_plan`); how many changed."""
    import nbformat

    plan = load_plan(plan_path, root=root)
    changed = 0
    for preset in PRESETS:
        for job in expand(plan, preset):
            path = root / job.output
            if not path.is_file():
                continue
            notebook = nbformat.read(path, as_version=4)
            if detach_from_plan(notebook):  # a copy made before: its rerun is a hand run too
                nbformat.write(notebook, path)
                changed += 1
            heading = next(
                (cell for cell in notebook.cells if cell.cell_type == "markdown" and cell.source.startswith("# ")), None
            )
            suffix = f" [{preset}: {job.name}]"
            if heading is None or not heading.source.partition("\n")[0].endswith(suffix):
                continue
            first, _, rest = heading.source.partition("\n")
            heading.source = first.removesuffix(suffix) + (f"\n{rest}" if rest else "")
            nbformat.write(notebook, path)
            label_executed_copy(path, job)
            changed += 1
    return changed


def label_executed_copy(path: Path, job: Job) -> None:
    """Title the executed copy by what it is (`job_title`), the notebook's own title beneath it, so the book's
    contents tell copies apart in words rather than plan keys."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            first, _, rest = cell.source.partition("\n")
            cell.source = f"# {job_title(job)}\n\n*{first.removeprefix('# ')}*" + (f"\n{rest}" if rest else "")
            break
    hide_default_parameters(notebook)
    detach_from_plan(notebook)
    nbformat.write(notebook, path)


# the lines of papermill's injected cell that tie a copy to its plan job: `plan_key = "..."`, `held_lock = "..."`
_PLAN_PARAMETER = re.compile(r'^(plan_key|held_lock) = (["\'])(.+)\2\s*$', re.MULTILINE)


def detach_from_plan(notebook: Any) -> bool:
    """A reader reruns an executed copy with papermill: were it still to say `plan_key` (and `held_lock`, the lock
    the runner held), the rerun would log a second FINISHED run of the plan job that the tables would count. The
    copy says which job it ran as in a comment instead, so a rerun is a hand run (left out of the tables until
    `randnas record adopt`); the papermill metadata keeps the parameters as they were. Whether it changed."""
    changed = False
    for cell in notebook.cells:
        if "injected-parameters" not in cell.get("metadata", {}).get("tags", []):
            continue

        def comment(match: re.Match) -> str:
            name, value = match.group(1), match.group(3)
            why = (
                f"ran as plan job {value}; a rerun here is a hand run (`randnas run` reruns the job)"
                if name == "plan_key"
                else "the plan runner held this job's lock"
            )
            return f'{name} = ""  # {why}'

        source = _PLAN_PARAMETER.sub(comment, cell.source)
        changed |= source != cell.source
        cell.source = source
    return changed


def hide_default_parameters(notebook: Any) -> None:
    """The book shows one Parameters cell, the values the job ran with (papermill's `injected-parameters`): the
    notebook's own defaults cell stays in the copy, for papermill to rerun it, and is left out of the page."""
    tags_of = [cell.get("metadata", {}).get("tags", []) for cell in notebook.cells]
    if not any("injected-parameters" in tags for tags in tags_of):
        return
    for cell, tags in zip(notebook.cells, tags_of, strict=True):
        if "parameters" in tags and "remove-cell" not in tags:
            cell.setdefault("metadata", {})["tags"] = [*tags, "remove-cell"]


def _end_unfinished(store: Any, plan_key: str, status: str) -> list[str]:
    """End the job's RUNNING runs as `status`; a tracking server that stopped answering is said, not waited on:
    its run stays RUNNING, and the rerun resumes it from its checkpoint all the same."""
    from randnas.record import store as record

    try:
        record.check_reachable(store.uri)
    except record.StoreUnreachable as gone:
        return [f"none ({gone}; the rerun resumes the run from its checkpoint)"]
    return record.mark_unfinished(store, plan_key, status)


def _supersede(store: Any, older: Sequence[Any], run_id: str) -> None:
    """--force: the FINISHED runs `run_id` replaces stay in the record, tagged with it, and out of every table."""
    from randnas.record import store as record
    from randnas.record.vocabulary import TAG_SUPERSEDED_BY

    for run in older:
        if TAG_SUPERSEDED_BY not in run.data.tags:
            record.set_run_tags(store, run.info.run_id, {TAG_SUPERSEDED_BY: run_id})


def _other_plans_notebook(output: Path, job: Job) -> str:
    """Why `job` may not write `output` ("" when it may): the executed notebook there is another plan's job, which
    this one would overwrite (the book would then show this plan's run on that plan's page)."""
    import json

    from randnas.record.vocabulary import plan_key_parts

    if not output.is_file():
        return ""
    try:
        theirs = json.loads(output.read_text(encoding="utf-8"))["metadata"]["papermill"]["parameters"]["plan_key"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return ""  # not a plan job's executed copy: the runner's own rules apply
    ours, their_parts = plan_key_parts(job.plan_key), plan_key_parts(str(theirs))
    if ours is None or their_parts is None or ours[0] == their_parts[0]:
        return ""
    return (
        f"{job.output} holds plan {their_parts[0]!r}'s job {theirs}; plan {ours[0]!r} would overwrite it: give "
        f"its entry {job.entry!r} another key"
    )


def _damage(store: Any, run: Any) -> str:
    """The first damaged file of a run in a file store ("" when whole, or for a tracking server)."""
    from randnas.record.integrity import run_problems
    from randnas.record.store import run_folder

    folder = run_folder(store, run.info.experiment_id, run.info.run_id)
    problems = run_problems(folder) if folder is not None else []
    return problems[0] + (f" and {len(problems) - 1} more" if len(problems) > 1 else "") if problems else ""


def _restore_notebook(store: Any, run_id: str, output: Path) -> None:
    from randnas.record.artifacts import download_artifact
    from randnas.record.vocabulary import NOTEBOOK_ARTIFACTS

    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifact(store, run_id, f"{NOTEBOOK_ARTIFACTS}/{output.name}", Path(tmp))
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local, output)


def run_plan(
    plan_path: str | Path,
    preset: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
    store: str | Path | None = None,
    data_root: str = "",
    backend: str = "local",
    backend_options: Mapping[str, Any] | None = None,
    force: bool = False,
    only: Sequence[str] = (),
    log: Callable[[str], None] | None = None,  # default: print (looked up when used, so Ray can ship the job)
) -> list[JobResult]:
    """Expand a plan under a preset and run every job not already completed in the record."""
    from randnas.record.store import find_project_root, open_store

    root = (root or find_project_root()).resolve()
    check_preset(preset)
    plan = load_plan(Path(plan_path), root=root)
    store_uri = open_store(store).uri
    jobs = expand(plan, preset, overrides, data_root=data_root, only=only)
    if not jobs:
        raise PlanError(f"plan {plan.name!r} has no entry for preset {preset!r}")
    runner = plan_backend(backend, **(backend_options or {}))
    execute = functools.partial(execute_job, root=root, store=store_uri, force=force, log=log)
    return run_jobs(runner, jobs, execute)
