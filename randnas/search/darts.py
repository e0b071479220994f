"""DARTS on the CNN space (Liu et al.; reference section 4b): the method the paper compares against.

The continuous relaxation puts architecture weights (alphas, 14 edges x 8 ops per cell type) on the
shared-weight supernet (`SharedCnnNetwork.forward_mixed`). Training alternates, minibatch by minibatch,
one architecture step (Adam) on a minibatch of the second half of the training set and one weight step
(SGD) on a minibatch of the first half. The architecture gradient is either first order (the gradient
of the validation loss at the current weights) or second order: the validation loss after one virtual
weight step w' = w - xi (momentum + grad_w L_train + wd w), with xi the current weight learning rate, whose
alpha-gradient subtracts xi times a Hessian-vector product estimated by central finite differences
(epsilon 0.01 / ||grad_w' L_valid||), as DARTS' architect.py does. After each epoch the cell is derived as
DARTS derives it: per node the two incoming edges whose strongest non-`none` op is strongest, each with
that op.

The module runs a little past the package's ~500 lines on purpose: the relaxation, the architect's first- and
second-order steps and the search loop are one algorithm whose second-order gradient spans all three, and the tests
check that formula against architect.py's in one place.

Departures, each deliberate: the alphas start from their own seeded generator rather than the global
one; each epoch pairs one shuffled pass over the weight half with one over the architecture half (DARTS
draws a fresh random architecture minibatch every step), so a run killed after any epoch resumes exactly;
the virtual step's BN statistics are thrown away (DARTS updates a copy's) and the weights are restored
exactly after the finite differences (DARTS adds and subtracts the perturbation, which drifts by rounding).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader

from randnas.configs import SettingError, named_setting, require_positive
from randnas.data import ImageData
from randnas.device import select_device
from randnas.nets.cnn_supernet import SharedCnnNetwork
from randnas.nets.nb201 import Nb201Network
from randnas.repro import numpy_generator, state_dict_digest
from randnas.spaces.cnn import CNN_INPUTS, CNN_NODES, CNN_OPS, CnnGenotype
from randnas.spaces.nb201 import NB201_EDGES, NB201_OPS, Nb201Cell
from randnas.train.loop import EpochCallback, EpochTrainer

ORDERS = ("first", "second")
CNN_EDGES = sum(CNN_INPUTS + node for node in range(CNN_NODES))  # 14
ALPHA_INIT_STREAM = 5  # the alphas' own generator, apart from the searches' other draws
HVP_EPSILON = 0.01


@dataclass(frozen=True)
class DartsConfig:
    """DARTS' bilevel settings (train_search.py); the defaults are the paper-scale second-order CNN search."""

    order: str = "second"
    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_beta1: float = 0.5
    arch_beta2: float = 0.999
    arch_weight_decay: float = 1e-3
    max_steps_per_epoch: int = 0  # 0: one pass over the weight half; a positive cap is for dry runs only

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise SettingError(f"unknown DARTS order {self.order!r}; choose one of {', '.join(ORDERS)}")
        require_positive(self, "epochs", "batch_size")


@dataclass(frozen=True)
class DartsCnnConfig(DartsConfig):
    """DARTS on the CNN space: its supernet of 8 cells with C=16."""

    channels: int = 16
    layers: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "channels")
        if self.layers < 3:
            raise SettingError(f"layers must be at least 3 (two reduction cells and one normal), got {self.layers}")


@dataclass(frozen=True)
class DartsNb201Config(DartsConfig):
    """DARTS on NAS-Bench-201 with the benchmark's own search settings (C=16, N=5, SGD with Nesterov momentum,
    weight decay 5e-4, as its DARTS baselines were run), DARTS' architecture optimiser."""

    weight_decay: float = 5e-4
    nesterov: bool = True
    channels: int = 16
    cells_per_stage: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "channels", "cells_per_stage")


DARTS_SETTINGS: dict[str, dict] = {"darts-first": {"order": "first"}, "darts-second": {"order": "second"}}


def darts_cnn_setting(name: str, **overrides) -> DartsCnnConfig:
    """DARTS' first- or second-order setting, with any field overridden (for smaller-scale presets)."""
    return named_setting(DARTS_SETTINGS, DartsCnnConfig, "DARTS CNN search", name, overrides)


def darts_nb201_setting(name: str, **overrides) -> DartsNb201Config:
    """DARTS' first- or second-order setting on NAS-Bench-201, with any field overridden."""
    return named_setting(DARTS_SETTINGS, DartsNb201Config, "DARTS NAS-Bench-201 search", name, overrides)


