"""The web server: Telegram's webhook, the operator's endpoints, later the leaders' dashboard.

One Starlette application built from a list of routes (`build_web_app`), served by uvicorn on the
bot's own event loop (`WebServer`). The webhook stores an update in the inbox before it answers
200 (python-telegram-bot's own webhook server answers first and keeps the update in memory, so a
crash loses it); the stored update then flows through the same per-chat lanes as polled ones.
Anything that is not a genuine update from Telegram gets a 4xx and stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update

from bot.config import ConfigError
from bot.metrics import CONTENT_TYPE, Metrics
from bot.startup import off_loop, ping
from kpi.db import Database
from kpi.models import utcnow

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few kilobytes; Telegram's largest (a long message with entities) far below this.
MAX_UPDATE_BYTES = 1 << 20
# /readyz answers within this, whatever the database does.
READY_TIMEOUT = 2.0
OPERATOR_PATHS = ("/healthz", "/readyz", "/metrics")


class AddressError(ConfigError):
    """A HOST:PORT or a webhook URL that cannot be used; the message says why."""


DEFAULT_LISTEN = ("127.0.0.1", 8080)
# Telegram's own default for setWebhook; it accepts 1 to 100.
DEFAULT_MAX_CONNECTIONS = 40


@dataclass(frozen=True)
class WebOptions:
    """How `kpibot run` takes updates in, and where it serves its endpoints."""

    webhook_url: str | None = None
    listen: tuple[str, int] = DEFAULT_LISTEN
    http: tuple[str, int] | None = None
    set_webhook: bool = True
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @property
    def address(self) -> tuple[str, int] | None:
        """Return where the web server listens (None: polling without --http)."""
        return self.listen if self.webhook_url else self.http

    def check(self) -> None:
        """Refuse options that contradict each other, in one line."""
        if self.webhook_url is None:
            return
        webhook_path(self.webhook_url)
        if self.set_webhook and urlsplit(self.webhook_url).scheme != "https":
            raise AddressError(
                "Telegram posts only to https:// URLs: give the public https:// address (a "
                "reverse proxy ends TLS) or pass --no-set-webhook"
            )
        if not 1 <= self.max_connections <= 100:
            raise AddressError("--max-connections must be between 1 and 100 (Telegram's range)")


def parse_address(text: str) -> tuple[str, int]:
    """Split HOST:PORT (IPv6 in brackets) into a host and a port."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise AddressError(f"not HOST:PORT: {text!r} (example: 127.0.0.1:8080)")
    return host, int(port)


def webhook_path(url: str) -> str:
    """Return the path the webhook listens on: the URL's own path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressError(f"not a webhook URL: {url!r} (example: https://bot.example.com/tg)")
    path = parts.path or "/"
    if path in OPERATOR_PATHS:
        raise AddressError(f"the webhook URL's path {path} is taken by the operator's endpoints")
    return path


def bind(address: tuple[str, int]) -> socket.socket:
    """Open the listening socket now, so a port in use is one clear line before anything else."""
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise AddressError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def build_web_app(routes: Sequence[BaseRoute]) -> Starlette:
    """Build the ASGI application from routes (the webhook, the operator's, a dashboard's)."""
    return Starlette(routes=list(routes))


# -- the webhook -------------------------------------------------------------------------------


class BadUpdate(Exception):
    """A request that is not an update Telegram could have sent."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def webhook_route(
    path: str,
    secret: str,
    store: Callable[[Sequence[Update]], Awaitable[object]],
    bot: Any,
    *,
    max_bytes: int = MAX_UPDATE_BYTES,
) -> Route:
    """Return the POST route that checks, stores, and only then acknowledges an update."""
    expected = secret.encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return _refuse(401, "missing secret token")
        # Constant time: how much of a guess matched must not show in the answer's timing.
        if not hmac.compare_digest(given.encode(), expected):
            return _refuse(403, "wrong secret token")
        try:
            update = _parse(_as_update(await _body(request, max_bytes)), bot)
        except BadUpdate as exc:
            return _refuse(exc.status, exc.reason)
        except ClientDisconnect:
            return _refuse(400, "the client went away")
        # Stored (in a worker thread) before the answer: a 200 means it is in the database.
        await store([update])
        return Response(status_code=200)

    return Route(path, endpoint, methods=["POST"], name="webhook")


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadUpdate(413, "too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadUpdate(413, "too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _as_update(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadUpdate(400, "not JSON") from None
    if not isinstance(data, dict):
        raise BadUpdate(400, "not an update")
    update_id = data.get("update_id")
    kinds = [k for k in Update.ALL_TYPES if k in data]
    if not isinstance(update_id, int) or isinstance(update_id, bool) or len(kinds) != 1:
        raise BadUpdate(400, "not an update")
    if not isinstance(data[kinds[0]], dict):
        raise BadUpdate(400, "not an update")
    return data


def _parse(data: dict[str, Any], bot: Any) -> Update:
    try:
        return Update.de_json(data, bot)
    except Exception:
        # Shaped like an update, but its content is not one (fields missing or mistyped).
        raise BadUpdate(400, "not an update") from None


def _refuse(status: int, reason: str) -> Response:
    log.warning("webhook request refused (%d): %s", status, reason)
    return PlainTextResponse(reason, status_code=status)


# -- the operator's view -----------------------------------------------------------------------


def operator_routes(db: Database, metrics: Metrics) -> list[Route]:
    """Return /healthz (the process is up), /readyz (it can store updates) and /metrics."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # Only the database: a load balancer must not drop an instance because Telegram is slow.
        try:
            await asyncio.wait_for(off_loop(partial(ping, db)), READY_TIMEOUT)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        try:
            await asyncio.wait_for(
                off_loop(lambda: metrics.read_database(db, utcnow())),
                READY_TIMEOUT,
            )
        except Exception:
            # The process's own counters are still worth a scrape; database_up says the rest.
            metrics.database_up.set(0)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]


# -- serving -----------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: `kpibot run` owns SIGTERM and stops the server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the bot."""
        yield


@dataclass
class WebServer:
    """The ASGI app served by uvicorn on the running event loop, on an already bound socket."""

    app: Starlette
    sock: socket.socket
    # In-flight requests get this long after a stop (a container allows 10 s in all).
    grace: int = 2

    def __post_init__(self) -> None:
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=self.grace,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """Return where it listens, HOST:PORT."""
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    async def start(self) -> None:
        """Start serving; return once the server accepts connections."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to the grace), close."""
        if self._task is None:
            self.sock.close()
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task
        self.sock.close()
