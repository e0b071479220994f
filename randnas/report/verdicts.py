"""The ledger's verdicts: one rule (`verdict`) turns what the record shows about a claim into a word from a fixed
vocabulary that says what kind of evidence carries it.

What a finding says (its `outcome`): the runs point the claim's way (`WITH`), the other way (`AGAINST`), show no
detectable difference where the claim asserts one (`NO_DIFFERENCE`), cannot decide it (`UNDECIDED`: too few runs
for the test, or nothing to compare yet), or measure a number that is not the paper's quantity at this scale
(`NOT_COMPARABLE`: a smaller model's test error beside the paper's 2.85).

What the verdict adds is the kind of evidence. The paper's claims are about trainings at the paper's scale:
- no run bears on the claim: *not run*; toy data only (`smoke`): *machinery only*, whatever the numbers say;
- at `cpu` scale a decided claim is a *small-scale trend with (or against) the paper* (or *no detectable
  difference at small scale*); at `paper` scale it is
  *reproduced* (the direction and a number within the paper's own spread), *consistent with the paper* (the
  direction), *contradicts the paper* or *no detectable difference* (the paper asserts one, its own sample sizes
  do not show it here);
- a claim that does not depend on scale (a same-seed repeat is identical or not) is *reproduced* or *contradicts
  the paper* on any real data.
Claims this project tests beyond the paper are not the paper's, so their words never say "the paper": on
NAS-Bench-201's ground-truth tables a claim *holds* or *does not hold on NAS-Bench-201*; on NAS-Bench-301's
surrogate (predictions, not trainings) it *holds*, *does not hold* or shows *no detectable difference*.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

WITH, AGAINST, NO_DIFFERENCE, UNDECIDED, NOT_COMPARABLE = "with", "against", "no difference", "undecided", "n/c"

# what kind of evidence a claim needs (Claim.kind)
TRAINING, SCALE_FREE, SURVEY, BENCHMARK, SURROGATE = "training", "scale-free", "survey", "benchmark", "surrogate"

NOT_RUN, MACHINERY, UNDECIDED_WORD = "not run", "machinery only", "undecided"
PAPER_VERDICTS = (
    NOT_RUN,
    MACHINERY,
    UNDECIDED_WORD,
    "not comparable at this scale",
    "small-scale trend with the paper",
    "small-scale trend against the paper",
    "no detectable difference at small scale",
    "consistent with the paper",
    "reproduced",
    "no detectable difference",
    "contradicts the paper",
)
BEYOND_VERDICTS = (
    NOT_RUN,
    MACHINERY,
    UNDECIDED_WORD,
    "holds on NAS-Bench-201",
    "does not hold on NAS-Bench-201",
    "surrogate: holds",
    "surrogate: does not hold",
    "surrogate: no detectable difference",
)


@dataclass(frozen=True)
class Finding:
    """What the record says about one claim at the largest preset that has evidence for it."""

    preset: str | None  # None: no run bears on the claim
    outcome: str = UNDECIDED
    within: bool = False  # at paper scale: our number also within the paper's own spread
    evidence: str = ""
    run_ids: tuple[str, ...] = field(default_factory=tuple)


def verdict(finding: Finding, kind: str = TRAINING) -> str:
    """The ledger's rule (module docstring); every word of PAPER_VERDICTS and BEYOND_VERDICTS is reachable."""
    if finding.preset is None or kind == SURVEY:
        return NOT_RUN
    if finding.preset == "smoke":
        return MACHINERY
    if finding.outcome == NOT_COMPARABLE:
        return "not comparable at this scale"
    if finding.outcome == UNDECIDED:
        return UNDECIDED_WORD
    if kind in (BENCHMARK, SURROGATE):
        return _beyond_word(finding.outcome, kind)
    if kind == SCALE_FREE:
        return "reproduced" if finding.outcome == WITH else "contradicts the paper"
    return _training_word(finding)


def _beyond_word(outcome: str, kind: str) -> str:
    """A claim beyond the paper, on NAS-Bench-201's ground truth or NAS-Bench-301's surrogate."""
    if kind == BENCHMARK:
        return "holds on NAS-Bench-201" if outcome == WITH else "does not hold on NAS-Bench-201"
    return "surrogate: " + {WITH: "holds", AGAINST: "does not hold", NO_DIFFERENCE: "no detectable difference"}[outcome]


def _training_word(finding: Finding) -> str:
    """A decided claim about trainings: a small-scale trend below paper scale, the paper's words at it."""
    small = finding.preset != "paper"
    if finding.outcome == NO_DIFFERENCE:
        return "no detectable difference" + (" at small scale" if small else "")
    if small:
        return "small-scale trend " + ("with" if finding.outcome == WITH else "against") + " the paper"
    if finding.outcome == AGAINST:
        return "contradicts the paper"
    return "reproduced" if finding.within else "consistent with the paper"


def count_line(verdicts: Iterable[str], order: tuple[str, ...]) -> str:
    """'3 reproduced, 1 undecided, 9 not run': each verdict's count, in the vocabulary's order."""
    counts = Counter(verdicts)
    return ", ".join(f"{counts[word]} {word}" for word in order if counts[word])


def evidence_columns(finding: Finding, rule: str, kind: str) -> dict[str, str]:
    """A ledger row's evidence and verdict columns (the paper's ledger and the one beyond it share them)."""
    return {
        "verdict": verdict(finding, kind),  # first of ours: a narrow screen shows it beside the claim
        "largest scale tested": finding.preset or "none",
        "our evidence": finding.evidence or "no run bears on it",
        "decided by": rule,
        "runs": " ".join(run_id[:8] for run_id in finding.run_ids),
    }
