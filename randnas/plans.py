"""Experiment plans: which notebooks run with which parameters, per preset, and the runner.

A plan is a YAML file::

    name: default
    description: what the plan is for
    entries:
      datasets:                       # entry key
        notebook: notebooks/datasets.ipynb
        params: {sample_count: 16}    # every preset
        grid: {seed: [0, 1]}          # cartesian product -> one job per combination
        presets:                      # an entry runs only in the presets it names
          smoke: {params: {...}, grid: {...}}
          cpu: {extra: [{seed: 1, repeat: 2}]}   # jobs beside the grid, e.g. one same-seed repeat
          paper: {}

Parameters resolve as: entry params < preset params < grid values (or an `extra` point's) < command-line
overrides. A job is named by its grid values, so a repeat `{seed: 1, repeat: 2}` sits beside the grid's
`seed-1` job and the book shows their digests side by side.
Each job has a `plan_key` (plan/entry/preset/name@hash of its parameters). The runner skips a job whose
key already has a FINISHED MLflow run, so rerunning an interrupted plan finishes it, and a job whose
parameters changed runs again.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from randnas.backends import Backend, InProcessBackend, RayBackend

PRESETS = ("smoke", "cpu", "paper")
PRESET_DESCRIPTIONS = {
    "smoke": "embedded data (digits, pydoc text), minutes on a CPU",
    "cpu": "real data from the data root (CIFAR-10, PTB), hours on a 2-core CPU",
    "paper": "the paper's settings, for GPUs (days)",
}
# Parameters the runner passes to every notebook; each notebook's `parameters` cell declares them.
INJECTED = ("preset", "plan_key", "data_root", "store", "held_lock")
ENTRY_KEYS = {"notebook", "params", "grid", "presets", "description", "requires", "after"}
ENTRY_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
PRESET_KEYS = {"params", "grid", "extra"}


class PlanError(ValueError):
    """A plan, preset or override is malformed; the message names the problem."""


@dataclass(frozen=True)
class PlanEntry:
    key: str
    notebook: Path
    description: str
    params: Mapping[str, Any]
    grid: Mapping[str, Sequence[Any]]
    presets: Mapping[str, Mapping[str, Any]]
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # earlier entries whose runs this entry's notebook reads


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    path: Path
    entries: tuple[PlanEntry, ...]


@dataclass(frozen=True)
class Job:
    plan_key: str
    entry: str
    name: str
    notebook: Path
    parameters: Mapping[str, Any] = field(hash=False)
    output: Path
    requires: tuple[str, ...] = ()  # folders under the data root the notebook needs whatever the preset
    after: tuple[str, ...] = ()  # entries whose runs it reads
    axes: tuple[tuple[str, Any], ...] = field(default=(), hash=False)  # what tells it from the entry's other jobs

    def missing_data(self) -> list[str]:
        """The required folders absent from this job's data root (the argument, else $RANDNAS_DATA, else ./data)."""
        from randnas.data.base import data_root

        root = data_root(self.parameters.get("data_root") or None)
        return [folder for folder in self.requires if not (root / folder).is_dir()]


