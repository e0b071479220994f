"""DARTS on the recurrent (PTB) space (Liu et al.; reference section 4b), with the bilevel machinery of
`randnas.search.darts`.

The relaxed cell (`randnas.nets.rnn.MixedDartsCell`) weighs every op, `none` included, on each of the
36 (predecessor, node) edges. Minibatch by minibatch, as DARTS' train_search.py: a sequence length is
drawn as in stage 1 (bptt, or half of it with probability 0.05) and the weight learning rate scaled by
it; one architecture step (Adam, lr 3e-3, wd 1e-3) on the "search data", the validation split batched
like the training split, read at the same position with its own carried state; then one weight step
(SGD lr 20, clip 0.25, TAR) on the training split. The second-order step is DARTS' RNN architect: its
virtual step clips the training gradient and scales the Hessian-vector term by the same factor, and the
vector v is clipped too. After each epoch the cell is derived as DARTS derives it: per node the single
strongest (predecessor, op) pair, `none` excluded.

Departures, each deliberate: the alphas start from their own seeded generator; the clipping factor of
the second-order term is at most 1 (DARTS multiplies by max_norm / norm even when it exceeds 1, which
no clipped step does); the losses of one architecture step (virtual step and both finite differences)
draw the same dropout masks, so the finite difference measures the change of one objective, not of two
noise draws; the virtual step's BN statistics are thrown away.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from randnas.configs import SettingError, named_setting, require_positive
from randnas.data import TokenCorpus
from randnas.nets.rnn import RnnModelConfig, RnnSuperNetwork
from randnas.repro import numpy_generator
from randnas.search.darts import (
    DARTS_SETTINGS,
    ORDERS,
    BilevelSearch,
    WeightsLoss,
    alpha_generator,
    first_order_gradient_of,
    unrolled_gradient,
)
from randnas.search.rnn import search_seq_len
from randnas.spaces.rnn import RNN_EDGES, RNN_NODES, RNN_SEARCH_OPS, RnnGenotype
from randnas.train.lm import LanguageModelSettings, batchify, minibatches, perplexity, sgd_step

LENGTH_STREAM = 3  # as the RSWS search's sequence lengths


@dataclass(frozen=True)
class DartsRnnConfig(LanguageModelSettings):
    """DARTS' recurrent search settings (rnn/train_search.py); the defaults are the paper-scale search."""

    order: str = "second"
    arch_lr: float = 3e-3
    arch_weight_decay: float = 1e-3
    eval_batch_size: int = 10  # DARTS evaluates the relaxed network on the validation split at batch 10
    max_eval_chunks: int = 0  # 0: the whole validation split; a positive cap is for dry runs only

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.order not in ORDERS:
            raise SettingError(f"unknown DARTS order {self.order!r}; choose one of {', '.join(ORDERS)}")
        require_positive(self, "eval_batch_size")


def darts_rnn_setting(name: str, **overrides) -> DartsRnnConfig:
    """DARTS' first- or second-order recurrent setting, with any field overridden (for smaller presets)."""
    return named_setting(DARTS_SETTINGS, DartsRnnConfig, "DARTS PTB search", name, overrides)


