"""ASHA trials on both benchmarks: cumulative resources through checkpoints, a reproducible search."""

from __future__ import annotations

import pytest

from randnas.search.asha.executors import Budget, event_log, run_simulated
from randnas.search.asha.scheduler import AshaScheduler, Suggestion
from randnas.search.asha.trials import CnnTrials, PtbTrials, Report
from randnas.train.cnn import CnnTrainConfig
from randnas.train.ptb import PtbTrainConfig

SMALL = CnnTrainConfig(channels=4, layers=3, cutout=2, batch_size=128, lr=0.05, eval_batch_size=512)

SMALL_PTB = PtbTrainConfig(batch_size=8, hidden=16, bptt=8, eval_batch_size=8, max_steps_per_epoch=4, max_eval_chunks=3)


@pytest.mark.parametrize("kind", ["cnn", "ptb"])
def test_a_promoted_trial_continues_from_its_checkpoint(kind, tmp_path):
    def trials(folder):
        if kind == "cnn":
            return CnnTrials(SMALL, "digits", seed=0, R=3, checkpoint_root=str(tmp_path / folder), device="cpu")
        return PtbTrials(SMALL_PTB, "pydoc", seed=0, R=3, checkpoint_root=str(tmp_path / folder), device="cpu")

    stepwise = trials("a")
    first = stepwise(Suggestion(0, 0, 1, True), 0)
    promoted = stepwise(Suggestion(0, 1, 3, False), 1)
    assert isinstance(first, Report) and (len(first.metrics), len(promoted.metrics)) == (1, 2)  # only new epochs
    straight = trials("b")(Suggestion(0, 1, 3, True), 0)
    # the same as training 3 epochs at once
    assert straight.value == promoted.value and straight.metrics == first.metrics + promoted.metrics
    assert straight.value != first.value


def test_simulated_asha_search_on_digits_repeats_exactly(tmp_path):
    def once(folder):
        scheduler = AshaScheduler(1, 3, 3)
        trials = CnnTrials(SMALL, "digits", seed=1, R=3, checkpoint_root=str(tmp_path / folder), device="cpu")
        return event_log(run_simulated(scheduler, trials, workers=2, budget=Budget(max_trials=4)))

    first = once("first")
    assert first == once("second")
    assert {event["rung"] for event in first} == {0, 1}  # one of the four reached R = 3


def test_unknown_objective():
    with pytest.raises(ValueError, match="unknown ASHA objective 'train' for cnn; choose one of valid, holdout, test"):
        CnnTrials(SMALL, "digits", 0, 3, "", objective="train")
    with pytest.raises(ValueError, match="unknown ASHA objective 'test' for ptb; choose one of valid"):
        PtbTrials(SMALL_PTB, "pydoc", 0, 3, "", objective="test")


def test_ptb_value_is_minus_the_best_validation_perplexity(tmp_path):
    report = PtbTrials(SMALL_PTB, "pydoc", seed=0, R=2, checkpoint_root=str(tmp_path), device="cpu")(
        Suggestion(0, 0, 2, True), 0
    )
    assert report.value == -min(m["valid/ppl"] for m in report.metrics)
