"""Exact reproducibility (repeats side by side), Table 4 (independent runs through stage 3) and Table 5 (the
checklist with this project's row)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from randnas import paper
from randnas.report import reproducibility
from tests.conftest import REPO
from tests.rows import RecordBuilder, searches, stage3


def test_exact_table_puts_repeats_side_by_side(built):
    table = reproducibility.exact_table(built.record(), "smoke").frame.set_index("job")
    assert table.loc["cnn-rsws/smoke/seed-0", "identical"] == "yes"
    assert table.loc["cnn-rsws/smoke/seed-1", "identical"] == "NO"  # a broken repeat is shown, not hidden
    assert table.loc["cnn-rsws/smoke/seed-0", "digests"] == "aaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaa"


def test_exact_table_pairs_a_plans_extra_repeat_with_its_grid_job():
    # the cpu plan's grid job is named seed-1; its extra point {seed: 1, repeat: 2} is seed-1_repeat-2
    built = RecordBuilder()
    first = built.search(preset="cpu", seed=1, digest="dddd" * 16, plan_key="default/cnn-rsws/cpu/seed-1@1")
    again = built.search(
        preset="cpu", seed=1, repeat=2, digest="dddd" * 16, plan_key="default/cnn-rsws/cpu/seed-1_repeat-2@2"
    )
    alone = built.search(preset="cpu", seed=0, digest="eeee" * 16, plan_key="default/cnn-rsws/cpu/seed-0@3")
    table = reproducibility.exact_table(built.record(), "cpu")
    assert table.frame[["job", "identical"]].values.tolist() == [["cnn-rsws/cpu/seed-1", "yes"]]
    assert sorted(table.run_ids) == sorted([first, again]) and alone not in table.run_ids


def test_a_stage2_repeat_joins_the_exact_table_and_stays_out_of_the_trials():
    from randnas.report.selectors import trainings

    built = RecordBuilder()
    first = built.train("rsws", [50, 5.0], digest="ab" * 32, plan_key="t/cnn-stage2/smoke/search_seed-0@ee")
    again = built.train(
        "rsws", [50, 5.0], digest="ab" * 32, repeat=2, plan_key="t/cnn-stage2/smoke/search_seed-0_repeat-2@ff"
    )
    record = built.record()
    exact = reproducibility.exact_table(record, "smoke")
    assert exact.frame["identical"].tolist() == ["yes"] and set(exact.run_ids) == {first, again}
    assert [run.run_id for run in trainings(record, "cnn", "smoke", 2)] == [first]  # the repeat is no second seed


def test_a_repeat_made_with_other_code_says_so_rather_than_failing_exactness():
    assert reproducibility.identical(["a", "a"], ["c1", "c2"]) == "yes"
    assert reproducibility.identical(["a", "b"], ["c1" * 5, "c2" * 5]) == (
        "NO: different code (commits c1c1c1c1, c2c2c2c2)"
    )
    assert reproducibility.identical(["a", "b"], ["c1", "c1"]) == "NO"


def test_table4_groups_stage3_runs_by_independent_run(built):
    for seed, error in enumerate((3.0, 3.2)):
        stage3(built, [9, error], seed=seed)
    for seed, error in enumerate((2.0, 2.4, 2.2)):
        stage3(built, [9, error], seed=seed, search_run=2, seeds=(3, 4, 5), search_seed=4)
    table = reproducibility.broad_table(built.record(), "cnn", "smoke").frame.set_index("run")
    run1 = f"3.10 ± {np.std([3, 3.2], ddof=1):.2f} (n=2, too few for an interval)"
    assert table.loc["Run 1", "ours: mean ± std"] == run1
    assert table.loc["Run 2", "ours: mean ± std"] == "2.20 ± 0.20 (n=3, too few for an interval)"
    assert table.loc["Run 2", "ours: pick"] == "search seed 4"
    assert table.loc["Run 1", "paper: mean ± std (10 seeds)"] == "2.85 ± 0.08"
    assert table.loc["Run 3", "ours: mean ± std"] == ""
    average = f"2.65 ± {np.std([3.1, 2.2], ddof=1):.2f} (n=2, too few for an interval)"
    assert table.loc["Average over runs", "ours: mean ± std"] == average


def test_broad_table_for_ptb_shows_no_cnn_paper_numbers(built):
    table = reproducibility.broad_table(built.record(), "ptb", "smoke")
    assert "CNN benchmark only" in table.note and table.empty
    assert f"{paper.TABLE4[0][0]:.2f}" not in table.note


def test_checklist_lists_the_papers_twelve_publications_and_ours(built):
    table = reproducibility.checklist_table(built.record(), REPO).frame.set_index("publication")
    assert len(table) == 13 and table.loc["Liu et al. [32]", "hyperparameter tuning"] == "Undocumented"
    row = table.loc["randnas (this book)"]
    assert row["search code"] == row["evaluation code"] == "yes"
    assert row["exactly reproducible"] == "1 of 2 repeated jobs identical"


def test_an_empty_record_gives_empty_tables():
    record = RecordBuilder().record()
    broad = reproducibility.broad_table(record, "cnn", "smoke")  # the paper's six runs, ours blank
    assert broad.run_ids == [] and set(broad.frame.get("ours: mean ± std", pd.Series([""]))) == {""}
    assert reproducibility.exact_table(record, "smoke").empty


def test_searches_helper_makes_two_pairs():
    built = RecordBuilder()
    assert len(searches(built, "cpu")) == 4 and len(reproducibility.exact_table(built.record(), "cpu").frame) == 2