class RnnArchitecture(nn.Module):
    """The alphas of the recurrent cell, (36 edges, 5 ops), started at 1e-3 N(0, 1); edges by node, then predecessor."""

    cells = ("recurrent",)

    def __init__(self, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.recurrent = nn.Parameter(1e-3 * torch.randn((RNN_EDGES, len(RNN_SEARCH_OPS)), generator=generator))

    def weights(self) -> tuple[torch.Tensor]:
        return (self.recurrent.softmax(dim=-1),)


def derive_rnn_genotype(weights: torch.Tensor) -> RnnGenotype:
    """DARTS' discretisation: per node the predecessor whose strongest non-`none` op is strongest, with that
    op (of equal ones the earlier predecessor, the earlier op)."""
    none = RNN_SEARCH_OPS.index("none")
    recurrent, start = [], 0
    for node in range(1, RNN_NODES + 1):
        edges = weights[start : start + node].detach().to("cpu", torch.float64).clone()
        edges[:, none] = -1.0  # weights are softmax outputs, so -1 is below any op
        strength = edges.max(dim=1).values
        predecessor = min(range(node), key=lambda j: (-float(strength[j]), j))
        recurrent.append((RNN_SEARCH_OPS[int(edges[predecessor].argmax())], predecessor))
        start += node
    return RnnGenotype(tuple(recurrent))


def rnn_alpha_metrics(weights: torch.Tensor) -> dict[str, float]:
    """Every op weight as a metric, `alpha/recurrent/<node>_<predecessor>/<op>` (nodes 1..8, node 0 = s0)."""
    metrics, edge = {}, 0
    for node in range(1, RNN_NODES + 1):
        for predecessor in range(node):
            for k, op in enumerate(RNN_SEARCH_OPS):
                metrics[f"alpha/recurrent/{node}_{predecessor}/{op}"] = float(weights[edge, k])
            edge += 1
    return metrics


def replay_noise(device: torch.device) -> Callable[[], None]:
    """A function that puts torch's generator for `device` back where it is now, so every loss evaluated
    after it draws the same dropout masks."""
    if device.type == "cuda":
        state = torch.cuda.get_rng_state(device)
        return lambda: torch.cuda.set_rng_state(state, device)
    state = torch.get_rng_state()
    return lambda: torch.set_rng_state(state)


class DartsRnnSearch(BilevelSearch):
    """DARTS' bilevel search on the recurrent space for one seed; `run()` resumes from `checkpoint_dir`."""

    def __init__(self, config: DartsRnnConfig, corpus: TokenCorpus, seed: int, device: str = "auto") -> None:
        net = RnnSuperNetwork(RnnModelConfig.of(corpus.vocab_size, config))
        super().__init__(
            config, device, net, RnnArchitecture(alpha_generator(seed)), derive_rnn_genotype, rnn_alpha_metrics
        )
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.arch_optimizer = torch.optim.Adam(
            self.architecture.parameters(), lr=config.arch_lr, weight_decay=config.arch_weight_decay
        )
        self.train_data = batchify(corpus.train, config.batch_size).to(self.device)
        self.search_data = batchify(corpus.valid, config.batch_size).to(self.device)  # DARTS' "search data"
        self.valid_data = batchify(corpus.valid, config.eval_batch_size).to(self.device)
        self.length_rng = numpy_generator(seed, LENGTH_STREAM)

    def lm_loss(
        self,
        words: torch.Tensor,
        targets: torch.Tensor,
        hidden: torch.Tensor,
        replay: Callable[[], None] | None = None,
        state_out: dict | None = None,
    ) -> WeightsLoss:
        """The NLL of a minibatch under the relaxed cell, as a function of the weights (the architect's loss:
        no TAR); `replay` is called first, `state_out["hidden"]` receives the next state."""

        def loss(weights: dict[str, torch.Tensor] | None) -> torch.Tensor:
            if replay is not None:
                replay()
            (op_weights,) = self.architecture.weights()
            if weights is None:
                out = self.net(words, hidden, op_weights)
            else:  # other weights, on copies of the BN statistics so they do not move
                state = {**weights, **{name: b.clone() for name, b in self.net.named_buffers()}}
                out = functional_call(self.net, state, (words, hidden, op_weights))
            if state_out is not None:
                state_out["hidden"] = out.hidden.detach()
            return nn.functional.nll_loss(out.log_probs.view(-1, out.log_probs.shape[-1]), targets.reshape(-1))

        return loss

    def architecture_step(
        self,
        train: tuple[torch.Tensor, torch.Tensor],
        hidden: torch.Tensor,
        valid: tuple[torch.Tensor, torch.Tensor],
        hidden_valid: torch.Tensor,
        xi: float,
    ) -> torch.Tensor:
        """One Adam step on the alphas; the validation stream's next state."""
        self.net.train()
        state: dict = {}
        valid_loss = self.lm_loss(*valid, hidden_valid, state_out=state)
        alphas = list(self.architecture.parameters())
        if self.config.order == "second":
            train_loss = self.lm_loss(*train, hidden, replay=replay_noise(self.device))
            grads = unrolled_gradient(
                self.net, alphas, train_loss, valid_loss, xi, self.optimizer, grad_clip=self.config.grad_clip
            )
        else:
            grads = first_order_gradient_of(valid_loss, alphas)
        self.apply_architecture_gradient(grads)
        return state["hidden"]

    def search_batch(self, position: int) -> tuple[torch.Tensor, torch.Tensor]:
        """DARTS' architecture minibatch: bptt steps of the search data at the training position (wrapped)."""
        rows = self.search_data.shape[0]
        start = position % (rows - 1)
        length = min(self.config.bptt, rows - 1 - start)
        return self.search_data[start : start + length], self.search_data[start + 1 : start + 1 + length]

    def train_one_epoch(self, epoch: int) -> dict:
        config = self.config
        hidden = self.net.init_hidden(config.batch_size)
        hidden_valid = self.net.init_hidden(config.batch_size)
        position, loss_sum, tokens, steps = 0, 0.0, 0, 0
        lengths = lambda: search_seq_len(self.length_rng, config.bptt)
        for words, targets in minibatches(self.train_data, lengths, config.max_steps_per_epoch):
            xi = config.lr * len(words) / config.bptt  # the scaled learning rate of this weight step
            hidden_valid = self.architecture_step(
                (words, targets), hidden, self.search_batch(position), hidden_valid, xi
            )
            self.net.train()
            with torch.no_grad():
                (op_weights,) = self.architecture.weights()
            raw_loss, hidden = sgd_step(
                self.net,
                self.optimizer,
                words,
                targets,
                hidden,
                op_weights,
                lr=config.lr,
                bptt=config.bptt,
                beta=config.beta,
                grad_clip=config.grad_clip,
            )
            loss_sum, tokens, steps = loss_sum + raw_loss * len(words), tokens + len(words), steps + 1
            position += len(words)
        with torch.no_grad():
            (relaxed,) = self.architecture.weights()
        valid_ppl = perplexity(self.net, self.valid_data, relaxed, config.bptt, config.max_eval_chunks)
        return {
            "train/loss": loss_sum / tokens,
            "train/ppl": math.exp(loss_sum / tokens),
            "train/steps": steps,
            "valid/ppl": valid_ppl,
            **self.record_epoch(),
        }

    def checkpointed(self) -> tuple[dict, dict]:
        modules = {
            "model": self.net,
            "architecture": self.architecture,
            "optimizer": self.optimizer,
            "arch_optimizer": self.arch_optimizer,
        }
        return modules, {"length": self.length_rng}
