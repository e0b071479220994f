"""The claims ledger: each claim of the paper, the largest scale at which this project tested it, the evidence
from the record, and a verdict from a fixed vocabulary given by one rule (`verdict`), not by prose.

The rule. No run: *not run*. Only toy data (`smoke`, 8x8 digits and Python docs): *machinery only*, whatever
the numbers say. Runs that cannot decide the claim (an interval from fewer than
`randnas.statistics.MIN_FOR_INTERVAL` values, one that straddles the claim's boundary, or a number of the
paper's scale measured on a smaller model): *machinery only* too. A decided claim at `cpu` scale:
*small-scale trend*, the direction in the evidence, except a claim that does not depend on scale (exact
reproducibility: a repeat is identical or it is not), which is *reproduced* or *contradicts the paper*
there. At `paper` scale, or on evidence at full fidelity (NAS-Bench-301's predictions of full trainings):
*contradicts the paper* when the direction is opposite, *reproduced* when the number also falls within the
paper's interval, else *consistent with the paper*.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from randnas import paper
from randnas.experiments.asha import AshaRow
from randnas.experiments.base import Record
from randnas.experiments.nb201 import Nb201SearchRow
from randnas.report import nb201, reproducibility, surrogate, tables
from randnas.report.common import PRESET_ORDER, Table, describe_scale, in_record_order, mean_std, presets_in
from randnas.report.selectors import PAPER_DARTS_SETTING, independent_runs, trainings
from randnas.statistics import MIN_FOR_INTERVAL, difference_interval, kendall_interval

VERDICTS = (
    "not run",
    "machinery only",
    "small-scale trend",
    "consistent with the paper",
    "contradicts the paper",
    "reproduced",
)


@dataclass(frozen=True)
class Finding:
    """What the record says about one claim at the largest preset that has evidence for it."""

    preset: str | None  # None: no run bears on the claim
    agrees: bool | None = None  # our result points the claim's way; None: the runs cannot decide it
    matches: bool | None = None  # at paper scale, our number within the paper's interval
    evidence: str = ""
    run_ids: tuple[str, ...] = field(default_factory=tuple)


def verdict(finding: Finding, scale_free: bool = False, full_fidelity: bool = False) -> str:
    """The ledger's rule (module docstring); every verdict in VERDICTS is reachable."""
    if finding.preset is None:
        return "not run"
    if finding.preset == "smoke" or finding.agrees is None:
        return "machinery only"
    if finding.preset != "paper" and not full_fidelity:
        if scale_free:
            return "reproduced" if finding.agrees else "contradicts the paper"
        return "small-scale trend"
    if not finding.agrees:
        return "contradicts the paper"
    return "reproduced" if finding.matches else "consistent with the paper"


def direction(finding: Finding) -> str:
    """Which way our runs point, whatever the verdict makes of it."""
    return {True: "with the paper", False: "against the paper", None: ""}[finding.agrees]


def _largest_first(record: Record) -> list[str]:
    return list(reversed(presets_in(record)))


# ---- the claims ---------------------------------------------------------------------------------------


def exact_finding(record: Record) -> Finding:
    """Same seed twice -> the same digest, at the largest preset with a repeated job."""
    for preset in _largest_first(record):
        table = reproducibility.exact_table(record, preset)
        # a repeat made with other code tests nothing about exact reproducibility
        pairs = (
            table.frame[~table.frame["identical"].str.startswith("NO: different code")]
            if not table.empty
            else table.frame
        )
        if pairs.empty:
            continue
        same = int((pairs["identical"] == "yes").sum())
        kinds = ", ".join(sorted(set(pairs["experiment"])))
        return Finding(
            preset,
            agrees=same == len(pairs),
            evidence=f"{same} of {len(pairs)} repeated jobs gave identical digests ({kinds})",
            run_ids=tuple(table.run_ids),
        )
    return Finding(None)


def _stage2_trials(
    record: Record, benchmark: str, preset: str, spec: str, setting: str | None = None
) -> tuple[list[float], list[str]]:
    """One value per trial (a search's pick, its mean over training seeds), stage 2."""
    runs = trainings(record, benchmark, preset, 2, spec, setting)
    if not runs:
        return [], []
    values: dict[str, list[float]] = {}
    for run in runs:
        values.setdefault(str(run.search_seed), []).append(run.value)
    return [float(np.mean(values[seed])) for seed in sorted(values)], [run.run_id for run in runs]


