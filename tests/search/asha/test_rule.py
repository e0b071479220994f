"""ASHA's pure rule and its bookkeeping, on hand-worked traces."""

from __future__ import annotations

import pytest

from randnas.search.asha.rule import promotable, rung_resources
from randnas.search.asha.scheduler import AshaScheduler, Suggestion


@pytest.mark.parametrize(
    "r, R, eta, layout, expected",
    [
        (1, 300, 4, "top_down", [1, 4, 18, 75, 300]),  # the paper's setting, as released
        (1, 300, 4, "bottom_up", [1, 4, 16, 64, 256]),
        (1, 27, 3, "top_down", [1, 3, 9, 27]),
        (1, 27, 3, "bottom_up", [1, 3, 9, 27]),
        (2, 10, 3, "top_down", [3, 10]),
        (5, 5, 2, "top_down", [5]),
    ],
)
def test_rung_layouts(r, R, eta, layout, expected):
    assert rung_resources(r, R, eta, layout) == expected


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 300, 4), r"r \(the minimum resource\) must be a positive number, got 0"),
        ((10, 5, 4), r"R \(the maximum resource\) must be a finite number of at least r = 10, got 5"),
        ((1, 300, 1), r"eta \(the reduction factor\) must be an integer of at least 2, got 1"),
        ((1, 300, 2.5), "got 2.5"),
    ],
)
def test_bad_rung_arguments_name_the_value_and_range(args, message):
    with pytest.raises(ValueError, match=message):
        rung_resources(*args)


def test_unknown_layout():
    with pytest.raises(ValueError, match="unknown rung layout 'sideways'; choose one of top_down, bottom_up"):
        rung_resources(1, 300, 4, "sideways")


@pytest.mark.parametrize(
    "results, promoted, eta, expected",
    [
        ({0: 0.5, 1: 0.9}, set(), 3, None),  # fewer than eta results: nothing to promote yet
        ({0: 0.5, 1: 0.9, 2: 0.1}, set(), 3, 1),  # floor(3/3) = 1 candidate: the best
        ({0: 0.5, 1: 0.9, 2: 0.1}, {1}, 3, None),  # the only candidate is already promoted
        ({0: 0.5, 1: 0.9, 2: 0.1, 3: 0.7, 4: 0.2, 5: 0.3}, {1}, 3, 3),  # 2 candidates: the next best
        ({0: 0.5, 1: 0.5, 2: 0.1}, set(), 3, 0),  # a tie keeps the earlier arrival
        ({0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4}, set(), 4, 3),
    ],
)
def test_promotable_table(results, promoted, eta, expected):
    assert promotable(results, promoted, eta) == expected


def test_scheduler_trace_promotes_top_down_and_starts_new_trials_otherwise():
    asha = AshaScheduler(1, 9, 3)
    assert [g.resource for g in asha.rungs] == [1, 3, 9]
    assert [asha.suggest() for _ in range(3)] == [
        Suggestion(0, 0, 1, True),
        Suggestion(1, 0, 1, True),
        Suggestion(2, 0, 1, True),
    ]
    for trial, value in ((0, 0.3), (1, 0.9), (2, 0.5)):
        asha.on_result(trial, 0, value)
    assert asha.suggest() == Suggestion(1, 1, 3, False)  # the best third of rung 0 goes up
    assert asha.suggest() == Suggestion(3, 0, 1, True)  # trial 1 is already pending at rung 1
    asha.on_result(1, 1, 0.95)
    assert asha.suggest() == Suggestion(4, 0, 1, True)  # rung 1 has fewer than eta results
    for trial, value in ((3, 0.99), (4, 0.1)):
        asha.on_result(trial, 0, value)
    # rung 0 now holds 5 results: floor(5/3) = 1 candidate, trial 3 (0.99), not yet promoted
    assert asha.suggest() == Suggestion(3, 1, 3, False)
    asha.on_result(3, 1, 0.2)
    assert asha.suggest() == Suggestion(5, 0, 1, True)
    asha.on_result(5, 0, 0.0)
    # rung 0: 6 results, candidates 3 and 1 (both promoted); rung 1: 2 results < eta -> new trial
    assert asha.suggest() == Suggestion(6, 0, 1, True)


def test_higher_rungs_are_scanned_first():
    asha = AshaScheduler(1, 9, 3)
    for _ in range(9):
        asha.suggest()
    for trial in range(9):
        asha.on_result(trial, 0, trial / 10)
    promoted = [asha.suggest() for _ in range(3)]  # the top third of rung 0: trials 8, 7, 6
    assert [(s.trial, s.rung) for s in promoted] == [(8, 1), (7, 1), (6, 1)]
    for suggestion, value in zip(promoted, (0.1, 0.9, 0.5), strict=True):
        asha.on_result(suggestion.trial, 1, value)
    # rung 1 can promote (7) and rung 0 could not: the top rung is served first
    assert asha.suggest() == Suggestion(7, 2, 9, False)


def test_when_two_rungs_can_promote_the_higher_rung_goes_first():
    """The scan order matters only when more than one rung has a promotable result: here rung 0 (its fourth best
    of twelve) and rung 1 (its best of three) both can, and the top-down scan of the released code promotes out
    of rung 1. A bottom-up scan would send rung 0's fourth best to rung 1 instead."""
    asha = AshaScheduler(1, 9, 3)
    for _ in range(9):
        asha.suggest()
    for trial in range(9):
        asha.on_result(trial, 0, trial / 10)
    promoted = [asha.suggest() for _ in range(3)]  # rung 0's top third: trials 8, 7, 6
    more = [asha.suggest() for _ in range(3)]  # nothing to promote while rung 1 waits: new trials 9, 10, 11
    assert [(s.trial, s.new) for s in more] == [(9, True), (10, True), (11, True)]
    for suggestion in more:  # floor(12 / 3) = 4 candidates at rung 0 now: 8, 7, 6 and the unpromoted 9
        asha.on_result(suggestion.trial, 0, 0.55)
    for suggestion, value in zip(promoted, (0.1, 0.9, 0.5), strict=True):
        asha.on_result(suggestion.trial, 1, value)
    assert promotable(asha.rungs[0].results, asha.rungs[0].promoted, 3) == 9  # rung 0 could promote
    assert promotable(asha.rungs[1].results, asha.rungs[1].promoted, 3) == 7  # and so could rung 1
    assert asha.suggest() == Suggestion(7, 2, 9, False)
    assert asha.suggest() == Suggestion(9, 1, 3, False)  # then the lower rung, once the higher has none


def test_no_early_stopping_trains_every_trial_to_R():
    asha = AshaScheduler(1, 300, 4, early_stopping=False)
    suggestions = []
    for _ in range(5):
        suggestions.append(asha.suggest())
        asha.on_result(suggestions[-1].trial, 0, 0.5)
    assert all(s.new and s.resource == 300 for s in suggestions)


def test_results_for_unasked_rungs_are_refused():
    asha = AshaScheduler(1, 9, 3)
    asha.suggest()
    with pytest.raises(ValueError, match="trial 0 was not asked to reach rung 1"):
        asha.on_result(0, 1, 0.5)


def test_withdraw_takes_back_only_the_newest_unstarted_trial():
    asha = AshaScheduler(1, 9, 3)
    first, second = asha.suggest(), asha.suggest()
    with pytest.raises(ValueError, match="only the newest unstarted trial"):
        asha.withdraw(first)
    asha.withdraw(second)
    assert asha.suggest() == second  # the same trial id is handed out again
