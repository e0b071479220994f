"""Each chapter's conclusions as sentences, filled from the same numbers its tables print (never typed by hand):
the NAS-Bench-201 picks against the median cell and NAS-Bench-201's own RSPS, the shared-weight ranking's
strength, DARTS's collapse and its op weights against uniform, and ASHA against random search on the surrogate
with the deadline effect spelled out. Every number comes with its interval (where n allows one) and its n."""

from __future__ import annotations

import numpy as np

from randnas.data.nb201 import Nb201Accuracies
from randnas.experiments import darts as darts_kind
from randnas.experiments.base import Record
from randnas.experiments.darts import DartsRow
from randnas.experiments.enas import EnasRow
from randnas.paper import NB201_TABLE5
from randnas.report import nb201, surrogate
from randnas.statistics import Estimate, mean_interval, tau_grade

ALL_SKIP_ACCURACY = 39.77  # the all-skip_connect cell's cifar10-valid accuracy: DARTS's collapse on NAS-Bench-201
# op weights this close to uniform (largest weight within 10 % of 1/K on every edge) leave the derived cell close
# to arbitrary: its argmax reflects noise more than a preference
NEAR_UNIFORM = 1.10
# a controller whose sampled cells keep 95 % of the uniform controller's entropy has not concentrated on any cell
NEAR_UNIFORM_ENTROPY = 0.95


def amount(estimate: Estimate, unit: str, digits: int = 2, scale: float = 1.0) -> str:
    """`m unit [lo, hi] (n=N)`, or `m unit (n=N, too few for an interval)`: a number with its unit, interval and n."""
    value = f"{estimate.value * scale:.{digits}f}{unit}"
    if not estimate.enough:
        return f"{value} (n={estimate.n}, too few for an interval)"
    return f"{value} [{estimate.low * scale:.{digits}f}, {estimate.high * scale:.{digits}f}] (n={estimate.n})"


def _rsps_row():
    return next(row for row in NB201_TABLE5 if row.ours == "rsws")


def nb201_sentences(record: Record, preset: str, bench: Nb201Accuracies) -> list[str]:
    """The NAS-Bench-201 chapter's conclusions at one preset."""
    sentences = []
    median = float(np.median(bench.accuracy))
    picks = nb201.pick_rows(record, preset, bench)
    single = nb201.independent(picks[picks["mode"] == "single"]) if not picks.empty else picks
    rsps = _rsps_row()
    below = False
    for setting, group in single.groupby("setting") if not single.empty else ():
        accuracy = mean_interval(group["pick accuracy (%)"].to_numpy())
        percentiles = group["percentile"].to_numpy(dtype=float)
        side = (
            "every pick sits below the median cell"
            if percentiles.max() < 50
            else "every pick sits above the median cell"
            if percentiles.min() > 50
            else "the picks fall on both sides of the median cell"
        )
        where = "percentile" if len(percentiles) == 1 else "percentiles"
        sentences.append(
            f"RSWS ({setting} setting) picked cells of {amount(accuracy, ' %')} on average, at {where} "
            f"{', '.join(f'{p:.0f}' for p in percentiles)} of all 15,625 cells: {side} ({median:.2f} %)."
        )
        below = below or percentiles.max() < 50
    if below:
        sentences.append(
            f"NAS-Bench-201's own RSPS lands below the median too ({rsps.valid} ± {rsps.valid_std} %, percentile "
            f"{bench.percentile(rsps.valid):.0f}, 3 searches at full scale), so a pick below the median is not only a "
            "sign of this preset's small scale."
        )
    ranking = nb201.independent(nb201.ranking_rows(record, preset))
    ranking = ranking[ranking["mode"] == "single"] if not ranking.empty else ranking
    for setting, group in ranking.groupby("setting") if not ranking.empty else ():
        last = group[group["epoch"] == group["epoch"].max()]
        tau = mean_interval(last["kendall_tau"].to_numpy(dtype=float))
        if np.isfinite(tau.value):
            sentences.append(
                f"Shared-weight scores ({setting} setting) after epoch {int(last['epoch'].iloc[0])} agree with the "
                f"benchmark's ranking with a mean Kendall tau of {amount(tau, '')}: a {tau_grade(tau.value)} "
                "correlation."
            )
    sentences += _nb201_darts(record, preset, bench)
    sentences += _nb201_enas(record, preset, bench)
    return sentences


def _nb201_enas(record: Record, preset: str, bench: Nb201Accuracies) -> list[str]:
    rows = nb201.enas_rows(record, preset, bench)
    if rows.empty:
        return []
    final = rows[rows["repeat"] == 1]
    accuracy = mean_interval(final["accuracy (%)"].to_numpy(dtype=float))
    percentiles = ", ".join(f"{p:.0f}" for p in final["percentile"])
    enas = next(row for row in NB201_TABLE5 if row.method == "ENAS")
    words = (
        f"ENAS's derived cells reach {amount(accuracy, ' %')} on average, at percentiles {percentiles} of all "
        f"15,625 cells; NAS-Bench-201's own ENAS ended at {enas.valid} ± {enas.valid_std} % (percentile "
        f"{bench.percentile(enas.valid):.0f}, 3 searches at full scale)."
    )
    return [words, *enas_entropy_sentences(record, preset, "nb201")]


