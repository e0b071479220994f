"""Image sets: CIFAR-10 (torchvision, official files or the JPEG-decoded copy) and sklearn's digits."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import check_integrity

from randnas.data.base import DataError, ImageData, array_sha256, data_root

# The released code normalizes with the official training set's statistics (reference section 4);
# we keep them for the JPEG copy too so that the only difference between the two is the pixels.
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)
CIFAR10_SEARCH_SPLIT = 25_000

CIFAR10_OFFICIAL_LABEL = "CIFAR-10"
CIFAR10_JPEG_LABEL = "CIFAR-10 (JPEG-decoded copy: lossy, not the official pixels)"


class CIFAR10JPEG(CIFAR10):
    """torchvision's loader with the md5s of the JPEG-decoded copy, so its integrity check stays on."""

    train_list: ClassVar[list[list[str]]] = [
        ["data_batch_1", "e0925fc001b8f79bea193595d09c98e1"],
        ["data_batch_2", "b360b31c369973e72739c2cd0371a247"],
        ["data_batch_3", "e509b2c08797f6b6c8d8d0a5dfa9e7ba"],
        ["data_batch_4", "b8b868994c700e1a1eeca1fb18a92da1"],
        ["data_batch_5", "edc71386ccaae97744e8d35fb615d0b3"],
    ]
    test_list: ClassVar[list[list[str]]] = [["test_batch", "f2eb079ae63f3eb44dd0bc02b2c68a83"]]
    meta: ClassVar[dict[str, str]] = {
        "filename": "batches.meta",
        "key": "label_names",
        "md5": "56a2023d12d9afdf5284508eeb834c17",
    }


# The copies this loader accepts, each with its md5 table and the label its results carry.
CIFAR10_COPIES: tuple[tuple[type[CIFAR10], str], ...] = (
    (CIFAR10, CIFAR10_OFFICIAL_LABEL),
    (CIFAR10JPEG, CIFAR10_JPEG_LABEL),
)

# Where a CIFAR-10 root (the folder holding cifar-10-batches-py/) may sit under the data root.
CIFAR10_SUBFOLDERS = (".", "cifar10", "cifar10-jpeg")


def _files_checksum(variant: type[CIFAR10]) -> str:
    """A digest of the verified files' identities (torchvision has checked each md5 on load)."""
    listing = variant.train_list + variant.test_list + [[variant.meta["filename"], variant.meta["md5"]]]
    return array_sha256(np.array(["{}:{}".format(*entry) for entry in listing]))


def _open_copy(folder: Path) -> tuple[CIFAR10, CIFAR10, type[CIFAR10], str] | None:
    """The first known copy whose md5s all match (torchvision checks them when it opens a split)."""
    for variant, label in CIFAR10_COPIES:
        try:
            train = variant(str(folder), train=True, download=False)
        except RuntimeError:  # torchvision's "Dataset not found or corrupted"
            continue
        return train, variant(str(folder), train=False, download=False), variant, label
    return None


def _first_bad_file(folder: Path) -> str:
    batches = folder / CIFAR10.base_folder
    for name, _ in CIFAR10.train_list + CIFAR10.test_list:
        path = batches / name
        if not path.exists():
            return f"{path} is missing"
        known = [dict(v.train_list + v.test_list)[name] for v, _ in CIFAR10_COPIES]
        if not any(check_integrity(str(path), md5) for md5 in known):
            return f"{path} fails its md5 check (it matches no known copy: {', '.join(l for _, l in CIFAR10_COPIES)})"
    return f"{batches} mixes files from different copies"


def load_cifar10(root: str | Path | None = None, download: bool = False) -> ImageData:
    """CIFAR-10 from `root` (or $RANDNAS_DATA, or ./data); the official files or the JPEG-decoded copy.

    Looks for `cifar-10-batches-py/` in the root itself, `root/cifar10/` and `root/cifar10-jpeg/`.
    With `download=True` and no copy present, torchvision downloads the official files to `root/cifar10`.
    """
    base = data_root(root)
    present = [base / sub for sub in CIFAR10_SUBFOLDERS if (base / sub / CIFAR10.base_folder).is_dir()]
    if not present:
        if not download:
            raise DataError(
                f"CIFAR-10 not found under {base.resolve()}: put the python version's folder "
                f"cifar-10-batches-py/ (from https://www.cs.toronto.edu/~kriz/cifar.html) in "
                f"{(base / 'cifar10').resolve()}/, or set RANDNAS_DATA to the folder that holds it"
            )
        present = [base / "cifar10"]
        CIFAR10(str(present[0]), train=True, download=True)
    folder = present[0]
    opened = _open_copy(folder)
    if opened is None:
        raise DataError(f"CIFAR-10 at {folder.resolve()}: {_first_bad_file(folder)}; replace it with the original")
    train, test, variant, label = opened
    return ImageData(
        name="cifar10",
        label=label,
        classes=tuple(train.classes),
        train_pixels=train.data,
        train_labels=np.asarray(train.targets, dtype=np.int64),
        test_pixels=test.data,
        test_labels=np.asarray(test.targets, dtype=np.int64),
        search_split=CIFAR10_SEARCH_SPLIT,
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD,
        checksum=_files_checksum(variant),
        flip=True,
        crop_padding=4,
        source=str(folder.resolve()),
    )


# Digits: 1,797 8x8 images; a fixed permutation makes the splits independent of the writers' order.
DIGITS_TEST_SIZE = 497
DIGITS_SPLIT_SEED = 0


def load_digits_data() -> ImageData:
    """scikit-learn's handwritten digits as the embedded image set (ships with scikit-learn, no download).

    Splits: a fixed permutation (numpy's frozen legacy RandomState(0)); the last 497 images are the
    test set, the first 1,300 the training set, whose halves are the search's train/valid parts.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 0..16 intensities to 0..255 (one-to-one), one channel: (N, 8, 8, 1)
    pixels = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    order = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(len(labels))
    pixels, labels = pixels[order], labels[order]
    n_train = len(labels) - DIGITS_TEST_SIZE
    train_pixels = pixels[:n_train]
    scaled = train_pixels.astype(np.float64) / 255.0
    return ImageData(
        name="digits",
        label="digits (scikit-learn, 8x8 grayscale; embedded default)",
        classes=tuple(str(name) for name in digits.target_names),
        train_pixels=train_pixels,
        train_labels=labels[:n_train],
        test_pixels=pixels[n_train:],
        test_labels=labels[n_train:],
        search_split=n_train // 2,
        mean=(float(scaled.mean()),),
        std=(float(scaled.std()),),
        checksum=array_sha256(pixels, labels),
        flip=False,
        crop_padding=1,
        source="sklearn.datasets.load_digits",
    )
