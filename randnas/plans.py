"""Experiment plans: which notebooks run with which parameters, per preset (the runner is `randnas.runner`).

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
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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


# A plan is a short, flat file: these bounds stop a hostile or mistaken one (an alias bomb, a 3000 x 3000 grid)
# with one line before it costs minutes or gigabytes.
MAX_PLAN_BYTES = 1_000_000
MAX_NESTING = 32  # mappings and lists inside one another
MAX_JOBS = 2_000  # per plan and preset; the paper preset has 315


class PlanError(ValueError):
    """A plan, preset or override is malformed; the message names the problem."""


class _Unbounded(Exception):
    """YAML the plan reader refuses (an alias, too deep a nesting); the caller names the file."""


class _PlanYamlLoader(yaml.SafeLoader):
    """YAML without aliases and with bounded nesting: a 1 KB alias bomb expands to gigabytes, and deep nesting
    overflows the composer's recursion; a plan needs neither."""

    depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            raise _Unbounded(f"uses a YAML alias (*{anchor}); write the values out, aliases are not allowed in plans")
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise _Unbounded(f"nests more than {MAX_NESTING} levels deep; a plan is a few levels of mappings")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read_yaml(text: str, what: str) -> Any:
    """`text` as plan YAML (no aliases, bounded nesting); `what` names the text in the one-line error."""
    try:
        return yaml.load(text, Loader=_PlanYamlLoader)  # a SafeLoader subclass: no Python objects
    except _Unbounded as error:
        raise PlanError(f"{what} {error}") from None
    except yaml.YAMLError as error:
        raise PlanError(f"{what} is not valid YAML: {error}".splitlines()[0]) from None


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
    if path.stat().st_size > MAX_PLAN_BYTES:
        raise PlanError(f"plan {path} is over {MAX_PLAN_BYTES // 1_000_000} MB; a plan is a short YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PlanError(f"plan {path} is not UTF-8 text; give the plan's YAML file") from None
    raw = _mapping(read_yaml(text, f"plan {path}"), f"plan {path}")
    unknown = set(raw) - {"name", "description", "entries"}
    if unknown:
        raise PlanError(f"plan {path}: unknown key(s) {sorted(unknown)}; allowed: name, description, entries")
    if not raw.get("name") or not isinstance(raw["name"], str):
        raise PlanError(f"plan {path}: needs a `name` string")
    # the name leads every plan key, which MLflow filters quote: a plain name, like an entry key
    if not ENTRY_KEY.fullmatch(raw["name"]):
        raise PlanError(f"plan {path}: a plan name is letters, digits, '.', '_' and '-' only, got {raw['name']!r}")
    entries_raw = _mapping(raw.get("entries"), f"plan {path}: entries")
    if not entries_raw:
        raise PlanError(f"plan {path}: needs at least one entry under `entries`")
    entries: list[PlanEntry] = []
    for key, spec in entries_raw.items():
        entries.append(_entry(str(key), spec, f"plan {path}: entry {key!r}", root, [entry.key for entry in entries]))
    return Plan(name=raw["name"], description=str(raw.get("description", "")), path=path, entries=tuple(entries))


def _entry(key: str, spec: Any, where: str, root: Path, earlier: Sequence[str]) -> PlanEntry:
    """One entry of a plan, checked: its keys, its notebook inside the project, its presets."""
    spec = _mapping(spec, where)
    unknown = set(spec) - ENTRY_KEYS
    if unknown:
        raise PlanError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTRY_KEYS)}")
    if "notebook" not in spec:
        raise PlanError(f"{where}: needs a `notebook`")
    # an entry's key names folders under book/runs: a plain name, so no job writes outside the project
    if not ENTRY_KEY.fullmatch(key):
        raise PlanError(f"{where}: an entry key is letters, digits, '.', '_' and '-' only (not a path)")
    if not isinstance(spec["notebook"], str) or not spec["notebook"].endswith(".ipynb"):
        raise PlanError(f"{where}: notebook {spec['notebook']!r} is not a Jupyter notebook (a .ipynb path)")
    notebook = root / spec["notebook"]
    if not notebook.resolve().is_relative_to(root.resolve()):
        raise PlanError(f"{where}: notebook {spec['notebook']} lies outside the project {root}")
    if not notebook.is_file():
        raise PlanError(f"{where}: notebook {spec['notebook']} not found under {root}")
    return PlanEntry(
        key=key,
        notebook=notebook,
        description=str(spec.get("description", "")),
        params=_mapping(spec.get("params"), f"{where}.params"),
        grid=_grid(spec.get("grid"), f"{where}.grid"),
        presets=_presets(spec.get("presets"), f"{where}.presets"),
        requires=_requires(spec.get("requires"), f"{where}.requires"),
        after=_after(spec.get("after"), f"{where}.after", earlier),
    )


