"""Beyond the paper: claims this project tests that the paper did not make or could not test, each on evidence of
another kind than the paper's trainings, with words that never say "the paper" (`verdicts.BEYOND_VERDICTS`):
RSWS's premise and its picks on NAS-Bench-201's ground-truth tables, and ASHA against random search on
NAS-Bench-301's surrogate (predictions of its own training protocol, not trainings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from randnas.data.nb201 import Nb201Accuracies
from randnas.experiments.base import Record
from randnas.paper import NB201_TABLE5
from randnas.report import nb201, surrogate
from randnas.report.common import Table, describe_scale, in_record_order
from randnas.report.findings import largest_with_evidence
from randnas.report.verdicts import (
    AGAINST,
    BENCHMARK,
    BEYOND_VERDICTS,
    NO_DIFFERENCE,
    SURROGATE,
    UNDECIDED,
    WITH,
    Finding,
    count_line,
    evidence_columns,
    verdict,
)
from randnas.statistics import mean_interval, tau_grade

# shared weights "rank cells as stand-alone training does" when the mean Kendall tau is at least moderate
RANKS_TAU = 0.3


def nb201_ranking_finding(record: Record) -> Finding:
    """Shared-weight scores rank the scored cells as NAS-Bench-201's stand-alone trainings do: the mean Kendall tau
    of the independent single-mode searches at their last scoring epoch, graded (at least moderate: holds)."""

    def probe(preset: str) -> Finding | None:
        rows = nb201.independent(nb201.ranking_rows(record, preset))
        rows = rows[rows["mode"] == "single"] if not rows.empty else rows
        if rows.empty:
            return None
        setting = nb201.headline_setting(rows)
        rows = rows[rows["setting"] == setting]
        last = rows[rows["epoch"] == rows["epoch"].max()]
        taus = [float(v) for v in last["kendall_tau"] if np.isfinite(v)]
        run_ids = tuple(last["run_id"])
        text = f"{setting} setting, Kendall tau after epoch {int(last['epoch'].iloc[0])}, per search: " + ", ".join(
            f"{v:.2f}" for v in taus
        )
        if not taus:
            return Finding(
                preset, UNDECIDED, evidence=text + " (no ranking: ties or fewer than 3 cells)", run_ids=run_ids
            )
        mean = float(np.mean(taus))
        text += f"; mean {mean:.2f}, {tau_grade(mean)} (n={len(taus)} searches)"
        return Finding(preset, WITH if mean >= RANKS_TAU else AGAINST, evidence=text, run_ids=run_ids)

    return largest_with_evidence(record, probe)


def nb201_picks_finding(record: Record, bench: Nb201Accuracies | None) -> Finding:
    """RSWS's pick is better than the median NAS-Bench-201 cell: every independent single-mode search's pick above
    the 50th percentile of all 15,625 cells (NAS-Bench-201's own RSPS: about the 23rd); picks on both sides decide
    nothing."""
    if bench is None:
        return Finding(None, evidence="NAS-Bench-201's tables were not loaded")

    def probe(preset: str) -> Finding | None:
        rows = nb201.pick_rows(record, preset, bench)
        if rows.empty:
            return None
        rows = nb201.independent(rows[rows["mode"] == "single"])
        if rows.empty:
            return None
        setting = nb201.headline_setting(rows)
        rows = rows[rows["setting"] == setting]
        percentiles = [float(v) for v in rows["percentile"]]
        rsps = next(row for row in NB201_TABLE5 if row.ours == "rsws")  # NAS-Bench-201's own RSPS
        mean = mean_interval(rows["pick accuracy (%)"].to_numpy()).value
        text = (
            f"{setting} setting: picks' accuracy {mean:.2f} % on average, "
            f"percentile per search {', '.join(f'{v:.0f}' for v in percentiles)}; NAS-Bench-201's own RSPS "
            f"{rsps.valid} ± {rsps.valid_std} % (percentile {bench.percentile(rsps.valid):.0f} of all cells)"
        )
        # every pick on one side of the median decides; picks on both sides do not
        outcome = WITH if min(percentiles) > 50 else AGAINST if max(percentiles) < 50 else UNDECIDED
        return Finding(preset, outcome, evidence=text, run_ids=tuple(rows["run_id"]))

    return largest_with_evidence(record, probe)


def surrogate_finding(record: Record) -> Finding:
    """At equal simulated GPU-hours ASHA hands over better cells than random search (one worker: no parallel
    hand-over): the paired difference over seeds at each budget and eta; holds when some interval lies above 0 and
    none below, does not hold the other way round, no detectable difference when every interval spans 0."""

    def probe(preset: str) -> Finding | None:
        gaps = surrogate.paired_gaps(record, preset, workers=1)
        if not gaps:
            return None
        run = surrogate.newest_run(record, preset)
        text = "ASHA minus random search, accuracy points at the deadline: " + "; ".join(
            f"{gap.method} at {gap.budget:.2f} trainings {gap.estimate.text(2, 100)}" for gap in gaps
        )
        decided = [gap.estimate for gap in gaps if gap.estimate.enough]
        if not decided:
            return Finding(preset, UNDECIDED, evidence=text, run_ids=(run.run_id,))
        above = any(e.low > 0 for e in decided)
        below = any(e.high < 0 for e in decided)
        outcome = WITH if above and not below else AGAINST if below and not above else NO_DIFFERENCE
        if above and below:
            outcome = UNDECIDED
        return Finding(preset, outcome, evidence=text, run_ids=(run.run_id,))

    return largest_with_evidence(record, probe)


@dataclass(frozen=True)
class BeyondClaim:
    key: str
    claim: str
    why: str  # why the paper's own evidence could not settle it
    rule: str
    finding: Callable[[Record, Nb201Accuracies | None], Finding]
    kind: str


CLAIMS = (
    BeyondClaim(
        "nb201-ranking",
        "Shared-weight scores rank cells as stand-alone training does (RSWS's premise)",
        "the paper assumes it (Section 3.2); NAS-Bench-201 knows every cell's trained accuracy",
        f"mean Kendall tau of the searches' scores against the benchmark, graded; holds from {RANKS_TAU} (moderate)",
        lambda record, bench: nb201_ranking_finding(record),
        BENCHMARK,
    ),
    BeyondClaim(
        "nb201-picks",
        "RSWS's pick is better than the median cell of the space",
        "the paper cannot know how its pick ranks among all cells; NAS-Bench-201 can",
        "every pick above the 50th percentile of the 15,625 cells (holds) or every pick below it (does not hold)",
        nb201_picks_finding,
        BENCHMARK,
    ),
    BeyondClaim(
        "surrogate-asha",
        "At equal GPU-hours, ASHA hands over better cells than random search trained to full length",
        "the paper ran each method once at its own budget; the surrogate makes 50-100 seeds at equal budgets cheap",
        "paired difference over seeds, one worker, 95 % bootstrap intervals (NAS-Bench-301's predictions of its "
        "own 8-cell, C=32, 100-epoch protocol, noise-free: not trainings)",
        lambda record, bench: surrogate_finding(record),
        SURROGATE,
    ),
)


def ledger(record: Record, bench: Nb201Accuracies | None) -> Table:
    rows, used = [], []
    for claim in CLAIMS:
        finding = claim.finding(record, bench)
        rows.append(
            {
                "claim (this project's, not the paper's)": claim.claim,
                "why here": claim.why,
                **evidence_columns(finding, claim.rule, claim.kind),
            }
        )
        used += list(finding.run_ids)
    frame = pd.DataFrame(rows)
    return Table(
        "Beyond the paper",
        frame,
        describe_scale(in_record_order(record, used)),
        list(dict.fromkeys(used)),
        f"{len(CLAIMS)} claims beyond the paper: {count_line(frame['verdict'], BEYOND_VERDICTS)}. Their verdicts "
        "name the evidence (NAS-Bench-201's tables, NAS-Bench-301's surrogate) and never say 'the paper'.",
    )


def beyond_count(record: Record, bench: Nb201Accuracies | None) -> str:
    words = [verdict(claim.finding(record, bench), claim.kind) for claim in CLAIMS]
    return f"{len(CLAIMS)} claims beyond the paper: {count_line(words, BEYOND_VERDICTS)}"
