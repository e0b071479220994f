"""Is the record whole? Every run folder of a file store read back: its meta.yaml, its metric files, and what
its manifest says it logged. Each problem names the file, with what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

from randnas.record.vocabulary import MANIFEST_ARTIFACT

EXPERIMENT_KEYS = ("experiment_id", "name")
RUN_KEYS = ("run_id", "experiment_id", "status")


def _meta_problem(meta: Path, keys: tuple[str, ...]) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        reason = type(error).__name__
        return f"{meta}: not readable as YAML ({reason})"
    if not isinstance(data, dict):
        return f"{meta}: empty or not a mapping"
    missing = [key for key in keys if key not in data]
    return f"{meta}: lacks {', '.join(missing)}" if missing else None


def _metric_problem(path: Path) -> str | None:
    """MLflow's file store keeps one `timestamp value step` line per logged value."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return f"{path}: not text"
    for number, line in enumerate(lines, 1):
        fields = line.split()
        try:
            if len(fields) != 3:
                raise ValueError
            int(fields[0]), float(fields[1]), int(fields[2])
        except ValueError:
            return f"{path}: line {number} is not 'timestamp value step'"
    return None if lines else f"{path}: empty"


def run_problems(run: Path) -> list[str]:
    """What is damaged in one run folder of a file store: its meta.yaml, a malformed metric file, or (for a
    run that wrote a manifest) a metric file or param the manifest lists that is missing or shorter."""
    problems = []
    if (problem := _meta_problem(run / "meta.yaml", RUN_KEYS)) is not None:
        problems.append(problem)
    metrics = run / "metrics"
    for path in sorted(metrics.rglob("*")) if metrics.is_dir() else ():
        if path.is_file() and (problem := _metric_problem(path)) is not None:
            problems.append(problem)
    return [*problems, *_manifest_problems(run)]


def _manifest_problems(run: Path) -> list[str]:
    """What a run's manifest lists (each metric with its number of values, each param) and the folder lacks."""
    manifest = run / "artifacts" / MANIFEST_ARTIFACT
    if not manifest.is_file():
        return []
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [f"{manifest}: not readable as JSON"]
    problems = []
    for key, steps in sorted(listed.get("metrics", {}).items()):
        path = run / "metrics" / key
        if not path.is_file():
            problems.append(f"{path}: missing (the run logged metric {key!r})")
        elif len(path.read_bytes().splitlines()) < steps:
            problems.append(f"{path}: fewer values than the {steps} the run logged")
    for name in listed.get("params", []):
        if not (run / "params" / name).is_file():
            problems.append(f"{run / 'params' / name}: missing (the run logged param {name!r})")
    return problems


class RecordDamaged(RuntimeError):
    """A run the book or the plan runner reads has a damaged file."""


def is_deleted(run: Path) -> bool:
    """A run MLflow deleted (the runner sets a damaged run aside so): kept on disk, read by nothing."""
    try:
        return "lifecycle_stage: deleted" in (run / "meta.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def check_runs(folders: list[Path], known: list[str] | None = None) -> None:
    """Raise RecordDamaged naming every damaged file of these run folders (and the `known` problems)."""
    problems = [*(known or []), *(problem for folder in folders for problem in run_problems(folder))]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise RecordDamaged(
            f"{len(problems)} damaged file(s) in runs the book uses: {shown}. Restore each from git "
            "(git checkout -- FILE) or rerun its plan entry (the runner retrains a damaged job); "
            "`randnas record check` lists them all"
        )


def check_store(store: Path) -> tuple[int, list[str]]:
    """(runs checked, problems) of a file store: every experiment's and run's meta.yaml parses and has its keys,
    every metric file is well formed, and every metric and param a run's manifest lists is there. Each problem
    names the file; what to do is the same for all: `git checkout -- <file>` for a committed run, else delete the
    run's folder and rerun its plan entry (the runner then trains it again)."""
    problems, runs = [], 0
    for experiment in sorted(p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")):
        meta = experiment / "meta.yaml"
        if not meta.is_file():
            continue
        if (problem := _meta_problem(meta, EXPERIMENT_KEYS)) is not None:
            problems.append(problem)
        for run in sorted(p for p in experiment.iterdir() if p.is_dir() and (p / "meta.yaml").is_file()):
            if is_deleted(run):
                continue
            runs += 1
            problems.extend(run_problems(run))
    return runs, problems
