"""The DARTS convolutional cell space (CIFAR-10), reference section 2.

A cell has two inputs (index 0 = c_{k-2}, 1 = c_{k-1}) and four intermediate nodes (indices 2..5).
Each node sums two edges from two distinct earlier states; each edge applies one op. The cell outputs
the channel concat of nodes 2..5. A genotype fixes a normal cell and a reduction cell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from randnas.spaces.common import GenotypeError, edge_list, parse_genotype_call

# The index is the op id, as in DARTS' PRIMITIVES (the sampler draws ids).
CNN_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
CNN_NODES = 4
CNN_INPUTS = 2
CNN_CONCAT: tuple[int, ...] = tuple(range(CNN_INPUTS, CNN_INPUTS + CNN_NODES))
CNN_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")

Edge = tuple[str, int]


@dataclass(frozen=True)
class CnnGenotype:
    """Frozen DARTS genotype: 8 (op, input) pairs per cell, two per node in node order."""

    normal: tuple[Edge, ...]
    reduce: tuple[Edge, ...]
    normal_concat: tuple[int, ...] = CNN_CONCAT
    reduce_concat: tuple[int, ...] = CNN_CONCAT

    def __post_init__(self) -> None:
        validate_cnn_genotype(self)

    def cell(self, reduction: bool) -> tuple[Edge, ...]:
        return self.reduce if reduction else self.normal

    def to_darts(self) -> str:
        """The DARTS text form, `Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])`."""

        def edges(cell: tuple[Edge, ...]) -> str:
            return "[" + ", ".join(f"({op!r}, {index})" for op, index in cell) + "]"

        return (
            f"Genotype(normal={edges(self.normal)}, normal_concat={list(self.normal_concat)}, "
            f"reduce={edges(self.reduce)}, reduce_concat={list(self.reduce_concat)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": "cnn",
            "normal": [list(edge) for edge in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [list(edge) for edge in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.to_darts()


def _cell_problem(name: str, cell: tuple[Edge, ...], concat: tuple[int, ...]) -> str | None:
    if len(cell) != 2 * CNN_NODES:
        return f"{name} cell has {len(cell)} edges; a cell has {2 * CNN_NODES} (two per node)"
    for position, (op, index) in enumerate(cell):
        node = position // 2
        if op not in CNN_OPS:
            return f"{name} edge {position}: unknown op {op!r}; the ops are {', '.join(CNN_OPS)}"
        if not 0 <= index < node + CNN_INPUTS:
            return (
                f"{name} edge {position} (node {node + CNN_INPUTS}): input {index} out of range "
                f"0..{node + CNN_INPUTS - 1}"
            )
    for node in range(CNN_NODES):
        first, second = cell[2 * node][1], cell[2 * node + 1][1]
        if first == second:
            return (
                f"{name} node {node + CNN_INPUTS}: both edges come from input {first}; a node takes two distinct inputs"
            )
    if tuple(concat) != CNN_CONCAT:
        return f"{name}_concat is {list(concat)}; this space concatenates {list(CNN_CONCAT)}"
    return None


def validate_cnn_genotype(genotype: CnnGenotype) -> None:
    for name in ("normal", "reduce"):
        problem = _cell_problem(name, genotype.cell(name == "reduce"), getattr(genotype, f"{name}_concat"))
        if problem:
            raise GenotypeError(problem)


def cnn_genotype(
    normal: Any, reduce: Any, normal_concat: Any = CNN_CONCAT, reduce_concat: Any = CNN_CONCAT
) -> CnnGenotype:
    """Build (and validate) a genotype from lists as written in DARTS' genotypes.py."""
    for name, concat in (("normal_concat", normal_concat), ("reduce_concat", reduce_concat)):
        if not isinstance(concat, (list, tuple, range)) or not all(isinstance(i, int) for i in concat):
            raise GenotypeError(f"{name} must be a list of node indices")
    return CnnGenotype(
        normal=edge_list(normal, "normal"),
        reduce=edge_list(reduce, "reduce"),
        normal_concat=tuple(normal_concat),
        reduce_concat=tuple(reduce_concat),
    )


def parse_cnn_genotype(text: str) -> CnnGenotype:
    """Parse DARTS' `Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)` (no eval)."""
    return cnn_genotype(**parse_genotype_call(text, CNN_FIELDS))


def cnn_genotype_from_dict(data: dict[str, Any]) -> CnnGenotype:
    if data.get("space", "cnn") != "cnn":
        raise GenotypeError(f"not a CNN genotype: space {data.get('space')!r}")
    unknown = set(data) - {"space", *CNN_FIELDS}
    if unknown:
        raise GenotypeError(f"unknown CNN genotype field(s) {sorted(unknown)}")
    return cnn_genotype(**{name: data[name] for name in CNN_FIELDS if name in data})


def sample_cnn_genotype(rng: np.random.Generator, ops: tuple[str, ...] = CNN_OPS) -> CnnGenotype:
    """The uniform sampler as released: for each node, 4 op ids uniform over all 8 (`none` included),
    2 distinct inputs for the normal cell, then 2 for the reduction cell; normal takes ops 0-1, reduce 2-3.
    `ops` narrows the ops drawn from (same draws, fewer choices)."""
    normal: list[Edge] = []
    reduce: list[Edge] = []
    for node in range(CNN_NODES):
        ids = rng.choice(len(ops), size=4, replace=True)
        normal_inputs = rng.choice(node + CNN_INPUTS, size=2, replace=False)
        reduce_inputs = rng.choice(node + CNN_INPUTS, size=2, replace=False)
        normal += [(ops[ids[0]], int(normal_inputs[0])), (ops[ids[1]], int(normal_inputs[1]))]
        reduce += [(ops[ids[2]], int(reduce_inputs[0])), (ops[ids[3]], int(reduce_inputs[1]))]
    return CnnGenotype(normal=tuple(normal), reduce=tuple(reduce))


NONE_FREE_OPS: tuple[str, ...] = tuple(op for op in CNN_OPS if op != "none")


def sample_none_free_cnn_genotype(rng: np.random.Generator) -> CnnGenotype:
    """The uniform sampler over the 7 ops other than `none`: NAS-Bench-301's space, where its surrogate
    can evaluate every draw (only (7/8)^16 = 12 % of the released sampler's cells have no `none`)."""
    return sample_cnn_genotype(rng, NONE_FREE_OPS)
