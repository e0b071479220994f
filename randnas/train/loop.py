"""The one epoch loop every trainer and searcher runs: resume from the newest readable checkpoint, train
epoch by epoch, checkpoint after each epoch, then report it.

The order is fixed so that a run killed at any point and resumed continues exactly as if it had not
stopped: an epoch's checkpoint is written before its metrics are reported, so a resumed run never
trains an epoch it has reported; a resume reports every checkpointed epoch again, and the tracking side
skips a step it already holds, so an epoch whose report was lost (a tracking server gone between the
checkpoint and the report) is reported once, on resume. A subclass supplies one epoch of training and says
what its checkpoint must hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from randnas.train.checkpoint import latest_checkpoint, restore_checkpoint, save_checkpoint

EpochCallback = Callable[[int, dict], None]
Generators = Mapping[str, np.random.Generator | torch.Generator]


class EpochTrainer(ABC):
    """A training run made of epochs; `train_epochs` runs, checkpoints and resumes it."""

    device: torch.device | str = "cpu"

    @abstractmethod
    def train_one_epoch(self, epoch: int) -> dict:
        """Train epoch `epoch` (counted from 1), including any per-epoch evaluation; its metrics."""

    @abstractmethod
    def checkpointed(self) -> tuple[Mapping[str, Any], Generators]:
        """The objects with `state_dict()` (model, optimizer, scheduler) and the run's own generators."""

    def extra_state(self) -> dict[str, Any]:
        """Further state a resumed run needs (tensors, numbers and containers only)."""
        return {}

    def restore_extra_state(self, extra: Mapping[str, Any]) -> None:
        """Restore `extra_state()`; called before `checkpointed()` is loaded, so it may replace an object in it."""

    def train_epochs(
        self, target: int, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None
    ) -> list[dict]:
        """Train up to epoch `target`, resuming from `checkpoint_dir` when it holds a checkpoint; the
        history of every epoch so far (resumed ones included)."""
        start, history = 0, []
        payload = None if checkpoint_dir is None else latest_checkpoint(checkpoint_dir, self.device)
        if payload is not None:
            self.restore_extra_state(payload["extra"])
            modules, generators = self.checkpointed()
            start, extra = restore_checkpoint(payload, modules=modules, generators=generators)
            history = list(extra["history"])
            # the checkpointed epochs are reported again: a report lost with its tracking server (the epoch was
            # checkpointed, its metrics never arrived) comes back, and the tracking side skips a step it holds,
            # so a resumed run's metrics equal an uninterrupted run's, step for step
            for epoch, metrics in enumerate(history, 1):
                if on_epoch is not None:
                    on_epoch(epoch, metrics)
        for epoch in range(start + 1, target + 1):
            metrics = self.train_one_epoch(epoch)
            history.append(metrics)
            if checkpoint_dir is not None:
                modules, generators = self.checkpointed()
                save_checkpoint(
                    checkpoint_dir,
                    epoch=epoch,
                    modules=modules,
                    generators=generators,
                    extra={**self.extra_state(), "history": history},
                )
            if on_epoch is not None:
                on_epoch(epoch, metrics)
        return history
