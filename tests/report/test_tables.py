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


def log_train(
    experiment,
    spec,
    error_curve,
    preset="smoke",
    setting="random1",
    search_seed=0,
    seed=0,
    extra_metrics=None,
    tags=None,
):
    extra = {"randnas.genotype_spec": spec, "randnas.device": "CPU (2 threads)", **(tags or {})}
    if spec in ("rsws", "best-rsws", "darts", "best-darts"):
        extra.update({"randnas.search_setting": setting, "randnas.search_seed": search_seed})
    tags = tracking.run_tags(
        seed=seed,
        preset=preset,
        benchmark="cifar10",
        datasets=[DIGITS],
        plan_key=f"t/{experiment}/{spec}/{setting}/{search_seed}/{seed}/{len(tags or {})}",
        extra=extra,
    )
    epochs = len(error_curve)
    with tracking.tracked_run(experiment, f"{spec}-{search_seed}-{seed}", tags=tags, config={"epochs": epochs}) as run:
        for epoch, error in enumerate(error_curve, 1):
            run.metrics({"test/acc": 1 - error / 100, "valid/ppl": error}, step=epoch)
        run.metrics(
            {
                "test/error": error_curve[-1],
                "params/millions": 3.0,
                "valid/best_ppl": min(error_curve),
                "test/ppl": error_curve[-1] - 1,
                **(extra_metrics or {}),
            },
            step=epochs,
        )
    return run.run_id


def log_search(preset, seed, repeat, digest, plan_name=None):
    plan_name = plan_name or f"seed-{seed}_repeat-{repeat}"
    tags = tracking.run_tags(
        seed=seed,
        preset=preset,
        benchmark="cifar10",
        datasets=[DIGITS],
        plan_key=f"default/cnn-rsws/{preset}/{plan_name}@abc{repeat}",
        extra={"randnas.repeat": repeat, "randnas.setting": "random1", "randnas.digest": digest},
    )
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


def stage3(
    curve,
    search_seed=1,
    seed=0,
    search_run=1,
    setting="random1",
    spec="best-rsws",
    seeds="0,1,2",
    parent="",
    experiment="cnn/train",
):
    tags = {
        "randnas.stage": 3,
        "randnas.search_run": search_run,
        "randnas.search_seeds": seeds,
        "randnas.selected_by": "stage-2 test error",
        "randnas.parent": parent,
    }
    if spec != "best-rsws":
        tags["randnas.search_seed"] = search_seed
    return log_train(experiment, spec, curve, setting=setting, search_seed=search_seed, seed=seed, tags=tags)


def test_stage2_table_best_and_average_beside_the_papers(record):
    frame, ids = record
    table = tables.stage2_table(frame, "cnn", "smoke")
    random1 = table.frame.set_index("setting").loc["Random (1)"]
    assert random1["ours: trials"] == "5.00, 4.00, 6.00"  # ordered by search seed
    assert random1["ours: best"] == "4.00"
    assert (
        random1["ours: average"]
        == f"{np.mean([5, 4, 6]):.2f} ± {np.std([5, 4, 6], ddof=1):.2f} (n=3, too few for an interval)"
    )
    assert random1["paper: trials"] == "3.25, 4.00, 2.98, 3.58" and random1["paper: best"] == "2.98"
    assert (random1["paper: epochs"], random1["paper: clip"], random1["paper: archs evaluated"]) == ("50", "5", "1000")
    # the reproduced-DARTS row keeps the paper's numbers and says why ours is empty; DARTS_V2 is no trial of it
    darts = table.frame.set_index("setting").loc["Reproduced DARTS"]
    assert (
        darts["paper: average"] == "2.94" and darts["ours: trials"].startswith("not run") and darts["ours: best"] == ""
    )
    searches = {ids[f"search {x}"] for x in "abcd"}  # their settings fill the 'ours:' settings columns
    assert ids["other preset"] not in table.run_ids and set(table.run_ids) == {ids[0], ids[1], ids[2]} | searches
    assert random1["ours: epochs"] == "2"
    assert table.scale.startswith("preset smoke; data: digits (toy); epochs: 2, 6; device: CPU (2 threads)")


