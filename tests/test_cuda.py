"""What only a GPU can check: CUDA runs of the networks and trainers, and their determinism there.

Skipped without a CUDA device; scripts/gpu_check.sh runs these on a lent GPU machine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from randnas.nets.cnn_supernet import SharedCnnNetwork
from randnas.repro import seed_everything
from randnas.search.cnn import CnnSearch, cnn_setting
from randnas.spaces.cnn import sample_cnn_genotype
from randnas.spaces.named import get_genotype
from randnas.train.cnn import CnnTrainConfig, CnnTrainer
from tests.search.test_cnn_search import random_cifar_shaped

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]


def test_single_equals_dense_on_cuda():
    torch.manual_seed(0)
    net = SharedCnnNetwork(channels=16, layers=8).cuda().train()
    x = torch.randn(8, 3, 32, 32, device="cuda")
    rng = np.random.default_rng(0)
    for _ in range(3):
        genotype = sample_cnn_genotype(rng)
        torch.testing.assert_close(net(x, genotype, "single"), net(x, genotype, "dense"), rtol=1e-5, atol=1e-5)


def cuda_search_digest(seed: int) -> str:
    config = dataclasses.replace(
        cnn_setting("random1"), epochs=2, max_steps_per_epoch=3, archs_per_round=4, top_k=2, quick_minibatches=1
    )
    seed_everything(seed)
    return CnnSearch(config, random_cifar_shaped(), seed, device="cuda").run().weights_digest


def test_cuda_search_same_seed_same_digest():
    assert cuda_search_digest(0) == cuda_search_digest(0)
    assert cuda_search_digest(0) != cuda_search_digest(1)


def test_cuda_training_step_runs_and_repeats():
    config = CnnTrainConfig(epochs=1, channels=8, layers=5, batch_size=32, max_steps_per_epoch=3)

    def once():
        seed_everything(0)
        return CnnTrainer(config, get_genotype("cnn", "DARTS_V2"), random_cifar_shaped(), device="cuda").run()

    first = once()
    assert first.history[0]["train/loss"] > 0
    assert once().weights_digest == first.weights_digest
