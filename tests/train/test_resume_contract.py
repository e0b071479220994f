"""The resume contract, for every trainer and searcher built on the one epoch loop: a run killed after its first
of three epochs and resumed from its checkpoint (in a process whose global random state is elsewhere) ends with
the history, the learning rate of every epoch and the weights of the run that was never stopped.

Three epochs, because two hide a lost learning-rate schedule: the optimizer's saved state carries the next
epoch's learning rate, so only the epoch after that shows a schedule that restarted."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from randnas.data import load_corpus, load_image_data
from randnas.repro import seed_everything, state_dict_digest
from randnas.search.cnn import CnnSearch, cnn_setting
from randnas.search.darts import DartsCnnSearch, DartsNb201Search, darts_cnn_setting, darts_nb201_setting
from randnas.search.darts_rnn import DartsRnnSearch, darts_rnn_setting
from randnas.search.enas_search import enas_search, enas_setting
from randnas.search.nb201 import Nb201Search, Nb201SearchConfig
from randnas.search.rnn import RnnSearch, rnn_setting
from randnas.spaces.named import get_genotype
from randnas.train.cnn import CnnTrainConfig, CnnTrainer
from randnas.train.loop import EpochTrainer
from randnas.train.ptb import PtbTrainConfig, PtbTrainer

EPOCHS = 3
CNN = {"epochs": EPOCHS, "channels": 4, "layers": 3, "batch_size": 32, "max_steps_per_epoch": 2}
RNN = {"epochs": EPOCHS, "hidden": 8, "batch_size": 8, "max_steps_per_epoch": 2}
NB201 = {"epochs": EPOCHS, "channels": 4, "cells_per_stage": 1, "batch_size": 32, "max_steps_per_epoch": 2}
ANNEALED = ("rsws cnn", "rsws nb201", "darts cnn", "darts nb201", "enas cnn", "enas nb201", "train cnn")  # cosine
CONTROLLER = {"controller": {"train_steps": 2, "num_aggregate": 2, "derive_samples": 2}}


def trainers() -> dict[str, Callable[[int], EpochTrainer]]:
    """Each kind of epoch loop at a tiny size, built from a seed as its notebook builds it."""
    digits, pydoc = load_image_data("digits"), load_corpus("pydoc")
    return {
        "rsws cnn": lambda seed: CnnSearch(
            cnn_setting("random1", **CNN, archs_per_round=2, top_k=1, quick_minibatches=1), digits, seed, "cpu"
        ),
        "rsws nb201": lambda seed: Nb201Search(
            Nb201SearchConfig(**NB201, scored_cells=3, score_minibatches=1), digits, seed, "cpu"
        ),
        "rsws rnn": lambda seed: RnnSearch(
            rnn_setting("random1", **RNN, eval_batch_size=16, archs_per_round=2, top_k=1), pydoc, seed, "cpu"
        ),
        "darts cnn": lambda seed: DartsCnnSearch(darts_cnn_setting("darts-second", **CNN), digits, seed, "cpu"),
        "darts nb201": lambda seed: DartsNb201Search(darts_nb201_setting("darts-second", **NB201), digits, seed, "cpu"),
        "darts rnn": lambda seed: DartsRnnSearch(
            darts_rnn_setting("darts-second", **RNN, eval_batch_size=16, max_eval_chunks=2), pydoc, seed, "cpu"
        ),
        "enas cnn": lambda seed: enas_search("cnn", enas_setting("cnn", {**CNN, **CONTROLLER}), digits, seed, "cpu"),
        "enas nb201": lambda seed: enas_search(
            "nb201", enas_setting("nb201", {**NB201, **CONTROLLER}), digits, seed, "cpu"
        ),
        "enas rnn": lambda seed: enas_search(
            "rnn", enas_setting("rnn", {**RNN, **CONTROLLER, "eval_batch_size": 8}), pydoc, seed, "cpu"
        ),
        "train cnn": lambda seed: CnnTrainer(
            CnnTrainConfig(**{**CNN, "batch_size": 64}, cutout=2, lr=0.05),
            get_genotype("cnn", "DARTS_V2"),
            digits,
            "cpu",
        ),
        "train ptb": lambda seed: PtbTrainer(
            PtbTrainConfig(**RNN, nonmono=1, eval_batch_size=16, test_eval_batch_size=16, max_eval_chunks=2),
            get_genotype("rnn", "DARTS_V2"),
            pydoc,
            seed,
            "cpu",
        ),
    }


BUILD = trainers()


class Killed(Exception):
    """What a kill between two epochs leaves: the first epoch's checkpoint on disk, nothing after it."""


