"""The recurrent space: DARTS string round trips, validation errors, the uniform sampler."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from randnas.spaces import GenotypeError
from randnas.spaces.named import get_genotype, list_genotypes, resolve_genotype
from randnas.spaces.rnn import (
    RNN_ACTIVATIONS,
    parse_rnn_genotype,
    rnn_genotype,
    rnn_genotype_from_dict,
    sample_rnn_genotype,
)

NAMED = list_genotypes("rnn")


def test_registry_holds_the_released_cells():
    assert NAMED == ["ASHA", "DARTS_V1", "DARTS_V2"]


@pytest.mark.parametrize("name", NAMED)
def test_darts_string_round_trip(name):
    genotype = get_genotype("rnn", name)
    text = genotype.to_darts()
    assert text.endswith("concat=range(1, 9))")
    assert parse_rnn_genotype(text) == genotype
    assert rnn_genotype_from_dict(json.loads(genotype.to_json())) == genotype
    assert resolve_genotype("rnn", text) == genotype


def test_darts_v2_as_printed_by_darts():
    text = (
        "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), "
        "('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))"
    )
    assert parse_rnn_genotype(text) == get_genotype("rnn", "DARTS_V2")


GOOD = list(get_genotype("rnn", "DARTS_V2").recurrent)


@pytest.mark.parametrize(
    "nodes, message",
    [
        (GOOD[:7], "recurrent cell has 7 nodes; the space has 8"),
        (
            [("none", 0)] + GOOD[1:],
            "node 1: unknown activation 'none'; the activations are tanh, relu, sigmoid, identity",
        ),
        (GOOD[:3] + [("relu", 4)] + GOOD[4:], "node 4: predecessor 4 out of range 0..3"),
        (GOOD[:1] + [("relu", -1)] + GOOD[2:], r"node 2: predecessor -1 out of range 0..1"),
        (GOOD[:1] + [("relu", 0.5)] + GOOD[2:], r"recurrent\[1\] must be an \(op name, input index\) pair"),
    ],
)
def test_each_malformed_genotype_gives_its_clear_error(nodes, message):
    with pytest.raises(GenotypeError, match=message) as error:
        rnn_genotype(nodes)
    assert "\n" not in str(error.value)


def test_wrong_concat_and_cnn_strings_are_refused():
    with pytest.raises(GenotypeError, match=r"concat is \[1, 2\]"):
        rnn_genotype(GOOD, concat=[1, 2])
    with pytest.raises(GenotypeError, match="unknown field 'normal'"):
        parse_rnn_genotype(get_genotype("cnn", "DARTS_V2").to_darts())


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(2019)
    return [sample_rnn_genotype(rng) for _ in range(4000)]


def test_sampler_repeats_with_its_generator():
    assert [sample_rnn_genotype(np.random.default_rng(5)) for _ in range(2)] == [
        sample_rnn_genotype(np.random.default_rng(5)) for _ in range(2)
    ]


def test_sampler_activations_uniform_over_four_none_excluded(samples):
    counts = Counter(activation for g in samples for activation, _ in g.recurrent)
    assert set(counts) == set(RNN_ACTIVATIONS)
    assert chisquare([counts[a] for a in RNN_ACTIVATIONS]).pvalue > 1e-3


@pytest.mark.parametrize("node", range(1, 9))
def test_sampler_predecessors_uniform_over_earlier_nodes(samples, node):
    counts = Counter(g.recurrent[node - 1][1] for g in samples)
    assert set(counts) == set(range(node))
    if node > 1:
        assert chisquare([counts[p] for p in range(node)]).pvalue > 1e-3
