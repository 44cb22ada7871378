"""The emulator on a real socket: ``LiveServer`` (a threaded HTTP server in a background thread) and a WSGI app.

Both take the request's concurrency slot as soon as its headers are in, read the body, let the emulator answer,
and give the slot back just before the answer is written (``limits`` explains why).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import quote

from ..limits import Slot
from ..webhooks import WebhookDispatcher
from .request import LIVE_MARKER_HEADER
from .responses import ConnectionDropped, Response


class Served(Protocol):
    """What a transport needs of the emulator (``facade.Emulator``)."""

    base_url: str
    webhooks: WebhookDispatcher

    def take_slot(self, method: str, path_with_query: str, headers: dict[str, str]) -> Slot | None: ...

    def handle(
        self,
        method: str,
        path_with_query: str,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = b"",
        slot: Slot | None = None,
    ) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "QBOEmulator/1.0"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        headers = dict(self.headers.items())
        headers[LIVE_MARKER_HEADER] = "1"
        slot = self.server.emulator.take_slot(self.command, self.path, headers)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            emulator = self.server.emulator
            status, response_headers, payload = emulator.handle(self.command, self.path, headers, body, slot)
        except ConnectionDropped:
            self._drop()
            return
        finally:
            if slot is not None:
                slot.release()
        self._write(status, response_headers, payload)

    def _write(self, status: int, response_headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in response_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def _drop(self) -> None:
        # The operation committed; close the socket without an HTTP answer.
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"qbo-emulator {self.address_string()} - {format % args}\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Served
    verbose: bool = False


class LiveServer:
    """The emulator on a real socket, in a background thread."""

    def __init__(
        self,
        emulator: Served,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_thread: bool = True,
        verbose: bool = False,
    ) -> None:
        self.emulator = emulator
        self.host = host
        self.requested_port = port
        self.webhook_thread = webhook_thread
        self.verbose = verbose
        self.httpd: _HTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "server not started"
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> LiveServer:
        self.httpd = _HTTPServer((self.host, self.requested_port), _Handler)
        self.httpd.emulator = self.emulator
        self.httpd.verbose = self.verbose
        self.emulator.base_url = self.url
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="qbo-emulator-http", daemon=True
        )
        self.thread.start()
        if self.webhook_thread:
            self.emulator.webhooks.start()
        return self

    def stop(self) -> None:
        self.emulator.webhooks.stop()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.httpd = None
        self.thread = None

    def __enter__(self) -> LiveServer:
        return self if self.httpd else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_wsgi_app(emulator: Served) -> Callable:
    """A WSGI callable for any WSGI server. A ``drop`` fault closes the socket only where the
    server exposes it (``gunicorn.socket``); elsewhere the exception is left to the server."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        path = quote(environ.get("PATH_INFO", "/"), safe="/:@!$&'()*+,;=-._~")
        query = environ.get("QUERY_STRING", "")
        method, target = environ["REQUEST_METHOD"], f"{path}?{query}" if query else path
        headers = {key[5:].replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["CONTENT-TYPE"] = environ["CONTENT_TYPE"]
        headers[LIVE_MARKER_HEADER] = "1"
        slot = emulator.take_slot(method, target, headers)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            status, response_headers, payload = emulator.handle(method, target, headers, body, slot)
        except ConnectionDropped:
            sock = environ.get("gunicorn.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise
        finally:
            if slot is not None:
                slot.release()
        status_line = f"{status} {HTTPStatus(status).phrase}"
        start_response(status_line, list(response_headers.items()) + [("Content-Length", str(len(payload)))])
        return [payload]

    return app
