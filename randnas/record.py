"""Keeping the committed record private and portable: no absolute paths of the machine that made it.

Papermill writes the notebook's input and output paths (and the notebook's parameters, the data root among
them) into every executed copy; printed outputs can name the data root too. `scrub_notebook` turns those into
repo-relative paths and `<data root>`; `scrub_record` applies it, and the same to `data_root` params and config
artifacts, over `book/runs` and a file store, for records made before the runner did it itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from randnas.tracking import ANONYMOUS_USER, MANIFEST_ARTIFACT, RUNNING_STATUS_LINE, USER_TAG, replace_text

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
    text = path.read_text()
    notebook = json.loads(text)
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
    if param.is_file() and param.read_text().startswith("/"):
        param.write_text(DATA_ROOT_WORDS)
        changed = True
    config = run / "artifacts" / "config.json"
    if config.is_file():
        data = json.loads(config.read_text())
        if isinstance(data, dict) and str(data.get("data_root", "")).startswith("/"):
            data["data_root"] = DATA_ROOT_WORDS
            config.write_text(json.dumps(data))
            changed = True
    return changed


_USER_LINE = re.compile(r"^user_id: (.*)$", re.MULTILINE)


def _scrub_user(run: Path) -> int:
    """The login name MLflow recorded for a run (meta.yaml's user_id, the mlflow.user tag) -> MLflow's 'unknown'.
    A live run's meta.yaml is left to its writer (the next scrub takes it)."""
    changed = 0
    meta = run / "meta.yaml"
    text = meta.read_text(encoding="utf-8", errors="replace")
    if RUNNING_STATUS_LINE.search(text):
        return 0
    new_text = _USER_LINE.sub(f"user_id: {ANONYMOUS_USER}", text)
    if new_text != text:
        replace_text(meta, new_text)
        changed += 1
    tag = run / "tags" / USER_TAG
    if tag.is_file() and tag.read_text(encoding="utf-8", errors="replace") != ANONYMOUS_USER:
        tag.write_text(ANONYMOUS_USER, encoding="utf-8")
        changed += 1
    return changed


def scrub_record(repo_root: Path, store: Path) -> int:
    """Scrub every executed notebook under `book/runs` and the store's artifacts, and data-root params; returns the
    number of files changed."""
    changed = 0
    for notebook in sorted((repo_root / "book" / "runs").rglob("*.ipynb")):
        changed += scrub_notebook(notebook, repo_root, output=notebook.relative_to(repo_root).as_posix())
    for notebook in sorted(store.glob("*/*/artifacts/notebook/*.ipynb")):
        changed += scrub_notebook(notebook, repo_root)
    for run in store.glob("*/*/"):
        if (run / "meta.yaml").is_file():
            changed += _scrub_data_root_param(run)
            changed += _scrub_user(run)
    return changed


def export_record(repo_root: Path, store: Path, source_uri: str | None = None) -> tuple[int, int, int]:
    """Make `store` the portable committed record: copy into it the runs the book uses from `source_uri` (a
    tracking server, when one is given), write its artifact paths relative to the repo, and scrub the
    recording machine's paths. Returns (runs copied, meta.yaml files made portable, files scrubbed).

    One step after the runs, not a rewrite after each: a live run's meta.yaml is left to the next export."""
    from randnas import tracking

    copied = tracking.copy_runs(source_uri, store) if source_uri else 0
    if not store.is_dir():
        raise FileNotFoundError(f"no file store at {store}; give --store, or --from a tracking server to copy from")
    return copied, tracking.make_portable(store), scrub_record(repo_root, store)


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


# ---- integrity --------------------------------------------------------------------------------------

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


MANIFEST = MANIFEST_ARTIFACT  # a FINISHED run writes it last: its metric keys with their step counts, its params


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
    manifest = run / "artifacts" / MANIFEST
    if manifest.is_file():
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return [*problems, f"{manifest}: not readable as JSON"]
        for key, steps in sorted(listed.get("metrics", {}).items()):
            path = metrics / key
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