def rsws_vs_darts_finding(record: Record, benchmark: str) -> Finding:
    """RSWS is competitive with DARTS: its stage-2 trials are not worse than reproduced (second-order) DARTS'."""
    unit = "test error (%)" if benchmark == "cnn" else "validation perplexity"
    for preset in _largest_first(record):
        rsws, rsws_ids = _stage2_trials(record, benchmark, preset, "rsws")
        darts, darts_ids = _stage2_trials(record, benchmark, preset, "darts", PAPER_DARTS_SETTING)
        if not rsws and not darts:
            continue
        ids = tuple(rsws_ids + darts_ids)
        text = (
            f"stage-2 {unit}: RSWS trials {mean_std(rsws)}; our second-order DARTS trials {mean_std(darts) or 'none'}"
        )
        if not rsws or not darts:
            return Finding(preset, None, evidence=text + "; nothing to compare at this preset yet", run_ids=ids)
        gap = difference_interval(rsws, darts)
        if not gap.enough:
            return Finding(preset, None, evidence=text + f"; RSWS - DARTS {gap.text()}", run_ids=ids)
        # competitive = not worse: the interval of RSWS - DARTS reaches zero or below
        return Finding(preset, agrees=gap.low <= 0.0, run_ids=ids, evidence=text + f"; RSWS - DARTS {gap.text()}")
    return Finding(None)


def ranking_finding(record: Record) -> Finding:
    """Short stage-2 training ranks trials differently from long training (Table 3: why stage 2 is 600 epochs)."""
    for preset in _largest_first(record):
        table = tables.ranking_table(record, "cnn", preset)
        if table.empty:
            continue
        trials = "DARTS" if "DARTS" in table.title else "RSWS"
        paper_tau = tables.kendall_tau(pd.Series(paper.TABLE3["short"]), pd.Series(paper.TABLE3["long"]))
        text = f"{len(table.frame)} {trials} trial(s) ranked after short and long stage-2 training"
        if len(table.frame) < MIN_FOR_INTERVAL:
            return Finding(
                preset,
                None,
                evidence=text + f": too few to conclude (paper: 4 trials, tau {paper_tau:.2f})",
                run_ids=tuple(table.run_ids),
            )
        tau = kendall_interval(table.frame["ours: short error"], table.frame["ours: long error"])
        # the rankings differ unless the interval lies at 1 (the same order) or wholly above the paper's tau
        return Finding(
            preset,
            agrees=tau.low < 1.0,
            run_ids=tuple(table.run_ids),
            evidence=text + f": Kendall tau {tau.text()} (1 = the same order; the paper's {paper_tau:.2f})",
        )
    return Finding(None)


def stage3_number_finding(record: Record, benchmark: str) -> Finding:
    """The headline number of RSWS after stage 3 (CIFAR-10 test error 2.85 +- 0.08, PTB test perplexity 55.5):
    comparable only at paper scale; smaller presets show the pipeline only."""
    unit = "test error (%)" if benchmark == "cnn" else "test perplexity"
    for preset in _largest_first(record):
        runs = trainings(record, benchmark, preset, 3, "best-rsws")
        if not runs:
            continue
        values = [run.test_error if benchmark == "cnn" else run.test_ppl for run in runs]
        text = f"stage-3 {unit} of our RSWS pick: {mean_std(values)}"
        if preset != "paper":
            return Finding(
                preset,
                None,
                evidence=text + " (a smaller model and budget: not comparable with the paper's number)",
                run_ids=tuple(run.run_id for run in runs),
            )
        mean = float(np.mean(values))
        if benchmark == "cnn":
            target, spread = 2.85, 0.08
            return Finding(
                preset,
                agrees=mean <= target + 2 * spread,
                matches=abs(mean - target) <= spread,
                evidence=text,
                run_ids=tuple(run.run_id for run in runs),
            )
        return Finding(
            preset,
            agrees=mean <= 55.5 + 1.0,
            matches=abs(mean - 55.5) <= 1.0,
            evidence=text,
            run_ids=tuple(run.run_id for run in runs),
        )
    return Finding(None)


