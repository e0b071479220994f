"""The CNN macro skeleton and the evaluation ("proxyless") network for one genotype (reference section 2).

Stem conv 3x3 (in -> 3C) + BN; `layers` cells with reductions at layers//3 and 2*layers//3, where C
doubles; global average pool; linear classifier. The evaluation network adds drop-path on every
non-identity op output during training and an auxiliary head after the second reduction cell.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from randnas.nets.ops import FactorizedReduce, ReLUConvBN, drop_path, make_cnn_op
from randnas.spaces.cnn import CNN_INPUTS, CNN_NODES, CnnGenotype

STEM_MULTIPLIER = 3


@dataclass(frozen=True)
class CellPlan:
    c_prev_prev: int
    c_prev: int
    c: int
    reduction: bool
    reduction_prev: bool


def cell_plans(channels: int, layers: int, multiplier: int = CNN_NODES) -> list[CellPlan]:
    """Channel widths and reduction flags of every cell, shared by the supernet and the evaluation net."""
    if layers < 3:
        raise ValueError(f"a network needs at least 3 cells (two of them reductions), got {layers}")
    c_prev_prev = c_prev = STEM_MULTIPLIER * channels
    c = channels
    plans = []
    reduction_prev = False
    for index in range(layers):
        reduction = index in (layers // 3, 2 * layers // 3)
        if reduction:
            c *= 2
        plans.append(CellPlan(c_prev_prev, c_prev, c, reduction, reduction_prev))
        c_prev_prev, c_prev = c_prev, multiplier * c
        reduction_prev = reduction
    return plans


def make_stem(in_channels: int, channels: int) -> nn.Sequential:
    width = STEM_MULTIPLIER * channels
    return nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))


def make_preprocess(plan: CellPlan, affine: bool) -> tuple[nn.Module, nn.Module]:
    first = (
        FactorizedReduce(plan.c_prev_prev, plan.c, affine)
        if plan.reduction_prev
        else ReLUConvBN(plan.c_prev_prev, plan.c, 1, 1, 0, affine)
    )
    return first, ReLUConvBN(plan.c_prev, plan.c, 1, 1, 0, affine)


def edge_stride(reduction: bool, input_index: int) -> int:
    """In a reduction cell the edges from the two cell inputs halve the resolution."""
    return 2 if reduction and input_index < CNN_INPUTS else 1


class EvalCell(nn.Module):
    def __init__(self, genotype: CnnGenotype, plan: CellPlan) -> None:
        super().__init__()
        self.reduction = plan.reduction
        self.preprocess0, self.preprocess1 = make_preprocess(plan, affine=True)
        edges = genotype.cell(plan.reduction)
        self.inputs = [index for _, index in edges]
        self.concat = list(genotype.reduce_concat if plan.reduction else genotype.normal_concat)
        self.ops = nn.ModuleList(
            make_cnn_op(op, plan.c, edge_stride(plan.reduction, index), True) for op, index in edges
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(CNN_NODES):
            total = None
            for edge in (2 * node, 2 * node + 1):
                op = self.ops[edge]
                h = op(states[self.inputs[edge]])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS' auxiliary classifier, attached after the second reduction cell (8x8 for 32x32 inputs)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False)
        # Inputs smaller than 32x32 (the embedded 8x8 digits) leave a map below 5x5: pool it to 2x2.
        self.small_pool = nn.AdaptiveAvgPool2d(2)
        self.features = nn.Sequential(
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(x)
        x = self.pool(x) if x.shape[-1] >= 5 else self.small_pool(x)
        x = self.features(x)
        return self.classifier(x.flatten(1))


class NetworkCIFAR(nn.Module):
    """The evaluation network of one genotype: C=36, 20 cells at paper scale."""

    def __init__(
        self,
        genotype: CnnGenotype,
        channels: int = 36,
        layers: int = 20,
        num_classes: int = 10,
        auxiliary: bool = True,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.genotype = genotype
        self.drop_path_prob = 0.0  # set per epoch by the trainer (the linear ramp)
        self.stem = make_stem(in_channels, channels)
        plans = cell_plans(channels, layers)
        self.cells = nn.ModuleList(EvalCell(genotype, plan) for plan in plans)
        self.auxiliary_index = 2 * layers // 3
        c_aux = CNN_NODES * plans[self.auxiliary_index].c
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(CNN_NODES * plans[-1].c, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (N, classes), and the auxiliary logits in training mode (else None)."""
        s0 = s1 = self.stem(x)
        logits_aux = None
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if index == self.auxiliary_index and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1)), logits_aux


def count_parameters(model: nn.Module, exclude_prefix: str = "auxiliary_head") -> int:
    """Trainable parameters, without the auxiliary head (as the paper counts them)."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(exclude_prefix))


def forward_macs(
    model: nn.Module,
    image_size: int = 32,
    in_channels: int = 3,
    call: Callable[[nn.Module, torch.Tensor], object] | None = None,
) -> int:
    """Multiply-accumulates of one inference forward pass on one image, counted where they happen:
    every convolution and linear layer, and every pooling window (one per output element and tap).
    `call(model, images)` runs a network whose forward needs more than the images (default: `model(images)`)."""
    total = 0

    def count(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:  # pooling
            size = module.kernel_size
            area = size * size if isinstance(size, int) else size[0] * size[1]
            total += output.numel() * area

    # shapes are all it needs: a copy on the meta device runs the forward pass without computing anything
    shadow = copy.deepcopy(model).to("meta").eval()
    kinds = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d)
    for module in shadow.modules():
        if isinstance(module, kinds):
            module.register_forward_hook(count)
    images = torch.zeros(1, in_channels, image_size, image_size, device="meta")
    with torch.no_grad():
        (call or (lambda network, x: network(x)))(shadow, images)
    return total
