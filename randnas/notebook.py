"""What a parameterized notebook checks before it does anything: the parameters papermill injected.

Papermill adds an "injected-parameters" cell after a notebook's `parameters` cell and accepts any name
(with a warning) and any value. A misspelt or unknown name would silently leave the default in place
(`-p epochs -1` on a notebook whose epochs live in `overrides` trains the default and records it), and a
value of the wrong kind (`-p seed abc`) would fail somewhere deep. The notebook's first cell after its
parameters calls `check_parameters()`, which reads both cells from the kernel's input history and fails
with one line naming the parameter and what the notebook takes, before any run is opened.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from randnas.configs import SettingError

DECLARED_MARKER = "# Parameters (papermill"  # how this project's parameters cells begin
INJECTED_MARKER = "# Parameters\n"  # how papermill's injected cell begins


def assignments(source: str) -> dict[str, Any]:
    """The names a cell assigns, with their literal values (`...` where a value is no literal)."""
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                values[node.targets[0].id] = ...
    return values


def _kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a mapping",
        list: "a list",
    }.get(type(value), type(value).__name__)


def _same_kind(default: Any, value: Any) -> bool:
    if default is None or default is ... or value is ...:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def check_injected(declared: dict[str, Any], injected: dict[str, Any]) -> None:
    """Raise SettingError for an injected name the notebook does not declare, or a value of another kind."""
    for name, value in injected.items():
        if name not in declared:
            raise SettingError(
                f"unknown parameter {name!r}; this notebook takes {', '.join(declared)} "
                '(settings such as epochs go inside `overrides`, e.g. -y "overrides: {epochs: 2}")'
            )
        if not _same_kind(declared[name], value):
            raise SettingError(
                f"parameter {name!r} must be {_kind(declared[name])} like its default {declared[name]!r}, got {value!r}"
            )


def check_parameters(history: Sequence[str] | None = None) -> None:
    """Check the parameters papermill injected into this kernel (a no-op where none were injected)."""
    if history is None:
        from IPython import get_ipython

        shell = get_ipython()
        history = shell.user_ns.get("In", []) if shell is not None else []
    declared_at = max((i for i, cell in enumerate(history) if cell.lstrip().startswith(DECLARED_MARKER)), default=None)
    if (
        declared_at is None
        or declared_at + 1 >= len(history)
        or not history[declared_at + 1].startswith(INJECTED_MARKER)
    ):
        return
    check_injected(assignments(history[declared_at]), assignments(history[declared_at + 1]))
