"""The book's runs index: ASHA trials folded into their search, each row linked to its book page and MLflow."""

from __future__ import annotations

from types import SimpleNamespace

from randnas.record.writer import run_tags, tracked_run
from randnas.report import runs

TOY = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)


def test_trials_fold_into_their_search_and_rows_link_to_the_book_and_mlflow(store, tmp_path):
    tags = run_tags(
        seed=3, preset="smoke", benchmark="toy", datasets=[TOY], plan_key="default/cnn-asha/smoke/seed-3@abc"
    )
    with tracked_run("cnn/asha", "asha-seed3", tags=tags) as search:
        for trial in range(3):
            search.child(f"trial-{trial}", f"t{trial}", tags={}, params={}, metrics=[])
    overview = runs.runs_overview(store)
    assert overview["run_id"].tolist() == [search.run_id] and overview["trials"].tolist() == [3]
    assert overview["page"].tolist() == ["runs/smoke/cnn-asha/seed-3.html"]
    book = tmp_path / "book"
    (book / "runs/smoke/cnn-asha").mkdir(parents=True)
    (book / "runs/smoke/cnn-asha/seed-3.ipynb").write_text("{}")
    html = runs.runs_index_html(overview, book)
    assert '<a href="runs/smoke/cnn-asha/seed-3.html">notebook</a>' in html
    assert f"/runs/{search.run_id}" in html and "<td>3</td>" in html
    assert runs.book_page("") == "" and runs.book_page("p/k") == ""


def test_the_index_groups_runs_by_preset_then_entry_with_a_filter_and_folds_smoke(store, tmp_path):
    made = {}
    for preset, entry, seed in (("smoke", "cnn-rsws", 0), ("cpu", "cnn-rsws", 0), ("cpu", "cnn-stage2", 1)):
        key = f"default/{entry}/{preset}/seed-{seed}@ab"
        tags = run_tags(seed=seed, preset=preset, benchmark="toy", datasets=[TOY], plan_key=key)
        with tracked_run("toy/index", f"{preset}-{entry}", tags=tags) as run:
            made[(preset, entry)] = run.run_id
    overview = runs.runs_overview(store)
    assert sorted(overview["entry"]) == ["cnn-rsws", "cnn-rsws", "cnn-stage2"]
    page = runs.runs_index_html(overview, tmp_path)
    assert 'id="randnas-run-filter"' in page
    cpu, smoke = page.split('<details class="randnas-preset"')[1:]
    assert cpu.startswith(" open><summary>Preset <code>cpu</code>: 2 run(s)")
    assert smoke.startswith("><summary>Preset <code>smoke</code>: 1 run(s) on toy data, machinery only")
    assert cpu.index("cnn-rsws (1 run(s))") < cpu.index(made[("cpu", "cnn-rsws")][:8]) < cpu.index("cnn-stage2")
    summary = runs.runs_per_experiment(overview)
    assert summary.columns.tolist() == ["experiment", "cpu runs", "smoke runs"]  # one header row, largest first
    assert summary.iloc[0].tolist() == ["toy/index", 2, 1]
