"""PTB stage-1 cost: a training step (batch x 35 tokens) and scoring one architecture on the whole
validation split (batch 1024), at 300 and 850 units.

Baseline, measured in the same run: the cell written as DARTS writes it (the input and hidden halves of
W0 in one product per time step, one product per node), with the same weights and dropout masks. Every
ratio in the results is between two timings of this run. The issue's quotes of the authors' own code on
another 2-core CPU (a step 0.649 s / 2.06 s at 300 / 850 units and batch 64, scoring 5.4 s / 16.2 s) are kept
in the results as quoted, with their source, and nothing is divided by them. The corpus is PTB-shaped random tokens
(10,000 words, 73,760 validation tokens) unless --data-root has the real PTB: timing depends on shapes only.
The floor: nearly all the work is matrix products, so each measurement also reports the fp32 matrix
product throughput of this device measured in the same run, the products' FLOPs, and the time they take
at that throughput (`floor_s`). A target below the floor cannot be met by any fp32 implementation here.
Run: .venv/bin/python -m benchmarks.bench_ptb [--device auto] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from benchmarks.common import write_results
from randnas.data.base import TokenCorpus
from randnas.device import describe_device, select_device
from randnas.nets.rnn import ACTIVATIONS, LmOutput, RnnLanguageModel, RnnModelConfig, embedded_dropout, locked_dropout
from randnas.repro import numpy_generator
from randnas.spaces.rnn import RnnGenotype, sample_rnn_genotype
from randnas.train.lm import batchify, perplexity

# not measured here: the authors' code as an earlier issue quoted it, on a 2-core CPU of its own
QUOTED_AUTHORS = {
    "source": "an issue's quote of the authors' released code on its 2-core CPU (not measured in this run)",
    "step_batch64_s": {300: 0.649, 850: 2.06},
    "score_whole_valid_s": {300: 5.4, 850: 16.2},
}


class DartsStyleCell(nn.Module):
    """The baseline: the same parameters, computed one node and one time step at a time."""

    def __init__(self, cell) -> None:
        super().__init__()
        self.inner = cell

    def forward(self, inputs: torch.Tensor, h: torch.Tensor, genotype: RnnGenotype) -> torch.Tensor:
        cell = self.inner
        hidden = cell.hidden
        if self.training:
            x_mask = inputs.new_empty(inputs.shape[1:]).bernoulli_(1 - cell.dropoutx) / (1 - cell.dropoutx)
            h_mask = inputs.new_empty(h.shape).bernoulli_(1 - cell.dropouth) / (1 - cell.dropouth)
        outputs = []
        for x in inputs:
            xh = torch.cat([x * x_mask, h * h_mask], -1) if self.training else torch.cat([x, h], -1)
            c0, h0 = (xh @ cell.w0).split(hidden, -1)
            states = [h + torch.sigmoid(c0) * (torch.tanh(h0) - h)]
            for i, (activation, predecessor) in enumerate(genotype.recurrent):
                s_prev = states[predecessor]
                c, pre = ((s_prev * h_mask if self.training else s_prev) @ cell.ws[i]).split(hidden, -1)
                states.append(s_prev + torch.sigmoid(c) * (ACTIVATIONS[activation](pre) - s_prev))
            h = torch.stack(states[1:], -1).mean(-1)
            outputs.append(h)
        return torch.stack(outputs)


class DartsStyleModel(RnnLanguageModel):
    """Our model with the baseline cell swapped in (same embedding, decoder and dropouts)."""

    def __init__(self, config: RnnModelConfig) -> None:
        super().__init__(config)
        self.baseline_cell = DartsStyleCell(self.cell)

    def forward(self, words, hidden, genotype):
        config = self.config
        emb = embedded_dropout(self.encoder, words, config.dropoute if self.training else 0.0)
        emb = locked_dropout(emb, config.dropouti if self.training else 0.0)
        raw = self.baseline_cell(emb, hidden, genotype)
        out = locked_dropout(raw, config.dropout if self.training else 0.0)

        return LmOutput(torch.log_softmax(self.decoder(out), dim=-1), raw[-1], raw)


def matmul_gflops(device: torch.device, sizes: tuple[int, ...] = (2048, 4096), repeats: int = 5) -> float:
    """fp32 throughput of large square matrix products on this device: the best of `repeats` at each size,
    the highest of the sizes (the most generous peak gives the lowest floor)."""
    rates = []
    for size in sizes:
        a = torch.randn(size, size, device=device)
        b = torch.randn(size, size, device=device)
        best = float("inf")
        for _ in range(repeats + 1):
            start = time.perf_counter()
            a @ b
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - start)
        rates.append(2 * size**3 / best / 1e9)
    return max(rates)


def product_flops(hidden: int, tokens: int, vocab: int = 10_000, train: bool = True) -> float:
    """FLOPs of the matrix products: per token W0 (2H x 2H), eight node matrices (H x 2H) and the decoder
    (H x V); a training step also computes the gradients of inputs and weights (3x the forward)."""
    forward = 2 * tokens * (2 * hidden * 2 * hidden + 8 * hidden * 2 * hidden + hidden * vocab)
    return 3 * forward if train else forward


def against_floor(seconds: float, flops: float, gflops: float) -> dict:
    floor = flops / (gflops * 1e9)
    return {
        "product_gflop": flops / 1e9,
        "floor_s": floor,
        "ours_gflops": flops / seconds / 1e9,
        "share_of_matmul_rate": floor / seconds,
    }


def ptb_shaped(valid_tokens: int = 73_760) -> TokenCorpus:
    rng = np.random.default_rng(0)
    stream = torch.as_tensor(rng.integers(0, 10_000, valid_tokens))
    return TokenCorpus(
        "ptb", "PTB-shaped random tokens", tuple(map(str, range(10_000))), stream, stream, stream, "0", "bench"
    )


def step_time(model, words, targets, genotype, device) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=20.0, weight_decay=5e-7)
    model.train()
    hidden = model.init_hidden(words.shape[1])
    start = time.perf_counter()
    out = model(words, hidden, genotype)
    loss = nn.functional.nll_loss(out.log_probs.view(-1, out.log_probs.shape[-1]), targets.reshape(-1))
    loss = loss + 1e-3 * (out.raw_states[1:] - out.raw_states[:-1]).pow(2).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def score_time(model, valid, genotype, device) -> float:
    start = time.perf_counter()
    perplexity(model, valid, genotype, 35)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=[300, 850])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    device = select_device(args.device)
    torch.manual_seed(0)
    corpus = ptb_shaped()
    valid = batchify(corpus.valid, 1024).to(device)
    rng = numpy_generator(0)
    genotypes = [sample_rnn_genotype(rng) for _ in range(args.repeats + 1)]
    gflops = matmul_gflops(device)
    results: dict = {
        "device": describe_device(device),
        "bptt": 35,
        "quoted_not_measured": QUOTED_AUTHORS,
        "matmul_fp32_gflops": gflops,
    }
    for hidden in args.hidden:
        ours = RnnLanguageModel(RnnModelConfig(10_000, hidden)).to(device)
        baseline = DartsStyleModel(RnnModelConfig(10_000, hidden)).to(device)
        baseline.load_state_dict(ours.state_dict(), strict=False)
        row: dict = {}
        for batch in args.batches:
            data = batchify(corpus.train, batch).to(device)
            words, targets = data[:35], data[1:36]
            times = {"ours": [], "baseline": []}
            for index, genotype in enumerate(genotypes):  # interleaved, the first one warms up
                for name, model in (("ours", ours), ("baseline", baseline)):
                    elapsed = step_time(model, words, targets, genotype, device)
                    if index:
                        times[name].append(elapsed)
            step = {name: statistics.median(values) for name, values in times.items()}
            row[f"step_batch{batch}"] = {
                "ours_s": step["ours"],
                "baseline_s": step["baseline"],
                "ours_range_s": [min(times["ours"]), max(times["ours"])],
                "baseline_range_s": [min(times["baseline"]), max(times["baseline"])],
                "speedup_vs_baseline": statistics.median(
                    b / o for b, o in zip(times["baseline"], times["ours"], strict=True)
                ),
                "repeats": len(times["ours"]),
            }
            row[f"step_batch{batch}"].update(against_floor(step["ours"], product_flops(hidden, 35 * batch), gflops))
        scores = {"ours": [], "baseline": []}
        for index, genotype in enumerate(genotypes):
            for name, model in (("ours", ours), ("baseline", baseline)):
                elapsed = score_time(model, valid, genotype, device)
                if index:
                    scores[name].append(elapsed)
        ours_score = statistics.median(scores["ours"])
        row["score_whole_valid"] = {
            "ours_s": ours_score,
            "baseline_s": statistics.median(scores["baseline"]),
            "speedup_vs_baseline": statistics.median(
                b / o for b, o in zip(scores["baseline"], scores["ours"], strict=True)
            ),
            "repeats": len(scores["ours"]),
            **against_floor(
                ours_score, product_flops(hidden, (valid.shape[0] - 1) * valid.shape[1], train=False), gflops
            ),
        }
        results[f"hidden={hidden}"] = row
        print(f"hidden={hidden}: {row}", flush=True)
    name = "ptb_stage1_" + ("cuda" if device.type == "cuda" else "cpu")
    print(
        write_results(
            name, results, notes="ratios are between timings of this run; quoted_not_measured is context only"
        )
    )


if __name__ == "__main__":
    main()
