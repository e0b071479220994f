"""ENAS' controller (Pham et al. 2018): an LSTM that samples a cell decision by decision, trained with REINFORCE.

A cell is a fixed sequence of decisions (`ControllerProgram`): which earlier node an edge reads (`input`, chosen by
attention over the nodes' LSTM outputs, the "anchors") and which op it applies (`op`, a softmax head); an `anchor`
step runs the LSTM once more and stores its output as the next node's anchor. The controller samples a whole
cell with its log-probability and entropy; `ControllerTrainer` trains it on a reward with ENAS' moving-average
baseline and derives the final cell by sampling `derive_samples` cells and keeping the best-scoring one.

Reference notes (the released code, per value; settings in `CONTROLLER_SETTINGS`):
- CNN (melodyguan/enas, scripts/cifar10_micro_search.sh and src/cifar10/main.py): LSTM 64 units, 1 layer
  (main.py passes lstm_size=64, lstm_num_layers=1); tanh constant 1.10 and op_tanh_reduce 2.5 (so op logits are
  squashed to +-0.44); no temperature; entropy weight 1e-4; baseline decay 0.99 (main.py's default); Adam lr
  0.0035; 30 controller updates per epoch of 10 aggregated samples each; no gradient clip. The op head's bias
  starts at 10 for the two separable convolutions (micro_controller.py's b_soft: [10, 10, 0, ...] over ENAS' ops
  sep3x3, sep5x5, avg, max, identity). The reward is a sampled cell's accuracy on one validation minibatch.
- PTB (scripts/ptb_search.sh, src/ptb/main.py): LSTM 100 units, 1 layer; tanh constant 2.5, temperature 5.0;
  entropy weight 1e-3; Adam lr 0.001; 100 updates of 10 samples; reward 80 / validation perplexity with the
  validation loss capped at 10 (ptb_enas_controller.py).
- NAS-Bench-201 (D-X-Y/AutoDL-Projects, scripts-search/algos/ENAS.sh, configs/nas-benchmark/algos/ENAS.config,
  lib/models/cell_searchs/search_model_enas_utils.py, exps/algos/ENAS.py): LSTM 32 units, 2 layers; tanh
  constant 2.5, temperature 5.0; entropy weight 1e-4; baseline decay 0.99; Adam lr 0.001, betas (0, 0.999),
  eps 1e-3; 50 updates of 20 samples; controller gradient clipped at 5; 100 samples to derive the final cell.

Departures, each deliberate: the baseline starts at 0 and moves after every sample on all three spaces (ENAS'
TensorFlow code; AutoDL's starts at the first reward and moves only from the previous epoch's value); on the CNN
space the second input of a node cannot repeat the first (DARTS' cell takes two distinct inputs; ENAS allows
both to be the same) and the ops are DARTS' seven non-`none` ops; ENAS' fixed extra bias on the normal cell's
op logits (b_soft_no_learn) and the PTB controller's distance penalty on its input logits are left out. The
controller always runs on the CPU with its own generator, so the cells it samples never depend on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from randnas.configs import SettingError, named_setting, require_positive

KINDS = ("input", "op", "anchor")


@dataclass(frozen=True)
class Step:
    """One step of the controller: `input` (choose among the first `options` anchors; with `distinct`, not the one
    the previous input step chose), `op` (choose among `options` ops) or `anchor` (store the LSTM output as a
    node's anchor: zeros with `zero`, as ENAS does for the cell's own inputs)."""

    kind: str
    options: int = 0
    distinct: bool = False
    zero: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SettingError(f"unknown controller step {self.kind!r}; choose one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class ControllerProgram:
    """A space's cell as controller decisions: `cells` step lists (anchors restart with each, the LSTM state runs
    on), `ops` the op names an `op` step chooses from, `decode` the space's cell from the chosen indices."""

    name: str
    cells: tuple[tuple[Step, ...], ...]
    ops: tuple[str, ...]
    decode: Callable[[Sequence[int]], Any]
    encode: Callable[[Any], list[int]]

    @property
    def decision_kinds(self) -> list[str]:
        """`input` or `op` for each decision, in sampling order."""
        return [step.kind for cell in self.cells for step in cell if step.kind != "anchor"]


