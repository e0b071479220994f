"""Stages 2 and 3 on PTB: train one recurrent genotype from scratch as DARTS does (reference section 5).

850 units, batch 64, SGD lr 20, clip 0.25, variable sequence length (mean bptt 35, sometimes half),
the learning rate scaled by seq_len / bptt, dropouts with dropoute 0.1, weight decay 8e-7. Training
starts with SGD and switches to averaged SGD (ASGD, t0=0, lambd=0) once validation loss has not
improved on the best of all but the last `nonmono` epochs. After the switch, validation and test use
the averaged weights (skipping that swap inflates perplexity badly). The best-validation weights are
kept, restored if training produces NaN, and tested at batch 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from randnas.configs import require_positive
from randnas.data import TokenCorpus
from randnas.device import select_device
from randnas.nets.rnn import RnnLanguageModel, RnnModelConfig, count_rnn_parameters
from randnas.repro import numpy_generator, state_dict_digest
from randnas.spaces.rnn import RnnGenotype
from randnas.train.lm import LanguageModelSettings, batchify, minibatches, perplexity, sgd_step
from randnas.train.loop import EpochCallback, EpochTrainer

LENGTH_STREAM = 3


def train_seq_len(rng: np.random.Generator, bptt: int, max_delta: int = 20) -> int:
    """DARTS' variable length: mean bptt (half of it w.p. 0.05), std 5, at least 5, at most bptt + 20."""
    mean = bptt if rng.random() < 0.95 else bptt / 2.0
    return min(max(5, int(rng.normal(mean, 5))), bptt + max_delta)


@dataclass(frozen=True)
class PtbTrainConfig(LanguageModelSettings):
    """The DARTS PTB evaluation protocol; the defaults are stage 2 at paper scale (300 epochs of the proxyless
    850-unit model, dropoute 0.1, weight decay 8e-7, batch 64)."""

    epochs: int = 300
    batch_size: int = 64
    hidden: int = 850
    weight_decay: float = 8e-7
    dropoute: float = 0.1
    max_seq_len_delta: int = 20
    nonmono: int = 5
    switch_below_ppl: float = 0.0  # the released fork: switch to ASGD only once valid ppl < 78 (0 = off)
    asgd_after_epoch: int = 0  # the released ASHA code: no switch to ASGD before epoch 75 (0 = from the start)
    eval_batch_size: int = 10
    test_eval_batch_size: int = 1
    max_eval_chunks: int = 0  # 0: the whole split; a positive cap is for dry runs only

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "nonmono", "eval_batch_size", "test_eval_batch_size")


@contextmanager
def averaged_weights(model: nn.Module, optimizer: torch.optim.Optimizer) -> Iterator[bool]:
    """Swap ASGD's running averages into the model for the block (yields whether it did)."""
    if not isinstance(optimizer, torch.optim.ASGD):
        yield False
        return
    saved = {}
    for param in model.parameters():
        state = optimizer.state.get(param, {})
        if "ax" in state:
            saved[param] = param.detach().clone()
            param.data.copy_(state["ax"])
    try:
        yield True
    finally:
        for param, value in saved.items():
            param.data.copy_(value)


@dataclass
class PtbTrainResult:
    history: list[dict]
    best_valid_ppl: float
    test_ppl: float
    parameters: int
    switched_at: int  # epoch of the switch to ASGD, 0 if it never happened
    weights_digest: str  # of the best-validation weights that were tested