def check_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise PlanError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return preset


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PlanError(f"{where} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _grid(value: Any, where: str) -> dict[str, list]:
    grid = _mapping(value, where)
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise PlanError(f"{where}.{name} must be a non-empty list of values")
    return grid


def _extra(value: Any, where: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(point, Mapping) and point for point in value):
        raise PlanError(f"{where} must be a list of non-empty mappings, e.g. [{{seed: 1, repeat: 2}}]")
    return [dict(point) for point in value]


def _requires(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and ENTRY_KEY.fullmatch(v) for v in value):
        raise PlanError(f"{where}: a list of folder names under the data root (e.g. [yahpo-nb301])")
    return tuple(value)


def load_plan(path: str | Path, root: Path | None = None) -> Plan:
    """Read and check a plan; notebook paths are relative to `root` (default: the current folder)."""
    path = Path(path)
    root = root or Path.cwd()
    if not path.is_file():
        raise PlanError(f"plan {path} not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise PlanError(f"plan {path} is not valid YAML: {error}".splitlines()[0]) from None
    raw = _mapping(raw, f"plan {path}")
    unknown = set(raw) - {"name", "description", "entries"}
    if unknown:
        raise PlanError(f"plan {path}: unknown key(s) {sorted(unknown)}; allowed: name, description, entries")
    if not raw.get("name") or not isinstance(raw["name"], str):
        raise PlanError(f"plan {path}: needs a `name` string")
    entries_raw = _mapping(raw.get("entries"), f"plan {path}: entries")
    if not entries_raw:
        raise PlanError(f"plan {path}: needs at least one entry under `entries`")
    entries = []
    for key, spec in entries_raw.items():
        where = f"plan {path}: entry {key!r}"
        spec = _mapping(spec, where)
        unknown = set(spec) - ENTRY_KEYS
        if unknown:
            raise PlanError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTRY_KEYS)}")
        if "notebook" not in spec:
            raise PlanError(f"{where}: needs a `notebook`")
        # an entry's key names folders under book/runs: a plain name, so no job writes outside the project
        if not ENTRY_KEY.fullmatch(str(key)):
            raise PlanError(f"{where}: an entry key is letters, digits, '.', '_' and '-' only (not a path)")
        notebook = root / spec["notebook"]
        if not notebook.resolve().is_relative_to(root.resolve()):
            raise PlanError(f"{where}: notebook {spec['notebook']} lies outside the project {root}")
        if not notebook.is_file():
            raise PlanError(f"{where}: notebook {spec['notebook']} not found under {root}")
        presets = _mapping(spec.get("presets"), f"{where}.presets")
        for preset, override in presets.items():
            check_preset(preset)
            override = _mapping(override, f"{where}.presets.{preset}")
            unknown = set(override) - PRESET_KEYS
            if unknown:
                raise PlanError(
                    f"{where}.presets.{preset}: unknown key(s) {sorted(unknown)}; allowed: params, grid, extra"
                )
            _mapping(override.get("params"), f"{where}.presets.{preset}.params")
            _grid(override.get("grid"), f"{where}.presets.{preset}.grid")
            _extra(override.get("extra"), f"{where}.presets.{preset}.extra")
            presets[preset] = override
        entries.append(
            PlanEntry(
                key=str(key),
                notebook=notebook,
                description=str(spec.get("description", "")),
                params=_mapping(spec.get("params"), f"{where}.params"),
                grid=_grid(spec.get("grid"), f"{where}.grid"),
                presets=presets,
                requires=_requires(spec.get("requires"), f"{where}.requires"),
                after=_after(spec.get("after"), f"{where}.after", [entry.key for entry in entries]),
            )
        )
    return Plan(name=raw["name"], description=str(raw.get("description", "")), path=path, entries=tuple(entries))


