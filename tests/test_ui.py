"""`randnas ui`: the MLflow server on a free loopback port answers a runs search with our runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

from randnas.record.store import open_store
from randnas.record.writer import run_tags, tracked_run
from tests.conftest import REPO


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_ui_server_answers_runs_search(store):
    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    run_ids = []
    for seed in (0, 1):
        tags = run_tags(seed=seed, preset="smoke", benchmark="toy", datasets=[toy])
        with tracked_run("toy/ui", f"toy-{seed}", tags=tags) as run:
            run.metrics({"valid/acc": 0.5 + seed}, step=1)
        run_ids.append(run.run_id)
    port = free_loopback_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "randnas.cli", "ui", "--store", str(store), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so the whole server process group can be stopped
    )
    base = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                experiments = post(f"{base}/experiments/search", {"max_results": 100})["experiments"]
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, "the MLflow server exited"
                assert time.monotonic() < deadline, "the MLflow server did not answer within 120 s"
                time.sleep(1)
        [experiment] = [e for e in experiments if e["name"] == "toy/ui"]
        runs = post(f"{base}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
        assert sorted(run["info"]["run_id"] for run in runs) == sorted(run_ids)
        assert {run["info"]["status"] for run in runs} == {"FINISHED"}
        # the experiment opens on its runs list, as the book links it (not on MLflow 3's empty Traces page)
        browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if browser is not None:
            from randnas.report.render import UI_MODE

            page = f"http://127.0.0.1:{port}/#/experiments/{experiment['experiment_id']}?{UI_MODE}"
            dom = subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--virtual-time-budget=30000",
                    f"--user-data-dir={store.parent / 'chromium-ui'}",
                    "--dump-dom",
                    page,
                ],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            ).stdout
            assert "toy-0" in dom and "toy-1" in dom and "matching runs" in dom, (
                "the experiment did not open on its runs"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def start_ui(store) -> tuple[subprocess.Popen, int]:
    """`randnas ui` (not in a process group of its own: a plain kill reaches only it), once its server answers."""
    open_store(store)  # the empty folders git drops, before the UI reads the store
    port = free_loopback_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "randnas.cli", "ui", "--store", str(store), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            post(f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/search", {"max_results": 1})
            return ui, port
        except (urllib.error.URLError, ConnectionError):
            assert ui.poll() is None and time.monotonic() < deadline, "the MLflow server did not come up"
            time.sleep(1)


def wait_until_free(port: int, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while True:  # the port is free again: nothing serves it any more
        with socket.socket() as probe:
            # as a server binds: connections left in TIME_WAIT are no server
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
                return
            except OSError:
                assert time.monotonic() < deadline, message
                time.sleep(0.5)


def test_kill_of_randnas_ui_stops_the_server_it_started(store):
    ui, port = start_ui(store)
    try:
        ui.send_signal(signal.SIGTERM)  # a plain `kill` of randnas ui, not of its process group
        assert ui.wait(timeout=60) == 130
        wait_until_free(port, 30, "the MLflow server still holds the port after randnas ui ended")
    finally:
        if ui.poll() is None:
            ui.kill()


def test_sigkill_of_randnas_ui_leaves_no_server_serving(store):
    """A SIGKILL leaves `randnas ui` no cleanup of its own: the watcher it started stops the server's group."""
    ui, port = start_ui(store)
    try:
        ui.kill()
        ui.wait(timeout=30)
        # SIGTERM, then SIGKILL 10 s later, on a loaded machine
        wait_until_free(port, 90, "the MLflow server still serves after randnas ui was SIGKILLed")
    finally:
        if ui.poll() is None:
            ui.kill()


def _request(url: str, body: dict, origin: str | None) -> int:
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_no_request_to_the_ui_changes_the_record(store):
    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    with tracked_run(
        "toy/read-only", "toy", tags=run_tags(seed=0, preset="smoke", benchmark="toy", datasets=[toy])
    ) as run:
        run.metrics({"valid/acc": 0.5}, step=1)
    before = {path: path.read_bytes() for path in sorted(store.rglob("*")) if path.is_file()}
    ui, port = start_ui(store)
    base = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow"
    try:
        # a page on another localhost port, as a browser sends it: refused
        other = "http://localhost:9999"
        assert _request(f"{base}/runs/delete", {"run_id": run.run_id}, other) == 403
        assert _request(f"{base}/runs/set-tag", {"run_id": run.run_id, "key": "x", "value": "y"}, other) == 403
        # the UI's own origin may write, and changes only the snapshot it serves
        own = f"http://127.0.0.1:{port}"
        assert _request(f"{base}/runs/set-tag", {"run_id": run.run_id, "key": "x", "value": "y"}, own) == 200
        assert _request(f"{base}/runs/delete", {"run_id": run.run_id}, own) == 200
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=60)
    after = {path: path.read_bytes() for path in sorted(store.rglob("*")) if path.is_file()}
    assert after == before
    assert not (REPO / "_build" / "mlflow-ui" / str(port)).exists()  # the snapshot goes with the UI


def test_the_ui_refuses_a_record_whose_artifacts_point_outside_it(store):
    with tracked_run("toy/escape", "toy", tags={"randnas.plan_key": "p/e/smoke/x@0"}) as run:
        run.metrics({"loss": 1.0}, step=1)
    meta = next(store.glob(f"*/{run.run_id}/meta.yaml"))
    meta.write_text(
        "".join(
            "artifact_uri: ../../../../etc\n" if line.startswith("artifact_uri:") else line
            for line in meta.read_text().splitlines(keepends=True)
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "randnas.cli", "ui", "--store", str(store), "--port", str(free_loopback_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "point their artifacts outside the store" in done.stderr
    assert done.stderr.count("\n") == 1


def test_the_proxy_serves_the_built_book_read_only_and_nothing_outside_it(tmp_path):
    """`randnas ui` serves `_build/html` under /book/ (a run's description links its page there): GET only, no
    file outside the book, no hidden file."""
    import threading
    import urllib.error
    import urllib.request

    from randnas.record.viewer import ReadOnlyProxy

    book = tmp_path / "html"
    (book / "book").mkdir(parents=True)
    (book / "index.html").write_text("<p>front</p>")
    (book / "book" / "intro.html").write_text("<p>intro</p>")
    (book / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside")
    proxy = ReadOnlyProxy(0, upstream=1, book=book)
    port = proxy.server_port
    threading.Thread(target=proxy.serve_forever, daemon=True).start()

    def status(path: str, method: str = "GET") -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, b""

    try:
        assert status("/book/book/intro.html") == (200, b"<p>intro</p>")
        assert status("/book/") == (200, b"<p>front</p>")
        assert status("/book/../outside.txt")[0] == 404
        assert status("/book/%2e%2e/outside.txt")[0] == 404
        assert status("/book/.secret")[0] == 404
        assert status("/book/book/intro.html", "POST")[0] == 405
    finally:
        proxy.shutdown()
        proxy.server_close()
