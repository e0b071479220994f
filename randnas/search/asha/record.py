"""How an ASHA search goes into MLflow: the parent run gets the event log, the rungs, the promotion
history and the best architecture; each trial gets a child run with its rung results and per-epoch
metrics. Tags let the book find them by query alone."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from randnas.lookup import ASHA_EXPERIMENTS, GENOTYPE_ARTIFACT  # noqa: F401 (notebooks import it from here)
from randnas.search.asha.search import EVENTS_FILE, AshaConfig, AshaResult
from randnas.search.asha.trials import Trials

TAG_TRIAL = "randnas.trial"


def objective_name(config: AshaConfig) -> str:
    """The objective as a person reads it: accuracy for the CNN, perplexity (lower is better) for PTB."""
    if config.benchmark == "ptb":
        return "valid_ppl"
    return "valid_acc" if config.objective == "valid" else "test_acc"


def readable(config: AshaConfig, value: float) -> float:
    return -value if config.benchmark == "ptb" else value


def events_digest(result: AshaResult) -> str:
    """sha256 of the event log without its metrics: equal digests = the same search, decision by decision."""
    decisions = [{k: v for k, v in asdict(e).items() if k != "metrics"} for e in result.events]
    return hashlib.sha256(json.dumps(decisions, sort_keys=True).encode()).hexdigest()


def trial_metrics(config: AshaConfig, result: AshaResult, trial: int) -> list[tuple[str, float, int]]:
    name = objective_name(config)
    metrics: list[tuple[str, float, int]] = []
    previous = 0
    for event in sorted((e for e in result.events if e.trial == trial), key=lambda e: e.rung):
        metrics.append((f"rung/{name}", readable(config, event.value), event.resource))
        for epoch, values in enumerate(event.metrics, previous + 1):
            metrics.extend((key, value, epoch) for key, value in values.items())
        previous = event.resource
    return metrics


def log_asha_result(run, config: AshaConfig, result: AshaResult, trials: Trials, search_dir: Path) -> None:
    """`run` is the parent's `tracking.RunLog`."""
    name = objective_name(config)
    top_rung = {}
    for event in result.events:
        top_rung[event.trial] = max(top_rung.get(event.trial, 0), event.rung)
    for trial in sorted(top_rung):
        genotype = trials.genotype(trial)
        run.child(
            f"trial-{trial}",
            f"trial-{trial}",
            tags={TAG_TRIAL: trial, "randnas.genotype": genotype.to_darts(), "randnas.top_rung": top_rung[trial]},
            params={"trial": trial, "genotype": genotype.to_darts()},
            metrics=trial_metrics(config, result, trial),
        )
    run.artifact(search_dir / EVENTS_FILE, "asha")
    run.json(result.rungs, "asha/rungs.json")
    run.json(result.promotions, "asha/promotions.json")
    run.json(result.genotype.to_dict(), GENOTYPE_ARTIFACT)
    run.metrics(
        {
            f"best/{name}": readable(config, result.best_value),
            "asha/trials": result.trials,
            "asha/epochs": result.epochs,
            "asha/jobs": len(result.events),
            "asha/promotions": len(result.promotions),
        },
        step=0,
    )
    run.tags(
        {
            "randnas.digest": events_digest(result),
            "randnas.genotype": result.genotype.to_darts(),
            "randnas.best_trial": result.best_trial,
            "randnas.best_rung": result.best_rung,
        }
    )
