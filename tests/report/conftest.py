"""The report tests' shared record: built in memory, no MLflow."""

from __future__ import annotations

import pytest

from tests.rows import CURVES, RecordBuilder, searches


@pytest.fixture
def built():
    """Three searches of Random (1), their picks trained for 6 epochs; DARTS_V2 as the reference; a cpu run."""
    built = RecordBuilder()
    ids = {seed: built.train("rsws", curve, search_seed=seed) for seed, curve in CURVES.items()}
    ids["darts"] = built.train("DARTS_V2", [65, 45, 32, 22, 11, 4.5], search_seed=None)
    ids["other preset"] = built.train("rsws", [1, 1, 1, 1, 1, 1.0], preset="cpu", search_seed=9)
    ids.update(searches(built))
    built.ids = ids
    return built
