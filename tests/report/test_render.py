"""How pages show tables by preset: the largest preset first, the toy preset folded away without the paper's
numbers when a larger preset has runs."""

from __future__ import annotations

import pandas as pd
import pytest

from randnas.report import render
from randnas.report.common import Table


def test_presets_are_shown_largest_first():
    assert render.largest_first(["smoke", "cpu", "paper"]) == ["paper", "cpu", "smoke"]
    assert render.largest_first(["smoke", "other", "cpu"]) == ["cpu", "smoke", "other"]


def test_the_toy_preset_loses_the_papers_columns_and_rows():
    table = Table(
        "t",
        pd.DataFrame(
            {"method": ["a", "a"], "source": ["paper", "ours"], "paper: best": ["2.7", ""], "ours: best": ["", "9.1"]}
        ),
        "preset smoke",
    )
    kept = render.without_paper(table).frame
    assert list(kept.columns) == ["method", "source", "ours: best"] and kept["source"].tolist() == ["ours"]


@pytest.fixture
def shown(monkeypatch):
    outputs = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda item: outputs.append(item))
    return outputs


def build(preset):
    return Table(
        f"table of {preset}",
        pd.DataFrame({"paper: best": ["2.71"], "ours: best": [f"{preset}-value"]}),
        f"preset {preset}",
    )


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


def test_run_ids_link_to_their_runs_in_the_mlflow_ui(store, monkeypatch):
    from types import SimpleNamespace

    from randnas.record.writer import run_tags, tracked_run

    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    tags = run_tags(seed=0, preset="smoke", benchmark="toy", datasets=[toy], plan_key="p/link")
    with tracked_run("toy/links", "r", tags=tags) as run:
        pass
    experiment = mlflow_experiment_id(run.run_id)
    render._experiments_of_runs.cache_clear()
    assert render.mlflow_ui_base() == "http://127.0.0.1:5000"  # the repository's _config.yml
    monkeypatch.setenv(render.UI_ENV, "https://mlflow.example.org/")
    html = render.table_html(Table("t", pd.DataFrame({"ours": ["a<b"], "runs": [run.run_id[:8]]}), "s", [run.run_id]))
    url = f"https://mlflow.example.org/#/experiments/{experiment}/runs/{run.run_id}?workflowType=machine_learning"
    assert html.count(f'href="{url}"') == 2  # in the table's runs column and in the list under it
    assert "a&lt;b" in html


def mlflow_experiment_id(run_id):
    from randnas.record.store import open_store

    return open_store().client().get_run(run_id).info.experiment_id
