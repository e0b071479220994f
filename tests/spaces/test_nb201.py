"""The NAS-Bench-201 space: both text forms round-trip for every cell, the sampler is uniform, errors are clear."""

from __future__ import annotations

import pytest
from scipy import stats

from randnas.repro import numpy_generator
from randnas.spaces.common import GenotypeError
from randnas.spaces.named import resolve_genotype
from randnas.spaces.nb201 import (
    NB201_CELLS,
    NB201_OPS,
    all_nb201_cells,
    nb201_cell_from_dict,
    nb201_cell_from_index,
    parse_nb201_cell,
    sample_nb201_cell,
)


def test_string_and_index_round_trip_for_all_cells():
    seen = set()
    for cell in all_nb201_cells():
        assert parse_nb201_cell(cell.to_string()) == cell
        assert nb201_cell_from_index(cell.to_index()) == cell
        assert nb201_cell_from_dict(cell.to_dict()) == cell
        seen.add(cell.to_index())
    assert len(seen) == NB201_CELLS == 15_625


def test_the_benchmark_string_of_a_known_index():
    # NAS-Bench-201's cifar10-valid optimum, as its table writes it
    cell = nb201_cell_from_index("333132")
    assert (
        cell.to_string()
        == "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    assert resolve_genotype("nb201", "333132") == cell == resolve_genotype("nb201", cell.to_string())


def test_the_sampler_is_uniform_over_ops_and_edges():
    rng = numpy_generator(0)
    counts = [[0] * len(NB201_OPS) for _ in range(6)]
    for _ in range(3000):
        for edge, op in enumerate(sample_nb201_cell(rng).ops):
            counts[edge][NB201_OPS.index(op)] += 1
    for edge_counts in counts:
        assert stats.chisquare(edge_counts).pvalue > 1e-3
    skewed = [600 * 1.3, 600, 600, 600, 600 * 0.7]  # a sampler that favoured `none` would fail the same test
    assert stats.chisquare(skewed).pvalue < 1e-3


@pytest.mark.parametrize(
    "text, message",
    [
        ("|none~0|+|none~0|none~1|", "expected 3 nodes"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 '|none~0|': it has 2 incoming edge"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from node 0"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "each node is written"),
        ("|none-0|+|none~0|none~1|+|none~0|none~1|none~2|", "is not op~source"),
        ("|" * 500, "at most 200 characters"),
    ],
)
def test_bad_cell_strings_say_what_is_wrong(text, message):
    with pytest.raises(GenotypeError, match=message.replace("|", r"\|")):
        parse_nb201_cell(text)


def test_bad_indices_say_what_is_wrong():
    with pytest.raises(GenotypeError, match="6 digits"):
        nb201_cell_from_index("12345")
    with pytest.raises(GenotypeError, match="op id 0..4"):
        nb201_cell_from_index("123456")
