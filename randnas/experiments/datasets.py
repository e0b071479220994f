"""The benchmarks chapter's run (`foundation/datasets`): each dataset's statistics, checksums and samples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from randnas.experiments.base import Run, common
from randnas.record.store import StoredRun
from randnas.record.writer import run_tags, tracked_run

EXPERIMENT = "foundation/datasets"
SUMMARY_ARTIFACT = "datasets.json"


@dataclass(frozen=True, kw_only=True)
class DatasetsRow(Run):
    pass


def row(stored: StoredRun) -> DatasetsRow:
    return DatasetsRow(**common(stored))


class DatasetsLog:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.run_id = run.run_id

    def finish(self, image_table: Any, text_table: Any, figures: dict[str, Any], texts: list[Any]) -> None:
        """The summary tables, a sample figure per image set and each corpus's vocabulary size."""
        summary = {
            "images": image_table.reset_index().to_dict("records"),
            "texts": text_table.reset_index().to_dict("records"),
        }
        self.run.json(summary, SUMMARY_ARTIFACT)
        for name, figure in figures.items():
            self.run.figure(figure, f"samples-{name}.png")
        self.run.metrics({f"{corpus.name}/vocabulary": corpus.vocab_size for corpus in texts}, step=0)


@contextmanager
def open_run(
    config: Any, datasets: list[Any], *, seed: int, preset: str, plan_key: str, store: Any = None, held_lock: str = ""
) -> Iterator[DatasetsLog]:
    tags = run_tags(seed=seed, preset=preset, benchmark="datasets", datasets=datasets, plan_key=plan_key)
    with tracked_run(
        EXPERIMENT, f"datasets-{preset}-seed{seed}", tags=tags, config=config, store=store, held_lock=held_lock
    ) as run:
        yield DatasetsLog(run)
