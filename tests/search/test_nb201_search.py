"""RSWS on NAS-Bench-201: exact reproducibility, exact resume, the scored cells, and the settings' checks."""

from __future__ import annotations

import pytest
import torch

from randnas.data import load_image_data
from randnas.repro import seed_everything
from randnas.search.nb201 import SCORES_KEY, Nb201Search, Nb201SearchConfig, nb201_config, scored_cells
from randnas.spaces.nb201 import NB201_CELLS

TINY = {
    "epochs": 3,
    "channels": 4,
    "cells_per_stage": 1,
    "batch_size": 32,
    "scored_cells": 6,
    "score_epochs": (1,),
    "score_minibatches": 2,
    "max_steps_per_epoch": 5,
}


def search(config: Nb201SearchConfig, data, seed: int) -> Nb201Search:
    seed_everything(seed)  # as the notebook does: the supernet's initial weights come from torch's generator
    return Nb201Search(config, data, seed, "cpu")


@pytest.fixture(scope="module")
def digits():
    return load_image_data("digits")


def test_the_same_seed_gives_the_same_digest_and_scores(digits):
    first = search(Nb201SearchConfig(**TINY), digits, 3).run()
    second = search(Nb201SearchConfig(**TINY), digits, 3).run()
    assert first.weights_digest == second.weights_digest and first.scores == second.scores and first.pick == second.pick
    assert sorted(first.scores) == [1, 3]  # the listed epoch and the last
    other = search(Nb201SearchConfig(**TINY), digits, 4).run()
    assert other.weights_digest != first.weights_digest


def test_scored_cells_are_distinct_fixed_by_the_seed_and_scored_each_listed_epoch(digits):
    cells = scored_cells(0, 50)
    assert len({c.to_index() for c in cells}) == 50 and cells == scored_cells(0, 50) and cells != scored_cells(1, 50)
    stage1 = search(Nb201SearchConfig(**TINY), digits, 0)
    history = stage1.train()
    assert [SCORES_KEY in entry for entry in history] == [True, False, True]
    assert all(len(entry[SCORES_KEY]) == 6 for entry in history if SCORES_KEY in entry)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("score_epochs", (0,), "outside 1..3"),
        ("scored_cells", NB201_CELLS + 1, "at most 15625"),
        ("mode", "sparse", "unknown weight-sharing mode"),
        ("setting", "nb301", "unknown setting"),
        ("score_batch", 16, "exclude each other"),
    ],
)
def test_bad_settings_fail_before_anything_runs(field, value, message):
    with pytest.raises(ValueError, match=message):
        Nb201SearchConfig(**{**TINY, field: value})


def test_the_rsps_setting_is_nas_bench_201s_own_and_scores_each_cell_on_its_own_batch(digits):
    assert nb201_config("rsps").epochs == 250 and nb201_config("rsps").score_batch == 512
    assert nb201_config("project") == Nb201SearchConfig()
    assert nb201_config("rsps", {"epochs": 3}).setting == "rsps"
    config = nb201_config("rsps", {**TINY, "score_minibatches": 0, "score_batch": 40})
    stage1 = search(config, digits, 0)
    batches = list(stage1.cell_batches(epoch=3))
    assert len(batches) == len(stage1.cells) and all(len(batch) == 1 for batch in batches)
    labels = [batch[0][1] for batch in batches]
    assert all(len(label) == 40 for label in labels)
    assert not all(torch.equal(labels[0], other) for other in labels[1:])  # a different batch per cell
    again = [batch[0][1] for batch in search(config, digits, 0).cell_batches(epoch=3)]
    assert all(torch.equal(a, b) for a, b in zip(labels, again, strict=True))  # drawn from the seed alone
    result = stage1.run()
    assert len(result.scores[3]) == len(stage1.cells)
