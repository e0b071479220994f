"""Checkpoints are read with weights_only=True: a planted pickle is refused without running, a damaged
file is named with what to do, and every trainer's checkpoint (RNG states included) loads that way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from randnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint


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
    with pytest.raises(RuntimeError, match=f"checkpoint {folder / CHECKPOINT_NAME} cannot be read as a randnas checkpoint"):
        load_checkpoint(folder, modules={})
    assert not (tmp_path / "planted-code-ran").exists()


def test_a_truncated_checkpoint_is_named_with_what_to_do(tmp_path):
    model = nn.Linear(3, 2)
    path = save_checkpoint(tmp_path, epoch=1, modules={"model": model})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RuntimeError, match="move it away or delete it, then rerun"):
        load_checkpoint(tmp_path, modules={"model": model})


def test_a_checkpoint_with_every_rng_and_a_generator_loads_safely(tmp_path):
    model, sampler = nn.Linear(3, 2), np.random.default_rng(7)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    save_checkpoint(tmp_path, epoch=3, modules={"model": model, "optimizer": optimizer}, generators={"sampler": sampler},
                    extra={"history": [{"loss": 1.5}], "best": float("inf")})
    expected = sampler.integers(0, 1000, 5).tolist(), np.random.rand(3).tolist()
    np.random.seed(123)
    restored = np.random.default_rng(99)
    epoch, extra = load_checkpoint(tmp_path, modules={"model": nn.Linear(3, 2), "optimizer": optimizer},
                                   generators={"sampler": restored})
    assert (epoch, extra["history"]) == (3, [{"loss": 1.5}])
    assert (restored.integers(0, 1000, 5).tolist(), np.random.rand(3).tolist()) == expected
