"""The NAS-Bench-201 chapter: RSWS's picks and rankings judged by the benchmark's real accuracies, from the
record's NAS-Bench-201 searches (each logs every scored cell with its shared-weight scores and its benchmark
accuracy), and DARTS's searches on the same space."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from randnas.data.nb201 import Nb201Accuracies
from randnas.experiments import darts as darts_kind
from randnas.experiments import nb201 as kind
from randnas.experiments.base import Record
from randnas.experiments.darts import DartsRow
from randnas.experiments.enas import EnasRow
from randnas.experiments.nb201 import Nb201SearchRow
from randnas.report.common import Table, describe_scale, ids
from randnas.repro import numpy_generator
from randnas.search.best_of_n import best_of_n
from randnas.statistics import kendall_interval, mean_interval, spearman_interval

TRAINING_IMAGES = 25_000  # cifar10-valid's training split: what both the search and the benchmark train on
BENCHMARK_EPOCHS = 200
TOP_SHARE = 0.1  # top-k overlap: k = 10 % of the scored cells
DRAWS = 10_000


def searches(record: Record, preset: str) -> list[Nb201SearchRow]:
    """The preset's searches, oldest first."""
    return sorted(record.of(Nb201SearchRow, preset), key=lambda run: run.start_ms)


def scored(record: Record, run: Nb201SearchRow) -> pd.DataFrame:
    return pd.DataFrame(kind.scored(record, run))


def score_column(epoch: int) -> str:
    return kind.SCORE_COLUMN.format(epoch)


def score_epochs(cells: pd.DataFrame) -> list[int]:
    prefix = kind.SCORE_COLUMN.format("")
    return sorted(int(c.removeprefix(prefix)) for c in cells if c.startswith(prefix))


def top_overlap(scores: pd.Series, truth: pd.Series, share: float = TOP_SHARE) -> float:
    """The share of the top-k cells by score that are also in the top-k by benchmark accuracy."""
    k = max(1, round(share * len(scores)))
    by_score = set(scores.sort_values(ascending=False, kind="stable").index[:k])
    by_truth = set(truth.sort_values(ascending=False, kind="stable").index[:k])
    return len(by_score & by_truth) / k


# each setting of the search in the words the chapter prints (`search/nb201.py`'s NB201_SETTINGS)
SETTING_WORDS = {
    "project": "this project's (50 epochs, every cell scored on the whole validation split)",
    "rsps": "NAS-Bench-201's own RSPS (250 epochs, each cell scored on one batch of 512 images)",
}


def _label(run: Nb201SearchRow) -> str:
    return f"{run.setting}, {run.mode}, seed {run.seed}, repeat {run.repeat}"


def headline_setting(rows: pd.DataFrame) -> str:
    """The setting the ledger judges by: NAS-Bench-201's own RSPS where it ran (like with like with its published
    row), else this project's."""
    settings = set(rows["setting"]) if not rows.empty else set()
    return "rsps" if "rsps" in settings else "project"


def _run_ranking(record: Record, run: Nb201SearchRow) -> tuple[dict, ...]:
    """Per scoring epoch of one search: tau and rho with their bootstrap intervals, and top-10 % overlap (computed
    once per reader and run: the chapter and the ledger show them in four places)."""
    return _ranking(record.reader, run.run_id)


@functools.lru_cache(maxsize=256)
def _ranking(reader: Any, run_id: str) -> tuple[dict, ...]:
    cells = pd.DataFrame(reader.json(run_id, kind.SCORED_ARTIFACT))
    rows = []
    for epoch in score_epochs(cells):
        scores = cells[score_column(epoch)]
        tau, rho = kendall_interval(scores, cells["true_accuracy"]), spearman_interval(scores, cells["true_accuracy"])
        rows.append(
            {
                "epoch": epoch,
                "cells": len(cells),
                "kendall_tau": tau.value,
                "Kendall tau [95 % bootstrap] (p)": tau.text(3),
                "Spearman rho [95 % bootstrap] (p)": rho.text(3),
                "top-10 % overlap": top_overlap(scores, cells["true_accuracy"]),
            }
        )
    return tuple(rows)


