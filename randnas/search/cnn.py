"""Stage 1 on CIFAR-10: random search with weight sharing over the DARTS CNN space (reference section 4).

Shared weights are trained on the first part of the training set with one new uniformly random
architecture per minibatch (one SGD step each); then architectures are scored with those weights on
the rest of the training set (`randnas.search.selection`). Checkpoints hold every RNG state, so a
killed search resumes to exactly the same weights.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from randnas.configs import named_setting, require_positive
from randnas.data import ImageData
from randnas.device import select_device
from randnas.nets.cnn_supernet import MODES, SharedCnnNetwork
from randnas.repro import numpy_generator, state_dict_digest
from randnas.search.selection import SelectionConfig, SelectionResult, select_architecture, selection_for_budget
from randnas.spaces.cnn import CnnGenotype, sample_cnn_genotype
from randnas.train.loop import EpochCallback, EpochTrainer

# Streams of the run's numpy SeedSequence, so sampling for training and for selection never share draws.
TRAIN_ARCH_STREAM, SELECT_ARCH_STREAM = 1, 2


@dataclass(frozen=True)
class CnnSearchConfig:
    """Stage-1 meta-hyperparameters; the defaults are the paper's (Table 2 setting Random (5) aside)."""

    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    channels: int = 16
    layers: int = 8
    mode: str = "single"
    archs_per_round: int = 1000
    quick_minibatches: int = 10
    top_k: int = 10
    rounds: int = 0  # 0: as released, max(1, int(budget / 10000))
    selection_rule: str = "best_across_rounds"
    augment_valid: bool = True  # as released: the scoring half is augmented too
    max_steps_per_epoch: int = 0  # 0: the whole training part; a positive cap is for dry runs only

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown weight-sharing mode {self.mode!r}; choose one of {', '.join(MODES)}")
        require_positive(self, "epochs", "batch_size", "channels", "archs_per_round", "quick_minibatches", "top_k")
        if self.layers < 3:
            raise ValueError(f"layers must be at least 3 (two reduction cells and one normal), got {self.layers}")

    def budget(self, train_size: int) -> int:
        """Training minibatches: int(epochs * |train part| / batch size)."""
        return int(self.epochs * train_size / self.batch_size)

    def selection(self, train_size: int) -> SelectionConfig:
        return selection_for_budget(
            self.archs_per_round, self.top_k, self.rounds, self.selection_rule, self.budget(train_size)
        )


# Table 2's settings (epochs, gradient clip, channels); the number of architectures evaluated,
# 1000 / 5000 / 5000 / 11000 / 5000, follows from the budget rule.
CNN_SETTINGS: dict[str, dict] = {
    "random1": {"epochs": 50, "grad_clip": 5.0, "channels": 16},
    "random2": {"epochs": 150, "grad_clip": 5.0, "channels": 16},
    "random3": {"epochs": 150, "grad_clip": 1.0, "channels": 16},
    "random4": {"epochs": 300, "grad_clip": 1.0, "channels": 16},
    "random5": {"epochs": 150, "grad_clip": 1.0, "channels": 24},
}


def cnn_setting(name: str, **overrides) -> CnnSearchConfig:
    """A named Table 2 setting, with any field overridden (for smaller-scale presets)."""
    return named_setting(CNN_SETTINGS, CnnSearchConfig, "CNN search", name, overrides)


def cycle(loader: DataLoader) -> Iterator:
    """A continuing iterator: a new (reshuffled) pass whenever the last one ends."""
    while True:
        yield from loader


@dataclass
class CnnSearchResult:
    genotype: CnnGenotype
    score: float
    selection: SelectionResult
    weights_digest: str
    history: list[dict]


