"""A run's manifest: what it logged, with a digest of its content, written as its last artifact.

`record check`, the plan runner and the book compare a run folder against its manifest, so a deleted tag, an
edited param or metric value, or a truncated artifact is named instead of silently changing a table. One
content model serves both sides: the writer reads the run through MLflow's client (any store), the checker reads
the file store's folder; both reduce it to the same `RunContent`, and `content_digests` hashes that.

What is hashed: every param; every `randnas.` tag except the few set after the run ends (its book page, an
adoption, an export's source id, a supersession); every metric series as (step, value) pairs, timestamps left
out, sorted; every artifact file but the manifest itself. Version 1 manifests (counts and param names only) are
still checked for what they hold; `randnas record upgrade` rewrites them as version 2 once those checks pass.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from randnas.record.vocabulary import (
    MANIFEST_ARTIFACT,
    TAG_ADOPTED,
    TAG_BOOK_PAGE,
    TAG_EXPORTED_FROM,
    TAG_PREFIX,
    TAG_SUPERSEDED_BY,
)

MANIFEST_VERSION = 2
# tags a run may gain after it ends, by the runner or a record command: outside the digest
LATER_TAGS = frozenset({TAG_BOOK_PAGE, TAG_ADOPTED, TAG_EXPORTED_FROM, TAG_SUPERSEDED_BY})


@dataclass(frozen=True)
class RunContent:
    params: Mapping[str, str]
    tags: Mapping[str, str]  # the run's `randnas.` tags less LATER_TAGS
    metrics: Mapping[str, list[tuple[int, float]]]
    artifacts: Mapping[str, str]  # relative path -> sha256 of the file


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hashed_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in tags.items() if key.startswith(TAG_PREFIX) and key not in LATER_TAGS}


def artifact_digests(folder: Path | None) -> dict[str, str]:
    if folder is None or not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST_ARTIFACT
    }


def content_digests(content: RunContent) -> dict[str, Any]:
    """The manifest's `digests`: one per param set and tag set, one per metric series, one per artifact."""
    return {
        "params": _sha(sorted(content.params.items())),
        "tags": _sha(sorted(content.tags.items())),
        "metrics": {key: _sha(sorted(series)) for key, series in sorted(content.metrics.items())},
        "artifacts": dict(sorted(content.artifacts.items())),
    }


def manifest_of(content: RunContent) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "metrics": {key: len(series) for key, series in sorted(content.metrics.items())},
        "params": sorted(content.params),
        "tags": sorted(content.tags),
        "digests": content_digests(content),
    }


def content_from_client(store: Any, run_id: str) -> RunContent:
    """A run's content read through MLflow (a file store or a tracking server)."""
    from randnas.record.artifacts import artifact_folder, download_artifact

    client = store.client()
    data = client.get_run(run_id).data
    metrics = {
        key: [(int(m.step), float(m.value)) for m in client.get_metric_history(run_id, key)] for key in data.metrics
    }
    local = artifact_folder(store, run_id)
    if local is not None:
        artifacts = artifact_digests(local)
    else:  # a tracking server: the artifacts are hashed from a download
        with tempfile.TemporaryDirectory() as tmp:
            names = [entry.path for entry in client.list_artifacts(run_id)]
            for name in names:
                download_artifact(store, run_id, name, Path(tmp))
            artifacts = artifact_digests(Path(tmp))
    return RunContent(dict(data.params), hashed_tags(data.tags), metrics, artifacts)


def _key_files(folder: Path) -> dict[str, str]:
    """A file store's params/ or tags/ folder: key (nested keys as paths) -> the file's text."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes().decode("utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _series(path: Path) -> list[tuple[int, float]]:
    return [(int(step), float(value)) for _, value, step in (line.split() for line in path.read_text().splitlines())]


def content_from_folder(run: Path) -> RunContent:
    """A run's content read from its file-store folder (the metric files must be well formed: checked first)."""
    metrics_folder = run / "metrics"
    metrics = {
        path.relative_to(metrics_folder).as_posix(): _series(path)
        for path in sorted(metrics_folder.rglob("*"))
        if metrics_folder.is_dir() and path.is_file()
    }
    return RunContent(
        _key_files(run / "params"), hashed_tags(_key_files(run / "tags")), metrics, artifact_digests(run / "artifacts")
    )


def digest_problems(run: Path, listed: Mapping[str, Any]) -> list[str]:
    """Where a run folder's content differs from its version-2 manifest `listed`, each naming the file."""
    digests = listed.get("digests")
    if not isinstance(digests, dict):
        return []
    try:
        content = content_from_folder(run)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"{run}: a param, tag or metric file cannot be read ({type(error).__name__})"]
    now = content_digests(content)
    problems = []
    if now["params"] != digests.get("params"):
        changed = sorted(set(listed.get("params", [])) ^ set(content.params)) or ["a value"]
        problems.append(f"{run / 'params'}: differs from what the run logged ({', '.join(changed)})")
    if now["tags"] != digests.get("tags"):
        changed = sorted(set(listed.get("tags", [])) ^ set(content.tags)) or ["a value"]
        problems.append(f"{run / 'tags'}: differs from what the run logged ({', '.join(changed)})")
    for key, digest in sorted(digests.get("metrics", {}).items()):
        if key in now["metrics"] and now["metrics"][key] != digest:
            problems.append(f"{run / 'metrics' / key}: its values differ from what the run logged")
    for name, digest in sorted(digests.get("artifacts", {}).items()):
        path = run / "artifacts" / name
        if not path.is_file():
            problems.append(f"{path}: missing (the run logged artifact {name!r})")
        elif now["artifacts"].get(name) != digest:
            problems.append(f"{path}: its content differs from what the run logged (truncated or edited)")
    return problems


def refresh_manifest(run: Path) -> bool:
    """Rewrite a version-2 manifest from the run folder as it is now; for a command that changed the folder on
    purpose (the export's scrub of this machine's paths) after checking that it was whole. True if rewritten."""
    import os

    path = run / "artifacts" / MANIFEST_ARTIFACT
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(listed, dict) or listed.get("version") != MANIFEST_VERSION:
        return False
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(manifest_of(content_from_folder(run)), indent=2), encoding="utf-8")
    os.replace(partial, path)
    return True