def log_darts_search(preset, setting, seed, repeat=1):
    tags = tracking.run_tags(
        seed=seed,
        preset=preset,
        benchmark="cifar10",
        datasets=[DIGITS],
        plan_key=f"default/cnn-darts/{preset}/{setting}-{seed}-{repeat}",
        extra={"randnas.repeat": repeat, "randnas.setting": setting},
    )
    with tracking.tracked_run(
        "cnn/darts", "darts", tags=tags, config={"epochs": 3, "grad_clip": 5.0, "channels": 4}
    ) as run:
        pass
    return run.run_id


def test_table2s_reproduced_darts_row_holds_our_second_order_searches_and_first_order_a_row_of_its_own(record, store):
    searches = [log_darts_search("smoke", "darts-second", s) for s in (0, 1)]
    searches.append(log_darts_search("smoke", "darts-second", 0, repeat=2))  # a same-seed repeat is no further trial
    first = log_darts_search("smoke", "darts-first", 0)
    picks = [
        log_train("cnn/train", "darts", [50, 7.0], setting="darts-second", search_seed=0),
        log_train("cnn/train", "darts", [50, 9.0], setting="darts-second", search_seed=1),
        log_train("cnn/train", "darts", [50, 8.5], setting="darts-first", search_seed=0),
    ]
    table = tables.stage2_table(tables.load_record(store), "cnn", "smoke")
    rows = table.frame.set_index("setting")
    darts = rows.loc["Reproduced DARTS"]
    assert (darts["ours: trials"], darts["ours: best"]) == ("7.00, 9.00", "7.00")
    assert darts["paper: average"] == "2.94" and darts["ours: epochs"] == "3" and darts["ours: channels"] == "4"
    first_order = rows.loc["DARTS first order (this project's runs; no such row in the paper)"]
    assert first_order["ours: trials"] == "8.50" and first_order["paper: trials"] == ""
    assert set(picks + searches + [first]) <= set(table.run_ids)


def test_table3_ranks_our_reproduced_darts_trials_once_a_preset_has_two(record, store):
    log_train("cnn/train", "darts", [60, 40, 30, 20, 10, 5.5], setting="darts-second", search_seed=0)
    log_train("cnn/train", "darts", [55, 45, 35, 25, 12, 6.5], setting="darts-second", search_seed=1)
    log_train(
        "cnn/train", "darts", [50, 45, 35, 25, 12, 3.0], setting="darts-first", search_seed=0
    )  # not the paper's row
    table = tables.ranking_table(tables.load_record(store), "cnn", "smoke")
    assert table.title.startswith("Table 3: our reproduced-DARTS trials")
    assert table.frame["trial"].tolist() == ["darts-second search seed 0", "darts-second search seed 1"]
    assert table.frame["ours: long error"].tolist() == pytest.approx([5.5, 6.5])
    assert "Ours: this project's second-order DARTS searches" in table.note


def test_the_published_cell_trained_with_seeds_is_a_reference_not_a_row_of_trials(record):
    frame, ids = record
    table = tables.reference_cell_table(frame, "cnn", "smoke")
    assert table.frame.loc[0, "ours: per seed"] == "4.50" and table.run_ids == [ids["darts"]]


def test_a_pick_trained_with_two_seeds_is_one_trial_of_table2(record, store):
    frame, _ = record
    second = log_train("cnn/train", "rsws", [60, 40, 30, 20, 10, 7.0], search_seed=0, seed=1)
    frame = tables.load_record(store)
    random1 = tables.stage2_table(frame, "cnn", "smoke").frame.set_index("setting").loc["Random (1)"]
    assert random1["ours: trials"] == "6.00, 4.00, 6.00"  # search 0: the mean of 5.0 and 7.0
    assert second[:8] in random1["runs"].split()


def test_a_reference_run_with_other_training_settings_is_left_out(record, store):
    frame, ids = record
    quick = log_train("cnn/train", "DARTS_V2", [90, 80.0], seed=1)  # a 2-epoch quick check, same preset
    frame = tables.load_record(store)
    table = tables.reference_cell_table(frame, "cnn", "smoke")
    assert quick not in table.run_ids and ids["darts"] in table.run_ids
    comparison = tables.comparison_table(frame, "cnn", "smoke").frame.set_index("method")
    assert comparison.loc["DARTS (second order) [Liu et al.]", "ours: best"] == "4.50"  # the published cell's row
    assert comparison.loc["DARTS (second order), authors' rerun", "ours: best"] == ""  # needs our own DARTS searches
    only_references = frame[frame["genotype_spec"] == "DARTS_V2"]
    kept = tables.same_protocol(only_references, only_references.iloc[0:0])  # no picks: the longest training
    assert kept["run_id"].tolist() == [ids["darts"]]


