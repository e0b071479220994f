"""The CNN space: DARTS string round trips, validation errors, the uniform sampler."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from randnas.spaces import GenotypeError
from randnas.spaces.cnn import (
    CNN_OPS,
    CnnGenotype,
    cnn_genotype,
    cnn_genotype_from_dict,
    parse_cnn_genotype,
    sample_cnn_genotype,
)
from randnas.spaces.named import get_genotype, list_genotypes, resolve_genotype

NAMED = list_genotypes("cnn")


def test_registry_holds_the_released_and_paper_cells():
    assert NAMED == ["ASHA200", "DARTS_V1", "DARTS_V2", "RSWS_FIG3"]


@pytest.mark.parametrize("name", NAMED)
def test_darts_string_round_trip(name):
    genotype = get_genotype("cnn", name)
    text = genotype.to_darts()
    assert parse_cnn_genotype(text) == genotype
    assert parse_cnn_genotype(text).to_darts() == text


@pytest.mark.parametrize("name", NAMED)
def test_json_round_trip(name):
    genotype = get_genotype("cnn", name)
    assert cnn_genotype_from_dict(json.loads(genotype.to_json())) == genotype


def test_parse_accepts_darts_range_concat_as_printed_by_train_search():
    text = get_genotype("cnn", "DARTS_V2").to_darts().replace("[2, 3, 4, 5]", "range(2, 6)")
    assert parse_cnn_genotype(text) == get_genotype("cnn", "DARTS_V2")


def test_parse_never_evaluates_code():
    with pytest.raises(GenotypeError, match="not a literal"):
        parse_cnn_genotype(
            "Genotype(normal=__import__('os').getcwd(), normal_concat=[2], reduce=[], reduce_concat=[2])"
        )


def test_resolve_by_name_or_string():
    v2 = get_genotype("cnn", "DARTS_V2")
    assert resolve_genotype("cnn", "DARTS_V2") is not None and resolve_genotype("cnn", v2.to_darts()) == v2
    with pytest.raises(GenotypeError, match="unknown cnn genotype 'DARTS_V3'; the named ones are ASHA200, DARTS_V1"):
        resolve_genotype("cnn", "DARTS_V3")


GOOD_NORMAL = list(get_genotype("cnn", "DARTS_V2").normal)
GOOD_REDUCE = list(get_genotype("cnn", "DARTS_V2").reduce)


def with_edge(cell, position, edge):
    cell = list(cell)
    cell[position] = edge
    return cell


@pytest.mark.parametrize(
    "normal, reduce, message",
    [
        (
            with_edge(GOOD_NORMAL, 3, ("conv_7x7", 1)),
            GOOD_REDUCE,
            "normal edge 3: unknown op 'conv_7x7'; the ops are none, max_pool_3x3",
        ),
        (
            with_edge(GOOD_NORMAL, 2, ("sep_conv_3x3", 3)),
            GOOD_REDUCE,
            r"normal edge 2 \(node 3\): input 3 out of range 0..2",
        ),
        (
            GOOD_NORMAL,
            with_edge(GOOD_REDUCE, 7, ("skip_connect", -1)),
            r"reduce edge 7 \(node 5\): input -1 out of range 0..4",
        ),
        (with_edge(GOOD_NORMAL, 1, ("sep_conv_3x3", 0)), GOOD_REDUCE, "normal node 2: both edges come from input 0"),
        (GOOD_NORMAL[:7], GOOD_REDUCE, "normal cell has 7 edges; a cell has 8"),
        (GOOD_NORMAL, GOOD_REDUCE + [("none", 0)], "reduce cell has 9 edges"),
        (
            with_edge(GOOD_NORMAL, 0, ("sep_conv_3x3", "0")),
            GOOD_REDUCE,
            r"normal\[0\] must be an \(op name, input index\) pair",
        ),
    ],
)
def test_each_malformed_genotype_gives_its_clear_error(normal, reduce, message):
    with pytest.raises(GenotypeError, match=message) as error:
        cnn_genotype(normal, reduce)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Genotype(normal=[], normal_concat=[2, 3, 4, 5])", "lacks reduce, reduce_concat"),
        (
            "Genotype(normal=[], normal_concat=[2, 3, 4, 5], reduce=[], reduce_concat=[2, 3, 4, 5], extra=1)",
            "unknown field 'extra'",
        ),
        ("Genotype(normal=[('a', 0)", "not a genotype string"),
        ("Genome(normal=[])", r"expected Genotype\(...\)"),
        # bounded before anything is expanded: these would take gigabytes (or never end) if expanded first
        (
            "Genotype(normal=[], normal_concat=range(0, 10000000000), reduce=[], reduce_concat=[2, 3, 4, 5])",
            r"range\(\) spans 10000000000 items; a concat list has at most 64",
        ),
        (
            "Genotype(normal=[], normal_concat=range(0, 9, 0), reduce=[], reduce_concat=[2, 3, 4, 5])",
            "step must not be zero",
        ),
        ("Genotype(normal=[" + "('skip_connect', 0), " * 2000 + "])", "too long"),
    ],
)
def test_malformed_strings_give_clear_errors(text, message):
    with pytest.raises(GenotypeError, match=message):
        parse_cnn_genotype(text)


def test_wrong_concat_is_refused():
    with pytest.raises(GenotypeError, match=r"normal_concat is \[2, 3, 4\]; this space concatenates \[2, 3, 4, 5\]"):
        cnn_genotype(GOOD_NORMAL, GOOD_REDUCE, normal_concat=[2, 3, 4])


def test_sampler_is_driven_only_by_its_generator():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    first = [sample_cnn_genotype(np.random.default_rng(11)) for _ in range(3)]
    assert first == [sample_cnn_genotype(np.random.default_rng(11)) for _ in range(3)]
    assert np.array_equal(np.random.get_state()[1], before)
    assert all(isinstance(g, CnnGenotype) for g in first)


SAMPLES = 4000


@pytest.fixture(scope="module")
def samples() -> list[CnnGenotype]:
    rng = np.random.default_rng(2019)
    return [sample_cnn_genotype(rng) for _ in range(SAMPLES)]


def op_uniformity_pvalue(genotypes: list[CnnGenotype]) -> float:
    """Chi-square p-value of the op counts over all eight ops, on whatever a sampler produced."""
    counts = Counter(op for g in genotypes for op, _ in g.normal + g.reduce)
    return float(chisquare([counts[op] for op in CNN_OPS]).pvalue)


def test_sampler_op_frequencies_are_uniform_over_all_eight_ops(samples):
    assert any(op == "none" for g in samples for op, _ in g.normal)  # the supplement: `none` is in the CNN space
    assert op_uniformity_pvalue(samples) > 1e-3


class SkewedGenerator:
    """A generator whose op draws lean towards the first op ids: what a sampler bug (say, drawing ops
    from a too-small range now and then) would produce; every other draw is the real generator's."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def choice(self, n, size=None, replace=True):
        draws = self.rng.choice(n, size=size, replace=replace)
        if replace and n == len(CNN_OPS) and self.rng.random() < 0.1:
            draws = self.rng.choice(n - 1, size=size, replace=replace)  # `dil_conv_5x5` missed one time in ten
        return draws


@pytest.mark.parametrize("cell", ["normal", "reduce"])
@pytest.mark.parametrize("node", range(4))
def test_sampler_input_pairs_are_uniform_over_distinct_ordered_pairs(samples, cell, node):
    pairs = Counter(tuple(index for _, index in getattr(g, cell)[2 * node : 2 * node + 2]) for g in samples)
    choices = node + 2
    expected_pairs = [(a, b) for a in range(choices) for b in range(choices) if a != b]
    assert set(pairs) == set(expected_pairs)
    assert chisquare([pairs[p] for p in expected_pairs]).pvalue > 1e-3


def test_the_frequency_test_rejects_a_subtly_biased_sampler():
    # the real sampler driven by a skewed generator: the same test, on its real output, rejects it
    skewed = SkewedGenerator(2019)
    biased = [sample_cnn_genotype(skewed) for _ in range(SAMPLES)]
    assert op_uniformity_pvalue(biased) < 1e-3
