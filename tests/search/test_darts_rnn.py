"""DARTS on the recurrent space: the relaxed cell against the cell it relaxes, the second-order gradient
against finite differences of the unrolled objective, DARTS' clipping of the virtual step, first order as
second order without the unrolled step, discretisation, exact repeat and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from randnas.data import load_corpus
from randnas.nets.rnn import RnnLanguageModel, RnnModelConfig, RnnSuperNetwork
from randnas.repro import seed_everything
from randnas.search.darts import clip_coefficient, first_order_gradient_of, unrolled_gradient, virtual_weights
from randnas.search.darts_rnn import (
    DartsRnnSearch,
    RnnArchitecture,
    darts_rnn_setting,
    derive_rnn_genotype,
    rnn_alpha_metrics,
)
from randnas.spaces.rnn import RNN_EDGES, RNN_NODES, RNN_SEARCH_OPS, RnnGenotype

NO_DROPOUT = {"dropout": 0.0, "dropouth": 0.0, "dropoutx": 0.0, "dropouti": 0.0, "dropoute": 0.0}
CELL = RnnGenotype(
    (("relu", 0), ("tanh", 1), ("sigmoid", 1), ("identity", 0), ("relu", 2), ("tanh", 4), ("sigmoid", 3), ("relu", 6))
)


def edge_index(node: int, predecessor: int) -> int:
    """Row of edge predecessor -> node (nodes 1..8) in the (36, 5) op weights."""
    return sum(range(1, node)) + predecessor


def one_hot(genotype: RnnGenotype) -> torch.Tensor:
    weights = torch.zeros(RNN_EDGES, len(RNN_SEARCH_OPS), dtype=torch.float64)
    for node, (activation, predecessor) in enumerate(genotype.recurrent, start=1):
        weights[edge_index(node, predecessor), RNN_SEARCH_OPS.index(activation)] = 1.0
    return weights


def test_the_relaxed_cell_with_one_hot_weights_is_the_cell_of_that_genotype():
    """With all weight on one genotype's (predecessor, op) pairs and the batch normalisation made the identity
    (eval mode, fresh statistics, eps 0), the relaxed cell computes exactly that genotype's cell."""
    config = RnnModelConfig(vocab_size=50, hidden=12, **NO_DROPOUT)
    torch.manual_seed(0)
    relaxed = RnnSuperNetwork(config).double().eval()
    fixed = RnnLanguageModel(config).double().eval()
    fixed.load_state_dict({k: v for k, v in relaxed.state_dict().items() if not k.startswith("cell.bn.")})
    relaxed.cell.bn.eps = 0.0
    words = torch.randint(0, 50, (7, 3))
    hidden = torch.randn(3, 12, dtype=torch.float64)
    got = relaxed(words, hidden, one_hot(CELL))
    want = fixed(words, hidden, CELL)
    assert torch.allclose(got.log_probs, want.log_probs, rtol=0, atol=1e-12)
    assert torch.allclose(got.hidden, want.hidden, rtol=0, atol=1e-12)
    other = RnnGenotype((("tanh", 0),) * RNN_NODES)
    assert not torch.allclose(relaxed(words, hidden, one_hot(other)).log_probs, want.log_probs)


def test_the_relaxed_cell_refuses_op_weights_of_another_shape():
    net = RnnSuperNetwork(RnnModelConfig(vocab_size=20, hidden=4))
    with pytest.raises(ValueError, match=r"op weights of shape \(14, 8\); the relaxed cell needs \(36, 5\)"):
        net(torch.zeros(2, 1, dtype=torch.long), net.init_hidden(1), torch.zeros(14, 8))


def tiny_problem():
    torch.manual_seed(0)
    net = RnnSuperNetwork(RnnModelConfig(vocab_size=30, hidden=6, **NO_DROPOUT)).double()
    architecture = RnnArchitecture(torch.Generator().manual_seed(1)).double()
    with torch.no_grad():  # alphas far from uniform, so the gradient is not trivially small
        architecture.recurrent.normal_(0.0, 0.5)
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0, weight_decay=5e-7)
    batch = lambda: (torch.randint(0, 30, (5, 4)), torch.randint(0, 30, (5, 4)), torch.randn(4, 6, dtype=torch.float64))
    return net, architecture, optimizer, batch(), batch()


def loss_of(net, architecture, batch, buffers=None):
    """NLL of (words, targets, hidden) with the given weights, on copies of the BN statistics."""
    words, targets, hidden = batch

    def loss(weights):
        state = {**(weights or dict(net.named_parameters())), **{n: b.clone() for n, b in net.named_buffers()}}
        out = functional_call(net, state, (words, hidden, architecture.recurrent.softmax(-1)))
        return nn.functional.nll_loss(out.log_probs.view(-1, out.log_probs.shape[-1]), targets.reshape(-1))

    return loss


