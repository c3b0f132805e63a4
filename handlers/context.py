"""Typed shared state (`bot_data`), the context type, and the per-update unit-of-work helper."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from telegram import Chat, Message, Update, User
from telegram.error import Forbidden
from telegram.ext import Application, CallbackContext, ExtBot

from handlers.i18n import Lang, normalize_lang, t
from handlers.views.access import refusal_view
from handlers.views.onboarding import open_private_button
from kpi import outbox
from kpi.access import ChatInfo, Refusal
from kpi.db import DUPLICATE, Database, WriteBatch
from kpi.teams import PersonInfo, TeamDefaults

T = TypeVar("T")


# How a send queues for its chat's budget (the rate limiter reads it; lower goes first). A
# group's 20 messages a minute are shared: scheduled posts and confirmations (URGENT, the
# default) go ahead of answers to report commands (DEFERRABLE) waiting for the same group.
SEND_URGENT = 0
SEND_DEFERRABLE = 1
send_priority: ContextVar[int] = ContextVar("send_priority", default=SEND_URGENT)


@contextlib.contextmanager
def deferrable_sends() -> Iterator[None]:
    """Let the sends made inside wait behind scheduled posts and confirmations."""
    token = send_priority.set(SEND_DEFERRABLE)
    try:
        yield
    finally:
        send_priority.reset(token)


def utc_now() -> dt.datetime:
    """Return the current time in UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


class BotData:
    """What every handler shares; filled in once by `bot.app.build_application`."""

    def __init__(self) -> None:
        self._db: Database | None = None
        self.admins: frozenset[int] = frozenset()
        self.defaults: TeamDefaults = TeamDefaults()
        self.clock: Callable[[], dt.datetime] = utc_now
        self.instance: str = "kpibot"
        # Charts and files render here, off the event loop and off the database thread.
        self.render_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kpibot-render")

    def configure(
        self,
        *,
        db: Database,
        admins: frozenset[int],
        defaults: TeamDefaults,
        clock: Callable[[], dt.datetime] | None = None,
        instance: str = "kpibot",
    ) -> None:
        """Set the shared resources."""
        self._db = db
        # Sent outbox rows are settled together (one transaction for the sends that end at once).
        self.settle_sent: WriteBatch[outbox.Sent] = WriteBatch(db, outbox.settle_sent)
        self.admins = admins
        self.defaults = defaults
        self.clock = clock or utc_now
        self.instance = instance

    @property
    def db(self) -> Database:
        """Return the database (configured by build_application)."""
        if self._db is None:
            raise RuntimeError("bot_data is not configured; build the app with build_application")
        return self._db

    def now(self) -> dt.datetime:
        """Return the current time from the injected clock."""
        return self.clock()

    async def render(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a chart or file rendering in the render threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.render_pool, functools.partial(fn, *args))

    def close(self) -> None:
        """Release threads and connections."""
        self.render_pool.shutdown(wait=True)
        if self._db is not None:
            self._db.dispose()


class KpiContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context handlers receive: `context.bot_data` is a typed `BotData`."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)


def update_key(update: Update) -> str:
    """Return the key under which an update's effect is recorded exactly once.

    Messages are keyed by chat and message id (Telegram restarts update_id after a week without
    updates); an edit by its edit date, so each edit is read once; a button press by its id.
    """
    if update.callback_query is not None:
        return f"cb:{update.callback_query.id}"
    if update.edited_message is not None:
        # Two edits within one second share an edit_date: the update id tells them apart,
        # and the same update delivered again keeps both.
        m = update.edited_message
        stamp = int(m.edit_date.timestamp()) if m.edit_date else 0
        return f"ed:{m.chat_id}:{m.message_id}:{stamp}:{update.update_id}"
    if update.message is not None:
        return f"m:{update.message.chat_id}:{update.message.message_id}"
    if update.my_chat_member is not None:
        cm = update.my_chat_member
        return f"cm:{cm.chat.id}:{int(cm.date.timestamp())}:{cm.new_chat_member.status}"
    return f"u:{update.update_id}"


def person_of(user: User) -> PersonInfo:
    """Describe a Telegram user without Telegram types."""
    return PersonInfo(
        telegram_id=user.id,
        first_name=user.first_name or "",
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def chat_of(chat: Chat) -> ChatInfo:
    """Describe a Telegram chat without Telegram types."""
    return ChatInfo(chat.id, chat.type, chat.title, bool(getattr(chat, "is_forum", False)))


def replied_user_id(update: Update) -> int | None:
    """Return the Telegram id of the person whose message this one replies to (not a bot)."""
    msg = update.effective_message
    if msg is None or msg.reply_to_message is None or msg.reply_to_message.from_user is None:
        return None
    replied = msg.reply_to_message.from_user
    return None if replied.is_bot else replied.id


def lang_of(pref: str | None, user: User | None = None) -> Lang:
    """Pick the reader's language: their choice, else Telegram's language_code, else vi."""
    if pref:
        return normalize_lang(pref)
    return normalize_lang(user.language_code if user else None)


async def unit_of_work(
    update: Update, context: KpiContext, fn: Callable[[Session], T]
) -> T | None:
    """Run `fn(session)` once for this update; None when the update was handled before."""
    result = await context.bot_data.db.run(fn, key=update_key(update))
    if result is DUPLICATE:
        return None
    return result  # type: ignore[return-value]


async def for_caller(
    update: Update, context: KpiContext, fn: Callable[..., T], /, **kwargs: Any
) -> T | None:
    """Run a kpi use case for the person and chat of this update, once (see unit_of_work).

    The use case gets `person`, `chat`, `admins` and `now` besides the given arguments.
    """
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    bd = context.bot_data
    call = functools.partial(
        fn, person=person_of(user), chat=chat_of(chat), admins=bd.admins, now=bd.now(), **kwargs
    )
    return await unit_of_work(update, context, call)


async def send_privately(
    update: Update,
    context: KpiContext,
    lang: str,
    what: str,
    send: Callable[[int], Awaitable[object]],
) -> None:
    """Send the caller what only they should read (`send(chat_id)` sends it).

    In the private chat it is sent there. Asked in a group, it goes to the caller's private
    chat and the group is told so (`<what>.sent_private`); when the bot may not write to them
    yet, the group answer offers the private chat instead (`<what>.open_private`).
    """
    msg, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and chat is not None
    if chat.type == "private":
        await send(chat.id)
        return
    try:
        await send(user.id)
    except Forbidden:  # they never opened a private chat with the bot, or blocked it
        button = open_private_button(lang, context.bot.username)
        await msg.reply_text(t(lang, f"{what}.open_private"), reply_markup=button)
        return
    await msg.reply_text(t(lang, f"{what}.sent_private"))


async def refused(update: Update, res: Refusal | None) -> None:
    """End a handler whose use case said no (answered with the reason) or did not run.

    None is an update handled before: it needs no answer. Handlers write
    `if res is None or isinstance(res, Refusal): return await refused(update, res)`.
    """
    if res is not None:
        await refuse(update, res)


async def refuse(update: Update, refusal: Refusal) -> None:
    """Explain why the caller cannot do this here (no team, not a member, which team, leaders)."""
    msg = update.effective_message
    assert msg is not None
    await refuse_in(msg, lang_of(refusal.lang_pref, update.effective_user), refusal)


async def refuse_in(msg: Message, lang: str, refusal: Refusal) -> None:
    """Answer a message with the reason the caller cannot act (see `refuse`)."""
    text, markup = refusal_view(lang, refusal, in_group=msg.chat.type != "private")
    await msg.reply_text(text, reply_markup=markup)
