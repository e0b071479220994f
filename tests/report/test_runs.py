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
