"""The list of every run in the record (the book's "Runs" page)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from randnas import tracking

RUN_COLUMNS = ["experiment", "run_name", "status", "preset", "dataset_label", "seed", "start", "run_id"]


def runs_overview(store: str | Path | None = None) -> pd.DataFrame:
    """One row per run, newest first, with what a reader needs to find it in the MLflow UI."""
    table = tracking.runs_table(store)
    if table.empty:
        return pd.DataFrame(columns=RUN_COLUMNS)
    for column in RUN_COLUMNS:
        if column not in table:
            table[column] = ""
    return table[RUN_COLUMNS].sort_values(["experiment", "start"], ascending=[True, False]).reset_index(drop=True)


def runs_per_experiment(overview: pd.DataFrame) -> pd.DataFrame:
    """How many runs each experiment holds, by status."""
    if overview.empty:
        return pd.DataFrame()
    return overview.pivot_table(index="experiment", columns="status", values="run_id", aggfunc="count", fill_value=0)
