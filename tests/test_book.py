"""The book: executed copies match their notebooks, it builds with warnings as errors from the committed
record, every table page holds its tables, and a headless Chromium renders the first page and every
table page (screenshots under _build/screenshots/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from tests.conftest import REPO

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def executed_copies() -> list[Path]:
    return sorted((REPO / "book" / "runs").rglob("*.ipynb")) if (REPO / "book" / "runs").is_dir() else []


def code_sources(notebook) -> list[str]:
    return [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", [])
    ]


def recorded_commits(plan_key: str) -> set[str]:
    """The commits the committed record's runs of a plan job were made from (tag randnas.fp.git_commit)."""
    commits = set()
    for tag in (REPO / "mlruns").glob("*/*/tags/randnas.plan_key"):
        if tag.read_text() == plan_key:
            commit = tag.parent / "randnas.fp.git_commit"
            commits.add(commit.read_text() if commit.is_file() else "")
    return commits


def notebook_at(commit: str, name: str):
    done = subprocess.run(
        ["git", "show", f"{commit}:notebooks/{name}"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return nbformat.reads(done.stdout, as_version=4) if done.returncode == 0 else None


@pytest.mark.parametrize("copy", executed_copies(), ids=lambda p: str(p.relative_to(REPO / "book" / "runs")))
def test_executed_copy_matches_its_source_notebook_and_has_no_errors(copy):
    """The copy is what its notebook ran: its code equals the notebook's as of the commit its MLflow run
    records (a later change to the notebook does not rewrite what ran)."""
    executed = nbformat.read(copy, as_version=4)
    name = Path(executed.metadata.papermill.input_path).name
    assert (REPO / "notebooks" / name).is_file(), f"{copy} was made from {name}, which is gone"
    plan_key = executed.metadata.papermill.parameters["plan_key"]
    commits = recorded_commits(plan_key)
    assert commits, f"{copy.name}: no run of {plan_key} in the committed record"
    versions = [notebook_at(commit, name) for commit in commits]
    if all(v is None for v in versions):
        pytest.skip(f"the commits of {copy.name}'s run are not in this clone's history (a shallow clone?)")
    assert any(v is not None and code_sources(v) == code_sources(executed) for v in versions), (
        f"{copy.name} does not match {name} at its run's commit {sorted(commits)}: rerun its plan (--force)"
    )
    assert executed.metadata.papermill.exception is not True
    for cell in executed.cells:
        assert all(output.get("output_type") != "error" for output in cell.get("outputs", []))


def test_source_notebooks_carry_no_outputs():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "book").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), path


def run_folders(store: Path) -> set[Path]:
    return {meta.parent for meta in store.glob("*/*/meta.yaml")}


@pytest.fixture(scope="module")
def book_build(tmp_path_factory) -> SimpleNamespace:
    """The book built from this checkout's pages and executed copies, into a scratch folder, reading a
    copy of the committed record (the table pages query it at build time; the copy shows whether the
    build logged anything)."""
    out = tmp_path_factory.mktemp("book")
    record = out / "record" / "mlruns"
    shutil.copytree(REPO / "mlruns", record)
    before = run_folders(record)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-book"),
            "build",
            str(REPO),
            "--path-output",
            str(out),
            "-W",
            "--keep-going",
            "-q",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "MLFLOW_TRACKING_URI": str(record)},
    )
    if done.returncode != 0:
        pytest.fail(f"jupyter-book build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return SimpleNamespace(html=out / "_build" / "html", record=record, runs_before=before)


@pytest.fixture(scope="module")
def built_book(book_build) -> Path:
    return book_build.html


def test_book_builds_with_warnings_as_errors(built_book):
    for page in ("book/intro.html", "book/benchmarks.html", "book/runs-index.html", "book/rerun.html"):
        assert (built_book / page).is_file(), page
    assert "Random search and reproducibility for NAS" in (built_book / "book/intro.html").read_text()


def test_book_build_renders_executed_copies_without_rerunning_them(book_build):
    built_book = book_build.html
    # an executed copy rerun at build time would have logged a new run into the record the build read
    assert run_folders(book_build.record) == book_build.runs_before
    for copy in executed_copies():
        page = built_book / copy.relative_to(REPO).with_suffix(".html")
        assert page.is_file(), page
        printed = [
            line
            for cell in nbformat.read(copy, as_version=4).cells
            for output in cell.get("outputs", [])
            for line in output.get("text", "").splitlines()
            if line.startswith("MLflow run ")
        ]
        for line in printed:
            assert line in page.read_text(), f"{page} does not show the recorded {line!r}"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_headless_chromium_screenshot_of_the_first_page(built_book):
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    shots = REPO / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "intro.png"
    shot.unlink(missing_ok=True)
    page = (built_book / "book" / "intro.html").as_uri()
    profile = built_book.parent / "chromium-profile"
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,900", page], capture_output=True, timeout=120, check=False
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, "Chromium wrote no screenshot"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=False).stdout
    assert "How to read this book" in dom


