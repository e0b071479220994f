"""What every table shares: the scale line, one form for a mean with its spread, and what 'diverged' reads."""

from __future__ import annotations

import numpy as np

from randnas.report.common import describe_scale, fmt, mean_std, presets_in, search_cost_table
from tests.rows import RecordBuilder


def test_scale_says_when_epochs_are_capped():
    built = RecordBuilder()
    built.plain("x", preset="cpu", dataset_label="CIFAR-10", device="CPU", steps_cap=130)
    built.plain("x", preset="cpu", dataset_label="CIFAR-10", device="CPU")
    runs = list(built.record())
    assert describe_scale(runs) == (
        "preset cpu; data: CIFAR-10; epochs capped at 130 minibatches in 1 of 2 runs; device: CPU; 2 run(s)"
    )
    assert "capped" not in describe_scale([run for run in runs if not run.steps_cap])


def test_scale_flags_runs_made_from_a_work_tree_with_uncommitted_changes():
    built = RecordBuilder()
    for dirty in (True, False, True):
        built.plain("x", preset="cpu", dataset_label="PTB", device="CPU", dirty=dirty)
    runs = list(built.record())
    assert describe_scale(runs).endswith("3 run(s); 2 of them from a work tree with uncommitted changes")
    assert "uncommitted" not in describe_scale([run for run in runs if not run.dirty])


def test_an_average_of_enough_runs_carries_its_bootstrap_interval():
    from randnas.statistics import mean_interval

    values = [3.0, 3.2, 2.9, 3.1, 3.4]
    estimate = mean_interval(values)
    assert mean_std(values) == (
        f"3.12 ± {np.std(values, ddof=1):.2f} (n=5; 95 % interval of the mean "
        f"[{estimate.low:.2f}, {estimate.high:.2f}])"
    )
    assert estimate.low < 3.12 < estimate.high and "nan" not in mean_std([1.0, 1.0, 1.0, 1.0, 1.0])


def test_a_diverged_training_reads_diverged_not_inf_or_nan():
    assert fmt(float("inf")) == "diverged" and fmt(float("nan")) == ""
    assert mean_std([float("inf")]) == "1 of 1 diverged"
    assert mean_std([float("inf"), 3.0, 5.0]) == "1 of 3 diverged; the rest 4.00 ± 1.41 (n=2, too few for an interval)"


def test_presets_and_search_cost_of_an_empty_record():
    record = RecordBuilder().record()
    assert presets_in(record) == [] and search_cost_table(record, "smoke").empty


def test_search_cost_sums_hours_per_experiment_and_device():
    built = RecordBuilder()
    built.plain("cnn/rsws", hours=1.0)
    built.plain("cnn/rsws", hours=2.0)
    built.plain("cnn/train", hours=0.5, device="")
    table = search_cost_table(built.record(), "smoke")
    rows = table.frame.set_index("experiment")
    assert rows.loc["cnn/rsws", "device-hours"] == 3.0 and rows.loc["cnn/rsws", "runs"] == 2
    assert rows.loc["cnn/train", "device"] == "?"


def test_a_cell_is_named_by_a_short_hash_in_tables():
    import hashlib

    from randnas.spaces.common import cell_hash
    from randnas.spaces.named import get_genotype

    text = get_genotype("cnn", "DARTS_V2").to_darts()
    assert cell_hash(text) == hashlib.sha256(text.encode()).hexdigest()[:8]
    assert cell_hash(float("nan")) == "" and cell_hash(None) == ""