# ASHA is "strong" when its stage-3 pick is at most this much worse than RSWS's, relatively (the paper: 6 % on
# CIFAR-10, 3.03 vs 2.85 % test error; 2 % on PTB, 56.4 vs 55.5 test perplexity)
ASHA_CLOSE = 0.10
ASHA_PAPER = {"cnn": (3.03, 2 * 0.13), "ptb": (56.4, 1.0)}  # the paper's ASHA stage-3 number and how near is "the same"


def asha_finding(record: Record) -> Finding:
    """ASHA (random search with early stopping) is a strong baseline: its pick after stage 3 comes close to RSWS's
    pick after stage 3 at the same preset (Tables 1 and 6). An ASHA search without a stage-3 pick decides nothing."""
    for preset in _largest_first(record):
        parts, ids, gaps, matches, searches = [], [], [], [], []
        for benchmark, name in (("cnn", "CIFAR-10 test error (%)"), ("ptb", "PTB test perplexity")):
            number = (lambda run: run.test_error) if benchmark == "cnn" else (lambda run: run.test_ppl)
            searches += [run.run_id for run in record.of(AshaRow, preset, lambda run, b=benchmark: run.benchmark == b)]
            asha = trainings(record, benchmark, preset, 3, "asha")
            if not asha:
                continue
            rsws = trainings(record, benchmark, preset, 3, "best-rsws")
            ours = float(np.mean([number(run) for run in asha]))
            ids += [run.run_id for run in asha + rsws]
            text = f"{name}: ASHA pick {ours:.2f} (n={len(asha)})"
            if rsws:
                reference = float(np.mean([number(run) for run in rsws]))
                gaps.append((ours - reference) / reference)
                text += f" vs RSWS pick {reference:.2f} (n={len(rsws)}), {gaps[-1]:+.0%}"
            target, tolerance = ASHA_PAPER[benchmark]
            matches.append(abs(ours - target) <= tolerance)
            parts.append(text)
        if not parts and not searches:
            continue
        if not parts:
            return Finding(
                preset,
                None,
                run_ids=tuple(searches),
                evidence=f"{len(searches)} ASHA search(es); no pick through stage 3 yet, so nothing to set beside "
                "the paper's stage-3 numbers (each search's own best is in Tables 1 and 6 as another quantity)",
            )
        if not gaps:
            return Finding(
                preset,
                None,
                evidence="; ".join(parts) + "; no RSWS pick through stage 3 at this preset to compare with",
                run_ids=tuple(ids),
            )
        return Finding(
            preset,
            agrees=all(gap <= ASHA_CLOSE for gap in gaps),
            matches=all(matches),
            run_ids=tuple(ids),
            evidence="; ".join(parts) + f" (strong: at most {ASHA_CLOSE:.0%} worse than RSWS)",
        )
    return Finding(None)


# broadly reproducible: independent runs' stage-3 means lie within this relative range (the paper's six runs:
# 2.85 to 3.00 around 2.92, a range of 5 %); at paper scale the average within 0.1 points of the paper's 2.92
BROAD_RANGE = 0.10


def broad_finding(record: Record) -> Finding:
    """RSWS is broadly reproducible: independent runs (each its own searches, stage-2 winner and stage 3) end close
    together (Table 4: six runs, 2.85 to 3.00 % test error)."""
    for preset in _largest_first(record):
        groups = independent_runs(record, "cnn", preset)
        if not groups:
            continue
        runs = [run for run in record if any(run in group for group in groups.values())]
        means = [float(np.mean([run.test_error for run in group])) for group in groups.values()]
        text = f"{len(means)} independent RSWS run(s) through stage 3, mean test error (%) per run: " + ", ".join(
            f"{mean:.2f}" for mean in means
        )
        if len(means) < 2:
            return Finding(
                preset,
                None,
                evidence=text + "; the spread between runs needs at least two (the paper: six)",
                run_ids=tuple(run.run_id for run in runs),
            )
        spread = (max(means) - min(means)) / float(np.mean(means))
        average = float(np.mean(means))
        return Finding(
            preset,
            agrees=spread <= BROAD_RANGE,
            matches=abs(average - paper.TABLE4_AVERAGE) <= 0.1,
            evidence=text + f"; range {spread:.0%} of their average {average:.2f} (broad: at most {BROAD_RANGE:.0%})",
            run_ids=tuple(run.run_id for run in runs),
        )
    return Finding(None)


