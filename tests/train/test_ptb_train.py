"""Stage 2 on PTB: sequence lengths, the ASGD switch and its averaged weights, NaN roll-back,
exact reproducibility and kill-and-resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from randnas.data import load_corpus
from randnas.repro import seed_everything
from randnas.spaces.named import get_genotype
from randnas.train.lm import perplexity
from randnas.train.ptb import PtbTrainConfig, PtbTrainer, averaged_weights, train_seq_len

TINY = PtbTrainConfig(
    epochs=4,
    hidden=16,
    batch_size=32,
    nonmono=1,
    eval_batch_size=64,
    test_eval_batch_size=64,
    max_steps_per_epoch=6,
    max_eval_chunks=2,
)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus("pydoc")


def trainer(corpus, seed=0, config=TINY):
    seed_everything(seed)
    return PtbTrainer(config, get_genotype("rnn", "DARTS_V2"), corpus, seed, device="cpu")


def test_paper_protocol_defaults():
    config = PtbTrainConfig()
    assert (config.epochs, config.batch_size, config.hidden, config.lr, config.grad_clip) == (300, 64, 850, 20.0, 0.25)
    assert (config.dropout, config.dropouth, config.dropoutx, config.dropouti, config.dropoute) == (
        0.75,
        0.25,
        0.75,
        0.2,
        0.1,
    )
    assert (config.weight_decay, config.beta, config.nonmono, config.eval_batch_size, config.test_eval_batch_size) == (
        8e-7,
        1e-3,
        5,
        10,
        1,
    )


def test_variable_sequence_length_rule():
    rng = np.random.default_rng(0)
    lengths = np.array([train_seq_len(rng, 35) for _ in range(20_000)])
    assert lengths.min() >= 5 and lengths.max() <= 55
    assert 33.0 < lengths.mean() < 35.0  # mean 35 w.p. 0.95, 17.5 w.p. 0.05, floored
    assert 0.02 < (lengths < 24).mean() < 0.08  # the half-length mode


def test_same_seed_same_perplexities_and_weights(corpus):
    first, again = trainer(corpus, 0).run(), trainer(corpus, 0).run()
    assert first.history == again.history and first.weights_digest == again.weights_digest
    assert first.test_ppl == again.test_ppl
    assert trainer(corpus, 1).run().weights_digest != first.weights_digest


def test_switch_to_asgd_when_validation_stalls_and_evaluate_with_averages(corpus):
    t = trainer(corpus, 0)
    # DARTS' rule: stalled when worse than the best of all but the last `nonmono` (here 1) epochs
    t.valid_losses = [4.0, 5.0]
    assert t._should_switch(4.5) and not t._should_switch(3.9)
    t.optimizer = t._asgd()
    t.switched_at = 1
    t.train_epoch()
    averaged = t.evaluate(t.valid_data)
    raw = math.log(perplexity(t.model, t.valid_data, t.genotype, t.config.bptt, t.config.max_eval_chunks))
    with averaged_weights(t.model, t.optimizer) as swapped:
        assert swapped
        by_hand = math.log(perplexity(t.model, t.valid_data, t.genotype, t.config.bptt, t.config.max_eval_chunks))
    assert averaged == by_hand and averaged != raw
    # and the swap is undone: the raw weights are back
    assert math.log(perplexity(t.model, t.valid_data, t.genotype, t.config.bptt, t.config.max_eval_chunks)) == raw


def test_released_option_switches_only_below_a_perplexity(corpus):
    config = PtbTrainConfig(**{**TINY.__dict__, "switch_below_ppl": 78.0})
    t = trainer(corpus, 0, config)
    t.valid_losses = [4.0, 5.0]
    assert not t._should_switch(4.5)  # stalled, but e^4.5 = 90 is above 78
    t.valid_losses = [4.2, 4.1]
    assert t._should_switch(4.3)  # e^4.3 = 74


def test_killed_training_resumes_exactly_across_the_switch(corpus, tmp_path, monkeypatch):
    # a tiny run keeps improving, so make validation "stall" after the first epoch: the switch happens at 2
    monkeypatch.setattr(PtbTrainer, "_should_switch", lambda self, loss: len(self.valid_losses) >= 1)
    uninterrupted = trainer(corpus, 2).run()
    assert uninterrupted.switched_at == 2

    def kill(epoch, metrics):
        if epoch == 3:  # one ASGD epoch done: its averages must survive the restart
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer(corpus, 2).run(tmp_path, on_epoch=kill)
    torch.manual_seed(123)
    resumed = trainer(corpus, 2).run(tmp_path)
    assert resumed.history == uninterrupted.history
    assert resumed.weights_digest == uninterrupted.weights_digest
    assert resumed.test_ppl == uninterrupted.test_ppl


def test_nan_rolls_back_to_the_best_weights(corpus, monkeypatch):
    t = trainer(corpus, 0)
    original = t.train_epoch
    calls = {"n": 0}

    def poisoned():
        metrics = original()
        calls["n"] += 1
        if calls["n"] == 2:
            with torch.no_grad():
                t.model.cell.w0.fill_(float("nan"))
        return metrics

    monkeypatch.setattr(t, "train_epoch", poisoned)
    result = t.run()
    assert result.history[1].get("rolled_back") == 1.0
    assert all(math.isfinite(h["valid/loss"]) for h in result.history)
    assert math.isfinite(result.test_ppl)


def test_proxyless_model_learns_below_vocabulary_size(corpus):
    result = trainer(
        corpus, 0, PtbTrainConfig(**{**TINY.__dict__, "hidden": 32, "epochs": 3, "max_steps_per_epoch": 30})
    ).run()
    assert result.best_valid_ppl < corpus.vocab_size / 3


def test_asha_option_keeps_sgd_until_an_epoch(corpus, monkeypatch):
    # validation "stalls" from the first epoch on: without the option the switch comes at epoch 2
    monkeypatch.setattr(PtbTrainer, "_should_switch", lambda self, loss: len(self.valid_losses) >= 1)
    late = PtbTrainConfig(**{**TINY.__dict__, "asgd_after_epoch": 3})
    assert trainer(corpus, 2, late).run().switched_at == 4  # the first epoch after 3
