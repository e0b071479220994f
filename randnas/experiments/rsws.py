"""Stage 1 of random search with weight sharing on the DARTS spaces (`cnn/rsws`, `rnn/rsws`): the shared weights
trained with a random cell per minibatch, then random cells scored with them and the best kept.

What a search logs (`open_run`), its row (`SearchRow`), its scored cells (`scores`) and the pick a stage-2
training reads (`pick_run`)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from randnas.experiments.base import (
    GENOTYPE_ARTIFACT,
    TAG_GENOTYPE,
    TAG_MODE,
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

EXPERIMENTS = {"cnn": "cnn/rsws", "rnn": "rnn/rsws"}  # by space
BENCHMARK_TAG = {"cnn": "cifar10", "rnn": "ptb"}
SCORES_ARTIFACT = "selection/scores.json"
SCORED, BEST_SCORE, BEST_VALID_PPL = "selection/scored", "selection/best_score", "selection/best_valid_ppl"


@dataclass(frozen=True, kw_only=True)
class SearchRow(Run):
    """One stage-1 search and its selection."""

    space: str  # cnn or rnn
    setting: str  # the Table 2 / Table 7 setting: random1 ... random5
    mode: str  # single (the paper's algorithm) or dense (the released code's supernet)
    grad_clip: float
    channels: int | None  # CNN supernet width
    hidden: int | None  # recurrent model width
    batch_size: int | None
    archs_scored: int | None  # cells scored with the shared weights
    best_score: float  # the pick's score: validation accuracy (CNN), minus validation perplexity (PTB)
    genotype: str


def row(stored: StoredRun) -> SearchRow:
    tags, params, metrics = stored.tags, stored.params, stored.metrics
    space = "cnn" if stored.experiment == EXPERIMENTS["cnn"] else "rnn"
    best = real(metrics.get(BEST_SCORE))
    if math.isnan(best) and BEST_VALID_PPL in metrics:
        best = -real(metrics[BEST_VALID_PPL])
    return SearchRow(
        **common(stored),
        space=space,
        setting=tags.get(TAG_SETTING, ""),
        # a search logged before the parameter existed ran the paper's single-path mode
        mode=params.get("mode", "single"),
        grad_clip=real(params.get("grad_clip")),
        channels=integer(params.get("channels")),
        hidden=integer(params.get("hidden")),
        batch_size=integer(params.get("batch_size")),
        archs_scored=integer(metrics.get(SCORED)),
        best_score=best,
        genotype=tags.get(TAG_GENOTYPE, ""),
    )


def scores(record: Record, run: SearchRow) -> list[dict]:
    """Every cell the search scored: its DARTS text, quick score, round and (for the top ones) full score."""
    return record.reader.json(run.run_id, SCORES_ARTIFACT)


def pick_run(record: Record, space: str, preset: str, setting: str, seed: int) -> SearchRow:
    """The newest FINISHED `single`-mode search of this space, preset, setting and seed: its pick is the one a
    stage-2 training of `rsws` trains (a `dense` search, the released code's supernet, is never a pick)."""
    from randnas.spaces import GenotypeError

    found = record.of(
        SearchRow,
        preset,
        lambda run: run.space == space and run.setting == setting and run.seed == seed and run.mode == "single",
    )
    if not found:
        raise GenotypeError(
            f"no FINISHED {EXPERIMENTS[space]} run with preset {preset!r}, setting {setting!r} and seed {seed}: "
            "run that search first (its plan entry comes before this one)"
        )
    return found[0]


class SearchLog:
    """What a search logs: its training metrics after each epoch, then its selection and digests."""

    def __init__(self, run: Any, space: str, epochs: int) -> None:
        self.run, self.space, self.epochs = run, space, epochs
        self.run_id = run.run_id

    def checkpoint_dir(self):
        return self.run.checkpoint_dir()

    def epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.run.metrics(metrics, step=epoch)

    def finish(self, selection: Any, weights_digest: str) -> None:
        """`selection`: the `SelectionResult` of the search."""
        self.run.json(selection.best.to_dict(), GENOTYPE_ARTIFACT)
        self.run.json(selection.scored, SCORES_ARTIFACT)
        best = (
            {BEST_SCORE: selection.best_score}
            if self.space == "cnn"
            else {BEST_VALID_PPL: -selection.best_score}  # PTB scores are minus perplexity
        )
        self.run.metrics({**best, SCORED: len(selection.scored)}, step=self.epochs)
        self.run.tags({TAG_DIGEST: weights_digest, TAG_GENOTYPE: selection.best.to_darts()})


@contextmanager
def open_run(
    space: str,
    setting: str,
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
) -> Iterator[SearchLog]:
    extra = {TAG_SETTING: setting, TAG_REPEAT: repeat, TAG_DEVICE: device, TAG_PRECISION: precision}
    if space == "cnn":
        extra[TAG_MODE] = config.mode
    name = f"{setting}-{config.mode}-seed{seed}-r{repeat}" if space == "cnn" else f"{setting}-seed{seed}-r{repeat}"
    tags = run_tags(
        seed=seed, preset=preset, benchmark=BENCHMARK_TAG[space], datasets=[data], plan_key=plan_key, extra=extra
    )
    with tracked_run(EXPERIMENTS[space], name, tags=tags, config=config, store=store, held_lock=held_lock) as run:
        yield SearchLog(run, space, config.epochs)
