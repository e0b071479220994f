"""CIFAR-10 through torchvision (a tiny CIFAR-format folder, and the shared JPEG copy) and digits."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from randnas.data import DataError, images, load_image_data

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_tiny_cifar(root: Path, per_batch: int = 20, seed: int = 0) -> dict[str, str]:
    """Six batches and the meta file in the python-version format; returns each file's md5."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            "batch_label": name,
            "labels": [int(i % 10) for i in range(per_batch)],
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "filenames": [f"{name}-{i}.png" for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"num_cases_per_batch": per_batch, "label_names": CLASSES, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch) -> Path:
    md5 = write_tiny_cifar(tmp_path / "cifar10")

    class TinyCopy(CIFAR10):
        train_list: ClassVar = [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)]
        test_list: ClassVar = [["test_batch", md5["test_batch"]]]
        meta: ClassVar = {"filename": "batches.meta", "key": "label_names", "md5": md5["batches.meta"]}

    monkeypatch.setattr(images, "CIFAR10_COPIES", (*images.CIFAR10_COPIES, (TinyCopy, "tiny CIFAR-format test copy")))
    return tmp_path


def test_cifar10_tiny_folder_loads_through_torchvision(tiny_cifar):
    data = images.load_cifar10(tiny_cifar)
    assert data.label == "tiny CIFAR-format test copy"
    assert data.train_pixels.shape == (100, 32, 32, 3) and data.train_pixels.dtype == np.uint8
    assert data.test_pixels.shape == (20, 32, 32, 3)
    assert data.classes == tuple(CLASSES)
    assert data.image_shape == (3, 32, 32)
    image, label = data.dataset("train", augment=True)[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and 0 <= label < 10


def test_cifar10_search_split_is_first_and_last_part_without_shuffling(tiny_cifar, monkeypatch):
    monkeypatch.setattr(images, "CIFAR10_SEARCH_SPLIT", 40)
    data = images.load_cifar10(tiny_cifar)
    first, _ = data.split_arrays("search-train")
    rest, _ = data.split_arrays("search-valid")
    assert len(first) == 40 and len(rest) == 60
    assert np.array_equal(np.concatenate([first, rest]), data.train_pixels)


def test_holdout_split_is_the_first_nine_tenths_and_the_last_tenth(tiny_cifar):
    data = images.load_cifar10(tiny_cifar)  # 100 images here; CIFAR-10's 50,000 give 45k / 5k
    train, _ = data.split_arrays("holdout-train")
    valid, _ = data.split_arrays("holdout-valid")
    assert (len(train), len(valid)) == (90, 10)
    assert np.array_equal(np.concatenate([train, valid]), data.train_pixels)


def test_cifar10_unaugmented_normalization_uses_the_released_constants(tiny_cifar):
    data = images.load_cifar10(tiny_cifar)
    image, _ = data.dataset("test", augment=False)[3]
    raw = torch.from_numpy(data.test_pixels[3]).permute(2, 0, 1).float() / 255
    expected = (raw - torch.tensor(images.CIFAR10_MEAN)[:, None, None]) / torch.tensor(images.CIFAR10_STD)[
        :, None, None
    ]
    assert torch.allclose(image, expected, atol=1e-6)


def test_cifar10_augmentation_repeats_under_the_same_seed(tiny_cifar):
    dataset = images.load_cifar10(tiny_cifar).dataset("train", augment=True)
    torch.manual_seed(0)
    first = torch.stack([dataset[i][0] for i in range(8)])
    torch.manual_seed(0)
    assert torch.equal(first, torch.stack([dataset[i][0] for i in range(8)]))


def test_cifar10_corrupted_file_is_named(tiny_cifar):
    batch = tiny_cifar / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DataError, match=r"data_batch_3 fails its md5 check") as error:
        images.load_cifar10(tiny_cifar)
    assert "\n" not in str(error.value)


def test_cifar10_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError, match=r"CIFAR-10 not found under .*put the python version's folder") as error:
        images.load_cifar10(tmp_path)
    assert str((tmp_path / "cifar10").resolve()) in str(error.value)


def test_cifar10_root_from_environment(tiny_cifar, monkeypatch):
    monkeypatch.setenv("RANDNAS_DATA", str(tiny_cifar))
    assert len(load_image_data("cifar10").train_labels) == 100


@pytest.mark.shared_data
def test_cifar10_jpeg_copy_from_shared_data(shared_data):
    if not (shared_data / "cifar10-jpeg").is_dir():
        pytest.skip("../shared/data/cifar10-jpeg is absent")
    data = load_image_data("cifar10", shared_data)
    assert "JPEG-decoded copy" in data.label and "lossy" in data.label
    assert data.train_pixels.shape == (50_000, 32, 32, 3)
    assert data.test_pixels.shape == (10_000, 32, 32, 3)
    assert np.bincount(data.train_labels).tolist() == [5000] * 10
    assert np.bincount(data.test_labels).tolist() == [1000] * 10
    assert data.search_split == 25_000
    mean, _ = data.channel_stats()
    assert mean == pytest.approx((0.4913, 0.4821, 0.4465), abs=1e-4)  # the copy's README


def test_digits_fixed_splits():
    data = load_image_data("digits")
    again = load_image_data("digits")
    assert data.checksum == again.checksum
    assert np.array_equal(data.train_labels, again.train_labels)
    assert data.train_pixels.shape == (1300, 8, 8, 1)
    assert data.test_pixels.shape == (497, 8, 8, 1)
    assert data.search_split == 650
    assert data.image_shape == (1, 8, 8) and data.num_classes == 10
    assert data.train_pixels.max() == 255 and data.train_pixels.min() == 0
    # every class appears in every split
    for split in ("search-train", "search-valid", "test"):
        assert set(data.split_arrays(split)[1].tolist()) == set(range(10))


def test_digits_normalized_training_images_have_zero_mean_unit_std():
    data = load_image_data("digits")
    batch = torch.stack([data.dataset("train")[i][0] for i in range(len(data.train_labels))])
    assert float(batch.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(batch.std()) == pytest.approx(1.0, abs=1e-3)


def test_unknown_split_and_dataset_names_are_listed():
    data = load_image_data("digits")
    with pytest.raises(ValueError, match="choose one of"):
        data.dataset("validation")
    with pytest.raises(DataError, match="unknown image dataset 'imagenet'; choose one of cifar10, digits"):
        load_image_data("imagenet")