def survey_finding(record: Record) -> Finding:
    """Table 5 surveys published papers: no run of this project bears on it, whatever the record holds."""
    del record
    return Finding(
        None,
        evidence="a survey of published papers, not an experiment: no run can test it; the Reproducibility "
        "page adds this project's own row to Table 5",
    )


def nb201_ranking_finding(record: Record) -> Finding:
    """Beyond the paper: shared weights rank cells as stand-alone training does (RSWS's premise), tested against
    NAS-Bench-201's real accuracies: Kendall tau over one search's scored cells at its last scoring epoch."""
    for preset in _largest_first(record):
        rows = nb201.independent(nb201.ranking_rows(record, preset))
        rows = rows[rows["mode"] == "single"] if not rows.empty else rows
        if rows.empty:
            continue
        last = rows[rows["epoch"] == rows["epoch"].max()]
        values = [float(v) for v in last["kendall_tau"]]
        runs = record.of(Nb201SearchRow, preset)
        by_id = {run.run_id: run for run in runs}
        scored = [kendall_interval(*_scores(record, by_id[run_id])) for run_id in last["run_id"]]
        decided = [tau for tau in scored if tau.enough]
        text = (
            "Kendall tau of shared-weight scores against NAS-Bench-201 accuracy after epoch "
            f"{int(last['epoch'].iloc[0])}, "
            f"per search: " + "; ".join(tau.text(3) for tau in scored)
        )
        if not decided:
            return Finding(preset, None, evidence=text, run_ids=tuple(run.run_id for run in runs))
        # a direction: some search's interval wholly on one side of zero, and none wholly on the other
        above, below = any(tau.low > 0 for tau in decided), any(tau.high < 0 for tau in decided)
        agrees = True if above and not below else False if below and not above else None
        return Finding(
            preset,
            agrees=agrees,
            evidence=text + f" (mean {np.mean(values):.3f})",
            run_ids=tuple(run.run_id for run in runs),
        )
    return Finding(None)


def _scores(record: Record, run: Nb201SearchRow) -> tuple[pd.Series, pd.Series]:
    cells = nb201.scored(record, run)
    last = max(nb201.score_epochs(cells))
    return cells[nb201.score_column(last)], cells["true_accuracy"]


INTERVAL = re.compile(r"^(-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\] \(n=(\d+)\)")


def surrogate_asha_finding(record: Record) -> Finding:
    """Beyond the paper: at equal (simulated) GPU-hours, early stopping (ASHA) finds cells at least as good as
    random search trained to full length, on NAS-Bench-301's surrogate (one worker: no parallel hand-over)."""
    for preset in _largest_first(record):
        table = surrogate.comparison_table(record, preset)
        if table.empty:
            continue
        rows = table.frame[(table.frame["workers"] == 1) & table.frame["method"].str.startswith("ASHA")]
        gaps = [
            (row["GPU-hours"], row["method"].split(" (")[0], INTERVAL.match(str(row["minus random search (points)"])))
            for _, row in rows.iterrows()
        ]
        gaps = [(hours, method, match) for hours, method, match in gaps if match]
        if not gaps:
            continue
        text = "ASHA minus random search, accuracy points at the deadline: " + "; ".join(
            f"{method} at {hours:g} h {match.group(0)}" for hours, method, match in gaps
        )
        enough = [m for _, _, m in gaps if int(m.group(4)) >= MIN_FOR_INTERVAL]
        if not enough:
            return Finding(preset, None, evidence=text, run_ids=tuple(table.run_ids))
        # at least as good: no interval lies wholly below zero
        return Finding(
            preset, agrees=all(float(m.group(3)) >= 0 for m in enough), evidence=text, run_ids=tuple(table.run_ids)
        )
    return Finding(None)


@dataclass(frozen=True)
class Claim:
    key: str
    text: str  # the paper's claim, in a line
    paper: str  # the paper's evidence
    finding: Callable[[pd.DataFrame], Finding]
    scale_free: bool = False  # decidable at any real-data scale (exact reproducibility)
    full_fidelity: bool = False  # its evidence is of full trainings at every preset (the surrogate's predictions)


