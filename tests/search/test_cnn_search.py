"""Stage 1 on the CNN space: Table 2's settings, exact reproducibility, kill-and-resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from randnas.data import load_image_data
from randnas.data.base import ImageData
from randnas.repro import seed_everything, state_dict_digest
from randnas.search.cnn import CNN_SETTINGS, CnnSearch, arch_count, cnn_setting

TINY = {
    "epochs": 2,
    "channels": 4,
    "layers": 3,
    "batch_size": 64,
    "archs_per_round": 6,
    "top_k": 2,
    "quick_minibatches": 2,
}


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load_image_data("digits")


@pytest.mark.parametrize(
    "name, epochs, clip, channels, archs",
    [
        ("random1", 50, 5.0, 16, 1000),
        ("random2", 150, 5.0, 16, 5000),
        ("random3", 150, 1.0, 16, 5000),
        ("random4", 300, 1.0, 16, 11000),
        ("random5", 150, 1.0, 24, 5000),
    ],
)
def test_table2_settings_and_architectures_evaluated(name, epochs, clip, channels, archs):
    config = cnn_setting(name)
    assert (config.epochs, config.grad_clip, config.channels, config.layers) == (epochs, clip, channels, 8)
    assert (config.lr, config.lr_min, config.momentum, config.weight_decay, config.batch_size) == (
        0.025,
        0.001,
        0.9,
        3e-4,
        64,
    )
    assert arch_count(config, 25_000) == archs  # the paper's "archs evaluated" column
    assert config.budget(25_000) == int(epochs * 25_000 / 64)


def test_unknown_setting_and_fields_are_refused():
    with pytest.raises(ValueError, match="unknown CNN search setting 'random6'; choose one of random1"):
        cnn_setting("random6")
    with pytest.raises(ValueError, match=r"unknown CNN search field\(s\) \['epoch'\]"):
        cnn_setting("random1", epoch=3)
    with pytest.raises(ValueError, match="unknown weight-sharing mode"):
        cnn_setting("random1", mode="half")


def search_once(data, seed, mode="single", checkpoint_dir=None, on_epoch=None):
    seed_everything(seed)
    search = CnnSearch(cnn_setting("random1", mode=mode, **TINY), data, seed, device="cpu")
    return search.run(checkpoint_dir, on_epoch)


def test_same_seed_same_weights_same_pick_other_seed_differs(digits):
    first = search_once(digits, 0)
    again = search_once(digits, 0)
    other = search_once(digits, 1)
    assert first.weights_digest == again.weights_digest
    assert first.genotype == again.genotype
    assert first.selection.scored == again.selection.scored
    assert first.weights_digest != other.weights_digest
    assert len(first.selection.scored) == 6


def test_dense_mode_runs_and_differs_from_single_in_weights(digits):
    single = search_once(digits, 0, mode="single")
    dense = search_once(digits, 0, mode="dense")
    # same data order and architectures, but dense also decays and moves unselected ops
    assert single.weights_digest != dense.weights_digest


def random_cifar_shaped(images: int = 160) -> ImageData:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (images, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, images)
    return ImageData(
        name="cifar10",
        label="random CIFAR-shaped images (tests)",
        classes=tuple(str(i) for i in range(10)),
        train_pixels=pixels,
        train_labels=labels,
        test_pixels=pixels[:32],
        test_labels=labels[:32],
        search_split=images // 2,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        checksum="0" * 64,
        flip=True,
        crop_padding=4,
        source="tests",
    )


@pytest.mark.parametrize("setting", sorted(CNN_SETTINGS))
def test_paper_settings_dry_run_a_couple_of_steps(setting):
    """The paper preset's networks (C=16 or 24, 8 cells, batch 64, 32x32) take real steps and score."""
    config = dataclasses.replace(
        cnn_setting(setting), epochs=1, max_steps_per_epoch=2, archs_per_round=2, top_k=1, quick_minibatches=1
    )
    seed_everything(0)
    search = CnnSearch(config, random_cifar_shaped(), seed=0, device="cpu")
    before = state_dict_digest(search.net.state_dict())
    result = search.run()
    assert result.weights_digest != before
    assert len(result.selection.scored) == 2
