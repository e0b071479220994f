"""Random search with weight sharing on NAS-Bench-201, judged against the benchmark's real accuracies.

Stage 1 is the CNN search's (`SharedWeightSearch`): the NAS-Bench-201 supernet trained on the search part of
the training set with one new uniformly random cell per minibatch. A fixed set of distinct random cells is
scored with the shared weights (validation accuracy on the same validation minibatches for every cell, eval
mode) after each epoch in `score_epochs`, so the same cells' ranking can be followed as the supernet trains;
the pick is the best-scoring cell after the last epoch. The search never reads the benchmark: looking the
cells up is the analysis's job (`randnas.report.nb201`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

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


@dataclass(frozen=True)
class Nb201SearchConfig:
    """Defaults: NAS-Bench-201's search settings (C=16, N=5, 50 epochs, batch 64, SGD lr 0.025 cosine to 0.001,
    momentum 0.9 Nesterov, weight decay 5e-4, clip 5) and 100 scored cells, as its RSPS baseline evaluates."""

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
    augment_valid: bool = False
    max_steps_per_epoch: int = 0  # 0: the whole training part; a positive cap is for small presets

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown weight-sharing mode {self.mode!r}; choose one of {', '.join(MODES)}")
        require_positive(self, "epochs", "batch_size", "channels", "cells_per_stage", "scored_cells")
        if self.scored_cells > NB201_CELLS:
            raise ValueError(f"scored_cells is at most {NB201_CELLS} (every cell), got {self.scored_cells}")
        object.__setattr__(self, "score_epochs", tuple(int(e) for e in self.score_epochs))
        bad = [e for e in self.score_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"score_epochs {bad} are outside 1..{self.epochs}")

    @property
    def scoring_epochs(self) -> tuple[int, ...]:
        return tuple(sorted({*self.score_epochs, self.epochs}))


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

    def score(self) -> list[float]:
        batches = self.score_batches()
        return [self.accuracy(cell, batches) for cell in self.cells]

    def after_epoch(self, epoch: int, metrics: dict) -> None:
        if epoch in self.config.scoring_epochs:
            scores = self.score()
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
