"""What `--preset paper` would ask of a GPU: device-hours per plan entry, from the committed GPU benchmark
results (`benchmarks/results/*_cuda.json`) and the paper preset's job list.

Only what the benchmarks measured is counted: the CNN search's supernet steps and architecture scoring
(C=16 and C=24, 8 cells, batch 64), the PTB language model's steps (300 and 850 units, batch 64 and 256) and
the scoring of a recurrent cell on the whole validation split. A job whose main cost is not measured (the
CIFAR-10 evaluation network of 20 cells and 36 channels, ASHA's trainings, DARTS' relaxed networks,
NAS-Bench-201 and the surrogate) is listed as such, never guessed; a measured job's per-epoch evaluation
that the benchmarks did not time makes its hours a lower bound, and the table says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from randnas import plans
from randnas.report.common import Table
from randnas.repro import code_provenance
from randnas.search.cnn import cnn_setting
from randnas.search.rnn import PTB_TRAIN_TOKENS, rnn_arch_count, rnn_setting
from randnas.train.ptb import PtbTrainConfig

CIFAR10_SEARCH_HALF = 25_000  # the training half of the CNN search (its scoring half is as large)
HOUR = 3600.0


@dataclass(frozen=True)
class JobCost:
    hours: float | None  # None: its main cost is not measured on the GPU
    lower_bound: bool = False  # some of its work (per-epoch evaluation) is not counted
    basis: str = ""


def load_gpu_results(root: Path) -> dict[str, dict]:
    """The committed GPU benchmark results by benchmark name (empty when none were measured)."""
    found = {}
    for name in ("cnn_stage1_cuda", "ptb_stage1_cuda"):
        path = root / "benchmarks" / "results" / f"{name}.json"
        if path.is_file():
            found[name] = json.loads(path.read_text())
    return found


def cnn_search_cost(parameters: dict, results: dict) -> JobCost:
    config = cnn_setting(
        parameters["setting"], mode=parameters.get("mode", "single"), **parameters.get("overrides", {})
    )
    measured = results.get("cnn_stage1_cuda", {}).get("results", {}).get(f"C={config.channels}", {}).get(config.mode)
    if measured is None or config.batch_size != 64 or config.layers != 8:
        return JobCost(
            None,
            basis=f"C={config.channels}, {config.layers} cells, batch {config.batch_size}, {config.mode}: not measured",
        )
    steps = config.budget(CIFAR10_SEARCH_HALF)
    selection = config.selection(CIFAR10_SEARCH_HALF)
    # scoring: each architecture on `quick_minibatches` minibatches, then the top k of a round on the whole half
    forwards = selection.rounds * (
        selection.archs_per_round * config.quick_minibatches
        + selection.top_k * math.ceil(CIFAR10_SEARCH_HALF / config.batch_size)
    )
    seconds = steps * measured["step_s"] + forwards / measured["archs_scored_per_s"]
    return JobCost(
        seconds / HOUR, basis=f"{steps} steps of {measured['step_s'] * 1000:.0f} ms + {forwards} scoring minibatches"
    )


def _ptb_step(results: dict, hidden: int, batch: int) -> float | None:
    row = results.get("ptb_stage1_cuda", {}).get("results", {}).get(f"hidden={hidden}", {})
    return row.get(f"step_batch{batch}", {}).get("ours_s")


def ptb_search_cost(parameters: dict, results: dict) -> JobCost:
    config = rnn_setting(parameters["setting"], **parameters.get("overrides", {}))
    step = _ptb_step(results, config.hidden, config.batch_size)
    score = (
        results.get("ptb_stage1_cuda", {})
        .get("results", {})
        .get(f"hidden={config.hidden}", {})
        .get("score_whole_valid", {})
        .get("ours_s")
    )
    if step is None or score is None:
        return JobCost(None, basis=f"{config.hidden} units, batch {config.batch_size}: not measured")
    steps, archs = config.budget(), rnn_arch_count(config)
    return JobCost(
        (steps * step + archs * score) / HOUR,
        basis=f"{steps} steps of {step * 1000:.0f} ms + {archs} cells scored in {score:.2f} s each",
    )


def ptb_training_cost(parameters: dict, results: dict) -> JobCost:
    config = PtbTrainConfig(**parameters.get("overrides", {}))
    step = _ptb_step(results, config.hidden, config.batch_size)
    if step is None:
        return JobCost(None, basis=f"{config.hidden} units, batch {config.batch_size}: not measured")
    steps = config.epochs * PTB_TRAIN_TOKENS // (config.batch_size * config.bptt)
    return JobCost(
        steps * step / HOUR,
        lower_bound=True,
        basis=f"{steps} steps of {step * 1000:.0f} ms; each epoch's validation at batch 10 not measured",
    )


ESTIMATORS: dict[str, Callable[[dict, dict], JobCost]] = {
    "rsws_search.ipynb": cnn_search_cost,
    "ptb_rsws_search.ipynb": ptb_search_cost,
    "ptb_train_from_scratch.ipynb": ptb_training_cost,
}


def job_cost(job: plans.Job, results: dict) -> JobCost:
    estimate = ESTIMATORS.get(job.notebook.name)
    if estimate is None:
        return JobCost(None, basis=f"{job.notebook.name}: not timed on the GPU")
    return estimate(dict(job.parameters), results)


def paper_cost_table(root: Path) -> Table:
    """Device-hours of the paper preset, entry by entry, on the GPU the committed benchmarks measured."""
    results = load_gpu_results(root)
    jobs = plans.expand(plans.load_plan(root / "plans" / "default.yaml", root=root), "paper")
    rows = []
    for entry in dict.fromkeys(job.entry for job in jobs):
        costs = [job_cost(job, results) for job in jobs if job.entry == entry]
        measured = [c for c in costs if c.hours is not None]
        hours = sum(c.hours for c in measured)
        rows.append(
            {
                "plan entry": entry,
                "jobs": len(costs),
                "jobs measured": len(measured),
                "device-hours": (f"{hours:,.1f}" + (" or more" if any(c.lower_bound for c in measured) else ""))
                if measured
                else "",
                "device-days": f"{hours / 24:,.2f}" if measured else "",
                "what it counts": costs[0].basis if len({c.basis for c in costs}) == 1 else f"{costs[0].basis}; ...",
            }
        )
    frame = pd.DataFrame(rows)
    devices = sorted({r.get("results", {}).get("device", "?") for r in results.values()})
    total = sum(float(v.removesuffix(" or more").replace(",", "")) for v in frame["device-hours"] if v)
    scale = (
        f"GPU benchmarks on {', '.join(devices)} (benchmarks/results/*_cuda.json, "
        f"{'; '.join(sorted({code_provenance(r.get('machine', {})) for r in results.values()}))})"
        if results
        else "no GPU benchmark results committed"
    )
    note = (
        f"Measured entries add up to {total:,.0f} device-hours ({total / 24:,.1f} days) on that GPU, "
        "one job at a time; "
        "the paper reports P100 GPU-days. Entries with no measured jobs are not estimated: their networks were not "
        "timed on the GPU (the CIFAR-10 evaluation network, ASHA, DARTS, NAS-Bench-201, the surrogate). "
        "'or more': per-epoch evaluation is not counted. scripts/gpu_check.sh refreshes the measurements."
    )
    return Table("What the paper preset asks of a GPU", frame, scale, [], note)
