"""What every kind of experiment shares: the facts every run has (`Run`), the record as typed rows (`Record`),
and the readers of a run's metric histories and artifacts.

A kind's module (`train`, `rsws`, `darts`, ...) is the only code that writes its runs' tags, params, metrics
and artifacts (`open_run`) and the only code that reads them back (`rows`, and its artifact readers). Everything
downstream, the book's tables and the claims ledger among it, takes rows: frozen, typed, with names a reader
understands and no MLflow key in sight.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, TypeVar

from randnas.record.artifacts import load_json, read_text
from randnas.record.store import Store, StoredRun, metric_history
from randnas.record.vocabulary import (
    TAG_DATASET,
    TAG_DATASET_LABEL,
    TAG_DEVICE,
    TAG_DIGEST,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_PLAN_KEY,
    TAG_PRESET,
    TAG_REPEAT,
    TAG_SEED,
    job_without_repeat,
)

# tags more than one kind writes
TAG_GENOTYPE = "randnas.genotype"  # the cell a run found or trained, in its space's text form
TAG_SETTING = "randnas.setting"  # a search's named setting (random1, darts-second, ...)
TAG_MODE = "randnas.mode"  # weight sharing: single (the paper) or dense (the released supernet)
TAG_PARENT = "randnas.parent"  # the run a genotype or a pick was read from
TAG_SEARCH_SETTING = "randnas.search_setting"
TAG_SEARCH_SEED = "randnas.search_seed"
TAG_PRECISION = "randnas.precision"  # how the network's arithmetic ran (runs before the option: fp32)
GENOTYPE_ARTIFACT = "genotype.json"  # the cell a run found or trained, as a dict
DEFAULT_PRECISION = "fp32"


@dataclass(frozen=True, kw_only=True)
class Run:
    """The facts every run of the record has, whatever its kind."""

    run_id: str
    run_name: str
    experiment: str
    preset: str
    dataset: str
    dataset_label: str
    device: str
    precision: str
    plan_key: str
    job: str  # the plan job without its `repeat` axis: a same-seed repeat shares it with its first run
    seed: int | None
    repeat: int  # > 1: the same job again, for the exact-reproducibility check
    digest: str
    commit: str
    dirty: bool  # made from a work tree with uncommitted changes
    start_ms: int
    hours: float  # wall time on its device
    epochs: int | None  # the run's `epochs` setting, where it has one
    steps_cap: int  # minibatches an epoch was cut to (0: whole epochs)
    protocol: tuple[tuple[str, str], ...] = field(repr=False)  # every setting, for like-with-like comparisons

    def settings(self, names: Sequence[str]) -> tuple[str, ...]:
        """The run's settings `names` (missing ones as ""), to tell runs of one protocol from another."""
        given = dict(self.protocol)
        return tuple(given.get(name, "") for name in names)


R = TypeVar("R", bound=Run)


# ---- parsing what the store holds -----------------------------------------------------------------------


def integer(text: str | None, default: int | None = None) -> int | None:
    """A stored number as an int ("3", "3.0"); `default` when absent or not a number."""
    number = real(text)
    return default if math.isnan(number) else int(number)


def real(text: str | float | None, default: float = math.nan) -> float:
    if text is None or text == "":
        return default
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def common(stored: StoredRun) -> dict[str, Any]:
    """The `Run` fields of a stored run."""
    tags, params = stored.tags, stored.params
    caps = [integer(params.get(name), 0) for name in ("max_steps_per_epoch", "train.max_steps_per_epoch")]
    return {
        "run_id": stored.run_id,
        "run_name": stored.run_name,
        "experiment": stored.experiment,
        "preset": tags.get(TAG_PRESET, ""),
        "dataset": tags.get(TAG_DATASET, ""),
        "dataset_label": tags.get(TAG_DATASET_LABEL, ""),
        "device": tags.get(TAG_DEVICE, ""),
        "precision": tags.get(TAG_PRECISION, DEFAULT_PRECISION),
        "plan_key": tags.get(TAG_PLAN_KEY, ""),
        "job": job_without_repeat(tags.get(TAG_PLAN_KEY, "")),
        "seed": integer(tags.get(TAG_SEED)),
        # a job's first run may predate the `repeat` parameter: untagged counts as repeat 1
        "repeat": integer(tags.get(TAG_REPEAT), 1),
        "digest": tags.get(TAG_DIGEST, ""),
        "commit": tags.get(TAG_GIT_COMMIT, ""),
        "dirty": tags.get(TAG_GIT_DIRTY) == "true",
        "start_ms": stored.start_ms,
        "hours": stored.hours,
        "epochs": integer(params.get("epochs")),
        "steps_cap": max(caps),
        "protocol": tuple(sorted(params.items())),
    }


