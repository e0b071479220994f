"""The surrogate chapter's tables and curves, from the record's surrogate runs (their artifacts)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from randnas.experiments import surrogate as kind
from randnas.experiments.base import Record
from randnas.experiments.surrogate import SurrogateRow
from randnas.report.common import Table, describe_scale
from randnas.statistics import Estimate, mean_interval

SURROGATE_WORDS = "Every accuracy here is a NAS-Bench-301 surrogate prediction (YAHPO Gym nb301 v2), not a training."


def newest_run(record: Record, preset: str) -> SurrogateRow | None:
    runs = record.of(SurrogateRow, preset)
    return max(runs, key=lambda run: run.start_ms) if runs else None


def _listed(values: tuple) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _scale(run: SurrogateRow) -> str:
    settings = (
        f"{run.seeds} seeds from {run.first_seed}, budgets {_listed(run.budgets)} full {run.R}-epoch DARTS_V2 "
        f"trainings ({run.budget_unit_hours:.3f} predicted GPU-hours each), workers {_listed(run.workers)}, "
        f"eta {_listed(run.etas)}"
    )
    return f"{describe_scale([run])}; {settings}"


def _artifact(record: Record, run: SurrogateRow, name: str) -> pd.DataFrame:
    return pd.DataFrame(kind.artifact(record, run, name))


def comparison_table(record: Record, preset: str) -> Table:
    run = newest_run(record, preset)
    if run is None:
        return Table("ASHA against random search at equal simulated GPU-hours", pd.DataFrame(), "no runs")
    frame = _artifact(record, run, "comparison").drop(columns=["mean accuracy"])
    frame["GPU-hours"] = frame["GPU-hours"].round(1)
    return Table(
        "ASHA against random search at equal simulated GPU-hours",
        frame,
        _scale(run),
        [run.run_id],
        f"{SURROGATE_WORDS} Values: mean [95 % bootstrap interval] (n = seeds). 'minus random search' is the paired "
        "difference on the same seeds (the same seed draws the same cells for every method). A result counts only if "
        "its job finished within the budget; cells evaluated = cells that reached at least the bottom rung.",
    )


def anytime_bands(record: Record, preset: str) -> pd.DataFrame:
    run = newest_run(record, preset)
    if run is None:
        return pd.DataFrame()
    return _artifact(record, run, "anytime")


def plot_anytime(bands: pd.DataFrame, title: str):
    """One panel per (budget, workers), a budget per row and a worker count per column, at the book column's
    width (7.7 in) so the text is shown at the size it is set: each method's mean incumbent accuracy over
    GPU-hours with its band; the legend beneath the panels, not over a band."""
    import matplotlib.pyplot as plt

    workers, budgets = sorted(bands["workers"].unique()), sorted(bands["budget_hours"].unique())
    figure, axes = plt.subplots(
        len(budgets),
        len(workers),
        figsize=(7.7, 2.6 * len(budgets) + 0.8),
        squeeze=False,
        sharey="row",
        layout="constrained",
    )
    for i, budget in enumerate(budgets):
        for j, count in enumerate(workers):
            axis = axes[i][j]
            panel = bands[(bands["workers"] == count) & (bands["budget_hours"] == budget)]
            for label, line in panel.groupby("label", sort=False):
                drawn = axis.plot(line["gpu_hours"], 100 * line["mean"], label=label)[0]
                axis.fill_between(
                    line["gpu_hours"], 100 * line["low"], 100 * line["high"], color=drawn.get_color(), alpha=0.2
                )
            axis.set_title(f"budget {budget:.1f} GPU-hours, {count} worker(s)", fontsize=9)
            axis.set_xlabel("simulated GPU-hours spent" if i == len(budgets) - 1 else "")
            if j == 0:
                axis.set_ylabel("predicted accuracy\nat 98 epochs (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False, fontsize=9)
    figure.suptitle(title, fontsize=10)
    return figure


def searches(record: Record, preset: str) -> pd.DataFrame:
    run = newest_run(record, preset)
    if run is None:
        return pd.DataFrame()
    frame = _artifact(record, run, "searches")
    frame["predicted accuracy (%)"] = 100 * frame["final_accuracy"]
    return frame


def short_method(label: str) -> str:
    return "random search" if label.startswith("random") else label.split(" (")[0]


def plot_finals(finals: pd.DataFrame, title: str):
    """Per budget: each method's predicted accuracy at the deadline, one box per method and worker count."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    finals = finals.assign(method=finals["label"].map(short_method))
    budgets = sorted(finals["gpu_hours"].unique())
    # one budget per row at the column's width: three side by side shrank the text to about 6 px
    figure, axes = plt.subplots(len(budgets), 1, figsize=(7.7, 2.3 * len(budgets)), squeeze=False, layout="constrained")
    for axis, budget in zip(axes[:, 0], budgets, strict=True):
        sns.boxplot(
            data=finals[finals["gpu_hours"] == budget],
            x="predicted accuracy (%)",
            y="method",
            hue="workers",
            ax=axis,
            fliersize=2,
        )
        axis.set_title(f"budget {budget:.1f} GPU-hours", fontsize=9)
        axis.set_ylabel("")
        axis.legend(title="workers", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    figure.suptitle(title, fontsize=10)
    return figure


def picks_table(record: Record, preset: str) -> Table:
    run = newest_run(record, preset)
    if run is None:
        return Table("This project's picks at surrogate fidelity", pd.DataFrame(), "no runs")
    frame = _artifact(record, run, "picks")
    fits = int((frame["not representable because"] == "").sum())
    # the first clause names the edge; the rest of the message explains the space, said once in the note
    frame["not representable because"] = frame["not representable because"].str.split(";").str[0]
    frame["run_id"] = frame["run_id"].str[:8]
    frame = frame.drop(columns=["genotype"]).rename(columns={"preset": "picked at preset", "run_id": "run"}).round(2)
    return Table(
        "This project's picks at surrogate fidelity",
        frame,
        _scale(run),
        [run.run_id],
        f"{SURROGATE_WORDS} {fits} of {len(frame)} cells are representable (NAS-Bench-301 has no `none` op). "
        "'run' is the first 8 characters of the MLflow run id. 'own result' is the cell's own stage-2/3 "
        "result at the preset it was picked at (small networks, few epochs): a different quantity from the "
        "surrogate's 98-epoch prediction, set beside it for reference, not as a match.",
    )


def agreement_table(record: Record, preset: str) -> Table:
    run = newest_run(record, preset)
    if run is None:
        return Table("RSWS's shared-weight scores against the surrogate", pd.DataFrame(), "no runs")
    frame = _artifact(record, run, "agreement")
    if not frame.empty:
        frame = frame[["preset", "search", "scored", "representable", "score", "tau", "run_id"]].rename(
            columns={"preset": "search preset", "tau": "Kendall tau [95 % bootstrap] (n, p)"}
        )
    return Table(
        "RSWS's shared-weight scores against the surrogate",
        frame,
        _scale(run),
        [run.run_id],
        f"{SURROGATE_WORDS} Over each search's scored cells that have no `none` (the released sampler draws `none` "
        "on 1 edge in 8, so about 12 % of cells qualify): Kendall tau between the quick shared-weight score and the "
        "predicted 98-epoch accuracy.",
    )


@dataclass(frozen=True)
class Gap:
    """ASHA minus random search on the same seeds at one budget (in full trainings) and worker count."""

    method: str  # the ASHA setting's short label
    budget: float  # full R-epoch trainings
    workers: int
    estimate: Estimate  # mean paired difference (accuracy, 0-1) and its bootstrap interval over seeds


def paired_gaps(record: Record, preset: str, workers: int) -> list[Gap]:
    """Each ASHA setting's paired difference to random search at each budget, from the newest surrogate run's
    searches (seeds where random search handed over no cell by the deadline have no difference)."""
    run = newest_run(record, preset)
    if run is None:
        return []
    frame = _artifact(record, run, "searches")
    frame = frame[frame["workers"] == workers]
    gaps = []
    for hours, group in frame.groupby("gpu_hours", sort=True):
        random = group[group["method"] == "random"].set_index("seed")["final_accuracy"]
        for label, runs in group[group["method"] != "random"].groupby("label", sort=False):
            paired = (runs.set_index("seed")["final_accuracy"] - random).dropna()
            budget = float(hours) / run.budget_unit_hours
            gaps.append(Gap(short_method(label), budget, workers, mean_interval(paired.to_numpy())))
    return gaps


@dataclass(frozen=True)
class Deadline:
    """What a budget allows each worker, and how often random search handed over a cell by the deadline."""

    budget: float  # full R-epoch trainings
    workers: int
    trainings_per_worker: float
    random_returned: int  # seeds where random search's first cell finished before the deadline
    seeds: int

    def sentence(self) -> str:
        share = self.random_returned / self.seeds if self.seeds else 0.0
        words = (
            "less than one full training each, so random search can only hand over a cell a worker finished"
            if self.trainings_per_worker < 1
            else f"{self.trainings_per_worker:.1f} full trainings each"
        )
        return (
            f"{self.budget:.2f} trainings on {self.workers} worker(s): {words}; random search returned a cell in "
            f"{self.random_returned} of {self.seeds} seeds ({share:.0%})."
        )


def deadlines(record: Record, preset: str) -> list[Deadline]:
    """The deadline effect, a line per budget and worker count (the chapter's words and the ledger's caveat)."""
    run = newest_run(record, preset)
    if run is None:
        return []
    frame = _artifact(record, run, "searches")
    random = frame[frame["method"] == "random"]
    found = []
    for (hours, workers), group in random.groupby(["gpu_hours", "workers"], sort=True):
        budget = float(hours) / run.budget_unit_hours
        found.append(
            Deadline(
                budget, int(workers), budget / int(workers), int(group["final_accuracy"].notna().sum()), len(group)
            )
        )
    return found
