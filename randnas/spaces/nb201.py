"""The NAS-Bench-201 cell space (Dong & Yang 2020): a 4-node cell whose 6 edges (j <- i, i < j) each hold one
of 5 ops; node 0 is the cell's input, node 3 its output, and node j sums its incoming edges.

Two forms: the benchmark's string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (the ops into nodes 1, 2, 3, each
with its source node) and the 6-digit index the benchmark table is keyed by (digit k = the op id of edge k,
edges in the string's order).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from randnas.spaces.common import GenotypeError

NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_NODES = 4
# (target, source) of each edge, in the string's and the index's order
NB201_EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for j in range(1, NB201_NODES) for i in range(j))
NB201_CELLS = len(NB201_OPS) ** len(NB201_EDGES)  # 15,625
MAX_NB201_TEXT = 200
_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


@dataclass(frozen=True)
class Nb201Cell:
    """The op of each of the 6 edges, in `NB201_EDGES` order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != len(NB201_EDGES):
            raise GenotypeError(f"a NAS-Bench-201 cell has {len(NB201_EDGES)} edges, got {len(self.ops)} ops")
        for (target, source), op in zip(NB201_EDGES, self.ops, strict=True):
            if op not in NB201_OPS:
                raise GenotypeError(f"edge {target}<-{source}: unknown op {op!r}; the ops are {', '.join(NB201_OPS)}")

    def to_string(self) -> str:
        nodes = []
        for target in range(1, NB201_NODES):
            edges = [f"{op}~{source}" for (j, source), op in zip(NB201_EDGES, self.ops, strict=True) if j == target]
            nodes.append("|" + "|".join(edges) + "|")
        return "+".join(nodes)

    def to_index(self) -> str:
        return "".join(str(NB201_OPS.index(op)) for op in self.ops)

    def to_darts(self) -> str:
        """The form every genotype prints in (tags, tables): the benchmark's string."""
        return self.to_string()

    def to_dict(self) -> dict[str, Any]:
        return {"space": "nb201", "cell": self.to_string()}

    def edges_into(self, target: int) -> list[tuple[str, int]]:
        return [(op, source) for (j, source), op in zip(NB201_EDGES, self.ops, strict=True) if j == target]

    def __str__(self) -> str:
        return self.to_string()


def parse_nb201_cell(text: str) -> Nb201Cell:
    """Parse `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, with one clear error per problem."""
    if not isinstance(text, str):
        raise GenotypeError(f"a NAS-Bench-201 cell is a string, got {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_NB201_TEXT:
        raise GenotypeError(f"a NAS-Bench-201 cell string is at most {MAX_NB201_TEXT} characters, got {len(text)}")
    nodes = text.split("+")
    if len(nodes) != NB201_NODES - 1:
        raise GenotypeError(f"{text!r}: expected {NB201_NODES - 1} nodes separated by '+', got {len(nodes)}")
    ops = []
    for target, node in enumerate(nodes, 1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise GenotypeError(f"node {target} {node!r}: each node is written |op~source|...|")
        tokens = node[1:-1].split("|")
        if len(tokens) != target:
            raise GenotypeError(f"node {target} {node!r}: it has {target} incoming edge(s), got {len(tokens)}")
        for source, token in enumerate(tokens):
            match = _TOKEN.match(token)
            if not match:
                raise GenotypeError(f"node {target}: {token!r} is not op~source")
            if int(match.group(2)) != source:
                raise GenotypeError(
                    f"node {target}: edge {token!r} must come from node {source} (edges are listed by source, 0 first)"
                )
            ops.append(match.group(1))
    return Nb201Cell(tuple(ops))


def nb201_cell_from_index(index: str) -> Nb201Cell:
    if not (isinstance(index, str) and len(index) == len(NB201_EDGES) and index.isdigit()):
        raise GenotypeError(f"a NAS-Bench-201 index is {len(NB201_EDGES)} digits, got {index!r}")
    if any(int(digit) >= len(NB201_OPS) for digit in index):
        raise GenotypeError(f"index {index!r}: each digit is an op id 0..{len(NB201_OPS) - 1}")
    return Nb201Cell(tuple(NB201_OPS[int(digit)] for digit in index))


def nb201_cell_from_dict(data: dict[str, Any]) -> Nb201Cell:
    if data.get("space") != "nb201" or "cell" not in data:
        raise GenotypeError(f"not a NAS-Bench-201 cell: {data!r}")
    return parse_nb201_cell(data["cell"])


def all_nb201_cells() -> Iterator[Nb201Cell]:
    """Every cell, in index order (000000, 000001, ...)."""
    for ops in product(NB201_OPS, repeat=len(NB201_EDGES)):
        yield Nb201Cell(ops)


def sample_nb201_cell(rng: np.random.Generator) -> Nb201Cell:
    """Uniform over the 15,625 cells: each edge's op uniform and independent."""
    return Nb201Cell(tuple(NB201_OPS[i] for i in rng.choice(len(NB201_OPS), size=len(NB201_EDGES), replace=True)))
