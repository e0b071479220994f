"""The two dataset interfaces and where data lives on disk."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

DATA_ENV = "RANDNAS_DATA"


class DataError(RuntimeError):
    """A dataset is missing or fails its checksum; the message says what to do."""


def data_root(root: str | Path | None = None) -> Path:
    """The folder that holds the real datasets: the argument, else $RANDNAS_DATA, else ./data."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    from_env = os.environ.get(DATA_ENV, "")
    return Path(from_env).expanduser() if from_env else Path("data")


def array_sha256(*arrays: np.ndarray) -> str:
    sha = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        sha.update(str(array.dtype).encode())
        sha.update(str(array.shape).encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


class Cutout(torch.nn.Module):
    """DARTS' cutout: zero a `length` x `length` square (clipped at the borders) around a random pixel.

    torchvision's RandomErasing draws a random area and aspect ratio instead, so it is not the same
    augmentation. Draws from torch's global generator, like the other transforms.
    """

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        y = int(torch.randint(height, ()))
        x = int(torch.randint(width, ()))
        half = self.length // 2
        image = image.clone()
        image[..., max(0, y - half) : min(height, y + half), max(0, x - half) : min(width, x + half)] = 0
        return image


class PixelDataset(Dataset):
    """uint8 images (N, H, W, C) and labels, served as normalized float tensors (C, H, W).

    Augmentation draws from torch's global generator in the main process, so a seeded run with
    single-process loading (as the released code requires for determinism) repeats exactly.
    """

    def __init__(self, pixels: np.ndarray, labels: np.ndarray, transform: v2.Transform) -> None:
        if len(pixels) != len(labels):
            raise ValueError(f"{len(pixels)} images but {len(labels)} labels")
        self.pixels = torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))  # (N, C, H, W)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.pixels[index]), int(self.labels[index])


@dataclass(frozen=True)
class ImageData:
    """An image classification set with fixed splits.

    `train` is the whole training set (stages 2 and 3 train on it); the search splits it without
    shuffling at `search_split`: the first part trains shared weights, the rest scores architectures
    (reference section 4: the first and last 25k CIFAR-10 images).
    """

    name: str
    label: str
    classes: tuple[str, ...]
    train_pixels: np.ndarray = field(repr=False)  # (N, H, W, C) uint8
    train_labels: np.ndarray = field(repr=False)
    test_pixels: np.ndarray = field(repr=False)
    test_labels: np.ndarray = field(repr=False)
    search_split: int
    mean: tuple[float, ...]  # normalization constants (CIFAR-10: the released code's, whatever the copy)
    std: tuple[float, ...]
    checksum: str
    flip: bool  # horizontal flips suit photographs, not handwritten digits
    crop_padding: int
    source: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) as the networks see it."""
        _, height, width, channels = self.train_pixels.shape
        return channels, height, width

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std of the training pixels, scaled to [0, 1]."""
        pixels = self.train_pixels.astype(np.float64) / 255.0
        return tuple(pixels.mean(axis=(0, 1, 2)).tolist()), tuple(pixels.std(axis=(0, 1, 2)).tolist())

    def transform(self, augment: bool, cutout: int = 0) -> v2.Transform:
        steps: list[v2.Transform] = []
        if augment:
            _, height, width = self.image_shape
            steps.append(v2.RandomCrop((height, width), padding=self.crop_padding))
            if self.flip:
                steps.append(v2.RandomHorizontalFlip())
        steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(self.mean), list(self.std))]
        if augment and cutout > 0:
            steps.append(Cutout(cutout))
        return v2.Compose(steps)

    def dataset(self, split: str, augment: bool = False, cutout: int = 0) -> PixelDataset:
        """`split` is one of train, test, search-train (before `search_split`), search-valid (after),
        holdout-train (the first 90 % of the training set), holdout-valid (the last 10 %)."""
        pixels, labels = self.split_arrays(split)
        return PixelDataset(pixels, labels, self.transform(augment, cutout))

    def split_arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        cut = self.search_split
        holdout = len(self.train_labels) * 9 // 10  # CIFAR-10: the first 45,000 train, the last 5,000 validate
        arrays = {
            "train": (self.train_pixels, self.train_labels),
            "test": (self.test_pixels, self.test_labels),
            "search-train": (self.train_pixels[:cut], self.train_labels[:cut]),
            "search-valid": (self.train_pixels[cut:], self.train_labels[cut:]),
            "holdout-train": (self.train_pixels[:holdout], self.train_labels[:holdout]),
            "holdout-valid": (self.train_pixels[holdout:], self.train_labels[holdout:]),
        }
        if split not in arrays:
            raise ValueError(f"unknown split {split!r}; choose one of {sorted(arrays)}")
        return arrays[split]


@dataclass(frozen=True)
class TokenCorpus:
    """A word-level language-modelling corpus: a vocabulary and three id streams with `<eos>` per line."""

    name: str
    label: str
    vocab: tuple[str, ...] = field(repr=False)
    train: torch.Tensor = field(repr=False)
    valid: torch.Tensor = field(repr=False)
    test: torch.Tensor = field(repr=False)
    checksum: str
    source: str

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, ids: torch.Tensor) -> list[str]:
        return [self.vocab[int(i)] for i in ids]
