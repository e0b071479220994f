"""The README's performance paragraph is what the committed benchmark results say."""

from __future__ import annotations

from benchmarks.summary import END, README, START, performance_paragraph


def test_readme_paragraph_matches_the_committed_results():
    text = README.read_text()
    assert START in text and END in text
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == performance_paragraph(), "run `.venv/bin/python -m benchmarks.summary --write`"
    assert "On the 2-core CPU" in block and "%" in block
