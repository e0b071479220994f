"""Named genotypes from the paper and the released code (reference section 9), by name."""

from __future__ import annotations

from typing import Any

from randnas.spaces.cnn import CnnGenotype, cnn_genotype
from randnas.spaces.common import GenotypeError
from randnas.spaces.nb201 import Nb201Cell
from randnas.spaces.rnn import RnnGenotype, rnn_genotype


def cnn_named() -> dict[str, CnnGenotype]:
    return {
        "DARTS_V1": cnn_genotype(
            normal=[
                ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0),
                ("skip_connect", 0),
                ("sep_conv_3x3", 1),
                ("skip_connect", 0),
                ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0),
                ("skip_connect", 2),
            ],
            reduce=[
                ("max_pool_3x3", 0),
                ("max_pool_3x3", 1),
                ("skip_connect", 2),
                ("max_pool_3x3", 0),
                ("max_pool_3x3", 0),
                ("skip_connect", 2),
                ("skip_connect", 2),
                ("avg_pool_3x3", 0),
            ],
        ),
        "DARTS_V2": cnn_genotype(
            normal=[
                ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 1),
                ("skip_connect", 0),
                ("skip_connect", 0),
                ("dil_conv_3x3", 2),
            ],
            reduce=[
                ("max_pool_3x3", 0),
                ("max_pool_3x3", 1),
                ("skip_connect", 2),
                ("max_pool_3x3", 1),
                ("max_pool_3x3", 0),
                ("skip_connect", 2),
                ("skip_connect", 2),
                ("max_pool_3x3", 1),
            ],
        ),
        # Found only in the authors' DARTS fork; likely the ASHA CIFAR-10 result.
        "ASHA200": cnn_genotype(
            normal=[
                ("skip_connect", 1),
                ("dil_conv_3x3", 0),
                ("sep_conv_3x3", 1),
                ("skip_connect", 0),
                ("none", 1),
                ("max_pool_3x3", 0),
                ("skip_connect", 1),
                ("dil_conv_3x3", 0),
            ],
            reduce=[
                ("max_pool_3x3", 1),
                ("avg_pool_3x3", 0),
                ("sep_conv_5x5", 1),
                ("skip_connect", 2),
                ("max_pool_3x3", 3),
                ("none", 1),
                ("skip_connect", 0),
                ("sep_conv_5x5", 4),
            ],
        ),
        # The supplement's Figure 3 (the edge order within a node cannot be read off the figure).
        "RSWS_FIG3": cnn_genotype(
            normal=[
                ("sep_conv_5x5", 0),
                ("skip_connect", 1),
                ("sep_conv_3x3", 2),
                ("sep_conv_5x5", 1),
                ("max_pool_3x3", 0),
                ("sep_conv_3x3", 2),
                ("sep_conv_5x5", 2),
                ("sep_conv_3x3", 1),
            ],
            reduce=[
                ("sep_conv_5x5", 0),
                ("dil_conv_3x3", 1),
                ("max_pool_3x3", 0),
                ("avg_pool_3x3", 1),
                ("dil_conv_5x5", 0),
                ("skip_connect", 1),
                ("avg_pool_3x3", 1),
                ("dil_conv_5x5", 4),
            ],
        ),
    }


def rnn_named() -> dict[str, RnnGenotype]:
    return {
        "DARTS_V1": rnn_genotype(
            [("relu", 0), ("relu", 1), ("tanh", 2), ("relu", 3), ("relu", 4), ("identity", 1), ("relu", 5), ("relu", 1)]
        ),
        "DARTS_V2": rnn_genotype(
            [
                ("sigmoid", 0),
                ("relu", 1),
                ("relu", 1),
                ("identity", 1),
                ("tanh", 2),
                ("sigmoid", 5),
                ("tanh", 3),
                ("relu", 5),
            ]
        ),
        # From a third-party port of the authors' code: provenance plausible, not verified.
        "ASHA": rnn_genotype(
            [
                ("relu", 0),
                ("relu", 0),
                ("sigmoid", 0),
                ("tanh", 0),
                ("relu", 1),
                ("tanh", 0),
                ("identity", 5),
                ("sigmoid", 0),
            ]
        ),
    }


def nb201_named() -> dict[str, Nb201Cell]:
    return {}  # the benchmark is indexed instead: a cell is named by its string or its 6-digit index


def list_genotypes(space: str) -> list[str]:
    from randnas.spaces.registry import get_space

    return sorted(get_space(space).named())


def get_genotype(space: str, name: str) -> Any:
    from randnas.spaces.registry import get_space

    named = get_space(space).named()
    if name not in named:
        if not named:
            raise GenotypeError(
                f"unknown {space} genotype {name!r}; write a NAS-Bench-201 cell as "
                "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| or as its 6-digit index"
            )
        raise GenotypeError(f"unknown {space} genotype {name!r}; the named ones are {', '.join(sorted(named))}")
    return named[name]


def resolve_genotype(space: str, name_or_text: str) -> Any:
    """A registered name, or a DARTS `Genotype(...)` string."""
    from randnas.spaces.registry import get_space

    text = name_or_text.strip()
    if text.startswith("Genotype(") or (space == "nb201" and (text.startswith("|") or text.isdigit())):
        return get_space(space).parse(text)
    return get_genotype(space, text)