def plain_run(stored: StoredRun) -> Run:
    """A run of a kind no module reads: only the facts every run has (the cost and checklist tables count it)."""
    return Run(**common(stored))


# ---- reading histories and artifacts --------------------------------------------------------------------


class RunReader(Protocol):
    """What the rows do not hold: per-epoch metric histories and artifact files."""

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]: ...

    def json(self, run_id: str, artifact: str) -> Any: ...

    def text(self, run_id: str, artifact: str) -> str: ...


class StoreReader:
    """A run reader over a store; each history and artifact is read once per reader."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.history = functools.lru_cache(maxsize=4096)(self._history)
        self.text = functools.lru_cache(maxsize=512)(self._text)

    def _history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return metric_history(self.store, run_id, key)

    def _text(self, run_id: str, artifact: str) -> str:
        return read_text(self.store, run_id, artifact)

    def json(self, run_id: str, artifact: str) -> Any:
        import json

        return json.loads(self.text(run_id, artifact))


@dataclass(frozen=True, eq=False)  # a reader is itself: compared and hashed by identity
class MemoryReader:
    """A run reader over plain data: what tests and other records without a store give."""

    histories: Mapping[tuple[str, str], Sequence[tuple[int, float]]] = field(default_factory=dict)
    artifacts: Mapping[tuple[str, str], Any] = field(default_factory=dict)

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return list(self.histories.get((run_id, key), ()))

    def json(self, run_id: str, artifact: str) -> Any:
        if (run_id, artifact) in self.artifacts:
            return self.artifacts[(run_id, artifact)]
        if any(known == run_id for known, _ in self.artifacts):
            raise FileNotFoundError(f"run {run_id} has no artifact {artifact!r}")
        raise KeyError(f"no run {run_id!r}")  # as a store says of an id it does not hold

    def text(self, run_id: str, artifact: str) -> str:
        return str(self.json(run_id, artifact))


@dataclass(frozen=True)
class Record:
    """The record as the book reads it: one typed row per run, and a reader for what rows do not hold."""

    runs: tuple[Run, ...]
    reader: RunReader = field(default_factory=MemoryReader, compare=False)

    def of(self, kind: type[R], preset: str | None = None, where: Callable[[R], bool] | None = None) -> list[R]:
        """The rows of one kind (of one preset, meeting `where`), newest first as the store lists them."""
        return [
            run
            for run in self.runs
            if type(run) is kind and (preset is None or run.preset == preset) and (where is None or where(run))
        ]

    def with_preset(self, preset: str) -> list[Run]:
        return [run for run in self.runs if run.preset == preset]

    def by_id(self, run_ids: Sequence[str]) -> list[Run]:
        wanted = set(run_ids)
        return [run for run in self.runs if run.run_id in wanted]

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)


def asdict_shallow(run: Run) -> dict[str, Any]:
    """A row as a flat dict (its `protocol` left out), for a DataFrame of rows."""
    return {f.name: getattr(run, f.name) for f in fields(run) if f.name != "protocol"}


def load_genotype(record: Record, run: Run) -> dict:
    """The cell a run found or trained, as its space's dict."""
    return record.reader.json(run.run_id, GENOTYPE_ARTIFACT)


def json_artifact(store: Store, run_id: str, artifact: str) -> Any:
    return load_json(store, run_id, artifact)