def ranking_rows(record: Record, preset: str) -> pd.DataFrame:
    """One row per search and scoring epoch: tau, rho (with intervals) and top-10 % overlap over its scored cells."""
    rows = []
    for run in searches(record, preset):
        for values in _run_ranking(record, run):
            rows.append(
                {
                    "search": _label(run),
                    "setting": run.setting,
                    "mode": run.mode,
                    "seed": run.seed,
                    "repeat": run.repeat,
                    **values,
                    "run_id": run.run_id,
                }
            )
    return pd.DataFrame(rows)


def independent(rows: pd.DataFrame) -> pd.DataFrame:
    """Repeats of a seed are reproducibility checks, not new searches: the first repeat of each (mode, seed) only."""
    if rows.empty:
        return rows
    return rows[rows["repeat"] == 1]


def ranking_table(record: Record, preset: str) -> Table:
    runs = searches(record, preset)
    rows = ranking_rows(record, preset)
    title = "Shared-weight scores against NAS-Bench-201's accuracies, as the supernet trains"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    summary = []
    for (setting, mode, epoch), group in independent(rows).groupby(["setting", "mode", "epoch"]):
        summary.append(
            {
                "setting": setting,
                "mode": mode,
                "epoch": epoch,
                "searches": len(group),
                "mean Kendall tau over searches [95 % bootstrap]": mean_interval(group["kendall_tau"].to_numpy()).text(
                    3
                ),
                "mean top-10 % overlap": mean_interval(group["top-10 % overlap"].to_numpy()).text(2),
            }
        )
    return Table(
        title,
        pd.DataFrame(summary),
        describe_scale(runs),
        ids(runs),
        "Each search scores the same set of distinct random cells after each listed epoch (validation accuracy "
        "with the shared weights); tau is between those scores and the cells' NAS-Bench-201 accuracies (200 "
        "epochs of stand-alone training, mean over its seeds). Repeats of a seed are left out of the means "
        "(they are the exact-reproducibility check). Per-search values are in the next table. Settings: "
        + "; ".join(f"{name} = {words}" for name, words in SETTING_WORDS.items())
        + ".",
    )


def ranking_detail(record: Record, preset: str) -> Table:
    rows = ranking_rows(record, preset)
    if rows.empty:
        return Table("Per search", pd.DataFrame(), "no runs")
    frame = rows.drop(columns=["kendall_tau", "setting", "mode", "seed", "repeat", "run_id"]).round(3)
    return Table(
        "Per search and epoch", frame, describe_scale(searches(record, preset)), rows["run_id"].unique().tolist()
    )


def pick_rows(record: Record, preset: str, bench: Nb201Accuracies) -> pd.DataFrame:
    rows = []
    for run in searches(record, preset):
        cells = scored(record, run)
        last = score_column(max(score_epochs(cells)))
        pick = cells.loc[cells[last].idxmax()]  # the first of equal scores, as the search picks
        found = bench.lookup(pick["index"])
        rows.append(
            {
                "search": _label(run),
                "setting": run.setting,
                "mode": run.mode,
                "repeat": run.repeat,
                "pick": pick["cell"],
                "index": pick["index"],
                "pick accuracy (%)": found["accuracy"],
                "per seed": ", ".join(f"{v:.2f}" for v in found["per_seed"]),
                "percentile": found["percentile"],
                "best scored cell (%)": float(cells["true_accuracy"].max()),
                "cells scored": len(cells),
                "digest": run.digest[:12],
                "run_id": run.run_id,
            }
        )
    return pd.DataFrame(rows)


