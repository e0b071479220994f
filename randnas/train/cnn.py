"""Stages 2 and 3 on CIFAR-10: train one genotype from scratch with the DARTS protocol (reference section 5).

NetworkCIFAR (C=36, 20 cells), auxiliary head weighted 0.4, cutout 16, drop-path 0.2 ramped linearly
by epoch, gradient clip 5, SGD 0.025 / momentum 0.9 / weight decay 3e-4, cosine to 0, batch 96, on the
whole training set; the final epoch's test error is what the paper reports. The same trainer serves
the random-search baseline of Liu et al. (random genotypes trained from scratch) and ASHA's trials.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from randnas.configs import require_positive
from randnas.data import ImageData
from randnas.device import select_device
from randnas.nets.cnn import NetworkCIFAR, count_parameters
from randnas.repro import state_dict_digest
from randnas.spaces.cnn import CnnGenotype
from randnas.train.loop import EpochCallback, EpochTrainer

# What a training trains on and scores by (its "objective"): the paper's stages 2 and 3 train on the whole training
# set and report test error; a selection made on held-out data (ASHA's trials, the random baseline's brief
# trainings, as Liu et al. chose) trains on part of the training set and scores the rest.
CNN_OBJECTIVES = {
    "valid": ("search-train", "search-valid"),
    "holdout": ("holdout-train", "holdout-valid"),
    "test": ("train", "test"),
}
# each objective in the words the book prints beside a row
OBJECTIVE_WORDS = {
    "valid": "trained on the first half of the training set, validation accuracy on the second half",
    "holdout": "trained on 90 % of the training set (45k of CIFAR-10's 50k), validation accuracy on the last 10 %",
    "test": "trained on the whole training set, accuracy on the test set (as released)",
}


@dataclass(frozen=True)
class CnnTrainConfig:
    """The DARTS evaluation protocol; the defaults are the paper's scale (600 epochs)."""

    epochs: int = 600
    batch_size: int = 96
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    channels: int = 36
    layers: int = 20
    auxiliary: bool = True
    auxiliary_weight: float = 0.4
    cutout: int = 16
    drop_path_prob: float = 0.2
    eval_batch_size: int = 256
    max_steps_per_epoch: int = 0  # 0: the whole training set; a cap makes an epoch shorter (dry runs, cpu ASHA's unit)

    def __post_init__(self) -> None:
        require_positive(self, "epochs", "batch_size", "channels", "eval_batch_size")
        if not 0.0 <= self.drop_path_prob < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {self.drop_path_prob}")


@dataclass
class CnnTrainResult:
    history: list[dict]
    error: float  # percent on `eval_split` (the test set unless a selection scores held-out data), final epoch
    parameters: int  # without the auxiliary head
    weights_digest: str
    eval_split: str = "test"


class CnnTrainer(EpochTrainer):
    """One genotype, one seed; `run()` resumes from `checkpoint_dir` when it holds a checkpoint."""

    def __init__(
        self,
        config: CnnTrainConfig,
        genotype: CnnGenotype,
        data: ImageData,
        device: str = "auto",
        train_split: str = "train",
        eval_split: str = "test",
    ) -> None:
        self.config = config
        self.genotype = genotype
        self.device = select_device(device)
        channels, _, _ = data.image_shape
        self.model = NetworkCIFAR(
            genotype, config.channels, config.layers, data.num_classes, config.auxiliary, channels
        ).to(self.device)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, config.epochs, eta_min=config.lr_min
        )
        self.train_set = data.dataset(train_split, augment=True, cutout=config.cutout)
        self.eval_set = data.dataset(eval_split, augment=False)
        self.eval_split = eval_split

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the training set; `epoch` counts finished epochs (0 for the first)."""
        # drop-path ramps linearly from 0 to its maximum over the epochs, as in DARTS' train.py
        self.model.drop_path_prob = self.config.drop_path_prob * epoch / self.config.epochs
        self.model.train()
        loader = DataLoader(self.train_set, batch_size=self.config.batch_size, shuffle=True, num_workers=0)
        batches = (
            itertools.islice(loader, self.config.max_steps_per_epoch) if self.config.max_steps_per_epoch else loader
        )
        loss_sum, correct, seen = 0.0, 0, 0
        for images, labels in batches:
            images, labels = images.to(self.device), labels.to(self.device)
            logits, logits_aux = self.model(images)
            loss = nn.functional.cross_entropy(logits, labels)
            if logits_aux is not None:
                loss = loss + self.config.auxiliary_weight * nn.functional.cross_entropy(logits_aux, labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            loss_sum += float(loss.detach()) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
        return {"train/loss": loss_sum / seen, "train/acc": correct / seen}

    @torch.no_grad()
    def evaluate(self) -> dict:
        self.model.eval()
        loss_sum, correct, seen = 0.0, 0, 0
        for images, labels in DataLoader(self.eval_set, batch_size=self.config.eval_batch_size, shuffle=False):
            images, labels = images.to(self.device), labels.to(self.device)
            logits, _ = self.model(images)
            loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
        return {f"{self.eval_split}/loss": loss_sum / seen, f"{self.eval_split}/acc": correct / seen}

    def train_one_epoch(self, epoch: int) -> dict:
        metrics = {"lr": self.optimizer.param_groups[0]["lr"], "drop_path_prob": 0.0}
        metrics.update(self.train_epoch(epoch - 1))
        metrics["drop_path_prob"] = self.model.drop_path_prob
        self.scheduler.step()
        metrics.update(self.evaluate())
        return metrics

    def checkpointed(self) -> tuple[dict, dict]:
        return {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler}, {}

    def run(
        self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None, epochs: int | None = None
    ) -> CnnTrainResult:
        """Train up to `epochs` (default: all configured) epochs; the schedule always spans `config.epochs`,
        so stopping at epoch k and resuming later (ASHA's promotions) is the same run continued."""
        target = self.config.epochs if epochs is None else min(epochs, self.config.epochs)
        history = self.train_epochs(target, checkpoint_dir, on_epoch)
        final_acc = history[-1][f"{self.eval_split}/acc"] if history else float("nan")
        return CnnTrainResult(
            history=history,
            error=100.0 * (1.0 - final_acc),
            parameters=count_parameters(self.model),
            weights_digest=state_dict_digest(self.model.state_dict()),
            eval_split=self.eval_split,
        )
