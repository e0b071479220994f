"""What each dataset holds: sizes, statistics, checksums and samples (the book's "Benchmarks" chapter)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from randnas.data import DataError, ImageData, TokenCorpus, load_corpus, load_image_data
from randnas.data.registry import IMAGE_DATASETS, TEXT_DATASETS


@dataclass(frozen=True)
class DatasetsConfig:
    """The datasets notebook's parameters, checked."""

    image_sets: tuple[str, ...]
    text_sets: tuple[str, ...]
    samples: int
    seed: int
    data_root: str = ""

    def __post_init__(self) -> None:
        for name in self.image_sets:
            if name not in IMAGE_DATASETS:
                raise DataError(f"unknown image dataset {name!r}; choose from {sorted(IMAGE_DATASETS)}")
        for name in self.text_sets:
            if name not in TEXT_DATASETS:
                raise DataError(f"unknown text dataset {name!r}; choose from {sorted(TEXT_DATASETS)}")
        if not 1 <= self.samples <= 64:
            raise ValueError(f"samples must be in 1..64, got {self.samples}")

    def load(self) -> tuple[list[ImageData], list[TokenCorpus]]:
        images = [load_image_data(name, self.data_root or None) for name in self.image_sets]
        texts = [load_corpus(name, self.data_root or None) for name in self.text_sets]
        return images, texts


def image_summary(data: ImageData) -> dict:
    mean, std = data.channel_stats()
    channels, height, width = data.image_shape
    return {
        "dataset": data.label,
        "train": len(data.train_labels),
        "search split (train / valid)": f"{data.search_split} / {len(data.train_labels) - data.search_split}",
        "test": len(data.test_labels),
        "classes": data.num_classes,
        "shape (C, H, W)": f"{channels} x {height} x {width}",
        "pixel mean": ", ".join(f"{m:.4f}" for m in mean),
        "pixel std": ", ".join(f"{s:.4f}" for s in std),
        "sha256": data.checksum,
    }


def class_counts(data: ImageData) -> pd.DataFrame:
    """Images per class in each split; a balanced split has equal counts."""
    rows = {}
    for split in ("search-train", "search-valid", "test"):
        _, labels = data.split_arrays(split)
        counts = np.bincount(labels, minlength=data.num_classes)
        rows[split] = dict(zip(data.classes, counts.tolist(), strict=True))
    return pd.DataFrame(rows)


def corpus_summary(corpus: TokenCorpus) -> dict:
    unk = corpus.vocab.index("<unk>") if "<unk>" in corpus.vocab else -1
    eos = corpus.vocab.index("<eos>")
    return {
        "dataset": corpus.label,
        "vocabulary": corpus.vocab_size,
        "train tokens": len(corpus.train),
        "valid tokens": len(corpus.valid),
        "test tokens": len(corpus.test),
        "train sentences": int((corpus.train == eos).sum()),
        "valid <unk> rate": float((corpus.valid == unk).float().mean()) if unk >= 0 else 0.0,
        "sha256": corpus.checksum,
    }


def most_common_words(corpus: TokenCorpus, count: int = 15) -> pd.DataFrame:
    counts = Counter(corpus.train.tolist())
    total = len(corpus.train)
    return pd.DataFrame(
        [(corpus.vocab[i], n, n / total) for i, n in counts.most_common(count)], columns=["word", "count", "share"]
    )


def sample_sentences(corpus: TokenCorpus, count: int, rng: np.random.Generator) -> list[str]:
    """`count` whole sentences of the training split, chosen at random."""
    eos = corpus.vocab.index("<eos>")
    ends = np.flatnonzero(corpus.train.numpy() == eos)
    starts = np.concatenate([[0], ends[:-1] + 1])
    chosen = np.sort(rng.choice(len(ends), size=min(count, len(ends)), replace=False))
    return [" ".join(corpus.decode(corpus.train[starts[i] : ends[i] + 1])) for i in chosen]


def sample_grid(data: ImageData, count: int, rng: np.random.Generator):
    """A figure of `count` random training images with their class names."""
    import matplotlib.pyplot as plt

    indices = np.sort(rng.choice(len(data.train_labels), size=count, replace=False))
    columns = min(count, 8)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, indices, strict=False):
        image = data.train_pixels[index]
        axis.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        axis.set_title(data.classes[data.train_labels[index]], fontsize=8)
    figure.suptitle(data.label, fontsize=9)
    figure.tight_layout()
    return figure
