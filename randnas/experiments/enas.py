"""ENAS on the three spaces (`cnn/enas`, `rnn/enas`, `nb201/enas`): the controller's training per epoch (reward,
baseline, entropy), the ops of the cells the weights trained on, the controller's most likely cell after every
epoch, the derive step's samples, and the final cell (the search's pick)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from randnas.experiments.base import (
    GENOTYPE_ARTIFACT,
    TAG_GENOTYPE,
    TAG_PRECISION,
    TAG_SETTING,
    Record,
    Run,
    common,
    integer,
    real,
)
from randnas.experiments.darts import BENCHMARK_TAG, true_accuracy
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE, TAG_DIGEST, TAG_REPEAT
from randnas.record.writer import run_tags, tracked_run

EXPERIMENTS = {"cnn": "cnn/enas", "rnn": "rnn/enas", "nb201": "nb201/enas"}  # by space
SETTING = "enas"
TAG_WEIGHTS_DIGEST = "randnas.weights_digest"
TAG_DERIVE_SCORE = "randnas.derive_score"  # the pick's score in the derive step (accuracy; PTB: perplexity)
EPOCH_ARTIFACT = "enas/epoch-{:03d}.json"  # one epoch's most likely cell and the ops its weight steps sampled
DERIVED_ARTIFACT = "enas/derived.json"  # the derive step: every sampled cell and its score


@dataclass(frozen=True, kw_only=True)
class EnasRow(Run):
    """One ENAS search; its `digest` is the controller's weights'."""

    space: str  # cnn, rnn or nb201
    setting: str  # enas
    genotype: str  # the final cell
    weights_digest: str
    derive_score: float
    channels: int | None
    hidden: int | None
    batch_size: int | None


def row(stored: StoredRun) -> EnasRow:
    tags = stored.tags
    space = next(space for space, name in EXPERIMENTS.items() if name == stored.experiment)
    return EnasRow(
        **common(stored),
        space=space,
        setting=tags.get(TAG_SETTING, ""),
        genotype=tags.get(TAG_GENOTYPE, ""),
        weights_digest=tags.get(TAG_WEIGHTS_DIGEST, ""),
        derive_score=real(tags.get(TAG_DERIVE_SCORE)),
        channels=integer(stored.params.get("channels")),
        hidden=integer(stored.params.get("hidden")),
        batch_size=integer(stored.params.get("batch_size")),
    )


def epochs_of(record: Record, run: EnasRow) -> list[dict]:
    """Each epoch's most likely cell (`genotype`) and the op counts of the cells its weight steps sampled."""
    derived = record.reader.json(run.run_id, DERIVED_ARTIFACT)
    return [record.reader.json(run.run_id, EPOCH_ARTIFACT.format(e)) for e in range(1, derived["epochs"] + 1)]


def pick_run(record: Record, space: str, preset: str, seed: int) -> EnasRow:
    """The newest FINISHED ENAS search of this space, preset and seed: its final cell is the pick."""
    from randnas.spaces import GenotypeError

    if space not in EXPERIMENTS:
        raise GenotypeError(f"no ENAS search on the {space} space; ENAS runs on {', '.join(EXPERIMENTS)}")
    found = record.of(EnasRow, preset, lambda run: run.space == space and run.seed == seed)
    if not found:
        raise GenotypeError(
            f"no FINISHED {EXPERIMENTS[space]} run with preset {preset!r} and seed {seed}: "
            "run that search first (its plan entry comes before this one)"
        )
    return found[0]


class EnasLog:
    """What an ENAS search logs: each epoch's metrics (with its most likely cell's benchmark lookup on
    NAS-Bench-201), that cell and the sampled ops, then the derive step, the final cell and the digests."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.run_id = run.run_id

    def checkpoint_dir(self):
        return self.run.checkpoint_dir()

    def epoch_logger(self, search: Any, bench: Any = None) -> Callable[[int, dict], None]:
        def log_epoch(epoch: int, metrics: dict) -> None:
            # by the epoch's own index: a resumed search reports its checkpointed epochs again (the loop's rule)
            genotype, ops = search.genotypes[epoch - 1], search.op_counts[epoch - 1]
            self.run.metrics({**metrics, **(true_accuracy(bench, genotype) if bench else {})}, step=epoch)
            self.run.json({"epoch": epoch, "genotype": genotype, "sampled_ops": ops}, EPOCH_ARTIFACT.format(epoch))

        return log_epoch

    def finish(self, result: Any) -> None:
        self.run.json(result.genotype.to_dict(), GENOTYPE_ARTIFACT)
        derived = [{"genotype": cell, "score": score} for cell, score in result.derived]
        self.run.json({"epochs": len(result.genotypes), "samples": derived}, DERIVED_ARTIFACT)
        self.run.tags(
            {
                TAG_DIGEST: result.controller_digest,
                TAG_WEIGHTS_DIGEST: result.weights_digest,
                TAG_GENOTYPE: result.genotype.to_darts(),
                TAG_DERIVE_SCORE: result.score,
            }
        )


@contextmanager
def open_run(
    space: str,
    config: Any,
    datasets: list[Any],
    *,
    seed: int,
    repeat: int,
    preset: str,
    plan_key: str,
    device: str,
    precision: str = "fp32",
    store: Any = None,
    held_lock: str = "",
) -> Iterator[EnasLog]:
    if space not in EXPERIMENTS:
        from randnas.configs import SettingError

        raise SettingError(f"unknown ENAS space {space!r}; choose one of {', '.join(EXPERIMENTS)}")
    extra = {TAG_SETTING: SETTING, TAG_REPEAT: repeat, TAG_DEVICE: device, TAG_PRECISION: precision}
    tags = run_tags(
        seed=seed, preset=preset, benchmark=BENCHMARK_TAG[space], datasets=datasets, plan_key=plan_key, extra=extra
    )
    name = f"{space}-enas-seed{seed}-r{repeat}"
    with tracked_run(EXPERIMENTS[space], name, tags=tags, config=config, store=store, held_lock=held_lock) as run:
        yield EnasLog(run)
