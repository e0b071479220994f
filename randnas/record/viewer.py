"""The MLflow UI over the record, read-only: no request can change the committed store.

MLflow's UI is a full tracking server, and its own CORS guard admits every localhost origin: a page a browser
opens on another localhost port could POST `runs/delete` or `runs/set-tag` to it. Three locks close that: the
MLflow server listens on a private loopback port behind a small proxy (`ReadOnlyProxy`) that answers 403 to any
state-changing request from another origin and to any Host but its own (DNS rebinding); the server serves a
snapshot of the file store, not the store itself, so even a write from the UI's own page changes only the
snapshot, dropped when the UI stops; and a run whose meta.yaml points its artifacts outside its folder (which
would let the server read files from anywhere) stops the UI from starting until `randnas record check` is clean.
"""

from __future__ import annotations

import http.client
import shutil
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from randnas.record.integrity import artifact_location_problem
from randnas.record.store import RecordUnreadable


def _symlinks(folder: str, names: list[str]) -> list[str]:
    """copytree's ignore hook: links are not copied, so the snapshot holds only the store's own files."""
    return [name for name in names if Path(folder, name).is_symlink()]


def snapshot_store(store: Path, into: Path) -> Path:
    """A copy of the file store `store` at `into / store.name` (replacing an older one), for the UI to serve; the
    committed artifact paths (relative to the folder that holds the store) resolve inside `into`."""
    escapes = [
        problem
        for run in sorted(store.glob("*/*/meta.yaml"))
        if (problem := artifact_location_problem(run.parent)) is not None
    ]
    if escapes:
        raise RecordUnreadable(
            f"{len(escapes)} run(s) point their artifacts outside the store, which the UI would serve: {escapes[0]}"
        )
    copy = into / store.name
    if copy.exists():
        shutil.rmtree(copy)
    into.mkdir(parents=True, exist_ok=True)
    shutil.copytree(store, copy, ignore=_symlinks)
    return copy


READING_METHODS = ("GET", "HEAD", "OPTIONS")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def own_hosts(port: int) -> set[str]:
    return {f"127.0.0.1:{port}", f"localhost:{port}"}


def refusal(method: str, host: str, origin: str, port: int) -> str:
    """Why the proxy on `port` refuses a request ("" when it passes): a Host not its own, or a state-changing
    request from a page of another origin (a browser names it in `Origin`; a local script sends none)."""
    if host not in own_hosts(port):
        return f"host {host!r} is not this UI's"
    if method not in READING_METHODS and origin and origin.removeprefix("http://") not in own_hosts(port):
        return f"{method} from another origin ({origin}): the record is read-only"
    return ""


class ReadOnlyProxy(ThreadingHTTPServer):
    """127.0.0.1:`port` -> the MLflow server on 127.0.0.1:`upstream`, passing only what `refusal` allows."""

    daemon_threads = True

    def __init__(self, port: int, upstream: int) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", port), _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ReadOnlyProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the MLflow server logs requests itself."""

    def _forward(self) -> None:
        why = refusal(
            self.command, self.headers.get("Host", ""), self.headers.get("Origin", ""), self.server.server_port
        )
        if why:
            body = why.encode()
            self.send_response(403)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {key: value for key, value in self.headers.items() if key.lower() not in HOP_BY_HOP}
        connection = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=300)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except OSError as error:
            payload, response = f"the MLflow server did not answer ({error})".encode(), None
        finally:
            connection.close()
        self.send_response(response.status if response is not None else 502)
        for key, value in response.getheaders() if response is not None else []:
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_OPTIONS = do_POST = do_PUT = do_PATCH = do_DELETE = _forward