def picks_table(record: Record, preset: str, bench: Nb201Accuracies) -> Table:
    rows = pick_rows(record, preset, bench)
    title = "RSWS's picks and their NAS-Bench-201 accuracy"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    # the numbers first; the cell string, the widest column, last
    columns = [
        "search",
        "pick accuracy (%)",
        "per seed",
        "percentile",
        "best scored cell (%)",
        "cells scored",
        "index",
        "digest",
        "pick",
    ]
    frame = rows[columns].round(2)
    summaries = []
    for setting, single in independent(rows[rows["mode"] == "single"]).groupby("setting"):
        summaries.append(
            f"{setting} setting: the pick's accuracy (%) is "
            f"{mean_interval(single['pick accuracy (%)'].to_numpy()).text(2)} and its percentile "
            f"{mean_interval(single['percentile'].to_numpy()).text(1)}"
        )
    note = (
        f"percentile = the share of all 15,625 cells at or below the pick's accuracy; the optimum is "
        f"{bench.accuracy.max():.2f} %. Over the independent single-mode searches, "
        f"{'; '.join(summaries) or 'none'}. digest = the shared weights' sha256: equal for a "
        "same-seed repeat means the search reproduced exactly."
    )
    return Table(title, frame, describe_scale(searches(record, preset)), rows["run_id"].tolist(), note)


def search_images(dataset: str) -> int:
    """The images a search epoch trains on: CIFAR-10's 25,000, or an embedded set's own search part."""
    if dataset == "cifar10":
        return TRAINING_IMAGES
    from randnas.data import load_image_data

    return load_image_data(dataset).search_split


def scored_images(search: Any, scorings: int) -> int:
    """The images a NAS-Bench-201 search scores with the shared weights over `scorings` scoring epochs: its cells
    each on one batch of their own (NAS-Bench-201's RSPS) or on the same validation minibatches (all by default).
    `search`: a search's row or its config (both carry the score settings and batch size)."""
    if search.score_batch:
        per_cell = search.score_batch
    else:
        per_cell = (search.score_minibatches or math.ceil(TRAINING_IMAGES / search.batch_size)) * search.batch_size
    return scorings * search.scored_cells * per_cell


def search_compute(run: Nb201SearchRow) -> float:
    """The search's training compute in full NAS-Bench-201 trainings (200 epochs of one cell on 25k images): its
    training images, plus its scoring forward passes at a third of a training step's cost."""
    batch, epochs = run.batch_size, run.epochs or 50
    steps = math.ceil(search_images(run.dataset.split("+")[0]) / batch)  # "cifar10+nb201"
    trained = epochs * (min(steps, run.steps_cap) if run.steps_cap else steps) * batch
    scoring = scored_images(run, len(run.score_epochs))
    return (trained + scoring / 3) / (BENCHMARK_EPOCHS * TRAINING_IMAGES)


def equal_compute_table(record: Record, preset: str, bench: Nb201Accuracies) -> Table:
    """RSWS's pick against the best of N random cells looked up in the benchmark: N at the search's compute, and
    N = the number of cells it scored (what training each scored cell in full would find)."""
    rows = pick_rows(record, preset, bench)
    title = "RSWS against random search at equal compute"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    by_id = {run.run_id: run for run in searches(record, preset)}
    table, chosen = [], []
    for setting, single in independent(rows[rows["mode"] == "single"]).groupby("setting"):
        runs = [by_id[run_id] for run_id in single["run_id"]]
        chosen += runs
        table += _equal_compute_rows(setting, single, runs, bench)
    if not table:
        return Table(title, pd.DataFrame(), "no runs")
    return Table(
        title,
        pd.DataFrame(table),
        describe_scale(chosen),
        [run.run_id for run in chosen],
        "Compute is counted in images: a search trains on epochs x minibatches x batch images and scores cells with "
        "forward passes (a third of a training step each); one NAS-Bench-201 training is 200 epochs of 25,000 images. "
        "The RSWS row's interval is over independent searches; a best-of-N row's is the 2.5-97.5 % range of the "
        "best over independent draws of N cells from all 15,625.",
    )


