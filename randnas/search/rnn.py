"""Stage 1 on PTB: random search with weight sharing over the DARTS recurrent space (reference section 4).

The language model's weights are trained with plain SGD (lr 20, constant), one new random architecture
per minibatch, bptt 35 (17 with probability 0.05, the learning rate scaled by seq_len / 35), and the
hidden state carried across minibatches; then architectures are scored by validation perplexity on
the whole validation split at batch 1024 (`randnas.search.selection`, higher score = lower perplexity).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from randnas.configs import named_setting, require_positive
from randnas.data import TokenCorpus
from randnas.device import select_device
from randnas.nets.rnn import RnnLanguageModel, RnnModelConfig
from randnas.repro import numpy_generator, state_dict_digest
from randnas.search.selection import SelectionConfig, SelectionResult, select_architecture, selection_for_budget
from randnas.spaces.rnn import RnnGenotype, sample_rnn_genotype
from randnas.train.lm import LanguageModelSettings, batchify, minibatches, perplexity, sgd_step
from randnas.train.loop import EpochCallback, EpochTrainer

TRAIN_ARCH_STREAM, SELECT_ARCH_STREAM, LENGTH_STREAM = 1, 2, 3
PTB_TRAIN_TOKENS = 929_589  # the budget formula's constant, as released


def search_seq_len(rng: np.random.Generator, bptt: int) -> int:
    """Stage 1 as released: bptt, or half of it with probability 0.05."""
    return bptt if rng.random() < 0.95 else int(bptt / 2)


@dataclass(frozen=True)
class RnnSearchConfig(LanguageModelSettings):
    """Stage-1 settings; the defaults are the proxy network's (supplement Table 7)."""

    eval_batch_size: int = 1024
    archs_per_round: int = 1000
    top_k: int = 10
    quick_batches: int = 0  # 0: every architecture is scored on the whole validation split, as released
    # 2 rounds of 1000: the 2000 architectures Table 7's caption gives for every setting; 0: the released
    # budget rule, max(1, int(budget / 10000)), which evaluates 1000 for Random (1) and (2)
    rounds: int = 2
    selection_rule: str = "best_across_rounds"

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "eval_batch_size", "archs_per_round", "top_k")

    def budget(self, train_tokens: int = PTB_TRAIN_TOKENS) -> int:
        return int(self.epochs * train_tokens / self.batch_size / self.bptt)

    def selection(self, train_tokens: int = PTB_TRAIN_TOKENS) -> SelectionConfig:
        return selection_for_budget(
            self.archs_per_round, self.top_k, self.rounds, self.selection_rule, self.budget(train_tokens)
        )


# Supplement Table 7: proxy (300 units, dropoute 0, wdecay 5e-7) or proxyless (850, 0.1, 8e-7).
PROXY = {"hidden": 300, "dropoute": 0.0, "weight_decay": 5e-7}
PROXYLESS = {"hidden": 850, "dropoute": 0.1, "weight_decay": 8e-7}
RNN_SETTINGS: dict[str, dict] = {
    "random1": {**PROXY, "epochs": 50, "batch_size": 256, "grad_clip": 0.25},
    "random2": {**PROXY, "epochs": 50, "batch_size": 256, "grad_clip": 0.1},
    "random3": {**PROXY, "epochs": 50, "batch_size": 64, "grad_clip": 0.1},
    "random4": {**PROXYLESS, "epochs": 50, "batch_size": 64, "grad_clip": 0.1},
}


def rnn_setting(name: str, **overrides) -> RnnSearchConfig:
    """A named Table 7 setting, with any field overridden (for smaller-scale presets)."""
    return named_setting(RNN_SETTINGS, RnnSearchConfig, "PTB search", name, overrides)


@dataclass
class RnnSearchResult:
    genotype: RnnGenotype
    perplexity: float
    selection: SelectionResult
    weights_digest: str
    history: list[dict]


