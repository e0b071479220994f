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


# Injected into a copy of a page: after it loads, measure what a reader sees and leave it on <body> for
# --dump-dom. A table or figure wider than the content column must sit in a box of its own that scrolls.
LAYOUT_PROBE = """<script>
window.addEventListener("load", function () {
  var column = document.querySelector("article.bd-article") || document.querySelector("main");
  var width = column.getBoundingClientRect().width, wide = [], scrolled = [];
  column.querySelectorAll("table, img, svg").forEach(function (el) {
    if (el.closest("details:not([open])")) { return; }
    var w = el.getBoundingClientRect().width;
    if (w <= width + 2) { return; }
    var title = el.closest(".cell_output") && el.closest(".cell_output").querySelector(".randnas-table-title");
    scrolled.push(Math.round(w) + " px: " + (title ? title.textContent.slice(0, 60) : el.tagName));
    for (var box = el.parentElement; box && box !== column; box = box.parentElement) {
      var overflow = getComputedStyle(box).overflowX;
      if ((overflow === "auto" || overflow === "scroll") && box.getBoundingClientRect().width <= width + 2) { return; }
    }
    wide.push(el.tagName + " " + Math.round(w) + " px (" + (el.getAttribute("alt") || el.className || "") + ")");
  });
  var scales = [];
  document.querySelectorAll("p.randnas-scale, details.randnas-scale > summary").forEach(function (el) {
    var text = el.textContent.trim();
    if (text.length > 250) { scales.push(text.length + ": " + text.slice(0, 80)); }
  });
  var runLinks = [];
  document.querySelectorAll(".bd-sidebar-primary a[href]").forEach(function (a) {
    if (/(^|\\/)runs\\/(smoke|cpu|paper)\\//.test(a.getAttribute("href"))) { runLinks.push(a.getAttribute("href")); }
  });
  document.body.setAttribute("data-randnas-layout", JSON.stringify(
    {column: Math.round(width), wide: wide, scrolled: scrolled, longScales: scales, sidebarRunPages: runLinks}));
});
</script>"""


def measured_layout(browser: str, page: Path, width: int, profile: Path) -> dict:
    import html
    import json

    probe = page.with_name(f"{page.stem}.layout-probe.html")
    probe.write_text(page.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    try:
        dom = subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},1000",
                "--virtual-time-budget=5000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout
    finally:
        probe.unlink()
    found = re.search(r'data-randnas-layout="([^"]*)"', dom)
    assert found, f"{page.name} at {width} px: the layout probe did not run"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", (1400, 500))
@pytest.mark.parametrize("page", CHAPTERS)
def test_every_chapter_fits_its_column_in_chromium(built_book, page, width):
    """Opened in headless Chromium at 1400 and 500 px: no table or figure runs past the content column outside
    a box of its own that scrolls (at 1400 px none needs its box); no scale line over 250 characters; no run page
    in the sidebar."""
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    layout = measured_layout(
        browser, built_book / "book" / f"{page}.html", width, built_book.parent / f"chromium-layout-{page}-{width}"
    )
    assert layout["wide"] == [], f"{page} at {width} px: wider than the {layout['column']} px column: {layout['wide']}"
    if width == 1400:  # on a desktop every comparison view fits the column; its details fold beneath it
        assert layout["scrolled"] == [], f"{page}: tables that scroll at 1400 px: {layout['scrolled']}"
    assert layout["longScales"] == [], f"{page}: scale lines over 250 characters: {layout['longScales']}"
    assert layout["sidebarRunPages"] == [], f"{page}: run pages in the sidebar: {layout['sidebarRunPages'][:3]}"


def test_no_page_of_the_book_prints_a_cells_raw_darts_text_or_a_nan(built_book):
    """A cell is named by its hash (drawn on its run page), never by its whole Genotype(...) text; no table
    prints nan."""
    offenders = []
    for page in sorted(built_book.rglob("*.html")):
        text = page.read_text(errors="replace")
        if re.search(r"Genotype\((normal|recurrent)=", text):
            offenders.append(f"{page.relative_to(built_book)}: Genotype(")
        for table in re.findall(r"<table.*?</table>", text, flags=re.DOTALL):
            if re.search(r">\s*nan\s*<", table):
                offenders.append(f"{page.relative_to(built_book)}: nan in a table")
    assert offenders == []