@dataclass(frozen=True)
class ControllerConfig:
    """The controller and its REINFORCE training (module docstring for each value's source)."""

    lstm_size: int = 64
    lstm_layers: int = 1
    tanh_constant: float = 0.0  # 0: no tanh squashing
    op_tanh_reduce: float = 1.0
    temperature: float = 0.0  # 0: none
    op_bias: tuple[tuple[str, float], ...] = ()  # initial bias of the op head, by op
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    lr: float = 0.0035
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_clip: float = 0.0  # 0: none
    train_steps: int = 30  # controller updates per epoch
    num_aggregate: int = 10  # sampled cells per update
    derive_samples: int = 100
    reward_c: float = 80.0  # PTB: reward = reward_c / validation perplexity
    loss_cap: float = 10.0  # PTB: the validation loss is capped before the perplexity

    def __post_init__(self) -> None:
        require_positive(self, "lstm_size", "lstm_layers", "train_steps", "num_aggregate", "derive_samples")
        object.__setattr__(self, "op_bias", tuple((str(op), float(bias)) for op, bias in dict(self.op_bias).items()))
        object.__setattr__(self, "betas", tuple(float(beta) for beta in self.betas))
        if not 0.0 <= self.baseline_decay < 1.0:
            raise SettingError(f"baseline_decay must be in [0, 1), got {self.baseline_decay}")


CONTROLLER_SETTINGS: dict[str, dict] = {
    "cnn": {
        "lstm_size": 64,
        "lstm_layers": 1,
        "tanh_constant": 1.10,
        "op_tanh_reduce": 2.5,
        "op_bias": (("sep_conv_3x3", 10.0), ("sep_conv_5x5", 10.0)),
        "entropy_weight": 1e-4,
        "lr": 0.0035,
        "train_steps": 30,
        "num_aggregate": 10,
    },
    "rnn": {
        "lstm_size": 100,
        "lstm_layers": 1,
        "tanh_constant": 2.5,
        "temperature": 5.0,
        "entropy_weight": 1e-3,
        "lr": 0.001,
        "train_steps": 100,
        "num_aggregate": 10,
    },
    "nb201": {
        "lstm_size": 32,
        "lstm_layers": 2,
        "tanh_constant": 2.5,
        "temperature": 5.0,
        "entropy_weight": 1e-4,
        "lr": 0.001,
        "betas": (0.0, 0.999),
        "eps": 1e-3,
        "grad_clip": 5.0,
        "train_steps": 50,
        "num_aggregate": 20,
    },
}


def controller_setting(space: str, **overrides) -> ControllerConfig:
    """ENAS' controller as released for `space` (cnn, rnn or nb201), with any field overridden."""
    return named_setting(CONTROLLER_SETTINGS, ControllerConfig, "ENAS controller", space, overrides)


@dataclass
class Sample:
    """A sampled (or scored) cell: its decisions, the space's cell, and the sum of log-probabilities (with its
    graph, for REINFORCE) and of entropies (detached, as ENAS stops its gradient) over the decisions."""

    choices: list[int]
    cell: Any
    log_prob: torch.Tensor
    entropy: float
    probabilities: list[torch.Tensor] = field(default_factory=list)  # each decision's distribution (detached)


