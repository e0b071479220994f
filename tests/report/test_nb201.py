"""The NAS-Bench-201 chapter's numbers from in-memory searches: rank agreement (Kendall tau, Spearman rho,
top-10 % overlap), the picks' benchmark accuracy and percentile, compute in full trainings, DARTS's cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from randnas.report import nb201
from tests.rows import RecordBuilder


class Bench:
    """A stand-in for NAS-Bench-201's accuracies: cell index -> accuracy, percentile among all its cells."""

    def __init__(self, accuracy: dict[str, float]) -> None:
        self.table = accuracy
        self.accuracy = np.array(sorted(accuracy.values()))

    def lookup(self, index: str) -> dict:
        value = self.table[index]
        return {"accuracy": value, "percentile": self.percentile(value), "per_seed": [value]}

    def percentile(self, accuracy: float) -> float:
        return 100.0 * float(np.mean(self.accuracy <= accuracy))


def cells(scores: list[float], truth: list[float], epoch: int = 2) -> list[dict]:
    return [
        {"index": f"{i:06d}", "cell": f"|cell-{i}|", "true_accuracy": t, f"score_epoch_{epoch}": s}
        for i, (s, t) in enumerate(zip(scores, truth, strict=True))
    ]


def test_top_overlap_counts_the_best_by_score_among_the_best_by_truth():
    truth = pd.Series([90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0, 0.0])
    agreeing = pd.Series([1.0, 0.9, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.05])  # top 2 by score = top 2 by truth
    assert nb201.top_overlap(agreeing, truth, share=0.2) == 1.0
    # the bottom two by score are also the bottom two by truth: an overlap of the worst cells would read 1.0 too
    opposite = pd.Series([0.0, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9, 1.0])
    assert nb201.top_overlap(opposite, truth, share=0.2) == 0.0
    assert nb201.top_overlap(-truth, truth, share=0.2) == 0.0 and nb201.top_overlap(truth, truth) == 1.0


def test_ranking_rows_hold_each_searchs_tau_and_rho_and_leave_repeats_out_of_the_means():
    built = RecordBuilder()
    truth = [90.0, 80.0, 70.0, 60.0, 50.0, 40.0]
    scores = [0.9, 0.7, 0.8, 0.5, 0.6, 0.1]
    first = built.nb201_search(cells(scores, truth), seed=0)
    built.nb201_search(cells(scores, truth), seed=0, repeat=2)  # the exact-reproducibility check
    built.nb201_search(cells(list(reversed(scores)), truth), seed=1)
    record = built.record()
    rows = nb201.ranking_rows(record, "cpu")
    assert len(rows) == 3 and set(rows["epoch"]) == {2}
    mine = rows[rows["run_id"] == first].iloc[0]
    assert mine["kendall_tau"] == pytest.approx(stats.kendalltau(scores, truth).statistic)
    assert len(nb201.independent(rows)) == 2
    table = nb201.ranking_table(record, "cpu")
    assert table.frame.loc[0, "searches"] == 2 and "too few to conclude" in table.frame.loc[0, table.frame.columns[4]]


def test_the_pick_is_the_best_scored_cell_looked_up_in_the_benchmark():
    built = RecordBuilder()
    truth = [90.0, 80.0, 70.0, 60.0]
    built.nb201_search(cells([0.1, 0.9, 0.9, 0.2], truth), seed=0)  # a tie: the first of the equal scores
    bench = Bench({f"{i:06d}": t for i, t in enumerate(truth)})
    rows = nb201.pick_rows(built.record(), "cpu", bench)
    assert (rows.loc[0, "index"], rows.loc[0, "pick accuracy (%)"], rows.loc[0, "percentile"]) == ("000001", 80.0, 75.0)
    assert rows.loc[0, "best scored cell (%)"] == 90.0 and rows.loc[0, "cells scored"] == 4


