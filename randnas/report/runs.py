"""The list of every run in the record (the book's "Runs" page): one row per run, ASHA's per-trial child runs
folded into their search's row, each row linked to its executed notebook in the book and to the MLflow UI; grouped
by preset (largest first, the toy preset folded) and plan entry, with a filter the page's script applies
(`runs-filter.js`; `?q=` in the address fills it, which is how a chapter links to its own runs)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from randnas.record.store import find_project_root, open_store, stored_runs
from randnas.record.vocabulary import (
    TAG_DATASET_LABEL,
    TAG_PLAN_KEY,
    TAG_PRESET,
    TAG_SEED,
    TAG_SUPERSEDED_BY,
    plan_key_parts,
)

RUN_COLUMNS = [
    "experiment",
    "run_name",
    "status",
    "preset",
    "entry",
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
                "status": "SUPERSEDED" if TAG_SUPERSEDED_BY in run.tags else run.status,
                "preset": run.tags.get(TAG_PRESET, ""),
                "entry": _entry(run.tags.get(TAG_PLAN_KEY, "")),
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


def _entry(plan_key: str) -> str:
    """The plan entry of a run (`cnn-rsws`), or "by hand" for a run outside a plan."""
    parts = plan_key_parts(plan_key)
    return parts[1] if parts else "by hand"


def runs_per_experiment(overview: pd.DataFrame) -> pd.DataFrame:
    """How many runs each experiment holds per preset (a flat table: one column per preset, largest first)."""
    from randnas.report.render import largest_first

    if overview.empty:
        return pd.DataFrame()
    counts = overview.assign(preset=overview["preset"].replace("", "none")).pivot_table(
        index="experiment", columns="preset", values="run_id", aggfunc="count", fill_value=0
    )
    counts = counts[largest_first(list(counts.columns))]
    counts.columns = [f"{preset} runs" for preset in counts.columns]
    return counts.reset_index()


COLUMNS = ("run", "experiment", "status", "data", "seed", "started", "ASHA trials", "in the book", "MLflow")


def _row(run, root: Path) -> str:
    from randnas.report.render import run_link

    page = run.page if run.page and (root / run.page).with_suffix(".ipynb").is_file() else ""
    notebook = f'<a href="{html.escape(page)}">notebook</a>' if page else ""
    cells = [run.run_name, run.experiment, run.status, run.dataset_label, run.seed, str(run.start)[:16]]
    cells.append(run.trials or "")
    return (
        "<tr>"
        + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        + f"<td>{notebook}</td><td>{run_link(run.run_id, run.run_id[:8])}</td></tr>"
    )


def runs_index_html(overview: pd.DataFrame, book_root: Path | None = None) -> str:
    """The overview as HTML: a filter box, then one table per preset (largest first; `smoke` folded, it tests
    the machinery only), its rows grouped under their plan entry; each run's page in the book (where its
    notebook is rendered) and its page in the MLflow UI."""
    from randnas.report.render import largest_first

    root = book_root or find_project_root() / "book"
    head = "".join(f"<th>{name}</th>" for name in COLUMNS)
    box = '<input id="randnas-run-filter" type="search" size="40" placeholder="entry, run name, seed, status, id ...">'
    parts = [f'<p><label>Filter runs: {box}</label> <span id="randnas-run-count"></span></p>']
    for preset in largest_first(sorted(set(overview["preset"]))):
        runs = overview[overview["preset"] == preset]
        body = []
        for entry, group in sorted(runs.groupby("entry"), key=lambda item: item[0]):
            body.append(
                f'<tr class="randnas-group"><th colspan="{len(COLUMNS)}">{html.escape(entry)} '
                f"({len(group)} run(s))</th></tr>"
            )
            body.extend(_row(run, root) for run in group.itertuples())
        words = f"Preset <code>{html.escape(preset or 'none')}</code>: {len(runs)} run(s)"
        if preset == "smoke":
            words += " on toy data, machinery only"
        table = (
            '<div class="randnas-table-scroll" style="overflow-x: auto; max-width: 100%;">'
            f'<table class="randnas-table randnas-runs"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
        opened = "" if preset == "smoke" else " open"
        parts.append(f'<details class="randnas-preset"{opened}><summary>{words}</summary>{table}</details>')
    return "\n".join(parts)
