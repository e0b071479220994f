"""The claims ledger: its verdict rule (each verdict reachable), the bootstrap interval of a comparison, and
findings computed from a synthetic record."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from randnas.report import claims
from randnas.statistics import difference_interval
from tests.rows import RecordBuilder


@pytest.mark.parametrize(
    ("finding", "scale_free", "expected"),
    [
        (claims.Finding(None), False, "not run"),
        (claims.Finding("smoke", agrees=True), False, "machinery only"),
        (claims.Finding("smoke", agrees=True), True, "machinery only"),  # toy data decides nothing, even exactness
        (claims.Finding("cpu", agrees=None), False, "machinery only"),  # too few runs to decide
        (claims.Finding("cpu", agrees=False), False, "small-scale trend"),
        (claims.Finding("cpu", agrees=True), True, "reproduced"),
        (claims.Finding("cpu", agrees=False), True, "contradicts the paper"),
        (claims.Finding("paper", agrees=False), False, "contradicts the paper"),
        (claims.Finding("paper", agrees=True, matches=False), False, "consistent with the paper"),
        (claims.Finding("paper", agrees=True, matches=True), False, "reproduced"),
    ],
)
def test_the_verdict_rule(finding, scale_free, expected):
    assert claims.verdict(finding, scale_free) == expected


def test_every_verdict_is_reachable():
    findings = [
        claims.Finding(None),
        claims.Finding("smoke", True),
        claims.Finding("cpu", True),
        claims.Finding("paper", True),
        claims.Finding("paper", False),
        claims.Finding("paper", True, True),
    ]
    assert {claims.verdict(f) for f in findings} == set(claims.VERDICTS)


def test_the_difference_interval_is_scipys_bootstrap_of_the_difference_of_means():
    ours, theirs = [2.9, 3.1, 3.0, 2.8, 2.95], [3.3, 3.4, 3.2, 3.35, 3.25]
    gap = difference_interval(ours, theirs)
    reference = stats.bootstrap(
        (np.array(ours), np.array(theirs)),
        lambda a, b, axis: a.mean(axis) - b.mean(axis),
        n_resamples=2000,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(10),
    ).confidence_interval
    assert gap.value == pytest.approx(np.mean(ours) - np.mean(theirs)) and gap.n == 5 and gap.enough
    assert (gap.low, gap.high) == (
        pytest.approx(reference.low),
        pytest.approx(reference.high),
    ) and gap.low < gap.value < gap.high < 0
    assert "too few to conclude" in difference_interval(ours[:2], theirs).text()


def test_an_empty_record_runs_nothing():
    ledger = claims.ledger(RecordBuilder().record())
    assert set(ledger.frame["verdict"]) == {"not run"} and "Presets never run: smoke, cpu, paper." in ledger.note


def log_search(built, preset, seed, repeat, digest, plan_name=None):
    plan_name = plan_name or f"seed-{seed}_repeat-{repeat}"
    key = f"default/cnn-rsws/{preset}/{plan_name}@abc{repeat}"
    return built.search(preset=preset, seed=seed, repeat=repeat, digest=digest, plan_key=key)


def test_exact_reproducibility_at_cpu_scale_is_reproduced_or_contradicted():
    built = RecordBuilder()
    log_search(built, "smoke", 0, 1, "aa" * 32)
    log_search(built, "smoke", 0, 2, "bb" * 32)  # smoke differs, but cpu is the largest scale tested
    log_search(built, "cpu", 1, 1, "cc" * 32, plan_name="seed-1")
    log_search(built, "cpu", 1, 2, "cc" * 32, plan_name="seed-1_repeat-2")
    finding = claims.exact_finding(built.record())
    assert (finding.preset, finding.agrees) == ("cpu", True) and claims.verdict(
        finding, scale_free=True
    ) == "reproduced"
    log_search(built, "cpu", 2, 1, "dd" * 32, plan_name="seed-2")
    log_search(built, "cpu", 2, 2, "ee" * 32, plan_name="seed-2_repeat-2")
    finding = claims.exact_finding(built.record())
    assert finding.evidence.startswith("1 of 2 repeated jobs gave identical digests")
    assert claims.verdict(finding, scale_free=True) == "contradicts the paper"


def test_rsws_against_darts_needs_enough_trials_a_side_and_reads_the_interval():
    built = RecordBuilder()
    for seed, error in enumerate((3.0, 3.2, 2.9, 3.1, 3.05)):
        built.train("rsws", [50, error], preset="cpu", search_seed=seed)
    for seed, error in enumerate((3.1, 3.3)):
        built.train("darts", [50, error], preset="cpu", setting="darts-second", search_seed=seed)
    finding = claims.rsws_vs_darts_finding(built.record(), "cnn")
    assert finding.preset == "cpu" and finding.agrees is None and "too few to conclude" in finding.evidence
    for seed, error in enumerate((3.2, 3.25, 3.15), start=2):
        built.train("darts", [50, error], preset="cpu", setting="darts-second", search_seed=seed)
    built.train("darts", [50, 1.0], preset="cpu", setting="darts-first", search_seed=0)  # not the paper's DARTS
    finding = claims.rsws_vs_darts_finding(built.record(), "cnn")
    assert finding.agrees is True and "RSWS - DARTS -0.15 [" in finding.evidence
    assert claims.verdict(finding) == "small-scale trend" and claims.direction(finding) == "with the paper"


def test_full_fidelity_evidence_is_judged_as_paper_scale():
    finding = claims.Finding("cpu", agrees=True)
    assert claims.verdict(finding) == "small-scale trend"
    assert claims.verdict(finding, full_fidelity=True) == "consistent with the paper"
    assert claims.verdict(claims.Finding("cpu", agrees=False), full_fidelity=True) == "contradicts the paper"


def _stage3(built, benchmark, spec, final, preset="cpu", search_run=1, seed=0):
    # a training's final test error is the curve's last value; its test perplexity one less
    return built.train(
        spec,
        [final + 10, final],
        benchmark=benchmark,
        preset=preset,
        seed=seed,
        stage=3,
        search_run=search_run,
        search_seed=0 if spec == "asha" else search_run,
        search_seeds=(0, 1),
    )


def test_asha_is_judged_on_its_stage3_pick_beside_rsws_at_the_same_preset():
    built = RecordBuilder()
    assert claims.asha_finding(built.record()) == claims.Finding(None)
    built.asha(preset="cpu", plan_key="t/asha/cpu/seed-0")
    finding = claims.asha_finding(built.record())
    assert (finding.preset, finding.agrees) == ("cpu", None) and "no pick through stage 3 yet" in finding.evidence
    _stage3(built, "cnn", "asha", 40.0)
    finding = claims.asha_finding(built.record())
    assert finding.agrees is None and "no RSWS pick through stage 3" in finding.evidence
    _stage3(built, "cnn", "best-rsws", 38.0)  # ASHA 5 % worse: strong
    finding = claims.asha_finding(built.record())
    assert finding.agrees is True and "ASHA pick 40.00 (n=1) vs RSWS pick 38.00 (n=1), +5%" in finding.evidence
    assert claims.verdict(finding) == "small-scale trend" and claims.direction(finding) == "with the paper"
    _stage3(built, "ptb", "asha", 300.0)  # 20 % worse than RSWS on PTB: not strong there
    _stage3(built, "ptb", "best-rsws", 250.0)
    finding = claims.asha_finding(built.record())
    assert finding.agrees is False and "PTB test perplexity: ASHA pick 299.00" in finding.evidence


def test_broad_reproducibility_needs_two_independent_runs_and_reads_their_spread():
    built = RecordBuilder()
    assert claims.broad_finding(built.record()) == claims.Finding(None)
    for seed, final in enumerate((37.0, 37.4)):
        _stage3(built, "cnn", "best-rsws", final, search_run=1, seed=seed)
    finding = claims.broad_finding(built.record())
    assert finding.agrees is None and "needs at least two" in finding.evidence
    _stage3(built, "cnn", "best-rsws", 38.0, search_run=2)
    finding = claims.broad_finding(built.record())
    assert finding.agrees is True and "per run: 37.20, 38.00; range 2%" in finding.evidence
    assert claims.verdict(finding) == "small-scale trend"
    _stage3(built, "cnn", "best-rsws", 45.0, search_run=3)
    assert claims.broad_finding(built.record()).agrees is False
    _stage3(built, "cnn", "best-rsws", 2.9, preset="paper")
    _stage3(built, "cnn", "best-rsws", 2.95, preset="paper", search_run=2)
    finding = claims.broad_finding(built.record())
    assert finding.preset == "paper" and claims.verdict(finding) == "reproduced"


def test_the_survey_of_papers_is_never_said_to_be_tested_by_our_runs():
    finding = claims.survey_finding(RecordBuilder().record())
    assert claims.verdict(finding) == "not run" and "not an experiment" in finding.evidence
