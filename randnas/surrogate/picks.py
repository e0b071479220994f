"""This project's picks judged by the surrogate: each representable genotype's predicted accuracy after 98
epochs beside its own stage-2 result, and how well RSWS's shared-weight scores agree with the surrogate over
the scored cells it can represent. Input is plain data (genotype strings and scores), not the record: which cells
the record picked is `randnas.experiments.surrogate.picked_cells`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from randnas.spaces.cnn import CnnGenotype, parse_cnn_genotype
from randnas.statistics import kendall_interval
from randnas.surrogate.nb301 import LAST_EPOCH, Nb301Surrogate, cell_problem

PREDICTED = f"surrogate: predicted val. accuracy after {LAST_EPOCH} epochs (%)"


def predict_cells(cells: pd.DataFrame, surrogate: Nb301Surrogate) -> pd.DataFrame:
    """`cells` has a `genotype` column of DARTS strings; adds the prediction, or why there is none."""
    genotypes = [parse_cnn_genotype(text) for text in cells["genotype"]]
    problems = [cell_problem(genotype) for genotype in genotypes]
    fit = [genotype for genotype, problem in zip(genotypes, problems, strict=True) if problem is None]
    predicted = iter(100 * surrogate.predict(fit, LAST_EPOCH)["val_accuracy"]) if fit else iter(())
    out = cells.copy()
    out[PREDICTED] = [float(next(predicted)) if problem is None else float("nan") for problem in problems]
    out["not representable because"] = [problem or "" for problem in problems]
    return out


def selection_agreement(scored: Sequence[dict], surrogate: Nb301Surrogate, score: str = "quick_score") -> dict:
    """Kendall tau between shared-weight scores and surrogate predictions over the representable scored cells."""
    genotypes: list[CnnGenotype] = [parse_cnn_genotype(row["genotype"]) for row in scored]
    keep = [i for i, genotype in enumerate(genotypes) if cell_problem(genotype) is None]
    predicted = surrogate.predict([genotypes[i] for i in keep], LAST_EPOCH)["val_accuracy"] if keep else []
    tau = kendall_interval([scored[i][score] for i in keep], list(predicted))
    return {
        "scored": len(scored),
        "representable": len(keep),
        "score": score,
        "kendall_tau": tau.value,
        "tau_low": tau.low,
        "tau_high": tau.high,
        "p_value": tau.p_value,
        "tau": tau.text(2),
    }
