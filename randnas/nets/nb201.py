"""The NAS-Bench-201 network (Dong & Yang 2020): a 3x3 conv stem, three stages of N cells at C, 2C and 4C
channels joined by residual reduction blocks, BN-ReLU, global pooling and a linear classifier. Cell ops are
ReLU-Conv-BN (1x1, 3x3), 3x3 average pooling, identity and zero; node j sums its edges from every earlier node.

`Nb201Network(cell=...)` is the stand-alone network of one cell (affine BN, only the cell's ops exist), whose
parameter count is the benchmark's model size. `Nb201Network()` without a cell is the shared-weight supernet
(every op on every edge, non-affine BN in the cells); the cell is an argument of `forward`, with the two modes
of the CNN supernet: `single` computes only the cell's ops, `dense` every op weighted one-hot.
"""

from __future__ import annotations

import torch
from torch import nn

from randnas.nets.cnn_supernet import MODES
from randnas.nets.ops import ReLUConvBN, Zero
from randnas.spaces.nb201 import NB201_EDGES, NB201_NODES, NB201_OPS, Nb201Cell


def make_nb201_op(name: str, channels: int, affine: bool) -> nn.Module:
    if name == "none":
        return Zero(1)
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0, affine)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1, affine)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise KeyError(f"unknown NAS-Bench-201 op {name!r}; the ops are {', '.join(NB201_OPS)}")


class ResidualReduction(nn.Module):
    """Between stages: ReLU-Conv(3x3, stride 2)-BN, ReLU-Conv(3x3)-BN, plus an average-pooled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, affine=True)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, affine=True)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class Nb201CellModule(nn.Module):
    """One cell: a fixed cell's ops (stand-alone) or all ops on every edge (shared)."""

    def __init__(self, channels: int, cell: Nb201Cell | None) -> None:
        super().__init__()
        self.fixed = cell
        names = [(op,) for op in cell.ops] if cell is not None else [NB201_OPS] * len(NB201_EDGES)
        affine = cell is not None
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_nb201_op(op, channels, affine) for op in ops}) for ops in names
        )

    def forward(self, x: torch.Tensor, cell: Nb201Cell, mode: str) -> torch.Tensor:
        nodes = [x]
        for target in range(1, NB201_NODES):
            total = torch.zeros_like(x)
            for k, ((j, source), op) in enumerate(zip(NB201_EDGES, cell.ops, strict=True)):
                if j != target:
                    continue
                edge = self.edges[k]
                if mode == "dense":
                    for name, candidate in edge.items():
                        total = total + candidate(nodes[source]) * (1.0 if name == op else 0.0)
                elif op != "none":  # a zero edge adds nothing
                    total = total + edge[op](nodes[source])
            nodes.append(total)
        return nodes[-1]

    def forward_mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """DARTS' relaxation: every edge the sum of its ops times their weights (6 edges x 5 ops, NB201_OPS order)."""
        nodes = [x]
        for target in range(1, NB201_NODES):
            total = torch.zeros_like(x)
            for k, (j, source) in enumerate(NB201_EDGES):
                if j == target:
                    total = total + sum(
                        w * op(nodes[source]) for w, op in zip(weights[k], self.edges[k].values(), strict=True)
                    )
            nodes.append(total)
        return nodes[-1]


class Nb201Network(nn.Module):
    def __init__(
        self,
        channels: int = 16,
        cells_per_stage: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        cell: Nb201Cell | None = None,
        mode: str = "single",
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown weight-sharing mode {mode!r}; choose one of {', '.join(MODES)}")
        self.cell, self.mode = cell, mode
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(Nb201CellModule(c, cell) for _ in range(cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor, cell: Nb201Cell | None = None, mode: str | None = None) -> torch.Tensor:
        cell = cell or self.cell
        if cell is None:
            raise ValueError("the shared-weight network needs the cell to compute: net(x, cell)")
        if self.cell is not None and cell != self.cell:
            raise ValueError(f"this stand-alone network computes {self.cell}, not {cell}")
        mode = mode or self.mode
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h, cell, mode) if isinstance(layer, Nb201CellModule) else layer(h)
        return self.classifier(self.global_pooling(self.lastact(h)).flatten(1))

    def forward_mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The shared-weight network with DARTS' continuous op weights on every edge of every cell."""
        if self.cell is not None:
            raise ValueError("a stand-alone network has one op per edge; DARTS relaxes the shared-weight network")
        h = self.stem(x)
        for layer in self.layers:
            h = layer.forward_mixed(h, weights) if isinstance(layer, Nb201CellModule) else layer(h)
        return self.classifier(self.global_pooling(self.lastact(h)).flatten(1))


def count_nb201_parameters(network: nn.Module) -> int:
    """All parameters, classifier included: the benchmark's model size is this count / 1e6."""
    return sum(p.numel() for p in network.parameters())
