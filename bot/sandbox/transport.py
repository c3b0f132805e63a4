"""The in-process transport: python-telegram-bot's ``BaseRequest`` answered by the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from http import HTTPStatus
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.sandbox import api
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.types import ConnectFault
from bot.sandbox.wire import Answer, Upload, route


def _uploads(request_data: RequestData | None) -> dict[str, Upload]:
    """Return the files of a request as uploads."""
    if request_data is None or not request_data.contains_files:
        return {}
    uploads: dict[str, Upload] = {}
    for name, spec in request_data.multipart_data.items():
        filename, content, mime_type = spec[0], spec[1], spec[2] if len(spec) > 2 else None
        if not isinstance(content, bytes):
            content = _read_all(content)
        uploads[name] = Upload(filename or name, content, mime_type or "application/octet-stream")
    return uploads


def _read_all(handle: IO[bytes]) -> bytes:
    """Read a file handle to the end."""
    data = handle.read()
    return data if isinstance(data, bytes) else bytes(data)


class SandboxRequest(BaseRequest):
    """In-process transport: answers every Bot API call from the Sandbox."""

    def __init__(
        self, sandbox: Sandbox, *, latency: float = 0.0, read_timeout: float | None = 5.0
    ) -> None:
        self.sandbox = sandbox
        self.latency = latency
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout, as python-telegram-bot requires."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open nothing: the sandbox needs no connection."""

    async def shutdown(self) -> None:
        """Close nothing: the sandbox needs no connection."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one request from the sandbox and return (HTTP status, JSON bytes)."""
        # Yield like a network round trip would, so concurrent tasks interleave realistically.
        await asyncio.sleep(self.latency)
        world = self.sandbox.world
        target = route(urlsplit(url).path)
        if target is None:
            return HTTPStatus.NOT_FOUND, b'{"ok":false,"error_code":404,"description":"Not Found"}'
        kind, token, name = target
        if kind == "file":
            return self._result(api.file_answer(world, token, name))
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        if name.lower() == "getupdates":
            gen = api.begin_poll(world, token, params)
            seconds = api.poll_timeout(params)
            if seconds > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(seconds):
                        await world.wait_async(
                            world.poll_waiters, lambda: api.poll_ready(world, gen)
                        )
            answer = api.finish_poll(world, token, gen, params, "inproc")
        else:
            connect = api.connect_fault(world, name, params)
            if connect is not None:
                _raise_connect_fault(connect)
            answer = api.handle(world, token, name, params, _uploads(request_data), "inproc")
        return self._result(answer)

    @staticmethod
    def _result(answer: Answer) -> tuple[int, bytes]:
        """Return (status, body), or raise what httpx would for a dropped answer."""
        if answer.dropped:
            # What HTTPXRequest raises when the answer does not come back in time.
            raise TimedOut("Timed out (the sandbox dropped the answer)") from httpx.ReadTimeout(
                "the sandbox dropped the answer"
            )
        return answer.status, answer.payload


def _raise_connect_fault(kind: ConnectFault) -> None:
    """Raise what python-telegram-bot's HTTPXRequest raises when a request never left."""
    if kind == "connect_timeout":
        raise TimedOut("Timed out") from httpx.ConnectTimeout("connect timed out (sandbox)")
    if kind == "pool_timeout":
        raise TimedOut(
            "Pool timeout: All connections in the connection pool are occupied. "
            "Request was *not* sent to Telegram."
        ) from httpx.PoolTimeout("no connection free in the pool (sandbox)")
    raise NetworkError("httpx.ConnectError: connection refused (sandbox)") from httpx.ConnectError(
        "connection refused (sandbox)"
    )


# ---------------------------------------------------------------------------------------------
# HTTP transport


async def deliver(
    app: Application[Any, Any, Any, Any, Any, Any], update: Mapping[str, Any]
) -> None:
    """Hand one update dict to the application, as the updater would."""
    await app.process_update(Update.de_json(dict(update), app.bot))
