"""The NAS-Bench-301 surrogate's files, found where the real datasets are (skipped with the reason without them)."""

from __future__ import annotations

import pytest

from tests.conftest import shared_data_root


@pytest.fixture(scope="session")
def data_root() -> str:
    root = shared_data_root()
    if root is None or not (root / "yahpo-nb301").is_dir():
        pytest.skip("the NAS-Bench-301 surrogate files are absent (set RANDNAS_DATA or lay out ../shared/data)")
    return str(root)


@pytest.fixture(scope="session")
def surrogate(data_root):
    from randnas.surrogate.nb301 import load_nb301_surrogate

    return load_nb301_surrogate(data_root)
