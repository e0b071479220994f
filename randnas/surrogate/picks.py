"""This project's picks judged by the surrogate: each representable genotype's predicted accuracy after 98
epochs beside its own stage-2 result, and how well RSWS's shared-weight scores agree with the surrogate over
the scored cells it can represent. Input is plain data (genotype strings and scores), not the record."""

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
    fit = [genotype for genotype, problem in zip(genotypes, problems) if problem is None]
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


PICK_COLUMNS = ["kind", "preset", "genotype_spec", "stage", "run_name", "own result", "genotype", "run_id"]


def picked_cells(record: pd.DataFrame, named: dict[str, str]) -> pd.DataFrame:
    """The CNN cells this project picked, from the record's rows: every trained cell (stage 2 or 3) with its own
    test error, every ASHA search's pick, and the `named` cells (name -> DARTS string)."""
    record = record.reindex(
        columns=sorted(
            {
                *record.columns,
                "experiment",
                "trial",
                "genotype",
                "metric:test/error",
                "metric:best/valid_acc",
                "genotype_spec",
                "stage",
                "preset",
                "run_name",
                "run_id",
            }
        )
    )
    rows = [
        {"kind": "named cell", "genotype_spec": name, "genotype": text, "own result": ""}
        for name, text in named.items()
    ]
    for _, run in record[(record["experiment"] == "cnn/train") & record["genotype"].notna()].iterrows():
        rows.append(
            {
                **run[["preset", "genotype_spec", "stage", "run_name", "genotype", "run_id"]].to_dict(),
                "kind": "trained",
                "own result": f"test error {run['metric:test/error']:.2f} %",
            }
        )
    searches = record[(record["experiment"] == "cnn/asha") & record["trial"].isna() & record["genotype"].notna()]
    for _, run in searches.iterrows():
        rows.append(
            {
                **run[["preset", "run_name", "genotype", "run_id"]].to_dict(),
                "kind": "ASHA pick",
                "genotype_spec": "asha",
                "own result": f"ASHA's best validation accuracy {run['metric:best/valid_acc']:.4f}",
            }
        )
    return pd.DataFrame(rows).reindex(columns=PICK_COLUMNS).fillna("")
