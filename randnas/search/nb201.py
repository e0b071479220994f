"""Random search with weight sharing on NAS-Bench-201, judged against the benchmark's real accuracies.

Stage 1 is the CNN search's (`SharedWeightSearch`): the NAS-Bench-201 supernet trained on the search part of
the training set with one new uniformly random cell per minibatch. A fixed set of distinct random cells is
scored with the shared weights (validation accuracy in eval mode) after each epoch in `score_epochs`, so the same
cells' ranking can be followed as the supernet trains; the pick is the best-scoring cell after the last epoch. The
search never reads the benchmark: looking the cells up is the analysis's job (`randnas.report.nb201`).

Two settings (`NB201_SETTINGS`). `project`, this project's: NAS-Bench-201's DARTS search config (50 epochs) and
every cell scored on the same validation batches (all of them, or the first `score_minibatches`). `rsps`,
NAS-Bench-201's own RSPS baseline (its RANDOM-NAS script and RANDOM.config, reference section 11): 250 epochs, and
each cell scored on one batch of 512 validation images, a different random batch per cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from torch.utils.data import DataLoader, Subset

from randnas.configs import require_positive
from randnas.data import ImageData
from randnas.nets.cnn_supernet import MODES
from randnas.nets.nb201 import Nb201Network
from randnas.repro import numpy_generator, state_dict_digest
from randnas.search.cnn import SELECT_ARCH_STREAM, EpochCallback, SharedWeightSearch
from randnas.spaces.nb201 import (
    NB201_CELLS,
    NB201_EDGES,
    NB201_OPS,
    Nb201Cell,
    nb201_cell_from_index,
    sample_nb201_cell,
)

SCORES_KEY = "cell_scores"  # in an epoch's history entry: the scored cells' accuracies, in `scored_cells` order
SCORE_BATCH_STREAM = 6  # the random validation batch of each scored cell (the `rsps` setting), apart from other draws
NB201_SETTINGS: dict[str, dict] = {"project": {}, "rsps": {"epochs": 250, "score_batch": 512}}


@dataclass(frozen=True)
class Nb201SearchConfig:
    """Defaults: this project's setting, NAS-Bench-201's DARTS search config (C=16, N=5, 50 epochs, batch 64, SGD lr
    0.025 cosine to 0.001, momentum 0.9 Nesterov, weight decay 5e-4, clip 5) and 100 scored cells, each scored on
    the same validation batches; `nb201_config("rsps")` is NAS-Bench-201's own RSPS (module docstring)."""

    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    channels: int = 16
    cells_per_stage: int = 5
    mode: str = "single"
    scored_cells: int = 100
    score_epochs: tuple[int, ...] = ()  # after which epochs to score; () = the last only
    score_minibatches: int = 0  # validation minibatches per cell, the same for every cell; 0 = all of them
    score_batch: int = 0  # > 0: each cell scored on one random batch of this many validation images (rsps)
    setting: str = "project"
    augment_valid: bool = False
    max_steps_per_epoch: int = 0  # 0: the whole training part; a positive cap is for small presets

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown weight-sharing mode {self.mode!r}; choose one of {', '.join(MODES)}")
        require_positive(self, "epochs", "batch_size", "channels", "cells_per_stage", "scored_cells")
        if self.setting not in NB201_SETTINGS:
            raise ValueError(f"unknown setting {self.setting!r}; choose one of {', '.join(NB201_SETTINGS)}")
        if self.score_batch and self.score_minibatches:
            raise ValueError(
                "score_batch (one batch per cell) and score_minibatches (the same batches) exclude each other"
            )
        if self.scored_cells > NB201_CELLS:
            raise ValueError(f"scored_cells is at most {NB201_CELLS} (every cell), got {self.scored_cells}")
        object.__setattr__(self, "score_epochs", tuple(int(e) for e in self.score_epochs))
        bad = [e for e in self.score_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"score_epochs {bad} are outside 1..{self.epochs}")

    @property
    def scoring_epochs(self) -> tuple[int, ...]:
        return tuple(sorted({*self.score_epochs, self.epochs}))


