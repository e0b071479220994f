"""Stage 1 on PTB: Table 7's settings, the sequence-length rule, reproducibility, kill-and-resume, dry runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from randnas.data import load_corpus
from randnas.data.base import TokenCorpus
from randnas.repro import seed_everything
from randnas.search.rnn import RNN_SETTINGS, RnnSearch, rnn_arch_count, rnn_setting, search_seq_len
from randnas.train.lm import batchify

TINY = {
    "epochs": 2,
    "hidden": 16,
    "batch_size": 32,
    "eval_batch_size": 64,
    "archs_per_round": 4,
    "top_k": 2,
    "max_steps_per_epoch": 5,
}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus("pydoc")


@pytest.mark.parametrize(
    "name, hidden, batch, clip, dropoute, wdecay, released_archs",
    [
        ("random1", 300, 256, 0.25, 0.0, 5e-7, 1000),
        ("random2", 300, 256, 0.1, 0.0, 5e-7, 1000),
        ("random3", 300, 64, 0.1, 0.0, 5e-7, 2000),
        ("random4", 850, 64, 0.1, 0.1, 8e-7, 2000),
    ],
)
def test_table7_settings(name, hidden, batch, clip, dropoute, wdecay, released_archs):
    config = rnn_setting(name)
    assert (config.hidden, config.batch_size, config.grad_clip, config.dropoute, config.weight_decay) == (
        hidden,
        batch,
        clip,
        dropoute,
        wdecay,
    )
    assert (
        config.epochs,
        config.lr,
        config.bptt,
        config.dropout,
        config.dropouth,
        config.dropoutx,
        config.dropouti,
    ) == (50, 20.0, 35, 0.75, 0.25, 0.75, 0.2)
    assert config.budget() == int(50 * 929_589 / batch / 35)
    assert rnn_arch_count(config) == 2000  # Table 7's caption: 2000 architectures for every setting
    assert rnn_arch_count(rnn_setting(name, rounds=0)) == released_archs  # the released budget rule


def test_search_sequence_length_is_bptt_or_half():
    rng = np.random.default_rng(0)
    lengths = np.array([search_seq_len(rng, 35) for _ in range(20_000)])
    assert set(lengths.tolist()) == {35, 17}
    assert 0.04 < (lengths == 17).mean() < 0.06


def test_batchify_is_darts_layout():
    batched = batchify(torch.arange(10), 3)
    assert batched.tolist() == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def search(corpus, seed, checkpoint_dir=None, on_epoch=None):
    seed_everything(seed)
    return RnnSearch(rnn_setting("random1", **TINY), corpus, seed, device="cpu").run(checkpoint_dir, on_epoch)


def test_same_seed_same_weights_and_pick(corpus):
    first, again, other = search(corpus, 0), search(corpus, 0), search(corpus, 1)
    assert first.weights_digest == again.weights_digest and first.genotype == again.genotype
    assert first.perplexity == again.perplexity
    assert first.weights_digest != other.weights_digest
    assert len(first.selection.scored) == 8  # 2 rounds (the paper's default) of 4


def test_whole_split_scoring_reuses_the_quick_score(corpus):
    result = search(corpus, 0)
    rescored = [row for row in result.selection.scored if row["full_score"] is not None]
    assert all(row["full_score"] == row["quick_score"] for row in rescored)


def random_ptb_shaped(tokens: int = 20_000) -> TokenCorpus:
    rng = np.random.default_rng(0)
    stream = torch.as_tensor(rng.integers(0, 10_000, tokens))
    return TokenCorpus(
        name="ptb",
        label="random PTB-shaped tokens (tests)",
        vocab=tuple(str(i) for i in range(10_000)),
        train=stream,
        valid=stream[:2200],
        test=stream[:2200],
        checksum="0" * 64,
        source="tests",
    )


@pytest.mark.parametrize("setting", sorted(RNN_SETTINGS))
def test_paper_settings_dry_run_a_couple_of_steps(setting):
    """The paper preset's models (300 or 850 units, vocabulary 10,000, batch 256 or 64) take real steps and score."""
    config = dataclasses.replace(
        rnn_setting(setting), epochs=1, max_steps_per_epoch=2, archs_per_round=2, top_k=1, eval_batch_size=64
    )
    seed_everything(0)
    result = RnnSearch(config, random_ptb_shaped(), seed=0, device="cpu").run()
    assert result.history[0]["train/steps"] == 2
    assert len(result.selection.scored) == 4  # 2 rounds of 2
