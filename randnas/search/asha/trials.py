"""ASHA's trials: random genotypes of either benchmark trained by the stage-2 trainers, each resuming
from its own checkpoint so that resources are cumulative (reference section 6).

A `Trials` object is small and picklable: it names its dataset instead of holding it, so a process
pool or a Ray cluster can ship it with every job, and each worker process loads the data once.

Objectives (higher is better for the scheduler):
- CNN `valid` (default): train on the search's first part of the training set, accuracy on the rest.
- CNN `holdout`: train on the first 45,000 training images, accuracy on the last 5,000 (a 45k/5k split).
- CNN `test`: the released choice: train on the whole training set, accuracy on CIFAR-10's test set.
- PTB `valid`: minus the best validation perplexity so far (DARTS keeps the best-validation weights).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from randnas.data import ImageData, TokenCorpus, load_corpus, load_image_data
from randnas.repro import numpy_generator, seed_everything
from randnas.search.asha.scheduler import Suggestion
from randnas.spaces.cnn import CnnGenotype, sample_cnn_genotype
from randnas.spaces.rnn import RnnGenotype, sample_rnn_genotype
from randnas.train.cnn import CNN_OBJECTIVES, CnnTrainConfig, CnnTrainer
from randnas.train.ptb import PtbTrainConfig, PtbTrainer

PTB_OBJECTIVES = ("valid",)
TRIAL_STREAM = 5  # genotype draws and initial seeds of ASHA's trials, apart from every other stream


@dataclass(frozen=True)
class Report:
    """What one job sends back: the objective (higher is better) and the metrics of each epoch it trained."""

    value: float
    metrics: tuple[dict, ...] = ()


def trial_seed(seed: int, trial: int) -> int:
    """A new trial's weights and data order depend on (seed, trial) alone, not on when it runs."""
    return int(np.random.SeedSequence([seed, TRIAL_STREAM, trial]).generate_state(1)[0])


def trial_folder(checkpoint_root: str, trial: int) -> Path:
    folder = Path(checkpoint_root) / f"trial-{trial}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@functools.lru_cache(maxsize=4)
def _image_data(name: str, root: str) -> ImageData:
    return load_image_data(name, root or None)


@functools.lru_cache(maxsize=4)
def _corpus(name: str, root: str) -> TokenCorpus:
    return load_corpus(name, root or None)


@dataclass(frozen=True)
class _Trials:
    """`trials(suggestion, previous_epochs) -> Report`; the trial's checkpoint holds everything else."""

    config: CnnTrainConfig | PtbTrainConfig
    dataset: str
    seed: int
    R: int
    checkpoint_root: str
    data_root: str = ""
    objective: str = "valid"
    device: str = "auto"

    benchmark: ClassVar[str] = ""
    objectives: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.objective not in self.objectives:
            raise ValueError(
                f"unknown ASHA objective {self.objective!r} for {self.benchmark}; "
                f"choose one of {', '.join(self.objectives)}"
            )
        # every trial's schedule (cosine, drop-path ramp) spans R epochs, whatever rung it stops at
        object.__setattr__(self, "config", dataclasses.replace(self.config, epochs=self.R))


@dataclass(frozen=True)
class CnnTrials(_Trials):
    benchmark = "cnn"
    objectives = tuple(CNN_OBJECTIVES)

    def genotype(self, trial: int) -> CnnGenotype:
        """Trial k's genotype depends on the seed and k only, not on the order trials run in."""
        return sample_cnn_genotype(numpy_generator(self.seed, TRIAL_STREAM, trial))

    def __call__(self, suggestion: Suggestion, previous: int) -> Report:
        train_split, eval_split = CNN_OBJECTIVES[self.objective]
        if previous == 0:
            seed_everything(trial_seed(self.seed, suggestion.trial))  # a resumed trial's RNGs come from its checkpoint
        data = _image_data(self.dataset, self.data_root)
        trainer = CnnTrainer(self.config, self.genotype(suggestion.trial), data, self.device, train_split, eval_split)
        result = trainer.run(trial_folder(self.checkpoint_root, suggestion.trial), epochs=suggestion.resource)
        return Report(result.history[-1][f"{eval_split}/acc"], tuple(result.history[previous:]))


@dataclass(frozen=True)
class PtbTrials(_Trials):
    """The recurrent benchmark's trials; the value is minus the best validation perplexity."""

    benchmark = "ptb"
    objectives = PTB_OBJECTIVES

    def genotype(self, trial: int) -> RnnGenotype:
        return sample_rnn_genotype(numpy_generator(self.seed, TRIAL_STREAM, trial))

    def __call__(self, suggestion: Suggestion, previous: int) -> Report:
        seed = trial_seed(self.seed, suggestion.trial)
        if previous == 0:
            seed_everything(seed)
        corpus = _corpus(self.dataset, self.data_root)
        trainer = PtbTrainer(self.config, self.genotype(suggestion.trial), corpus, seed, self.device)
        result = trainer.run(
            trial_folder(self.checkpoint_root, suggestion.trial), epochs=suggestion.resource, test=False
        )
        value = -result.best_valid_ppl if math.isfinite(result.best_valid_ppl) else -math.inf
        return Report(value, tuple(result.history[previous:]))


Trials = CnnTrials | PtbTrials
