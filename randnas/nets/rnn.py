"""The DARTS recurrent cell and language model (reference section 3).

    [c0, h0] = [x_t * x_mask, h_{t-1} * h_mask] @ W0,   s0 = h_{t-1} + sigmoid(c0) * (tanh(h0) - h_{t-1})
    node i:  [c, h] = (s_pred * h_mask) @ W_i,          s_i = s_pred + sigmoid(c) * (f_i(h) - s_pred)
    output:  mean of s_1 .. s_8

Weights are shared per node: W_i serves node i whatever predecessor and activation the genotype gives
it, so the same module is the RSWS search model (a genotype per minibatch) and the evaluation model
(one fixed genotype). The embedding is tied to the decoder; the five dropouts are DARTS' (dropoute on
embedding rows, dropouti and dropout locked over time on inputs and outputs, dropoutx and dropouth on
the cell's x and h). `step` returns what the loss needs for temporal activation regularization.

Speed (the math is unchanged): the input half of W0 is applied to all time steps in one matrix product,
and nodes that read the same predecessor share one matrix product over their stacked weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from randnas.spaces.rnn import RNN_EDGES, RNN_NODES, RNN_SEARCH_OPS, RnnGenotype

# DARTS initialises the cell's matrices and the tied embedding/decoder alike: uniform(-0.04, 0.04)
INIT_RANGE = 0.04

ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda h: h,
}


@dataclass(frozen=True)
class RnnModelConfig:
    """Sizes and dropouts; the defaults are the proxyless (850-unit) evaluation model's."""

    vocab_size: int = 10_000
    hidden: int = 850  # embedding size = hidden size, as DARTS requires
    dropout: float = 0.75
    dropouth: float = 0.25
    dropoutx: float = 0.75
    dropouti: float = 0.2
    dropoute: float = 0.1

    def __post_init__(self) -> None:
        for name in ("dropout", "dropouth", "dropoutx", "dropouti", "dropoute"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.hidden < 1 or self.vocab_size < 2:
            raise ValueError(f"hidden and vocab_size must be positive, got {self.hidden} and {self.vocab_size}")

    @classmethod
    def of(cls, vocab_size: int, settings: Any) -> RnnModelConfig:
        """The model a search or training config describes (its `hidden` and five dropouts)."""
        fields = ("hidden", "dropout", "dropouth", "dropoutx", "dropouti", "dropoute")
        return cls(vocab_size, **{name: getattr(settings, name) for name in fields})


def dropout_mask(reference: torch.Tensor, shape: tuple[int, ...], drop: float) -> torch.Tensor:
    """A Bernoulli keep-mask scaled by 1/keep, from torch's generator on the reference's device."""
    keep = 1.0 - drop
    return reference.new_empty(shape).bernoulli_(keep) / keep


def node_groups(genotype: RnnGenotype) -> list[tuple[int, list[int]]]:
    """Nodes (0-based positions) grouped by predecessor, in the order their predecessor becomes ready."""
    groups: dict[int, list[int]] = {}
    for position, (_, predecessor) in enumerate(genotype.recurrent):
        groups.setdefault(predecessor, []).append(position)
    return sorted(groups.items())


NodeStates = Callable[[torch.Tensor, torch.Tensor | None], list[torch.Tensor]]


class DartsCell(nn.Module):
    """The cell of one genotype; `forward`'s `architecture` is an `RnnGenotype`."""

    def __init__(self, hidden: int, dropouth: float, dropoutx: float) -> None:
        super().__init__()
        self.hidden = hidden
        self.dropouth = dropouth
        self.dropoutx = dropoutx
        self.w0 = nn.Parameter(torch.empty(2 * hidden, 2 * hidden).uniform_(-INIT_RANGE, INIT_RANGE))
        self.ws = nn.Parameter(torch.empty(RNN_NODES, hidden, 2 * hidden).uniform_(-INIT_RANGE, INIT_RANGE))

    def node_states(self, genotype: RnnGenotype) -> NodeStates:
        """(s0, h_mask) -> the states of nodes 1..8 under `genotype`."""
        groups = node_groups(genotype)
        # stacked node weights per predecessor group: (H, 2H * group size)
        group_weights = [
            torch.cat([self.ws[i] for i in nodes], dim=1) if len(nodes) > 1 else self.ws[nodes[0]]
            for _, nodes in groups
        ]
        activations = [ACTIVATIONS[name] for name, _ in genotype.recurrent]

        def states_of(s0: torch.Tensor, h_mask: torch.Tensor | None) -> list[torch.Tensor]:
            states: list[torch.Tensor | None] = [s0] + [None] * RNN_NODES
            for (predecessor, nodes), weights in zip(groups, group_weights, strict=True):
                s_prev = states[predecessor]
                s_in = s_prev * h_mask if h_mask is not None else s_prev
                chunks = (s_in @ weights).split(self.hidden, dim=-1)  # c, h for each node of the group
                for k, position in enumerate(nodes):
                    c, pre = chunks[2 * k], chunks[2 * k + 1]
                    states[position + 1] = s_prev + torch.sigmoid(c) * (activations[position](pre) - s_prev)
            return states[1:]

        return states_of

    def forward(self, inputs: torch.Tensor, h: torch.Tensor, architecture: Any) -> torch.Tensor:
        """inputs (T, B, H), h (B, H) -> hidden states (T, B, H)."""
        steps, batch, _ = inputs.shape
        if self.training:
            x_mask = dropout_mask(inputs, (batch, self.hidden), self.dropoutx)
            h_mask = dropout_mask(inputs, (batch, self.hidden), self.dropouth)
            inputs = inputs * x_mask  # the same mask at every step
        else:
            h_mask = None
        w0_x, w0_h = self.w0[: self.hidden], self.w0[self.hidden :]
        x_part = (inputs.reshape(steps * batch, self.hidden) @ w0_x).view(steps, batch, 2 * self.hidden)
        node_states = self.node_states(architecture)
        outputs = []
        for t in range(steps):
            h_in = h * h_mask if h_mask is not None else h
            c0, h0 = (x_part[t] + h_in @ w0_h).split(self.hidden, dim=-1)
            s0 = h + torch.sigmoid(c0) * (torch.tanh(h0) - h)
            h = torch.stack(node_states(s0, h_mask), dim=0).mean(dim=0)
            outputs.append(h)
        return torch.stack(outputs)


class MixedDartsCell(DartsCell):
    """DARTS' search cell, the continuous relaxation: node i sums, over every predecessor j < i and every
    op, weight (j, op) times the node's update through that op (`none` adds nothing), and s0 and every
    node pass a batch normalisation without affine parameters, as DARTS' search cell does.
    `forward`'s `architecture` is the op weights, (36 edges, 5 ops), edges ordered by node then predecessor."""

    def __init__(self, hidden: int, dropouth: float, dropoutx: float) -> None:
        super().__init__(hidden, dropouth, dropoutx)
        self.bn = nn.BatchNorm1d(hidden, affine=False)

    def node_states(self, op_weights: torch.Tensor) -> NodeStates:
        if tuple(op_weights.shape) != (RNN_EDGES, len(RNN_SEARCH_OPS)):
            raise ValueError(
                f"op weights of shape {tuple(op_weights.shape)}; the relaxed cell needs "
                f"({RNN_EDGES}, {len(RNN_SEARCH_OPS)})"
            )
        functions = [(k, ACTIVATIONS[op]) for k, op in enumerate(RNN_SEARCH_OPS) if op != "none"]

        def states_of(s0: torch.Tensor, h_mask: torch.Tensor | None) -> list[torch.Tensor]:
            states = self.bn(s0).unsqueeze(0)  # (nodes so far, B, H)
            offset = 0
            for node in range(RNN_NODES):
                s_in = states * h_mask if h_mask is not None else states
                c, pre = (s_in @ self.ws[node]).split(self.hidden, dim=-1)  # each (node + 1, B, H)
                c = torch.sigmoid(c)
                weights = op_weights[offset : offset + node + 1]
                s = torch.zeros_like(s0)
                for k, function in functions:
                    update = states + c * (function(pre) - states)
                    s = s + (weights[:, k].view(-1, 1, 1) * update).sum(dim=0)
                states = torch.cat([states, self.bn(s).unsqueeze(0)])
                offset += node + 1
            return list(states[1:])

        return states_of


def embedded_dropout(embedding: nn.Embedding, words: torch.Tensor, drop: float) -> torch.Tensor:
    """Drop whole words: rows of the embedding matrix are zeroed (and the rest rescaled) for this batch."""
    weight = embedding.weight
    if drop > 0:
        weight = weight * dropout_mask(weight, (weight.shape[0], 1), drop)
    return nn.functional.embedding(words, weight)


def locked_dropout(x: torch.Tensor, drop: float) -> torch.Tensor:
    """One mask per sequence, the same at every time step: x (T, B, H)."""
    if drop <= 0:
        return x
    return x * dropout_mask(x, (1, x.shape[1], x.shape[2]), drop)


@dataclass
class LmOutput:
    log_probs: torch.Tensor  # (T, B, V)
    hidden: torch.Tensor  # (B, H): the last state, carried to the next batch
    raw_states: torch.Tensor  # (T, B, H): the cell's states before the output dropout (for TAR)


class RnnLanguageModel(nn.Module):
    """Embedding -> DARTS cell -> tied decoder. The architecture (a genotype) is an argument of `forward`."""

    cell_type: type[DartsCell] = DartsCell

    def __init__(self, config: RnnModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = nn.Embedding(config.vocab_size, config.hidden)
        self.cell = self.cell_type(config.hidden, config.dropouth, config.dropoutx)
        self.decoder = nn.Linear(config.hidden, config.vocab_size)
        nn.init.uniform_(self.encoder.weight, -INIT_RANGE, INIT_RANGE)
        nn.init.zeros_(self.decoder.bias)
        self.decoder.weight = self.encoder.weight  # tied

    def init_hidden(self, batch: int) -> torch.Tensor:
        return self.encoder.weight.new_zeros(batch, self.config.hidden)

    def forward(self, words: torch.Tensor, hidden: torch.Tensor, genotype: Any) -> LmOutput:
        """words (T, B) -> log-probabilities (T, B, V); `genotype` is what the cell takes (an `RnnGenotype`,
        or the op weights for the relaxed cell)."""
        config = self.config
        emb = embedded_dropout(self.encoder, words, config.dropoute if self.training else 0.0)
        emb = locked_dropout(emb, config.dropouti if self.training else 0.0)
        raw = self.cell(emb, hidden, genotype)
        out = locked_dropout(raw, config.dropout if self.training else 0.0)
        logits = self.decoder(out)
        return LmOutput(torch.log_softmax(logits, dim=-1), raw[-1], raw)


class RnnSuperNetwork(RnnLanguageModel):
    """DARTS' recurrent search model: the language model with the relaxed cell; `forward` takes op weights."""

    cell_type = MixedDartsCell


def count_rnn_parameters(model: nn.Module) -> int:
    """Parameters, the tied embedding/decoder matrix counted once."""
    return sum(p.numel() for p in model.parameters())
