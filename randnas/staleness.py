"""Is a finished run what today's code would compute? The code a job depends on, not any change in the package.

A job runs one notebook; what it computes depends on that notebook and on the `randnas` modules it imports, and
theirs in turn (every import in a module counts, a function's lazy ones too: the rule errs towards stale). A run
is stale when one of those files differs between the commit it was made at and the checkout's HEAD, or when it
came from a work tree with uncommitted changes. A change to the book's report code or to another kind's search
leaves it current. One `git diff` per commit answers for every job made at that commit.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
from pathlib import Path
from typing import Any

PACKAGE = "randnas"


def _module_file(root: Path, name: str) -> Path | None:
    """The file of module `name` (dotted) under `root`, or None when it is not a module of the package."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every dotted name an import in `tree` may load: `from a import b` may load the module `a.b` too."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, up `level - 1` more
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _notebook_tree(notebook: Path) -> ast.Module:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    body: list[ast.stmt] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            body += ast.parse(source).body
        except SyntaxError:
            continue  # a cell that is not Python (a shell line): it imports nothing of ours
    return ast.Module(body=body, type_ignores=[])


def notebook_dependencies(root: Path, notebook: Path) -> tuple[str, ...]:
    """The repo-relative files of every `randnas` module the notebook loads, directly or through other modules,
    with the `__init__.py` of each package on the way."""
    seen: dict[str, Path] = {}
    pending = sorted(_imports(_notebook_tree(notebook), "__notebook__", False))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        path = _module_file(root, name)
        if path is None:
            continue  # an attribute imported from a module (that module is in the set), or a module that is gone
        seen[name] = path
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pending += [*parents, *sorted(_imports(tree, name, path.name == "__init__.py") - set(seen))]
    return tuple(sorted(path.relative_to(root).as_posix() for path in seen.values()))


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.lru_cache(maxsize=256)
def _changed_since(root: str, commit: str, head: str) -> frozenset[str] | None:
    """The files that differ between `commit` and `head` (both commit ids: cached); None if git cannot say."""
    if _git(Path(root), "cat-file", "-e", f"{commit}^{{commit}}") is None:
        return None
    changed = _git(Path(root), "diff", "--name-only", commit, head)
    return None if changed is None else frozenset(changed.splitlines())


def stale_reason(root: Path, notebook: Path, tags: Any) -> str:
    """Why a FINISHED run of the job running `notebook` may not be what today's code would compute ("" if it is
    current): a file it depends on (`notebook_dependencies`, the notebook itself) changed since the run's commit,
    or the run came from a work tree with uncommitted changes. `tags` are the run's tags."""
    from randnas.record.vocabulary import TAG_GIT_COMMIT, TAG_GIT_DIRTY

    root = root.resolve()
    commit = tags.get(TAG_GIT_COMMIT, "unknown")
    if commit == "unknown":
        return "made outside a git checkout"
    head = _git(root, "rev-parse", "HEAD") or "HEAD"
    changed = _changed_since(str(root), commit, head)
    if changed is None:
        return f"its commit {commit[:8]} is not in this checkout's history"
    depends_on = [notebook.resolve().relative_to(root).as_posix(), *notebook_dependencies(root, notebook)]
    moved = [path for path in depends_on if path in changed]
    reasons = []
    if moved:
        shown = ", ".join(moved[:3]) + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
        reasons.append(f"{shown} changed since its commit {commit[:8]}")
    if tags.get(TAG_GIT_DIRTY) == "true":
        reasons.append("made from a work tree with uncommitted changes")
    return "; ".join(reasons)