def _presets(value: Any, where: str) -> dict[str, dict]:
    presets = _mapping(value, where)
    for preset, override in presets.items():
        check_preset(preset)
        override = _mapping(override, f"{where}.{preset}")
        unknown = set(override) - PRESET_KEYS
        if unknown:
            raise PlanError(f"{where}.{preset}: unknown key(s) {sorted(unknown)}; allowed: params, grid, extra")
        _mapping(override.get("params"), f"{where}.{preset}.params")
        _grid(override.get("grid"), f"{where}.{preset}.grid")
        _extra(override.get("extra"), f"{where}.{preset}.extra")
        presets[preset] = override
    return presets


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
            overrides[key.strip()] = read_yaml(value, f"override {pair[:60]!r}: the value")
        except PlanError as error:
            raise PlanError(f"{error}; e.g. seed=[3,4]") from None
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
            f"plan {plan.name!r} has no entry {sorted(unknown)}; its entries are "
            f"{', '.join(e.key for e in plan.entries)}"
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
        base, points, fixed = _points(entry, entry.presets[preset], overrides, declared)
        grid_axes = {*entry.grid, *entry.presets[preset].get("grid", {})}
        fixed = _changing(fixed, base, read_defaults(entry.notebook), keep=grid_axes)
        names = set()
        for point in points:
            parameters = {**base, **point, **fixed}
            name_parts = [f"{axis}-{_slug(value)}" for axis, value in [*point.items(), *fixed.items()]]
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
                    axes=tuple((key, value) for key, value in [*point.items(), *fixed.items()]),
                )
            )
        if len(jobs) > MAX_JOBS:
            raise PlanError(
                f"plan {plan.name!r} makes over {MAX_JOBS:,} jobs under preset {preset!r} (at entry {entry.key!r}); "
                "split it into smaller plans"
            )
    return jobs


def _changing(
    fixed: Mapping[str, Any], base: Mapping[str, Any], defaults: Mapping[str, Any], keep: set[str]
) -> dict[str, Any]:
    """The overrides that change a parameter: `--set dataset=digits` where the job has digits anyway names no
    new job (it would be a second run with the same parameters, counted twice by the tables). An override of a
    grid axis (`keep`) always stays: it names the job as the grid does."""

    def same(a: Any, b: Any) -> bool:
        return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)

    unset = object()
    return {
        key: value
        for key, value in fixed.items()
        if key in keep
        or not same(value, base[key] if key in base else defaults.get(key, unset) if key in defaults else unset)
    }


def _points(
    entry: PlanEntry, preset_spec: Mapping[str, Any], overrides: Mapping[str, Any], declared: set[str]
) -> tuple[dict, list[dict], dict]:
    """An entry's parameters under a preset: the base, one point per job (the grid's, then the `extra` ones), and
    the overrides fixed for every job. A list override of a grid axis replaces the axis."""
    base = {**entry.params, **preset_spec.get("params", {})}
    grid = {**entry.grid, **preset_spec.get("grid", {})}
    fixed, replaced_axes = {}, set()
    for key, value in overrides.items():
        if key in INJECTED:
            raise PlanError(f"override {key!r} is set by the runner; use --preset or --data-root")
        if key not in declared:
            raise PlanError(
                f"override {key!r} is not a parameter of {entry.notebook.name}; it has "
                f"{sorted(declared - set(INJECTED))}"
            )
        if key in grid and isinstance(value, list):
            grid[key] = value
            replaced_axes.add(key)
        else:
            grid.pop(key, None)
            fixed[key] = value
    extra = preset_spec.get("extra") or []  # checked by load_plan
    for key in [*base, *grid, *(key for point in extra for key in point)]:
        if key not in declared:
            raise PlanError(f"entry {entry.key!r}: {key!r} is not a parameter of {entry.notebook.name}")
    axes = list(grid)
    count = math.prod(len(grid[axis]) for axis in axes) + len(extra)
    if count > MAX_JOBS:  # said before the product is built: a 3000 x 3000 grid would take gigabytes
        sizes = " x ".join(f"{axis} ({len(grid[axis])})" for axis in axes)
        raise PlanError(
            f"entry {entry.key!r}: its grid {sizes} makes {count:,} jobs, over the {MAX_JOBS:,} a plan may have; "
            "split it into smaller plans or fewer values"
        )
    points = [dict(zip(axes, values, strict=True)) for values in itertools.product(*(grid[axis] for axis in axes))]
    for point in extra:
        if all(point[axis] in grid[axis] for axis in replaced_axes if axis in point):
            points.append({key: value for key, value in point.items() if key not in fixed})
    return base, points, fixed


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged `parameters` (papermill's convention)."""
    return set(_inspect(notebook))


def _inspect(notebook: Path) -> dict[str, Any]:
    """papermill's reading of the `parameters` cell; a file that is not a notebook is one line naming it."""
    import papermill

    try:
        return papermill.inspect_notebook(str(notebook))
    except Exception as error:  # noqa: BLE001 - nbformat and json raise many kinds for a file that is no notebook
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        raise PlanError(f"notebook {notebook} cannot be read as a Jupyter notebook ({reason})") from None


@functools.lru_cache(maxsize=64)
def parameter_defaults(notebook: Path) -> dict[str, Any]:
    """The default value of each parameter, read from the `parameters` cell (literals only; others: None)."""
    import ast

    defaults = {}
    for name, spec in _inspect(notebook).items():
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


def book_output(plan_key: str) -> str:
    """Where the book renders a plan job's executed notebook ("" for a key that is not a plan job's)."""
    from randnas.record.vocabulary import plan_key_parts

    parts = plan_key_parts(plan_key)
    if parts is None:
        return ""
    _, entry, preset, name = parts
    return f"book/runs/{preset}/{entry}/{name}.html"
