"""ENAS on the three spaces: the shared weights and the controller trained in alternating phases, then the cell
derived from the controller (Pham et al. 2018, as the DARTS authors and NAS-Bench-201 reran it).

Each epoch has two phases, as ENAS' released code runs them (controller_train_every=1): one pass over the weight
half of the training set, one SGD step per minibatch on a cell the controller samples (the `single`-mode
supernets RSWS uses: only the sampled path runs); then the controller's REINFORCE phase on the validation half
(`randnas.search.enas.ControllerTrainer`), each sampled cell rewarded by its accuracy on one shuffled validation
minibatch (CIFAR-10, NAS-Bench-201) or by 80 / perplexity on one validation chunk (PTB). After the last epoch the
final cell is ENAS' derive step: `derive_samples` cells sampled from the controller, each scored on the next
validation minibatch in order, the best kept. After every epoch the controller's most likely cell is recorded too.

The shared weights train as the other searchers of the space train them here, so only the search differs:
the CNN and PTB supernets with DARTS' search settings (RSWS's Random (1)); NAS-Bench-201's with its ENAS config
(AutoDL-Projects configs/nas-benchmark/algos/ENAS.config: 310 epochs, batch 128, SGD lr 0.05 cosine to 0.0005,
Nesterov momentum 0.9, weight decay 2.5e-4, clip 5; its T_max restart field is not followed, the cosine runs
once over all epochs). Checkpoints hold the controller, its optimiser, baseline and generators, so a killed
search resumes to the same controller and weights.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from randnas.configs import SettingError, require_positive
from randnas.data import ImageData, TokenCorpus
from randnas.nets.cnn_supernet import SharedCnnNetwork
from randnas.nets.nb201 import Nb201Network
from randnas.repro import numpy_generator, state_dict_digest
from randnas.search.cnn import SharedWeightSearch, cycle
from randnas.search.enas import PROGRAMS, ControllerConfig, ControllerTrainer, Sample, controller_setting
from randnas.search.rnn import RnnSearch
from randnas.train.lm import LanguageModelSettings, perplexity
from randnas.train.loop import EpochCallback

CONTROLLER_STREAM, REWARD_BATCH_STREAM = 7, 8  # the controller's own draws, apart from the searches' other streams
SPACES = ("cnn", "rnn", "nb201")


def stream_seed(seed: int, stream: int) -> int:
    """A torch generator seed drawn from the run's numpy SeedSequence stream `stream`."""
    return int(numpy_generator(seed, stream).integers(2**62))


@dataclass(frozen=True)
class EnasCnnConfig:
    """ENAS on the DARTS CNN space: the supernet trained with DARTS' search settings (as RSWS and DARTS here)."""

    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    channels: int = 16
    layers: int = 8
    augment_valid: bool = True  # ENAS rewards on augmented ("shuffled") validation minibatches
    max_steps_per_epoch: int = 0  # 0: the whole weight half; a positive cap is for small presets
    controller: ControllerConfig = field(default_factory=lambda: controller_setting("cnn"))

    def __post_init__(self) -> None:
        require_positive(self, "epochs", "batch_size", "channels")
        if self.layers < 3:
            raise SettingError(f"layers must be at least 3 (two reduction cells and one normal), got {self.layers}")


@dataclass(frozen=True)
class EnasNb201Config:
    """ENAS on NAS-Bench-201 with the benchmark's ENAS config for the shared weights (module docstring)."""

    epochs: int = 310
    batch_size: int = 128
    lr: float = 0.05
    lr_min: float = 0.0005
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 2.5e-4
    grad_clip: float = 5.0
    channels: int = 16
    cells_per_stage: int = 5
    augment_valid: bool = True  # ENAS.py gives the validation loader the training transform
    max_steps_per_epoch: int = 0
    controller: ControllerConfig = field(default_factory=lambda: controller_setting("nb201"))

    def __post_init__(self) -> None:
        require_positive(self, "epochs", "batch_size", "channels", "cells_per_stage")


@dataclass(frozen=True)
class EnasRnnConfig(LanguageModelSettings):
    """ENAS on the DARTS recurrent space: the proxy network with DARTS' search settings (RSWS's Random (1));
    each controller sample is scored on one validation chunk of `bptt` steps at `eval_batch_size`."""

    eval_batch_size: int = 64
    controller: ControllerConfig = field(default_factory=lambda: controller_setting("rnn"))

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "eval_batch_size")