def test_the_second_order_gradient_matches_finite_differences_of_the_unrolled_objective():
    net, architecture, optimizer, train, valid = tiny_problem()
    xi = 2.0
    train_loss, valid_loss = loss_of(net, architecture, train), loss_of(net, architecture, valid)
    analytic = unrolled_gradient(net, [architecture.recurrent], train_loss, valid_loss, xi, optimizer, epsilon=1e-6)[0]
    first = first_order_gradient_of(valid_loss, [architecture.recurrent])[0]

    def unrolled_objective() -> float:  # L_valid(w - xi (grad_w L_train + wd w)), written out
        params = dict(net.named_parameters())
        grads = torch.autograd.grad(train_loss(params), list(params.values()))
        ahead = {n: p - xi * (g + 5e-7 * p) for (n, p), g in zip(params.items(), grads, strict=True)}
        return float(valid_loss(ahead).detach())

    rng = np.random.default_rng(0)
    h, gaps = 1e-5, []
    for flat in rng.choice(architecture.recurrent.numel(), size=10, replace=False):
        position = np.unravel_index(flat, architecture.recurrent.shape)
        with torch.no_grad():
            architecture.recurrent[position] += h
        up = unrolled_objective()
        with torch.no_grad():
            architecture.recurrent[position] -= 2 * h
        down = unrolled_objective()
        with torch.no_grad():
            architecture.recurrent[position] += h
        numeric = (up - down) / (2 * h)
        assert float(analytic[position]) == pytest.approx(numeric, rel=2e-3, abs=1e-8)
        gaps.append(abs(numeric - float(first[position])))
    assert max(gaps) > 1e-5  # a first-order gradient passed off as second order would fail above


def test_the_clipped_second_order_gradient_matches_finite_differences_of_the_clipped_unrolled_objective():
    """As the search runs it, with the training gradient clipped (DARTS' RNN architect clips at 0.25): the virtual
    step moves the weights by c grad_w L_train, c the clipping factor, so the second-order term carries c too. Here
    c is well below 1 (a training loss scaled up) while the validation gradient stays within the clip, so the
    unrolled objective, with c held at its value, is exactly what the analytic gradient differentiates."""
    net, architecture, optimizer, train, valid = tiny_problem()
    xi, clip = 2.0, 2.0
    nll = loss_of(net, architecture, train)
    train_loss, valid_loss = (lambda weights: 40.0 * nll(weights)), loss_of(net, architecture, valid)
    params = dict(net.named_parameters())
    c = clip_coefficient(torch.autograd.grad(train_loss(params), list(params.values())), clip)
    ahead, _ = virtual_weights(net, train_loss, xi, optimizer, grad_clip=clip)
    v = torch.autograd.grad(valid_loss(ahead), list(ahead.values()))
    assert c < 0.5 and clip_coefficient(v, clip) == 1.0  # the training gradient is clipped, v is not
    analytic = unrolled_gradient(
        net, [architecture.recurrent], train_loss, valid_loss, xi, optimizer, epsilon=1e-6, grad_clip=clip
    )[0]
    unclipped = unrolled_gradient(net, [architecture.recurrent], train_loss, valid_loss, xi, optimizer, epsilon=1e-6)[0]

    def unrolled_objective() -> float:  # L_valid(w - xi (c grad_w L_train + wd w)), c held at its value
        params = dict(net.named_parameters())
        grads = torch.autograd.grad(train_loss(params), list(params.values()))
        ahead = {n: p - xi * (c * g + 5e-7 * p) for (n, p), g in zip(params.items(), grads, strict=True)}
        return float(valid_loss(ahead).detach())

    rng = np.random.default_rng(1)
    h, gaps = 1e-5, []
    for flat in rng.choice(architecture.recurrent.numel(), size=10, replace=False):
        position = np.unravel_index(flat, architecture.recurrent.shape)
        with torch.no_grad():
            architecture.recurrent[position] += h
        up = unrolled_objective()
        with torch.no_grad():
            architecture.recurrent[position] -= 2 * h
        down = unrolled_objective()
        with torch.no_grad():
            architecture.recurrent[position] += h
        numeric = (up - down) / (2 * h)
        assert float(analytic[position]) == pytest.approx(numeric, rel=2e-3, abs=1e-8)
        gaps.append(abs(numeric - float(unclipped[position])))
    assert max(gaps) > 1e-5  # the term without its clipping factor would fail above


