"""Is the record whole? Every run folder of a file store read back: its meta.yaml, its metric files, and what
its manifest says it logged. Each problem names the file, with what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from randnas.record.manifest import digest_problems
from randnas.record.vocabulary import MANIFEST_ARTIFACT, PARENT_TAG

FINISHED_CODE = 3  # RunStatus.FINISHED as the file store writes it in meta.yaml

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
    """What is damaged in one run folder of a file store: its meta.yaml (and where it puts the artifacts), a
    malformed metric file or a param or tag file that is not text, a file left half-written, and whatever differs
    from the run's manifest: a metric, param, tag or artifact missing, shorter or changed; a finished run that is
    not a child run and has no manifest."""
    problems = []
    meta_problem = _meta_problem(run / "meta.yaml", RUN_KEYS)
    if (problem := meta_problem or artifact_location_problem(run)) is not None:
        problems.append(problem)
    metric_problems = [problem for path in _files(run / "metrics") if (problem := _metric_problem(path)) is not None]
    text_problems = [
        f"{path}: not UTF-8 text; restore it from git (git checkout -- FILE)"
        for folder in ("params", "tags")
        for path in _files(run / folder)
        if not _is_text(path)
    ]
    partial = [
        f"{path}: left by an interrupted write; delete it (the file beside it is the whole one)"
        for path in sorted(run.rglob("*.partial"))
    ]
    problems += [*metric_problems, *text_problems, *partial]
    # a malformed file is named above; its digest would only say it again
    return [*problems, *_manifest_problems(run, digests=not (metric_problems or text_problems))]


def _files(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.rglob("*")) if path.is_file()] if folder.is_dir() else []


def _is_text(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def artifact_location_problem(run: Path) -> str | None:
    """A run's artifacts must lie in its own folder: a meta.yaml pointing elsewhere (`../../etc`) would make the
    UI and every reader take files from outside the record."""
    import yaml

    try:
        data = yaml.safe_load((run / "meta.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # named as damaged by `_meta_problem`
    if not isinstance(data, dict):
        return None
    uri = str(data.get("artifact_uri", ""))
    if not uri:
        return f"{run / 'meta.yaml'}: lacks artifact_uri"
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None  # remote artifacts: not this check's to follow
    location = Path(unquote(parsed.path))
    store = run.parent.parent
    if not location.is_absolute():
        location = store.parent / location  # the committed record's paths are relative to the repo
    if not location.resolve().is_relative_to(run.resolve()):
        return (
            f"{run / 'meta.yaml'}: artifact_uri {uri} lies outside the run's folder; restore the file from git "
            f"(git checkout -- FILE) or set it to {store.name}/{run.parent.name}/{run.name}/artifacts"
        )
    return None


def _manifest_problems(run: Path, digests: bool = True) -> list[str]:
    """What a run's manifest lists (each metric with its number of values, each param; with version 2, each tag
    and a digest of every param, tag, metric series and artifact) and the folder lacks or has changed."""
    listed, problem = _read_manifest(run)
    if listed is None:
        return [problem] if problem else []
    problems = []
    for key, steps in sorted(listed.get("metrics", {}).items()):
        path = run / "metrics" / key
        if not path.is_file():
            problems.append(f"{path}: missing (the run logged metric {key!r})")
        elif len(path.read_bytes().splitlines()) < steps:
            problems.append(f"{path}: fewer values than the {steps} the run logged")
    for kind in ("params", "tags"):
        problems += [
            f"{run / kind / name}: missing (the run logged {kind[:-1]} {name!r})"
            for name in listed.get(kind, [])
            if not (run / kind / name).is_file()
        ]
    if digests:  # a file named above (missing, shorter) is not named again for its digest
        named = [problem.split(": ", 1)[0] for problem in problems]
        problems += [
            problem
            for problem in digest_problems(run, listed)
            if not any(path == (where := problem.split(": ", 1)[0]) or path.startswith(where + "/") for path in named)
        ]
    return problems


def _read_manifest(run: Path) -> tuple[dict | None, str]:
    """(the run's manifest, "") or (None, why it cannot be used; "" for a run that need not have one)."""
    manifest = run / "artifacts" / MANIFEST_ARTIFACT
    if not manifest.is_file():
        if _finished_parent(run):
            return None, (
                f"{manifest}: missing, so nothing the run logged can be verified; restore it from git or rerun "
                "the run's plan entry"
            )
        return None, ""
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, f"{manifest}: not readable as JSON"
    if not isinstance(listed, dict):
        return None, f"{manifest}: not a manifest (a JSON object)"
    return listed, ""


def _finished_parent(run: Path) -> bool:
    """A FINISHED run that is no child run: one that wrote a manifest as its last act."""
    import yaml

    try:
        data = yaml.safe_load((run / "meta.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and data.get("status") == FINISHED_CODE and not (run / "tags" / PARENT_TAG).is_file()


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
    named = {problem.split(": ", 1)[0] for problem in problems}
    problems += [
        f"{path}: left by an interrupted write; delete it (the file beside it is the whole one)"
        for path in sorted(store.rglob("*.partial"))
        if str(path) not in named
    ]
    return runs, problems


def upgrade_manifest(store: Any, run: Any) -> str:
    """Bring a FINISHED run's manifest to the current version: "written", "current" (nothing to do), or why it is
    refused. A manifest is only rewritten when what the old one lists still checks out: blessing a damaged run
    would make its damage the new truth."""
    from randnas.record.manifest import MANIFEST_VERSION
    from randnas.record.store import run_folder
    from randnas.record.writer import write_manifest

    folder = run_folder(store, run.info.experiment_id, run.info.run_id)
    if folder is None:
        return "current"  # a tracking server's run: nothing here can verify it, so nothing is rewritten
    listed, problem = _read_manifest(folder)
    if listed is None:
        return problem or "current"
    if listed.get("version") == MANIFEST_VERSION:
        return "current"
    problems = run_problems(folder)
    if problems:
        return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    write_manifest(store, run.info.run_id)
    return "written"