CLAIMS = (
    Claim(
        "rsws-cnn",
        "RSWS reaches state-of-the-art error on CIFAR-10",
        "Table 1: 2.85 ± 0.08 % test error (best 2.71)",
        lambda record: stage3_number_finding(record, "cnn"),
    ),
    Claim(
        "rsws-ptb",
        "RSWS reaches state-of-the-art perplexity on PTB",
        "Table 6: 55.5 test perplexity",
        lambda record: stage3_number_finding(record, "ptb"),
    ),
    Claim(
        "rsws-vs-darts-cnn",
        "RSWS is competitive with DARTS (CIFAR-10)",
        "Table 2: Random (5) trials 3.03 average vs reproduced DARTS 2.94",
        lambda record: rsws_vs_darts_finding(record, "cnn"),
    ),
    Claim(
        "rsws-vs-darts-ptb",
        "RSWS is competitive with DARTS (PTB)",
        "Table 7: Random (4) trials 64.7 average vs reproduced DARTS 66.0",
        lambda record: rsws_vs_darts_finding(record, "ptb"),
    ),
    Claim(
        "short-vs-long",
        "Rankings after short stage-2 training differ from long (so stage 2 trains 600 epochs)",
        "Table 3: 4 DARTS trials reordered between 100 and 600 epochs",
        ranking_finding,
    ),
    Claim(
        "asha",
        "Random search with early stopping (ASHA) is a strong baseline",
        "Tables 1 and 6: ASHA's pick 3.03 ± 0.13 % on CIFAR-10 (RSWS 2.85), 56.4 test perplexity on PTB (RSWS 55.5)",
        asha_finding,
    ),
    Claim(
        "broad",
        "RSWS is broadly reproducible: independent runs end close together",
        "Table 4: 6 independent runs, stage-3 test error 2.85 to 3.00 % (average 2.92)",
        broad_finding,
    ),
    Claim(
        "exact",
        "With the code, the seeds and the same hardware and software, a NAS result is exactly reproducible",
        "Section 5: the authors' own runs repeat; none of 12 papers could be",
        exact_finding,
        scale_free=True,
    ),
    Claim(
        "survey",
        "None of 12 recent NAS papers is exactly reproducible from what they published",
        "Table 5: code, seeds and hyperparameters checked for 12 papers (2018-2019)",
        survey_finding,
    ),
    Claim(
        "nb201-ranking",
        "Beyond the paper: shared weights rank cells as stand-alone training does (RSWS's premise)",
        "Section 3.2 assumes it; tested here against NAS-Bench-201's real accuracies",
        nb201_ranking_finding,
    ),
    Claim(
        "surrogate-asha",
        "Beyond the paper: at equal GPU-hours ASHA does at least as well as random search",
        "Tables 1 and 6: ASHA a strong baseline; tested here on the NAS-Bench-301 surrogate",
        surrogate_asha_finding,
        full_fidelity=True,
    ),
)


def ledger(record: Record) -> Table:
    rows, ids = [], []
    for claim in CLAIMS:
        finding = claim.finding(record)
        rows.append(
            {
                "claim": claim.text,
                "paper": claim.paper,
                "largest scale tested": finding.preset or "none",
                "evidence": finding.evidence or "no run bears on it",
                "direction": direction(finding),
                "verdict": verdict(finding, claim.scale_free, claim.full_fidelity),
                "runs": " ".join(run_id[:8] for run_id in finding.run_ids),
            }
        )
        ids += list(finding.run_ids)
    present = presets_in(record)
    never = [preset for preset in PRESET_ORDER if preset not in present]
    note = (
        "Verdicts come from one rule (randnas.report.claims.verdict): toy data (smoke) is machinery only; a claim the "
        "runs cannot decide is machinery only; cpu scale shows a small-scale trend (exact reproducibility, which does "
        "not depend on scale, is reproduced or contradicted there); only paper scale, or full-fidelity evidence (the "
        "surrogate's predictions of full trainings), can reproduce or contradict a number. Intervals are 95 % "
        "bootstrap "
        f"intervals; fewer than {MIN_FOR_INTERVAL} values are too few to conclude. "
        + (f"Presets never run: {', '.join(never)}." if never else "Every preset has runs.")
    )
    used = in_record_order(record, ids)
    return Table("Claims ledger", pd.DataFrame(rows), describe_scale(used), list(dict.fromkeys(ids)), note)
