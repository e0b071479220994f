"""The book's analyses beyond the paper's tables, from the record: learning curves, ASHA's rungs over
time, shared-weight ranking against stand-alone training, NAS-Bench-201's best of N, and the `single`
against the `dense` supernet."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pandas as pd

from randnas import tracking
from randnas.report.tables import (
    ASHA_EXPERIMENTS,
    SEARCH_EXPERIMENTS,
    TRAIN_EXPERIMENTS,
    Table,
    asha_protocol,
    column_or_missing,
    describe_scale,
    select,
)

# the quantity the tables report: CIFAR-10 test error (%), PTB validation perplexity
CURVE_METRIC = {"cnn": ("test/acc", "test error (%)"), "ptb": ("valid/ppl", "validation perplexity")}
CURVE_VALUE = {"cnn": lambda accuracy: 100.0 * (1.0 - accuracy), "ptb": lambda perplexity: perplexity}


def learning_curves(record: pd.DataFrame, benchmark: str, preset: str, history=tracking.metric_history) -> pd.DataFrame:
    """Per-epoch curves of every training run (stages 2 and 3) of a preset, in the tables' quantity: run,
    genotype spec, epoch, value."""
    key, label = CURVE_METRIC[benchmark]
    value_of = CURVE_VALUE[benchmark]
    runs = select(record, TRAIN_EXPERIMENTS[benchmark], preset)
    rows = [
        {
            "run": run["run_name"],
            "cell": run.get("genotype_spec", ""),
            "epoch": step,
            label: value_of(value),
            "run_id": run["run_id"],
        }
        for _, run in runs.iterrows()
        for step, value in history(run["run_id"], key)
    ]
    return pd.DataFrame(rows, columns=["run", "cell", "epoch", label, "run_id"])


def asha_events(run_id: str) -> pd.DataFrame:
    """A search's event log (artifact `asha/events.jsonl`) as a table: time, worker, trial, rung, resource, value."""
    with tempfile.TemporaryDirectory() as tmp:
        path = tracking.download_artifact(run_id, "asha/events.jsonl", Path(tmp))
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame([{k: v for k, v in e.items() if k != "metrics"} for e in events])


