"""The shared-weight ranking check (`cnn/ranking`): cells a CNN search scored with its shared weights, trained
stand-alone, and the rank agreement between the two."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from randnas.experiments.base import (
    TAG_PARENT,
    TAG_PRECISION,
    TAG_SEARCH_SEED,
    TAG_SEARCH_SETTING,
    Record,
    Run,
    common,
    integer,
    real,
)
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE
from randnas.record.writer import run_tags, tracked_run

EXPERIMENT = "cnn/ranking"
PAIRS_ARTIFACT = "ranking/pairs.json"


@dataclass(frozen=True, kw_only=True)
class RankingRow(Run):
    search_setting: str
    search_seed: int | None
    parent: str  # the search whose scored cells were retrained ("" when it ran unlogged in the notebook)
    kendall_tau: float
    kendall_p: float
    spearman_rho: float
    spearman_p: float


def row(stored: StoredRun) -> RankingRow:
    tags, metrics = stored.tags, stored.metrics
    return RankingRow(
        **common(stored),
        search_setting=tags.get(TAG_SEARCH_SETTING, ""),
        search_seed=integer(tags.get(TAG_SEARCH_SEED)),
        parent=tags.get(TAG_PARENT, ""),
        kendall_tau=real(metrics.get("ranking/kendall_tau")),
        kendall_p=real(metrics.get("ranking/kendall_p")),
        spearman_rho=real(metrics.get("ranking/spearman_rho")),
        spearman_p=real(metrics.get("ranking/spearman_p")),
    )


def pairs(record: Record, run: RankingRow) -> list[dict]:
    """Each retrained cell: its shared-weight score and its stand-alone accuracy."""
    return record.reader.json(run.run_id, PAIRS_ARTIFACT)


def search_scores(
    record: Record,
    preset: str,
    search_setting: str,
    search_seed: int,
    data: Any,
    search_overrides: dict,
    device: str = "auto",
) -> tuple[list[dict], str]:
    """The scored cells of the CNN search of this preset, setting and seed, and its run id. Where the record has
    no such search (a fresh store, a notebook run alone), that search is run here at the size `search_overrides`
    gives, unlogged, and the run id is ""."""
    from randnas.experiments import rsws
    from randnas.spaces import GenotypeError

    try:
        search = rsws.pick_run(record, "cnn", preset, search_setting, search_seed)
    except GenotypeError:
        from randnas.repro import seed_everything
        from randnas.search.cnn import CnnSearch, cnn_setting

        seed_everything(search_seed)
        unlogged = CnnSearch(cnn_setting(search_setting, **search_overrides), data, search_seed, device)
        unlogged.train(None)
        return unlogged.select().scored, ""
    return rsws.scores(record, search), search.run_id


class RankingLog:
    def __init__(self, run: Any, epochs: int) -> None:
        self.run, self.epochs = run, epochs
        self.run_id = run.run_id

    def checkpoint_dir(self):
        return self.run.checkpoint_dir()

    def finish(self, cells: Any, agreement: dict[str, float]) -> None:
        """`cells`: a table of the retrained cells (score, stand-alone accuracy, genotype)."""
        self.run.json(cells.to_dict(orient="records"), PAIRS_ARTIFACT)
        self.run.metrics({f"ranking/{k}": v for k, v in agreement.items()}, step=self.epochs)


@contextmanager
def open_run(
    config: Any,
    data: Any,
    *,
    search_run: str,
    search_setting: str,
    search_seed: int,
    seed: int,
    preset: str,
    plan_key: str,
    device: str,
    precision: str = "fp32",
    store: Any = None,
    held_lock: str = "",
) -> Iterator[RankingLog]:
    extra = {
        TAG_PARENT: search_run,
        TAG_SEARCH_SETTING: search_setting,
        TAG_SEARCH_SEED: search_seed,
        TAG_DEVICE: device,
        TAG_PRECISION: precision,
    }
    tags = run_tags(seed=seed, preset=preset, benchmark="cifar10", datasets=[data], plan_key=plan_key, extra=extra)
    name = f"ranking-{search_setting}-s{search_seed}"
    with tracked_run(EXPERIMENT, name, tags=tags, config=config, store=store, held_lock=held_lock) as run:
        yield RankingLog(run, config.epochs)
