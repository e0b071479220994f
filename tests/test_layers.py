"""Compute code never reads the record: the packages that train and search take their inputs (a genotype,
a pick) as arguments, and only `tracking`, `lookup`, `report`, the plan runner and the notebooks touch MLflow."""

from __future__ import annotations

import ast
from pathlib import Path

import randnas

COMPUTE_PACKAGES = ("data", "nets", "search", "spaces", "surrogate", "train")
RECORD_MODULES = ("mlflow", "randnas.tracking", "randnas.lookup", "randnas.report", "randnas.plans")
# how an ASHA search is written into MLflow: the search notebook's logging helper, not compute
LOGGING_HELPERS = {"search/asha/record.py"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_compute_packages_do_not_import_the_record():
    package = Path(randnas.__file__).parent
    offenders = {}
    for name in COMPUTE_PACKAGES:
        for path in sorted((package / name).rglob("*.py")):
            relative = path.relative_to(package).as_posix()
            if relative in LOGGING_HELPERS:
                continue
            bad = sorted(
                m for m in imported_modules(path) if any(m == r or m.startswith(r + ".") for r in RECORD_MODULES)
            )
            if bad:
                offenders[relative] = bad
    assert offenders == {}


def test_the_check_sees_an_import_of_the_record(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from randnas import tracking\nimport mlflow.artifacts\n")
    assert {"randnas.tracking", "mlflow.artifacts"} <= imported_modules(module)
