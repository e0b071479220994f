"""CIFAR-10 training-batch throughput: our uint8-tensor pipeline against torchvision's stock PIL one.

Both apply the search's augmentation (crop 32 with padding 4, horizontal flip, normalize) and serve
batches of 64 from a single-process DataLoader, as the released code does for determinism.
Run: .venv/bin/python -m benchmarks.bench_data [--data-root DIR] [--batches N]
"""

from __future__ import annotations

import argparse
import itertools

import torch
from torch.utils.data import DataLoader
from torchvision import transforms

from benchmarks.common import time_call, write_results
from randnas.data import images


def stock_torchvision(root, batch: int) -> DataLoader:
    pipeline = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(images.CIFAR10_MEAN, images.CIFAR10_STD),
        ]
    )
    variants = {label: variant for variant, label in images.CIFAR10_COPIES}
    data = images.load_cifar10(root)
    dataset = variants[data.label](data.source, train=True, transform=pipeline)
    return DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0)


def ours(root, batch: int) -> DataLoader:
    return DataLoader(
        images.load_cifar10(root).dataset("train", augment=True), batch_size=batch, shuffle=True, num_workers=0
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    results = {}
    for name, factory in (("torchvision_pil", stock_torchvision), ("randnas_tensor", ours)):
        loader = factory(args.data_root, args.batch_size)
        timing = time_call(lambda batches=loader: list(itertools.islice(iter(batches), args.batches)), repeats=3)
        timing["batches_per_s"] = args.batches / timing["median_s"]
        results[name] = timing
    results["speedup_vs_torchvision_pil"] = (
        results["randnas_tensor"]["batches_per_s"] / results["torchvision_pil"]["batches_per_s"]
    )
    path = write_results(
        "data_loading",
        results,
        notes=f"{args.batches} batches of {args.batch_size}, CIFAR-10 train, augment on, single-process loading",
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
