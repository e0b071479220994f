"""CNN ops, the evaluation network and the shared-weight network (single vs dense)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from randnas.nets.cnn import NetworkCIFAR, cell_plans, count_parameters
from randnas.nets.cnn_supernet import SharedCnnNetwork
from randnas.nets.ops import CNN_OP_FACTORIES, drop_path, make_cnn_op
from randnas.spaces.cnn import CNN_OPS, sample_cnn_genotype
from randnas.spaces.named import get_genotype


def test_op_registry_is_the_space():
    assert tuple(CNN_OP_FACTORIES) == CNN_OPS


@pytest.mark.parametrize("name", CNN_OPS)
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_keeps_channels_and_divides_resolution_by_stride(name, stride):
    op = make_cnn_op(name, 8, stride, affine=False)
    out = op(torch.randn(2, 8, 16, 16))
    assert out.shape == (2, 8, 16 // stride, 16 // stride)


def test_unknown_op_lists_the_ops():
    with pytest.raises(KeyError, match="unknown CNN op 'conv'; the ops are none, max_pool_3x3"):
        make_cnn_op("conv", 8, 1, True)


@pytest.mark.parametrize(
    "name, millions",
    [("DARTS_V2", 3.349342), ("DARTS_V1", 3.169414), ("ASHA200", 2.243206)],
)
def test_evaluation_network_parameter_counts(name, millions):
    # DARTS publishes 3.3M for DARTS_V2; the paper's Table 1 lists 2.2M for the ASHA cell
    model = NetworkCIFAR(get_genotype("cnn", name), channels=36, layers=20, auxiliary=True)
    assert count_parameters(model) == round(millions * 1e6)
    assert sum(p.numel() for p in model.parameters()) > count_parameters(model)  # the auxiliary head is excluded


def test_reduction_cells_sit_at_a_third_and_two_thirds():
    plans = cell_plans(36, 20)
    assert [i for i, plan in enumerate(plans) if plan.reduction] == [6, 13]
    assert [plans[i].c for i in (0, 5, 6, 12, 13, 19)] == [36, 36, 72, 72, 144, 144]


@pytest.mark.parametrize("size, in_channels", [(32, 3), (8, 1)])
def test_evaluation_network_output_shapes(size, in_channels):
    model = NetworkCIFAR(get_genotype("cnn", "DARTS_V2"), channels=8, layers=5, in_channels=in_channels)
    model.train()
    model.drop_path_prob = 0.2
    logits, aux = model(torch.randn(3, in_channels, size, size))
    assert logits.shape == (3, 10) and aux.shape == (3, 10)
    model.eval()
    logits, aux = model(torch.randn(3, in_channels, size, size))
    assert logits.shape == (3, 10) and aux is None


@pytest.mark.parametrize("size, in_channels", [(32, 3), (8, 1)])
def test_shared_network_output_shapes(size, in_channels):
    net = SharedCnnNetwork(channels=8, layers=5, in_channels=in_channels)
    genotype = sample_cnn_genotype(np.random.default_rng(0))
    assert net(torch.randn(2, in_channels, size, size), genotype).shape == (2, 10)


@pytest.mark.parametrize("training", [True, False])
def test_single_and_dense_give_the_same_output_for_shared_weights(training):
    torch.manual_seed(0)
    net = SharedCnnNetwork(channels=8, layers=5).train(training)
    rng = np.random.default_rng(1)
    x = torch.randn(4, 3, 32, 32)
    for _ in range(4):
        genotype = sample_cnn_genotype(rng)
        assert torch.equal(net(x, genotype, "single"), net(x, genotype, "dense"))


def selected_and_unselected_params(net, genotype):
    first_cell = net.cells[0]
    op, index = genotype.normal[0]
    edge = first_cell.edges[first_cell.edge_index(0, index)]
    unused = next(name for name in CNN_OPS if name not in ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", op))
    return edge.ops[op], edge.ops[unused], op


def test_single_mode_leaves_unselected_ops_without_gradients_dense_gives_them_zeros():
    torch.manual_seed(0)
    genotype = get_genotype("cnn", "DARTS_V2")  # normal edge 0 is sep_conv_3x3 from input 0
    for mode, expect_grad in (("single", False), ("dense", True)):
        net = SharedCnnNetwork(channels=8, layers=5)
        net(torch.randn(2, 3, 32, 32), genotype, mode).sum().backward()
        chosen, unused, _ = selected_and_unselected_params(net, genotype)
        assert all(p.grad is not None for p in chosen.parameters())
        grads = [p.grad for p in unused.parameters()]
        if expect_grad:
            assert all(g is not None and torch.count_nonzero(g) == 0 for g in grads)
        else:
            assert all(g is None for g in grads)


def test_dense_mode_updates_batchnorm_statistics_of_unselected_ops():
    genotype = get_genotype("cnn", "DARTS_V2")
    for mode, expect_change in (("single", False), ("dense", True)):
        net = SharedCnnNetwork(channels=8, layers=5).train()
        _, unused, _ = selected_and_unselected_params(net, genotype)
        bn = [m for m in unused.modules() if isinstance(m, torch.nn.BatchNorm2d)][-1]
        before = bn.running_mean.clone()
        net(torch.randn(4, 3, 32, 32), genotype, mode)
        assert (not torch.equal(before, bn.running_mean)) == expect_change


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown weight-sharing mode 'sparse'; choose one of single, dense"):
        SharedCnnNetwork(mode="sparse")


def test_drop_path_zeroes_whole_samples_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(4000, 2, 3, 3)
    out = drop_path(x, 0.25)
    per_sample = out.flatten(1)
    assert per_sample[:, 0].unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert bool((per_sample == per_sample[:, :1]).all())
    assert float(out.mean()) == pytest.approx(1.0, abs=0.05)
    assert drop_path(x, 0.0) is x
