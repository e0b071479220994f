"""The paper's numbers in `randnas.paper` against the facts sheet (../shared/spec/reference.md, section 8)
and against the paper's own text, for a sample of every table."""

from __future__ import annotations

import re

import pytest

from randnas import paper
from tests.conftest import REPO

REFERENCE = REPO.parent / "shared" / "spec" / "reference.md"
PAPER_TEXT = REPO.parent / "shared" / "paper"


def row(table, method):
    return next(r for r in table if r.method == method)


@pytest.fixture(scope="module")
def reference() -> str:
    if not REFERENCE.is_file():
        pytest.skip("../shared/spec/reference.md is absent")
    return REFERENCE.read_text()


def test_table1_rows_as_the_reference_gives_them(reference):
    rsws = row(paper.TABLE1, "Random search WS")
    assert (
        f"Random search WS: best {rsws.best}, avg {rsws.average} ± {rsws.std:.2f}, {rsws.params_m}M, "
        f"{rsws.cost_stage1} / {rsws.cost_stage2:g} / {rsws.cost_total}" in reference
    )
    asha = row(paper.TABLE1, "ASHA baseline")
    assert (
        f"ASHA baseline: best {asha.best}, avg {asha.average} ± {asha.std}, {asha.params_m}M, total {asha.cost_total:g}"
        in reference
    )
    rerun = row(paper.TABLE1, "DARTS (second order), authors' rerun")
    assert (rerun.best, rerun.average, rerun.std, rerun.cost_stage1, rerun.cost_stage2, rerun.cost_total) == (
        2.62,
        2.78,
        0.12,
        4,
        6,
        10,
    )
    # NASNet-A's 2.65 is an average over 5 seeds, not a best; the values the first version lacked
    nasnet = row(paper.TABLE1, "NASNet-A")
    assert nasnet.best is None and nasnet.average == 2.65 and (nasnet.params_m, nasnet.cost_total) == (3.3, 2000)
    assert "NASNet-A avg 2.65 (not a best), 3.3M, total 2000" in reference
    assert row(paper.TABLE1, "SNAS").cost_stage1 == 1.5 and "SNAS avg 2.85 ± 0.02, 2.8M, stage 1 1.5" in reference
    ghn = row(paper.TABLE1, "GHN")
    assert (ghn.params_m, ghn.cost_stage1) == (5.7, 0.84) and "GHN avg 2.84 ± 0.07, 5.7M, stage 1 0.84" in reference
    assert (
        row(paper.TABLE1, "ProxylessNAS").cost_stage1 == 4 and "ProxylessNAS best 2.08,\n  5.7M, stage 1 4" in reference
    )
    amoeba = row(paper.TABLE1, "AmoebaNet-B")
    assert (amoeba.params_m, amoeba.cost_total) == (
        2.8,
        3150,
    ) and "AmoebaNet-B avg 2.55 ± 0.05, 2.8M,\n  total 3150" in reference


def test_table6_rows_as_the_reference_gives_them(reference):
    for method, text in [
        ("Random search baseline [Liu et al.]", "random search baseline [Liu] 61.8 / 59.4, 23M, total 2"),
        ("DARTS (first order) [Liu et al.]", "DARTS (first order) [Liu] 60.2 / 57.6, 23M,\n0.5 / 1 / 1.5"),
        ("DARTS (second order) [Liu et al.]", "DARTS (second order) [Liu] 58.1 / 55.7, 23M, 1 / 1 / 2"),
        ("ENAS, rerun by Liu et al.", "ENAS [Liu] 60.8 / 58.6,\n24M, 0.5"),
        ("Random search WS", "Random search WS 57.8 / 55.5, 23M,\n0.25 / 1 / 1.25"),
    ]:
        r = row(paper.TABLE6, method)
        assert f"{r.valid} / {r.test}" in text and text in reference, method
    rerun = row(paper.TABLE6, "DARTS (second order), authors' rerun")
    assert (rerun.valid, rerun.test, rerun.cost_stage1, rerun.cost_stage2, rerun.cost_total) == (58.2, 55.9, 1, 1, 2)
    assert row(paper.TABLE6, "ENAS [Pham et al.]").params_m == 24


def test_tables_2_3_4_7_8_as_the_reference_gives_them(reference):
    for key, label in [("darts", "Reproduced DARTS (50 ep, clip 5, C16)"), ("random5", "Random (5) Run 1")]:
        trials = " ".join(f"{v:.2f}" for v in paper.TABLE2[key])
        best, average = paper.TABLE2_PRINTED[key]
        assert f"{label}: {trials} | {best:.2f} | {average:.2f}" in reference
    assert "(5) 150, 1, 24, 5000" in reference and paper.TABLE2_SETTINGS["random5"] == (150, 1, 24, 5000)
    low, mean, std = paper.TABLE3["ten_seeds"]
    assert f"min {low}, avg {mean} ± {std}" in reference
    assert ", ".join(f"{m:.2f} ± {s:.2f}" for m, s in paper.TABLE4) in reference
    for key, label in [("darts_published", "DARTS published"), ("random4_run2", "Random (4) Run 2")]:
        best, average = paper.TABLE7_PRINTED[key]
        assert f"{label} {' '.join(map(str, paper.TABLE7[key]))} | {best} | {average}" in reference
    ppl, test = paper.TABLE8["Random (4) Run 2"]
    assert f"Random (4) Run 2 {' '.join(map(str, ppl))} | {test}" in reference


def test_printed_best_and_average_follow_from_the_printed_trials():
    # printed to 2 decimals (CIFAR-10) and 1 (PTB): within half a unit of the last digit
    for table, printed, half_unit in (
        (paper.TABLE2, paper.TABLE2_PRINTED, 0.0051),
        (paper.TABLE7, paper.TABLE7_PRINTED, 0.051),
    ):
        for key, trials in table.items():
            best, average = printed[key]
            assert average == pytest.approx(sum(trials) / len(trials), abs=half_unit), key
            # the paper prints 2.97 as Random (3)'s best although its trial 4 reads 2.95; kept as printed
            assert best == min(trials) or (table is paper.TABLE2 and key == "random3" and best == 2.97), key


def test_table5_has_the_supplements_twelve_publications():
    if not (PAPER_TEXT / "supplement.txt").is_file():
        pytest.skip("../shared/paper is absent")
    text = (PAPER_TEXT / "supplement.txt").read_text()
    assert len(paper.TABLE5) == 12 and paper.TABLE5_EXACTLY_REPRODUCIBLE == 0
    for entry in paper.TABLE5:
        line = next(
            line
            for line in text.splitlines()
            if entry.publication.split(" [")[0] in line
            and re.search(re.escape("[" + entry.publication.split("[")[1]), line)
        )
        words = re.findall(r"\b(Yes|No)\b", line)
        expected = ["Yes" if entry.search_code else "No", "Yes" if entry.evaluation_code else "No"]
        if entry.seeds is not None:
            expected.append("Yes" if entry.seeds else "No")
        assert words[: len(expected)] == expected, entry.publication
