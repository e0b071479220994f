"""Seeds, RNG states, digests and the fingerprint (randnas.repro)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from randnas import repro


def train_a_little(seed: int, steps: int = 5) -> tuple[str, str]:
    """A few SGD steps of a small net whose data, init and dropout all draw from the seeded generators."""
    repro.seed_everything(seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(steps):
        x = torch.randn(32, 8) + float(np.random.rand()) + random.random()
        y = torch.randint(0, 3, (32,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return repro.state_dict_digest(model.state_dict()), repro.metric_series_digest(losses)


def test_seed_everything_same_seed_same_digests():
    assert train_a_little(0) == train_a_little(0)


def test_seed_everything_other_seed_other_digests():
    weights_0, losses_0 = train_a_little(0)
    weights_1, losses_1 = train_a_little(1)
    assert weights_0 != weights_1
    assert losses_0 != losses_1


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        repro.seed_everything(bad)


def draw_from_every_generator() -> tuple:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_restore_continues_exactly():
    repro.seed_everything(3)
    draw_from_every_generator()
    state = repro.capture_rng_state()
    expected = [draw_from_every_generator() for _ in range(3)]
    repro.seed_everything(99)  # move every generator elsewhere
    repro.restore_rng_state(state)
    assert [draw_from_every_generator() for _ in range(3)] == expected


def test_rng_state_survives_torch_save(tmp_path):
    repro.seed_everything(5)
    torch.save(repro.capture_rng_state(), tmp_path / "rng.pt")
    expected = draw_from_every_generator()
    repro.seed_everything(6)
    repro.restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))  # plain tensors and numbers
    assert draw_from_every_generator() == expected


def test_state_dict_digest_sees_one_changed_bit():
    weights = {"w": torch.zeros(4, dtype=torch.float32), "b": torch.ones(2)}
    before = repro.state_dict_digest(weights)
    weights["w"][2] = torch.finfo(torch.float32).tiny  # smallest normal float: one bit pattern apart
    assert repro.state_dict_digest(weights) != before


def test_state_dict_digest_ignores_insertion_order_but_not_names():
    a = {"x": torch.arange(3.0), "y": torch.ones(1)}
    b = {"y": torch.ones(1), "x": torch.arange(3.0)}
    assert repro.state_dict_digest(a) == repro.state_dict_digest(b)
    assert repro.state_dict_digest(a) != repro.state_dict_digest({"z": torch.arange(3.0), "y": torch.ones(1)})


def test_metric_series_digest_is_exact_not_rounded():
    assert repro.metric_series_digest([0.1, 0.2]) == repro.metric_series_digest(np.array([0.1, 0.2]))
    assert repro.metric_series_digest([0.1, 0.2]) != repro.metric_series_digest([0.1, 0.2 + 1e-16 * 2])
    assert repro.metric_series_digest([0.1, 0.2]) != repro.metric_series_digest([0.2, 0.1])


def test_numpy_generator_streams_are_independent_and_repeatable():
    a = repro.numpy_generator(7, 0).integers(0, 1000, 10)
    assert (a == repro.numpy_generator(7, 0).integers(0, 1000, 10)).all()
    assert (a != repro.numpy_generator(7, 1).integers(0, 1000, 10)).any()


def test_fingerprint_records_versions_devices_and_data():
    info = repro.fingerprint({"ptb": "abc"})
    assert info["version.torch"] == torch.__version__
    assert info["dataset.ptb"] == "abc"
    assert info["gpu"] == (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
    assert info["git_dirty"] in ("true", "false", "unknown")
    assert all(isinstance(value, str) for value in info.values())


def test_git_state_outside_a_checkout_is_unknown(tmp_path):
    assert repro.git_state(tmp_path) == {"git_commit": "unknown", "git_dirty": "unknown"}


def test_git_state_counts_code_changes_and_not_the_records_own_files(tmp_path):
    """A plan run writes the record and its executed copies into the checkout: the jobs after the first are not
    made from a changed tree because of that; a change to code (anywhere, the repro module's folder or not) is."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True)

    for path in ("randnas/code.py", "mlruns/1/run/tags/t", "book/runs/smoke/x.ipynb", "book/intro.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("0")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    for path in ("mlruns/1/run/tags/t", "book/runs/smoke/x.ipynb"):
        (tmp_path / path).write_text("1")
    assert repro.git_state(tmp_path / "randnas")["git_dirty"] == "false"
    (tmp_path / "book/intro.md").write_text("1")
    assert repro.git_state(tmp_path / "randnas")["git_dirty"] == "true"
