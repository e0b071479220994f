"""ASHA against random search on the NAS-Bench-301 surrogate, and this project's picks at surrogate fidelity
(`surrogate/nb301-asha`). Every accuracy such a run holds is a surrogate prediction, not a training."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from randnas.experiments.base import Record, Run, common, integer, real
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE, TAG_DIGEST
from randnas.record.writer import run_tags, tracked_run

EXPERIMENT = "surrogate/nb301-asha"
ARTIFACTS = {
    "searches": "surrogate/searches.json",  # one row per (method, workers, budget, seed): what it handed over
    "anytime": "surrogate/anytime.json",  # each method's incumbent over GPU-hours, mean and band over seeds
    "comparison": "surrogate/comparison.json",  # per method and budget: mean, interval, paired difference
    "picks": "surrogate/picks.json",  # this project's picked cells, predicted
    "agreement": "surrogate/rsws_agreement.json",  # RSWS's scores against the surrogate, per search
}
DEVICE_WORDS = "cpu (onnxruntime, 1 thread; simulated GPU clock)"


@dataclass(frozen=True, kw_only=True)
class SurrogateRow(Run):
    seeds: int
    first_seed: int
    budgets: tuple[float, ...]  # in full R-epoch DARTS_V2 trainings
    R: int
    budget_unit_hours: float  # one such training, in predicted GPU-hours
    workers: tuple[int, ...]
    etas: tuple[int, ...]


def _numbers(text: str | None) -> tuple:
    return tuple(json.loads(text)) if text and text.startswith("[") else ()


def row(stored: StoredRun) -> SurrogateRow:
    params = stored.params
    return SurrogateRow(
        **common(stored),
        seeds=integer(params.get("seeds"), 0),
        first_seed=integer(params.get("first_seed"), 0),
        budgets=tuple(float(b) for b in _numbers(params.get("budgets"))),
        R=integer(params.get("R"), 0),
        budget_unit_hours=real(params.get("budget_unit_hours")),
        workers=tuple(int(w) for w in _numbers(params.get("workers"))),
        etas=tuple(int(e) for e in _numbers(params.get("etas"))),
    )


def artifact(record: Record, run: SurrogateRow, name: str) -> list[dict]:
    """One of the run's tables (`ARTIFACTS`), as records."""
    return record.reader.json(run.run_id, ARTIFACTS[name])


# ---- what the run reads from the record ------------------------------------------------------------------

PICK_COLUMNS = ["kind", "preset", "genotype_spec", "stage", "run_name", "own result", "genotype", "run_id"]


def picked_cells(record: Record, named: dict[str, str]):
    """The CNN cells this project picked: every trained cell (stage 2 or 3) with its own test error, every ASHA
    search's pick, and the `named` cells (name -> DARTS string)."""
    import pandas as pd

    from randnas.experiments.asha import AshaRow
    from randnas.experiments.train import TrainRow

    rows = [
        {"kind": "named cell", "genotype_spec": name, "genotype": text, "own result": ""}
        for name, text in named.items()
    ]
    for run in record.of(TrainRow, where=lambda run: run.benchmark == "cnn" and bool(run.genotype)):
        rows.append(
            {
                "preset": run.preset,
                "genotype_spec": run.genotype_spec,
                "stage": str(run.stage),
                "run_name": run.run_name,
                "genotype": run.genotype,
                "run_id": run.run_id,
                "kind": "trained",
                "own result": f"test error {run.test_error:.2f} %",
            }
        )
    for run in record.of(AshaRow, where=lambda run: run.benchmark == "cnn" and bool(run.genotype)):
        rows.append(
            {
                "preset": run.preset,
                "run_name": run.run_name,
                "genotype": run.genotype,
                "run_id": run.run_id,
                "kind": "ASHA pick",
                "genotype_spec": "asha",
                "own result": f"ASHA's best validation accuracy {run.best:.4f}",
            }
        )
    return pd.DataFrame(rows).reindex(columns=PICK_COLUMNS).fillna("")


AGREEMENT_COLUMNS = [
    "preset",
    "search",
    "run_id",
    "scored",
    "representable",
    "score",
    "kendall_tau",
    "tau_low",
    "tau_high",
    "p_value",
    "tau",
]


def rsws_agreement(record: Record, surrogate: Any):
    """Per CNN search of the record: Kendall tau between its shared-weight scores and the surrogate's predictions."""
    import pandas as pd

    from randnas.experiments.rsws import SearchRow, scores
    from randnas.surrogate.picks import selection_agreement

    rows = [
        {
            "preset": run.preset,
            "search": run.run_name,
            "run_id": run.run_id,
            **selection_agreement(scores(record, run), surrogate),
        }
        for run in record.of(SearchRow, where=lambda run: run.space == "cnn")
    ]
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


# ---- the run ----------------------------------------------------------------------------------------------


class SurrogateLog:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.run_id = run.run_id

    def finish(self, summary: Any, bands: Any, comparison: Any, picks: Any, agreement: Any, events_dir: Path) -> None:
        tables = {
            "searches": summary,
            "anytime": bands,
            "comparison": comparison,
            "picks": picks,
            "agreement": agreement,
        }
        for name, frame in tables.items():
            self.run.json(frame.to_dict(orient="records"), ARTIFACTS[name])
        self.run.artifact(events_dir, "surrogate")
        representable = int(picks["not representable because"].eq("").sum())
        self.run.metrics({"surrogate/searches": len(summary), "surrogate/picks_representable": representable}, step=0)
        self.run.tags({TAG_DIGEST: hashlib.sha256("".join(summary["digest"]).encode()).hexdigest()})


@contextmanager
def open_run(
    surrogate: Any,
    config: dict,
    *,
    first_seed: int,
    seeds: int,
    preset: str,
    plan_key: str,
    store: Any = None,
    held_lock: str = "",
) -> Iterator[SurrogateLog]:
    tags = run_tags(
        seed=first_seed,
        preset=preset,
        benchmark="nb301-surrogate",
        datasets=[surrogate],
        plan_key=plan_key,
        extra={TAG_DEVICE: DEVICE_WORDS},
    )
    with tracked_run(
        EXPERIMENT, f"surrogate-asha-{seeds}seeds", tags=tags, config=config, store=store, held_lock=held_lock
    ) as run:
        yield SurrogateLog(run)
