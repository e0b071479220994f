"""Stage-1 cost of the shared-weight CNN network: `single` (the paper) against `dense` (as released).

For C=16 and C=24, 8 cells, batch 64, 32x32 inputs:
- step: forward + backward + SGD step, for `single`, `dense` and a stand-alone evaluation network (no auxiliary
  head) of the same architectures, interleaved architecture by architecture in one process. Every contender is
  warmed the same way: per architecture, the network is built (the stand-alone one) outside the timing, one
  untimed step runs, then `repeats` timed steps; a contender's time for an architecture is their median.
  Reported: the median over architectures and its range; ratios are medians of per-architecture ratios;
- peak memory, in a process per kind: the peak resident memory above what the process held before its
  first step (CPU), or torch's peak allocated memory (CUDA);
- selection throughput: architectures scored per second, one batch of 64 each in eval mode.
Run: .venv/bin/python -m benchmarks.bench_cnn [--device auto] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

from benchmarks.common import write_results
from randnas.device import describe_device, select_device
from randnas.nets.cnn import NetworkCIFAR
from randnas.nets.cnn_supernet import SharedCnnNetwork
from randnas.repro import numpy_generator
from randnas.spaces.cnn import sample_cnn_genotype

KINDS = ("single", "dense", "standalone")


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step_fn(kind: str, channels: int, device: torch.device):
    """A function genotype -> a function that runs one training step of `kind` on that architecture (any
    building happens in the first call, outside the step), and the shared net if any."""
    if kind == "standalone":

        def prepare(genotype):
            model = NetworkCIFAR(genotype, channels, 8, auxiliary=False).to(device)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
            return lambda x, y: _train_step(lambda inputs: model(inputs)[0], optimizer, x, y)

        return prepare, None
    shared = SharedCnnNetwork(channels, 8, mode=kind).to(device)
    optimizer = torch.optim.SGD(shared.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)

    def prepare(genotype):
        return lambda x, y: _train_step(lambda inputs: shared(inputs, genotype), optimizer, x, y)

    return prepare, shared


def _train_step(forward, optimizer, x, y) -> None:
    loss = nn.functional.cross_entropy(forward(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _timed(function, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    function()
    _sync(device)
    return time.perf_counter() - start


def _inputs(device: torch.device, batch: int = 64):
    torch.manual_seed(0)
    return torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)


def measure_memory(kind: str, channels: int, device_name: str) -> dict:
    """Peak memory of two training steps of `kind`, in a process of its own."""
    device = select_device(device_name)
    x, y = _inputs(device)
    rng = numpy_generator(0)
    genotypes = [sample_cnn_genotype(rng) for _ in range(2)]
    prepare, _ = _step_fn(kind, channels, device)
    rss_before = _peak_rss_bytes()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for genotype in genotypes:
        prepare(genotype)(x, y)
    if device.type == "cuda":
        return {"peak_memory_bytes": torch.cuda.max_memory_allocated(device)}
    return {"peak_memory_bytes": _peak_rss_bytes() - rss_before}


def measure_time(channels: int, steps: int, device_name: str, repeats: int = 3) -> dict:
    """Step times of the three kinds interleaved architecture by architecture (so drift in the machine's
    speed hits all three alike), and the scoring rates of single and dense; medians and per-architecture ratios."""
    device = select_device(device_name)
    x, y = _inputs(device)
    rng = numpy_generator(0)
    genotypes = [sample_cnn_genotype(rng) for _ in range(steps)]
    steppers = {kind: _step_fn(kind, channels, device) for kind in KINDS}
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    scoring: dict[str, list[float]] = {"single": [], "dense": []}
    median = statistics.median
    for genotype in genotypes:
        for kind, (prepare, shared) in steppers.items():
            step = prepare(genotype)
            step(x, y)  # untimed warm-up on this architecture, the same for every contender
            times[kind].append(median(_timed(lambda s=step: s(x, y), device) for _ in range(repeats)))
            if shared is not None:
                shared.eval()
                with torch.no_grad():
                    shared(x, genotype)  # warm-up
                    scoring[kind].append(
                        median(
                            _timed(lambda net=shared, cell=genotype: net(x, cell).argmax(1), device)
                            for _ in range(repeats)
                        )
                    )
                shared.train()
    result = {
        kind: {
            "step_s": median(values),
            "step_range_s": [min(values), max(values)],
            "architectures": len(values),
            "repeats_per_architecture": repeats,
        }
        for kind, values in times.items()
    }
    for kind, values in scoring.items():
        result[kind]["archs_scored_per_s"] = 1.0 / median(values)
    result["ratios"] = {
        "dense_step_over_single_step": median([d / s for d, s in zip(times["dense"], times["single"], strict=True)]),
        "single_step_over_standalone_step": median(
            [s / a for s, a in zip(times["single"], times["standalone"], strict=True)]
        ),
        "single_scoring_over_dense_scoring": median(
            [d / s for d, s in zip(scoring["dense"], scoring["single"], strict=True)]
        ),
    }
    return result


def run_isolated(arguments: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_cnn", *arguments], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--steps", type=int, default=3, help="architectures timed (each: one warm-up step, then --repeats)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per architecture and contender")
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 24])
    parser.add_argument("--memory-worker", nargs=2, metavar=("KIND", "C"), help=argparse.SUPPRESS)
    parser.add_argument("--time-worker", type=int, metavar="C", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        kind, channels = args.memory_worker
        print(json.dumps(measure_memory(kind, int(channels), args.device)))
        return
    if args.time_worker:
        print(json.dumps(measure_time(args.time_worker, args.steps, args.device, args.repeats)))
        return
    device = select_device(args.device)
    results: dict = {"device": describe_device(device), "batch": 64, "cells": 8, "input": "32x32"}
    for channels in args.channels:
        common = ["--device", args.device, "--steps", str(args.steps), "--repeats", str(args.repeats)]
        row = run_isolated(["--time-worker", str(channels), *common])
        for kind in KINDS:
            row[kind].update(run_isolated(["--memory-worker", kind, str(channels), *common]))
        row["ratios"]["single_memory_over_dense_memory"] = (
            row["single"]["peak_memory_bytes"] / row["dense"]["peak_memory_bytes"]
        )
        results[f"C={channels}"] = row
        print(f"C={channels}: {json.dumps(row['ratios'])}", flush=True)
    name = "cnn_stage1_" + ("cuda" if device.type == "cuda" else "cpu")
    path = write_results(
        name,
        results,
        notes="every contender warmed alike per architecture; ratios are medians of per-architecture ratios of "
        "this run",
    )
    print(path)


if __name__ == "__main__":
    main()
