"""Search spaces: genotype types, DARTS-string parsing and printing, validation, samplers.

Pure Python and numpy (no torch), so a genotype can travel from a sampler to a network, an MLflow
tag and a book figure unchanged.
"""

from randnas.spaces.common import GenotypeError

__all__ = ["GenotypeError"]