class RnnSearch(EpochTrainer):
    """Stage 1 and selection on a corpus for one seed; resumes from `checkpoint_dir` when it can."""

    def __init__(self, config: RnnSearchConfig, corpus: TokenCorpus, seed: int, device: str = "auto") -> None:
        self.config = config
        self.seed = seed
        self.device = select_device(device)
        self.model = RnnLanguageModel(RnnModelConfig.of(corpus.vocab_size, config)).to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.train_data = batchify(corpus.train, config.batch_size).to(self.device)
        self.valid_data = batchify(corpus.valid, config.eval_batch_size).to(self.device)
        self.train_tokens = len(corpus.train)
        self.arch_rng = numpy_generator(seed, TRAIN_ARCH_STREAM)
        self.length_rng = numpy_generator(seed, LENGTH_STREAM)

    def train_epoch(self) -> dict:
        config = self.config
        self.model.train()
        hidden = self.model.init_hidden(config.batch_size)
        steps, loss_sum, tokens = 0, 0.0, 0
        lengths = lambda: search_seq_len(self.length_rng, config.bptt)
        for words, targets in minibatches(self.train_data, lengths, config.max_steps_per_epoch):
            genotype = self.training_genotype()  # a new architecture for every minibatch
            raw_loss, hidden = sgd_step(
                self.model,
                self.optimizer,
                words,
                targets,
                hidden,
                genotype,
                lr=config.lr,
                bptt=config.bptt,
                beta=config.beta,
                grad_clip=config.grad_clip,
            )
            loss_sum += raw_loss * len(words)
            tokens += len(words)
            steps += 1
        return {"train/loss": loss_sum / tokens, "train/ppl": math.exp(loss_sum / tokens), "train/steps": steps}

    def training_genotype(self) -> RnnGenotype:
        """The architecture of the next weight step: uniformly random (a subclass may sample otherwise)."""
        return sample_rnn_genotype(self.arch_rng)

    def train_one_epoch(self, epoch: int) -> dict:
        return self.train_epoch()

    def checkpointed(self) -> tuple[dict, dict]:
        return {"model": self.model, "optimizer": self.optimizer}, {"arch": self.arch_rng, "length": self.length_rng}

    def train(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> list[dict]:
        return self.train_epochs(self.config.epochs, checkpoint_dir, on_epoch)

    def select(self, progress: Callable[[int, int], None] | None = None) -> SelectionResult:
        select_rng = numpy_generator(self.seed, SELECT_ARCH_STREAM)
        config = self.config.selection(self.train_tokens)
        quick_chunks = self.config.quick_batches

        quick_scores: dict[RnnGenotype, float] = {}

        def quick_score(genotype: RnnGenotype) -> float:
            quick_scores[genotype] = -perplexity(self.model, self.valid_data, genotype, self.config.bptt, quick_chunks)
            return quick_scores[genotype]

        def full_score(genotype: RnnGenotype) -> float:
            # with quick_batches 0 the quick score already read the whole split: reuse it
            if quick_chunks == 0:
                return quick_scores[genotype]
            return -perplexity(self.model, self.valid_data, genotype, self.config.bptt)

        return select_architecture(
            config,
            sample=lambda: sample_rnn_genotype(select_rng),
            quick_score=quick_score,
            full_score=full_score,
            describe=RnnGenotype.to_darts,
            progress=progress,
        )

    def run(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> RnnSearchResult:
        history = self.train(checkpoint_dir, on_epoch)
        selection = self.select()
        return RnnSearchResult(
            genotype=selection.best,
            perplexity=-selection.best_score,
            selection=selection,
            weights_digest=state_dict_digest(self.model.state_dict()),
            history=history,
        )


def rnn_arch_count(config: RnnSearchConfig, train_tokens: int = PTB_TRAIN_TOKENS) -> int:
    selection = config.selection(train_tokens)
    return selection.rounds * selection.archs_per_round
