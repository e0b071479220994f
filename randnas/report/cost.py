"""What `--preset paper` would ask of a GPU: device-hours for every job of the paper preset, each priced from a
measurement where one exists and by a stated bound where not, totals on 1 and on 8 GPUs (the plan's `after` order
respected), and the subsets behind the book's claims.

How each job is priced (its `kind`):
- measured: the committed GPU benchmarks (`benchmarks/results/*_cuda.json`): the CNN search's supernet steps and
  scoring, the PTB model's steps and a recurrent cell's scoring;
- one-off measurement: the CIFAR-10 evaluation network (C=36, 20 cells, batch 96) took 0.150 s a step on an H200
  (November 2026, the trainer as it is), measured once and not yet a committed benchmark;
- lower bound: work no benchmark timed, bounded below by measured steps of a network it must at least run (DARTS's
  relaxed networks) or by its multiply-accumulates at the measured fp32 matmul rate (NAS-Bench-201);
- at most: ASHA's trainings, whose promotions are not known in advance: every rung filled to its 1/eta share;
- no GPU work: table lookups, the surrogate's CPU predictions, the data pages.
A per-epoch evaluation no benchmark timed makes a price a lower bound, and the table says so.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from randnas import plans
from randnas.report.common import Table
from randnas.repro import code_provenance
from randnas.search.cnn import cnn_setting
from randnas.search.rnn import PTB_TRAIN_TOKENS, rnn_arch_count, rnn_setting
from randnas.train.ptb import PtbTrainConfig

CIFAR10_SEARCH_HALF = 25_000  # the training half of the CNN search (its scoring half is as large)
CIFAR10_TRAIN = 50_000
CIFAR10_OBJECTIVE_IMAGES = {"test": CIFAR10_TRAIN, "valid": CIFAR10_SEARCH_HALF, "holdout": 45_000}
HOUR = 3600.0
GPUS = 8  # the second total: a node of 8 GPUs, as the paper's ASHA ran on
# the CIFAR-10 evaluation network's training step (C=36, 20 cells, auxiliary head, batch 96) on an H200, the trainer
# as it is: measured once in November 2026 (78 s an epoch, 13 h a 600-epoch training); the GPU fast-path issue's
# stage-2 benchmark is to replace it with a committed result
STAGE2_STEP_S = 0.150
STAGE2_SHAPE = (36, 20, 96)  # channels, cells, batch of that measurement

MEASURED, ONE_OFF, LOWER, AT_MOST, NO_GPU = "measured", "one-off measurement", "lower bound", "at most", "no GPU work"


@dataclass(frozen=True)
class JobCost:
    hours: float | None  # None: neither measured nor bounded (never so for a paper-preset job: a test says so)
    lower_bound: bool = False  # some of its work (per-epoch evaluation) is not counted
    basis: str = ""
    kind: str = MEASURED
    gpus: int = 1  # GPUs it occupies at once (ASHA's workers), for the 8-GPU schedule


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


def ptb_epoch_steps(config: PtbTrainConfig) -> int:
    return PTB_TRAIN_TOKENS // (config.batch_size * config.bptt)


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


def cnn_epoch_seconds(overrides: Mapping, objective: str) -> tuple[float, int] | None:
    """One epoch of the CIFAR-10 evaluation network at the one-off measurement's shape: seconds and steps."""
    from randnas.train.cnn import CnnTrainConfig

    config = CnnTrainConfig(**overrides)
    if (config.channels, config.layers, config.batch_size) != STAGE2_SHAPE:
        return None
    steps = math.ceil(CIFAR10_OBJECTIVE_IMAGES[objective] / config.batch_size)
    steps = min(steps, config.max_steps_per_epoch) if config.max_steps_per_epoch else steps
    return steps * STAGE2_STEP_S, steps


