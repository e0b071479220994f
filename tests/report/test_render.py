"""How pages show tables by preset: the largest preset first, the toy preset folded away without the paper's
numbers when a larger preset has runs."""

from __future__ import annotations

import pandas as pd
import pytest

from randnas.report import render
from randnas.report.tables import Table


def test_presets_are_shown_largest_first():
    assert render.largest_first(["smoke", "cpu", "paper"]) == ["paper", "cpu", "smoke"]
    assert render.largest_first(["smoke", "other", "cpu"]) == ["cpu", "smoke", "other"]


def test_the_toy_preset_loses_the_papers_columns_and_rows():
    table = Table("t", pd.DataFrame({"method": ["a", "a"], "source": ["paper", "ours"], "paper: best": ["2.7", ""],
                                     "ours: best": ["", "9.1"]}), "preset smoke")
    kept = render.without_paper(table).frame
    assert list(kept.columns) == ["method", "source", "ours: best"] and kept["source"].tolist() == ["ours"]


@pytest.fixture
def shown(monkeypatch):
    outputs = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda item: outputs.append(item))
    return outputs


def build(preset):
    return Table(f"table of {preset}", pd.DataFrame({"paper: best": ["2.71"], "ours: best": [f"{preset}-value"]}), f"preset {preset}")


def test_smoke_is_folded_when_a_larger_preset_has_runs(shown):
    render.show_by_preset(["smoke", "cpu"], build)
    texts = [getattr(item, "data", "") for item in shown]
    assert texts[0] == "### Preset `cpu`" and "cpu-value" in texts[1] and "2.71" in texts[1]
    assert texts[2].startswith("<details><summary>Preset <code>smoke</code>: toy data")
    assert "smoke-value" in texts[2] and "2.71" not in texts[2]  # no toy number beside the paper's


def test_smoke_alone_is_shown_as_it_is(shown):
    render.show_by_preset(["smoke"], build)
    texts = [getattr(item, "data", "") for item in shown]
    assert texts[0] == "### Preset `smoke`" and "2.71" in texts[1]
