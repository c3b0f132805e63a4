"""The error handler: log the failure, answer politely, keep the bot running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.context import KpiContext, lang_of
from handlers.i18n import t

log = logging.getLogger(__name__)


async def on_error(update: object, context: KpiContext) -> None:
    """Log an unexpected exception and tell the user something went wrong."""
    log.error("update failed: %r", context.error, exc_info=context.error)
    if not isinstance(update, Update):
        return
    msg = update.effective_message
    if msg is None:
        return
    try:
        await msg.reply_text(t(lang_of(None, update.effective_user), "error.generic"))
    except TelegramError:
        log.warning("could not send the error reply", exc_info=True)
