"""Keep every test, notebook tests (nbval) included, off the committed MLflow record and checkpoints."""

import os
import tempfile
from pathlib import Path

import pytest

# notebooks whose fast defaults read a data-root file no embedded default replaces
NEEDS_DATA = {"surrogate_asha.ipynb": "yahpo-nb301"}


def pytest_configure(config):
    scratch = tempfile.mkdtemp(prefix="randnas-tests-")
    # Set before any kernel starts, so nbval's notebook kernels inherit it too.
    os.environ["MLFLOW_TRACKING_URI"] = os.path.join(scratch, "mlruns")
    os.environ["RANDNAS_CHECKPOINTS"] = os.path.join(scratch, "checkpoints")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    os.environ.setdefault("MPLBACKEND", "Agg")
    # the developers' and CI's layout: the real data beside the checkout, read by notebooks through $RANDNAS_DATA
    shared = Path(__file__).resolve().parent.parent / "shared" / "data"
    if not os.environ.get("RANDNAS_DATA") and shared.is_dir():
        os.environ["RANDNAS_DATA"] = str(shared)


def pytest_collection_modifyitems(config, items):
    root = Path(os.environ.get("RANDNAS_DATA", "data"))
    for item in items:
        folder = NEEDS_DATA.get(Path(str(item.fspath)).name)
        if folder and not (root / folder).is_dir():
            item.add_marker(pytest.mark.skip(reason=f"needs <data root>/{folder} (set RANDNAS_DATA)"))
