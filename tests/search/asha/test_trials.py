"""ASHA trials on the CNN benchmark: cumulative resources through checkpoints, a reproducible search."""

from __future__ import annotations

import pytest

from randnas.data import load_image_data
from randnas.search.asha.executors import Budget, event_log, run_simulated
from randnas.search.asha.scheduler import AshaScheduler, Suggestion
from randnas.search.asha.trials import CnnTrials
from randnas.train.cnn import CnnTrainConfig

SMALL = CnnTrainConfig(channels=4, layers=3, cutout=2, batch_size=128, lr=0.05, eval_batch_size=512)


@pytest.fixture(scope="module")
def digits():
    return load_image_data("digits")


def test_a_promoted_trial_continues_from_its_checkpoint(digits, tmp_path):
    trials = CnnTrials(SMALL, digits, seed=0, R=3, checkpoint_root=tmp_path / "a", device="cpu")
    value_1, cost_1 = trials(Suggestion(0, 0, 1, True), 0)
    value_3, cost_3 = trials(Suggestion(0, 1, 3, False), 1)
    assert (cost_1, cost_3) == (1.0, 2.0)  # only the new epochs are trained
    straight = CnnTrials(SMALL, digits, seed=0, R=3, checkpoint_root=tmp_path / "b", device="cpu")
    assert straight(Suggestion(0, 1, 3, True), 0)[0] == value_3  # the same as training 3 epochs at once


def test_simulated_asha_search_on_digits_repeats_exactly(digits, tmp_path):
    def once(folder):
        scheduler = AshaScheduler(1, 3, 3)
        trials = CnnTrials(SMALL, digits, seed=1, R=3, checkpoint_root=tmp_path / folder, device="cpu")
        return event_log(run_simulated(scheduler, trials, workers=2, budget=Budget(max_trials=4)))

    first = once("first")
    assert first == once("second")
    assert {event["rung"] for event in first} == {0, 1}  # one of the four reached R = 3


def test_unknown_objective():
    with pytest.raises(ValueError, match="unknown ASHA objective 'train'; choose one of valid, test"):
        CnnTrials(SMALL, None, 0, 3, None, objective="train")