def max_entropy(space: str) -> float:
    """The entropy of a controller that samples every decision uniformly: the most a cell's entropy can be."""
    from randnas.search.enas import PROGRAMS

    program = PROGRAMS[space]()
    steps = [step for cell in program.cells for step in cell if step.kind != "anchor"]
    options = [len(program.ops) if step.kind == "op" else step.options - (1 if step.distinct else 0) for step in steps]
    return float(sum(np.log(n) for n in options))


def enas_entropy_sentences(record: Record, preset: str, space: str) -> list[str]:
    """How far ENAS's controller moved from uniform: its sampled cells' entropy in the last epoch against the
    uniform controller's (a controller that learned concentrates its samples, and its entropy falls)."""
    runs = record.of(EnasRow, preset, lambda run: run.space == space and run.repeat == 1)
    last = [record.reader.history(run.run_id, "controller/entropy") for run in runs]
    values = np.asarray([history[-1][1] for history in last if history])
    if not values.size:
        return []
    ceiling = max_entropy(space)
    words = (
        f"In their last epoch the {values.size} ENAS controller(s) sampled cells of entropy {values.mean():.3f} "
        f"on average (from {values.min():.3f} to {values.max():.3f}); a controller choosing uniformly has "
        f"{ceiling:.3f}."
    )
    if values.max() >= NEAR_UNIFORM_ENTROPY * ceiling:
        words += (
            " The controller is still close to uniform, so its derived cell is close to the best of random cells "
            "scored on one minibatch each: it says little about the cell ENAS would derive after its full search."
        )
    return [words]


def _nb201_darts(record: Record, preset: str, bench: Nb201Accuracies) -> list[str]:
    cells = nb201.darts_rows(record, preset, bench)
    if cells.empty:
        return []
    final = cells.loc[cells.groupby("run_id")["epoch"].idxmax()]
    final = final[final["repeat"] == 1]
    collapsed = int((final["accuracy (%)"].round(2) == ALL_SKIP_ACCURACY).sum())
    accuracy = mean_interval(final["accuracy (%)"].to_numpy(dtype=float))
    words = (
        f"DARTS's final cells reach {amount(accuracy, ' %')}; {collapsed} of {len(final)} searches ended at the "
        f"all-skip_connect cell ({ALL_SKIP_ACCURACY} %), the collapse NAS-Bench-201 reported for DARTS-V1 and V2"
    )
    words += "." if collapsed else ", which these searches at this scale did not reach."
    return [words, *darts_weight_sentences(record, preset, "nb201")]


def darts_weight_sentences(record: Record, preset: str, space: str) -> list[str]:
    """How decided DARTS's op weights are after its last epoch: the largest weight on an edge against 1/K."""
    runs = record.of(DartsRow, preset, lambda run: run.space == space and run.repeat == 1)
    if not runs:
        return []
    largest, ops = [], set()
    for run in runs:
        for weights in darts_kind.final_op_weights(record, run).values():
            table = np.asarray(weights, dtype=float)
            ops.add(table.shape[1])
            largest += table.max(axis=1).tolist()
    uniform = 1.0 / max(ops)
    values = np.asarray(largest)
    words = (
        f"After their last epoch the {len(runs)} DARTS search(es) give the strongest op on an edge "
        f"{values.mean():.3f} of the weight on average (from {values.min():.3f} to {values.max():.3f}, over "
        f"{values.size} edges); uniform over {max(ops)} ops is {uniform:.3f}."
    )
    if values.max() <= NEAR_UNIFORM * uniform:
        words += (
            " The weights are close to uniform, so the derived cell, the strongest op per edge, is close to arbitrary"
            ": it says little about the cell DARTS would derive after the paper's 50 epochs."
        )
    return [words]


def _gap_words(estimate: Estimate) -> str:
    if not estimate.enough:
        return "too few seeds to tell"
    if estimate.low > 0:
        return "ASHA ahead"
    if estimate.high < 0:
        return "random search ahead"
    return "no detectable difference"


def surrogate_sentences(record: Record, preset: str) -> list[str]:
    """The surrogate chapter's conclusions: ASHA against random search at one worker per budget, the deadline
    effect per budget and worker count, and why noise-free curves flatter early stopping."""
    sentences = []
    gaps = surrogate.paired_gaps(record, preset, workers=1)
    for budget in sorted({gap.budget for gap in gaps}):
        parts = [
            f"{gap.method} {amount(gap.estimate, ' points', scale=100)} ({_gap_words(gap.estimate)})"
            for gap in gaps
            if gap.budget == budget
        ]
        sentences.append(f"At {budget:.2f} trainings on 1 worker, ASHA minus random search: " + "; ".join(parts) + ".")
    for deadline in surrogate.deadlines(record, preset):
        sentences.append(deadline.sentence())
    if sentences:
        sentences.append(
            "The surrogate's learning curves carry no training noise: a trial's early accuracy predicts its final "
            "one better than a real training's would, which favours early stopping (ASHA) over full trainings "
            "(random search); an ASHA lead here is an upper bound on its lead in real trainings."
        )
    return sentences


def as_markdown(sentences: list[str]) -> str:
    """The conclusions as a bulleted list, or a line saying there is nothing to conclude from."""
    return "\n".join(f"- {s}" for s in sentences) if sentences else "_No runs at this preset to conclude from._"
