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


def test_one_number_format_per_column():
    write = render.number_format(pd.Series([9.0, 3.0]))
    assert write(9.0) == "9" and write(float("nan")) == ""
    assert render.number_format(pd.Series([0.5948, 0.61]))(0.5948) == "0.5948"
    assert render.number_format(pd.Series([5.94, 12.1]))(5.9) == "5.90"
    assert render.number_format(pd.Series([1.0, 2.5]))(float("inf")) == "diverged"


def test_long_values_are_shortened_with_the_whole_value_on_hover():
    digest = "ab" * 32
    genotype = "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])"
    nb201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    run_id = "c" * 32
    assert render.cell_html(f"weights {digest}") == f'weights <span title="{digest}"><code>{digest[:12]}…</code></span>'
    from randnas.spaces.common import cell_hash

    for text in (genotype, nb201):
        shown = render.cell_html(text)
        assert f"cell {cell_hash(text)}" in shown and "Genotype(" not in shown.split('title="')[0]
    assert render.cell_html(f"from {run_id}") == f'from <span title="{run_id}"><code>cccccccc</code></span>'
    assert render.cell_html("a<b") == "a&lt;b"


def test_long_text_goes_to_the_folded_details_and_numbers_stay_in_the_comparison(shown):
    frame = pd.DataFrame(
        {
            "method": ["Random (1)", "DARTS"],
            "ours": ["5.94 ± 0.71 (n=3; 95 % interval of the mean [5.10, 6.70])", "9.05 (n=1)"],
            "ours: protocol": ["600 epochs, batch 96, cutout 16, drop-path 0.2, cosine lr", "same"],
            "verdict": ["undecided: the paper's n is 4 and ours is 3", "not run"],
            "runs": ["", ""],
        }
    )
    assert render.detail_columns(frame) == ["ours: protocol"]
    page = render.table_html(Table("Table 2", frame, "preset cpu; data: CIFAR-10"))
    comparison, details = page.split("<details><summary>Details: ours: protocol</summary>")
    assert "cosine lr" not in comparison and "cosine lr" in details and "5.94 ± 0.71" in comparison
    assert "Random (1)" in details  # the row's name in both views


def test_a_long_scale_line_shows_its_first_clauses_and_folds_the_rest():
    long = "; ".join(f"clause {i} " + "x" * 30 for i in range(12))
    shown = render.scale_html(long)
    summary = shown.split("<summary>")[1].split("</summary>")[0]
    assert len(summary) < render.SCALE_LINE_CHARS + 20 and long in shown
    assert "<details" not in render.scale_html("preset cpu; data: CIFAR-10")


def test_each_table_offers_its_data_as_csv():
    import base64
    import io

    table = Table("Table 1: CIFAR-10", pd.DataFrame({"method": ["a"], "ours": [2.5]}), "preset cpu; data: x")
    link = render.csv_link(table)
    assert 'download="table-1-cifar-10-cpu.csv"' in link
    data = base64.b64decode(link.split("base64,")[1].split('"')[0]).decode()
    assert pd.read_csv(io.StringIO(data)).equals(table.frame)


def test_reproduce_line_names_the_plan_entries_and_what_their_runs_took(store):
    from types import SimpleNamespace

    from randnas.record.writer import run_tags, tracked_run

    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    made = []
    for entry in ("cnn-rsws", "cnn-stage2"):
        tags = run_tags(
            seed=0, preset="cpu", benchmark="toy", datasets=[toy], plan_key=f"default/{entry}/cpu/seed-0@ab"
        )
        with tracked_run("toy/reproduce", entry, tags=tags) as run:
            made.append(run.run_id)
    render._plan_jobs_of_runs.cache_clear()
    line = render.reproduce_line(Table("t", pd.DataFrame({"a": [1]}), "preset cpu", made))
    assert "randnas run plans/default.yaml --preset cpu --only cnn-rsws --only cnn-stage2" in line
    assert "its 2 run(s) took 0.00 device-hours" in line
    assert render.reproduce_line(Table("t", pd.DataFrame({"a": [1]}), "preset cpu", ["d" * 32])) == ""


def test_a_preset_section_folds_the_toy_presets_words_tables_and_figures(shown):
    import matplotlib.pyplot as plt

    presets = ["cpu", "smoke"]
    for preset in presets:
        with render.PresetSection(preset, presets) as section:
            section.words(f"**{preset}** words")
            section.table(build(preset))
            plt.plot([1, 2], [3, 4])
            section.figure()
    texts = [getattr(item, "data", "") for item in shown]
    assert texts[0] == "### Preset `cpu`" and "**cpu** words" in texts[1]
    folded = texts[-1]
    assert len([t for t in texts if "smoke" in t]) == 1, "the toy preset shows as one fold"
    assert folded.startswith("<details><summary>Preset <code>smoke</code>: toy data")
    assert "<strong>smoke</strong> words" in folded and 'src="data:image/png;base64,' in folded
    assert "2.71" not in folded  # the fold drops the paper's columns, as show_by_preset does


def test_a_toy_preset_alone_is_not_folded(shown):
    with render.PresetSection("smoke", ["smoke"]) as section:
        section.words("alone")
    assert [item.data for item in shown] == ["### Preset `smoke` (machinery only: toy data)", "alone"]
