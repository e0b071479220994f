"""Checkpoints are read with weights_only=True: a planted pickle is refused without running, a damaged
file is named, set aside and the checkpoint before it used, and every trainer's checkpoint (RNG states
included) loads that way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from randnas.train.checkpoint import CHECKPOINT_NAME, DAMAGED_SUFFIX, PREVIOUS_NAME, load_checkpoint, save_checkpoint


class Planted:
    """What a hostile `last.pt` holds: unpickling it would call os.system."""

    def __reduce__(self):
        import os

        return os.system, ("touch planted-code-ran",)


def test_a_planted_pickle_checkpoint_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "run"
    folder.mkdir()
    torch.save({"epoch": 1, "modules": {}, "payload": Planted()}, folder / CHECKPOINT_NAME)
    with pytest.warns(
        UserWarning, match=f"checkpoint {folder / CHECKPOINT_NAME} cannot be read as a randnas checkpoint"
    ):
        assert load_checkpoint(folder, modules={}) is None  # nothing else to resume from: start afresh
    assert not (tmp_path / "planted-code-ran").exists()
    assert (folder / (CHECKPOINT_NAME + DAMAGED_SUFFIX)).is_file()  # set aside, not deleted


def weights_at(epoch: int) -> nn.Linear:
    model = nn.Linear(3, 2)
    nn.init.constant_(model.weight, float(epoch))
    return model


def test_two_checkpoints_are_kept_and_a_truncated_last_one_falls_back_to_the_previous(tmp_path):
    for epoch in (1, 2, 3):
        path = save_checkpoint(tmp_path, epoch=epoch, modules={"model": weights_at(epoch)})
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME, PREVIOUS_NAME]
    path.write_bytes(path.read_bytes()[:100])  # a full disk, say
    restored = nn.Linear(3, 2)
    with pytest.warns(UserWarning, match=f"{path} cannot be read.*moved it to {path}{DAMAGED_SUFFIX}"):
        epoch, _ = load_checkpoint(tmp_path, modules={"model": restored})
    assert epoch == 2 and float(restored.weight[0, 0].detach()) == 2.0
    assert (tmp_path / (CHECKPOINT_NAME + DAMAGED_SUFFIX)).is_file()


@pytest.mark.parametrize("content", [b"abc\n", b"hello world " * 50, b"", b"PK\x03\x04abc"])
def test_a_last_checkpoint_holding_text_or_junk_is_set_aside_like_a_damaged_one(tmp_path, content):
    save_checkpoint(tmp_path, epoch=1, modules={"model": weights_at(1)})
    save_checkpoint(tmp_path, epoch=2, modules={"model": weights_at(2)})
    (tmp_path / CHECKPOINT_NAME).write_bytes(content)
    with pytest.warns(UserWarning, match="cannot be read as a randnas checkpoint"):
        epoch, _ = load_checkpoint(tmp_path, modules={"model": nn.Linear(3, 2)})
    assert epoch == 1
    assert (tmp_path / (CHECKPOINT_NAME + DAMAGED_SUFFIX)).read_bytes() == content


def test_a_kill_between_the_two_renames_resumes_from_the_previous_checkpoint(tmp_path):
    save_checkpoint(tmp_path, epoch=1, modules={"model": weights_at(1)})
    save_checkpoint(tmp_path, epoch=2, modules={"model": weights_at(2)})
    (tmp_path / CHECKPOINT_NAME).unlink()  # last.pt already renamed, the new one not yet in place
    epoch, _ = load_checkpoint(tmp_path, modules={"model": nn.Linear(3, 2)})
    assert epoch == 1


def test_a_checkpoint_with_every_rng_and_a_generator_loads_safely(tmp_path):
    model, sampler = nn.Linear(3, 2), np.random.default_rng(7)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    save_checkpoint(
        tmp_path,
        epoch=3,
        modules={"model": model, "optimizer": optimizer},
        generators={"sampler": sampler},
        extra={"history": [{"loss": 1.5}], "best": float("inf")},
    )
    expected = sampler.integers(0, 1000, 5).tolist(), np.random.rand(3).tolist()
    np.random.seed(123)
    restored = np.random.default_rng(99)
    epoch, extra = load_checkpoint(
        tmp_path, modules={"model": nn.Linear(3, 2), "optimizer": optimizer}, generators={"sampler": restored}
    )
    assert (epoch, extra["history"]) == (3, [{"loss": 1.5}])
    assert (restored.integers(0, 1000, 5).tolist(), np.random.rand(3).tolist()) == expected
