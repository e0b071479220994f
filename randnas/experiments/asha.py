"""Random search with early stopping (ASHA) on the DARTS spaces (`cnn/asha`, `rnn/asha`).

A search is a parent run holding the event log, the rungs, the promotion history and the best cell; each trial
is a child run with its rung results and per-epoch metrics. The book reads the parents (`AshaRow`) and their
event logs (`events`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from randnas.experiments.base import (
    GENOTYPE_ARTIFACT,
    TAG_GENOTYPE,
    TAG_PRECISION,
    Record,
    Run,
    common,
    integer,
    real,
)
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE, TAG_DIGEST, TAG_REPEAT
from randnas.record.writer import run_tags, tracked_run

EXPERIMENTS = {"cnn": "cnn/asha", "ptb": "rnn/asha"}  # by benchmark
BENCHMARK_OF_SPACE = {"cnn": "cnn", "rnn": "ptb"}
TAG_CLOCK = "randnas.clock"
TAG_TRIAL = "randnas.trial"
TAG_TOP_RUNG = "randnas.top_rung"
TAG_BEST_TRIAL = "randnas.best_trial"
TAG_BEST_RUNG = "randnas.best_rung"
EVENTS_ARTIFACT = "asha/events.jsonl"
BEST = {"cnn": "best/valid_acc", "ptb": "best/valid_ppl"}


@dataclass(frozen=True, kw_only=True)
class AshaRow(Run):
    """One ASHA search (its trials are child runs, not rows)."""

    benchmark: str  # cnn or ptb
    objective: str  # CIFAR-10: valid, holdout or test (which split trained and scored the trials)
    asgd_after_epoch: int  # PTB trials stay on SGD until this epoch (0: the trainer's own rule)
    cost_model: str  # how the simulated clock charged a job: flops or epochs
    trials: int
    jobs: int  # rung trainings
    promotions: int
    epochs_trained: int
    best: float  # the best trial's result at the top rung reached: validation accuracy or perplexity
    best_trial: int | None
    genotype: str


def row(stored: StoredRun) -> AshaRow:
    params, metrics, tags = stored.params, stored.metrics, stored.tags
    benchmark = "cnn" if stored.experiment == EXPERIMENTS["cnn"] else "ptb"
    return AshaRow(
        **common(stored),
        benchmark=benchmark,
        objective=params.get("objective", "valid"),
        asgd_after_epoch=integer(params.get("train.asgd_after_epoch"), 0),
        # runs from before the option existed were charged by epochs alike
        cost_model=params.get("cost_model", "epochs"),
        trials=integer(metrics.get("asha/trials"), 0),
        jobs=integer(metrics.get("asha/jobs"), 0),
        promotions=integer(metrics.get("asha/promotions"), 0),
        epochs_trained=integer(metrics.get("asha/epochs"), 0),
        best=real(metrics.get(BEST[benchmark])),
        best_trial=integer(tags.get(TAG_BEST_TRIAL)),
        genotype=tags.get(TAG_GENOTYPE, ""),
    )


def events(record: Record, run: AshaRow) -> list[dict]:
    """The search's event log: time, worker, trial, rung, resource and value of every finished job."""
    return [json.loads(line) for line in record.reader.text(run.run_id, EVENTS_ARTIFACT).splitlines() if line.strip()]


def pick_run(record: Record, space: str, preset: str, seed: int) -> AshaRow:
    """The newest FINISHED ASHA search of this space, preset and seed: its best cell is the pick."""
    from randnas.spaces import GenotypeError

    benchmark = BENCHMARK_OF_SPACE[space]
    found = record.of(AshaRow, preset, lambda run: run.benchmark == benchmark and run.seed == seed)
    if not found:
        raise GenotypeError(
            f"no FINISHED {EXPERIMENTS[benchmark]} search with preset {preset!r} and seed {seed}: run that search first"
        )
    return found[0]


def trial_metrics(config: Any, result: Any, trial: int) -> list[tuple[str, float, int]]:
    """A trial's child-run metrics: its result at each rung (at the rung's epoch) and its per-epoch metrics."""
    from randnas.search.asha.search import objective_name, readable

    name = objective_name(config)
    metrics: list[tuple[str, float, int]] = []
    previous = 0
    for event in sorted((e for e in result.events if e.trial == trial), key=lambda e: e.rung):
        metrics.append((f"rung/{name}", readable(config, event.value), event.resource))
        for epoch, values in enumerate(event.metrics, previous + 1):
            metrics.extend((key, value, epoch) for key, value in values.items())
        previous = event.resource
    return metrics


class AshaLog:
    def __init__(self, run: Any, config: Any) -> None:
        self.run, self.config = run, config
        self.run_id = run.run_id

    def checkpoint_dir(self) -> Path:
        return self.run.checkpoint_dir()

    def finish(self, result: Any, trials: Any, search_dir: Path) -> None:
        """A child run per trial, then the event log, rungs, promotions, best cell and the event log's digest."""
        from randnas.search.asha.search import EVENTS_FILE, objective_name, readable

        config, name = self.config, objective_name(self.config)
        top_rung: dict[int, int] = {}
        for event in result.events:
            top_rung[event.trial] = max(top_rung.get(event.trial, 0), event.rung)
        for trial in sorted(top_rung):
            genotype = trials.genotype(trial)
            self.run.child(
                f"trial-{trial}",
                f"trial-{trial}",
                tags={TAG_TRIAL: trial, TAG_GENOTYPE: genotype.to_darts(), TAG_TOP_RUNG: top_rung[trial]},
                params={"trial": trial, "genotype": genotype.to_darts()},
                metrics=trial_metrics(config, result, trial),
            )
        self.run.artifact(search_dir / EVENTS_FILE, "asha")
        self.run.json(result.rungs, "asha/rungs.json")
        self.run.json(result.promotions, "asha/promotions.json")
        self.run.json(result.genotype.to_dict(), GENOTYPE_ARTIFACT)
        self.run.metrics(
            {
                f"best/{name}": readable(config, result.best_value),
                "asha/trials": result.trials,
                "asha/epochs": result.epochs,
                "asha/jobs": len(result.events),
                "asha/promotions": len(result.promotions),
            },
            step=0,
        )
        self.run.tags(
            {
                TAG_DIGEST: result.digest(),
                TAG_GENOTYPE: result.genotype.to_darts(),
                TAG_BEST_TRIAL: result.best_trial,
                TAG_BEST_RUNG: result.best_rung,
            }
        )


@contextmanager
def open_run(
    config: Any,
    data: Any,
    *,
    seed: int,
    repeat: int,
    preset: str,
    plan_key: str,
    device: str,
    precision: str = "fp32",
    store: Any = None,
    held_lock: str = "",
) -> Iterator[AshaLog]:
    extra = {TAG_REPEAT: repeat, TAG_DEVICE: device, TAG_CLOCK: config.clock, TAG_PRECISION: precision}
    tags = run_tags(
        seed=seed, preset=preset, benchmark=config.benchmark, datasets=[data], plan_key=plan_key, extra=extra
    )
    name = f"asha-{config.benchmark}-seed{seed}-r{repeat}"
    with tracked_run(
        EXPERIMENTS[config.benchmark], name, tags=tags, config=config, store=store, held_lock=held_lock
    ) as run:
        yield AshaLog(run, config)
