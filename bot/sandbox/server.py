"""The sandbox served over HTTP on localhost, for a bot started as a separate process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Mapping
from email.message import Message as _MimeHeaders
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox import api
from bot.sandbox.state import World
from bot.sandbox.types import JSON
from bot.sandbox.wire import Answer, ApiError, Upload, bad, coerce, route


class Served(Protocol):
    """What a server serves: a sandbox's world (`bot.sandbox.Sandbox`, which builds servers)."""

    @property
    def world(self) -> World:
        """The state every Bot API method reads and changes."""
        ...


_log = logging.getLogger("bot.sandbox")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], world: World) -> None:
        super().__init__(address, _Handler)
        self.world = world
        self.stopping = False
        # Open client connections, so that `SandboxServer.refuse` can cut them like a network.
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then serve it in a thread."""
        with self.live_lock:
            self.live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        with self.live_lock:
            self.live.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Close every open client connection (a client sees its peer go away)."""
        with self.live_lock:
            live, self.live = set(self.live), set()
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid long-poll is normal; keep stderr quiet.
        """Log a failed request quietly."""
        _log.debug("sandbox HTTP error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        """Serve a GET (file downloads, and methods called with a query string)."""
        self._serve()

    def do_POST(self) -> None:
        """Serve a POST (Bot API methods)."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Log requests at debug level instead of printing them."""
        _log.debug("sandbox HTTP: " + format, *args)

    def _serve(self) -> None:
        """Answer one HTTP request as the Bot API would."""
        world = self.server.world
        parts = urlsplit(self.path)
        body = self._read_body()
        target = route(parts.path)
        if target is None:
            self._reply(Answer(HTTPStatus.NOT_FOUND, ApiError(404, "Not Found").body()))
            return
        kind, token, name = target
        if kind == "file":
            self._reply(api.file_answer(world, token, name))
            return
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        files: dict[str, Upload] = {}
        try:
            self._parse_body(body, params, files)
        except ValueError as exc:
            self._reply(Answer(HTTPStatus.BAD_REQUEST, bad(str(exc)).body()))
            return
        if name.lower() == "getupdates":
            gen = api.begin_poll(world, token, params)
            timeout = api.poll_timeout(_safe_coerce(params))
            if timeout > 0:
                api.wait_poll_sync(world, gen, timeout, lambda: self.server.stopping)
            answer = api.finish_poll(world, token, gen, params, "http")
        else:
            answer = api.handle(world, token, name, params, files, "http")
        if answer.dropped:
            # The call was read (and, if applied, carried out); the answer never comes back.
            deadline = time.monotonic() + answer.stall
            while time.monotonic() < deadline and not self.server.stopping:
                time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
            self.close_connection = True
            return
        self._reply(answer)

    def _read_body(self) -> bytes:
        """Read the request body, chunked or sized."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _parse_body(self, body: bytes, params: dict[str, Any], files: dict[str, Upload]) -> None:
        """Add the parameters and files of a JSON, form or multipart body."""
        if not body:
            return
        content_type = self.headers.get("Content-Type", "")
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json":
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError("can't parse JSON object")
            params.update(decoded)
        elif mime == "multipart/form-data":
            _parse_multipart(body, content_type, params, files)
        else:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))

    def _reply(self, answer: Answer) -> None:
        """Send an answer."""
        payload = answer.payload
        self.send_response(answer.status)
        content_type = "application/octet-stream" if answer.raw is not None else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _safe_coerce(params: Mapping[str, Any]) -> JSON:
    """Return the coerced parameters, or none if they do not coerce."""
    try:
        return coerce(params)
    except ApiError:
        return {}


def _header_params(value: str) -> _MimeHeaders:
    """Wrap a header value so that the email package parses its parameters."""
    headers = _MimeHeaders()
    headers["Content-Disposition"] = value
    return headers


def _parse_multipart(
    body: bytes, content_type: str, params: dict[str, Any], files: dict[str, Upload]
) -> None:
    """Split a multipart/form-data body into fields and uploaded files."""
    boundary = _header_params(content_type).get_param("boundary", header="content-disposition")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get_param("name", header="content-disposition")
        filename = disposition.get_filename()
        if not isinstance(name, str):
            continue
        if filename is not None:
            mime_type = headers.get("content-type", "application/octet-stream")
            files[name] = Upload(filename, content, mime_type)
        else:
            params[name] = content.decode("utf-8")


class SandboxServer:
    """The sandbox served over HTTP on localhost, as python-telegram-bot's ``base_url`` wants."""

    def __init__(self, sandbox: Served, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self._address = (host, port)
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """Return the port the server listens (or listened, and will listen again) on."""
        if self._server is not None:
            return int(self._server.server_address[1])
        if self._address[1]:
            return self._address[1]
        raise RuntimeError("the sandbox server is not running")

    @property
    def base_url(self) -> str:
        """Return the Bot API base URL, e.g. ``http://127.0.0.1:PORT/bot``."""
        return f"http://{self._address[0]}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Return the file download base URL, e.g. ``http://127.0.0.1:PORT/file/bot``."""
        return f"http://{self._address[0]}:{self.port}/file/bot"

    def start(self) -> str:
        """Start serving in a background thread; return the base URL.

        After `stop` or `refuse` it listens again on the same port.
        """
        if self._server is None:
            self._server = _HTTPServer(self._address, self.sandbox.world)
            # Keep the port, so that a restart is reached at the same base URL.
            self._address = (self._address[0], int(self._server.server_address[1]))
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="kpibot-sandbox-http",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving, ending pending long polls."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping = True
        with self.sandbox.world.cond:
            self.sandbox.world.cond.notify_all()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def refuse(self) -> None:
        """Stop listening and cut open connections: new calls fail to connect (`start` undoes).

        A client then sees ``httpx.ConnectError`` (python-telegram-bot: ``NetworkError``): the
        request never reached Telegram.
        """
        server = self._server
        self.stop()
        if server is not None:
            server.cut_connections()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


# ---------------------------------------------------------------------------------------------
# Helpers for tests and the demo
# ---------------------------------------------------------------------------------------------