def asha_searches(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    runs = select(record, ASHA_EXPERIMENTS[benchmark], preset)
    name = "metric:best/valid_acc" if benchmark == "cnn" else "metric:best/valid_ppl"
    columns = [
        "run_name",
        "seed",
        "repeat",
        "metric:asha/trials",
        "metric:asha/jobs",
        "metric:asha/promotions",
        "metric:asha/epochs",
        name,
        "best_trial",
        "hours",
        "digest",
        "run_id",
    ]
    frame = runs.reindex(columns=columns).rename(columns=lambda c: c.removeprefix("metric:"))
    if not runs.empty:
        frame.insert(3, "trained on / scored by", [asha_protocol(benchmark, run) for _, run in runs.iterrows()])
        # runs from before the option existed were charged by epochs alike
        frame.insert(4, "simulated cost", column_or_missing(runs, "param:cost_model").fillna("epochs").tolist())
    return Table(
        f"ASHA searches ({benchmark})",
        frame.round(4),
        describe_scale(runs),
        runs["run_id"].tolist() if not runs.empty else [],
        "jobs = rung trainings; a promotion resumes a trial from its checkpoint; digest = sha256 of the event log; "
        "simulated cost = how the simulated clock charged a job (flops: epochs x the cell's forward MACs relative "
        "to DARTS_V2's; epochs: every epoch alike).",
    )


def ranking_checks(record: pd.DataFrame, preset: str) -> tuple[Table, pd.DataFrame]:
    """Kendall tau and Spearman rho of each shared-weight ranking check, and the pairs behind them."""
    runs = select(record, "cnn/ranking", preset)
    columns = [
        "run_name",
        "search_setting",
        "search_seed",
        "param:epochs",
        "metric:ranking/kendall_tau",
        "metric:ranking/kendall_p",
        "metric:ranking/spearman_rho",
        "metric:ranking/spearman_p",
        "parent",
        "run_id",
    ]
    frame = runs.reindex(columns=columns).rename(
        columns=lambda c: c.removeprefix("metric:ranking/").removeprefix("param:")
    )
    pairs = [
        pd.DataFrame(tracking.load_json_artifact(run_id, "ranking/pairs.json")).assign(run_id=run_id)
        for run_id in (runs["run_id"] if not runs.empty else [])
    ]
    table = Table(
        "Shared-weight scores against stand-alone training",
        frame.round(3),
        describe_scale(runs),
        runs["run_id"].tolist() if not runs.empty else [],
        "parent = the search whose scored architectures were retrained; epochs = stand-alone training length.",
    )
    return table, pd.concat(pairs) if pairs else pd.DataFrame()


def best_of_n(record: pd.DataFrame, preset: str) -> Table:
    runs = select(record, "nb201/best-of-n", preset)
    if runs.empty:
        return Table("Best of N random NAS-Bench-201 cells", pd.DataFrame(), "no runs")
    newest = runs.sort_values("start").iloc[-1]
    frame = pd.DataFrame(tracking.load_json_artifact(newest["run_id"], "best_of_n.json"))
    repeats = newest.get("param:repeats", "?")
    return Table(
        "Best of N random NAS-Bench-201 cells (CIFAR-10 validation accuracy, %)",
        frame.round(3),
        describe_scale(runs.loc[[newest.name]]),
        [newest["run_id"]],
        f"Over {repeats} independent draws per N. A paper that reports one run's best reports one draw "
        "from these distributions; compare a method's gain with their spread.",
    )


def cell_hash(text: object) -> str:
    """A cell's short name in a table: the first 8 hex digits of the sha256 of its DARTS text ("" if none)."""
    if not isinstance(text, str) or not text:
        return ""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def single_vs_dense(record: pd.DataFrame, preset: str) -> Table:
    """Searches of the same setting and seed in both supernet modes: cost, score, pick."""
    runs = select(record, SEARCH_EXPERIMENTS["cnn"], preset)
    if runs.empty or "param:mode" not in runs:
        return Table("single against dense weight sharing", pd.DataFrame(), "no runs")
    runs = runs[runs["param:mode"].isin(["single", "dense"])]
    dense = runs[runs["param:mode"] == "dense"]
    keys = set(zip(dense["setting"], dense["seed"]))
    both = runs[[key in keys for key in zip(runs["setting"], runs["seed"])]]
    both = both.loc[~both.duplicated(subset=["param:mode", "setting", "seed"])]
    frame = both.reindex(
        columns=[
            "param:mode",
            "setting",
            "seed",
            "hours",
            "metric:selection/best_score",
            "digest",
            "genotype",
            "run_id",
        ]
    )
    frame["genotype"] = frame["genotype"].map(cell_hash)
    frame = frame.rename(
        columns={
            "param:mode": "mode",
            "metric:selection/best_score": "selection best score",
            "genotype": "picked cell (hash)",
        }
    )
    return Table(
        "single (the paper's algorithm) against dense (the released code's supernet)",
        frame.round(4),
        describe_scale(both),
        both["run_id"].tolist(),
        "Same setting and seed. The two modes compute the same outputs for the same weights, but dense also "
        "updates the unselected operations (zero gradients with momentum and weight decay, BatchNorm statistics), "
        "so training diverges. The picked cell is named by a short hash of its DARTS text (equal hashes, equal "
        "cells); the page draws each under its hash. hours = each run's wall time, including whatever else its machine ran; the controlled "
        "step-time and memory comparison is benchmarks/results/cnn_stage1_cpu.json (2-core CPU) and "
        "cnn_stage1_cuda.json (an H200 GPU).",
    )
