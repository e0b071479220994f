"""The package's layers import only downwards: compute code (spaces, nets, data, train, search, surrogate) never
reads the record; the record package (the only one that imports mlflow) knows no experiment; the experiments layer
(the record's schema) knows no table; the plan runner and the report sit on top. No module is exempt."""

from __future__ import annotations

import ast
from pathlib import Path

import randnas

PACKAGE = Path(randnas.__file__).parent
# lowest first; a module may import its own layer and the layers below it
LAYERS = (
    (
        "compute",
        (
            "configs",
            "device",
            "repro",
            "statistics",
            "paper",
            "kernels",
            "notebook",
            "backends",
            "spaces",
            "nets",
            "data",
            "train",
            "search",
            "surrogate",
        ),
    ),
    ("record", ("record",)),
    ("experiments", ("experiments",)),
    ("plans", ("plans", "runner", "staleness")),
    ("report", ("report",)),
    ("cli", ("cli",)),
)
RANK = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> int | None:
    """The rank of a `randnas.<part>...` module (None for other packages and for `randnas` itself)."""
    parts = module.split(".")
    if parts[0] != "randnas" or len(parts) < 2:
        return None
    return RANK.get(parts[1])


def upward_imports() -> dict[str, list[str]]:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.name == "__init__.py" and len(relative.parts) == 1:
            continue
        own = layer_of("randnas." + ".".join(relative.with_suffix("").parts))
        assert own is not None, f"{relative} belongs to no layer: add it to LAYERS"
        bad = sorted(m for m in imported_modules(path) if (rank := layer_of(m)) is not None and rank > own)
        if own < RANK["record"]:
            bad += sorted(m for m in imported_modules(path) if m == "mlflow" or m.startswith("mlflow."))
        if bad:
            offenders[relative.as_posix()] = bad
    return offenders


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports() == {}


def test_only_the_record_package_imports_mlflow():
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(m == "mlflow" or m.startswith("mlflow.") for m in imported_modules(path))
    }
    assert importers and all(name.startswith("record/") for name in importers)


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from randnas.report import tables\nimport mlflow.artifacts\n")
    assert {"randnas.report.tables", "mlflow.artifacts"} <= imported_modules(module)
    assert layer_of("randnas.report.tables") > layer_of("randnas.experiments.train") > layer_of("randnas.record.store")
    assert layer_of("randnas.search.cnn") < layer_of("randnas.record.store") and layer_of("numpy") is None
    assert _is_tag("randnas.seed") and _is_tag("randnas.fp.") and not _is_tag("randnas.report.claims.verdict")


def test_no_record_key_is_written_as_text_outside_the_experiments_and_record_packages():
    """`param:`, `metric:` and `randnas.` tag keys belong to the record's schema: a table that needs a fact reads a
    row's field, so renaming a key is a change in one place."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("experiments/", "record/")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            value = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
            if value.startswith(("param:", "metric:")) or (value.startswith("randnas.") and _is_tag(value)):
                offenders.setdefault(relative, []).append(value)
    assert offenders == {}


def _is_tag(text: str) -> bool:
    """`randnas.seed`, `randnas.fp.`: a tag key, not a module path such as `randnas.report.claims`."""
    head = text.removeprefix("randnas.").split(".")[0]
    return " " not in text and not (PACKAGE / head).exists() and not (PACKAGE / f"{head}.py").exists()