def missing_imports(notebook) -> list[str]:
    """The `randnas` names the notebook's code imports that today's package does not have: a module that is
    gone, or a name its module no longer defines."""
    import ast
    import importlib

    missing = []
    for source in code_sources(notebook):
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.Import):
                wanted = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                wanted = [(node.module, alias.name) for alias in node.names]
            else:
                continue
            for module, name in wanted:
                if module.split(".")[0] != "randnas":
                    continue
                if not module_exists(module):
                    missing.append(module)
                elif (
                    name is not None
                    and not hasattr(importlib.import_module(module), name)
                    and not module_exists(f"{module}.{name}")
                ):
                    missing.append(f"{module}.{name}")
    return missing


def module_exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is gone
        return False


@pytest.mark.parametrize("copy", executed_copies(), ids=lambda p: str(p.relative_to(REPO / "book" / "runs")))
def test_a_committed_notebook_imports_only_code_that_exists_or_is_marked_stale(copy):
    """A reader reruns a committed executed notebook with papermill: its imports must exist today. The smoke
    record is re-made whenever the staleness rule marks it, so a smoke copy always imports what exists; a copy of
    a larger preset made by older code must at least be marked stale by the rule (`randnas run --dry-run` says
    so, and the rerun is `randnas run --force`, or the notebook at its run's commit)."""
    from randnas.staleness import stale_reason

    executed = nbformat.read(copy, as_version=4)
    missing = missing_imports(executed)
    if not missing:
        return
    preset = executed.metadata.papermill.parameters["preset"]
    assert preset != "smoke", f"{copy.name} imports {missing}, gone from randnas: re-make the smoke record"
    plan_key = executed.metadata.papermill.parameters["plan_key"]
    tags = [path.parent for path in (REPO / "mlruns").glob("*/*/tags/randnas.plan_key") if path.read_text() == plan_key]
    assert tags, f"{copy.name}: no run of {plan_key} in the committed record"
    source = REPO / "notebooks" / Path(executed.metadata.papermill.input_path).name
    for folder in tags:
        run_tags = {path.name: path.read_text() for path in folder.iterdir() if path.is_file()}
        if run_tags.get("randnas.superseded_by"):
            continue
        assert stale_reason(REPO, source, run_tags), f"{copy.name} imports {missing}, yet its run counts as current"


def test_run_links_follow_the_mlflow_ui_chosen_when_the_book_is_read(built_book):
    """`?mlflow=` moves every run link of the page to that UI, without rebuilding the book (make ui PORT=...)."""
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    page = built_book / "book" / "tables-cifar10.html"
    assert 'href="http://127.0.0.1:5000/#/experiments/' in page.read_text()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={built_book.parent / 'chromium-links'}"]
    dom = subprocess.run(
        [*common, "--virtual-time-budget=3000", "--dump-dom", page.as_uri() + "?mlflow=http://127.0.0.1:5999"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert 'href="http://127.0.0.1:5999/#/experiments/' in dom
    assert 'href="http://127.0.0.1:5000/#/experiments/' not in dom


def test_every_run_page_shows_one_parameters_cell_and_is_out_of_the_sidebar(built_book):
    pages = sorted((built_book / "book" / "runs").rglob("*.html"))
    assert pages, "no run pages were built"
    for page in pages:
        text = page.read_text()
        name = page.relative_to(built_book)
        assert 'class="cell tag_parameters' not in text, f"{name}: the notebook's defaults cell is shown"
        assert text.count("tag_injected-parameters") == 1, f"{name}: not one injected Parameters cell"
    index = (built_book / "book" / "runs-index.html").read_text()
    assert all(page.relative_to(built_book / "book").as_posix() in index for page in pages), "a run page unlinked"
