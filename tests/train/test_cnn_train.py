"""Stage 2 on the CNN space: protocol details, exact reproducibility, kill-and-resume, learning."""

from __future__ import annotations

import pytest

from randnas.data import load_image_data
from randnas.repro import seed_everything
from randnas.spaces.named import get_genotype
from randnas.train.cnn import CnnTrainConfig, CnnTrainer

SMALL = CnnTrainConfig(epochs=3, channels=4, layers=3, cutout=2, batch_size=128, lr=0.05, eval_batch_size=512)


@pytest.fixture(scope="module")
def digits():
    return load_image_data("digits")


def train(data, seed, config=SMALL, checkpoint_dir=None, on_epoch=None, genotype="DARTS_V2"):
    seed_everything(seed)
    return CnnTrainer(config, get_genotype("cnn", genotype), data, device="cpu").run(checkpoint_dir, on_epoch)


def test_paper_protocol_defaults():
    config = CnnTrainConfig()
    assert (config.epochs, config.batch_size, config.channels, config.layers) == (600, 96, 36, 20)
    assert (config.auxiliary_weight, config.cutout, config.drop_path_prob, config.grad_clip) == (0.4, 16, 0.2, 5.0)
    assert (config.lr, config.lr_min, config.momentum, config.weight_decay) == (0.025, 0.0, 0.9, 3e-4)


def test_same_seed_same_metrics_and_weights(digits):
    first, again, other = train(digits, 0), train(digits, 0), train(digits, 1)
    assert first.history == again.history and first.weights_digest == again.weights_digest
    assert first.weights_digest != other.weights_digest


def test_drop_path_ramps_linearly_and_lr_follows_the_cosine(digits):
    history = train(digits, 0).history
    assert [h["drop_path_prob"] for h in history] == pytest.approx([0.0, 0.2 / 3, 0.4 / 3])
    assert history[0]["lr"] == 0.05 and history[1]["lr"] == pytest.approx(0.05 * 0.75)


def test_stopping_early_and_continuing_is_the_same_run(digits, tmp_path):
    # ASHA's promotions: train to epoch 1, later continue to the end on the same schedule
    seed_everything(2)
    trainer = CnnTrainer(SMALL, get_genotype("cnn", "DARTS_V2"), digits, device="cpu")
    assert len(trainer.run(tmp_path, epochs=1).history) == 1
    seed_everything(2)
    continued = CnnTrainer(SMALL, get_genotype("cnn", "DARTS_V2"), digits, device="cpu").run(tmp_path)
    assert continued.weights_digest == train(digits, 2).weights_digest


def test_a_small_network_learns_digits(digits):
    config = CnnTrainConfig(epochs=4, channels=8, layers=5, cutout=2, batch_size=64, lr=0.05)
    result = train(digits, 0, config)
    assert result.history[-1]["test/acc"] > 0.6  # chance is 0.1
    assert result.error == pytest.approx(100 * (1 - result.history[-1]["test/acc"]))
    assert result.eval_split == "test"