def test_ranking_table_ranks_our_trials_and_kendall_tau(record):
    frame, _ = record
    table = tables.ranking_table(frame, "cnn", "smoke")
    short = table.frame["ours: short error"].tolist()  # after 1/6 of 6 epochs = epoch 1
    long = table.frame["ours: long error"].tolist()
    assert short == [60, 50, 70] and long == pytest.approx([5.0, 4.0, 6.0])  # the three RSWS trials, not DARTS_V2
    assert table.frame["rank short"].tolist() == stats.rankdata(short, method="min").astype(int).tolist()
    tau = stats.kendalltau(short, long).statistic
    paper_tau = stats.kendalltau(paper.TABLE3["short"], paper.TABLE3["long"]).statistic
    assert f"ours {tau:.3f} (n=3, too few to conclude); the paper's {paper_tau:.3f} (4 trials)" in table.note
    assert "average 2.78 ± 0.12" in table.note  # the paper's 10-seed columns


def test_table1_rsws_row_is_stage3_of_the_final_protocol_only(record, store):
    frame, _ = record
    before = tables.comparison_table(frame, "cnn", "smoke").frame.set_index("method").loc["Random search WS"]
    assert before["ours: best"] == before["ours: average"] == ""  # stage-2 runs are another quantity
    assert before["ours: other quantity"].startswith("stage-2 test error of 3 search(es)")
    picked = [stage3([9, 3.0], seed=s) for s in (0, 1)] + [stage3([9, 3.4], seed=2)]
    log_train("cnn/train", "rsws", [1, 0.5], setting="random2", search_seed=5)  # another setting's stage 2
    stage3([9, 1.0], search_run=2, seeds="3,4,5", search_seed=4)  # another independent run (Table 4's)
    row = (
        tables.comparison_table(tables.load_record(store), "cnn", "smoke")
        .frame.set_index("method")
        .loc["Random search WS"]
    )
    assert (
        row["ours: best"] == "3.00"
        and row["ours: average"] == f"3.13 ± {np.std([3, 3, 3.4], ddof=1):.2f} (n=3, too few for an interval)"
    )
    assert set(row["runs"].split()) == {p[:8] for p in picked}
    assert row["ours: other quantity"] == "" and "trial 1 (best of search seeds 0, 1, 2" in row["ours: protocol"]


def test_table1_asha_row_is_the_asha_picks_stage3_else_labelled_as_the_search(record, store):
    tags = tracking.run_tags(seed=0, preset="smoke", benchmark="cifar10", datasets=[DIGITS], plan_key="t/asha@1")
    with tracking.tracked_run("cnn/asha", "asha", tags=tags, config={"R": 9}) as run:
        run.metrics({"best/valid_acc": 0.9}, step=0)
    asha = run.run_id
    row = (
        tables.comparison_table(tables.load_record(store), "cnn", "smoke")
        .frame.set_index("method")
        .loc["ASHA baseline"]
    )
    assert row["ours: average"] == "" and row["ours: other quantity"].endswith("top rung: 10.00")
    stage3([9, 7.0], spec="asha", search_seed=0, parent=asha)
    stage3([9, 8.0], spec="asha", search_seed=0, seed=1, parent=asha)
    table = tables.comparison_table(tables.load_record(store), "cnn", "smoke")
    row = table.frame.set_index("method").loc["ASHA baseline"]
    assert (
        row["ours: best"] == "7.00"
        and row["ours: average"].startswith("7.50 ± 0.71 (n=2, too few")
        and asha in table.run_ids
    )


def test_table1_random_baseline_is_the_best_brief_cell_trained_with_seeds(record, store):
    frame, _ = record
    row = (
        tables.comparison_table(frame, "cnn", "smoke")
        .frame.set_index("method")
        .loc["Random search baseline [Liu et al.]"]
    )
    assert row["ours: protocol"].startswith("not run: 24 random cells trained briefly")
    stage3([9, 6.0], spec="best-random", search_seed=3, seeds="0,1,2,3")
    row = (
        tables.comparison_table(tables.load_record(store), "cnn", "smoke")
        .frame.set_index("method")
        .loc["Random search baseline [Liu et al.]"]
    )
    assert row["ours: average"] == "6.00 (n=1)" and "best of search seeds 0, 1, 2, 3" in row["ours: protocol"]


