"""The NAS-Bench-201 chapter: RSWS's picks and rankings judged by the benchmark's real accuracies, from the record's
`nb201/rsws` runs (each logs every scored cell with its shared-weight scores and its benchmark accuracy)."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd

from randnas import tracking
from randnas.data.nb201 import Nb201Accuracies
from randnas.lookup import DARTS_EXPERIMENTS, SEARCH_EXPERIMENTS
from randnas.report.tables import Table, column_or_missing, describe_scale, select
from randnas.repro import numpy_generator
from randnas.search.best_of_n import best_of_n
from randnas.statistics import kendall_interval, mean_interval, spearman_interval

EXPERIMENT = SEARCH_EXPERIMENTS["nb201"]
DARTS_EXPERIMENT = DARTS_EXPERIMENTS["nb201"]
TRAINING_IMAGES = 25_000  # cifar10-valid's training split: what both the search and the benchmark train on
BENCHMARK_EPOCHS = 200
TOP_SHARE = 0.1  # top-k overlap: k = 10 % of the scored cells
DRAWS = 10_000


def searches(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    runs = select(record, EXPERIMENT, preset)
    return runs.sort_values(["start"]) if not runs.empty else runs


@functools.lru_cache(maxsize=64)
def _scored_records(run_id: str) -> tuple[dict, ...]:
    """One download per run and page build: the chapter's tables and figures all read these."""
    return tuple(tracking.load_json_artifact(run_id, "nb201/scored.json"))


def scored(run_id: str) -> pd.DataFrame:
    return pd.DataFrame(list(_scored_records(run_id)))


def score_epochs(cells: pd.DataFrame) -> list[int]:
    return sorted(int(c.removeprefix("score_epoch_")) for c in cells if c.startswith("score_epoch_"))


def top_overlap(scores: pd.Series, truth: pd.Series, share: float = TOP_SHARE) -> float:
    """The share of the top-k cells by score that are also in the top-k by benchmark accuracy."""
    k = max(1, round(share * len(scores)))
    by_score = set(scores.sort_values(ascending=False, kind="stable").index[:k])
    by_truth = set(truth.sort_values(ascending=False, kind="stable").index[:k])
    return len(by_score & by_truth) / k


def _label(run: pd.Series) -> str:
    return f"{run.get('param:mode', '?')}, seed {run.get('seed', '?')}, repeat {run.get('repeat', '1')}"


@functools.lru_cache(maxsize=64)
def _run_ranking(run_id: str) -> tuple[dict, ...]:
    """Per scoring epoch of one search: tau and rho with their bootstrap intervals, and top-10 % overlap
    (computed once: the chapter shows them in three places)."""
    cells = scored(run_id)
    rows = []
    for epoch in score_epochs(cells):
        scores = cells[f"score_epoch_{epoch}"]
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