def test_search_compute_counts_training_and_scoring_images_in_full_trainings():
    built = RecordBuilder()
    built.nb201_search(cells([0.1, 0.2], [1.0, 2.0], epoch=50), seed=0, dataset="cifar10", steps_cap=100)
    (run,) = nb201.searches(built.record(), "cpu")
    trained = 50 * 100 * 64  # 50 epochs of 100 capped minibatches of 64
    scored = 1 * 2 * (25_000 // 64 + 1) * 64  # one scoring epoch, 2 cells, the whole validation part
    assert nb201.search_compute(run) == pytest.approx((trained + scored / 3) / (200 * 25_000))


def test_darts_rows_look_every_epochs_cell_up_and_count_its_parameter_free_edges():
    built = RecordBuilder()
    skips = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    conv = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|"
    built.darts(space="nb201", preset="cpu", cells=[conv, skips])
    from randnas.spaces.nb201 import parse_nb201_cell

    bench = Bench({parse_nb201_cell(conv).to_index(): 85.0, parse_nb201_cell(skips).to_index(): 39.77})
    rows = nb201.darts_rows(built.record(), "cpu", bench)
    assert rows["accuracy (%)"].tolist() == [85.0, 39.77] and rows["skip edges"].tolist() == [0, 6]
    assert rows["none edges"].tolist() == [3, 0]
    table = nb201.darts_table(built.record(), "cpu", bench)
    assert table.frame["accuracy (%)"].iloc[0] == 39.77 and table.frame["epochs"].iloc[0] == 2


def test_enas_picks_are_looked_up_and_stand_beside_the_published_enas_row():
    from randnas.spaces.nb201 import parse_nb201_cell

    built = RecordBuilder()
    skips = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    conv = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|"
    built.enas(preset="cpu", seed=0, cell=conv, epoch_accuracies=[39.77, 85.0], digest="ab" * 32)
    built.enas(preset="cpu", seed=1, cell=skips, epoch_accuracies=[39.77, 39.77])
    built.enas(preset="cpu", seed=0, repeat=2, cell=skips, digest="ab" * 32)  # a same-seed repeat: left out
    bench = Bench({parse_nb201_cell(conv).to_index(): 85.0, parse_nb201_cell(skips).to_index(): 39.77})
    table = nb201.enas_table(built.record(), "cpu", bench)
    assert table.frame["accuracy (%)"].tolist() == [85.0, 39.77, 39.77] and len(table.run_ids) == 3
    assert "is 62.39 (n=2, too few to conclude)" in table.note and "(2 searches.)" in table.note
    assert table.frame["skip edges"].tolist() == [0, 6, 6]
    epochs = nb201.enas_epochs(built.record(), "cpu")
    assert epochs[epochs["search"] == "seed 0, repeat 1"]["accuracy (%)"].tolist() == [39.77, 85.0]
    published = nb201.published_table(built.record(), "cpu", bench).frame.set_index("method")
    assert published.loc["ENAS", "cifar10-valid accuracy (%)"] == "37.51 ± 3.19"
    ours = published.loc["ours: ENAS"]
    assert ours["cifar10-valid accuracy (%)"] == "62.39 ± 31.98" and ours["searches"] == 2


def test_rsps_scoring_counts_one_batch_per_cell():
    built = RecordBuilder()
    built.nb201_search(cells([0.1, 0.2], [1.0, 2.0], epoch=250), seed=0, dataset="cifar10", setting="rsps")
    (run,) = nb201.searches(built.record(), "cpu")
    trained = 250 * (25_000 // 64 + 1) * 64  # 250 epochs over the search half, batch 64
    assert nb201.search_compute(run) == pytest.approx((trained + 1 * 2 * 512 / 3) / (200 * 25_000))


def test_the_published_rows_stand_beside_ours_with_percentiles_and_each_setting_apart():
    from randnas.paper import NB201_TABLE5

    built = RecordBuilder()
    truth = [90.0, 80.0, 70.0, 60.0]
    built.nb201_search(cells([0.9, 0.1, 0.1, 0.1], truth), seed=0)  # project: picks 90
    built.nb201_search(cells([0.1, 0.1, 0.9, 0.1], truth), seed=1)  # project: picks 70
    built.nb201_search(cells([0.1, 0.9, 0.1, 0.1], truth), seed=0, repeat=2)  # a repeat: left out
    built.nb201_search(cells([0.1, 0.1, 0.1, 0.9], truth), seed=0, setting="rsps")  # rsps: picks 60
    bench = Bench({f"{i:06d}": t for i, t in enumerate(truth)})
    table = nb201.published_table(built.record(), "cpu", bench).frame.set_index("method")
    assert len(table) == len(NB201_TABLE5) + 2
    rsps = table.loc["RSPS (= RSWS)"]
    assert rsps["cifar10-valid accuracy (%)"] == "84.16 ± 1.69" and rsps["CIFAR-10 test accuracy (%)"] == "87.66 ± 1.69"
    assert rsps["percentile of the mean"] == 75.0  # at or below 84.16: 80, 70 and 60 of the stand-in's four cells
    project = table.loc["ours: RSWS, project setting"]
    assert project["cifar10-valid accuracy (%)"] == "80.00 ± 14.14" and project["searches"] == 2
    assert table.loc["ours: RSWS, rsps setting", "cifar10-valid accuracy (%)"] == "60.00"
    assert "one batch of 512 images" in table.loc["ours: RSWS, rsps setting", "protocol"]
    rows = nb201.pick_rows(built.record(), "cpu", bench)
    assert nb201.headline_setting(rows) == "rsps" and nb201.headline_setting(rows[rows["setting"] == "project"]) == (
        "project"
    )
