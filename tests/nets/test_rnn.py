"""The DARTS recurrent cell and language model: the reference formula, sizes, dropout behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from randnas.nets.rnn import (
    ACTIVATIONS,
    RnnLanguageModel,
    RnnModelConfig,
    count_rnn_parameters,
    dropout_mask,
    node_groups,
)
from randnas.spaces.named import get_genotype
from randnas.spaces.rnn import RNN_ACTIVATIONS, sample_rnn_genotype


def reference_cell(cell, inputs, h, genotype, x_mask=None, h_mask=None):
    """The reference's formula, one node and one time step at a time, no batching tricks."""
    hidden = cell.hidden
    outputs = []
    for x in inputs:
        x_in = x * x_mask if x_mask is not None else x
        h_in = h * h_mask if h_mask is not None else h
        c0, h0 = (torch.cat([x_in, h_in], dim=-1) @ cell.w0).split(hidden, dim=-1)
        states = [h + torch.sigmoid(c0) * (torch.tanh(h0) - h)]
        for i, (activation, predecessor) in enumerate(genotype.recurrent):
            s_prev = states[predecessor]
            s_in = s_prev * h_mask if h_mask is not None else s_prev
            c, pre = (s_in @ cell.ws[i]).split(hidden, dim=-1)
            states.append(s_prev + torch.sigmoid(c) * (ACTIVATIONS[activation](pre) - s_prev))
        h = torch.stack(states[1:], -1).mean(-1)
        outputs.append(h)
    return torch.stack(outputs)


def test_activation_registry_is_the_space():
    assert tuple(ACTIVATIONS) == RNN_ACTIVATIONS


@pytest.mark.parametrize("seed", range(4))
def test_cell_matches_the_reference_formula_in_eval_mode(seed):
    torch.manual_seed(seed)
    model = RnnLanguageModel(RnnModelConfig(vocab_size=50, hidden=16)).eval()
    genotype = sample_rnn_genotype(np.random.default_rng(seed))
    inputs, h = torch.randn(5, 3, 16), torch.randn(3, 16)
    torch.testing.assert_close(model.cell(inputs, h, genotype), reference_cell(model.cell, inputs, h, genotype))


def test_cell_matches_the_reference_formula_with_dropout_masks():
    model = RnnLanguageModel(RnnModelConfig(vocab_size=50, hidden=16)).train()
    genotype = get_genotype("rnn", "DARTS_V2")
    inputs, h = torch.randn(4, 3, 16), torch.randn(3, 16)
    torch.manual_seed(7)
    ours = model.cell(inputs, h, genotype)
    torch.manual_seed(7)  # the cell draws x_mask, then h_mask
    x_mask = dropout_mask(inputs, (3, 16), model.config.dropoutx)
    h_mask = dropout_mask(inputs, (3, 16), model.config.dropouth)
    torch.testing.assert_close(ours, reference_cell(model.cell, inputs, h, genotype, x_mask, h_mask))


def test_nodes_are_grouped_by_predecessor():
    assert node_groups(get_genotype("rnn", "DARTS_V2")) == [(0, [0]), (1, [1, 2, 3]), (2, [4]), (3, [6]), (5, [5, 7])]


def test_darts_v2_proxyless_model_has_darts_23m_parameters():
    model = RnnLanguageModel(RnnModelConfig(vocab_size=10_000, hidden=850))
    count = count_rnn_parameters(model)
    assert count == 10_000 * 850 + 1700 * 1700 + 8 * 850 * 1700 + 10_000
    assert round(count / 1e6) == 23
    assert model.decoder.weight is model.encoder.weight


def test_language_model_shapes_and_log_probabilities():
    model = RnnLanguageModel(RnnModelConfig(vocab_size=30, hidden=8))
    words = torch.randint(0, 30, (6, 4))
    out = model(words, model.init_hidden(4), get_genotype("rnn", "DARTS_V1"))
    assert out.log_probs.shape == (6, 4, 30) and out.hidden.shape == (4, 8) and out.raw_states.shape == (6, 4, 8)
    torch.testing.assert_close(out.log_probs.exp().sum(-1), torch.ones(6, 4))


def test_eval_mode_is_deterministic_and_train_mode_drops():
    model = RnnLanguageModel(RnnModelConfig(vocab_size=30, hidden=8))
    words = torch.randint(0, 30, (6, 4))
    genotype = get_genotype("rnn", "DARTS_V2")
    model.eval()
    first = model(words, model.init_hidden(4), genotype).log_probs
    assert torch.equal(first, model(words, model.init_hidden(4), genotype).log_probs)
    model.train()
    assert not torch.equal(first, model(words, model.init_hidden(4), genotype).log_probs)


def test_bad_dropout_is_refused():
    with pytest.raises(ValueError, match=r"dropoute must be in \[0, 1\), got 1.5"):
        RnnModelConfig(dropoute=1.5)


def test_embedding_and_decoder_start_uniform_in_darts_range():
    torch.manual_seed(0)
    model = RnnLanguageModel(RnnModelConfig(vocab_size=2000, hidden=64))
    weight = model.encoder.weight.detach()  # tied to the decoder
    assert model.decoder.weight is model.encoder.weight
    # DARTS: uniform(-0.04, 0.04); 128,000 draws fill the interval, so both edges are within 1 % of it
    assert 0.0396 < float(weight.max()) <= 0.04 and -0.04 <= float(weight.min()) < -0.0396