CONFIGS: dict[str, type] = {"cnn": EnasCnnConfig, "rnn": EnasRnnConfig, "nb201": EnasNb201Config}


def enas_setting(space: str, overrides: dict | None = None) -> Any:
    """ENAS' setting `enas` on `space` with a preset's overrides on top; `controller` holds the controller's."""
    if space not in CONFIGS:
        raise SettingError(f"unknown ENAS space {space!r}; choose one of {', '.join(SPACES)}")
    overrides = dict(overrides or {})
    config_type = CONFIGS[space]
    unknown = set(overrides) - {f.name for f in dataclasses.fields(config_type)}
    if unknown:
        raise SettingError(f"unknown ENAS {space} field(s) {sorted(unknown)}")
    controller = controller_setting(space, **dict(overrides.pop("controller", None) or {}))
    return config_type(**overrides, controller=controller)


def op_counts(program_ops: Sequence[str], samples: Sequence[Sample], ops_of: Callable[[Any], Sequence[str]]) -> dict:
    """How often each op was used by the sampled cells (every op listed, unused ones at 0)."""
    counts = Counter(op for sample in samples for op in ops_of(sample.cell))
    return {op: counts.get(op, 0) for op in program_ops}


def cell_ops(cell: Any) -> list[str]:
    """The ops a cell of any of the three spaces uses, edge by edge."""
    if hasattr(cell, "normal"):
        return [op for op, _ in (*cell.normal, *cell.reduce)]
    if hasattr(cell, "recurrent"):
        return [op for op, _ in cell.recurrent]
    return list(cell.ops)


@dataclass
class EnasResult:
    genotype: Any  # the derived cell (the stage-2 pick)
    score: float  # its score in the derive step (accuracy, or perplexity on PTB)
    derived: list[tuple[str, float]]  # every derive sample and its score
    genotypes: list[str]  # the controller's most likely cell after each epoch
    op_counts: list[dict]  # per epoch: ops used by the cells the weights trained on
    controller_digest: str
    weights_digest: str
    history: list[dict]


class EnasState:
    """What every ENAS search adds to its epoch loop: the controller, the cells it sampled for the weight steps,
    its most likely cell per epoch; and what the checkpoint must hold for them."""

    def _init_enas(self, space: str, config: Any, seed: int, reward: str) -> None:
        self.space = space
        self.program = PROGRAMS[space]()
        self.controller = ControllerTrainer(
            self.program, config.controller, stream_seed(seed, CONTROLLER_STREAM), reward
        )
        self.epoch_samples: list[Sample] = []
        self.genotypes: list[str] = []
        self.op_counts: list[dict] = []

    def training_cell(self) -> Any:
        """The cell of the next weight step: sampled from the controller (ENAS' train_shared_cnn)."""
        sample = self.controller.sample()
        self.epoch_samples.append(sample)
        return sample.cell

    def controller_phase(self, metrics: dict, score: Callable[[Any], float]) -> None:
        phase = self.controller.train(score)
        metrics.update(
            {
                "controller/reward": phase.reward,
                f"controller/{'valid_acc' if self.controller.reward_kind == 'accuracy' else 'valid_ppl'}": phase.score,
                "controller/entropy": phase.entropy,
                "controller/baseline": phase.baseline,
                "controller/loss": phase.loss,
            }
        )
        self.genotypes.append(self.controller.greedy().to_darts())
        self.op_counts.append(op_counts(self.program.ops, self.epoch_samples, cell_ops))
        self.epoch_samples = []

    def enas_modules(self) -> tuple[dict, dict]:
        return self.controller.modules(), {"controller": self.controller.generator}

    def extra_state(self) -> dict[str, Any]:
        return {"baseline": self.controller.baseline, "genotypes": self.genotypes, "op_counts": self.op_counts}

    def restore_extra_state(self, extra) -> None:
        self.controller.baseline = float(extra["baseline"])
        self.genotypes, self.op_counts = list(extra["genotypes"]), [dict(c) for c in extra["op_counts"]]

    def result(self, history: list[dict], score: Callable[[Any], float], weights: dict) -> EnasResult:
        genotype, best, derived = self.controller.derive(score)
        return EnasResult(
            genotype=genotype,
            score=best,
            derived=[(cell.to_darts(), value) for cell, value in derived],
            genotypes=list(self.genotypes),
            op_counts=list(self.op_counts),
            controller_digest=state_dict_digest(self.controller.controller.state_dict()),
            weights_digest=state_dict_digest(weights),
            history=history,
        )