def nb201_config(setting: str = "project", overrides: dict | None = None) -> Nb201SearchConfig:
    """A setting of `NB201_SETTINGS` with a preset's overrides (smaller networks, fewer epochs) on top."""
    if setting not in NB201_SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose one of {', '.join(NB201_SETTINGS)}")
    return Nb201SearchConfig(**{**NB201_SETTINGS[setting], **(overrides or {}), "setting": setting})


def scored_cells(seed: int, count: int) -> list[Nb201Cell]:
    """`count` distinct cells drawn uniformly (without replacement) from the search's selection stream."""
    rng = numpy_generator(seed, SELECT_ARCH_STREAM)
    chosen = sorted(rng.choice(NB201_CELLS, size=count, replace=False))
    # cell k's index is k written in base 5 (one digit per edge), the order `all_nb201_cells` lists them in
    cells = [nb201_cell_from_index(np.base_repr(int(k), len(NB201_OPS)).zfill(len(NB201_EDGES))) for k in chosen]
    order = rng.permutation(count)  # scoring order independent of the index order
    return [cells[i] for i in order]


@dataclass
class Nb201SearchResult:
    pick: Nb201Cell
    score: float
    cells: list[Nb201Cell]
    scores: dict[int, list[float]]  # epoch -> each scored cell's shared-weight accuracy
    weights_digest: str
    history: list[dict]


class Nb201Search(SharedWeightSearch):
    def __init__(self, config: Nb201SearchConfig, data: ImageData, seed: int, device: str = "auto") -> None:
        channels, _, _ = data.image_shape
        net = Nb201Network(config.channels, config.cells_per_stage, data.num_classes, channels, mode=config.mode)
        super().__init__(config, data, seed, device, net, sample_nb201_cell)
        self.cells = scored_cells(seed, config.scored_cells)

    def score_batches(self) -> list:
        batches = self.loader(self.valid_set, shuffle=False)
        if self.config.score_minibatches:
            batches = itertools.islice(batches, self.config.score_minibatches)
        return list(batches)

    def cell_batches(self, epoch: int) -> Iterator[list]:
        """The `rsps` scoring: one batch of `score_batch` validation images per scored cell, each a different
        random batch (consecutive batches of a shuffled pass through the split, a new pass when it runs out)."""
        rng = numpy_generator(self.seed, SCORE_BATCH_STREAM, epoch)
        size, total = self.config.score_batch, len(self.valid_set)
        order, start = rng.permutation(total), 0
        for _ in self.cells:
            if start + size > total:
                order, start = rng.permutation(total), 0
            subset = Subset(self.valid_set, order[start : start + size].tolist())
            start += size
            yield list(DataLoader(subset, batch_size=size, shuffle=False, num_workers=0))

    def score(self, epoch: int) -> list[float]:
        if self.config.score_batch:
            batches = self.cell_batches(epoch)
            return [self.accuracy(cell, next(batches)) for cell in self.cells]
        batches = self.score_batches()
        return [self.accuracy(cell, batches) for cell in self.cells]

    def after_epoch(self, epoch: int, metrics: dict) -> None:
        if epoch in self.config.scoring_epochs:
            scores = self.score(epoch)
            metrics[SCORES_KEY] = scores
            metrics["score/best"] = max(scores)
            metrics["score/mean"] = float(np.mean(scores))

    def run(self, checkpoint_dir=None, on_epoch: EpochCallback | None = None) -> Nb201SearchResult:
        history = self.train(checkpoint_dir, on_epoch)
        scores = {epoch: entry[SCORES_KEY] for epoch, entry in enumerate(history, 1) if SCORES_KEY in entry}
        final = scores[self.config.epochs]
        best = int(np.argmax(final))  # ties: the first scored
        return Nb201SearchResult(
            self.cells[best], final[best], self.cells, scores, state_dict_digest(self.net.state_dict()), history
        )