def _after(value: Any, where: str, earlier: Sequence[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlanError(f"{where}: a list of entry keys, e.g. [cnn-rsws]")
    unknown = [name for name in value if name not in earlier]
    if unknown:
        raise PlanError(
            f"{where}: {', '.join(unknown)} is not an earlier entry of this plan; an entry can only "
            "read the runs of entries above it"
        )
    return tuple(value)


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings, values read as YAML (`seed=3`, `seed=[1,2]`, `dataset=cifar10`)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PlanError(f"override {pair!r} is not KEY=VALUE")
        try:
            overrides[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0]
            raise PlanError(f"override {pair!r}: the value is not valid YAML ({problem}); e.g. seed=[3,4]") from None
    return overrides


def parameters_hash(parameters: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _slug(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in text)


def expand(
    plan: Plan,
    preset: str,
    overrides: Mapping[str, Any] | None = None,
    runs_dir: Path = Path("book/runs"),
    data_root: str = "",
    notebook_parameters: Callable[[Path], set[str]] | None = None,
    only: Sequence[str] = (),
) -> list[Job]:
    """The jobs of `plan` under `preset` (of the entries in `only`, if given). An override of a grid
    axis with a list replaces that axis, and keeps only the `extra` points on that axis's new values."""
    check_preset(preset)
    unknown = set(only) - {entry.key for entry in plan.entries}
    if unknown:
        raise PlanError(
            f"plan {plan.name!r} has no entry {sorted(unknown)}; its entries are {', '.join(e.key for e in plan.entries)}"
        )
    overrides = dict(overrides or {})
    read_parameters = notebook_parameters or declared_parameters
    # types are checked against real notebooks' defaults (a caller's own parameter list has none)
    read_defaults: Callable[[Path], Mapping[str, Any]] = (
        parameter_defaults if notebook_parameters is None else (lambda _: {})
    )
    jobs = []
    for entry in plan.entries:
        if preset not in entry.presets or (only and entry.key not in only):
            continue
        declared = read_parameters(entry.notebook)
        missing = [name for name in INJECTED if name not in declared]
        if missing:
            raise PlanError(f"{entry.notebook.name}: its parameters cell must declare {missing}")
        preset_spec = entry.presets[preset]
        base = {**entry.params, **preset_spec.get("params", {})}
        grid = {**entry.grid, **preset_spec.get("grid", {})}
        fixed_overrides, replaced_axes = {}, set()
        for key, value in overrides.items():
            if key in INJECTED:
                raise PlanError(f"override {key!r} is set by the runner; use --preset or --data-root")
            if key not in declared:
                raise PlanError(
                    f"override {key!r} is not a parameter of {entry.notebook.name}; it has {sorted(declared - set(INJECTED))}"
                )
            if key in grid and isinstance(value, list):
                grid[key] = value
                replaced_axes.add(key)
            else:
                grid.pop(key, None)
                fixed_overrides[key] = value
        extra = preset_spec.get("extra") or []  # checked by load_plan
        for key in [*base, *grid, *(key for point in extra for key in point)]:
            if key not in declared:
                raise PlanError(f"entry {entry.key!r}: {key!r} is not a parameter of {entry.notebook.name}")
        axes = list(grid)
        points = [dict(zip(axes, values)) for values in itertools.product(*(grid[axis] for axis in axes))]
        for point in extra:
            if all(point[axis] in grid[axis] for axis in replaced_axes if axis in point):
                points.append({key: value for key, value in point.items() if key not in fixed_overrides})
        names = set()
        for point in points:
            parameters = {**base, **point, **fixed_overrides}
            name_parts = [f"{axis}-{_slug(value)}" for axis, value in point.items()]
            name_parts += [f"{key}-{_slug(value)}" for key, value in fixed_overrides.items()]
            name = "_".join(name_parts) or "default"
            if name in names:  # an extra point that the grid already holds
                continue
            names.add(name)
            check_parameter_types(entry.notebook, parameters, read_defaults(entry.notebook))
            plan_key = f"{plan.name}/{entry.key}/{preset}/{name}@{parameters_hash(parameters)}"
            parameters.update(preset=preset, plan_key=plan_key, data_root=data_root)
            jobs.append(
                Job(
                    plan_key=plan_key,
                    entry=entry.key,
                    name=name,
                    notebook=entry.notebook,
                    parameters=parameters,
                    output=runs_dir / preset / entry.key / f"{name}.ipynb",
                    requires=entry.requires,
                    after=entry.after,
                    axes=tuple((key, value) for key, value in [*point.items(), *fixed_overrides.items()]),
                )
            )
    return jobs


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged `parameters` (papermill's convention)."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


@functools.lru_cache(maxsize=64)
def parameter_defaults(notebook: Path) -> dict[str, Any]:
    """The default value of each parameter, read from the `parameters` cell (literals only; others: None)."""
    import ast

    import papermill

    defaults = {}
    for name, spec in papermill.inspect_notebook(str(notebook)).items():
        try:
            defaults[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError):
            defaults[name] = None
    return defaults


def check_parameter_types(notebook: Path, parameters: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """A value must have its default's type (an int where a float is expected is fine), so that
    `seed=abc` or `epochs=[1]` fails here, before any run is created, instead of inside a kernel."""
    for name, value in parameters.items():
        default = defaults.get(name)
        if default is None or name in INJECTED:
            continue
        if isinstance(default, bool):
            expected: tuple[type, ...] = (bool,)
        elif isinstance(default, int):
            expected = (int,)
        elif isinstance(default, float):
            expected = (int, float)
        else:
            expected = (type(default),)
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise PlanError(
                f"{notebook.name}: parameter {name!r} must be {' or '.join(t.__name__ for t in expected)} "
                f"like its default {default!r}, got {value!r}"
            )


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

    from randnas.kernels import EncryptedKernelManager
    from randnas.record import store as record
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

    output = root / job.output
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
            ended = record.mark_unfinished(store, job.plan_key, KILLED if stopped else FAILED)
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
        record.log_artifact(store, run_id, partial, artifact_path=NOTEBOOK_ARTIFACTS)
        page = book_output(job.plan_key) or job.output.with_suffix(".html").as_posix()
        # the run names its notebook, and its description in the MLflow UI says where the book renders it
        source = job.notebook.resolve().relative_to(root.resolve()).as_posix()
        note = f"Rendered in the book at {page} (plan job {job.plan_key})."
        record.set_run_tags(store, run_id, {TAG_BOOK_PAGE: page, NOTE_TAG: note, SOURCE_TAG: source})
        shutil.move(str(partial), output)
        return JobResult(job, "ran", run_id)


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
    """Give executed copies titled the old way ("<title> [<preset>: <job>]") their `job_title`; how many changed."""
    import nbformat

    plan = load_plan(plan_path, root=root)
    changed = 0
    for preset in PRESETS:
        for job in expand(plan, preset):
            path = root / job.output
            if not path.is_file():
                continue
            notebook = nbformat.read(path, as_version=4)
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
    nbformat.write(notebook, path)


def _rev_parse(root: str, name: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", name], cwd=root, capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.lru_cache(maxsize=512)
def _git_object(root: str, commit: str, path: str) -> str | None:
    """The id of `path` (a tree or a file) at `commit` (a commit id: cached, HEAD would go stale) in the
    repository at `root`; None if git cannot say."""
    return _rev_parse(root, f"{commit}:{path}")


def stale_reason(root: Path, job: Job, run: Any) -> str:
    """Why a FINISHED run of `job` may not be what the code would compute now ("" if it is current): the
    package (`randnas/`) or the job's notebook differs between the run's commit and the checkout's HEAD,
    or the run came from a work tree with uncommitted changes."""
    from randnas.record.vocabulary import TAG_GIT_COMMIT, TAG_GIT_DIRTY

    tags = run.data.tags
    commit = tags.get(TAG_GIT_COMMIT, "unknown")
    notebook = job.notebook.resolve().relative_to(root.resolve()).as_posix()
    if commit == "unknown":
        return "made outside a git checkout"
    if _git_object(str(root), commit, "randnas") is None:
        return f"its commit {commit[:8]} is not in this checkout's history"
    head = _rev_parse(str(root), "HEAD") or "HEAD"
    changed = [
        path
        for path in ("randnas", notebook)
        if _git_object(str(root), commit, path) != _git_object(str(root), head, path)
    ]
    reasons = [f"{' and '.join(changed)} changed since its commit {commit[:8]}"] if changed else []
    if tags.get(TAG_GIT_DIRTY) == "true":
        reasons.append("made from a work tree with uncommitted changes")
    return "; ".join(reasons)


def book_output(plan_key: str) -> str:
    """Where the book renders a plan job's executed notebook ("" for a key that is not a plan job's)."""
    from randnas.record.vocabulary import plan_key_parts

    parts = plan_key_parts(plan_key)
    if parts is None:
        return ""
    _, entry, preset, name = parts
    return f"book/runs/{preset}/{entry}/{name}.html"


def _damage(store: Any, run: Any) -> str:
    """The first damaged file of a run in a file store ("" when whole, or for a tracking server)."""
    from randnas.record.integrity import run_problems
    from randnas.record.store import run_folder

    folder = run_folder(store, run.info.experiment_id, run.info.run_id)
    problems = run_problems(folder) if folder is not None else []
    return problems[0] + (f" and {len(problems) - 1} more" if len(problems) > 1 else "") if problems else ""


def _restore_notebook(store: Any, run_id: str, output: Path) -> None:
    from randnas.record.store import download_artifact
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
