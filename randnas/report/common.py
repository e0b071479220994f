"""What every table of the book shares: the `Table` a builder returns, the scale line, and one way to write a
number, a mean and its spread.

Builders take the record as rows (`randnas.experiments.catalog.load_record`) and a preset and return a `Table`:
the frame, the scale our numbers were obtained at, and the run ids they come from. Nothing here trains or reruns
anything; a builder with no runs to show returns an empty frame and says what would fill it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from randnas.experiments.base import Record, Run, asdict_shallow
from randnas.statistics import MIN_FOR_INTERVAL, mean_interval

PRESET_ORDER = ("smoke", "cpu", "paper")


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    scale: str
    run_ids: list[str] = field(default_factory=list)
    note: str = ""
    # columns the page folds beneath the comparison (settings, costs, digests): the book's column holds the rest
    details: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.frame.empty


def presets_in(record: Record) -> list[str]:
    """The presets the record holds runs of, smallest first."""
    found = {run.preset for run in record if run.preset}
    return [p for p in PRESET_ORDER if p in found] + sorted(found - set(PRESET_ORDER))


def frame_of(runs: Iterable[Run]) -> pd.DataFrame:
    """Rows as a DataFrame, one column per field."""
    return pd.DataFrame([asdict_shallow(run) for run in runs])


def in_record_order(record: Record, run_ids: Iterable[str]) -> list[Run]:
    """The runs of `run_ids`, each once, in the record's order (newest first)."""
    wanted = set(run_ids)
    return [run for run in record if run.run_id in wanted]


def ids(runs: Iterable[Run]) -> list[str]:
    return [run.run_id for run in runs]


def short_ids(runs: Iterable[Run]) -> str:
    """Runs as the first 8 characters of their ids, space-separated (a table's `runs` column)."""
    return " ".join(run.run_id[:8] for run in runs)


def same_protocol(candidates: Sequence[Run], picks: Sequence[Run]) -> list[Run]:
    """The candidates trained with the settings of the picks (every setting a candidate logged equal), so a
    reference cell is compared like with like; a quick check with fewer epochs in the same record is left out.
    Without picks, the candidates trained longest (most epochs) are kept."""
    if not candidates:
        return []
    if not picks:
        longest = max((run.epochs for run in candidates if run.epochs is not None), default=None)
        return [run for run in candidates if longest is None or run.epochs == longest]
    names = sorted({name for run in candidates for name, _ in run.protocol})
    wanted = {run.settings(names) for run in picks}
    return [run for run in candidates if run.settings(names) in wanted]


def describe_scale(runs: Sequence[Run]) -> str:
    """Where and how big: preset, data, epochs, device; the words the book prints above each table."""
    if not runs:
        return "no runs"

    def values(found: Iterable[object]) -> str:
        words = sorted({str(v) for v in found if v is not None and str(v)})
        return ", ".join(words) if words else "?"

    parts = [f"preset {values(r.preset for r in runs)}", f"data: {values(r.dataset_label for r in runs)}"]
    if any(run.epochs is not None for run in runs):
        parts.append(f"epochs: {values(r.epochs for r in runs)}")
    # an epoch shortened to a number of minibatches is not a pass over the data: say so
    capped = [run.steps_cap for run in runs if run.steps_cap > 0]
    if capped:
        where = "" if len(capped) == len(runs) else f" in {len(capped)} of {len(runs)} runs"
        parts.append(f"epochs capped at {', '.join(str(v) for v in sorted(set(capped)))} minibatches{where}")
    parts.append(f"device: {values(r.device for r in runs)}")
    parts.append(f"{len(runs)} run(s)")
    dirty = sum(run.dirty for run in runs)
    if dirty:  # such a run's code is not any commit's: it cannot be rerun exactly from the history
        parts.append(f"{dirty} of them from a work tree with uncommitted changes")
    return "; ".join(parts)


def fmt(value: float | None, digits: int = 2) -> str:
    """A number as the tables print it; a training whose validation never had a finite value 'diverged'."""
    if isinstance(value, float) and math.isinf(value):
        return "diverged"
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def fmt_any(value: object) -> str:
    """A paper setting as printed: numbers without trailing zeros, text as it is, nothing for None."""
    return "" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value)


def mean_std(values: Sequence[float], digits: int = 2) -> str:
    """Mean ± sample standard deviation (ddof=1) as the paper reports it, with n and the bootstrap 95 % interval
    of the mean (from MIN_FOR_INTERVAL runs on; below, "too few for an interval"): the form every average in the
    book takes."""
    if not values:
        return ""
    diverged = sum(1 for v in values if not math.isfinite(v))
    if diverged:  # no mean of a diverged run: say how many diverged, average the rest
        rest = [v for v in values if math.isfinite(v)]
        return f"{diverged} of {len(values)} diverged" + (f"; the rest {mean_std(rest, digits)}" if rest else "")
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (n=1)"
    head = f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"
    estimate = mean_interval(values)
    if not estimate.enough:
        return f"{head} (n={len(values)}, too few for an interval)"
    return (
        f"{head} (n={len(values)}; 95 % interval of the mean [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}])"
    )


STD_NOTE = (
    "± is the sample standard deviation (ddof=1) over the n runs shown, as the paper reports it; the "
    f"interval is the percentile-bootstrap 95 % interval of the mean (scipy), given from {MIN_FOR_INTERVAL} runs on."
)


def search_cost_table(record: Record, preset: str) -> Table:
    """Device-hours per experiment family, from the runs' start and end times."""
    runs = record.with_preset(preset)
    if not runs:
        return Table("Search cost in device-hours", pd.DataFrame(), "no runs")
    frame = frame_of(runs)
    frame["device"] = frame["device"].replace("", "?")
    grouped = frame.groupby(["experiment", "device"], sort=True)["hours"]
    frame = grouped.agg(runs="count", total_hours="sum", hours_per_run="mean").reset_index()
    frame.columns = ["experiment", "device", "runs", "device-hours", "hours per run"]
    return Table(
        "Search cost in device-hours",
        frame.round(4),
        describe_scale(runs),
        ids(runs),
        "Wall time of each run on its device (kernel start-up included); the paper reports GPU days.",
    )
