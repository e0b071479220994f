"""The surrogate chapter's tables and curves, from the record's `surrogate/nb301-asha` runs (their artifacts)."""

from __future__ import annotations

import pandas as pd

from randnas import tracking
from randnas.report.tables import Table, describe_scale, select

EXPERIMENT = "surrogate/nb301-asha"
SURROGATE_WORDS = "Every accuracy here is a NAS-Bench-301 surrogate prediction (YAHPO Gym nb301 v2), not a training."


def newest_run(record: pd.DataFrame, preset: str) -> pd.Series | None:
    runs = select(record, EXPERIMENT, preset)
    return None if runs.empty else runs.sort_values("start").iloc[-1]


def _scale(record: pd.DataFrame, run: pd.Series) -> str:
    settings = (
        f"{run.get('param:seeds', '?')} seeds from {run.get('param:first_seed', '?')}, budgets {run.get('param:budgets', '?')} "
        f"full {run.get('param:R', '?')}-epoch DARTS_V2 trainings ({float(run.get('param:budget_unit_hours', 'nan')):.3f} "
        f"predicted GPU-hours each), workers {run.get('param:workers', '?')}, eta {run.get('param:etas', '?')}"
    )
    return f"{describe_scale(record.loc[[run.name]])}; {settings}"


def comparison_table(record: pd.DataFrame, preset: str) -> Table:
    run = newest_run(record, preset)
    if run is None:
        return Table("ASHA against random search at equal simulated GPU-hours", pd.DataFrame(), "no runs")
    frame = pd.DataFrame(tracking.load_json_artifact(run["run_id"], "surrogate/comparison.json")).drop(
        columns=["mean accuracy"]
    )
    frame["GPU-hours"] = frame["GPU-hours"].round(1)
    return Table(
        "ASHA against random search at equal simulated GPU-hours",
        frame,
        _scale(record, run),
        [run["run_id"]],
        f"{SURROGATE_WORDS} Values: mean [95 % bootstrap interval] (n = seeds). 'minus random search' is the paired "
        "difference on the same seeds (the same seed draws the same cells for every method). A result counts only if "
        "its job finished within the budget; cells evaluated = cells that reached at least the bottom rung.",
    )


def anytime_bands(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    run = newest_run(record, preset)
    if run is None:
        return pd.DataFrame()
    return pd.DataFrame(tracking.load_json_artifact(run["run_id"], "surrogate/anytime.json"))


def plot_anytime(bands: pd.DataFrame, title: str):
    """One panel per (workers, budget): each method's mean incumbent accuracy over GPU-hours with its band."""
    import matplotlib.pyplot as plt

    workers, budgets = sorted(bands["workers"].unique()), sorted(bands["budget_hours"].unique())
    figure, axes = plt.subplots(
        len(workers),
        len(budgets),
        figsize=(4.2 * len(budgets), 3.0 * len(workers)),
        squeeze=False,
        sharey="row",
        layout="constrained",
    )
    for i, count in enumerate(workers):
        for j, budget in enumerate(budgets):
            axis = axes[i][j]
            panel = bands[(bands["workers"] == count) & (bands["budget_hours"] == budget)]
            for label, line in panel.groupby("label", sort=False):
                drawn = axis.plot(line["gpu_hours"], 100 * line["mean"], label=label)[0]
                axis.fill_between(
                    line["gpu_hours"], 100 * line["low"], 100 * line["high"], color=drawn.get_color(), alpha=0.2
                )
            axis.set_title(f"{count} worker(s), budget {budget:.1f} GPU-hours", fontsize=9)
            axis.set_xlabel("simulated GPU-hours spent")
            if j == 0:
                axis.set_ylabel("incumbent's predicted\naccuracy at 98 epochs (%)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    figure.suptitle(title, fontsize=10)
    return figure


def searches(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    run = newest_run(record, preset)
    if run is None:
        return pd.DataFrame()
    frame = pd.DataFrame(tracking.load_json_artifact(run["run_id"], "surrogate/searches.json"))
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
    figure, axes = plt.subplots(
        1, len(budgets), figsize=(max(6.0, 4.2 * len(budgets)), 2.8), squeeze=False, layout="constrained"
    )
    for axis, budget in zip(axes[0], budgets):
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
    figure.suptitle(title, fontsize=10)
    return figure


def picks_table(record: pd.DataFrame, preset: str) -> Table:
    run = newest_run(record, preset)
    if run is None:
        return Table("This project's picks at surrogate fidelity", pd.DataFrame(), "no runs")
    frame = pd.DataFrame(tracking.load_json_artifact(run["run_id"], "surrogate/picks.json"))
    fits = int((frame["not representable because"] == "").sum())
    # the first clause names the edge; the rest of the message explains the space, said once in the note
    frame["not representable because"] = frame["not representable because"].str.split(";").str[0]
    frame["run_id"] = frame["run_id"].str[:8]
    frame = frame.drop(columns=["genotype"]).rename(columns={"preset": "picked at preset", "run_id": "run"}).round(2)
    return Table(
        "This project's picks at surrogate fidelity",
        frame,
        _scale(record, run),
        [run["run_id"]],
        f"{SURROGATE_WORDS} {fits} of {len(frame)} cells are representable (NAS-Bench-301 has no `none` op). "
        "'run' is the first 8 characters of the MLflow run id. 'own result' is the cell's own stage-2/3 "
        "result at the preset it was picked at (small networks, few epochs): a different quantity from the "
        "surrogate's 98-epoch prediction, set beside it for reference, not as a match.",
    )


def agreement_table(record: pd.DataFrame, preset: str) -> Table:
    run = newest_run(record, preset)
    if run is None:
        return Table("RSWS's shared-weight scores against the surrogate", pd.DataFrame(), "no runs")
    frame = pd.DataFrame(tracking.load_json_artifact(run["run_id"], "surrogate/rsws_agreement.json"))
    if not frame.empty:
        frame = frame[["preset", "search", "scored", "representable", "score", "tau", "run_id"]].rename(
            columns={"preset": "search preset", "tau": "Kendall tau [95 % bootstrap] (n, p)"}
        )
    return Table(
        "RSWS's shared-weight scores against the surrogate",
        frame,
        _scale(record, run),
        [run["run_id"]],
        f"{SURROGATE_WORDS} Over each search's scored cells that have no `none` (the released sampler draws `none` "
        "on 1 edge in 8, so about 12 % of cells qualify): Kendall tau between the quick shared-weight score and the "
        "predicted 98-epoch accuracy.",
    )
