"""One ASHA search, end to end: settings, trials of a benchmark, a backend, the driver, and the summary
a notebook logs (best architecture, promotion history, rung table).

The paper's setting (reference section 6): r = 1 epoch, R = 300 epochs, eta = 4 on the stage-2
evaluation network; rungs top-down as released (1, 4, 18, 75, 300).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from randnas.backends import BACKEND_NAMES, make_backend
from randnas.configs import require_positive
from randnas.nets.cnn import NetworkCIFAR, forward_macs
from randnas.search.asha.executors import CLOCKS, Budget, CostModel, Event, EventLog, epochs_cost, run_asha
from randnas.search.asha.rule import LAYOUTS, check_rung_arguments
from randnas.search.asha.scheduler import AshaScheduler
from randnas.search.asha.trials import CnnTrials, PtbTrials, Trials
from randnas.spaces.named import get_genotype
from randnas.train.cnn import CnnTrainConfig
from randnas.train.ptb import PtbTrainConfig

BENCHMARKS = ("cnn", "ptb")
EVENTS_FILE = "events.jsonl"
# how the simulated clock charges a job: `flops` = its epochs times the cell's forward multiply-accumulates
# relative to DARTS_V2's (cheap cells finish low rungs first, as in a real asynchronous run); `epochs` = a
# uniform cost per epoch
COST_MODELS = ("flops", "epochs")


@dataclass(frozen=True)
class AshaConfig:
    """The search's settings; `train` holds the stage-2 trainer's fields that differ from its defaults."""

    benchmark: str = "cnn"
    r: int = 1
    R: int = 300
    eta: int = 4
    layout: str = "top_down"
    early_stopping: bool = True
    max_trials: int = 0
    max_epochs: float = 0.0
    max_time: float = 0.0
    workers: int = 1
    backend: str = "inprocess"
    clock: str = "simulated"
    objective: str = "valid"
    threads_per_worker: int = 1
    ray_address: str = ""
    gpus_per_worker: float = 0.0
    cost_model: str = "flops"
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {self.benchmark!r}; choose one of {', '.join(BENCHMARKS)}")
        check_rung_arguments(self.r, self.R, self.eta)
        for name, allowed in (
            ("layout", LAYOUTS),
            ("backend", BACKEND_NAMES),
            ("clock", CLOCKS),
            ("cost_model", COST_MODELS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown ASHA {name} {getattr(self, name)!r}; choose one of {', '.join(allowed)}")
        require_positive(self, "workers", "threads_per_worker")
        self.budget()  # a search needs at least one limit
        self.train_config()  # unknown or bad trainer fields fail here, before anything runs

    def budget(self) -> Budget:
        return Budget(max_trials=self.max_trials, max_resource=self.max_epochs, max_time=self.max_time)

    def train_config(self) -> CnnTrainConfig | PtbTrainConfig:
        config_type = CnnTrainConfig if self.benchmark == "cnn" else PtbTrainConfig
        known = {f.name for f in dataclasses.fields(config_type)} - {"epochs"}
        unknown = sorted(set(self.train) - known)
        if unknown:
            raise ValueError(
                f"{unknown} are not {config_type.__name__} fields; choose from {sorted(known)} (epochs is R)"
            )
        return config_type(**{**self.train, "epochs": self.R})

    def scheduler(self) -> AshaScheduler:
        return AshaScheduler(self.r, self.R, self.eta, self.layout, self.early_stopping)


def make_trials(
    config: AshaConfig, dataset: str, seed: int, checkpoint_root: Path, data_root: str = "", device: str = "auto"
) -> Trials:
    kind = CnnTrials if config.benchmark == "cnn" else PtbTrials
    return kind(
        config.train_config(), dataset, seed, config.R, str(checkpoint_root), data_root, config.objective, device
    )


@dataclass
class AshaResult:
    events: list[Event]
    rungs: list[dict]  # resource, and every result in arrival order, with who was promoted
    best_trial: int
    best_rung: int
    best_value: float
    genotype: Any
    promotions: list[dict]

    @property
    def epochs(self) -> int:
        reached: dict[int, int] = {}
        for event in self.events:
            reached[event.trial] = max(reached.get(event.trial, 0), event.resource)
        return sum(reached.values())

    @property
    def trials(self) -> int:
        return len({event.trial for event in self.events})

    def digest(self) -> str:
        """sha256 of the event log without its metrics: equal digests = the same search, decision by decision."""
        decisions = [{k: v for k, v in asdict(e).items() if k != "metrics"} for e in self.events]
        return hashlib.sha256(json.dumps(decisions, sort_keys=True).encode()).hexdigest()


def objective_name(config: AshaConfig) -> str:
    """The objective as a person reads it: accuracy for the CNN, perplexity (lower is better) for PTB."""
    if config.benchmark == "ptb":
        return "valid_ppl"
    return "valid_acc" if config.objective == "valid" else "test_acc"


def readable(config: AshaConfig, value: float) -> float:
    """A result as a person reads it (ASHA maximises, so PTB's values are minus perplexity)."""
    return -value if config.benchmark == "ptb" else value


def summarize(scheduler: AshaScheduler, events: list[Event], trials: Trials) -> AshaResult:
    """The best trial is the best result in the highest rung anyone reached (ties: the earlier result)."""
    if not events:
        raise ValueError("the search finished no job; raise its budget")
    top = max(k for k, rung in enumerate(scheduler.rungs) if rung.results)
    results = scheduler.rungs[top].results
    best = max(results, key=lambda trial: (results[trial], -list(results).index(trial)))
    promotions = []
    for event in events:
        if event.rung > 0:
            promotions.append(
                {
                    "trial": event.trial,
                    "to_rung": event.rung,
                    "resource": event.resource,
                    "finished_at": event.time,
                    "value": event.value,
                }
            )
    rungs = [
        {
            "rung": k,
            "resource": rung.resource,
            "results": [[t, v] for t, v in rung.results.items()],
            "promoted": sorted(rung.promoted),
        }
        for k, rung in enumerate(scheduler.rungs)
    ]
    return AshaResult(events, rungs, best, top, results[best], trials.genotype(best), promotions)


@dataclass
class FlopCost:
    """A job's simulated duration: its epochs times the cell's forward MACs over DARTS_V2's, in the
    trials' own evaluation network (counted once per trial)."""

    trials: CnnTrials
    relative: dict[int, float] = field(default_factory=dict)
    reference: int = 0

    def per_epoch(self, trial: int) -> float:
        if not self.reference:
            self.reference = cnn_macs(self.trials, get_genotype("cnn", "DARTS_V2"))
        if trial not in self.relative:
            self.relative[trial] = cnn_macs(self.trials, self.trials.genotype(trial)) / self.reference
        return self.relative[trial]

    def __call__(self, suggestion, previous: int) -> float:
        return (suggestion.resource - previous) * self.per_epoch(suggestion.trial)


def cnn_macs(trials: CnnTrials, genotype) -> int:
    return forward_macs(NetworkCIFAR(genotype, trials.config.channels, trials.config.layers, auxiliary=False))


def make_cost_model(config: AshaConfig, trials: Trials) -> CostModel:
    """PTB's cells all do the same matrix products (one per node, whatever its activation), so their
    epochs cost alike; CNN cells differ by their operations."""
    if config.cost_model == "epochs" or config.benchmark == "ptb":
        return epochs_cost
    return FlopCost(trials)


def run_asha_search(config: AshaConfig, trials: Trials, search_dir: Path) -> AshaResult:
    """Run (or resume, from `search_dir`'s event log) the search; trial checkpoints live in `trials`."""
    scheduler = config.scheduler()
    threads = config.threads_per_worker
    backend = make_backend(config.backend, config.workers, threads, config.ray_address, config.gpus_per_worker)
    search_dir.mkdir(parents=True, exist_ok=True)
    events = run_asha(
        scheduler,
        trials,
        config.budget(),
        workers=config.workers,
        backend=backend,
        clock=config.clock,
        cost=make_cost_model(config, trials),
        log=EventLog(search_dir / EVENTS_FILE),
    )
    return summarize(scheduler, events, trials)
