"""Selection with shared weights: rounds, top-k re-scoring and the final pick, on hand-made scores."""

from __future__ import annotations

import itertools

import pytest

from randnas.search.selection import SelectionConfig, rounds_for_budget, select_architecture


def run(config, quick, full):
    """Architectures are integers 0, 1, 2, ... in sampling order; scores come from the two dicts."""
    counter = itertools.count()
    rescored = []

    def full_score(arch):
        rescored.append(arch)
        return full[arch]

    result = select_architecture(config, lambda: next(counter), quick.__getitem__, full_score)
    return result, rescored


def test_top_k_by_quick_score_are_rescored_and_the_best_full_score_wins():
    quick = {0: 0.1, 1: 0.9, 2: 0.5, 3: 0.8}
    full = {1: 0.6, 3: 0.7, 2: 0.99, 0: 0.0}
    result, rescored = run(SelectionConfig(archs_per_round=4, top_k=2, rounds=1), quick, full)
    assert rescored == [1, 3]  # 2 has the best full score but its quick score kept it out
    assert result.best == 3 and result.best_score == 0.7
    assert [row["full_score"] for row in result.scored] == [None, 0.6, None, 0.7]
    assert len(result.scored) == 4


def test_best_across_rounds_versus_first_round_as_released():
    quick = {i: 1.0 for i in range(6)}
    full = {0: 0.5, 1: 0.4, 2: 0.3, 3: 0.9, 4: 0.2, 5: 0.1}
    across, _ = run(SelectionConfig(archs_per_round=2, top_k=2, rounds=3), quick, full)
    first, _ = run(SelectionConfig(archs_per_round=2, top_k=2, rounds=3, rule="first_round"), quick, full)
    assert (across.best, across.best_round) == (3, 1)
    assert (first.best, first.best_round) == (0, 0)


def test_ties_keep_the_earlier_architecture():
    same = {i: 0.5 for i in range(6)}
    result, rescored = run(SelectionConfig(archs_per_round=3, top_k=2, rounds=2), same, same)
    assert rescored == [0, 1, 3, 4]
    assert result.best == 0 and result.best_round == 0


@pytest.mark.parametrize("budget, rounds", [(19_531, 1), (58_593, 5), (117_187, 11), (9_999, 1), (5, 1)])
def test_rounds_for_budget_as_released(budget, rounds):
    assert rounds_for_budget(budget) == rounds


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rule": "best"}, "unknown selection rule 'best'"),
        ({"top_k": 11, "archs_per_round": 10}, "top_k must be in 1..archs_per_round"),
        ({"rounds": 0}, "rounds must be at least 1"),
    ],
)
def test_bad_selection_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SelectionConfig(**kwargs)
