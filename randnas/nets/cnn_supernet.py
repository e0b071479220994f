"""The shared-weight CNN network for random search with weight sharing (reference sections 2 and 4).

Every edge (node i, input j) holds all 8 ops with non-affine BN; pooling ops get an extra non-affine BN,
as in the DARTS supernet. The architecture is an argument of `forward`, so each minibatch can use a
new one. Two modes:

- `single` (default, the paper's section 3.2): only the genotype's ops are computed, so a step costs
  about what one stand-alone network costs, and unselected ops get no gradient, no momentum and no
  weight decay (their `.grad` stays None, which torch's SGD skips);
- `dense` (as released): every op on every edge runs, weighted one-hot, so BN statistics, momentum and
  weight decay also touch unselected ops.

For the same weights and input both modes give the same output: the unselected terms are exact zeros.

DARTS uses the same network with continuous weights (`forward_mixed`): every edge is the softmax-weighted
sum of its 8 ops, every node the sum of all its incoming edges.
"""

from __future__ import annotations

import torch
from torch import nn

from randnas.nets.cnn import cell_plans, edge_stride, make_preprocess, make_stem
from randnas.nets.ops import make_cnn_op
from randnas.spaces.cnn import CNN_INPUTS, CNN_NODES, CNN_OPS, CnnGenotype

MODES = ("single", "dense")


class SharedEdge(nn.Module):
    """All candidate ops of one edge, by name."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        ops = {}
        for name in CNN_OPS:
            op = make_cnn_op(name, channels, stride, affine=False)
            if "pool" in name:
                op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
            ops[name] = op
        self.ops = nn.ModuleDict(ops)

    def forward_dense(self, x: torch.Tensor, selected: str | None) -> torch.Tensor:
        """Every op, weighted one-hot on `selected` (all zero when the edge is not in the genotype)."""
        total = None
        for name, op in self.ops.items():
            weighted = op(x) * (1.0 if name == selected else 0.0)
            total = weighted if total is None else total + weighted
        return total

    def forward_mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """DARTS' mixed op: the sum of every op's output times its weight (`weights` in CNN_OPS order)."""
        return sum(weight * op(x) for weight, op in zip(weights, self.ops.values(), strict=True))


class SharedCell(nn.Module):
    def __init__(self, plan) -> None:
        super().__init__()
        self.reduction = plan.reduction
        self.preprocess0, self.preprocess1 = make_preprocess(plan, affine=False)
        # edge (node, input j) sits at offset(node) + j, as in DARTS: 2 + 3 + 4 + 5 = 14 edges
        self.edges = nn.ModuleList(
            SharedEdge(plan.c, edge_stride(plan.reduction, j))
            for node in range(CNN_NODES)
            for j in range(node + CNN_INPUTS)
        )

    @staticmethod
    def edge_index(node: int, input_index: int) -> int:
        return sum(CNN_INPUTS + k for k in range(node)) + input_index

    def forward(
        self, s0: torch.Tensor, s1: torch.Tensor, cell: tuple[tuple[str, int], ...], concat, mode: str
    ) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(CNN_NODES):
            chosen = {index: op for op, index in cell[2 * node : 2 * node + 2]}
            if mode == "dense":
                total = None
                for j, h in enumerate(states):
                    out = self.edges[self.edge_index(node, j)].forward_dense(h, chosen.get(j))
                    total = out if total is None else total + out
            else:
                total = None
                for j in sorted(chosen):
                    edge = self.edges[self.edge_index(node, j)]
                    out = edge.ops[chosen[j]](states[j])
                    total = out if total is None else total + out
            states.append(total)
        return torch.cat([states[i] for i in concat], dim=1)

    def forward_mixed(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Every edge mixed by `weights` (14 edges x 8 ops, DARTS' edge order); the four nodes concatenated."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(CNN_NODES):
            states.append(
                sum(
                    self.edges[self.edge_index(node, j)].forward_mixed(h, weights[self.edge_index(node, j)])
                    for j, h in enumerate(states)
                )
            )
        return torch.cat(states[CNN_INPUTS:], dim=1)


class SharedCnnNetwork(nn.Module):
    """The search ("proxy") network: C=16 (or 24), 8 cells at paper scale."""

    def __init__(
        self, channels: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3, mode: str = "single"
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown weight-sharing mode {mode!r}; choose one of {', '.join(MODES)}")
        self.mode = mode
        self.stem = make_stem(in_channels, channels)
        plans = cell_plans(channels, layers)
        self.cells = nn.ModuleList(SharedCell(plan) for plan in plans)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(CNN_NODES * plans[-1].c, num_classes)

    def forward(self, x: torch.Tensor, genotype: CnnGenotype, mode: str | None = None) -> torch.Tensor:
        mode = mode or self.mode
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            edges = genotype.cell(cell.reduction)
            concat = genotype.reduce_concat if cell.reduction else genotype.normal_concat
            s0, s1 = s1, cell(s0, s1, edges, concat, mode)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def forward_mixed(self, x: torch.Tensor, normal: torch.Tensor, reduce: torch.Tensor) -> torch.Tensor:
        """DARTS' continuous relaxation: `normal` and `reduce` are (14, 8) op weights (softmaxed alphas)."""
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell.forward_mixed(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(self.global_pooling(s1).flatten(1))
