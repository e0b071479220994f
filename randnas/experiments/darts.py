"""DARTS itself on the three spaces (`cnn/darts`, `rnn/darts`, `nb201/darts`): the architecture weights per epoch,
the cell derived from them after every epoch, and the final cell (the search's pick)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE, TAG_DIGEST, TAG_REPEAT
from randnas.record.writer import run_tags, tracked_run

EXPERIMENTS = {"cnn": "cnn/darts", "rnn": "rnn/darts", "nb201": "nb201/darts"}  # by space
BENCHMARK_TAG = {"cnn": "cifar10", "rnn": "ptb", "nb201": "nb201"}
TAG_ORDER = "randnas.order"
TAG_WEIGHTS_DIGEST = "randnas.weights_digest"
CELLS_ARTIFACT = "darts/genotypes.json"  # the derived cell after every epoch
EPOCH_ARTIFACT = "darts/epoch-{:03d}.json"  # one epoch's op weights and derived cell


@dataclass(frozen=True, kw_only=True)
class DartsRow(Run):
    """One DARTS search; its `digest` is the architecture weights'."""

    space: str  # cnn, rnn or nb201
    setting: str  # darts-first or darts-second
    order: str  # first or second
    genotype: str  # the final cell
    weights_digest: str
    grad_clip: float
    channels: int | None  # CNN and NAS-Bench-201 supernet width
    hidden: int | None  # recurrent model width
    batch_size: int | None


def row(stored: StoredRun) -> DartsRow:
    tags = stored.tags
    space = next(space for space, name in EXPERIMENTS.items() if name == stored.experiment)
    return DartsRow(
        **common(stored),
        space=space,
        setting=tags.get(TAG_SETTING, ""),
        order=tags.get(TAG_ORDER, ""),
        genotype=tags.get(TAG_GENOTYPE, ""),
        weights_digest=tags.get(TAG_WEIGHTS_DIGEST, ""),
        grad_clip=real(stored.params.get("grad_clip")),
        channels=integer(stored.params.get("channels")),
        hidden=integer(stored.params.get("hidden")),
        batch_size=integer(stored.params.get("batch_size")),
    )


def cells(record: Record, run: DartsRow) -> list[str]:
    """The cell the search derived after each epoch, in its space's text form."""
    return list(record.reader.json(run.run_id, CELLS_ARTIFACT)["genotypes"])


def final_op_weights(record: Record, run: DartsRow) -> dict[str, list[list[float]]]:
    """The softmaxed op weights after the search's last epoch, by cell type (`normal`, `reduce`, `recurrent` or
    `edges`): one row per edge, one weight per op."""
    last = record.reader.json(run.run_id, EPOCH_ARTIFACT.format(len(cells(record, run))))
    return {name: weights for name, weights in last.items() if name not in ("epoch", "genotype")}


def pick_run(record: Record, space: str, preset: str, setting: str, seed: int) -> DartsRow:
    """The newest FINISHED DARTS search of this space, preset, setting and seed: its final cell is the pick."""
    from randnas.spaces import GenotypeError

    if space not in EXPERIMENTS:
        raise GenotypeError(f"no DARTS search on the {space} space; DARTS runs on {', '.join(EXPERIMENTS)}")
    found = record.of(DartsRow, preset, lambda run: run.space == space and run.setting == setting and run.seed == seed)
    if not found:
        raise GenotypeError(
            f"no FINISHED {EXPERIMENTS[space]} run with preset {preset!r}, setting {setting!r} and seed {seed}: "
            "run that search first (its plan entry comes before this one)"
        )
    return found[0]


class DartsLog:
    """What a DARTS search logs: each epoch's metrics (with its derived cell's benchmark lookup on NAS-Bench-201),
    op weights and derived cell, then the final cell and the digests."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.run_id = run.run_id

    def checkpoint_dir(self):
        return self.run.checkpoint_dir()

    def epoch_logger(self, search: Any, bench: Any = None) -> Callable[[int, dict], None]:
        """The search's per-epoch callback; with `bench` (NAS-Bench-201's accuracies), each epoch's derived cell is
        looked up in it too."""

        def log_epoch(epoch: int, metrics: dict) -> None:
            # by the epoch's own index: a resumed search reports its checkpointed epochs again (the loop's rule)
            genotype, alphas = search.genotypes[epoch - 1], search.alphas[epoch - 1]
            self.run.metrics({**metrics, **(true_accuracy(bench, genotype) if bench else {})}, step=epoch)
            self.run.json({"epoch": epoch, "genotype": genotype, **alphas}, EPOCH_ARTIFACT.format(epoch))

        return log_epoch

    def finish(self, result: Any) -> None:
        """The final cell (the stage-2 pick), the cell after every epoch, and the digests."""
        self.run.json(result.genotype.to_dict(), GENOTYPE_ARTIFACT)
        self.run.json({"genotypes": result.genotypes}, CELLS_ARTIFACT)
        self.run.tags(
            {
                TAG_DIGEST: result.architecture_digest,
                TAG_WEIGHTS_DIGEST: result.weights_digest,
                TAG_GENOTYPE: result.genotype.to_darts(),
            }
        )


def true_accuracy(bench: Any, genotype: str) -> Mapping[str, float]:
    """A NAS-Bench-201 cell's benchmark accuracy and percentile, as an epoch's metrics."""
    from randnas.spaces.nb201 import parse_nb201_cell

    truth = bench.lookup(parse_nb201_cell(genotype).to_index())
    return {"cell/true_accuracy": truth["accuracy"], "cell/percentile": truth["percentile"]}


@contextmanager
def open_run(
    space: str,
    setting: str,
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
) -> Iterator[DartsLog]:
    extra = {
        TAG_SETTING: setting,
        TAG_ORDER: config.order,
        TAG_REPEAT: repeat,
        TAG_DEVICE: device,
        TAG_PRECISION: precision,
    }
    tags = run_tags(
        seed=seed, preset=preset, benchmark=BENCHMARK_TAG[space], datasets=datasets, plan_key=plan_key, extra=extra
    )
    name = f"{setting}-seed{seed}-r{repeat}" if space != "nb201" else f"nb201-{setting}-seed{seed}-r{repeat}"
    with tracked_run(EXPERIMENTS[space], name, tags=tags, config=config, store=store, held_lock=held_lock) as run:
        yield DartsLog(run)
