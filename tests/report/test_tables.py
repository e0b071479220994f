"""The stage-2 tables on a record built in memory: Tables 2 and 7 (means, standard deviations, the paper's columns
beside ours, provenance), Tables 3 and 8 (ranks, Kendall tau against scipy) and the published reference cell."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from randnas import paper
from randnas.report import comparison, tables
from randnas.report.common import same_protocol
from tests.rows import RecordBuilder, stage3


def test_stage2_table_best_and_average_beside_the_papers(built):
    ids = built.ids
    table = tables.stage2_table(built.record(), "cnn", "smoke")
    random1 = table.frame.set_index("setting").loc["Random (1)"]
    assert random1["ours: trials"] == "5.00, 4.00, 6.00"  # ordered by search seed
    assert random1["ours: best"] == "4.00"
    spread = np.std([5, 4, 6], ddof=1)
    assert random1["ours: average"] == f"{np.mean([5, 4, 6]):.2f} ± {spread:.2f} (n=3, too few for an interval)"
    assert random1["paper: trials"] == "3.25, 4.00, 2.98, 3.58" and random1["paper: best"] == "2.98"
    assert (random1["paper: epochs"], random1["paper: clip"], random1["paper: archs evaluated"]) == ("50", "5", "1000")
    # the reproduced-DARTS row keeps the paper's numbers and says why ours is empty; DARTS_V2 is no trial of it
    darts = table.frame.set_index("setting").loc["Reproduced DARTS"]
    assert darts["paper: average"] == "2.94" and darts["ours: trials"].startswith("not run")
    assert darts["ours: best"] == ""
    used = {ids[f"search {x}"] for x in "abcd"}  # their settings fill the 'ours:' settings columns
    assert ids["other preset"] not in table.run_ids and set(table.run_ids) == {ids[0], ids[1], ids[2]} | used
    assert random1["ours: epochs"] == "2"
    assert table.scale.startswith("preset smoke; data: digits (toy); epochs: 2, 6; device: CPU (2 threads)")


def test_table2s_reproduced_darts_row_holds_our_second_order_searches_and_first_order_a_row_of_its_own(built):
    found = [built.darts(setting="darts-second", seed=s) for s in (0, 1)]
    found.append(built.darts(setting="darts-second", seed=0, repeat=2))  # a same-seed repeat is no further trial
    first = built.darts(setting="darts-first", seed=0)
    picks = [
        built.train("darts", [50, 7.0], setting="darts-second", search_seed=0),
        built.train("darts", [50, 9.0], setting="darts-second", search_seed=1),
        built.train("darts", [50, 8.5], setting="darts-first", search_seed=0),
    ]
    table = tables.stage2_table(built.record(), "cnn", "smoke")
    rows = table.frame.set_index("setting")
    darts = rows.loc["Reproduced DARTS"]
    assert (darts["ours: trials"], darts["ours: best"]) == ("7.00, 9.00", "7.00")
    assert darts["paper: average"] == "2.94" and darts["ours: epochs"] == "3" and darts["ours: channels"] == "4"
    first_order = rows.loc["DARTS first order (this project's runs; no such row in the paper)"]
    assert first_order["ours: trials"] == "8.50" and first_order["paper: trials"] == ""
    assert set(picks + found + [first]) <= set(table.run_ids)


def test_table3_ranks_our_reproduced_darts_trials_once_a_preset_has_two(built):
    built.train("darts", [60, 40, 30, 20, 10, 5.5], setting="darts-second", search_seed=0)
    built.train("darts", [55, 45, 35, 25, 12, 6.5], setting="darts-second", search_seed=1)
    built.train("darts", [50, 45, 35, 25, 12, 3.0], setting="darts-first", search_seed=0)  # not the paper's row
    table = tables.ranking_table(built.record(), "cnn", "smoke")
    assert table.title.startswith("Table 3: our reproduced-DARTS trials")
    ours = table.frame[table.frame["source"] == "ours"]
    assert ours["trial"].tolist() == ["darts-second search seed 0", "darts-second search seed 1"]
    assert ours["long error"].tolist() == ["5.50", "6.50"]
    # the paper's four trials stand in the table, ranked among themselves, with its 10-seed result
    papers = table.frame[table.frame["source"] == "paper"]
    assert papers["long error"].tolist()[:4] == ["2.92", "2.77", "3.00", "3.05"]
    assert papers["rank long"].tolist()[:4] == ["2", "1", "3", "4"]
    assert papers["long error"].tolist()[4] == "min 2.62, average 2.78 ± 0.12"
    assert "Ours: this project's second-order DARTS searches" in table.note


def test_the_published_cell_trained_with_seeds_is_a_reference_not_a_row_of_trials(built):
    table = tables.reference_cell_table(built.record(), "cnn", "smoke")
    assert table.frame.loc[0, "ours: per seed"] == "4.50" and table.run_ids == [built.ids["darts"]]


def test_a_pick_trained_with_two_seeds_is_one_trial_of_table2(built):
    second = built.train("rsws", [60, 40, 30, 20, 10, 7.0], search_seed=0, seed=1)
    random1 = tables.stage2_table(built.record(), "cnn", "smoke").frame.set_index("setting").loc["Random (1)"]
    assert random1["ours: trials"] == "6.00, 4.00, 6.00"  # search 0: the mean of 5.0 and 7.0
    assert second[:8] in random1["runs"].split()


def test_a_reference_run_with_other_training_settings_is_left_out(built):
    quick = built.train("DARTS_V2", [90, 80.0], seed=1, search_seed=None)  # a 2-epoch quick check, same preset
    record = built.record()
    table = tables.reference_cell_table(record, "cnn", "smoke")
    assert quick not in table.run_ids and built.ids["darts"] in table.run_ids
    rows = comparison.comparison_table(record, "cnn", "smoke").frame.set_index("method")
    assert rows.loc["DARTS (second order) [Liu et al.]", "ours: best"] == "4.50"  # the published cell's row
    assert rows.loc["DARTS (second order), authors' rerun", "ours: best"] == ""  # needs our own DARTS searches
    references = [run for run in record if getattr(run, "genotype_spec", "") == "DARTS_V2"]
    kept = same_protocol(references, [])  # no picks: the longest training
    assert [run.run_id for run in kept] == [built.ids["darts"]]


def test_ranking_table_ranks_our_trials_and_kendall_tau(built):
    table = tables.ranking_table(built.record(), "cnn", "smoke")
    ours = table.frame[(table.frame["source"] == "ours") & (table.frame["short error"] != "")]
    short = [float(v) for v in ours["short error"]]  # after 1/6 of 6 epochs = epoch 1
    long = [float(v) for v in ours["long error"]]
    assert short == pytest.approx([60, 50, 70]) and long == pytest.approx([5.0, 4.0, 6.0])  # RSWS, not DARTS_V2
    assert ours["rank short"].tolist() == [str(r) for r in stats.rankdata(short, method="min").astype(int)]
    tau = stats.kendalltau(short, long).statistic
    paper_tau = stats.kendalltau(paper.TABLE3["short"], paper.TABLE3["long"]).statistic
    assert f"ours {tau:.2f}, strong (n=3, p=" in table.note
    assert f"the paper's {paper_tau:.2f}, moderate negative (4 trials)" in table.note
    assert "min 2.62, average 2.78 ± 0.12" in table.frame["long error"].tolist()  # the paper's 10-seed columns


def test_table6_and_table8_read_ptb_stage3_runs():
    built = RecordBuilder()
    stage2 = built.train("rsws", [500, 400, 300.0], benchmark="ptb")
    ours = stage3(built, [480, 420, 350, 330, 320, 310.0], search_seed=0, seeds=(0,), benchmark="ptb")
    record = built.record()
    row = comparison.comparison_table(record, "ptb", "smoke").frame.set_index("method").loc["Random search WS"]
    assert (row["ours: valid"], row["ours: test"], row["paper: valid"], row["paper: test"]) == (
        "310.0",
        "309.0",
        "57.8",
        "55.5",
    )
    table8 = tables.ranking_table(record, "ptb", "smoke")
    mine = table8.frame[table8.frame["source"].str.startswith("ours")].set_index("method").loc["Random (4) Run 1"]
    # the paper's epochs 300 ... 3600 scaled to 6: epochs 1, 1, 3, 4, 6, best validation so far; a column that
    # repeats the one before's epoch is blank
    assert [mine[f"@{e}"] for e in paper.TABLE8_EPOCHS] == ["480.0", "", "350.0", "330.0", "310.0"]
    assert mine["source"].startswith("ours: random1's pick, search run 1") and "random1" in table8.note
    papers = table8.frame[table8.frame["source"] == "paper"].set_index("method")
    # the paper's ranking: Random (4) Run 1 first at 300 epochs and at test, DARTS second at test
    assert papers["rank @300"].tolist() == [4, 2, 1, 2] and papers["rank test"].tolist() == [2, 3, 1, 4]
    assert table8.run_ids == [ours] and stage2 not in table8.run_ids


def test_table7s_reproduced_darts_row_holds_our_second_order_ptb_searches():
    built = RecordBuilder()
    for setting, seed in (("darts-second", 0), ("darts-second", 1), ("darts-first", 0)):
        built.darts(space="rnn", setting=setting, seed=seed)
    built.train("darts", [400, 300.0], benchmark="ptb", setting="darts-second", search_seed=0)
    built.train("darts", [420, 310.0], benchmark="ptb", setting="darts-second", search_seed=1)
    built.train("darts", [500, 350.0], benchmark="ptb", setting="darts-first", search_seed=0)
    rows = tables.stage2_table(built.record(), "ptb", "smoke").frame.set_index("setting")
    darts = rows.loc["Reproduced DARTS"]
    assert (darts["ours: trials"], darts["ours: best"]) == ("300.00, 310.00", "300.00")  # best validation perplexity
    assert darts["paper: trials"] == "64.5, 67.7, 64.0, 67.7" and darts["ours: hidden"] == "16"
    assert darts["ours: batch"] == "16"
    assert rows.loc["DARTS first order (this project's runs; no such row in the paper)", "ours: trials"] == "350.00"
    assert rows.loc["DARTS [Liu et al.] (their 4 searches)", "ours: trials"] == "not run: the paper's own searches"


def test_table8s_darts_row_prefers_our_own_darts_searchs_pick_over_the_published_cell():
    built = RecordBuilder()
    published = stage3(built, [300, 290.0], spec="DARTS_V2", benchmark="ptb")

    def labels(table):
        return table.frame[table.frame["method"] == "DARTS"]["source"].tolist()

    first = tables.ranking_table(built.record(), "ptb", "smoke")
    assert labels(first) == ["paper", f"ours: the published DARTS_V2 cell ({published[:8]})"]
    ours = stage3(built, [280, 270.0], search_seed=2, spec="best-darts", setting="darts-second", benchmark="ptb")
    table8 = tables.ranking_table(built.record(), "ptb", "smoke")
    assert labels(table8) == ["paper", f"ours: our DARTS search's pick ({ours[:8]})"]
    assert published not in table8.run_ids


def test_an_empty_record_gives_the_papers_rows_with_ours_blank():
    record = RecordBuilder().record()
    stage2 = tables.stage2_table(record, "cnn", "smoke")
    assert stage2.frame["setting"].tolist() == [
        "Reproduced DARTS",
        "Random (1)",
        "Random (2)",
        "Random (3)",
        "Random (4)",
        "Random (5) Run 1",
    ]
    assert set(stage2.frame["ours: best"]) == {""} and stage2.run_ids == []
    table7 = tables.stage2_table(record, "ptb", "smoke").frame
    assert table7["setting"].tolist()[-2:] == ["Random (4) Run 1", "Random (4) Run 2"]
    assert table7.set_index("setting").loc["Random (4) Run 2", "paper: trials"] == "63.9, 64.8, 66.3, 66.7"
    table8 = tables.ranking_table(record, "ptb", "smoke")  # the paper's four rows only
    assert set(table8.frame["source"]) == {"paper"} and table8.run_ids == []
