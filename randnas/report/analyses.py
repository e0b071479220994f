"""The book's analyses beyond the paper's tables, from the record: learning curves, ASHA's rungs over time,
shared-weight ranking against stand-alone training, NAS-Bench-201's best of N, and the `single` against the
`dense` supernet."""

from __future__ import annotations

import pandas as pd

from randnas.experiments import asha as asha_kind
from randnas.experiments import nb201 as nb201_kind
from randnas.experiments import ranking as ranking_kind
from randnas.experiments.asha import AshaRow
from randnas.experiments.base import Record
from randnas.experiments.nb201 import BestOfNRow
from randnas.experiments.ranking import RankingRow
from randnas.experiments.rsws import SearchRow
from randnas.experiments.train import TrainRow, curve
from randnas.report.common import Table, describe_scale, frame_of, ids
from randnas.report.comparison import asha_protocol
from randnas.spaces.common import cell_hash

# the quantity the tables report: CIFAR-10 test error (%), PTB validation perplexity
CURVE_LABEL = {"cnn": "test error (%)", "ptb": "validation perplexity"}


def learning_curves(record: Record, benchmark: str, preset: str) -> pd.DataFrame:
    """Per-epoch curves of every training run (stages 2 and 3) of a preset, in the tables' quantity: run, genotype
    spec, epoch, value."""
    label = CURVE_LABEL[benchmark]
    runs = record.of(TrainRow, preset, lambda run: run.benchmark == benchmark)
    rows = [
        {"run": run.run_name, "cell": run.genotype_spec, "epoch": epoch, label: value, "run_id": run.run_id}
        for run in runs
        for epoch, value in curve(record, run).items()
    ]
    return pd.DataFrame(rows, columns=["run", "cell", "epoch", label, "run_id"])


MAX_SERIES = 8  # a panel shows at most this many coloured series; more are faceted


def plot_learning_curves(curves: pd.DataFrame, label: str, title: str):
    """Every training run's curve, coloured by its cell's name (DARTS_V2, rsws, best-rsws, ...) with one line per
    run, the legend beside the axes, not over the lines; more than MAX_SERIES cell names are split into panels
    of at most that many each."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    names = sorted(curves["cell"].unique())
    groups = [names[i : i + MAX_SERIES] for i in range(0, len(names), MAX_SERIES)]
    figure, axes = plt.subplots(len(groups), 1, figsize=(7.7, 3.2 * len(groups)), squeeze=False)
    palette = dict(zip(names, sns.color_palette("tab10", len(names)), strict=True)) if len(names) <= 10 else None
    for ax, group in zip(axes[:, 0], groups, strict=True):
        shown = curves[curves["cell"].isin(group)]
        sns.lineplot(
            data=shown, x="epoch", y=label, hue="cell", units="run", estimator=None, marker="o", ax=ax, palette=palette
        )
        ax.legend(title="cell (one line per run)", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_title(title)
    figure.tight_layout()
    return figure


def asha_searches_of(record: Record, benchmark: str, preset: str) -> list[AshaRow]:
    return record.of(AshaRow, preset, lambda run: run.benchmark == benchmark)


def asha_events(record: Record, run: AshaRow) -> pd.DataFrame:
    """A search's event log as a table: time, worker, trial, rung, resource, value."""
    return pd.DataFrame([{k: v for k, v in e.items() if k != "metrics"} for e in asha_kind.events(record, run)])


def asha_searches(record: Record, benchmark: str, preset: str) -> Table:
    runs = asha_searches_of(record, benchmark, preset)
    # the tables' units: accuracy in %, as the CIFAR-10 tables print errors in %
    best = "best validation accuracy (%)" if benchmark == "cnn" else "best validation perplexity"
    frame = pd.DataFrame(
        [
            {
                "run_name": run.run_name,
                "seed": run.seed,
                "repeat": run.repeat,
                "trained on / scored by": asha_protocol(run),
                "simulated cost": run.cost_model,
                "asha/trials": run.trials,
                "asha/jobs": run.jobs,
                "asha/promotions": run.promotions,
                "asha/epochs": run.epochs_trained,
                best: 100 * run.best if benchmark == "cnn" else run.best,
                "best_trial": run.best_trial,
                "hours": run.hours,
                "digest": run.digest,
                "run_id": run.run_id,
            }
            for run in runs
        ]
    )
    return Table(
        f"ASHA searches ({benchmark})",
        frame.round(4),
        describe_scale(runs),
        ids(runs),
        "jobs = rung trainings; a promotion resumes a trial from its checkpoint; digest = sha256 of the event log; "
        "simulated cost = how the simulated clock charged a job (flops: epochs x the cell's forward MACs relative "
        "to DARTS_V2's; epochs: every epoch alike).",
        details=(
            "trained on / scored by",
            "simulated cost",
            "asha/jobs",
            "asha/promotions",
            "asha/epochs",
            "hours",
            "digest",
        ),
    )