class Controller(nn.Module):
    """ENAS' LSTM controller over a `ControllerProgram`; parameters start uniform in [-0.1, 0.1] as released."""

    def __init__(self, program: ControllerProgram, config: ControllerConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.program, self.config = program, config
        size = config.lstm_size
        self.start = nn.Parameter(torch.empty(1, size))  # g_emb: the input of each cell's first step
        self.lstm = nn.LSTM(size, size, num_layers=config.lstm_layers)
        self.op_embedding = nn.Embedding(len(program.ops), size)
        self.op_head = nn.Linear(size, len(program.ops))
        self.attend_anchor = nn.Linear(size, size, bias=False)  # w_attn_1
        self.attend_query = nn.Linear(size, size, bias=False)  # w_attn_2
        self.attend_score = nn.Linear(size, 1, bias=False)  # v_attn
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-0.1, 0.1, generator=generator)
            bias = dict(config.op_bias)
            unknown = set(bias) - set(program.ops)
            if unknown:
                raise SettingError(f"op_bias names ops {sorted(unknown)} that the {program.name} space lacks")
            self.op_head.bias.copy_(torch.tensor([bias.get(op, 0.0) for op in program.ops]))

    def _squash(self, logits: torch.Tensor, tanh_constant: float) -> torch.Tensor:
        if self.config.temperature:
            logits = logits / self.config.temperature
        if tanh_constant:
            logits = tanh_constant * torch.tanh(logits)
        return logits

    def forward(
        self,
        generator: torch.Generator | None = None,
        choices: Sequence[int] | None = None,
        greedy: bool = False,
    ) -> Sample:
        """Sample a cell with `generator`, take the most likely decision at each step (`greedy`), or score the
        given `choices` (their log-probability under the controller, for REINFORCE and its tests)."""
        config, chosen = self.config, []
        log_prob, entropy, probabilities = torch.zeros(()), 0.0, []
        state = None
        inputs = self.start
        for cell in self.program.cells:
            anchors: list[torch.Tensor] = []
            keys: list[torch.Tensor] = []
            previous_input = -1
            for step in cell:
                output, state = self.lstm(inputs.unsqueeze(0), state)
                hidden = output[0]
                if step.kind == "anchor":
                    anchors.append(torch.zeros_like(hidden) if step.zero else hidden)
                    keys.append(self.attend_anchor(hidden))
                    inputs = self.start
                    continue
                if step.kind == "input":
                    query = torch.tanh(torch.cat(keys[: step.options]) + self.attend_query(hidden))
                    logits = self._squash(self.attend_score(query).view(1, -1), config.tanh_constant)
                    if step.distinct and previous_input >= 0:
                        mask = torch.zeros_like(logits, dtype=torch.bool)
                        mask[0, previous_input] = True
                        logits = logits.masked_fill(mask, float("-inf"))
                else:
                    reduce = config.op_tanh_reduce or 1.0
                    logits = self._squash(self.op_head(hidden), config.tanh_constant / reduce)
                distribution = torch.distributions.Categorical(logits=logits)
                if choices is not None:
                    choice = int(choices[len(chosen)])
                elif greedy:
                    choice = int(logits.argmax())
                else:
                    choice = int(torch.multinomial(distribution.probs.detach(), 1, generator=generator))
                index = torch.tensor([choice])
                log_prob = log_prob + distribution.log_prob(index).sum()
                entropy += float(distribution.entropy().detach().sum())
                probabilities.append(distribution.probs.detach()[0])
                chosen.append(choice)
                if step.kind == "input":
                    previous_input = choice
                    inputs = anchors[choice]
                else:
                    inputs = self.op_embedding(index)
        return Sample(chosen, self.program.decode(chosen), log_prob, entropy, probabilities)


@dataclass
class ControllerPhase:
    """What one epoch's controller training did: means over its sampled cells, the baseline at its end."""

    reward: float
    score: float
    entropy: float
    baseline: float
    loss: float
    cells: list[Any] = field(default_factory=list)