def test_table4_groups_stage3_runs_by_independent_run(record, store):
    for seed, error in enumerate((3.0, 3.2)):
        stage3([9, error], seed=seed)
    for seed, error in enumerate((2.0, 2.4, 2.2)):
        stage3([9, error], seed=seed, search_run=2, seeds="3,4,5", search_seed=4)
    table = tables.broad_table(tables.load_record(store), "cnn", "smoke").frame.set_index("run")
    assert (
        table.loc["Run 1", "ours: mean ± std"]
        == f"3.10 ± {np.std([3, 3.2], ddof=1):.2f} (n=2, too few for an interval)"
    )
    assert (
        table.loc["Run 2", "ours: mean ± std"] == "2.20 ± 0.20 (n=3, too few for an interval)"
        and table.loc["Run 2", "ours: pick"] == "search seed 4"
    )
    assert (
        table.loc["Run 1", "paper: mean ± std (10 seeds)"] == "2.85 ± 0.08"
        and table.loc["Run 3", "ours: mean ± std"] == ""
    )
    assert (
        table.loc["Average over runs", "ours: mean ± std"]
        == f"2.65 ± {np.std([3.1, 2.2], ddof=1):.2f} (n=2, too few for an interval)"
    )


def test_broad_table_for_ptb_shows_no_cnn_paper_numbers(record):
    frame, _ = record
    table = tables.broad_table(frame, "ptb", "smoke")
    assert "CNN benchmark only" in table.note and table.empty
    assert f"{paper.TABLE4[0][0]:.2f}" not in table.note


def test_table6_and_table8_read_ptb_stage3_runs(store):
    stage2 = log_train("rnn/train", "rsws", [500, 400, 300.0])
    ours = stage3([480, 420, 350, 330, 320, 310.0], search_seed=0, seeds="0", experiment="rnn/train")
    frame = tables.load_record(store)
    row = tables.comparison_table(frame, "ptb", "smoke").frame.set_index("method").loc["Random search WS"]
    assert (row["ours: valid"], row["ours: test"], row["paper: valid"], row["paper: test"]) == (
        "310.0",
        "309.0",
        "57.8",
        "55.5",
    )
    table8 = tables.ranking_table(frame, "ptb", "smoke")
    mine = table8.frame[table8.frame["source"].str.startswith("ours")].set_index("method").loc["Random (4) Run 1"]
    # the paper's epochs 300 ... 3600 scaled to 6: epochs 1, 1, 3, 4, 6, best validation so far
    assert [mine[f"@{e}"] for e in paper.TABLE8_EPOCHS] == ["480.0", "480.0", "350.0", "330.0", "310.0"]
    assert table8.run_ids == [ours] and stage2 not in table8.run_ids


def test_table7s_reproduced_darts_row_holds_our_second_order_ptb_searches(store):
    tags = lambda setting, seed: tracking.run_tags(
        seed=seed,
        preset="smoke",
        benchmark="ptb",
        datasets=[DIGITS],
        plan_key=f"default/ptb-darts/smoke/{setting}-{seed}",
        extra={"randnas.repeat": 1, "randnas.setting": setting},
    )
    for setting, seed in (("darts-second", 0), ("darts-second", 1), ("darts-first", 0)):
        with tracking.tracked_run(
            "rnn/darts",
            "darts",
            tags=tags(setting, seed),
            config={"epochs": 3, "hidden": 16, "batch_size": 16, "grad_clip": 0.25},
        ):
            pass
    log_train("rnn/train", "darts", [400, 300.0], setting="darts-second", search_seed=0)
    log_train("rnn/train", "darts", [420, 310.0], setting="darts-second", search_seed=1)
    log_train("rnn/train", "darts", [500, 350.0], setting="darts-first", search_seed=0)
    rows = tables.stage2_table(tables.load_record(store), "ptb", "smoke").frame.set_index("setting")
    darts = rows.loc["Reproduced DARTS"]
    assert (darts["ours: trials"], darts["ours: best"]) == ("300.00, 310.00", "300.00")  # best validation perplexity
    assert (
        darts["paper: trials"] == "64.5, 67.7, 64.0, 67.7"
        and darts["ours: hidden"] == "16"
        and darts["ours: batch"] == "16"
    )
    assert rows.loc["DARTS first order (this project's runs; no such row in the paper)", "ours: trials"] == "350.00"
    assert rows.loc["DARTS [Liu et al.] (their 4 searches)", "ours: trials"] == "not run: the paper's own searches"


