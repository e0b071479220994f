"""The one epoch loop: checkpoint before report, exact resume after a kill at any epoch, and a resume
from the checkpoint before a damaged one retraining (not skipping) the lost epoch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from randnas.repro import numpy_generator, state_dict_digest
from randnas.train.checkpoint import CHECKPOINT_NAME
from randnas.train.loop import EpochTrainer


class Stop(Exception):
    pass


class TinyTrainer(EpochTrainer):
    """Noisy SGD on a linear model: the global torch RNG, a numpy generator and an extra counter all matter."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.model = nn.Linear(4, 1)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.rng = numpy_generator(0, 1)
        self.steps = 0

    def train_one_epoch(self, epoch: int) -> dict:
        for _ in range(3):
            x = torch.randn(8, 4) * float(self.rng.random())
            loss = self.model(x).pow(2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.steps += 1
        return {"loss": float(loss.detach()), "steps": self.steps}

    def checkpointed(self):
        return {"model": self.model, "optimizer": self.optimizer}, {"rng": self.rng}

    def extra_state(self) -> dict:
        return {"steps": self.steps}

    def restore_extra_state(self, extra) -> None:
        self.steps = extra["steps"]


def counting(trainer: TinyTrainer) -> tuple[TinyTrainer, list[int]]:
    """The trainer, and the list of the epochs it trains from now on."""
    trained: list[int] = []
    train_one_epoch = trainer.train_one_epoch

    def counted(epoch: int) -> dict:
        trained.append(epoch)
        return train_one_epoch(epoch)

    trainer.train_one_epoch = counted  # type: ignore[method-assign]
    return trainer, trained


def digest(trainer: TinyTrainer) -> str:
    return state_dict_digest(trainer.model.state_dict())


def test_a_run_killed_after_any_epoch_resumes_to_the_same_weights_and_history(tmp_path):
    straight = TinyTrainer()
    expected = straight.train_epochs(5)
    for kill_at in (1, 3, 4):
        folder = tmp_path / f"kill{kill_at}"

        def stop(epoch, metrics, kill_at=kill_at):
            if epoch == kill_at:
                raise Stop

        with pytest.raises(Stop):
            TinyTrainer().train_epochs(5, folder, stop)
        torch.manual_seed(123)  # the resumed process's own RNG state must not matter
        resumed, trained = counting(TinyTrainer())
        reported = []
        history = resumed.train_epochs(5, folder, lambda epoch, metrics, seen=reported: seen.append((epoch, metrics)))
        assert history == expected and digest(resumed) == digest(straight)
        assert trained == list(range(kill_at + 1, 6))  # checkpointed epochs are never trained again
        # every epoch is reported: the checkpointed ones again, from the history (a report lost between checkpoint
        # and report comes back; the tracking side skips what it holds), then the trained ones
        assert reported == [(epoch, expected[epoch - 1]) for epoch in range(1, 6)]


def test_epochs_are_checkpointed_before_they_are_reported(tmp_path):
    seen = []
    TinyTrainer().train_epochs(2, tmp_path, lambda epoch, metrics: seen.append((tmp_path / CHECKPOINT_NAME).is_file()))
    assert seen == [True, True]


def test_a_damaged_last_checkpoint_retrains_its_epoch_from_the_one_before(tmp_path):
    straight = TinyTrainer()
    straight.train_epochs(4)
    TinyTrainer().train_epochs(3, tmp_path)
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    resumed, trained = counting(TinyTrainer())
    reported = []
    with pytest.warns(UserWarning, match="cannot be read as a randnas checkpoint"):
        history = resumed.train_epochs(4, tmp_path, lambda epoch, metrics: reported.append(epoch))
    assert trained == [3, 4] and reported == [1, 2, 3, 4]
    assert len(history) == 4 and digest(resumed) == digest(straight)