class ControllerTrainer:
    """The controller, its Adam optimiser, baseline and sampling generator: `sample` a cell for a weight step,
    `train` an epoch's controller phase on `score(cell)` (the raw quantity: accuracy, or perplexity on PTB),
    `derive` the final cell. Everything it holds goes into the search's checkpoint."""

    def __init__(self, program: ControllerProgram, config: ControllerConfig, seed: int, reward: str = "accuracy"):
        if reward not in ("accuracy", "perplexity"):
            raise SettingError(f"unknown ENAS reward {reward!r}; choose accuracy or perplexity")
        self.config, self.reward_kind = config, reward
        self.generator = torch.Generator().manual_seed(seed)
        self.controller = Controller(program, config, self.generator)
        self.optimizer = torch.optim.Adam(
            self.controller.parameters(), lr=config.lr, betas=tuple(config.betas), eps=config.eps
        )
        self.baseline = 0.0

    def sample(self) -> Sample:
        with torch.no_grad():
            return self.controller(self.generator)

    def greedy(self) -> Any:
        """The controller's most likely cell (each decision's argmax in turn)."""
        with torch.no_grad():
            return self.controller(greedy=True).cell

    def reward(self, score: float) -> float:
        """The reward of a raw score: accuracy as is; on PTB `reward_c / perplexity`, the loss capped first."""
        if self.reward_kind == "accuracy":
            return score
        import math

        capped = min(math.log(score), self.config.loss_cap)
        return self.config.reward_c / math.exp(capped)

    def train(self, score: Callable[[Any], float]) -> ControllerPhase:
        """`train_steps` Adam updates, each on `num_aggregate` sampled cells: reward = reward(score) + entropy
        weight x entropy; the baseline moves towards each reward before its loss, -log p x (reward - baseline),
        is averaged into the update (micro_controller.py's build_trainer)."""
        config = self.config
        self.controller.train()
        self.optimizer.zero_grad(set_to_none=True)
        rewards, scores, entropies, losses, cells = [], [], [], [], []
        for step in range(config.train_steps * config.num_aggregate):
            sample = self.controller(self.generator)
            raw = float(score(sample.cell))
            reward = self.reward(raw) + config.entropy_weight * sample.entropy
            self.baseline -= (1.0 - config.baseline_decay) * (self.baseline - reward)
            loss = -sample.log_prob * (reward - self.baseline)
            (loss / config.num_aggregate).backward()
            if (step + 1) % config.num_aggregate == 0:
                if config.grad_clip:
                    nn.utils.clip_grad_norm_(self.controller.parameters(), config.grad_clip)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            rewards.append(reward)
            scores.append(raw)
            entropies.append(sample.entropy)
            losses.append(float(loss.detach()))
            cells.append(sample.cell)
        count = len(rewards)
        return ControllerPhase(
            reward=sum(rewards) / count,
            score=sum(scores) / count,
            entropy=sum(entropies) / count,
            baseline=self.baseline,
            loss=sum(losses) / count,
            cells=cells,
        )

    def derive(self, score: Callable[[Any], float]) -> tuple[Any, float, list[tuple[Any, float]]]:
        """ENAS' final cell: `derive_samples` cells sampled from the trained controller, each scored once; the
        best (highest accuracy, or lowest perplexity; ties: the first sampled), its score, and every sample."""
        cells = [self.sample().cell for _ in range(self.config.derive_samples)]
        scored = [(cell, float(score(cell))) for cell in cells]
        sign = 1.0 if self.reward_kind == "accuracy" else -1.0
        best = max(range(len(scored)), key=lambda i: (sign * scored[i][1], -i))
        return scored[best][0], scored[best][1], scored

    def modules(self) -> dict[str, Any]:
        return {"controller": self.controller, "controller_optimizer": self.optimizer}


def _cnn_cell_steps() -> tuple[Step, ...]:
    from randnas.spaces.cnn import CNN_INPUTS, CNN_NODES

    steps = [Step("anchor", zero=True)] * CNN_INPUTS
    for node in range(CNN_NODES):
        options = CNN_INPUTS + node
        steps += [Step("input", options), Step("input", options, distinct=True), Step("op"), Step("op")]
        steps.append(Step("anchor"))
    return tuple(steps)