def _equal_compute_rows(
    setting: str, single: pd.DataFrame, runs: list[Nb201SearchRow], bench: Nb201Accuracies
) -> list[dict]:
    """One setting's RSWS picks against the best of N random cells at its searches' compute and at its cells scored."""
    compute = float(np.mean([search_compute(run) for run in runs]))
    n_equal = max(1, math.floor(compute))
    scored_n = int(single["cells scored"].iloc[0])
    accuracy = mean_interval(single["pick accuracy (%)"].to_numpy()).text(2)
    table = [{"setting": setting, "method": "RSWS pick (these searches)", "cells": "", "accuracy (%)": accuracy}]
    for n, words in (
        (n_equal, f"best of N random cells, N = {n_equal}: the searches' compute ({compute:.2f} full trainings)"),
        (scored_n, f"best of the N = {scored_n} cells a search scores, had each been trained in full"),
    ):
        draws = best_of_n(bench.accuracy, n, DRAWS, numpy_generator(0, n))
        interval = f"[{np.percentile(draws, 2.5):.2f}, {np.percentile(draws, 97.5):.2f}]"
        accuracy = f"{draws.mean():.2f} {interval} ({DRAWS} draws)"
        table.append({"setting": setting, "method": words, "cells": n, "accuracy (%)": accuracy})
    return table


def tau_by_epoch(record: Record, preset: str) -> pd.DataFrame:
    """The independent searches' tau per scoring epoch, with `kind` = "setting, mode" for the figure's hue."""
    rows = independent(ranking_rows(record, preset))
    return rows.assign(kind=rows["setting"] + ", " + rows["mode"]) if not rows.empty else rows