def cnn_training_cost(parameters: dict, results: dict) -> JobCost:
    """Stages 2 and 3 on CIFAR-10 (and the random baseline's brief trainings) at the one-off step time."""
    from randnas.train.cnn import CnnTrainConfig

    overrides = parameters.get("overrides", {})
    config = CnnTrainConfig(**overrides)
    per_epoch = cnn_epoch_seconds(overrides, parameters.get("objective", "test"))
    if per_epoch is None:
        shape = f"C={config.channels}, {config.layers} cells, batch {config.batch_size}"
        return JobCost(None, basis=f"{shape}: not measured")
    seconds, steps = per_epoch
    return JobCost(
        config.epochs * seconds / HOUR,
        lower_bound=True,
        kind=ONE_OFF,
        basis=f"{config.epochs} epochs of {steps} steps of {STAGE2_STEP_S * 1000:.0f} ms; evaluation not counted",
    )


def asha_cost(parameters: dict, results: dict) -> JobCost:
    """ASHA's trainings if every rung fills its 1/eta share (no more can be promoted): an upper bound on epochs."""
    from randnas.search.asha.rule import rung_resources

    eta = int(parameters["eta"])
    resources = rung_resources(parameters["r"], parameters["R"], eta, parameters.get("layout", "top_down"))
    counts = [int(parameters["max_trials"])]
    for _ in resources[1:]:
        counts.append(counts[-1] // eta)
    epochs = sum(n * (res - prev) for n, res, prev in zip(counts, resources, [0, *resources[:-1]], strict=True))
    workers = int(parameters.get("workers", 1)) * int(parameters.get("gpus_per_worker", 1) or 1)
    train = parameters.get("train", {})
    if parameters["benchmark"] == "cnn":
        per_epoch = cnn_epoch_seconds(train, parameters.get("objective", "valid"))
        if per_epoch is None:
            return JobCost(None, basis="ASHA's CIFAR-10 trials at an unmeasured size")
        seconds, what = per_epoch[0], f"{per_epoch[1]} steps of {STAGE2_STEP_S * 1000:.0f} ms (one-off)"
    else:
        config = PtbTrainConfig(**train)
        step = _ptb_step(results, config.hidden, config.batch_size)
        if step is None:
            return JobCost(
                None, basis=f"ASHA's PTB trials: {config.hidden} units, batch {config.batch_size} not measured"
            )
        seconds, what = ptb_epoch_steps(config) * step, f"{ptb_epoch_steps(config)} steps of {step * 1000:.0f} ms"
    return JobCost(
        epochs * seconds / HOUR,
        kind=AT_MOST,
        gpus=max(1, workers),
        basis=f"at most {epochs:,} epochs ({counts} trials at rungs {resources}), each {what}; evaluation not counted",
    )


def darts_cnn_cost(parameters: dict, results: dict) -> JobCost:
    """DARTS's relaxed CNN supernet computes every op on every edge, as the measured dense supernet does; each search
    step runs it forward and backward at least twice (a weight step and an architecture step)."""
    from randnas.search.darts import darts_cnn_setting

    config = darts_cnn_setting(parameters["setting"], **parameters.get("overrides", {}))
    measured = results.get("cnn_stage1_cuda", {}).get("results", {}).get(f"C={config.channels}", {}).get("dense")
    if measured is None or config.batch_size != 64 or config.layers != 8:
        return JobCost(None, basis=f"DARTS at C={config.channels}, batch {config.batch_size}: not measured")
    steps = config.epochs * math.ceil(CIFAR10_SEARCH_HALF / config.batch_size)
    return JobCost(
        steps * 2 * measured["step_s"] / HOUR,
        lower_bound=True,
        kind=LOWER,
        basis=f"{steps} steps, each at least 2 dense supernet steps of {measured['step_s'] * 1000:.0f} ms",
    )


def darts_ptb_cost(parameters: dict, results: dict) -> JobCost:
    """DARTS's relaxed recurrent cell computes every activation on every edge: at least two measured single-path
    steps (a weight step and an architecture step) per search step."""
    from randnas.search.darts_rnn import darts_rnn_setting

    config = darts_rnn_setting(parameters["setting"], **parameters.get("overrides", {}))
    step = _ptb_step(results, config.hidden, config.batch_size)
    if step is None:
        return JobCost(None, basis=f"DARTS PTB at {config.hidden} units, batch {config.batch_size}: not measured")
    steps = config.epochs * (PTB_TRAIN_TOKENS // (config.batch_size * config.bptt))
    return JobCost(
        steps * 2 * step / HOUR,
        lower_bound=True,
        kind=LOWER,
        basis=f"{steps} steps, each at least 2 single-path steps of {step * 1000:.0f} ms",
    )


@lru_cache(maxsize=8)
def nb201_op_macs(channels: int, cells_per_stage: int) -> tuple[int, dict[str, int]]:
    """Multiply-accumulates per image of the NAS-Bench-201 network: the part every cell shares, and what one edge
    adds per op (a cell's count is the shared part plus its six edges': edges add up independently)."""
    from randnas.nets.cnn import forward_macs
    from randnas.nets.nb201 import Nb201Network
    from randnas.spaces.nb201 import NB201_EDGES, NB201_OPS, Nb201Cell

    network = Nb201Network(channels, cells_per_stage)
    totals = {
        op: forward_macs(network, call=lambda net, x, op=op: net(x, Nb201Cell(ops=(op,) * len(NB201_EDGES)), "single"))
        for op in NB201_OPS
    }
    shared = totals["none"]
    return shared, {op: (total - shared) // len(NB201_EDGES) for op, total in totals.items()}


def _flops_bound(flops: float, results: dict) -> JobCost:
    """`flops` at the fp32 matrix-product rate the GPU benchmark measured: no network step runs faster."""
    gflops = results.get("ptb_stage1_cuda", {}).get("results", {}).get("matmul_fp32_gflops")
    if not gflops:
        return JobCost(None, basis="no measured matmul rate")
    rate = gflops * 1e9
    return JobCost(
        flops / rate / HOUR,
        lower_bound=True,
        kind=LOWER,
        basis=f"{flops / 1e15:.1f} PFLOP at the measured matmul rate ({rate / 1e12:.0f} TFLOP/s)",
    )


def nb201_search_cost(parameters: dict, results: dict) -> JobCost:
    """RSWS on NAS-Bench-201: its training and scoring multiply-accumulates (a uniformly random cell per minibatch:
    the mean over ops per edge) at the measured fp32 matmul rate, 3 passes' worth per training image."""
    from randnas.report.nb201 import scored_images
    from randnas.search.nb201 import nb201_config
    from randnas.spaces.nb201 import NB201_EDGES

    config = nb201_config(parameters.get("setting", "project"), parameters.get("overrides", {}))
    shared, per_op = nb201_op_macs(config.channels, config.cells_per_stage)
    macs = shared + len(NB201_EDGES) * sum(per_op.values()) / len(per_op)
    steps = math.ceil(CIFAR10_SEARCH_HALF / config.batch_size)
    trained = config.epochs * (min(steps, config.max_steps_per_epoch) if config.max_steps_per_epoch else steps)
    # the same count as the chapter's compute column; a search scores after its last epoch too
    scored = scored_images(config, len(config.scoring_epochs))
    return _flops_bound(2 * macs * (3 * trained * config.batch_size + scored), results)


def nb201_darts_cost(parameters: dict, results: dict) -> JobCost:
    """DARTS on NAS-Bench-201: every op on every edge, a weight step and an architecture step per minibatch, at the
    measured fp32 matmul rate."""
    from randnas.search.darts import darts_nb201_setting
    from randnas.spaces.nb201 import NB201_EDGES

    config = darts_nb201_setting(parameters["setting"], **parameters.get("overrides", {}))
    shared, per_op = nb201_op_macs(config.channels, config.cells_per_stage)
    macs = shared + len(NB201_EDGES) * sum(per_op.values())
    steps = config.epochs * math.ceil(CIFAR10_SEARCH_HALF / config.batch_size)
    return _flops_bound(2 * macs * 3 * 2 * steps * config.batch_size, results)


def enas_cost(parameters: dict, results: dict) -> JobCost:
    """ENAS: the shared weights' single-path steps (as RSWS's), plus each epoch's controller phase and the derive
    step, one validation minibatch forward per sampled cell; the controller's own LSTM steps are not counted, so
    every price is a lower bound. CIFAR-10: the measured supernet; PTB: the measured model steps (its reward
    chunks uncounted); NAS-Bench-201: multiply-accumulates at the measured matmul rate."""
    from randnas.search.enas_search import enas_setting

    space = parameters["space"]
    config = enas_setting(space, parameters.get("overrides", {}))
    control = config.controller
    rewards = config.epochs * control.train_steps * control.num_aggregate + control.derive_samples
    if space == "rnn":
        step = _ptb_step(results, config.hidden, config.batch_size)
        if step is None:
            return JobCost(None, basis=f"ENAS PTB at {config.hidden} units, batch {config.batch_size}: not measured")
        steps = config.epochs * (PTB_TRAIN_TOKENS // (config.batch_size * config.bptt))
        return JobCost(steps * step / HOUR, True, f"{steps} steps of {step * 1000:.0f} ms", LOWER)
    steps = config.epochs * math.ceil(CIFAR10_SEARCH_HALF / config.batch_size)
    if config.max_steps_per_epoch:
        steps = min(steps, config.epochs * config.max_steps_per_epoch)
    if space == "nb201":
        from randnas.spaces.nb201 import NB201_EDGES

        shared, per_op = nb201_op_macs(config.channels, config.cells_per_stage)
        macs = shared + len(NB201_EDGES) * sum(per_op.values()) / len(per_op)
        return _flops_bound(2 * macs * (3 * steps + rewards) * config.batch_size, results)
    measured = results.get("cnn_stage1_cuda", {}).get("results", {}).get(f"C={config.channels}", {}).get("single")
    if measured is None or config.batch_size != 64 or config.layers != 8:
        return JobCost(None, basis=f"ENAS at C={config.channels}, batch {config.batch_size}: not measured")
    seconds = steps * measured["step_s"] + rewards / measured["archs_scored_per_s"]
    basis = f"{steps} steps of {measured['step_s'] * 1000:.0f} ms + {rewards} reward minibatches"
    return JobCost(seconds / HOUR, True, basis, LOWER)


def no_gpu_cost(parameters: dict, results: dict) -> JobCost:
    return JobCost(0.0, kind=NO_GPU, basis="CPU only (benchmark lookups, surrogate predictions or data pages)")


ESTIMATORS: dict[str, Callable[[dict, dict], JobCost]] = {
    "rsws_search.ipynb": cnn_search_cost,
    "ptb_rsws_search.ipynb": ptb_search_cost,
    "ptb_train_from_scratch.ipynb": ptb_training_cost,
    "train_from_scratch.ipynb": cnn_training_cost,
    "asha_search.ipynb": asha_cost,
    "darts_search.ipynb": darts_cnn_cost,
    "ptb_darts_search.ipynb": darts_ptb_cost,
    "nb201_rsws.ipynb": nb201_search_cost,
    "nb201_darts.ipynb": nb201_darts_cost,
    "enas_search.ipynb": enas_cost,
    "nb201_best_of_n.ipynb": no_gpu_cost,
    "surrogate_asha.ipynb": no_gpu_cost,
    "datasets.ipynb": no_gpu_cost,
}


def job_cost(job: plans.Job, results: dict) -> JobCost:
    estimate = ESTIMATORS.get(job.notebook.name)
    if estimate is None:
        return JobCost(None, basis=f"{job.notebook.name}: no price and no bound")
    return estimate(dict(job.parameters), results)


@dataclass(frozen=True)
class PricedJob:
    job: plans.Job
    cost: JobCost


def priced_jobs(root: Path, preset: str = "paper") -> list[PricedJob]:
    """Every job of the preset with its price, in plan order."""
    results = load_gpu_results(root)
    jobs = plans.expand(plans.load_plan(root / "plans" / "default.yaml", root=root), preset)
    return [PricedJob(job, job_cost(job, results)) for job in jobs]


def schedule_hours(priced: Sequence[PricedJob], gpus: int) -> float:
    """Wall-clock hours on `gpus` GPUs: jobs start in plan order on the earliest free GPUs, an entry's jobs only once
    the entries in its `after` have finished; a job on w workers occupies min(w, gpus) GPUs for hours / that."""
    free = [0.0] * gpus
    finished: dict[str, float] = {}
    for item in priced:
        hours = item.cost.hours or 0.0
        width = min(item.cost.gpus, gpus)
        ready = max((finished.get(entry, 0.0) for entry in item.job.after), default=0.0)
        taken = [heapq.heappop(free) for _ in range(width)]
        start = max(ready, *taken)
        end = start + hours / width
        for _ in range(width):
            heapq.heappush(free, end)
        finished[item.job.entry] = max(finished.get(item.job.entry, 0.0), end)
    return max(finished.values(), default=0.0)


def _hours_text(costs: Sequence[JobCost]) -> str:
    hours = sum(c.hours or 0.0 for c in costs)
    kinds = {c.kind for c in costs}
    lower = any(c.lower_bound for c in costs)
    prefix = "at most " if kinds == {AT_MOST} else ""
    suffix = " (bounds both ways)" if lower and AT_MOST in kinds else " or more" if lower else ""
    return f"{prefix}{_hours(hours)}{suffix}"


def _hours(hours: float) -> str:
    """1 decimal from one hour up, 2 significant digits below (a bound of minutes still reads as one)."""
    return f"{hours:,.1f}" if hours >= 1 or hours == 0 else f"{hours:.2g}"


def paper_cost_table(root: Path) -> Table:
    """Device-hours of the paper preset, entry by entry: every job priced or bounded (see the module's words)."""
    results = load_gpu_results(root)
    priced = priced_jobs(root)
    rows = []
    for entry in dict.fromkeys(item.job.entry for item in priced):
        costs = [item.cost for item in priced if item.job.entry == entry]
        bases = list(dict.fromkeys(c.basis for c in costs))
        rows.append(
            {
                "plan entry": entry,
                "jobs": len(costs),
                "device-hours": _hours_text(costs) if all(c.hours is not None for c in costs) else "no price",
                "priced by": ", ".join(sorted({c.kind for c in costs})),
                "what it counts": bases[0] if len(bases) == 1 else f"{bases[0]}; ... ({len(bases)} variants)",
            }
        )
    devices = sorted({r.get("results", {}).get("device", "?") for r in results.values()})
    scale = (
        f"GPU benchmarks on {', '.join(devices)} (benchmarks/results/*_cuda.json, "
        f"{'; '.join(sorted({code_provenance(r.get('machine', {})) for r in results.values()}))}); the "
        f"CIFAR-10 evaluation network's step measured once on an H200 ({STAGE2_STEP_S} s at batch 96)"
        if results
        else "no GPU benchmark results committed"
    )
    note = (
        "One job at a time on one GPU. 'or more': a lower bound (evaluation not counted, or a bound by measured "
        "steps or by multiply-accumulates); 'at most': ASHA with every rung full. The paper reports P100 GPU-days. "
        "scripts/gpu_check.sh refreshes the measurements. Totals and the claims' subsets follow."
    )
    return Table("What the paper preset asks of a GPU", pd.DataFrame(rows), scale, [], note)


# The runs behind the book's main claims: plan entries, each narrowed to its jobs with these parameters
CLAIM_SUBSETS: dict[str, tuple[tuple[str, Mapping[str, object]], ...]] = {
    "Table 1's RSWS row (Run 1 of Random (5): 4 searches, their stage 2, 10 stage-3 seeds)": (
        ("cnn-rsws", {"setting": "random5"}),
        ("cnn-stage2", {"search_setting": "random5"}),
        ("cnn-stage3", {"search_run": 1}),
    ),
    "Table 1's ASHA row (one search, 10 stage-3 seeds)": (("cnn-asha", {}), ("cnn-asha-stage3", {})),
    "Table 1's random baseline (24 brief trainings, 10 stage-3 seeds)": (
        ("cnn-random-baseline", {}),
        ("random-stage3", {}),
    ),
    "Table 1's DARTS rerun (4 second-order searches, stage 2, 10 stage-3 seeds)": (
        ("cnn-darts", {}),
        ("cnn-darts-stage2", {}),
        ("cnn-darts-stage3", {}),
    ),
    "Table 1's ENAS rerun row (4 ENAS searches, stage 2, 10 stage-3 seeds)": (
        ("cnn-enas", {}),
        ("cnn-enas-stage2", {}),
        ("cnn-enas-stage3", {}),
    ),
    "Table 2 (5 settings x 4 trials through stage 2)": (("cnn-rsws", {}), ("cnn-stage2", {})),
    "Table 4 (6 independent runs of Random (5) through stage 3)": (
        ("cnn-rsws", {"setting": "random5"}),
        ("cnn-stage2", {"search_setting": "random5"}),
        ("cnn-rsws-broad", {}),
        ("cnn-stage2-broad", {}),
        ("cnn-stage3", {}),
    ),
    "Table 6's RSWS row (Run 1 of Random (4) through 3600 epochs)": (
        ("ptb-rsws", {"setting": "random4"}),
        ("ptb-stage2", {"search_setting": "random4"}),
        ("ptb-stage3", {"search_run": 1}),
    ),
    "Table 7 (4 settings x 4 trials through stage 2)": (("ptb-rsws", {}), ("ptb-stage2", {})),
    "NAS-Bench-201 chapter (RSWS, its RSPS, DARTS, ENAS)": (
        ("nb201-rsws", {}),
        ("nb201-rsps", {}),
        ("nb201-darts", {}),
        ("nb201-enas", {}),
    ),
}


def in_subset(job: plans.Job, parts: Sequence[tuple[str, Mapping[str, object]]]) -> bool:
    return any(
        job.entry == entry and all(job.parameters.get(k) == v for k, v in wanted.items()) for entry, wanted in parts
    )


def totals_table(root: Path) -> Table:
    """The paper preset's total on 1 GPU and on 8, and the subset behind each main claim."""
    priced = priced_jobs(root)
    rows = [
        {
            "what": "the whole paper preset",
            "jobs": len(priced),
            "device-hours on 1 GPU": _hours_text([p.cost for p in priced]),
            f"wall-clock hours on {GPUS} GPUs": _hours(schedule_hours(priced, GPUS)),
        }
    ]
    for name, parts in CLAIM_SUBSETS.items():
        chosen = [p for p in priced if in_subset(p.job, parts)]
        rows.append(
            {
                "what": f"{name} = {', '.join(entry for entry, _ in parts)}",
                "jobs": len(chosen),
                "device-hours on 1 GPU": _hours_text([p.cost for p in chosen]),
                f"wall-clock hours on {GPUS} GPUs": _hours(schedule_hours(chosen, GPUS)),
            }
        )
    unpriced = [p.job.name for p in priced if p.cost.hours is None]
    note = (
        f"On {GPUS} GPUs the jobs start in plan order on the earliest free GPU, an entry only after the entries it "
        "reads (`after`); ASHA's 8 workers take 8 GPUs at once. The totals mix measured prices with lower bounds and "
        "ASHA's upper bound, each as the entry table says; "
        + (f"unpriced jobs: {', '.join(unpriced)}." if unpriced else "every job is priced or bounded.")
    )
    return Table("The paper preset's total, and the runs behind each claim", pd.DataFrame(rows), "", [], note)