class EnasImageSearch(EnasState, SharedWeightSearch):
    """ENAS on the CNN space or NAS-Bench-201 (`space`), for one seed; `run()` resumes from a checkpoint."""

    def __init__(self, space: str, config: Any, data: ImageData, seed: int, device: str = "auto") -> None:
        channels, _, _ = data.image_shape
        if space == "cnn":
            net = SharedCnnNetwork(config.channels, config.layers, data.num_classes, channels, "single")
        elif space == "nb201":
            net = Nb201Network(config.channels, config.cells_per_stage, data.num_classes, channels, mode="single")
        else:
            raise SettingError(f"ENAS on images runs on the cnn or nb201 space, not {space!r}")
        super().__init__(config, data, seed, device, net, lambda _rng: self.training_cell())
        self._init_enas(space, config, seed, "accuracy")
        self.reward_generator = torch.Generator().manual_seed(stream_seed(seed, REWARD_BATCH_STREAM))

    def after_epoch(self, epoch: int, metrics: dict) -> None:
        # a new shuffled pass over the validation half for each phase, drawn from the search's own generator
        loader = DataLoader(
            self.valid_set, batch_size=self.config.batch_size, shuffle=True, generator=self.reward_generator
        )
        batches = cycle(loader)
        self.controller_phase(metrics, lambda cell: self.accuracy(cell, [next(batches)]))

    def checkpointed(self) -> tuple[dict, dict]:
        modules, generators = super().checkpointed()
        enas_modules, enas_generators = self.enas_modules()
        return {**modules, **enas_modules}, {**generators, **enas_generators, "reward": self.reward_generator}

    def run(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> EnasResult:
        history = self.train(checkpoint_dir, on_epoch)
        batches = cycle(self.loader(self.valid_set, shuffle=False))  # sample i scored on validation batch i
        return self.result(history, lambda cell: self.accuracy(cell, [next(batches)]), self.net.state_dict())


class EnasRnnSearch(EnasState, RnnSearch):
    """ENAS on the DARTS recurrent space (PTB) for one seed; `run()` resumes from a checkpoint."""

    def __init__(self, config: EnasRnnConfig, corpus: TokenCorpus, seed: int, device: str = "auto") -> None:
        super().__init__(config, corpus, seed, device)
        self._init_enas("rnn", config, seed, "perplexity")

    def training_genotype(self) -> Any:
        return self.training_cell()

    def chunk_scores(self) -> Callable[[Any], float]:
        """Perplexity of a cell on the next validation chunk, from the split's start, wrapping at its end (ENAS
        resets the validation state before each controller phase)."""
        bptt, rows = self.config.bptt, self.valid_data.shape[0]
        starts = iter(cycle(range(0, rows - 1, bptt)))

        def score(cell: Any) -> float:
            start = next(starts)
            return perplexity(self.model, self.valid_data[start : start + bptt + 1], cell, bptt)

        return score

    def train_one_epoch(self, epoch: int) -> dict:
        metrics = self.train_epoch()
        self.controller_phase(metrics, self.chunk_scores())
        return metrics

    def checkpointed(self) -> tuple[dict, dict]:
        modules, generators = super().checkpointed()
        enas_modules, enas_generators = self.enas_modules()
        return {**modules, **enas_modules}, {**generators, **enas_generators}

    def run(self, checkpoint_dir: Path | None = None, on_epoch: EpochCallback | None = None) -> EnasResult:
        history = self.train(checkpoint_dir, on_epoch)
        return self.result(history, self.chunk_scores(), self.model.state_dict())


def enas_search(space: str, config: Any, data: Any, seed: int, device: str = "auto") -> EnasImageSearch | EnasRnnSearch:
    """The ENAS search of `space` on its data (images for cnn and nb201, a corpus for rnn)."""
    if space == "rnn":
        return EnasRnnSearch(config, data, seed, device)
    return EnasImageSearch(space, config, data, seed, device)


def sampled_share(counts: dict[str, int]) -> dict[str, float]:
    """Each op's share of an epoch's sampled edges."""
    total = sum(counts.values())
    return {op: (count / total if total else math.nan) for op, count in counts.items()}
