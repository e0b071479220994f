"""DARTS on the CNN space: the second-order gradient against finite differences of the unrolled objective,
first order as second order without the unrolled step, DARTS' discretisation, exact repeat and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from randnas.data import load_image_data
from randnas.nets.cnn_supernet import SharedCnnNetwork
from randnas.repro import seed_everything
from randnas.search.darts import (
    CNN_EDGES,
    CnnArchitecture,
    DartsCnnSearch,
    DartsNb201Search,
    _MixedForward,
    darts_cnn_setting,
    darts_nb201_setting,
    derive_cnn_cell,
    derive_nb201_cell,
    first_order_gradient,
    mixed_loss,
    second_order_gradient,
    virtual_step,
)
from randnas.spaces.cnn import CNN_OPS
from randnas.spaces.nb201 import NB201_EDGES, NB201_OPS


@pytest.fixture(scope="module")
def digits():
    return load_image_data("digits")


TINY = {"epochs": 2, "channels": 2, "layers": 3, "batch_size": 16, "max_steps_per_epoch": 3}


def tiny_problem(dtype=torch.float64):
    torch.manual_seed(0)
    net = SharedCnnNetwork(channels=2, layers=3, num_classes=3, in_channels=1).to(dtype)
    architecture = CnnArchitecture(torch.Generator().manual_seed(1)).to(dtype)
    with torch.no_grad():  # alphas far from uniform, so the gradient is not trivially small
        for alpha in architecture.parameters():
            alpha.normal_(0.0, 0.5)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4)
    batch = lambda n: (torch.randn(n, 1, 8, 8, dtype=dtype), torch.randint(0, 3, (n,)))
    return net, architecture, optimizer, batch(6), batch(6)


def unrolled_objective(net, architecture, train, valid, xi, weight_decay):
    """L_valid(w - xi (grad_w L_train(w, alpha) + wd w), alpha), written out independently of the library
    (no momentum buffer yet), with BN buffers copied so evaluating it changes nothing."""
    wrapper = _MixedForward(net)
    buffers = lambda: {f"net.{n}": b.clone() for n, b in net.named_buffers()}
    normal, reduce = architecture.normal.softmax(-1), architecture.reduce.softmax(-1)
    params = {f"net.{n}": p for n, p in net.named_parameters()}
    train_loss = nn.functional.cross_entropy(
        functional_call(wrapper, {**params, **buffers()}, (train[0], normal, reduce)), train[1]
    )
    grads = torch.autograd.grad(train_loss, list(params.values()))
    ahead = {n: p - xi * (g + weight_decay * p) for (n, p), g in zip(params.items(), grads, strict=True)}
    logits = functional_call(wrapper, {**ahead, **buffers()}, (valid[0], normal, reduce))
    return nn.functional.cross_entropy(logits, valid[1])


def test_the_second_order_gradient_matches_finite_differences_of_the_unrolled_objective():
    net, architecture, optimizer, train, valid = tiny_problem()
    xi = 0.5  # a large virtual step, so the second-order term is far from negligible
    # a small finite-difference step: on this tiny, very curved problem DARTS' 0.01 is coarse (it converges)
    analytic = second_order_gradient(net, architecture, train, valid, xi, optimizer, epsilon=1e-6)
    first = first_order_gradient(net, architecture, valid)
    rng = np.random.default_rng(0)
    h = 1e-5
    checked, second_order_terms = 0, []
    for index, alpha in enumerate(architecture.parameters()):
        for flat in rng.choice(alpha.numel(), size=8, replace=False):
            position = np.unravel_index(flat, alpha.shape)
            with torch.no_grad():
                alpha[position] += h
            up = float(unrolled_objective(net, architecture, train, valid, xi, 3e-4).detach())
            with torch.no_grad():
                alpha[position] -= 2 * h
            down = float(unrolled_objective(net, architecture, train, valid, xi, 3e-4).detach())
            with torch.no_grad():
                alpha[position] += h
            numeric = (up - down) / (2 * h)
            assert float(analytic[index][position]) == pytest.approx(numeric, rel=2e-3, abs=1e-7)
            second_order_terms.append(abs(numeric - float(first[index][position])))
            checked += 1
    assert checked == 16
    assert max(second_order_terms) > 1e-4  # the check would catch a first-order gradient passed off as second


def test_first_order_is_second_order_with_the_unrolled_step_switched_off():
    net, architecture, optimizer, train, valid = tiny_problem()
    second = second_order_gradient(net, architecture, train, valid, 0.0, optimizer)
    first = first_order_gradient(net, architecture, valid)
    for a, b in zip(second, first, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
    unrolled = second_order_gradient(net, architecture, train, valid, 0.5, optimizer)
    assert not torch.allclose(unrolled[0], first[0])


def test_the_second_order_step_leaves_the_weights_exactly_as_they_were():
    net, architecture, optimizer, train, valid = tiny_problem()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    second_order_gradient(net, architecture, train, valid, 0.5, optimizer)
    assert all(torch.equal(before[n], p) for n, p in net.named_parameters())


def hand_set_cell(strongest: dict[tuple[int, int], tuple[str, float]]) -> torch.Tensor:
    """14 x 8 weights: `none` strongest everywhere (0.5), other ops weak, except the given (node, input) edges."""
    weights = torch.full((CNN_EDGES, len(CNN_OPS)), 0.05)
    weights[:, CNN_OPS.index("none")] = 0.5
    start = {0: 0, 1: 2, 2: 5, 3: 9}
    for (node, j), (op, value) in strongest.items():
        weights[start[node] + j, CNN_OPS.index(op)] = value
    return weights


def test_discretisation_takes_the_two_strongest_non_none_edges_per_node():
    weights = hand_set_cell(
        {
            (0, 1): ("sep_conv_3x3", 0.3),
            (0, 0): ("skip_connect", 0.2),
            (1, 2): ("dil_conv_5x5", 0.4),
            (1, 0): ("max_pool_3x3", 0.1),
            (2, 3): ("avg_pool_3x3", 0.25),
            (2, 1): ("sep_conv_5x5", 0.35),
            (3, 4): ("dil_conv_3x3", 0.3),
            (3, 2): ("sep_conv_3x3", 0.29),
        }
    )
    assert derive_cnn_cell(weights) == (
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("dil_conv_5x5", 2),
        ("max_pool_3x3", 0),
        ("sep_conv_5x5", 1),
        ("avg_pool_3x3", 3),
        ("dil_conv_3x3", 4),
        ("sep_conv_3x3", 2),
    )


def test_discretisation_never_chooses_none_even_where_it_dominates():
    weights = torch.full((CNN_EDGES, len(CNN_OPS)), 0.01)
    weights[:, CNN_OPS.index("none")] = 0.93
    assert all(op != "none" for op, _ in derive_cnn_cell(weights))


def search(digits, seed, order="second", checkpoint_dir=None, on_epoch=None):
    seed_everything(seed)
    return DartsCnnSearch(darts_cnn_setting(f"darts-{order}", **TINY), digits, seed, device="cpu").run(
        checkpoint_dir, on_epoch
    )


# second order repeats the same loop with the unrolled step (about a minute on 2 cores): `make test-slow` runs it
@pytest.mark.parametrize("order", ["first", pytest.param("second", marks=pytest.mark.slow)])
def test_the_same_seed_gives_the_same_architecture_and_weights(digits, order):
    a, b = search(digits, 4, order), search(digits, 4, order)
    assert (a.architecture_digest, a.weights_digest, a.genotypes) == (
        b.architecture_digest,
        b.weights_digest,
        b.genotypes,
    )
    assert search(digits, 5, order).architecture_digest != a.architecture_digest
    assert len(a.genotypes) == len(a.alphas) == TINY["epochs"]
    assert all(op != "none" for op, _ in a.genotype.normal + a.genotype.reduce)


def test_unknown_order_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown DARTS order 'third'; choose one of first, second"):
        darts_cnn_setting("darts-first", order="third")


@pytest.mark.parametrize("nesterov", [False, True])
def test_the_virtual_step_is_exactly_the_step_torch_sgd_takes(nesterov):
    net, architecture, _, train, valid = tiny_problem()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4, nesterov=nesterov)
    for batch in (valid, train):  # a step first, so the momentum buffers are not empty
        optimizer.zero_grad()
        mixed_loss(net, architecture, batch).backward()
        optimizer.step()
    ahead = virtual_step(net, architecture, train, 0.1, optimizer)
    optimizer.zero_grad()
    mixed_loss(net, architecture, train).backward()
    optimizer.step()
    for name, weight in net.named_parameters():
        assert torch.allclose(ahead[name], weight, rtol=0, atol=1e-12), name


def test_nb201_discretisation_keeps_each_edges_strongest_op_none_included():
    weights = torch.full((len(NB201_EDGES), len(NB201_OPS)), 0.1)
    for k, op in enumerate(["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none"]):
        weights[k, NB201_OPS.index(op)] = 0.6
    assert derive_nb201_cell(weights).to_string() == (
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    )


def test_darts_on_nas_bench_201_repeats_exactly(digits):
    config = darts_nb201_setting(
        "darts-second", epochs=2, channels=4, cells_per_stage=1, batch_size=16, max_steps_per_epoch=3
    )

    def run():
        seed_everything(2)
        return DartsNb201Search(config, digits, 2, device="cpu").run()

    straight, again = run(), run()
    assert (straight.architecture_digest, straight.weights_digest) == (again.architecture_digest, again.weights_digest)
    assert len(straight.genotypes) == 2 and straight.genotype.to_darts() == straight.genotypes[-1]