class CnnArchitecture(nn.Module):
    """The alphas of the normal and the reduction cell, (14 edges, 8 ops) each, started at 1e-3 N(0, 1)."""

    cells = ("normal", "reduce")

    def __init__(self, generator: torch.Generator | None = None) -> None:
        super().__init__()
        shape = (CNN_EDGES, len(CNN_OPS))
        self.normal = nn.Parameter(1e-3 * torch.randn(shape, generator=generator))
        self.reduce = nn.Parameter(1e-3 * torch.randn(shape, generator=generator))

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The op weights of every edge: softmax over its 8 ops."""
        return self.normal.softmax(dim=-1), self.reduce.softmax(dim=-1)


def derive_cnn_cell(weights: torch.Tensor) -> tuple[tuple[str, int], ...]:
    """DARTS' discretisation of one cell: per node the two incoming edges whose strongest non-`none` op is
    strongest (in that order), each with that op; `none` is never chosen."""
    none = CNN_OPS.index("none")
    cell, start = [], 0
    for node in range(CNN_NODES):
        edges = weights[start : start + CNN_INPUTS + node].detach().to("cpu", torch.float64).clone()
        edges[:, none] = -1.0  # weights are softmax outputs, so -1 is below any op
        strength = edges.max(dim=1).values
        # stable order: of two equally strong edges the earlier input comes first
        chosen = sorted(range(len(edges)), key=lambda j: (-float(strength[j]), j))[:2]
        cell += [(CNN_OPS[int(edges[j].argmax())], j) for j in chosen]
        start += CNN_INPUTS + node
    return tuple(cell)


def derive_cnn_genotype(normal: torch.Tensor, reduce: torch.Tensor) -> CnnGenotype:
    return CnnGenotype(normal=derive_cnn_cell(normal), reduce=derive_cnn_cell(reduce))


class _MixedForward(nn.Module):
    """`net.forward_mixed` as a module's forward, so `torch.func.functional_call` can run it with other weights."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, *op_weights: torch.Tensor) -> torch.Tensor:
        return self.net.forward_mixed(x, *op_weights)


Batch = tuple[torch.Tensor, torch.Tensor]


def mixed_loss(
    net: nn.Module, architecture: nn.Module, batch: Batch, weights: dict[str, torch.Tensor] | None = None
) -> torch.Tensor:
    """Cross-entropy of the relaxed network (`net.forward_mixed(x, *architecture.weights())`); with
    `weights`, computed with those instead of the net's own (its BN buffers are copied first, so the net's
    running statistics do not move)."""
    images, labels = batch
    op_weights = architecture.weights()
    if weights is None:
        logits = net.forward_mixed(images, *op_weights)
    else:
        wrapper = _MixedForward(net)
        state = {f"net.{name}": value for name, value in weights.items()}
        state.update({f"net.{name}": buffer.clone() for name, buffer in net.named_buffers()})
        logits = functional_call(wrapper, state, (images, *op_weights))
    return nn.functional.cross_entropy(logits, labels)


def _grads(loss: torch.Tensor, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, list(tensors), allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads, strict=True)]


WeightsLoss = Callable[[dict[str, torch.Tensor] | None], torch.Tensor]
"""A minibatch's loss with the given weights in place of the net's own (None: the net's own)."""


def clip_coefficient(grads: Sequence[torch.Tensor], max_norm: float | None) -> float:
    """The factor gradient clipping multiplies `grads` by (1 when they are within `max_norm`, or no clipping)."""
    if max_norm is None:
        return 1.0
    norm = float(torch.cat([g.flatten() for g in grads]).norm())
    return min(1.0, max_norm / (norm + 1e-6))


