"""The Bot API as the sandbox answers it: the method table, one call answered and recorded,
and getUpdates long polling, which the transports wait on between ``begin_poll`` and
``finish_poll``."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Final, Literal

from bot.sandbox.callbacks import METHODS as CALLBACK_METHODS
from bot.sandbox.chats import METHODS as CHAT_METHODS
from bot.sandbox.commands import METHODS as COMMAND_METHODS
from bot.sandbox.files import METHODS as FILE_METHODS
from bot.sandbox.messages import METHODS as MESSAGE_METHODS
from bot.sandbox.state import Fault, Files, Method, World
from bot.sandbox.types import JSON, Call, ConnectFault
from bot.sandbox.updates import METHODS as UPDATE_METHODS
from bot.sandbox.wire import Answer, ApiError, coerce

_log = logging.getLogger("bot.sandbox")

# Every Bot API method the sandbox knows, by family; any other answers 404 as Telegram does.
METHODS: Final[dict[str, Method]] = {
    **UPDATE_METHODS,
    **MESSAGE_METHODS,
    **FILE_METHODS,
    **CALLBACK_METHODS,
    **COMMAND_METHODS,
    **CHAT_METHODS,
}
# Telegram matches method names case-insensitively.
_CANONICAL: Final = {name.lower(): name for name in METHODS}


def handle(
    w: World,
    token: str,
    method: str,
    raw: Mapping[str, Any],
    files: Files,
    transport: Literal["inproc", "http"],
) -> Answer:
    """Answer one Bot API call as Telegram would, and record it."""
    with w.lock:
        name = _CANONICAL.get(method.lower(), method)
        params: JSON = dict(raw)
        dropped = False
        fault: Fault | None = None
        try:
            if token != w.token:
                raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            params = coerce(raw)
            fault = w.take_fault(name, params, connect=False)
            if fault is not None and not fault.drop:
                raise fault.error()
            if fault is not None and not fault.applied:
                answer = Answer(0, {"ok": False, "description": "Timed out"}, dropped=True)
            else:
                handler = METHODS.get(name)
                if handler is None:
                    _log.warning("the sandbox does not implement Bot API method %s", name)
                    raise ApiError(HTTPStatus.NOT_FOUND, "Not Found: method not found")
                result = handler(w, params, files)
                answer = Answer(HTTPStatus.OK, {"ok": True, "result": result})
            dropped = fault is not None
        except ApiError as exc:
            answer = Answer(exc.code, exc.body())
        w.record(
            Call(
                method=name,
                params=params,
                time=w.clock(),
                status=answer.status,
                response=answer.body or {},
                files={k: (v.filename, v.data) for k, v in files.items()},
                transport=transport,
                dropped=dropped,
            )
        )
        stall = fault.stall if fault is not None else 0.0
        return Answer(answer.status, answer.body, dropped=dropped, stall=stall)


def connect_fault(w: World, method: str, raw: Mapping[str, Any]) -> ConnectFault | None:
    """Take a pending connect fault for this call (the in-process transport asks first)."""
    with w.lock:
        name = _CANONICAL.get(method.lower(), method)
        try:
            params = coerce(raw)
        except ApiError:
            return None
        fault = w.take_fault(name, params, connect=True)
        return fault.connect if fault is not None else None


def file_answer(w: World, token: str, path: str) -> Answer:
    """Answer a file download as Telegram's file server does."""
    with w.lock:
        stored = w.file_paths.get(path)
        if token != w.token:
            return Answer(HTTPStatus.UNAUTHORIZED, ApiError(401, "Unauthorized").body())
        if stored is None or stored.data is None:
            return Answer(HTTPStatus.NOT_FOUND, ApiError(404, "Not Found").body())
        return Answer(HTTPStatus.OK, raw=stored.data)


def begin_poll(w: World, token: str, raw: Mapping[str, Any]) -> int:
    """Start a getUpdates call: confirm what it confirms, end any older poll; return its number."""
    with w.lock:
        w.poll_gen += 1
        if token == w.token and w.webhook is None:
            with contextlib.suppress(ApiError):
                w.confirm(coerce(raw))
        w.wake(w.poll_waiters)
        w.cond.notify_all()
        return w.poll_gen


def poll_ready(w: World, gen: int) -> bool:
    """Return whether poll ``gen`` may answer now (superseded, a webhook, a fault or updates)."""
    if gen != w.poll_gen or w.webhook is not None:
        return True
    if any(f.matches("getUpdates", {}) for f in w.faults):
        return True
    return any(w.allowed(q.kind) for q in w.queue)


def finish_poll(
    w: World, token: str, gen: int, raw: Mapping[str, Any], transport: Literal["inproc", "http"]
) -> Answer:
    """Answer getUpdates, or 409 if a newer poll took over meanwhile."""
    with w.lock:
        if gen != w.poll_gen:
            error = ApiError(
                HTTPStatus.CONFLICT,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
            w.record(
                Call(
                    "getUpdates",
                    dict(raw),
                    w.clock(),
                    error.code,
                    error.body(),
                    transport=transport,
                )
            )
            return Answer(error.code, error.body())
        return handle(w, token, "getUpdates", raw, {}, transport)


def wait_poll_sync(w: World, gen: int, timeout: float, stop: Callable[[], bool]) -> None:
    """Block this thread until poll ``gen`` may answer, the timeout passes or ``stop()``."""
    deadline = time.monotonic() + timeout
    with w.cond:
        while not (poll_ready(w, gen) or stop()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            w.cond.wait(remaining)


def poll_timeout(params: Mapping[str, Any]) -> float:
    """Return a getUpdates call's long-poll timeout in seconds (0 for a bad value)."""
    value = params.get("timeout", 0)
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0