def ranking_rows(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    """One row per search and scoring epoch: tau, rho (with intervals) and top-10 % overlap over its scored cells."""
    rows = []
    for _, run in searches(record, preset).iterrows():
        for values in _run_ranking(run["run_id"]):
            rows.append(
                {
                    "search": _label(run),
                    "mode": run.get("param:mode", "?"),
                    "seed": run.get("seed"),
                    "repeat": run.get("repeat"),
                    **values,
                    "run_id": run["run_id"],
                }
            )
    return pd.DataFrame(rows)


def independent(rows: pd.DataFrame) -> pd.DataFrame:
    """Repeats of a seed are reproducibility checks, not new searches: the first repeat of each (mode, seed) only."""
    if rows.empty:
        return rows
    return rows[rows["repeat"].astype(str).isin(["1", "", "nan", "None"])]


def ranking_table(record: pd.DataFrame, preset: str) -> Table:
    runs = searches(record, preset)
    rows = ranking_rows(record, preset)
    title = "Shared-weight scores against NAS-Bench-201's accuracies, as the supernet trains"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    summary = []
    for (mode, epoch), group in independent(rows).groupby(["mode", "epoch"]):
        summary.append(
            {
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
        runs["run_id"].tolist(),
        "Each search scores the same set of distinct random cells after each listed epoch (validation accuracy "
        "with the shared weights); tau is between those scores and the cells' NAS-Bench-201 accuracies (200 "
        "epochs of stand-alone training, mean over its seeds). Repeats of a seed are left out of the means "
        "(they are the exact-reproducibility check). Per-search values are in the next table.",
    )


def ranking_detail(record: pd.DataFrame, preset: str) -> Table:
    rows = ranking_rows(record, preset)
    if rows.empty:
        return Table("Per search", pd.DataFrame(), "no runs")
    frame = rows.drop(columns=["kendall_tau", "mode", "seed", "repeat", "run_id"]).round(3)
    return Table(
        "Per search and epoch", frame, describe_scale(searches(record, preset)), rows["run_id"].unique().tolist()
    )


def pick_rows(record: pd.DataFrame, preset: str, bench: Nb201Accuracies) -> pd.DataFrame:
    rows = []
    for _, run in searches(record, preset).iterrows():
        cells = scored(run["run_id"])
        last = f"score_epoch_{max(score_epochs(cells))}"
        pick = cells.loc[cells[last].idxmax()]  # the first of equal scores, as the search picks
        found = bench.lookup(pick["index"])
        rows.append(
            {
                "search": _label(run),
                "mode": run.get("param:mode", "?"),
                "repeat": run.get("repeat"),
                "pick": pick["cell"],
                "index": pick["index"],
                "pick accuracy (%)": found["accuracy"],
                "per seed": ", ".join(f"{v:.2f}" for v in found["per_seed"]),
                "percentile": found["percentile"],
                "best scored cell (%)": float(cells["true_accuracy"].max()),
                "cells scored": len(cells),
                "digest": str(run.get("digest", ""))[:12],
                "run_id": run["run_id"],
            }
        )
    return pd.DataFrame(rows)


def picks_table(record: pd.DataFrame, preset: str, bench: Nb201Accuracies) -> Table:
    rows = pick_rows(record, preset, bench)
    title = "RSWS's picks and their NAS-Bench-201 accuracy"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    # the numbers first; the cell string, the widest column, last
    frame = rows[
        [
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
    ].round(2)
    single = independent(rows[rows["mode"] == "single"])
    note = (
        f"percentile = the share of all 15,625 cells at or below the pick's accuracy; the optimum is "
        f"{bench.accuracy.max():.2f} %. Over the independent single-mode searches, the pick's accuracy (%) is "
        f"{mean_interval(single['pick accuracy (%)'].to_numpy()).text(2)} and its percentile "
        f"{mean_interval(single['percentile'].to_numpy()).text(1)}. digest = the shared weights' sha256: equal for a "
        "same-seed repeat means the search reproduced exactly."
    )
    return Table(title, frame, describe_scale(searches(record, preset)), rows["run_id"].tolist(), note)


def search_images(dataset: str) -> int:
    """The images a search epoch trains on: CIFAR-10's 25,000, or an embedded set's own search part."""
    if dataset == "cifar10":
        return TRAINING_IMAGES
    from randnas.data import load_image_data

    return load_image_data(dataset).search_split


def search_compute(run: pd.Series) -> float:
    """The search's training compute in full NAS-Bench-201 trainings (200 epochs of one cell on 25k images): its
    training images, plus its scoring forward passes at a third of a training step's cost."""

    def number(name: str, default: float) -> float:
        value = pd.to_numeric(column_or_missing(run.to_frame().T, f"param:{name}"), errors="coerce").iloc[0]
        return default if value is None or math.isnan(value) else float(value)

    batch = number("batch_size", 64)
    steps = math.ceil(search_images(str(run.get("dataset", "cifar10")).split("+")[0]) / batch)  # "cifar10+nb201"
    cap = number("max_steps_per_epoch", 0)
    trained = number("epochs", 50) * (min(steps, cap) if cap else steps) * batch
    epochs = number("epochs", 50)
    scorings = len({int(e) for e in re.findall(r"\d+", str(run.get("param:score_epochs", "")))} | {int(epochs)})
    minibatches = number("score_minibatches", 0) or math.ceil(TRAINING_IMAGES / batch)
    scoring = scorings * number("scored_cells", 100) * minibatches * batch
    return (trained + scoring / 3) / (BENCHMARK_EPOCHS * TRAINING_IMAGES)


def equal_compute_table(record: pd.DataFrame, preset: str, bench: Nb201Accuracies) -> Table:
    """RSWS's pick against the best of N random cells looked up in the benchmark: N at the search's compute, and
    N = the number of cells it scored (what training each scored cell in full would find)."""
    rows = pick_rows(record, preset, bench)
    title = "RSWS against random search at equal compute"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    runs = searches(record, preset).set_index("run_id")
    single = independent(rows[rows["mode"] == "single"])
    if single.empty:
        return Table(title, pd.DataFrame(), "no runs")
    compute = float(np.mean([search_compute(runs.loc[run_id]) for run_id in single["run_id"]]))
    n_equal = max(1, math.floor(compute))
    scored_n = int(single["cells scored"].iloc[0])
    table = [
        {
            "method": "RSWS pick (these searches)",
            "cells": "",
            "accuracy (%)": mean_interval(single["pick accuracy (%)"].to_numpy()).text(2),
        }
    ]
    for n, words in (
        (n_equal, f"best of N random cells, N = {n_equal}: the searches' compute ({compute:.2f} full trainings)"),
        (scored_n, f"best of the N = {scored_n} cells a search scores, had each been trained in full"),
    ):
        draws = best_of_n(bench.accuracy, n, DRAWS, numpy_generator(0, n))
        table.append(
            {
                "method": words,
                "cells": n,
                "accuracy (%)": f"{draws.mean():.2f} [{np.percentile(draws, 2.5):.2f}, {np.percentile(draws, 97.5):.2f}] ({DRAWS} draws)",
            }
        )
    return Table(
        title,
        pd.DataFrame(table),
        describe_scale(runs.loc[single["run_id"]].reset_index()),
        single["run_id"].tolist(),
        "Compute is counted in images: a search trains on epochs x minibatches x batch images and scores cells with "
        "forward passes (a third of a training step each); one NAS-Bench-201 training is 200 epochs of 25,000 images. "
        "The RSWS row's interval is over independent searches; a best-of-N row's is the 2.5-97.5 % range of the "
        "best over independent draws of N cells from all 15,625.",
    )


def tau_by_epoch(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    return independent(ranking_rows(record, preset))


def final_scatter(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    frames = []
    for _, run in searches(record, preset).iterrows():
        cells = scored(run["run_id"])
        last = f"score_epoch_{max(score_epochs(cells))}"
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


def darts_searches(record: pd.DataFrame, preset: str) -> pd.DataFrame:
    runs = select(record, DARTS_EXPERIMENT, preset)
    return runs.sort_values(["setting", "seed", "repeat"]) if not runs.empty else runs


@functools.lru_cache(maxsize=64)
def _darts_cells(run_id: str) -> tuple[str, ...]:
    return tuple(tracking.load_json_artifact(run_id, "darts/genotypes.json")["genotypes"])


def darts_rows(record: pd.DataFrame, preset: str, bench: Nb201Accuracies) -> pd.DataFrame:
    """Each DARTS search's derived cell after every epoch, looked up in the benchmark."""
    from randnas.spaces.nb201 import parse_nb201_cell

    rows = []
    for _, run in darts_searches(record, preset).iterrows():
        for epoch, text in enumerate(_darts_cells(run["run_id"]), 1):
            cell = parse_nb201_cell(text)
            found = bench.lookup(cell.to_index())
            rows.append(
                {
                    "search": f"{run.get('setting', '?')}, seed {run.get('seed', '?')}, repeat {run.get('repeat', '1')}",
                    "setting": run.get("setting"),
                    "repeat": str(run.get("repeat", "1")),
                    "epoch": epoch,
                    "accuracy (%)": found["accuracy"],
                    "percentile": found["percentile"],
                    "none edges": cell.ops.count("none"),
                    "skip edges": cell.ops.count("skip_connect"),
                    "cell": text,
                    "digest": str(run.get("digest", ""))[:12],
                    "run_id": run["run_id"],
                }
            )
    return pd.DataFrame(rows)


def darts_table(record: pd.DataFrame, preset: str, bench: Nb201Accuracies) -> Table:
    rows = darts_rows(record, preset, bench)
    title = "DARTS's final cells and their NAS-Bench-201 accuracy"
    if rows.empty:
        return Table(title, pd.DataFrame(), "no runs")
    final = rows.loc[rows.groupby("run_id")["epoch"].idxmax()].sort_values("search")
    first = final.groupby("search")["accuracy (%)"].first()
    frame = final[
        ["search", "epoch", "accuracy (%)", "percentile", "none edges", "skip edges", "digest", "cell"]
    ].round(2)
    frame = frame.rename(columns={"epoch": "epochs"})
    independent_runs = final[final["repeat"].isin(["1", "", "nan", "None"])]
    note = (
        "The cell DARTS derives after its last epoch (each edge's strongest op, `none` included, as NAS-Bench-201 "
        "derives it), looked up in the benchmark; percentile = the share of all 15,625 cells at or below it. "
        f"Over the independent searches the final cell's accuracy (%) is "
        f"{mean_interval(independent_runs['accuracy (%)'].to_numpy()).text(2)}. digest = the architecture weights' "
        f"sha256: equal for a same-seed repeat means DARTS reproduced exactly. ({len(first)} searches.)"
    )
    return Table(title, frame, describe_scale(darts_searches(record, preset)), final["run_id"].tolist(), note)
