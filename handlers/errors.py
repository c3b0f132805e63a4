"""The error handler: log the failure, answer politely, keep the bot running.

"Please try again" is only for work that was not stored: when the update's unit of work had
committed (its key is recorded), doing it again could store it twice, so the answer says it was
handled and points to /history instead.
"""

from __future__ import annotations

import logging
from functools import partial

from telegram import Update
from telegram.error import TelegramError

from handlers.context import KpiContext, lang_of, update_key
from handlers.i18n import t
from kpi.db import was_processed

log = logging.getLogger(__name__)


async def on_error(update: object, context: KpiContext) -> None:
    """Log an unexpected exception and tell the user something went wrong."""
    log.error("update failed: %r", context.error, exc_info=context.error)
    if not isinstance(update, Update):
        return
    msg = update.effective_message
    if msg is None:
        return
    lang = lang_of(None, update.effective_user)
    key = "outbox.handled" if await _committed(update, context) else "error.generic"
    try:
        await msg.reply_text(t(lang, key))
    except TelegramError:
        log.warning("could not send the error reply", exc_info=True)


async def _committed(update: Update, context: KpiContext) -> bool:
    try:
        return await context.bot_data.db.work(partial(was_processed, key=update_key(update)))
    except Exception:
        # The database cannot say: most likely it is what failed, so nothing was stored.
        log.warning("could not tell whether the update was stored", exc_info=True)
        return False
