"""ASHA trials on the CNN benchmark: random genotypes trained by the stage-2 trainer, each resuming from
its own checkpoint so that resources are cumulative (reference section 6).

The objective is validation accuracy on a held-out part of the training set by default (train on the
search's first part, evaluate on the rest); `objective="test"` is the released choice (train on the
whole training set, evaluate on CIFAR-10's test set).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from randnas.data import ImageData
from randnas.repro import numpy_generator, seed_everything
from randnas.search.asha.scheduler import Suggestion
from randnas.spaces.cnn import CnnGenotype, sample_cnn_genotype
from randnas.train.cnn import CnnTrainConfig, CnnTrainer

OBJECTIVES = {"valid": ("search-train", "search-valid"), "test": ("train", "test")}
TRIAL_STREAM = 5  # genotype draws of ASHA's trials, apart from every other stream of the seed


class CnnTrials:
    """`trials(suggestion, previous_epochs) -> (accuracy, cost)`: the cost is the epochs trained, so the
    simulated clock orders events by work done, independently of the machine's speed."""

    def __init__(self, config: CnnTrainConfig, data: ImageData, seed: int, R: int, checkpoint_root: Path,
                 objective: str = "valid", device: str = "auto") -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown ASHA objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        # every trial's schedule (cosine, drop-path ramp) spans R epochs, whatever rung it stops at
        self.config = dataclasses.replace(config, epochs=R)
        self.data = data
        self.seed = seed
        self.checkpoint_root = checkpoint_root
        self.splits = OBJECTIVES[objective]
        self.device = device
        self.genotypes: dict[int, CnnGenotype] = {}

    def genotype(self, trial: int) -> CnnGenotype:
        """Trial k's genotype depends on the seed and k only, not on the order trials run in."""
        if trial not in self.genotypes:
            self.genotypes[trial] = sample_cnn_genotype(numpy_generator(self.seed, TRIAL_STREAM, trial))
        return self.genotypes[trial]

    def __call__(self, suggestion: Suggestion, previous: int) -> tuple[float, float]:
        train_split, eval_split = self.splits
        if previous == 0:
            # a new trial's weights and data order depend on (seed, trial) alone; a resumed one's
            # generators come back from its checkpoint
            seed_everything(int(np.random.SeedSequence([self.seed, TRIAL_STREAM, suggestion.trial]).generate_state(1)[0]))
        trainer = CnnTrainer(self.config, self.genotype(suggestion.trial), self.data, self.device, train_split, eval_split)
        result = trainer.run(self.checkpoint_root / f"trial-{suggestion.trial}", epochs=suggestion.resource)
        return result.history[-1][f"{eval_split}/acc"], float(suggestion.resource - previous)
