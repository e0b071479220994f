"""The NAS-Bench-201 network: the benchmark's parameter counts, and `single` equal to `dense` on shared weights."""

from __future__ import annotations

import pytest
import torch

from randnas.data.nb201 import _from_package
from randnas.nets.nb201 import Nb201Network, count_nb201_parameters
from randnas.repro import numpy_generator
from randnas.spaces.nb201 import nb201_cell_from_index, sample_nb201_cell


# cells whose every edge reaches the output; the benchmark's size of a cell with a dead edge (e.g. 021210,
# where node 2 feeds only a `none` edge) leaves that edge's weights out, so it is not PyTorch's count
@pytest.mark.parametrize("index", ["000000", "333132", "123412", "222222", "013240", "444444", "311233"])
def test_stand_alone_parameter_counts_match_the_benchmark(index):
    benchmark = _from_package()
    network = Nb201Network(16, 5, cell=nb201_cell_from_index(index))
    assert count_nb201_parameters(network) / 1e6 == pytest.approx(benchmark.lookup(index)["model_size"], abs=1e-6)


def test_output_shape_and_the_stand_alone_network_refuses_another_cell():
    cell = nb201_cell_from_index("333132")
    network = Nb201Network(8, 1, cell=cell)
    assert network(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="computes"):
        network(torch.randn(2, 3, 32, 32), nb201_cell_from_index("000000"))


@pytest.mark.parametrize("training", [False, True])
def test_single_equals_dense_for_shared_weights(training):
    torch.manual_seed(0)
    network = Nb201Network(8, 2, mode="single")
    network.train(training)
    x = torch.randn(4, 3, 16, 16)
    rng = numpy_generator(1)
    for _ in range(5):
        cell = sample_nb201_cell(rng)
        assert torch.allclose(network(x, cell, "single"), network(x, cell, "dense"), atol=1e-6)


def test_single_mode_leaves_unselected_ops_without_gradient():
    network = Nb201Network(8, 1, mode="single")
    cell = nb201_cell_from_index("000300")  # one 3x3 conv on edge 3<-0 (into the output), nothing else
    network(torch.randn(2, 3, 16, 16), cell).sum().backward()
    first = network.layers[0].edges
    assert first[3]["nor_conv_3x3"][1].weight.grad is not None
    assert first[3]["nor_conv_1x1"][1].weight.grad is None and first[0]["nor_conv_3x3"][1].weight.grad is None
