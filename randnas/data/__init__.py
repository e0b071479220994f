"""Datasets behind one interface per task type.

Images (`ImageData`): CIFAR-10 through torchvision, or scikit-learn's digits as the embedded default.
Language modelling (`TokenCorpus`): Penn Treebank checked by sha256, or English text shipped with Python
as the embedded default. `load_image_data` / `load_corpus` pick one by name; the book's "Benchmarks"
chapter shows what each holds.
"""

from randnas.data.base import DataError, ImageData, TokenCorpus, data_root
from randnas.data.registry import (
    IMAGE_DATASETS,
    TEXT_DATASETS,
    check_datasets,
    load_corpus,
    load_image_data,
)

__all__ = [
    "IMAGE_DATASETS",
    "TEXT_DATASETS",
    "DataError",
    "ImageData",
    "TokenCorpus",
    "check_datasets",
    "data_root",
    "load_corpus",
    "load_image_data",
]
