"""The simulated clock's cost models: a forward pass's multiply-accumulates counted where they happen,
and a FLOP-charged ASHA search in which cheap cells finish low rungs, and get promoted, earlier."""

from __future__ import annotations

import dataclasses

import pytest
from torch import nn

from randnas.nets.cnn import NetworkCIFAR, forward_macs
from randnas.search.asha.executors import Budget, epochs_cost, run_asha
from randnas.search.asha.scheduler import AshaScheduler
from randnas.search.asha.search import AshaConfig, FlopCost, make_cost_model
from randnas.search.asha.trials import CnnTrials, PtbTrials
from randnas.spaces.cnn import CnnGenotype
from randnas.train.cnn import CnnTrainConfig
from randnas.train.ptb import PtbTrainConfig


def uniform_cell(op: str) -> CnnGenotype:
    edges = tuple((op, i) for node in range(4) for i in (0, 1))
    return CnnGenotype(edges, edges)


def test_forward_macs_counts_convolutions_linear_layers_and_pooling_windows():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 1, groups=2),
        nn.Flatten(),
        nn.Linear(4 * 16 * 16, 10),
    )
    expected = 32 * 32 * 4 * 3 * 9 + 16 * 16 * 4 * 4 + 16 * 16 * 4 * 2 + 10 * 4 * 16 * 16
    assert forward_macs(model) == expected


def test_separable_convolutions_cost_more_than_pooling_and_skips():
    sizes = {
        op: forward_macs(NetworkCIFAR(uniform_cell(op), 8, 5, auxiliary=False))
        for op in ("sep_conv_5x5", "sep_conv_3x3", "max_pool_3x3", "skip_connect")
    }
    assert sizes["sep_conv_5x5"] > sizes["sep_conv_3x3"] > sizes["max_pool_3x3"] > sizes["skip_connect"]


@dataclasses.dataclass(frozen=True)
class TwoKindsOfTrials(CnnTrials):
    """Even trials: an all-sep_conv_5x5 cell; odd trials: an all-skip cell (cheap, and here the better)."""

    def genotype(self, trial: int) -> CnnGenotype:
        return uniform_cell("skip_connect" if trial % 2 else "sep_conv_5x5")


def promotions(cost) -> tuple[list[int], list]:
    """Every trial scores the same, so a rung's tie goes to the result that arrived first."""
    scheduler = AshaScheduler(1, 9, 3)
    events = run_asha(scheduler, lambda s, previous: 0.5, Budget(max_trials=9), workers=3, cost=cost)
    return [e.trial for e in events if e.rung > 0], events


def test_under_the_flop_cost_a_cheap_cell_is_promoted_earlier():
    trials = TwoKindsOfTrials(CnnTrainConfig(channels=4, layers=3), "digits", 0, 9, "/tmp/unused")
    flops = FlopCost(trials)
    assert flops.per_epoch(1) < 1 < flops.per_epoch(0)  # relative to DARTS_V2
    promoted, events = promotions(flops)
    # charged by epochs alike, the expensive trial 0 reports first and is promoted first; charged by
    # their FLOPs, the cheap cells report first and are promoted ahead of it
    assert promotions(epochs_cost)[0][0] == 0
    assert promoted[0] % 2 == 1
    first_rung0 = [e.trial for e in events if e.rung == 0][:2]
    assert all(trial % 2 == 1 for trial in first_rung0)
    assert promotions(FlopCost(trials))[1] == events  # the same costs give the same search


def test_the_cost_model_is_chosen_by_the_config():
    cnn = CnnTrials(CnnTrainConfig(channels=4, layers=3), "digits", 0, 9, "/tmp/unused")
    assert isinstance(make_cost_model(AshaConfig(R=9, max_trials=2), cnn), FlopCost)
    assert make_cost_model(AshaConfig(R=9, max_trials=2, cost_model="epochs"), cnn) is epochs_cost
    ptb = PtbTrials(PtbTrainConfig(hidden=8), "pydoc", 0, 9, "/tmp/unused")  # every recurrent cell costs the same
    assert make_cost_model(AshaConfig(benchmark="ptb", R=9, max_trials=2), ptb) is epochs_cost
    with pytest.raises(ValueError, match="unknown ASHA cost_model 'time'"):
        AshaConfig(R=9, max_trials=2, cost_model="time")