class PtbTrainer(EpochTrainer):
    """One genotype, one seed; `run()` resumes from `checkpoint_dir` when it holds a checkpoint."""

    def __init__(
        self, config: PtbTrainConfig, genotype: RnnGenotype, corpus: TokenCorpus, seed: int, device: str = "auto"
    ) -> None:
        self.config = config
        self.genotype = genotype
        self.device = select_device(device)
        self.model = RnnLanguageModel(RnnModelConfig.of(corpus.vocab_size, config)).to(self.device)
        self.optimizer: torch.optim.Optimizer = self._sgd()
        self.train_data = batchify(corpus.train, config.batch_size).to(self.device)
        self.valid_data = batchify(corpus.valid, config.eval_batch_size).to(self.device)
        self.test_data = batchify(corpus.test, config.test_eval_batch_size).to(self.device)
        self.length_rng = numpy_generator(seed, LENGTH_STREAM)
        self.valid_losses: list[float] = []
        self.best_loss = math.inf
        self.best_state: dict | None = None
        self.switched_at = 0

    def _sgd(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    def _asgd(self) -> torch.optim.Optimizer:
        return torch.optim.ASGD(
            self.model.parameters(), lr=self.config.lr, t0=0, lambd=0.0, weight_decay=self.config.weight_decay
        )

    def train_epoch(self) -> dict:
        config = self.config
        self.model.train()
        hidden = self.model.init_hidden(config.batch_size)
        loss_sum, tokens = 0.0, 0
        lengths = lambda: train_seq_len(self.length_rng, config.bptt, config.max_seq_len_delta)
        for words, targets in minibatches(self.train_data, lengths, config.max_steps_per_epoch):
            raw_loss, hidden = sgd_step(
                self.model,
                self.optimizer,
                words,
                targets,
                hidden,
                self.genotype,
                lr=config.lr,
                bptt=config.bptt,
                beta=config.beta,
                grad_clip=config.grad_clip,
            )
            loss_sum += raw_loss * len(words)
            tokens += len(words)
        return {"train/loss": loss_sum / tokens, "train/ppl": math.exp(min(loss_sum / tokens, 50.0))}

    def evaluate(self, batched: torch.Tensor) -> float:
        """Mean NLL, with ASGD's averages swapped in after the switch."""
        with averaged_weights(self.model, self.optimizer):
            return math.log(
                perplexity(self.model, batched, self.genotype, self.config.bptt, self.config.max_eval_chunks)
            )

    def _end_of_epoch(self, epoch: int, metrics: dict) -> None:
        valid_loss = self.evaluate(self.valid_data)
        if not math.isfinite(valid_loss) and self.best_state is not None:
            # training diverged: go back to the best weights (and a fresh optimizer of the same kind)
            self.model.load_state_dict(self.best_state)
            self.optimizer = self._asgd() if self.switched_at else self._sgd()
            metrics["rolled_back"] = 1.0
            valid_loss = self.evaluate(self.valid_data)
        metrics["valid/loss"] = valid_loss
        metrics["valid/ppl"] = math.exp(valid_loss)
        if valid_loss < self.best_loss:
            self.best_loss = valid_loss
            with averaged_weights(self.model, self.optimizer):
                self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if not self.switched_at and epoch > self.config.asgd_after_epoch and self._should_switch(valid_loss):
            self.optimizer = self._asgd()
            self.switched_at = epoch
        self.valid_losses.append(valid_loss)
        metrics["optimizer/asgd"] = float(bool(self.switched_at))

    def _should_switch(self, valid_loss: float) -> bool:
        history, nonmono = self.valid_losses, self.config.nonmono
        stalled = len(history) > nonmono and valid_loss > min(history[:-nonmono])
        if self.config.switch_below_ppl > 0:
            return stalled and math.exp(valid_loss) < self.config.switch_below_ppl
        return stalled

    def train_one_epoch(self, epoch: int) -> dict:
        metrics = self.train_epoch()
        self._end_of_epoch(epoch, metrics)
        return metrics

    def checkpointed(self) -> tuple[dict, dict]:
        return {"model": self.model, "optimizer": self.optimizer}, {"length": self.length_rng}

    def extra_state(self) -> dict:
        return {
            "valid_losses": self.valid_losses,
            "best_loss": self.best_loss,
            "best_state": self.best_state,
            "switched_at": self.switched_at,
        }

    def restore_extra_state(self, extra) -> None:
        self.valid_losses = list(extra["valid_losses"])
        self.best_loss = extra["best_loss"]
        self.best_state = extra["best_state"]
        self.switched_at = extra["switched_at"]
        if self.switched_at:  # the optimizer's kind (SGD or ASGD) must match before its state is loaded
            self.optimizer = self._asgd()

    def run(
        self,
        checkpoint_dir: Path | None = None,
        on_epoch: EpochCallback | None = None,
        epochs: int | None = None,
        test: bool = True,
    ) -> PtbTrainResult:
        target = self.config.epochs if epochs is None else min(epochs, self.config.epochs)
        history = self.train_epochs(target, checkpoint_dir, on_epoch)
        test_ppl = float("nan")
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        if test:
            test_ppl = perplexity(
                self.model, self.test_data, self.genotype, self.config.bptt, self.config.max_eval_chunks
            )
        return PtbTrainResult(
            history=history,
            best_valid_ppl=math.exp(self.best_loss),
            test_ppl=test_ppl,
            parameters=count_rnn_parameters(self.model),
            switched_at=self.switched_at,
            weights_digest=state_dict_digest(self.model.state_dict()),
        )