def test_first_order_is_second_order_with_the_unrolled_step_switched_off():
    net, architecture, optimizer, train, valid = tiny_problem()
    train_loss, valid_loss = loss_of(net, architecture, train), loss_of(net, architecture, valid)
    first = first_order_gradient_of(valid_loss, [architecture.recurrent])[0]
    second = unrolled_gradient(net, [architecture.recurrent], train_loss, valid_loss, 0.0, optimizer, grad_clip=0.25)[0]
    assert torch.allclose(first, second, rtol=0, atol=1e-14)


def test_the_virtual_step_clips_the_training_gradient_as_dartss_rnn_architect():
    net, architecture, optimizer, train, _ = tiny_problem()
    optimizer.param_groups[0]["weight_decay"] = 0.0
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    ahead, coefficient = virtual_weights(net, loss_of(net, architecture, train), 0.5, optimizer, grad_clip=1e-3)
    moved = torch.cat([(ahead[n] - before[n]).flatten() for n in before]).norm()
    assert coefficient < 1.0
    assert float(moved.detach()) == pytest.approx(0.5 * 1e-3, rel=1e-4)  # a step of xi times the clipped norm
    _, unclipped = virtual_weights(net, loss_of(net, architecture, train), 0.5, optimizer, grad_clip=1e9)
    assert unclipped == 1.0  # never above 1 (DARTS multiplies by max_norm / norm even when that exceeds 1)


def test_discretisation_takes_each_nodes_strongest_predecessor_and_op_never_none():
    weights = torch.full((RNN_EDGES, len(RNN_SEARCH_OPS)), 0.05)
    weights[:, RNN_SEARCH_OPS.index("none")] = 0.8  # `none` dominates every edge
    for node, (activation, predecessor) in enumerate(CELL.recurrent, start=1):
        weights[edge_index(node, predecessor), RNN_SEARCH_OPS.index(activation)] = 0.15
    assert derive_rnn_genotype(weights) == CELL
    # of equally strong predecessors the earlier one
    weights[edge_index(8, 7), RNN_SEARCH_OPS.index("tanh")] = 0.15
    assert derive_rnn_genotype(weights).recurrent[7] == ("relu", 6)


def test_alpha_metrics_name_every_edge_and_op():
    weights = torch.arange(RNN_EDGES * len(RNN_SEARCH_OPS), dtype=torch.float64).view(RNN_EDGES, -1)
    metrics = rnn_alpha_metrics(weights)
    assert len(metrics) == 36 * 5
    assert metrics["alpha/recurrent/1_0/none"] == 0.0
    assert metrics["alpha/recurrent/8_7/identity"] == float(weights[-1, -1])
    assert metrics["alpha/recurrent/3_1/relu"] == float(weights[edge_index(3, 1), 2])


TINY = {
    "epochs": 2,
    "hidden": 8,
    "batch_size": 8,
    "eval_batch_size": 16,
    "max_eval_chunks": 3,
    "max_steps_per_epoch": 3,
}


@pytest.fixture(scope="module")
def pydoc():
    return load_corpus("pydoc")


def search(corpus, seed, order="second", checkpoint_dir=None, on_epoch=None):
    seed_everything(seed)
    return DartsRnnSearch(darts_rnn_setting(f"darts-{order}", **TINY), corpus, seed, device="cpu").run(
        checkpoint_dir, on_epoch
    )


# second order repeats the same loop with the unrolled step (about a minute on 2 cores): `make test-slow` runs it
@pytest.mark.parametrize("order", ["first", pytest.param("second", marks=pytest.mark.slow)])
def test_the_same_seed_gives_the_same_architecture_and_weights(pydoc, order):
    a, b = search(pydoc, 3, order), search(pydoc, 3, order)
    assert (a.architecture_digest, a.weights_digest, a.genotypes) == (
        b.architecture_digest,
        b.weights_digest,
        b.genotypes,
    )
    assert search(pydoc, 4, order).architecture_digest != a.architecture_digest
    assert len(a.genotypes) == len(a.alphas) == TINY["epochs"]
    assert a.genotype.to_darts() == a.genotypes[-1]
    assert {"train/loss", "valid/ppl", "alpha/recurrent/8_7/relu"} <= set(a.history[-1])


def test_unknown_setting_and_order_are_one_clear_error():
    with pytest.raises(ValueError, match="unknown DARTS order 'third'"):
        darts_rnn_setting("darts-first", order="third")
    with pytest.raises(ValueError, match="darts-first"):
        darts_rnn_setting("random1")
