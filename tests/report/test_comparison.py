"""Tables 1 and 6: the paper's rows, and ours only where the same protocol ran (stage 3), else labelled as what
we have instead."""

from __future__ import annotations

import numpy as np

from randnas import paper
from randnas.report import comparison
from tests.rows import RecordBuilder, stage3


def rsws_row(record):
    return comparison.comparison_table(record, "cnn", "smoke").frame.set_index("method").loc["Random search WS"]


def test_table1_rsws_row_is_stage3_of_the_final_protocol_only(built):
    before = rsws_row(built.record())
    assert before["ours: best"] == before["ours: average"] == ""  # stage-2 runs are another quantity
    assert before["ours: other quantity"].startswith("stage-2 test error of 3 search(es)")
    picked = [stage3(built, [9, 3.0], seed=s) for s in (0, 1)] + [stage3(built, [9, 3.4], seed=2)]
    built.train("rsws", [1, 0.5], setting="random2", search_seed=5)  # another setting's stage 2
    stage3(built, [9, 1.0], search_run=2, seeds=(3, 4, 5), search_seed=4)  # another independent run (Table 4's)
    row = rsws_row(built.record())
    spread = np.std([3, 3, 3.4], ddof=1)
    assert row["ours: best"] == "3.00" and row["ours: average"] == f"3.13 ± {spread:.2f} (n=3, too few for an interval)"
    assert set(row["runs"].split()) == {p[:8] for p in picked}
    assert row["ours: other quantity"] == "" and "trial 1 (best of search seeds 0, 1, 2" in row["ours: protocol"]


def test_table1_rsws_row_keeps_to_the_final_setting_when_another_setting_has_stage3_too():
    built = RecordBuilder()
    final = [stage3(built, [9, 3.0], setting="random5", seed=s) for s in (0, 1)]
    stage3(built, [9, 1.0], setting="random1", seed=0)  # a better number from another setting: not Table 1's row
    row = rsws_row(built.record())
    assert set(row["runs"].split()) == {p[:8] for p in final} and row["ours: best"] == "3.00"
    assert "stage 3 of run 1 of random5" in row["ours: protocol"]


def test_table1_asha_row_is_the_asha_picks_stage3_else_labelled_as_the_search(built):
    asha = built.asha(best=0.9, plan_key="t/asha/smoke/seed-0@1")
    row = comparison.comparison_table(built.record(), "cnn", "smoke").frame.set_index("method").loc["ASHA baseline"]
    assert row["ours: average"] == "" and row["ours: other quantity"].endswith("top rung: 10.00")
    stage3(built, [9, 7.0], spec="asha", search_seed=0, parent=asha)
    stage3(built, [9, 8.0], spec="asha", search_seed=0, seed=1, parent=asha)
    table = comparison.comparison_table(built.record(), "cnn", "smoke")
    row = table.frame.set_index("method").loc["ASHA baseline"]
    assert row["ours: best"] == "7.00" and row["ours: average"].startswith("7.50 ± 0.71 (n=2, too few")
    assert asha in table.run_ids


def test_table1_random_baseline_is_the_best_brief_cell_trained_with_seeds(built):
    method = "Random search baseline [Liu et al.]"
    row = comparison.comparison_table(built.record(), "cnn", "smoke").frame.set_index("method").loc[method]
    assert row["ours: protocol"].startswith("not run: 24 random cells trained briefly")
    stage3(built, [9, 6.0], spec="best-random", search_seed=3, seeds=(0, 1, 2, 3))
    row = comparison.comparison_table(built.record(), "cnn", "smoke").frame.set_index("method").loc[method]
    assert row["ours: average"] == "6.00 (n=1)" and "best of search seeds 0, 1, 2, 3" in row["ours: protocol"]


def test_comparison_rows_follow_the_paper(built):
    table = comparison.comparison_table(built.record(), "cnn", "smoke").frame.set_index("method")
    rsws = table.loc["Random search WS"]
    assert rsws["paper: best"] == "2.71" and rsws["paper: average"] == "2.85 ± 0.08"
    assert rsws["paper: params (M)"] == "4.3"
    assert table.loc["NASNet-A", "paper: best"] == "" and table.loc["NASNet-A", "paper: average"] == "2.65"
    assert table.loc["NASNet-A", "ours: best"] == ""  # a method we did not run stays empty
    assert list(table.index) == [row.method for row in paper.TABLE1]


def test_an_empty_record_keeps_the_papers_rows_with_ours_blank():
    table = comparison.comparison_table(RecordBuilder().record(), "ptb", "smoke")
    assert len(table.frame) == len(paper.TABLE6) and set(table.frame["ours: test"]) == {""} and table.run_ids == []