def final_scatter(record: Record, preset: str) -> pd.DataFrame:
    frames = []
    for run in searches(record, preset):
        cells = scored(record, run)
        last = score_column(max(score_epochs(cells)))
        frames.append(
            pd.DataFrame(
                {
                    "search": _label(run),
                    "shared-weight score": cells[last],
                    "NAS-Bench-201 accuracy (%)": cells["true_accuracy"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plot_final_scatter(points: pd.DataFrame, bench: Nb201Accuracies, title: str):
    """Each search's scored cells after its last epoch, shared-weight score against benchmark accuracy, with the
    search's pick (its best score) starred and the benchmark's median and best cell as lines: how far the pick
    sits from what random cells and the optimum reach."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    accuracy = "NAS-Bench-201 accuracy (%)"
    median, best = float(np.median(bench.accuracy)), float(np.max(bench.accuracy))
    grid = sns.relplot(
        data=points,
        x="shared-weight score",
        y=accuracy,
        col="search",
        col_wrap=min(3, points["search"].nunique()),
        height=2.5,
        aspect=1.0,
        s=14,
        alpha=0.6,
        facet_kws={"sharex": False},
    )
    for search, ax in grid.axes_dict.items():
        cells = points[points["search"] == search]
        pick = cells.loc[cells["shared-weight score"].idxmax()]
        ax.scatter([pick["shared-weight score"]], [pick[accuracy]], marker="*", s=160, color="crimson", zorder=5)
        ax.axhline(median, color="0.4", ls="--", lw=0.9)
        ax.axhline(best, color="green", ls=":", lw=1.1)
        ax.set_title(str(search), fontsize=9)
    handles = [
        plt.Line2D([], [], marker="*", color="crimson", ls="", markersize=11, label="the search's pick"),
        plt.Line2D([], [], color="0.4", ls="--", label=f"median of all cells ({median:.2f} %)"),
        plt.Line2D([], [], color="green", ls=":", label=f"best cell ({best:.2f} %)"),
    ]
    grid.figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    grid.figure.suptitle(title, y=1.02)
    return grid


def darts_searches(record: Record, preset: str) -> list[DartsRow]:
    runs = record.of(DartsRow, preset, lambda run: run.space == "nb201")
    return sorted(runs, key=lambda run: (run.setting, run.seed or 0, run.repeat))


def darts_rows(record: Record, preset: str, bench: Nb201Accuracies) -> pd.DataFrame:
    """Each DARTS search's derived cell after every epoch, looked up in the benchmark."""
    from randnas.spaces.nb201 import parse_nb201_cell

    rows = []
    for run in darts_searches(record, preset):
        for epoch, text in enumerate(darts_kind.cells(record, run), 1):
            cell = parse_nb201_cell(text)
            found = bench.lookup(cell.to_index())
            rows.append(
                {
                    "search": f"{run.setting}, seed {run.seed}, repeat {run.repeat}",
                    "setting": run.setting,
                    "repeat": run.repeat,
                    "epoch": epoch,
                    "accuracy (%)": found["accuracy"],
                    "percentile": found["percentile"],
                    "none edges": cell.ops.count("none"),
                    "skip edges": cell.ops.count("skip_connect"),
                    "cell": text,
                    "digest": run.digest[:12],
                    "run_id": run.run_id,
                }
            )
    return pd.DataFrame(rows)


def darts_table(record: Record, preset: str, bench: Nb201Accuracies) -> Table:
    rows = darts_rows(record, preset, bench)
    title = "DARTS's final cells and their NAS-Bench-201 accuracy"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    final = rows.loc[rows.groupby("run_id")["epoch"].idxmax()].sort_values("search")
    first = final.groupby("search")["accuracy (%)"].first()
    columns = ["search", "epoch", "accuracy (%)", "percentile", "none edges", "skip edges", "digest", "cell"]
    frame = final[columns].round(2).rename(columns={"epoch": "epochs"})
    independent_runs = final[final["repeat"] == 1]
    note = (
        "The cell DARTS derives after its last epoch (each edge's strongest op, `none` included, as NAS-Bench-201 "
        "derives it), looked up in the benchmark; percentile = the share of all 15,625 cells at or below it. "
        f"Over the independent searches the final cell's accuracy (%) is "
        f"{mean_interval(independent_runs['accuracy (%)'].to_numpy()).text(2)}. digest = the architecture weights' "
        f"sha256: equal for a same-seed repeat means DARTS reproduced exactly. ({len(first)} searches.)"
    )
    return Table(title, frame, describe_scale(darts_searches(record, preset)), final["run_id"].tolist(), note)


def enas_searches(record: Record, preset: str) -> list[EnasRow]:
    runs = record.of(EnasRow, preset, lambda run: run.space == "nb201")
    return sorted(runs, key=lambda run: (run.seed or 0, run.repeat))


def enas_rows(record: Record, preset: str, bench: Nb201Accuracies) -> pd.DataFrame:
    """Each ENAS search's derived cell (the derive step's best sample), looked up in the benchmark."""
    from randnas.spaces.nb201 import parse_nb201_cell

    rows = []
    for run in enas_searches(record, preset):
        cell = parse_nb201_cell(run.genotype)
        found = bench.lookup(cell.to_index())
        rows.append(
            {
                "search": f"seed {run.seed}, repeat {run.repeat}",
                "repeat": run.repeat,
                "epochs": run.epochs,
                "accuracy (%)": found["accuracy"],
                "percentile": found["percentile"],
                "derive score": 100.0 * run.derive_score,
                "none edges": cell.ops.count("none"),
                "skip edges": cell.ops.count("skip_connect"),
                "digest": run.digest[:12],
                "cell": run.genotype,
                "run_id": run.run_id,
            }
        )
    return pd.DataFrame(rows)


def enas_epochs(record: Record, preset: str) -> pd.DataFrame:
    """Each ENAS search's most likely cell after every epoch (the controller's argmax at each decision), its
    NAS-Bench-201 accuracy as the search logged it."""
    rows = [
        {"search": f"seed {run.seed}, repeat {run.repeat}", "epoch": epoch, "accuracy (%)": accuracy}
        for run in enas_searches(record, preset)
        for epoch, accuracy in record.reader.history(run.run_id, "cell/true_accuracy")
    ]
    return pd.DataFrame(rows, columns=["search", "epoch", "accuracy (%)"])


def enas_table(record: Record, preset: str, bench: Nb201Accuracies) -> Table:
    rows = enas_rows(record, preset, bench)
    title = "ENAS's derived cells and their NAS-Bench-201 accuracy"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    independent_runs = rows[rows["repeat"] == 1]
    frame = rows.drop(columns=["repeat", "run_id"]).round(2)
    note = (
        "ENAS' final cell: cells sampled from the trained controller, each scored on one validation minibatch with "
        "the shared weights (derive score, accuracy %), the best kept; looked up in the benchmark. percentile = the "
        "share of all 15,625 cells at or below it. Over the independent searches the derived cell's accuracy (%) is "
        f"{mean_interval(independent_runs['accuracy (%)'].to_numpy()).text(2)}. digest = the controller's weights' "
        f"sha256: equal for a same-seed repeat means ENAS reproduced exactly. ({len(independent_runs)} searches.)"
    )
    return Table(title, frame, describe_scale(enas_searches(record, preset)), rows["run_id"].tolist(), note)


def published_table(record: Record, preset: str, bench: Nb201Accuracies) -> Table:
    """NAS-Bench-201's own runs of the methods (its Table 5) beside this preset's RSWS picks (by setting), DARTS
    cells (by order) and ENAS picks, each with the percentile of its mean accuracy among all 15,625 cells."""
    from randnas.paper import NB201_CITATION, NB201_TABLE5

    def spread(mean: float, std: float | None) -> str:
        return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"

    rows = [
        {
            "method": row.method,
            "source": NB201_CITATION,
            "searches": 3 if row.valid_std is not None else "",
            "cifar10-valid accuracy (%)": spread(row.valid, row.valid_std),
            "percentile of the mean": round(bench.percentile(row.valid), 1),
            "CIFAR-10 test accuracy (%)": spread(row.test, row.test_std),
            "protocol": row.note,
        }
        for row in NB201_TABLE5
    ]
    picks = pick_rows(record, preset, bench)
    ours = independent(picks[picks["mode"] == "single"]) if not picks.empty else picks
    run_ids: list[str] = []
    for setting, group in ours.groupby("setting") if not ours.empty else ():
        rows.append(_our_row(f"RSWS, {setting} setting", group["pick accuracy (%)"], SETTING_WORDS[setting], bench))
        run_ids += group["run_id"].tolist()
    cells = darts_rows(record, preset, bench)
    if not cells.empty:
        final = cells.loc[cells.groupby("run_id")["epoch"].idxmax()]
        for setting, group in final[final["repeat"] == 1].groupby("setting"):
            words = f"this project's DARTS, {int(group['epoch'].max())} epochs; the final cell"
            rows.append(_our_row(f"DARTS, {setting}", group["accuracy (%)"], words, bench))
            run_ids += group["run_id"].tolist()
    enas = enas_rows(record, preset, bench)
    if not enas.empty:
        independent_runs = enas[enas["repeat"] == 1]
        words = f"this project's ENAS, {int(independent_runs['epochs'].max())} epochs; the derive step's pick"
        rows.append(_our_row("ENAS", independent_runs["accuracy (%)"], words, bench))
        run_ids += independent_runs["run_id"].tolist()
    note = (
        "The published rows are NAS-Bench-201's own searches (3 seeds each, quoted as published; the optimum and "
        "DARTS's 39.77 % = the all-skip_connect cell are confirmed in the benchmark data); ours are this preset's "
        "independent searches, their picks looked up in the same table (cifar10-valid validation accuracy after 200 "
        "epochs). percentile = the share of all 15,625 cells at or below the mean accuracy; the median cell is "
        f"{float(np.median(bench.accuracy)):.2f} %. Our searches report no CIFAR-10 test accuracy (the benchmark "
        "copy here holds cifar10-valid only)."
    )
    return Table(
        f"Beside {NB201_CITATION}", pd.DataFrame(rows), describe_scale(searches(record, preset)), run_ids, note
    )


def _our_row(method: str, accuracies: pd.Series, protocol: str, bench: Nb201Accuracies) -> dict:
    values = accuracies.to_numpy(dtype=float)
    mean = float(values.mean())
    # mean ± sample std over searches, as NAS-Bench-201 prints its rows (one search: no spread)
    accuracy = f"{mean:.2f} ± {values.std(ddof=1):.2f}" if len(values) > 1 else f"{mean:.2f}"
    return {
        "method": f"ours: {method}",
        "source": "this record",
        "searches": len(values),
        "cifar10-valid accuracy (%)": accuracy,
        "percentile of the mean": round(bench.percentile(mean), 1),
        "CIFAR-10 test accuracy (%)": "",
        "protocol": protocol,
    }
