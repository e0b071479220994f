"""The paper preset's cost page: device-hours from the GPU benchmark results, only for what they measured."""

from __future__ import annotations

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


def test_the_paper_preset_table_counts_only_measured_jobs():
    table = cost.paper_cost_table(REPO)
    rows = table.frame.set_index("plan entry")
    assert rows.loc["cnn-stage3", "device-hours"] == "" and rows.loc["cnn-stage3", "jobs measured"] == 0
    assert rows.loc["ptb-stage3", "jobs"] == 2 and rows.loc["ptb-stage3", "device-hours"].endswith("or more")
    assert "NVIDIA H200" in table.scale and "device-hours" in table.note