def first_order_gradient_of(valid_loss: WeightsLoss, alphas: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """d L_valid(w, alpha) / d alpha at the current weights."""
    return _grads(valid_loss(None), list(alphas))


def first_order_gradient(net: nn.Module, architecture: nn.Module, valid: Batch) -> list[torch.Tensor]:
    """The CNN's first-order architecture gradient on a validation minibatch."""
    return first_order_gradient_of(
        lambda weights: mixed_loss(net, architecture, valid, weights), architecture.parameters()
    )


def virtual_weights(
    net: nn.Module, train_loss: WeightsLoss, xi: float, optimizer: torch.optim.SGD, grad_clip: float | None = None
) -> tuple[dict[str, torch.Tensor], float]:
    """w' = w - xi (momentum * buffer + c grad_w L_train + weight decay * w): the weights one SGD step ahead,
    and c, the clipping factor of the training gradient (1 without `grad_clip`: DARTS' CNN architect does not
    clip there, its RNN architect does); with Nesterov momentum, torch SGD's step."""
    group = optimizer.param_groups[0]
    momentum, decay, nesterov = group["momentum"], group["weight_decay"], group.get("nesterov", False)
    named = dict(net.named_parameters())
    grads = _grads(train_loss(None), list(named.values()))
    coefficient = clip_coefficient(grads, grad_clip)
    if coefficient != 1.0:
        grads = [g * coefficient for g in grads]
    ahead = {}
    for (name, weight), grad in zip(named.items(), grads, strict=True):
        buffer = optimizer.state.get(weight, {}).get("momentum_buffer")
        moment = momentum * buffer if buffer is not None else torch.zeros_like(weight)
        if nesterov:  # torch: buffer' = momentum buffer + step, update = step + momentum buffer'
            step = grad + decay * weight
            update = step + momentum * (moment + step)
        else:
            update = moment + grad + decay * weight
        ahead[name] = (weight - xi * update).detach().requires_grad_()
    return ahead, coefficient


def virtual_step(
    net: nn.Module, architecture: nn.Module, train: Batch, xi: float, optimizer: torch.optim.SGD
) -> dict[str, torch.Tensor]:
    """The CNN's virtual step (no clipping, as DARTS' architect computes it)."""
    return virtual_weights(net, lambda weights: mixed_loss(net, architecture, train, weights), xi, optimizer)[0]


def unrolled_gradient(
    net: nn.Module,
    alphas: Sequence[torch.Tensor],
    train_loss: WeightsLoss,
    valid_loss: WeightsLoss,
    xi: float,
    optimizer: torch.optim.SGD,
    epsilon: float = HVP_EPSILON,
    grad_clip: float | None = None,
) -> list[torch.Tensor]:
    """DARTS' unrolled architecture gradient: d L_valid(w', alpha) / d alpha - xi c H v, where v is
    grad_w' L_valid(w', alpha) (clipped to `grad_clip` where DARTS clips it, the RNN) and
    H v = d^2 L_train / d alpha d w . v by central differences with the weights moved by `epsilon` in all
    (DARTS: 0.01; the estimate is exact as it goes to 0)."""
    alphas = list(alphas)
    ahead, coefficient = virtual_weights(net, train_loss, xi, optimizer, grad_clip)
    grads = _grads(valid_loss(ahead), alphas + list(ahead.values()))
    direct, v = grads[: len(alphas)], grads[len(alphas) :]
    v_coefficient = clip_coefficient(v, grad_clip)
    if v_coefficient != 1.0:
        v = [g * v_coefficient for g in v]
    norm = torch.cat([g.flatten() for g in v]).norm()
    if xi == 0.0 or float(norm) == 0.0:
        return direct
    step = epsilon / norm
    weights = list(net.parameters())
    saved = [w.detach().clone() for w in weights]
    with torch.no_grad():
        for w, d in zip(weights, v, strict=True):
            w.add_(d, alpha=float(step))
    plus = _grads(train_loss(None), alphas)
    with torch.no_grad():
        for w, s, d in zip(weights, saved, v, strict=True):
            w.copy_(s).sub_(d, alpha=float(step))
    minus = _grads(train_loss(None), alphas)
    with torch.no_grad():
        for w, s in zip(weights, saved, strict=True):
            w.copy_(s)
    scale = xi * coefficient
    return [g - scale * (p - m) / (2 * step) for g, p, m in zip(direct, plus, minus, strict=True)]


def second_order_gradient(
    net: nn.Module,
    architecture: nn.Module,
    train: Batch,
    valid: Batch,
    xi: float,
    optimizer: torch.optim.SGD,
    epsilon: float = HVP_EPSILON,
) -> list[torch.Tensor]:
    """The CNN's unrolled architecture gradient on a training and a validation minibatch."""
    loss_on = lambda batch: lambda weights: mixed_loss(net, architecture, batch, weights)
    return unrolled_gradient(
        net, list(architecture.parameters()), loss_on(train), loss_on(valid), xi, optimizer, epsilon
    )


@dataclass
class DartsResult:
    genotype: Any  # the derived cell after the last epoch
    genotypes: list[str]  # the derived cell after each epoch, DARTS text form
    alphas: list[dict]  # the softmaxed op weights after each epoch, by cell type
    architecture_digest: str
    weights_digest: str
    history: list[dict]


def cnn_alpha_metrics(normal: torch.Tensor, reduce: torch.Tensor) -> dict[str, float]:
    """Every op weight as a metric, `alpha/<cell>/<node>_<input>/<op>` (nodes counted from 2, as in the genotype's
    inputs)."""
    metrics = {}
    for cell, weights in (("normal", normal), ("reduce", reduce)):
        edge = 0
        for node in range(CNN_NODES):
            for j in range(CNN_INPUTS + node):
                for k, op in enumerate(CNN_OPS):
                    metrics[f"alpha/{cell}/{node + CNN_INPUTS}_{j}/{op}"] = float(weights[edge, k])
                edge += 1
    return metrics


class BilevelSearch(EpochTrainer):
    """What every DARTS search shares: the net and the alphas (`architecture`: `weights()` gives the op
    weights, `cells` names them), the derived cell and op weights recorded after each epoch, apply an
    architecture gradient, checkpoint, resume and report. `derive` turns op weights into the space's cell,
    `alpha_metrics` into per-edge metrics; a subclass trains one epoch."""

    def __init__(
        self,
        config,
        device: str,
        net: nn.Module,
        architecture: nn.Module,
        derive: Callable[..., Any],
        alpha_metrics: Callable[..., dict[str, float]],
    ) -> None:
        self.config = config
        self.device = select_device(device)
        self.net = net.to(self.device)
        self.architecture = architecture.to(self.device)
        self.derive, self.alpha_metrics = derive, alpha_metrics
        self.genotypes: list[str] = []
        self.alphas: list[dict] = []

    def apply_architecture_gradient(self, grads: Sequence[torch.Tensor]) -> None:
        self.arch_optimizer.zero_grad(set_to_none=True)
        for alpha, grad in zip(self.architecture.parameters(), grads, strict=True):
            alpha.grad = grad.detach()
        self.arch_optimizer.step()

    def op_weights(self) -> tuple[torch.Tensor, ...]:
        return tuple(w.detach().cpu() for w in self.architecture.weights())

    def record_epoch(self) -> dict[str, float]:
        """Keep this epoch's derived cell and op weights; the op weights as metrics."""
        op_weights = self.op_weights()
        self.genotypes.append(self.derive(*op_weights).to_darts())
        self.alphas.append({cell: w.tolist() for cell, w in zip(self.architecture.cells, op_weights, strict=True)})
        return self.alpha_metrics(*op_weights)

    def extra_state(self) -> dict:
        return {"genotypes": self.genotypes, "alphas": self.alphas}

    def restore_extra_state(self, extra) -> None:
        self.genotypes, self.alphas = list(extra["genotypes"]), list(extra["alphas"])

    def run(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> DartsResult:
        """Search (resuming from `checkpoint_dir` when it holds a checkpoint); the final derived cell."""
        history = self.train_epochs(self.config.epochs, checkpoint_dir, on_epoch)
        return DartsResult(
            genotype=self.derive(*self.op_weights()),
            genotypes=list(self.genotypes),
            alphas=list(self.alphas),
            architecture_digest=state_dict_digest(self.architecture.state_dict()),
            weights_digest=state_dict_digest(self.net.state_dict()),
            history=history,
        )


class DartsSearch(BilevelSearch):
    """DARTS' bilevel search for one seed on an image space whose supernet has `forward_mixed(x, *op_weights)`."""

    def __init__(
        self,
        config,
        data: ImageData,
        device: str,
        net: nn.Module,
        architecture: nn.Module,
        derive: Callable[..., Any],
        alpha_metrics: Callable[..., dict[str, float]],
    ) -> None:
        super().__init__(config, device, net, architecture, derive, alpha_metrics)
        self.optimizer = torch.optim.SGD(
            self.net.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=getattr(config, "nesterov", False),
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, config.epochs, eta_min=config.lr_min
        )
        self.arch_optimizer = torch.optim.Adam(
            self.architecture.parameters(),
            lr=config.arch_lr,
            betas=(config.arch_beta1, config.arch_beta2),
            weight_decay=config.arch_weight_decay,
        )
        # DARTS' search data: the training set's two halves in index order, both augmented, no cutout
        self.train_set = data.dataset("search-train", augment=True)
        self.valid_set = data.dataset("search-valid", augment=True)

    def loader(self, dataset) -> DataLoader:
        # single-process loading: worker processes would break exact reproducibility
        return DataLoader(dataset, batch_size=self.config.batch_size, shuffle=True, num_workers=0)

    def architecture_step(self, train: Batch, valid: Batch, xi: float) -> None:
        self.net.train()
        if self.config.order == "second":
            grads = second_order_gradient(self.net, self.architecture, train, valid, xi, self.optimizer)
        else:
            grads = first_order_gradient(self.net, self.architecture, valid)
        self.apply_architecture_gradient(grads)

    def weight_step(self, train: Batch) -> tuple[float, int]:
        images, labels = train
        with torch.no_grad():
            op_weights = self.architecture.weights()
        logits = self.net.forward_mixed(images, *op_weights)
        loss = nn.functional.cross_entropy(logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return float(loss.detach()), int((logits.argmax(1) == labels).sum())

    def train_one_epoch(self, epoch: int) -> dict:
        lr = self.optimizer.param_groups[0]["lr"]  # xi of the second-order step: the current weight lr
        pairs = zip(self.loader(self.train_set), self.loader(self.valid_set), strict=False)
        if self.config.max_steps_per_epoch:
            pairs = itertools.islice(pairs, self.config.max_steps_per_epoch)
        loss_sum, correct, seen = 0.0, 0, 0
        for (images, labels), (valid_images, valid_labels) in pairs:
            train = images.to(self.device), labels.to(self.device)
            valid = valid_images.to(self.device), valid_labels.to(self.device)
            self.architecture_step(train, valid, lr)  # the architecture first, then the weights, as DARTS does
            loss, hits = self.weight_step(train)
            loss_sum, correct, seen = loss_sum + loss * len(labels), correct + hits, seen + len(labels)
        self.scheduler.step()
        return {"lr": lr, "train/loss": loss_sum / seen, "train/acc": correct / seen, **self.record_epoch()}

    def checkpointed(self) -> tuple[dict, dict]:
        modules = {
            "model": self.net,
            "architecture": self.architecture,
            "optimizer": self.optimizer,
            "arch_optimizer": self.arch_optimizer,
            "scheduler": self.scheduler,
        }
        return modules, {}


def alpha_generator(seed: int) -> torch.Generator:
    """The alphas' own generator, from the run's seed."""
    return torch.Generator().manual_seed(int(numpy_generator(seed, ALPHA_INIT_STREAM).integers(2**62)))


class DartsCnnSearch(DartsSearch):
    """DARTS on the CNN space: the RSWS supernet relaxed, DARTS' discretisation."""

    def __init__(self, config: DartsCnnConfig, data: ImageData, seed: int, device: str = "auto") -> None:
        channels, _, _ = data.image_shape
        net = SharedCnnNetwork(config.channels, config.layers, data.num_classes, channels)
        super().__init__(
            config, data, device, net, CnnArchitecture(alpha_generator(seed)), derive_cnn_genotype, cnn_alpha_metrics
        )


class Nb201Architecture(nn.Module):
    """The alphas of NAS-Bench-201's cell, (6 edges, 5 ops), started at 1e-3 N(0, 1) (one cell type)."""

    cells = ("edges",)

    def __init__(self, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.edges = nn.Parameter(1e-3 * torch.randn((len(NB201_EDGES), len(NB201_OPS)), generator=generator))

    def weights(self) -> tuple[torch.Tensor]:
        return (self.edges.softmax(dim=-1),)


def derive_nb201_cell(weights: torch.Tensor) -> Nb201Cell:
    """NAS-Bench-201's DARTS discretisation: every edge keeps its strongest op, `none` included (a cell whose
    output is cut off is a cell of the benchmark too)."""
    return Nb201Cell(tuple(NB201_OPS[int(row.argmax())] for row in weights.detach().to("cpu", torch.float64)))


def nb201_alpha_metrics(weights: torch.Tensor) -> dict[str, float]:
    """Every op weight as a metric, `alpha/<target>_<source>/<op>`."""
    return {
        f"alpha/{target}_{source}/{op}": float(weights[k, o])
        for k, (target, source) in enumerate(NB201_EDGES)
        for o, op in enumerate(NB201_OPS)
    }


class DartsNb201Search(DartsSearch):
    """DARTS on NAS-Bench-201: the RSWS supernet of the benchmark's cell relaxed; its cell is then looked up."""

    def __init__(self, config: DartsNb201Config, data: ImageData, seed: int, device: str = "auto") -> None:
        channels, _, _ = data.image_shape
        net = Nb201Network(config.channels, config.cells_per_stage, data.num_classes, channels)
        super().__init__(
            config, data, device, net, Nb201Architecture(alpha_generator(seed)), derive_nb201_cell, nb201_alpha_metrics
        )
