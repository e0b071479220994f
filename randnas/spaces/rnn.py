"""The DARTS recurrent cell space (PTB), reference section 3.

Node 0 is the initial state s0 (computed from x_t and h_{t-1}); nodes 1..8 each take one predecessor
among the earlier nodes and one activation. The cell's output is the mean of nodes 1..8.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from randnas.spaces.common import GenotypeError, edge_list, parse_genotype_call

# DARTS' recurrent PRIMITIVES are none, tanh, relu, sigmoid, identity; `none` only exists for the
# continuous relaxation and no cell can use it, so a genotype picks among these four.
RNN_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")
RNN_NODES = 8
# DARTS' continuous relaxation weighs every op, `none` included, on every (predecessor, node) edge
RNN_SEARCH_OPS: tuple[str, ...] = ("none", *RNN_ACTIVATIONS)
RNN_EDGES = sum(node for node in range(1, RNN_NODES + 1))  # node i reads any of nodes 0..i-1: 36
RNN_CONCAT: tuple[int, ...] = tuple(range(1, RNN_NODES + 1))
RNN_FIELDS = ("recurrent", "concat")


@dataclass(frozen=True)
class RnnGenotype:
    """Frozen DARTS recurrent genotype: 8 (activation, predecessor) pairs, nodes 1..8 in order."""

    recurrent: tuple[tuple[str, int], ...]
    concat: tuple[int, ...] = RNN_CONCAT

    def __post_init__(self) -> None:
        validate_rnn_genotype(self)

    def to_darts(self) -> str:
        nodes = ", ".join(f"({activation!r}, {predecessor})" for activation, predecessor in self.recurrent)
        return f"Genotype(recurrent=[{nodes}], concat=range(1, {RNN_NODES + 1}))"

    def to_dict(self) -> dict[str, Any]:
        return {"space": "rnn", "recurrent": [list(node) for node in self.recurrent], "concat": list(self.concat)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.to_darts()


def validate_rnn_genotype(genotype: RnnGenotype) -> None:
    nodes = genotype.recurrent
    if len(nodes) != RNN_NODES:
        raise GenotypeError(f"recurrent cell has {len(nodes)} nodes; the space has {RNN_NODES}")
    for position, (activation, predecessor) in enumerate(nodes):
        node = position + 1
        if activation not in RNN_ACTIVATIONS:
            raise GenotypeError(
                f"node {node}: unknown activation {activation!r}; the activations are {', '.join(RNN_ACTIVATIONS)}"
            )
        if not 0 <= predecessor < node:
            raise GenotypeError(f"node {node}: predecessor {predecessor} out of range 0..{node - 1}")
    if tuple(genotype.concat) != RNN_CONCAT:
        raise GenotypeError(f"concat is {list(genotype.concat)}; this space averages nodes {list(RNN_CONCAT)}")


def rnn_genotype(recurrent: Any, concat: Any = RNN_CONCAT) -> RnnGenotype:
    if not isinstance(concat, (list, tuple, range)) or not all(isinstance(i, int) for i in concat):
        raise GenotypeError("concat must be a list of node indices")
    return RnnGenotype(recurrent=edge_list(recurrent, "recurrent"), concat=tuple(concat))


def parse_rnn_genotype(text: str) -> RnnGenotype:
    """Parse DARTS' `Genotype(recurrent=[...], concat=range(1, 9))` (no eval)."""
    return rnn_genotype(**parse_genotype_call(text, RNN_FIELDS))


def rnn_genotype_from_dict(data: dict[str, Any]) -> RnnGenotype:
    if data.get("space", "rnn") != "rnn":
        raise GenotypeError(f"not a recurrent genotype: space {data.get('space')!r}")
    unknown = set(data) - {"space", *RNN_FIELDS}
    if unknown:
        raise GenotypeError(f"unknown recurrent genotype field(s) {sorted(unknown)}")
    return rnn_genotype(**{name: data[name] for name in RNN_FIELDS if name in data})


def sample_rnn_genotype(rng: np.random.Generator) -> RnnGenotype:
    """The uniform sampler as released: for node i = 1..8, an activation uniform over the four (`none`
    excluded), then a predecessor uniform over 0..i-1."""
    nodes = []
    for node in range(1, RNN_NODES + 1):
        activation = RNN_ACTIVATIONS[int(rng.integers(len(RNN_ACTIVATIONS)))]
        predecessor = int(rng.integers(node))
        nodes.append((activation, predecessor))
    return RnnGenotype(recurrent=tuple(nodes))
