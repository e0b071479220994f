"""The list of every run in the record (the book's "Runs" page): one row per run, ASHA's per-trial child runs
folded into their search's row, each row linked to its executed notebook in the book and to the MLflow UI."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from randnas.record.store import find_project_root, open_store, stored_runs
from randnas.record.vocabulary import TAG_DATASET_LABEL, TAG_PLAN_KEY, TAG_PRESET, TAG_SEED

RUN_COLUMNS = [
    "experiment",
    "run_name",
    "status",
    "preset",
    "dataset_label",
    "seed",
    "start",
    "run_id",
    "trials",
    "page",
]


def book_page(plan_key: str) -> str:
    """The executed notebook's page in the book for a plan job ("" for a run outside a plan), relative to book/."""
    from randnas.plans import book_output

    return book_output(plan_key).removeprefix("book/")


def runs_overview(store: str | Path | None = None) -> pd.DataFrame:
    """One row per top-level run, newest first within each experiment; `trials` counts an ASHA search's child runs
    (one per trial), which get no rows of their own."""
    runs = stored_runs(open_store(store))
    if not runs:
        return pd.DataFrame(columns=RUN_COLUMNS)
    children = pd.Series([run.parent for run in runs if run.parent]).value_counts()
    table = pd.DataFrame(
        [
            {
                "experiment": run.experiment,
                "run_name": run.run_name,
                "status": run.status,
                "preset": run.tags.get(TAG_PRESET, ""),
                "dataset_label": run.tags.get(TAG_DATASET_LABEL, ""),
                "seed": run.tags.get(TAG_SEED, ""),
                "start": pd.Timestamp(run.start_ms, unit="ms"),
                "run_id": run.run_id,
                "trials": int(children.get(run.run_id, 0)),
                "page": book_page(run.tags.get(TAG_PLAN_KEY, "")),
            }
            for run in runs
            if not run.parent
        ],
        columns=RUN_COLUMNS,
    )
    return table.sort_values(["experiment", "start"], ascending=[True, False]).reset_index(drop=True)


def runs_per_experiment(overview: pd.DataFrame) -> pd.DataFrame:
    """How many runs each experiment holds, by status."""
    if overview.empty:
        return pd.DataFrame()
    return overview.pivot_table(index="experiment", columns="status", values="run_id", aggfunc="count", fill_value=0)


def runs_index_html(overview: pd.DataFrame, book_root: Path | None = None) -> str:
    """The overview as an HTML table: each run's page in the book (where its notebook is rendered) and its
    page in the MLflow UI."""
    from randnas.report.render import run_link

    root = book_root or find_project_root() / "book"
    rows = []
    for run in overview.itertuples():
        page = run.page if run.page and (root / run.page).with_suffix(".ipynb").is_file() else ""
        notebook = f'<a href="{html.escape(page)}">notebook</a>' if page else ""
        cells = [
            run.experiment,
            run.run_name,
            run.status,
            run.preset,
            run.dataset_label,
            run.seed,
            str(run.start)[:16],
            run.trials or "",
        ]
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + f"<td>{notebook}</td><td>{run_link(run.run_id, run.run_id[:8])}</td></tr>"
        )
    head = "".join(
        f"<th>{name}</th>"
        for name in (
            "experiment",
            "run",
            "status",
            "preset",
            "data",
            "seed",
            "started",
            "ASHA trials",
            "in the book",
            "MLflow",
        )
    )
    return (
        '<div class="randnas-table-scroll" style="overflow-x: auto; max-width: 100%;"><table class="randnas-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