def ranking_checks(record: Record, preset: str) -> tuple[Table, pd.DataFrame]:
    """Kendall tau and Spearman rho of each shared-weight ranking check, and the pairs behind them."""
    runs = record.of(RankingRow, preset)
    columns = [
        "run_name",
        "search_setting",
        "search_seed",
        "epochs",
        "kendall_tau",
        "kendall_p",
        "spearman_rho",
        "spearman_p",
        "parent",
        "run_id",
    ]
    frame = frame_of(runs)[columns] if runs else pd.DataFrame(columns=columns)
    pairs = [pd.DataFrame(ranking_kind.pairs(record, run)).assign(run_id=run.run_id) for run in runs]
    table = Table(
        "Shared-weight scores against stand-alone training",
        frame.round(3),
        describe_scale(runs),
        ids(runs),
        "parent = the search whose scored architectures were retrained; epochs = stand-alone training length.",
        details=("kendall_p", "spearman_p", "parent"),
    )
    return table, pd.concat(pairs) if pairs else pd.DataFrame()


def best_of_n(record: Record, preset: str) -> Table:
    runs = record.of(BestOfNRow, preset)
    if not runs:
        return Table("Best of N random NAS-Bench-201 cells", pd.DataFrame(), "no runs")
    newest = max(runs, key=lambda run: run.start_ms)
    frame = pd.DataFrame(nb201_kind.best_of_n_summary(record, newest))
    return Table(
        "Best of N random NAS-Bench-201 cells (CIFAR-10 validation accuracy, %)",
        frame.round(3),
        describe_scale([newest]),
        [newest.run_id],
        f"Over {newest.repeats} independent draws per N. A paper that reports one run's best reports one draw "
        "from these distributions; compare a method's gain with their spread.",
    )


def single_vs_dense_runs(record: Record, preset: str) -> list[SearchRow]:
    """CNN searches of the same setting and seed in both supernet modes, one per (mode, setting, seed)."""
    runs = record.of(SearchRow, preset, lambda run: run.space == "cnn" and run.mode in ("single", "dense"))
    dense = {(run.setting, run.seed) for run in runs if run.mode == "dense"}
    seen, both = set(), []
    for run in runs:
        key = (run.mode, run.setting, run.seed)
        if (run.setting, run.seed) in dense and key not in seen:
            seen.add(key)
            both.append(run)
    return both


def single_vs_dense(record: Record, preset: str) -> Table:
    """Searches of the same setting and seed in both supernet modes: cost, score, pick."""
    both = single_vs_dense_runs(record, preset)
    title = "single (the paper's algorithm) against dense (the released code's supernet)"
    if not record.of(SearchRow, preset, lambda run: run.space == "cnn"):
        return Table("single against dense weight sharing", pd.DataFrame(), "no runs")
    columns = ["mode", "setting", "seed", "hours", "selection best score", "digest", "picked cell (hash)", "run_id"]
    frame = pd.DataFrame(
        [
            {
                "mode": run.mode,
                "setting": run.setting,
                "seed": run.seed,
                "hours": run.hours,
                "selection best score": run.best_score,
                "digest": run.digest,
                "picked cell (hash)": cell_hash(run.genotype),
                "run_id": run.run_id,
            }
            for run in both
        ],
        columns=columns,
    )
    return Table(
        title,
        frame.round(4),
        describe_scale(both),
        ids(both),
        "Same setting and seed. The two modes compute the same outputs for the same weights, but dense also "
        "updates the unselected operations (zero gradients with momentum and weight decay, BatchNorm statistics), "
        "so training diverges. The picked cell is named by a short hash of its DARTS text (equal hashes, equal "
        "cells); the page draws each under its hash. hours = each run's wall time, including whatever else its "
        "machine ran; the controlled step-time and memory comparison is benchmarks/results/cnn_stage1_cpu.json "
        "(2-core CPU) and cnn_stage1_cuda.json (an H200 GPU).",
    )
