"""The search spaces by name: one registry (`SPACES`) that the command line, the experiments and the samplers read.

Each space gives its named genotypes, the parser of its text form, the reader of its dict form (a run's
`genotype.json`) and its uniform sampler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from randnas.spaces.cnn import cnn_genotype_from_dict, parse_cnn_genotype, sample_cnn_genotype
from randnas.spaces.common import GenotypeError
from randnas.spaces.named import cnn_named, nb201_named, rnn_named
from randnas.spaces.nb201 import nb201_cell_from_dict, nb201_cell_from_index, parse_nb201_cell, sample_nb201_cell
from randnas.spaces.rnn import parse_rnn_genotype, rnn_genotype_from_dict, sample_rnn_genotype


def _parse_nb201(text: str) -> Any:
    return nb201_cell_from_index(text) if text.isdigit() else parse_nb201_cell(text)


@dataclass(frozen=True)
class Space:
    name: str
    label: str
    named: Callable[[], dict[str, Any]]  # the named genotypes (built on call: nothing runs at import)
    parse: Callable[[str], Any]  # the text form: DARTS' `Genotype(...)`, NAS-Bench-201's string or index
    from_dict: Callable[[dict], Any]  # a run's genotype artifact
    sample: Callable[[np.random.Generator], Any]  # uniformly, as the released code samples


SPACES: dict[str, Space] = {
    "cnn": Space(
        "cnn", "DARTS CNN cell (CIFAR-10)", cnn_named, parse_cnn_genotype, cnn_genotype_from_dict, sample_cnn_genotype
    ),
    "rnn": Space(
        "rnn", "DARTS recurrent cell (PTB)", rnn_named, parse_rnn_genotype, rnn_genotype_from_dict, sample_rnn_genotype
    ),
    "nb201": Space("nb201", "NAS-Bench-201 cell", nb201_named, _parse_nb201, nb201_cell_from_dict, sample_nb201_cell),
}


def get_space(name: str) -> Space:
    if name not in SPACES:
        raise GenotypeError(f"unknown search space {name!r}; choose one of {', '.join(sorted(SPACES))}")
    return SPACES[name]
