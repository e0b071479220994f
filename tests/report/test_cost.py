"""The paper preset's cost page: device-hours from the GPU benchmark results, only for what they measured."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from randnas.report import cost
from randnas.search.cnn import cnn_setting
from tests.conftest import REPO

RESULTS = {
    "cnn_stage1_cuda": {
        "results": {"device": "GPU", "C=16": {"single": {"step_s": 0.05, "archs_scored_per_s": 100.0}}}
    },
    "ptb_stage1_cuda": {
        "results": {
            "device": "GPU",
            "hidden=850": {"step_batch64": {"ours_s": 0.1}, "score_whole_valid": {"ours_s": 0.2}},
        }
    },
}


def test_a_cnn_search_costs_its_steps_and_its_scoring_minibatches():
    job = cost.cnn_search_cost({"setting": "random1", "overrides": {}}, RESULTS)
    config = cnn_setting("random1")
    steps = int(50 * 25_000 / 64)
    selection = config.selection(25_000)
    forwards = selection.rounds * (1000 * 10 + 10 * 391)  # the last minibatch of the half is partial
    assert job.hours == pytest.approx((steps * 0.05 + forwards / 100.0) / 3600) and not job.lower_bound
    assert (
        cost.cnn_search_cost({"setting": "random5", "overrides": {}}, RESULTS).hours is None
    )  # C=24 not measured here


def test_a_ptb_training_is_a_lower_bound_and_an_unmeasured_size_is_not_guessed():
    job = cost.ptb_training_cost({"overrides": {"epochs": 300}}, RESULTS)
    assert job.hours == pytest.approx(300 * 929_589 // (64 * 35) * 0.1 / 3600) and job.lower_bound
    assert cost.ptb_training_cost({"overrides": {"epochs": 300, "hidden": 300}}, RESULTS).hours is None


def test_every_paper_preset_job_has_a_price_or_a_bound_and_the_total_counts_them_all():
    priced = cost.priced_jobs(REPO)
    unpriced = [item.job.name for item in priced if item.cost.hours is None]
    assert not unpriced, f"jobs with neither a price nor a bound: {unpriced}"
    table = cost.paper_cost_table(REPO)
    rows = table.frame.set_index("plan entry")
    assert "no price" not in set(rows["device-hours"])
    assert rows.loc["cnn-stage3", "priced by"] == "one-off measurement" and rows.loc["cnn-stage3", "jobs"] == 60
    assert rows.loc["ptb-stage3", "jobs"] == 2 and rows.loc["ptb-stage3", "device-hours"].endswith("or more")
    assert rows.loc["cnn-asha", "device-hours"].startswith("at most")
    assert "NVIDIA H200" in table.scale and "0.15 s at batch 96" in table.scale
    totals = cost.totals_table(REPO).frame.set_index("what")
    whole = float(totals.iloc[0]["device-hours on 1 GPU"].split(" ")[0].replace(",", ""))
    assert whole == pytest.approx(sum(item.cost.hours for item in priced), abs=0.05)


def test_a_cifar10_training_is_priced_at_the_one_off_step_and_its_objective_sets_the_images():
    full = cost.cnn_training_cost({"overrides": {}}, {})
    brief = cost.cnn_training_cost({"overrides": {"epochs": 100}, "objective": "valid"}, {})
    assert full.hours == pytest.approx(600 * 521 * 0.150 / 3600) and full.kind == cost.ONE_OFF
    assert brief.hours == pytest.approx(100 * 261 * 0.150 / 3600) and full.lower_bound
    assert cost.cnn_training_cost({"overrides": {"channels": 16}}, {}).hours is None


def test_asha_is_bounded_by_full_rungs_and_occupies_its_workers():
    job = cost.asha_cost(
        {"benchmark": "cnn", "r": 1, "R": 16, "eta": 4, "max_trials": 20, "workers": 8, "train": {}}, {}
    )
    # rungs 1, 4, 16: 20 trials x 1 epoch, 5 x 3 more, 1 x 12 more
    assert job.hours == pytest.approx((20 + 15 + 12) * 261 * 0.150 / 3600) and job.kind == cost.AT_MOST
    assert job.gpus == 8


def test_the_schedule_respects_after_and_never_beats_the_longest_chain_or_the_work():
    def priced(entry, hours, after=(), gpus=1):
        job = SimpleNamespace(entry=entry, after=after, name=entry)
        return cost.PricedJob(job, cost.JobCost(hours, gpus=gpus))

    jobs = [priced("a", 4.0), priced("a", 4.0), priced("b", 2.0, after=("a",)), priced("c", 1.0)]
    assert cost.schedule_hours(jobs, 1) == pytest.approx(11.0)
    assert cost.schedule_hours(jobs, 8) == pytest.approx(6.0)  # b waits for both of a's jobs
    wide = [priced("asha", 8.0, gpus=8), priced("d", 1.0)]
    assert cost.schedule_hours(wide, 8) == pytest.approx(2.0) and cost.schedule_hours(wide, 2) == pytest.approx(5.0)


def test_nb201_costs_add_up_edge_by_edge():
    shared, per_op = cost.nb201_op_macs(16, 5)
    assert per_op["none"] == 0 and per_op["skip_connect"] == 0
    assert per_op["nor_conv_3x3"] > per_op["nor_conv_1x1"] > per_op["avg_pool_3x3"] > 0 and shared > 0
