"""How a book page shows a `Table`: title, the scale it was obtained at, the table, the note, and the
MLflow run ids it was computed from (open them with `randnas ui`)."""

from __future__ import annotations

import functools
import html
import os
from collections.abc import Callable, Sequence

import pandas as pd
import yaml

from randnas.record.store import default_location, find_project_root, find_runs, open_store
from randnas.report.common import PRESET_ORDER, Table

DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"  # where `make ui` serves the record
UI_ENV = "RANDNAS_MLFLOW_UI"


def mlflow_ui_base() -> str:
    """The MLflow UI the book links to: $RANDNAS_MLFLOW_UI, else `randnas: mlflow_ui:` in _config.yml, else
    `make ui`'s address."""
    if os.environ.get(UI_ENV):
        return os.environ[UI_ENV].rstrip("/")
    config = find_project_root() / "_config.yml"
    if config.is_file():
        settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        base = (settings.get("randnas") or {}).get("mlflow_ui")
        if base:
            return str(base).rstrip("/")
    return DEFAULT_MLFLOW_UI


@functools.lru_cache(maxsize=4)
def _experiments_of_runs(location: str) -> dict[str, str]:
    return {run.info.run_id: run.info.experiment_id for run in find_runs(open_store(location))}


# MLflow 3's UI has a GenAI and a model-training mode, GenAI by default (an experiment then opens on its empty
# Traces page); this query selects model training, where experiments open on their runs (and it is remembered)
UI_MODE = "workflowType=machine_learning"


def run_url(run_id: str) -> str:
    """The run's page in the MLflow UI, in its model-training mode."""
    experiment = _experiments_of_runs(default_location()).get(run_id, "0")
    return f"{mlflow_ui_base()}/#/experiments/{experiment}/runs/{run_id}?{UI_MODE}"


def run_link(run_id: str, label: str | None = None) -> str:
    title = f"open run {run_id} in the MLflow UI"
    return f'<a href="{html.escape(run_url(run_id))}" title="{title}"><code>{html.escape(label or run_id)}</code></a>'


def _frame_html(table: Table) -> str:
    """The table's frame as HTML, each cell escaped; short run ids in a `runs` column link to the MLflow UI."""
    frame = table.frame.copy()
    full = {run_id[:8]: run_id for run_id in table.run_ids}
    for column in frame.columns:
        if column == "runs":
            frame[column] = frame[column].map(
                lambda cell: " ".join(
                    run_link(full[short], short) if short in full else html.escape(short) for short in str(cell).split()
                )
            )
        elif not pd.api.types.is_numeric_dtype(frame[column]):  # text is escaped here; numbers are formatted by pandas
            frame[column] = frame[column].map(
                lambda cell: cell if not isinstance(cell, str) else html.escape(cell, quote=False)
            )
    return frame.to_html(index=False, classes="randnas-table", na_rep="", escape=False)


def table_html(table: Table) -> str:
    parts = [
        f'<p class="randnas-table-title"><b>{html.escape(table.title)}</b></p>',
        f'<p class="randnas-scale"><i>Scale: {html.escape(table.scale)}</i></p>',
    ]
    if table.empty:
        parts.append(
            "<p>No runs of this kind in the record at this preset yet; the plan entry that makes them is listed "
            "on the <i>Rerun and browse</i> page.</p>"
        )
    else:
        # a table wider than the page scrolls inside its own box instead of being cut off
        parts.append(
            '<div class="randnas-table-scroll" style="overflow-x: auto; max-width: 100%;">'
            + _frame_html(table)
            + "</div>"
        )
    if table.note:
        parts.append(f"<p>{html.escape(table.note)}</p>")
    if table.run_ids:
        ids = " ".join(run_link(run_id) for run_id in table.run_ids)
        parts.append(
            f"<details><summary>MLflow runs ({len(table.run_ids)}; each opens in the MLflow UI, "
            f"<code>make ui</code>)</summary><p>{ids}</p></details>"
        )
    return "\n".join(parts)


def show(table: Table) -> None:
    from IPython.display import HTML, display

    display(HTML(table_html(table)))


def largest_first(presets: Sequence[str]) -> list[str]:
    """Presets ordered from the largest scale down (paper, cpu, smoke, then any other)."""
    rank = {preset: i for i, preset in enumerate(reversed(PRESET_ORDER))}
    return sorted(presets, key=lambda preset: (rank.get(preset, len(rank)), preset))


def without_paper(table: Table) -> Table:
    """The table with the paper's columns and rows taken out (for toy-data numbers, which must not stand beside
    them)."""
    frame = table.frame.drop(columns=[c for c in table.frame if str(c).startswith("paper")])
    if "source" in frame:
        frame = frame[frame["source"] != "paper"]
    return Table(table.title, frame, table.scale, table.run_ids, table.note)


SMOKE_SUMMARY = (
    "Preset <code>smoke</code>: toy data (8x8 digits, Python docs), machinery only. Folded, and without "
    "the paper's columns, because a larger preset has runs; unfold to see."
)


def show_by_preset(presets: Sequence[str], build: Callable[[str], Table | Sequence[Table]]) -> None:
    """Each preset's table(s), the largest preset first. The toy `smoke` preset is folded away, without the
    paper's numbers, when a larger preset has runs, so no toy number fills an 'ours' column beside the paper's."""
    from IPython.display import HTML, Markdown, display

    folded = any(preset != "smoke" for preset in presets)
    for preset in largest_first(presets):
        built = build(preset)
        found = [built] if isinstance(built, Table) else list(built)
        if preset == "smoke" and folded:
            inner = "\n".join(table_html(without_paper(table)) for table in found)
            display(HTML(f"<details><summary>{SMOKE_SUMMARY}</summary>\n{inner}\n</details>"))
            continue
        display(Markdown(f"### Preset `{preset}`"))
        for table in found:
            show(table)
