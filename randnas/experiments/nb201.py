"""Random search with weight sharing on NAS-Bench-201, every scored cell looked up in the benchmark
(`nb201/rsws`), and the best of N random cells drawn from the benchmark itself (`nb201/best-of-n`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from randnas.experiments.base import (
    GENOTYPE_ARTIFACT,
    TAG_GENOTYPE,
    TAG_MODE,
    TAG_PRECISION,
    Record,
    Run,
    common,
    integer,
)
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE, TAG_DIGEST, TAG_REPEAT
from randnas.record.writer import run_tags, tracked_run

SEARCH_EXPERIMENT = "nb201/rsws"
BEST_OF_N_EXPERIMENT = "nb201/best-of-n"
SCORED_ARTIFACT = "nb201/scored.json"
BEST_OF_N_ARTIFACT = "best_of_n.json"
SCORE_COLUMN = "score_epoch_{}"  # a scored cell's shared-weight score after that epoch


@dataclass(frozen=True, kw_only=True)
class Nb201SearchRow(Run):
    """One RSWS search on NAS-Bench-201 and how it scored its cells."""

    mode: str  # single (the paper's algorithm) or dense (the released code's supernet)
    batch_size: int
    scored_cells: int
    score_epochs: tuple[int, ...]  # the epochs after which every scored cell was scored (the last always)
    score_minibatches: int  # validation minibatches per scored cell (0: the whole split)
    score_batch: int  # > 0: each cell scored on its own random batch of this many images (the rsps setting)
    setting: str  # project (this project's) or rsps (NAS-Bench-201's own RSPS)
    genotype: str


def search_row(stored: StoredRun) -> Nb201SearchRow:
    params = stored.params
    epochs = integer(params.get("epochs"), 50)
    listed = json.loads(params["score_epochs"]) if params.get("score_epochs", "").startswith("[") else []
    return Nb201SearchRow(
        **common(stored),
        mode=params.get("mode", "single"),
        batch_size=integer(params.get("batch_size"), 64),
        scored_cells=integer(params.get("scored_cells"), 100),
        score_epochs=tuple(sorted({int(e) for e in listed} | {epochs})),
        score_minibatches=integer(params.get("score_minibatches"), 0),
        score_batch=integer(params.get("score_batch"), 0),
        setting=params.get("setting", "project"),
        genotype=stored.tags.get(TAG_GENOTYPE, ""),
    )


def scored(record: Record, run: Nb201SearchRow) -> list[dict]:
    """Every scored cell: its index, string, NAS-Bench-201 accuracy and its score after each scoring epoch."""
    return record.reader.json(run.run_id, SCORED_ARTIFACT)


@dataclass(frozen=True, kw_only=True)
class BestOfNRow(Run):
    repeats: int


def best_of_n_row(stored: StoredRun) -> BestOfNRow:
    return BestOfNRow(**common(stored), repeats=integer(stored.params.get("repeats"), 0))


def best_of_n_summary(record: Record, run: BestOfNRow) -> list[dict]:
    return record.reader.json(run.run_id, BEST_OF_N_ARTIFACT)


# ---- the runs -----------------------------------------------------------------------------------------


class Nb201SearchLog:
    """What an NAS-Bench-201 search logs: its training after each epoch, then every scored cell beside the
    benchmark's accuracy, the rank correlation per scoring epoch and the pick."""

    def __init__(self, run: Any, epochs: int) -> None:
        self.run, self.epochs = run, epochs
        self.run_id = run.run_id

    def checkpoint_dir(self):
        return self.run.checkpoint_dir()

    def epoch(self, epoch: int, metrics: Mapping[str, Any]) -> None:
        from randnas.search.nb201 import SCORES_KEY

        self.run.metrics({k: v for k, v in metrics.items() if k != SCORES_KEY}, step=epoch)

    def finish(self, result: Any, bench: Any):
        """Look every scored cell up in `bench`; returns the scored cells (a DataFrame) and the pick's lookup."""
        import pandas as pd

        from randnas.statistics import kendall_interval

        truth = [bench.lookup(cell.to_index()) for cell in result.cells]
        cells = pd.DataFrame(
            {
                "index": [cell.to_index() for cell in result.cells],
                "cell": [cell.to_string() for cell in result.cells],
                "true_accuracy": [t["accuracy"] for t in truth],
            }
        )
        for epoch, scores in result.scores.items():
            cells[SCORE_COLUMN.format(epoch)] = scores
            tau = kendall_interval(scores, cells["true_accuracy"])
            self.run.metrics({"ranking/kendall_tau": tau.value, "ranking/kendall_p": tau.p_value}, step=epoch)
        pick = bench.lookup(result.pick.to_index())
        self.run.json(cells.to_dict(orient="records"), SCORED_ARTIFACT)
        self.run.json(result.pick.to_dict(), GENOTYPE_ARTIFACT)
        final = {
            "pick/true_accuracy": pick["accuracy"],
            "pick/percentile": pick["percentile"],
            "pick/score": result.score,
            "scored/best_true_accuracy": float(cells["true_accuracy"].max()),
        }
        self.run.metrics(final, step=self.epochs)
        self.run.tags({TAG_DIGEST: result.weights_digest, TAG_GENOTYPE: result.pick.to_string()})
        return cells, pick


@contextmanager
def open_search_run(
    config: Any,
    data: Any,
    bench: Any,
    *,
    seed: int,
    repeat: int,
    preset: str,
    plan_key: str,
    device: str,
    precision: str = "fp32",
    store: Any = None,
    held_lock: str = "",
) -> Iterator[Nb201SearchLog]:
    extra = {TAG_MODE: config.mode, TAG_REPEAT: repeat, TAG_DEVICE: device, TAG_PRECISION: precision}
    tags = run_tags(seed=seed, preset=preset, benchmark="nb201", datasets=[data, bench], plan_key=plan_key, extra=extra)
    name = f"nb201-rsws-{config.setting}-{config.mode}-seed{seed}-r{repeat}"
    with tracked_run(SEARCH_EXPERIMENT, name, tags=tags, config=config, store=store, held_lock=held_lock) as run:
        yield Nb201SearchLog(run, config.epochs)


class BestOfNLog:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.run_id = run.run_id

    def finish(self, summary: Any) -> None:
        """`summary`: `best_of_n_summary`'s table, one row per N."""
        from randnas.repro import metric_series_digest

        self.run.json(summary.to_dict(orient="records"), BEST_OF_N_ARTIFACT)
        for entry in summary.itertuples():
            values = {
                "best/mean": entry.mean,
                "best/std": entry.std,
                "best/p5": entry.p5,
                "best/p95": entry.p95,
                "best/gap_to_optimum": entry.gap_to_optimum,
            }
            self.run.metrics(values, step=entry.N)
        self.run.tags({TAG_DIGEST: metric_series_digest(summary["mean"].tolist())})


@contextmanager
def open_best_of_n_run(
    bench: Any,
    ns: list[int],
    repeats: int,
    *,
    seed: int,
    preset: str,
    plan_key: str,
    store: Any = None,
    held_lock: str = "",
) -> Iterator[BestOfNLog]:
    tags = run_tags(seed=seed, preset=preset, benchmark="nb201", datasets=[bench], plan_key=plan_key)
    config = {"ns": ns, "repeats": repeats}
    with tracked_run(
        BEST_OF_N_EXPERIMENT, f"best-of-n-seed{seed}", tags=tags, config=config, store=store, held_lock=held_lock
    ) as run:
        yield BestOfNLog(run)
