"""ENAS: the controller's REINFORCE gradient, its sampling distribution at initialisation, convergence on a toy
reward, the released settings, and the searches' exact repeat (kill-and-resume is in test_resume_contract)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from randnas.configs import SettingError
from randnas.data import load_corpus, load_image_data
from randnas.repro import seed_everything
from randnas.search.enas import (
    PROGRAMS,
    Controller,
    ControllerConfig,
    ControllerProgram,
    ControllerTrainer,
    Step,
    controller_setting,
    nb201_program,
)
from randnas.search.enas_search import enas_search, enas_setting
from randnas.spaces.nb201 import NB201_OPS

# two cell inputs, a node reading two distinct ones with one op, then a second cell of one op: every step kind
TINY = ControllerProgram(
    "tiny",
    (
        (Step("anchor", zero=True), Step("anchor", zero=True), Step("input", 2), Step("input", 2, distinct=True)),
        (Step("op"), Step("anchor"), Step("input", 1), Step("op")),
    ),
    ("a", "b", "c"),
    decode=tuple,
    encode=list,
)


def every_cell(program: ControllerProgram) -> list[list[int]]:
    """Every decision sequence the program allows (a `distinct` input never repeats the one before it)."""
    steps = [step for cell in program.cells for step in cell if step.kind != "anchor"]
    ranges = [range(step.options) if step.kind == "input" else range(len(program.ops)) for step in steps]
    cells = []
    for choices in itertools.product(*ranges):
        inputs = [(i, c) for i, (step, c) in enumerate(zip(steps, choices, strict=True)) if step.kind == "input"]
        if any(steps[i].distinct and c == inputs[k - 1][1] for k, (i, c) in enumerate(inputs) if k > 0):
            continue
        cells.append(list(choices))
    return cells


def tiny_controller() -> Controller:
    config = ControllerConfig(lstm_size=4, lstm_layers=2, tanh_constant=2.5, op_tanh_reduce=2.0, temperature=1.5)
    return Controller(TINY, config, torch.Generator().manual_seed(0)).double()


def expected_reward(controller: Controller, reward: dict[tuple, float]) -> torch.Tensor:
    return sum(controller(choices=list(c)).log_prob.exp() * r for c, r in reward.items())


def test_the_reinforce_gradient_is_the_gradient_of_the_expected_reward():
    """E[-log p(c) (R(c) - b)] over the controller's own distribution has gradient -grad E[R] (the score-function
    identity; b drops out because the probabilities sum to 1): checked against central finite differences of the
    exact expected reward, summed over every cell the tiny program allows."""
    controller = tiny_controller()
    cells = every_cell(TINY)
    assert len(cells) == 2 * 1 * 3 * 1 * 3  # the second input cannot repeat the first
    rng = np.random.default_rng(0)
    reward = {tuple(c): float(rng.random()) for c in cells}
    assert float(sum(controller(choices=c).log_prob.exp() for c in cells)) == pytest.approx(1.0, abs=1e-12)

    baseline = 0.3
    loss = sum(
        -controller(choices=c).log_prob.exp().detach() * controller(choices=c).log_prob * (r - baseline)
        for c, r in ((list(c), r) for c, r in reward.items())
    )
    grads = torch.autograd.grad(loss, list(controller.parameters()))
    eps = 1e-6
    with torch.no_grad():
        for parameter, grad in zip(controller.parameters(), grads, strict=True):
            for index in list(np.ndindex(parameter.shape))[:6]:
                original = parameter[index].item()
                parameter[index] = original + eps
                up = float(expected_reward(controller, reward))
                parameter[index] = original - eps
                down = float(expected_reward(controller, reward))
                parameter[index] = original
                assert float(grad[index]) == pytest.approx(-(up - down) / (2 * eps), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("space, samples", [("nb201", 1500), ("cnn", 300), ("rnn", 400)])
def test_at_initialisation_the_controller_samples_what_it_claims_and_covers_every_op(space, samples):
    """Pooled over the op decisions, the sampled ops' counts match the probabilities the controller gave them
    (chi-square, p > 0.001; fixed seed), and every op keeps at least half a uniform share, as released."""
    program = PROGRAMS[space]()
    trainer = ControllerTrainer(program, controller_setting(space), seed=1)
    kinds = program.decision_kinds
    observed, expected = np.zeros(len(program.ops)), np.zeros(len(program.ops))
    for _ in range(samples):
        sample = trainer.sample()
        for kind, choice, probabilities in zip(kinds, sample.choices, sample.probabilities, strict=True):
            if kind == "op":
                observed[choice] += 1
                expected += probabilities.double().numpy()
    assert chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3
    assert (observed > 0).all()
    assert (expected / expected.sum() > 0.5 / len(program.ops)).all()


def test_a_reward_that_favours_one_op_makes_the_controller_converge_to_it():
    target = "avg_pool_3x3"
    trainer = ControllerTrainer(nb201_program(), controller_setting("nb201", lr=0.01, train_steps=10), seed=0)
    everywhere = [NB201_OPS.index(target)] * 6
    before = float(trainer.controller(choices=everywhere).log_prob.detach().exp())
    assert before < 1e-3 and trainer.greedy().ops != (target,) * 6
    for _ in range(4):
        phase = trainer.train(lambda cell: sum(op == target for op in cell.ops) / 6)
    assert trainer.greedy().ops == (target,) * 6
    assert float(trainer.controller(choices=everywhere).log_prob.detach().exp()) > 0.4
    assert phase.score > 0.85 and phase.baseline > 0.8


def test_the_released_settings():
    cnn, rnn, nb201 = (controller_setting(space) for space in ("cnn", "rnn", "nb201"))
    assert (cnn.lstm_size, cnn.lstm_layers, cnn.tanh_constant, cnn.op_tanh_reduce, cnn.temperature) == (
        64,
        1,
        1.1,
        2.5,
        0,
    )
    assert (cnn.lr, cnn.entropy_weight, cnn.baseline_decay, cnn.train_steps, cnn.num_aggregate) == (
        0.0035,
        1e-4,
        0.99,
        30,
        10,
    )
    assert (rnn.lstm_size, rnn.tanh_constant, rnn.temperature, rnn.entropy_weight, rnn.train_steps) == (
        100,
        2.5,
        5.0,
        1e-3,
        100,
    )
    assert (nb201.lstm_size, nb201.lstm_layers, nb201.betas, nb201.eps, nb201.grad_clip) == (
        32,
        2,
        (0.0, 0.999),
        1e-3,
        5,
    )
    assert (nb201.train_steps, nb201.num_aggregate, nb201.derive_samples) == (50, 20, 100)
    config = enas_setting("nb201", {"epochs": 2, "controller": {"train_steps": 3}})
    assert (config.epochs, config.batch_size, config.lr, config.controller.train_steps) == (2, 128, 0.05, 3)
    with pytest.raises(SettingError, match=r"unknown ENAS nb201 field\(s\) \['epoch'\]"):
        enas_setting("nb201", {"epoch": 2})
    with pytest.raises(SettingError, match=r"unknown ENAS controller field\(s\) \['lstm'\]"):
        enas_setting("cnn", {"controller": {"lstm": 2}})
    with pytest.raises(SettingError, match="unknown ENAS space 'nb301'"):
        enas_setting("nb301")


SMALL = {"controller": {"train_steps": 2, "num_aggregate": 3, "derive_samples": 4}}
SIZES = {
    "cnn": {"epochs": 2, "channels": 4, "layers": 3, "batch_size": 32, "max_steps_per_epoch": 3},
    "nb201": {"epochs": 2, "channels": 4, "cells_per_stage": 1, "batch_size": 32, "max_steps_per_epoch": 3},
    "rnn": {"epochs": 2, "hidden": 8, "batch_size": 8, "eval_batch_size": 8, "max_steps_per_epoch": 3},
}


@pytest.fixture(scope="module")
def data():
    return {"cnn": load_image_data("digits"), "nb201": load_image_data("digits"), "rnn": load_corpus("pydoc")}


def search_once(space: str, data, seed: int):
    seed_everything(seed)  # as the notebook does: the supernet's initial weights come from torch's generator
    return enas_search(space, enas_setting(space, {**SIZES[space], **SMALL}), data[space], seed, "cpu").run()


@pytest.mark.parametrize("space", ["cnn", "nb201", "rnn"])
def test_the_same_seed_gives_the_same_controller_weights_and_cell(space, data):
    first, second = search_once(space, data, 0), search_once(space, data, 0)
    assert (first.controller_digest, first.weights_digest, first.derived) == (
        second.controller_digest,
        second.weights_digest,
        second.derived,
    )
    assert first.genotype.to_darts() == max(first.derived, key=lambda d: d[1] if space != "rnn" else -d[1])[0]
    assert len(first.genotypes) == len(first.op_counts) == 2 and len(first.derived) == 4
    assert sum(first.op_counts[0].values()) > 0 and set(first.history[0]) >= {"controller/reward", "train/loss"}
    other = search_once(space, data, 1)
    assert other.controller_digest != first.controller_digest
