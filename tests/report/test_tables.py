"""The book's table builders on a small synthetic MLflow store: the numbers they compute (means,
standard deviations, ranks, Kendall tau against scipy), the paper's columns beside ours, provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from randnas import paper, tracking
from randnas.report import tables
from tests.conftest import REPO

DIGITS = type("D", (), {"name": "digits", "label": "digits (toy)", "checksum": "0" * 64})()


def log_train(experiment, spec, error_curve, preset="smoke", setting="random1", search_seed=0, seed=0, extra_metrics=None):
    extra = {"randnas.genotype_spec": spec, "randnas.device": "CPU (2 threads)"}
    if spec == "rsws":
        extra.update({"randnas.search_setting": setting, "randnas.search_seed": search_seed})
    tags = tracking.run_tags(seed=seed, preset=preset, benchmark="cifar10", datasets=[DIGITS],
                             plan_key=f"t/{experiment}/{spec}/{setting}/{search_seed}/{seed}", extra=extra)
    epochs = len(error_curve)
    with tracking.tracked_run(experiment, f"{spec}-{search_seed}-{seed}", tags=tags, config={"epochs": epochs}) as run:
        for epoch, error in enumerate(error_curve, 1):
            run.metrics({"test/acc": 1 - error / 100, "valid/ppl": error}, step=epoch)
        run.metrics({"test/error": error_curve[-1], "params/millions": 3.0, "valid/best_ppl": min(error_curve),
                     "test/ppl": error_curve[-1] - 1, **(extra_metrics or {})}, step=epochs)
    return run.run_id


def log_search(preset, seed, repeat, digest, plan_name=None):
    plan_name = plan_name or f"seed-{seed}_repeat-{repeat}"
    tags = tracking.run_tags(seed=seed, preset=preset, benchmark="cifar10", datasets=[DIGITS],
                             plan_key=f"default/cnn-rsws/{preset}/{plan_name}@abc{repeat}",
                             extra={"randnas.repeat": repeat, "randnas.setting": "random1", "randnas.digest": digest})
    with tracking.tracked_run("cnn/rsws", "search", tags=tags, config={"epochs": 2}) as run:
        pass
    return run.run_id


@pytest.fixture
def record(store):
    # three searches of Random (1), their picks trained for 6 epochs; DARTS_V2 as the reference
    curves = {0: [60, 40, 30, 20, 10, 5.0], 1: [50, 45, 35, 25, 12, 4.0], 2: [70, 50, 40, 30, 15, 6.0]}
    ids = {s: log_train("cnn/train", "rsws", c, search_seed=s) for s, c in curves.items()}
    ids["darts"] = log_train("cnn/train", "DARTS_V2", [65, 45, 32, 22, 11, 4.5])
    ids["other preset"] = log_train("cnn/train", "rsws", [1, 1, 1, 1, 1, 1.0], preset="cpu", search_seed=9)
    ids["search a"] = log_search("smoke", 0, 1, "aaaa" * 16)
    ids["search b"] = log_search("smoke", 0, 2, "aaaa" * 16)
    ids["search c"] = log_search("smoke", 1, 1, "bbbb" * 16)
    ids["search d"] = log_search("smoke", 1, 2, "cccc" * 16)
    return tables.load_record(store), ids


def test_stage2_table_best_and_average_beside_the_papers(record):
    frame, ids = record
    table = tables.stage2_table(frame, "cnn", "smoke")
    random1 = table.frame.set_index("setting").loc["Random (1)"]
    assert random1["ours: trials"] == "5.00, 4.00, 6.00"  # ordered by search seed
    assert random1["ours: best"] == "4.00"
    assert random1["ours: average"] == f"{np.mean([5, 4, 6]):.2f} ± {np.std([5, 4, 6], ddof=1):.2f}"
    assert random1["paper: trials"] == "3.25, 4.00, 2.98, 3.58" and random1["paper: best"] == "2.98"
    assert table.frame.set_index("setting").loc["DARTS_V2 (reference cell)", "ours: trials"] == "4.50"
    assert ids["other preset"] not in table.run_ids and set(table.run_ids) == {ids[0], ids[1], ids[2], ids["darts"]}
    assert table.scale.startswith("preset smoke; data: digits (toy); epochs: 6; device: CPU (2 threads)")


def test_a_pick_trained_with_two_seeds_is_one_trial_of_table2_and_two_seeds_of_table4(record, store):
    frame, ids = record
    second = log_train("cnn/train", "rsws", [60, 40, 30, 20, 10, 7.0], search_seed=0, seed=1)
    frame = tables.load_record(store)
    random1 = tables.stage2_table(frame, "cnn", "smoke").frame.set_index("setting").loc["Random (1)"]
    assert random1["ours: trials"] == "6.00, 4.00, 6.00"  # search 0: the mean of 5.0 and 7.0
    assert second[:8] in random1["runs"].split()
    broad = tables.broad_table(frame, "cnn", "smoke").frame.set_index("search seed")
    assert broad.loc[0, "training seeds"] == 2 and broad.loc[0, "std"] == pytest.approx(np.std([5.0, 7.0], ddof=1), abs=1e-3)


def test_a_reference_run_with_other_training_settings_is_left_out(record, store):
    frame, ids = record
    quick = log_train("cnn/train", "DARTS_V2", [90, 80.0], seed=1)  # a 2-epoch quick check, same preset
    frame = tables.load_record(store)
    table = tables.stage2_table(frame, "cnn", "smoke")
    assert quick not in table.run_ids and ids["darts"] in table.run_ids
    assert tables.comparison_table(frame, "cnn", "smoke").frame.set_index("method").loc[
        "DARTS (second order), authors' rerun", "ours: best"] == "4.50"
    only_references = frame[frame["genotype_spec"] == "DARTS_V2"]
    kept = tables.same_protocol(only_references, only_references.iloc[0:0])  # no picks: the longest training
    assert kept["run_id"].tolist() == [ids["darts"]]


def test_ranking_table_ranks_and_kendall_tau(record):
    frame, _ = record
    table = tables.ranking_table(frame, "cnn", "smoke")
    short = table.frame["ours: short error"].tolist()  # after 1/6 of 6 epochs = epoch 1
    long = table.frame["ours: long error"].tolist()
    assert sorted(short) == [50, 60, 65, 70] and sorted(long) == pytest.approx([4.0, 4.5, 5.0, 6.0])
    assert table.frame["rank short"].tolist() == stats.rankdata(short, method="min").astype(int).tolist()
    tau = stats.kendalltau(short, long).statistic
    assert f"Kendall tau between the short and long rankings = {tau:.3f}" in table.note
    paper_tau = stats.kendalltau(paper.TABLE3["short"], paper.TABLE3["long"]).statistic
    assert f"(paper's four trials: {paper_tau:.3f})" in table.note


def test_broad_table_mean_std_and_range_over_independent_searches(record):
    frame, _ = record
    table = tables.broad_table(frame, "cnn", "smoke")
    assert table.frame["search seed"].tolist() == [0, 1, 2]
    assert f"mean {np.mean([5, 4, 6]):.2f}, std {np.std([5, 4, 6], ddof=1):.2f}, range 4.00 to 6.00" in table.note


def test_broad_table_for_ptb_shows_no_cnn_paper_numbers(record):
    frame, _ = record
    note = tables.broad_table(frame, "ptb", "smoke").note
    assert "CNN benchmark only" in note
    assert f"{paper.TABLE4[0][0]:.2f}" not in note


def test_exact_table_puts_repeats_side_by_side(record):
    frame, ids = record
    table = tables.exact_table(frame, "smoke").frame.set_index("job")
    assert table.loc["cnn-rsws/smoke/seed-0", "identical"] == "yes"
    assert table.loc["cnn-rsws/smoke/seed-1", "identical"] == "NO"  # a broken repeat is shown, not hidden
    assert table.loc["cnn-rsws/smoke/seed-0", "digests"] == "aaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaa"


def test_exact_table_pairs_a_plans_extra_repeat_with_its_grid_job(record, store):
    # the cpu plan's grid job is named seed-1; its extra point {seed: 1, repeat: 2} is seed-1_repeat-2
    first = log_search("cpu", 1, 1, "dddd" * 16, plan_name="seed-1")
    again = log_search("cpu", 1, 2, "dddd" * 16, plan_name="seed-1_repeat-2")
    alone = log_search("cpu", 0, 1, "eeee" * 16, plan_name="seed-0")
    table = tables.exact_table(tables.load_record(store), "cpu")
    assert table.frame[["job", "identical"]].values.tolist() == [["cnn-rsws/cpu/seed-1", "yes"]]
    assert sorted(table.run_ids) == sorted([first, again]) and alone not in table.run_ids


def test_comparison_table_matches_our_runs_to_the_papers_rows(record):
    frame, _ = record
    table = tables.comparison_table(frame, "cnn", "smoke").frame.set_index("method")
    rsws = table.loc["Random search WS"]
    assert rsws["paper: best"] == "2.71" and rsws["paper: average"] == "2.85 ± 0.08"
    assert rsws["ours: best"] == "4.00" and rsws["ours: params (M)"] == "3.00"
    assert table.loc["DARTS (second order), authors' rerun", "ours: best"] == "4.50"
    assert table.loc["NASNet-A", "ours: best"] == ""  # a method we did not run stays empty


def test_checklist_row_is_computed_from_the_record(record):
    frame, _ = record
    row = tables.checklist_table(frame, REPO).frame.set_index("work").loc["randnas (this book)"]
    assert row["search code"] == row["evaluation code"] == "yes"
    assert row["exactly reproducible"] == "1 of 2 repeated jobs identical"


def test_an_empty_record_gives_empty_tables(store):
    frame = tables.load_record(store)
    assert tables.stage2_table(frame, "cnn", "smoke").empty and tables.presets_in(frame) == []
    for build in (lambda: tables.broad_table(frame, "cnn", "smoke"), lambda: tables.exact_table(frame, "smoke"),
                  lambda: tables.ranking_table(frame, "ptb", "smoke"), lambda: tables.search_cost_table(frame, "smoke")):
        assert build().empty
    comparison = tables.comparison_table(frame, "ptb", "smoke")  # the paper's rows stay, ours are blank
    assert len(comparison.frame) == len(paper.TABLE6) and set(comparison.frame["ours: best"]) == {""} and comparison.run_ids == []


def test_scale_says_when_epochs_are_capped():
    runs = pd.DataFrame({"preset": ["cpu", "cpu"], "dataset_label": ["CIFAR-10", "CIFAR-10"], "device": ["CPU", "CPU"],
                         "param:train.max_steps_per_epoch": ["130", None], "param:max_steps_per_epoch": [None, "0"]})
    assert tables.describe_scale(runs) == ("preset cpu; data: CIFAR-10; epochs capped at 130 minibatches in 1 of 2 runs; "
                                           "device: CPU; 2 run(s)")
    assert "capped" not in tables.describe_scale(runs.iloc[1:])
