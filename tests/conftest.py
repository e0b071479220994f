"""Shared fixtures: where the real datasets are, a scratch MLflow store, and a restored working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path | None:
    """$RANDNAS_DATA if set, else ../shared/data beside the checkout (as laid out for developers and CI)."""
    candidates = [os.environ.get("RANDNAS_DATA", ""), str(REPO.parent / "shared" / "data")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def shared_data() -> Path:
    root = shared_data_root()
    if root is None:
        pytest.skip("the real datasets are absent (set RANDNAS_DATA or lay out ../shared/data)")
    return root


@pytest.fixture(autouse=True)
def _restore_cwd():
    # tests that chdir (monkeypatch does too) must not leak a working directory into the next test
    before = os.getcwd()
    yield
    os.chdir(before)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty file store for one test, also seen by notebook kernels through the environment."""
    path = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(path))
    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(tmp_path / "checkpoints"))
    return path
