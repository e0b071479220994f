"""Keep every test, notebook tests (nbval) included, off the committed MLflow record and checkpoints."""

import os
import tempfile


def pytest_configure(config):
    scratch = tempfile.mkdtemp(prefix="randnas-tests-")
    # Set before any kernel starts, so nbval's notebook kernels inherit it too.
    os.environ["MLFLOW_TRACKING_URI"] = os.path.join(scratch, "mlruns")
    os.environ["RANDNAS_CHECKPOINTS"] = os.path.join(scratch, "checkpoints")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    os.environ.setdefault("MPLBACKEND", "Agg")
