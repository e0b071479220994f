"""The CNN ops of the DARTS space (reference section 2), one registry of factories `(C, stride, affine)`."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU, depthwise kxk conv with dilation, 1x1 conv, BN."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int, affine: bool
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two DilConv-like blocks without dilation; only the first depthwise conv is strided."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine),
        )


class Zero(nn.Module):
    """The `none` op: zeros of the output's shape (subsampled when strided)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing pixels: two 1x1 stride-2 convs, the second on the input
    shifted by one pixel, concatenated, then BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


OpFactory = Callable[[int, int, bool], nn.Module]

CNN_OP_FACTORIES: dict[str, OpFactory] = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "skip_connect": lambda C, stride, affine: nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
}


def make_cnn_op(name: str, channels: int, stride: int, affine: bool) -> nn.Module:
    if name not in CNN_OP_FACTORIES:
        raise KeyError(f"unknown CNN op {name!r}; the ops are {', '.join(CNN_OP_FACTORIES)}")
    return CNN_OP_FACTORIES[name](channels, stride, affine)


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of an op's output with probability `drop_prob`, rescaling the kept ones."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = x.new_empty((x.shape[0], 1, 1, 1)).bernoulli_(keep)
    return x * mask / keep