def _decode_cnn(choices: Sequence[int]) -> Any:
    from randnas.spaces.cnn import CNN_NODES, NONE_FREE_OPS, CnnGenotype

    cells = []
    for start in (0, 4 * CNN_NODES):
        edges = []
        for node in range(CNN_NODES):
            first, second, op_first, op_second = choices[start + 4 * node : start + 4 * node + 4]
            edges += [(NONE_FREE_OPS[op_first], first), (NONE_FREE_OPS[op_second], second)]
        cells.append(tuple(edges))
    return CnnGenotype(normal=cells[0], reduce=cells[1])


def _encode_cnn(genotype: Any) -> list[int]:
    from randnas.spaces.cnn import NONE_FREE_OPS

    choices = []
    for cell in (genotype.normal, genotype.reduce):
        for node in range(len(cell) // 2):
            (op_first, first), (op_second, second) = cell[2 * node], cell[2 * node + 1]
            choices += [first, second, NONE_FREE_OPS.index(op_first), NONE_FREE_OPS.index(op_second)]
    return choices


def cnn_program() -> ControllerProgram:
    """The DARTS CNN cell as ENAS' micro controller samples it: per node two inputs, then their two ops, for the
    normal and then the reduction cell (the LSTM state runs on between them)."""
    from randnas.spaces.cnn import NONE_FREE_OPS

    steps = _cnn_cell_steps()
    return ControllerProgram("cnn", (steps, steps), NONE_FREE_OPS, _decode_cnn, _encode_cnn)


def _decode_rnn(choices: Sequence[int]) -> Any:
    from randnas.spaces.rnn import RNN_ACTIVATIONS, RnnGenotype

    pairs = zip(choices[0::2], choices[1::2], strict=True)
    return RnnGenotype(recurrent=tuple((RNN_ACTIVATIONS[op], predecessor) for predecessor, op in pairs))


def _encode_rnn(genotype: Any) -> list[int]:
    from randnas.spaces.rnn import RNN_ACTIVATIONS

    return [value for op, predecessor in genotype.recurrent for value in (predecessor, RNN_ACTIVATIONS.index(op))]


def rnn_program() -> ControllerProgram:
    """The DARTS recurrent cell: node 0's anchor, then per node 1..8 its predecessor among the earlier nodes (by
    attention, as ENAS' PTB controller picks it) and its activation."""
    from randnas.spaces.rnn import RNN_ACTIVATIONS, RNN_NODES

    steps = [Step("anchor")]
    for node in range(1, RNN_NODES + 1):
        steps += [Step("input", node), Step("op"), Step("anchor")]
    return ControllerProgram("rnn", (tuple(steps),), RNN_ACTIVATIONS, _decode_rnn, _encode_rnn)


def _decode_nb201(choices: Sequence[int]) -> Any:
    from randnas.spaces.nb201 import NB201_OPS, Nb201Cell

    return Nb201Cell(tuple(NB201_OPS[choice] for choice in choices))


def _encode_nb201(cell: Any) -> list[int]:
    from randnas.spaces.nb201 import NB201_OPS

    return [NB201_OPS.index(op) for op in cell.ops]


def nb201_program() -> ControllerProgram:
    """NAS-Bench-201's cell as its ENAS controller samples it: one op per edge, `none` included."""
    from randnas.spaces.nb201 import NB201_EDGES, NB201_OPS

    return ControllerProgram(
        "nb201", (tuple(Step("op") for _ in NB201_EDGES),), NB201_OPS, _decode_nb201, _encode_nb201
    )


PROGRAMS: dict[str, Callable[[], ControllerProgram]] = {"cnn": cnn_program, "rnn": rnn_program, "nb201": nb201_program}