def learning_rates(trainer: EpochTrainer) -> tuple[float, ...]:
    """The learning rate every optimizer of the trainer will use next."""
    modules, _ = trainer.checkpointed()
    return tuple(
        group["lr"]
        for name, optimizer in sorted(modules.items())
        if "optimizer" in name
        for group in optimizer.param_groups
    )


def weights_digest(trainer: EpochTrainer) -> str:
    """The digest of every trained module's weights (the network's, and DARTS' architecture weights)."""
    modules, _ = trainer.checkpointed()
    weights = {
        f"{name}.{key}": value
        for name, module in sorted(modules.items())
        if "optimizer" not in name and "scheduler" not in name
        for key, value in module.state_dict().items()
    }
    return state_dict_digest(weights)


def run(kind: str, seed: int, checkpoint_dir=None, stop_after: int | None = None):
    """Build the trainer from its seed (as a fresh process does) and train it; the history, the learning rates after
    each epoch, the final weights' digest and whatever else its checkpoint keeps (a DARTS search's cell per epoch,
    the PTB trainer's switch to averaged SGD)."""
    seed_everything(seed)
    trainer = BUILD[kind](seed)
    rates: list[tuple[float, ...]] = []

    def on_epoch(epoch: int, metrics: dict) -> None:
        rates.append(learning_rates(trainer))
        if epoch == stop_after:
            raise Killed

    history = trainer.train_epochs(EPOCHS, checkpoint_dir, on_epoch)
    return history, rates, weights_digest(trainer), repr(trainer.extra_state())


@pytest.mark.parametrize("kind", list(BUILD))
def test_a_run_killed_after_its_first_epoch_resumes_to_the_uninterrupted_runs_end(kind, tmp_path):
    straight_history, straight_rates, straight_digest, straight_state = run(kind, 3)
    with pytest.raises(Killed):
        run(kind, 3, tmp_path, stop_after=1)
    np.random.seed(12345)  # a new process: its global generators are anywhere
    torch.manual_seed(12345)
    history, rates, digest, state = run(kind, 3, tmp_path)
    assert history == straight_history and state == straight_state
    # the resume reports the checkpointed epoch again (at the state it restored), then the epochs it trains, at the
    # learning rates of the straight run
    assert rates == straight_rates
    assert digest == straight_digest
    if kind in ANNEALED:  # the schedule moves every epoch, so a restarted one could not go unseen
        assert len(set(straight_rates)) == EPOCHS


class ServerGone(Exception):
    """The tracking server dying between an epoch's checkpoint and its report."""


def test_an_epoch_whose_report_was_lost_with_its_server_is_reported_on_resume(store):
    """The epoch is checkpointed, its metrics never arrive, the job fails; the rerun resumes the run, trains
    only the epochs after it, and ends with every epoch's metrics equal to an uninterrupted run's, step for step."""
    from types import SimpleNamespace

    from randnas.record.store import metric_history, open_store
    from randnas.record.writer import run_tags, tracked_run

    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)

    def attempt(plan_key: str, lose_report_of: int | None = None) -> str:
        seed_everything(3)
        trainer = BUILD["train cnn"](3)
        tags = run_tags(seed=3, preset="smoke", benchmark="toy", datasets=[toy], plan_key=plan_key)
        with tracked_run("toy/lost-report", "toy", tags=tags) as run:

            def report(epoch: int, metrics: dict) -> None:
                if epoch == lose_report_of:
                    raise ServerGone
                run.metrics(metrics, step=epoch)

            trainer.train_epochs(EPOCHS, run.checkpoint_dir(), report)
        return run.run_id

    straight = attempt("p/straight")
    with pytest.raises(ServerGone):
        attempt("p/interrupted", lose_report_of=2)
    resumed = attempt("p/interrupted")
    opened = open_store()
    keys = sorted(opened.client().get_run(straight).data.metrics)
    assert keys == sorted(opened.client().get_run(resumed).data.metrics)
    for key in keys:
        assert [step for step, _ in metric_history(opened, resumed, key)] == list(range(1, EPOCHS + 1)), key
        assert metric_history(opened, resumed, key) == metric_history(opened, straight, key), key
