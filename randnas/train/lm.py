"""Language-model pieces shared by the PTB search (stage 1) and training from scratch (stages 2-3):
DARTS' batch layout, one SGD step with the sequence-length learning-rate scaling, the loss with
temporal activation regularization, and perplexity with the state carried across chunks."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from randnas.configs import require_positive
from randnas.nets.rnn import RnnLanguageModel
from randnas.spaces.rnn import RnnGenotype


@dataclass(frozen=True)
class LanguageModelSettings:
    """What every training of the recurrent language model shares: RSWS's stage 1, DARTS' search and stages 2-3.
    The defaults are the proxy network's (supplement Table 7: 300 units, dropoute 0, weight decay 5e-7) searched for
    50 epochs at batch 256 (DARTS' search, RSWS's Random (1)); a setting changes only what differs."""

    epochs: int = 50
    batch_size: int = 256
    hidden: int = 300
    lr: float = 20.0
    grad_clip: float = 0.25
    weight_decay: float = 5e-7
    bptt: int = 35
    beta: float = 1e-3  # temporal activation regularization
    dropout: float = 0.75
    dropouth: float = 0.25
    dropoutx: float = 0.75
    dropouti: float = 0.2
    dropoute: float = 0.0
    max_steps_per_epoch: int = 0  # 0: the whole training split; a positive cap is for dry runs only

    def __post_init__(self) -> None:
        require_positive(self, "epochs", "batch_size", "hidden", "bptt")


def batchify(stream: torch.Tensor, batch: int) -> torch.Tensor:
    """DARTS' layout: the token stream cut into `batch` columns, (steps, batch); the tail is dropped."""
    rows = stream.numel() // batch
    if rows < 2:
        raise ValueError(f"{stream.numel()} tokens cannot make batches of {batch} columns")
    return stream[: rows * batch].view(batch, rows).t().contiguous()


def lm_loss(
    model: RnnLanguageModel,
    words: torch.Tensor,
    targets: torch.Tensor,
    hidden: torch.Tensor,
    genotype: RnnGenotype,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(training loss with TAR, the plain NLL, the next hidden state)."""
    out = model(words, hidden, genotype)
    raw_loss = nn.functional.nll_loss(out.log_probs.view(-1, out.log_probs.shape[-1]), targets.reshape(-1))
    tar = beta * (out.raw_states[1:] - out.raw_states[:-1]).pow(2).mean() if beta > 0 else 0.0
    return raw_loss + tar, raw_loss, out.hidden


def minibatches(
    data: torch.Tensor, next_length: Callable[[], int], max_steps: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One pass over `data` (steps, batch) in consecutive (words, targets) slices of drawn lengths."""
    position, steps = 0, 0
    while position < data.shape[0] - 2 and not (max_steps and steps >= max_steps):
        length = min(next_length(), data.shape[0] - 1 - position)
        yield data[position : position + length], data[position + 1 : position + 1 + length]
        position += length
        steps += 1


def sgd_step(
    model: RnnLanguageModel,
    optimizer: torch.optim.Optimizer,
    words: torch.Tensor,
    targets: torch.Tensor,
    hidden: torch.Tensor,
    genotype: RnnGenotype,
    *,
    lr: float,
    bptt: int,
    beta: float,
    grad_clip: float,
) -> tuple[float, torch.Tensor]:
    """One step on a minibatch of `len(words)` steps; returns (NLL, the next hidden state, detached).

    The state is carried across minibatches but not back-propagated through, and a shorter sequence
    takes a proportionally smaller step (lr * seq_len / bptt), as released.
    """
    loss, raw_loss, hidden = lm_loss(model, words, targets, hidden.detach(), genotype, beta)
    optimizer.param_groups[0]["lr"] = lr * len(words) / bptt
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.param_groups[0]["lr"] = lr
    return float(raw_loss.detach()), hidden.detach()


@torch.no_grad()
def perplexity(
    model: RnnLanguageModel, batched: torch.Tensor, genotype: RnnGenotype, bptt: int, max_chunks: int = 0
) -> float:
    """exp(mean NLL) over `batched` (steps, batch), read in chunks of `bptt` with the state carried."""
    model.eval()
    hidden = model.init_hidden(batched.shape[1])
    total, tokens = 0.0, 0
    for chunk, start in enumerate(range(0, batched.shape[0] - 1, bptt)):
        if max_chunks and chunk >= max_chunks:
            break
        length = min(bptt, batched.shape[0] - 1 - start)
        words, targets = batched[start : start + length], batched[start + 1 : start + 1 + length]
        out = model(words, hidden, genotype)
        total += float(
            nn.functional.nll_loss(
                out.log_probs.view(-1, out.log_probs.shape[-1]), targets.reshape(-1), reduction="sum"
            )
        )
        tokens += targets.numel()
        hidden = out.hidden
    return math.exp(total / tokens)
