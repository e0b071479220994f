"""The MLflow UI over the record, read-only: no request can change the committed store.

MLflow's UI is a full tracking server, and its own CORS guard admits every localhost origin: a page a browser
opens on another localhost port could POST `runs/delete` or `runs/set-tag` to it. Three locks close that: the
MLflow server listens on a private loopback port behind a small proxy (`ReadOnlyProxy`) that answers 403 to any
state-changing request from another origin and to any Host but its own (DNS rebinding); the server serves a
snapshot of the file store, not the store itself, so even a write from the UI's own page changes only the
snapshot, dropped when the UI stops; and a run whose meta.yaml points its artifacts outside its folder (which
would let the server read files from anywhere) stops the UI from starting until `randnas record check` is clean.

The proxy also serves the built book (`_build/html`) under `/book/`, read-only like the rest: a run's description
in the UI links its book page there, and the book's run links follow the UI they are served beside.
"""

from __future__ import annotations

import http.client
import mimetypes
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

    def __init__(self, port: int, upstream: int, book: Path | None = None) -> None:
        self.upstream = upstream
        self.book = book.resolve() if book is not None else None
        super().__init__(("127.0.0.1", port), _ProxyHandler)


BOOK_PREFIX = "/book/"


def book_file(book: Path, path: str) -> Path | None:
    """The file of the built book that the URL path `path` (under BOOK_PREFIX) names, or None: nothing outside the
    book, no hidden file; a folder stands for its index.html."""
    from urllib.parse import unquote, urlsplit

    relative = unquote(urlsplit(path).path).removeprefix(BOOK_PREFIX)
    if any(part.startswith(".") for part in Path(relative).parts):
        return None
    target = (book / relative).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(book) or not target.is_file():
        return None
    return target


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ReadOnlyProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the MLflow server logs requests itself."""

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _book(self) -> None:
        """A file of the built book, for GET and HEAD only."""
        if self.command not in ("GET", "HEAD"):
            self._answer(405, b"the book is read-only")
            return
        found = book_file(self.server.book, self.path) if self.server.book is not None else None
        if found is None:
            self._answer(404, b"no such page in the built book (make book builds it)")
            return
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        self._answer(200, found.read_bytes(), kind + ("; charset=utf-8" if kind.startswith("text/") else ""))

    def _forward(self) -> None:
        why = refusal(
            self.command, self.headers.get("Host", ""), self.headers.get("Origin", ""), self.server.server_port
        )
        if why:
            self._answer(403, why.encode())
            return
        if self.path.startswith(BOOK_PREFIX):
            self._book()
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
