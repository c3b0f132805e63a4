"""The composition root: build the python-telegram-bot Application from settings."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable
from typing import Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot.config import Settings
from bot.ratelimit import Clock, rate_limiter
from handlers.context import BotData, KpiContext
from kpi.db import Database, is_sqlite

log = logging.getLogger(__name__)

KpiApp = Application[Any, KpiContext, Any, Any, BotData, Any]


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    db: Database | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    rate_limit: bool = True,
    token: str | None = None,
    send_clock: Clock | None = None,
) -> KpiApp:
    """Build the bot: transport, rate limiter, HTML defaults, typed bot_data, handlers.

    Tests and the demo pass the sandbox's `request`; the real bot talks to `base_url`. The rate
    limiter paces sends on `send_clock` (the real clock unless a test passes a fake one).
    """
    builder = (
        ApplicationBuilder()
        .token(token or settings.require_token())
        .base_url(settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=KpiContext, bot_data=BotData))
        # Our poller stores each update in the inbox before confirming it (bot.polling).
        .updater(None)
        .concurrent_updates(True)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    database = db or Database(settings.database_url)
    if rate_limit:
        # Several instances may share a PostgreSQL database: so does their send budget.
        shared = None if is_sqlite(database.engine) or send_clock is not None else database
        limiter = rate_limiter(settings.telegram, send_clock, shared=shared)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    app: KpiApp = builder.build()
    app.bot_data.configure(
        db=database,
        admins=settings.admins,
        defaults=settings.defaults,
        clock=clock,
        instance=settings.instance,
    )
    handlers.register(app)
    return app


def freeze_start_up_heap() -> None:
    """Take what start-up allocated (modules, the application, its handlers) out of the garbage
    collector's scans, once the bot is running.

    A full collection walks every tracked object: with python-telegram-bot, SQLAlchemy and the
    catalogues loaded that is well over 100,000 objects, a pause of tens of milliseconds on the
    event loop and in the database threads every few hundred updates. Frozen, they are never
    scanned again (they live as long as the process anyway). No collection first: it would cost
    a full scan (over 100 ms) before the first poll, to free a little garbage of the start-up.
    """
    gc.freeze()
