"""Datasets by name: what a notebook parameter or a plan names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from randnas.data.base import DataError, ImageData, TokenCorpus
from randnas.data.images import load_cifar10, load_digits_data
from randnas.data.text import load_ptb, load_pydoc_text

# name -> loader(root); embedded sets ignore the root.
IMAGE_DATASETS: dict[str, Callable[[str | Path | None], ImageData]] = {
    "digits": lambda root: load_digits_data(),
    "cifar10": lambda root: load_cifar10(root),
}
TEXT_DATASETS: dict[str, Callable[[str | Path | None], TokenCorpus]] = {
    "pydoc": lambda root: load_pydoc_text(),
    "ptb": lambda root: load_ptb(root),
}


def _load_nb201(root):
    from randnas.data.nb201 import load_nb201_cifar10

    return load_nb201_cifar10(root)


def _load_nb301_surrogate(root):
    from randnas.surrogate.nb301 import load_nb301_surrogate

    return load_nb301_surrogate(root)


# tabular and surrogate benchmarks: checked alongside the datasets, loaded by their own modules
BENCHMARK_TABLES: dict[str, Callable[[str | Path | None], object]] = {
    "nb201": _load_nb201,
    "nb301-surrogate": _load_nb301_surrogate,
}


def _get(registry: dict, kind: str, name: str) -> Callable:
    if name not in registry:
        raise DataError(f"unknown {kind} dataset {name!r}; choose one of {', '.join(sorted(registry))}")
    return registry[name]


def load_image_data(name: str, root: str | Path | None = None) -> ImageData:
    return _get(IMAGE_DATASETS, "image", name)(root)


def load_corpus(name: str, root: str | Path | None = None) -> TokenCorpus:
    return _get(TEXT_DATASETS, "text", name)(root)


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    ok: bool
    detail: str  # the label and checksum when ok, else the one-line reason


def check_datasets(root: str | Path | None = None) -> list[DatasetStatus]:
    """Load every registered dataset and say which are usable, for `randnas data check`."""
    statuses = []
    for registry in (IMAGE_DATASETS, TEXT_DATASETS, BENCHMARK_TABLES):
        for name, loader in registry.items():
            try:
                data = loader(root)
            except DataError as error:
                statuses.append(DatasetStatus(name, False, str(error)))
            else:
                statuses.append(DatasetStatus(name, True, f"{data.label}; sha256 {data.checksum[:16]}"))
    return statuses