def test_table8s_darts_row_prefers_our_own_darts_searchs_pick_over_the_published_cell(store):
    published = stage3([300, 290.0], spec="DARTS_V2", experiment="rnn/train")
    frame = tables.load_record(store)
    labels = lambda table: table.frame[table.frame["method"] == "DARTS"]["source"].tolist()
    assert labels(tables.ranking_table(frame, "ptb", "smoke")) == [
        "paper",
        f"ours: the published DARTS_V2 cell ({published[:8]})",
    ]
    ours = stage3([280, 270.0], search_seed=2, spec="best-darts", setting="darts-second", experiment="rnn/train")
    table8 = tables.ranking_table(tables.load_record(store), "ptb", "smoke")
    assert (
        labels(table8) == ["paper", f"ours: our DARTS search's pick ({ours[:8]})"] and published not in table8.run_ids
    )


def test_exact_table_puts_repeats_side_by_side(record):
    frame, _ = record
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


def test_comparison_rows_follow_the_paper(record):
    frame, _ = record
    table = tables.comparison_table(frame, "cnn", "smoke").frame.set_index("method")
    rsws = table.loc["Random search WS"]
    assert (
        rsws["paper: best"] == "2.71" and rsws["paper: average"] == "2.85 ± 0.08" and rsws["paper: params (M)"] == "4.3"
    )
    assert table.loc["NASNet-A", "paper: best"] == "" and table.loc["NASNet-A", "paper: average"] == "2.65"
    assert table.loc["NASNet-A", "ours: best"] == ""  # a method we did not run stays empty
    assert list(table.index) == [row.method for row in paper.TABLE1]


def test_checklist_lists_the_papers_twelve_publications_and_ours(record):
    frame, _ = record
    table = tables.checklist_table(frame, REPO).frame.set_index("publication")
    assert len(table) == 13 and table.loc["Liu et al. [32]", "hyperparameter tuning"] == "Undocumented"
    row = table.loc["randnas (this book)"]
    assert row["search code"] == row["evaluation code"] == "yes"
    assert row["exactly reproducible"] == "1 of 2 repeated jobs identical"


def test_an_empty_record_gives_empty_tables(store):
    frame = tables.load_record(store)
    stage2 = tables.stage2_table(frame, "cnn", "smoke")  # the paper's rows, with ours blank
    assert stage2.frame["setting"].tolist() == [
        "Reproduced DARTS",
        "Random (1)",
        "Random (2)",
        "Random (3)",
        "Random (4)",
        "Random (5) Run 1",
    ]
    assert set(stage2.frame["ours: best"]) == {""} and stage2.run_ids == [] and tables.presets_in(frame) == []
    table7 = tables.stage2_table(frame, "ptb", "smoke").frame
    assert table7["setting"].tolist()[-2:] == ["Random (4) Run 1", "Random (4) Run 2"]
    assert table7.set_index("setting").loc["Random (4) Run 2", "paper: trials"] == "63.9, 64.8, 66.3, 66.7"
    broad = tables.broad_table(frame, "cnn", "smoke")  # the paper's six runs, ours blank
    assert broad.run_ids == [] and set(broad.frame.get("ours: mean ± std", pd.Series([""]))) == {""}
    table8 = tables.ranking_table(frame, "ptb", "smoke")  # the paper's four rows only
    assert set(table8.frame["source"]) == {"paper"} and table8.run_ids == []
    for build in (lambda: tables.exact_table(frame, "smoke"), lambda: tables.search_cost_table(frame, "smoke")):
        assert build().empty
    comparison = tables.comparison_table(frame, "ptb", "smoke")  # the paper's rows stay, ours are blank
    assert (
        len(comparison.frame) == len(paper.TABLE6)
        and set(comparison.frame["ours: test"]) == {""}
        and comparison.run_ids == []
    )


