"""How a book page shows a `Table`: title, the scale it was obtained at (one short line, the whole provenance
folded beneath), the comparison (the numbers, n, verdicts, run links) with its details (protocols, costs, digests)
folded beneath it, the note, the table's data as CSV, how to reproduce it, and the MLflow runs it was computed
from (open them with `randnas ui`).

Every cell is written through `cell_html`: numbers in one format per column (`number_format`), digests and run ids
shortened with the whole value on hover, a cell's DARTS or NAS-Bench-201 text named by its hash."""

from __future__ import annotations

import base64
import functools
import html
import math
import os
import re
from collections.abc import Callable, Sequence
from typing import Self

import pandas as pd
import yaml

from randnas.record.store import default_location, find_project_root, find_runs, open_store, stored_runs
from randnas.record.vocabulary import TAG_PLAN_KEY, plan_key_parts
from randnas.report.common import PRESET_ORDER, Table
from randnas.spaces.common import cell_hash

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


SCALE_LINE_CHARS = 200  # a longer scale line shows its first clauses; the whole of it is folded beneath
DETAIL_CHARS = 40  # a text column whose cells run longer goes to the folded details (numbers never do)
DIGEST = re.compile(r"\b[0-9a-f]{64}\b")
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
NB201_CELL = re.compile(r"^\|[a-z0-9_]+~\d\|(?:[|+a-z0-9_~]*)\|$")


def number_format(values: pd.Series) -> Callable[[object], str]:
    """One format for a column of numbers: integers as integers; otherwise a fixed number of decimals, 2 for
    errors, perplexities and hours, 4 when every value is a fraction below 1 (accuracies, Kendall's tau)."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(float(v))]
    if finite and all(float(v).is_integer() for v in finite):
        digits = 0
    elif finite and all(abs(v) < 1 for v in finite):
        digits = 4
    else:
        digits = 2

    def write(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float) and math.isinf(value):
            return "diverged"
        return f"{float(value):.{digits}f}" if isinstance(value, (int, float)) else str(value)

    return write


def _abbreviation(short: str, full: str) -> str:
    return f'<span title="{html.escape(full)}"><code>{html.escape(short)}</code></span>'


def cell_html(text: str, run_ids: Sequence[str] = ()) -> str:
    """A text cell, escaped, with what would widen a column shortened: a cell's DARTS `Genotype(...)` text or
    NAS-Bench-201 string as `cell <hash>`, 64-digit digests to 12 digits, run ids to 8 (a link when the table
    counts the run); the whole value stays in the hover text."""
    stripped = text.strip()
    if stripped.startswith("Genotype(") or NB201_CELL.match(stripped):
        return _abbreviation(f"cell {cell_hash(stripped)}", stripped)
    known = set(run_ids)
    out, last = [], 0
    for match in sorted([*DIGEST.finditer(text), *RUN_ID.finditer(text)], key=lambda m: m.start()):
        if match.start() < last:
            continue
        out.append(html.escape(text[last : match.start()], quote=False))
        value = match.group(0)
        if len(value) == 64:
            out.append(_abbreviation(value[:12] + "…", value))
        elif value in known:
            out.append(run_link(value, value[:8]))
        else:
            out.append(_abbreviation(value[:8], value))
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def detail_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the comparison view leaves to the folded details: text that runs longer than DETAIL_CHARS
    (protocols, costs, notes, digests) and does not start with a number (a mean ± its spread stays). The first
    column names the row in both views; `runs` and verdicts stay in the comparison."""
    found = []
    for column in list(frame.columns)[1:]:
        if str(column) == "runs" or "verdict" in str(column):
            continue
        texts = frame[column].dropna().map(str)
        texts = texts[texts != ""]
        if texts.empty or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        if texts.str.len().max() > DETAIL_CHARS and not texts.str.match(r"^\s*[-+−]?\d").all():
            found.append(column)
    return found