TABLE_PAGES = {
    "claims": ["Claims ledger"],
    "paper-cost": ["What the paper preset asks of a GPU"],
    "tables-cifar10": [
        "Table 1: comparison",
        "Table 2: test error (%) after stage 2",
        "Table 3: ranking",
        "Reference: the published DARTS_V2 cell",
    ],
    "tables-ptb": [
        "Table 6: comparison",
        "Table 7: validation perplexity after stage 2",
        "Table 8: stage-3 validation perplexity",
    ],
    "asha-record": ["ASHA searches (cnn)", "ASHA searches (ptb)", "Search cost in device-hours"],
    "reproducibility": [
        "Exact reproducibility",
        "Table 4: broad reproducibility",
        "Table 5: the reproducibility checklist",
    ],
    "beyond": [
        "Shared-weight scores against stand-alone training",
        "Best of N random NAS-Bench-201 cells",
        "single (the paper&#x27;s algorithm) against dense",
    ],
}


@pytest.mark.parametrize("page", sorted(TABLE_PAGES))
def test_every_table_page_shows_its_tables_from_the_committed_record(built_book, page):
    text = (built_book / "book" / f"{page}.html").read_text()
    for title in TABLE_PAGES[page]:
        assert title in text, f"{page}: no {title!r}"
    assert 'class="dataframe randnas-table"' in text, f"{page}: no table rendered from the record"
    assert "Traceback (most recent call last)" not in text, page
    for table in re.findall(r"<table.*?</table>", text, flags=re.DOTALL):
        assert "Genotype(" not in table, f"{page}: a raw genotype string in a table (name cells by hash, draw them)"
        assert not re.search(r">\s*nan\s*<", table), f"{page}: a raw nan in a table"


@pytest.mark.parametrize("page", sorted(TABLE_PAGES))
def test_headless_chromium_opens_every_table_page(built_book, page):
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    shots = REPO / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{page}.png"
    shot.unlink(missing_ok=True)
    url = (built_book / "book" / f"{page}.html").as_uri()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={built_book.parent / f'chromium-{page}'}"]
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,2400", url], capture_output=True, timeout=120, check=False
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, "Chromium wrote no screenshot"
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False).stdout
    assert dom.count("randnas-table") >= 1 and TABLE_PAGES[page][0] in dom


def test_table_pages_show_the_numbers_the_builders_compute_from_the_record(book_build):
    """Every one of our numbers in Tables 1, 2, 6 and 7, as computed from the record the build read,
    appears on its page (HTML-escaped as rendered)."""
    import html

    from randnas.experiments.catalog import load_record
    from randnas.report import comparison, tables
    from randnas.report.common import presets_in

    record = load_record(book_build.record)
    checked = 0
    for page, benchmark in (("tables-cifar10", "cnn"), ("tables-ptb", "ptb")):
        text = (book_build.html / "book" / f"{page}.html").read_text()
        for preset in presets_in(record):
            for table in (
                comparison.comparison_table(record, benchmark, preset),
                tables.stage2_table(record, benchmark, preset),
            ):
                for column in [c for c in table.frame if c.startswith("ours: ") and c != "ours: protocol"]:
                    for value in table.frame[column]:
                        if value:
                            assert html.escape(str(value), quote=False) in text, (
                                f"{page}, {preset}: {column} {value!r} is not on the page"
                            )
                            checked += 1
    assert checked >= 10, "the committed record should fill some of our columns"


def test_the_claims_ledger_page_shows_every_claim_with_its_verdict(book_build):
    import html

    from randnas.experiments.catalog import load_record
    from randnas.report import claims
    from randnas.report.verdicts import PAPER_VERDICTS

    text = html.unescape((book_build.html / "book" / "claims.html").read_text())
    record = load_record(book_build.record)
    ledger = claims.ledger(record)
    for row in ledger.frame.to_dict("records"):
        assert row["claim (the paper's words)"] in text and row["our evidence"] in text
        assert row["verdict"] in PAPER_VERDICTS
    assert ledger.note in text and claims.paper_count(record) in text
    landing = html.unescape((book_build.html / "book" / "intro.html").read_text())
    assert claims.paper_count(record) in landing, "the landing page heads with the same count of verdicts"


CHAPTERS = (
    "intro",
    "claims",
    "benchmarks",
    "tables-cifar10",
    "tables-ptb",
    "asha-record",
    "reproducibility",
    "beyond",
    "nb201",
    "surrogate",
    "cnn",
    "ptb",
    "runs-index",
    "rerun",
    "paper-cost",
)


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_chapter_page_reads_cleanly(built_book, page):
    """No raw genotype string or nan in a table, every table inside a box that scrolls sideways (ours, or a
    notebook output's, which randnas.css makes scroll), no traceback; Chromium opens it."""
    path = built_book / "book" / f"{page}.html"
    text = path.read_text()
    assert "Traceback (most recent call last)" not in text, page
    for table in re.findall(r"<table.*?</table>", text, flags=re.DOTALL):
        assert "Genotype(" not in table, f"{page}: a raw genotype string in a table"
        assert not re.search(r">\s*nan\s*<", table), f"{page}: a raw nan in a table"
    # a table is wide-safe inside our scroll box or inside a notebook's HTML output (scrolls by randnas.css)
    # ... or, for a Markdown table, inside the theme's own scrollable container
    boxes = sum(
        text.count(f'class="{box}"')
        for box in ("randnas-table-scroll", "output text_html", "pst-scrollable-table-container")
    )
    assert text.count("<table") <= boxes, f"{page}: a table outside any scroll box"
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={built_book.parent / f'chromium-chapter-{page}'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    assert "<h1" in dom, f"{page}: Chromium rendered no heading"
