"""The README's performance paragraph is what the committed benchmark results say."""

from __future__ import annotations

import pytest

from benchmarks.summary import END, README, START, performance_paragraph


def test_readme_paragraph_matches_the_committed_results():
    text = README.read_text()
    assert START in text and END in text
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == performance_paragraph(), "run `.venv/bin/python -m benchmarks.summary --write`"
    assert "On the 2-core CPU" in block and "%" in block


def test_a_result_measured_from_uncommitted_code_says_so():
    from randnas.repro import code_provenance

    assert code_provenance({"git_commit": "3edfb01a70ff", "git_dirty": "true"}) == (
        "commit 3edfb01 with uncommitted changes"
    )
    assert code_provenance({"git_commit": "87760ecc674f", "git_dirty": "false"}) == "commit 87760ec"
    assert "3edfb01 with uncommitted changes" in performance_paragraph()  # the committed CPU results


def test_asha_overhead_ratios_compare_equal_work():
    import json

    from benchmarks.common import RESULTS

    results = json.loads((RESULTS / "asha_overhead.json").read_text())["results"]
    per_epoch = results["bare_loop"]["seconds"] / results["bare_loop"]["epochs"]
    for row in results.values():
        assert row["ratio_to_bare_loop_same_epochs"] == pytest.approx(row["seconds"] / (per_epoch * row["epochs"]))
        assert "ratio_to_bare_loop" not in row  # the old ratio divided timings of unequal work
