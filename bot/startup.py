"""Start-up that survives an unreachable Telegram or database, and a stop at any point of it.

`kpibot run` reaches the database (then migrates it) and Telegram (`getMe`, `deleteWebhook` or
in webhook mode `setWebhook`, `setMyCommands`) through `retry`: a network fault, a 5xx answer or
a flood wait is logged in one line and tried again with backoff, for as long as it takes, and
SIGTERM ends the wait at once. A token Telegram rejects is final: a `ConfigError` that the
command line prints in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from telegram.error import InvalidToken, NetworkError, RetryAfter

from bot.config import ConfigError
from bot.polling import retry_seconds, sleep_or_stop
from kpi import migrate
from kpi.db import Database, is_sqlite

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 30.0


async def retry(what: str, attempt: Callable[[], Awaitable[object]], stop: asyncio.Event) -> bool:
    """Call `attempt` until it succeeds (True), or until `stop` is set (False).

    Telegram faults (network, 5xx, flood control) and an unreachable database are retried with
    backoff; anything else, and a rejected token, is raised.
    """
    delay = FIRST_DELAY
    while not stop.is_set():
        try:
            return await _unless_stopped(attempt(), stop)
        except InvalidToken as exc:
            cause = exc.__cause__ or exc
            raise ConfigError(
                f"Telegram rejected the bot token ({cause}): check TELEGRAM_BOT_TOKEN "
                "(and TELEGRAM_BASE_URL, if it is set)"
            ) from None
        except RetryAfter as exc:
            wait = retry_seconds(exc.retry_after)
            log.warning("Telegram asks to wait before %s; retrying in %.0f s", what, wait)
        except NetworkError as exc:
            wait = delay
            log.warning("Telegram is unavailable (%s: %s); retrying in %.0f s", what, exc, wait)
        except OperationalError as exc:
            wait = delay
            reason = str(exc.orig or exc).strip().splitlines()[0]
            log.warning("the database is not reachable (%s); retrying in %.0f s", reason, wait)
        if await sleep_or_stop(stop, wait):
            break
        delay = min(delay * 2, MAX_DELAY)
    return False


async def open_database(url: str, stop: asyncio.Event) -> Database | None:
    """Reach the database (retrying while it is unreachable) and migrate it; None if stopped."""
    db = Database(url)
    # A server may be down or still starting; a SQLite file that cannot be opened will not heal.
    reachable = partial(off_loop, partial(ping, db))
    if not is_sqlite(db.engine) and not await retry("connecting to the database", reachable, stop):
        db.dispose()
        return None
    await asyncio.to_thread(migrate.upgrade, db.engine)
    return db


async def connect_telegram(app: Any, stop: asyncio.Event, *, polling: bool = True) -> bool:
    """Check the token (getMe), drop any webhook when polling, publish the menus; False if
    stopped first. In webhook mode the webhook is left alone (`set_webhook` registers it)."""
    from handlers.menu import publish_commands

    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("getMe", app.initialize),
        ("setMyCommands", partial(publish_commands, app.bot)),
    ]
    if polling:
        steps.insert(1, ("deleteWebhook", app.bot.delete_webhook))
    for what, step in steps:
        if not await retry(what, step, stop):
            return False
    return True


async def set_webhook(
    app: Any, stop: asyncio.Event, *, url: str, secret: str, max_connections: int
) -> bool:
    """Register the webhook with its secret, every update type and the connection cap (retried
    like the other start-up calls); False if stopped first."""
    from telegram import Update

    register = partial(
        app.bot.set_webhook,
        url=url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
        max_connections=max_connections,
    )
    return await retry("setWebhook", register, stop)


async def _unless_stopped(work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first (then cancel it); return whether it finished."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if task.cancelled():
        return False
    task.result()
    return True


def ping(db: Database) -> None:
    """Run SELECT 1 on the database (blocking)."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def off_loop(fn: Callable[[], None]) -> None:
    """Run a blocking call in a daemon thread: a connection attempt that hangs holds up no exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    def target() -> None:
        error: BaseException | None = None
        try:
            fn()
        except BaseException as exc:
            error = exc
        # The loop is gone once the bot has stopped: nobody waits for the answer any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name="kpibot-db-connect", daemon=True).start()
    await done