def _frame_html(frame: pd.DataFrame, run_ids: Sequence[str]) -> str:
    """The frame as HTML, each cell through `cell_html` or its column's `number_format`; short run ids in a
    `runs` column link to the MLflow UI."""
    frame = frame.copy()
    full = {run_id[:8]: run_id for run_id in run_ids}
    for column in frame.columns:
        if column == "runs":
            frame[column] = frame[column].map(
                lambda cell: " ".join(
                    run_link(full[short], short) if short in full else html.escape(short) for short in str(cell).split()
                )
            )
        elif pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].map(number_format(frame[column]))
        else:
            frame[column] = frame[column].map(
                lambda cell: (
                    ""
                    if cell is None or (isinstance(cell, float) and math.isnan(cell))
                    else cell_html(cell, run_ids)
                    if isinstance(cell, str)
                    else html.escape(str(cell), quote=False)
                )
            )
    frame.columns = [html.escape(str(column), quote=False) for column in frame.columns]
    return frame.to_html(index=False, classes="randnas-table", na_rep="", escape=False)


def _scroll_box(inner: str) -> str:
    """A table wider than the page scrolls inside its own box instead of being cut off."""
    return f'<div class="randnas-table-scroll" style="overflow-x: auto; max-width: 100%;">{inner}</div>'