def test_scale_says_when_epochs_are_capped():
    runs = pd.DataFrame(
        {
            "preset": ["cpu", "cpu"],
            "dataset_label": ["CIFAR-10", "CIFAR-10"],
            "device": ["CPU", "CPU"],
            "param:train.max_steps_per_epoch": ["130", None],
            "param:max_steps_per_epoch": [None, "0"],
        }
    )
    assert tables.describe_scale(runs) == (
        "preset cpu; data: CIFAR-10; epochs capped at 130 minibatches in 1 of 2 runs; device: CPU; 2 run(s)"
    )
    assert "capped" not in tables.describe_scale(runs.iloc[1:])


def test_scale_flags_runs_made_from_a_work_tree_with_uncommitted_changes():
    runs = pd.DataFrame(
        {
            "preset": ["cpu"] * 3,
            "dataset_label": ["PTB"] * 3,
            "device": ["CPU"] * 3,
            "git_dirty": ["true", "false", "true"],
        }
    )
    assert tables.describe_scale(runs).endswith("3 run(s); 2 of them from a work tree with uncommitted changes")
    assert "uncommitted" not in tables.describe_scale(runs.assign(git_dirty="false"))


def test_an_average_of_enough_runs_carries_its_bootstrap_interval():
    from randnas.statistics import mean_interval

    values = [3.0, 3.2, 2.9, 3.1, 3.4]
    estimate = mean_interval(values)
    assert tables.mean_std(values) == (
        f"3.12 ± {np.std(values, ddof=1):.2f} (n=5; 95 % interval of the mean "
        f"[{estimate.low:.2f}, {estimate.high:.2f}])"
    )
    assert estimate.low < 3.12 < estimate.high and "nan" not in tables.mean_std([1.0, 1.0, 1.0, 1.0, 1.0])


def test_a_cell_is_named_by_a_short_hash_in_tables():
    from randnas.report.analyses import cell_hash
    from randnas.spaces.named import get_genotype

    text = get_genotype("cnn", "DARTS_V2").to_darts()
    assert cell_hash(text) == __import__("hashlib").sha256(text.encode()).hexdigest()[:8]
    assert cell_hash(float("nan")) == "" and cell_hash(None) == ""


def test_a_stage2_repeat_joins_the_exact_table_and_stays_out_of_the_trials(store):
    tags = lambda key, repeat: {"randnas.digest": "ab" * 32, **({"randnas.repeat": repeat} if repeat else {})}
    first = log_train(
        "cnn/train", "rsws", [50, 5.0], tags=tags("first", None)
    )  # from before train notebooks tagged repeat
    frame = tables.load_record(store)
    key = frame.loc[frame["run_id"] == first, "plan_key"].iloc[0]
    from randnas import tracking

    again = log_train("cnn/train", "rsws", [50, 5.0], tags={"randnas.digest": "ab" * 32, "randnas.repeat": 2})
    tracking.set_run_tags(again, {tracking.TAG_PLAN_KEY: key.split("@")[0] + "_repeat-2@ff"})
    tracking.set_run_tags(first, {tracking.TAG_PLAN_KEY: key.split("@")[0] + "@ee"})
    frame = tables.load_record(store)
    exact = tables.exact_table(frame, "smoke")
    assert exact.frame["identical"].tolist() == ["yes"] and set(exact.run_ids) == {first, again}
    assert tables.training_runs(frame, "cnn", "smoke", 2)["run_id"].tolist() == [first]  # the repeat is no second seed


def test_a_repeat_made_with_other_code_says_so_rather_than_failing_exactness():
    assert tables._identical(["a", "a"], ["c1", "c2"]) == "yes"
    assert tables._identical(["a", "b"], ["c1" * 5, "c2" * 5]) == "NO: different code (commits c1c1c1c1, c2c2c2c2)"
    assert tables._identical(["a", "b"], ["c1", "c1"]) == "NO"


def test_a_diverged_training_reads_diverged_not_inf_or_nan():
    assert tables._fmt(float("inf")) == "diverged" and tables._fmt(float("nan")) == ""
    assert tables.mean_std([float("inf")]) == "1 of 1 diverged"
    assert (
        tables.mean_std([float("inf"), 3.0, 5.0])
        == "1 of 3 diverged; the rest 4.00 ± 1.41 (n=2, too few for an interval)"
    )