class SharedWeightSearch(EpochTrainer):
    """Stage 1 of random search with weight sharing on any space: `net(x, genotype)` is the supernet, `sample(rng)`
    draws an architecture; one new architecture per minibatch, one SGD step each, a checkpoint per epoch.
    `config` has the fields of `CnnSearchConfig`'s training part (epochs ... max_steps_per_epoch)."""

    def __init__(
        self,
        config,
        data: ImageData,
        seed: int,
        device: str,
        net: nn.Module,
        sample: Callable[[np.random.Generator], object],
    ) -> None:
        self.config = config
        self.data = data
        self.seed = seed
        self.device = select_device(device)
        self.net = net.to(self.device)
        self.sample = sample
        self.optimizer = torch.optim.SGD(
            self.net.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=getattr(config, "nesterov", False),
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, config.epochs, eta_min=config.lr_min
        )
        self.train_rng = numpy_generator(seed, TRAIN_ARCH_STREAM)
        self.train_set = data.dataset("search-train", augment=True)
        self.valid_set = data.dataset("search-valid", augment=config.augment_valid)

    def loader(self, dataset, shuffle: bool) -> DataLoader:
        # single-process loading: worker processes would break exact reproducibility
        return DataLoader(dataset, batch_size=self.config.batch_size, shuffle=shuffle, num_workers=0)

    def train_epoch(self) -> dict:
        self.net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        batches = self.loader(self.train_set, shuffle=True)
        if self.config.max_steps_per_epoch:
            batches = itertools.islice(batches, self.config.max_steps_per_epoch)
        for images, labels in batches:
            images, labels = images.to(self.device), labels.to(self.device)
            genotype = self.sample(self.train_rng)  # a new architecture for every minibatch
            logits = self.net(images, genotype)
            loss = nn.functional.cross_entropy(logits, labels)
            # set_to_none: in `single` mode unselected ops keep grad None, so SGD skips their decay
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
            self.optimizer.step()
            loss_sum += float(loss.detach()) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
        return {"train/loss": loss_sum / seen, "train/acc": correct / seen}

    def after_epoch(self, epoch: int, metrics: dict) -> None:
        """A subclass's per-epoch work on the trained weights (its results go into `metrics` and the checkpoint)."""

    def train_one_epoch(self, epoch: int) -> dict:
        metrics = {"lr": self.optimizer.param_groups[0]["lr"], **self.train_epoch()}
        self.scheduler.step()
        self.after_epoch(epoch, metrics)
        return metrics

    def checkpointed(self) -> tuple[dict, dict]:
        return {"model": self.net, "optimizer": self.optimizer, "scheduler": self.scheduler}, {
            "train_arch": self.train_rng
        }

    def train(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> list[dict]:
        """Train the shared weights for the configured epochs, resuming from a checkpoint if there is one."""
        return self.train_epochs(self.config.epochs, checkpoint_dir, on_epoch)

    @torch.no_grad()
    def accuracy(self, genotype, batches) -> float:
        self.net.eval()
        correct, seen = 0, 0
        for images, labels in batches:
            images, labels = images.to(self.device), labels.to(self.device)
            correct += int((self.net(images, genotype).argmax(1) == labels).sum())
            seen += len(labels)
        return correct / seen


class CnnSearch(SharedWeightSearch):
    """Stage 1 and selection for one seed; `run()` resumes from `checkpoint_dir` when it holds a checkpoint."""

    def __init__(self, config: CnnSearchConfig, data: ImageData, seed: int, device: str = "auto") -> None:
        channels, _, _ = data.image_shape
        net = SharedCnnNetwork(config.channels, config.layers, data.num_classes, channels, config.mode)
        super().__init__(config, data, seed, device, net, sample_cnn_genotype)

    def select(self, progress: Callable[[int, int], None] | None = None) -> SelectionResult:
        select_rng = numpy_generator(self.seed, SELECT_ARCH_STREAM)
        # one continuing, shuffled stream of validation minibatches for the quick scores, as released
        torch_state = torch.get_rng_state()
        quick_batches = cycle(self.loader(self.valid_set, shuffle=True))
        full_loader = self.loader(self.valid_set, shuffle=False)
        config = self.config.selection(len(self.train_set))
        result = select_architecture(
            config,
            sample=lambda: sample_cnn_genotype(select_rng),
            quick_score=lambda g: self.accuracy(g, itertools.islice(quick_batches, self.config.quick_minibatches)),
            full_score=lambda g: self.accuracy(g, full_loader),
            describe=CnnGenotype.to_darts,
            progress=progress,
        )
        torch.set_rng_state(torch_state)
        return result

    def run(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> CnnSearchResult:
        history = self.train(checkpoint_dir, on_epoch)
        selection = self.select()
        return CnnSearchResult(
            genotype=selection.best,
            score=selection.best_score,
            selection=selection,
            weights_digest=state_dict_digest(self.net.state_dict()),
            history=history,
        )


def arch_count(config: CnnSearchConfig, train_size: int) -> int:
    selection = config.selection(train_size)
    return selection.rounds * selection.archs_per_round