def scale_html(scale: str) -> str:
    """The scale line: whole when short; otherwise its first clauses up to SCALE_LINE_CHARS, the whole folded."""
    if len(scale) <= SCALE_LINE_CHARS:
        return f'<p class="randnas-scale"><i>Scale: {html.escape(scale)}</i></p>'
    clauses, short = scale.split("; "), ""
    for clause in clauses:
        candidate = f"{short}; {clause}" if short else clause
        if len(candidate) > SCALE_LINE_CHARS - 20:
            break
        short = candidate
    short = short or scale[: SCALE_LINE_CHARS - 20].rsplit(" ", 1)[0]
    return (
        f'<details class="randnas-scale"><summary><i>Scale: {html.escape(short)} …</i></summary>'
        f"<p><i>{html.escape(scale)}</i></p></details>"
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def csv_link(table: Table) -> str:
    """The table's data as a CSV file, inside the page (works offline, nothing to fetch)."""
    data = base64.b64encode(table.frame.to_csv(index=False).encode()).decode()
    preset = re.search(r"preset ([a-z0-9_-]+)", table.scale)
    name = _slug(table.title) + (f"-{preset.group(1)}" if preset else "") + ".csv"
    return f'<a download="{name}" href="data:text/csv;base64,{data}">{html.escape(name)}</a>'


@functools.lru_cache(maxsize=4)
def _plan_jobs_of_runs(location: str) -> dict[str, tuple[str, str, str, float]]:
    """run id -> (plan, entry, preset, device-hours) of every plan run of the store at `location`."""
    found = {}
    for run in stored_runs(open_store(location)):
        parts = plan_key_parts(run.tags.get(TAG_PLAN_KEY, ""))
        if parts:
            found[run.run_id] = (parts[0], parts[1], parts[2], run.hours)
    return found


def reproduce_line(table: Table) -> str:
    """How to remake the table: the plan entries its runs came from, the command, and what those runs took."""
    jobs = _plan_jobs_of_runs(default_location())
    made = [jobs[run_id] for run_id in table.run_ids if run_id in jobs]
    if not made:
        return ""
    plans = sorted({plan for plan, _, _, _ in made})
    presets = sorted({preset for _, _, preset, _ in made})
    entries = sorted({entry for _, entry, _, _ in made})
    hours = sum(h for *_, h in made)
    only = " ".join(f"--only {entry}" for entry in entries)
    commands = "; ".join(
        f"<code>randnas run plans/{html.escape(plan)}.yaml --preset {html.escape(preset)} {html.escape(only)}</code>"
        for plan in plans
        for preset in presets
    )
    return (
        f'<p class="randnas-reproduce">Reproduce this table: {commands} (its {len(made)} run(s) took '
        f"{hours:.2f} device-hours here; the <i>cost</i> page prices the paper's scale).</p>"
    )


def table_html(table: Table) -> str:
    parts = [f'<p class="randnas-table-title"><b>{html.escape(table.title)}</b></p>', scale_html(table.scale)]
    if table.empty:
        parts.append(
            "<p>No runs of this kind in the record at this preset yet; the plan entry that makes them is listed "
            "on the <i>Rerun and browse</i> page.</p>"
        )
    else:
        details = [c for c in table.frame.columns if c in table.details or c in detail_columns(table.frame)]
        key = list(table.frame.columns)[:1]
        parts.append(_scroll_box(_frame_html(table.frame.drop(columns=details), table.run_ids)))
        if details:
            named = ", ".join(html.escape(str(column)) for column in details)
            parts.append(
                f"<details><summary>Details: {named}</summary>"
                + _scroll_box(_frame_html(table.frame[key + details], table.run_ids))
                + "</details>"
            )
    if table.note:
        parts.append(f"<p>{html.escape(table.note)}</p>")
    if not table.empty:
        parts.append(f"<p>Data: {csv_link(table)}</p>")
    if table.run_ids:
        ids = " ".join(run_link(run_id, run_id[:8]) for run_id in table.run_ids)
        parts.append(
            f"<details><summary>MLflow runs ({len(table.run_ids)}; each opens in the MLflow UI, "
            f"<code>make ui</code>)</summary><p>{ids}</p></details>"
        )
        parts.append(reproduce_line(table))
    return "\n".join(part for part in parts if part)


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
    return Table(table.title, frame, table.scale, table.run_ids, table.note, table.details)


SMOKE_SUMMARY = (
    "Preset <code>smoke</code>: toy data (8x8 digits, Python docs), machinery only. Folded, and without "
    "the paper's columns, because a larger preset has runs; unfold to see."
)  # the fold of a toy preset's tables (show_by_preset) and of its words and figures (PresetSection)


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


class PresetSection:
    """One preset's part of a chapter: its heading, tables, words and figures. The toy `smoke` preset's part is
    gathered and shown folded, labelled machinery only, when a larger preset has runs (`show_by_preset`'s rule,
    for chapters that mix tables, words and figures): no toy number or plot stands open beside the larger ones.

        for preset in presets:
            with PresetSection(preset, presets) as section:
                section.table(build(preset)); section.words("..."); plot(...); section.figure()
    """

    def __init__(self, preset: str, presets: Sequence[str], heading: str = "") -> None:
        self.preset = preset
        self.folded = preset == "smoke" and any(other != "smoke" for other in presets)
        self.heading = heading or f"### Preset `{preset}`" + (
            " (machinery only: toy data)" if preset == "smoke" else ""
        )
        self.parts: list[str] = []

    def __enter__(self) -> Self:
        if not self.folded:
            self.words(self.heading)
        return self

    def __exit__(self, *exc: object) -> None:
        from IPython.display import HTML, display

        if self.folded and exc[0] is None:
            display(HTML(f"<details><summary>{SMOKE_SUMMARY}</summary>\n{''.join(self.parts)}\n</details>"))

    def words(self, markdown: str) -> None:
        from IPython.display import Markdown, display

        if self.folded:
            from markdown_it import MarkdownIt

            self.parts.append(MarkdownIt().render(markdown))
        else:
            display(Markdown(markdown))

    def table(self, table: Table) -> None:
        if self.folded:
            self.parts.append(table_html(without_paper(table)))
        else:
            show(table)

    def figure(self, figure=None) -> None:
        """Show the current (or given) matplotlib figure; folded, as an image inside the fold."""
        import io

        import matplotlib.pyplot as plt

        figure = figure or plt.gcf()
        if not self.folded:
            plt.show()
            return
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(figure)
        data = base64.b64encode(buffer.getvalue()).decode()
        self.parts.append(
            f'<p><img alt="smoke preset figure" src="data:image/png;base64,{data}" style="max-width: 100%"></p>'
        )
