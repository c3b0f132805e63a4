"""Sending what follows a committed effect, and telling what a failed send may have done.

`classify` is the one reading of a failed send, used by scheduled posts (`digests.deliver_once`)
and by the outbox sender here. It asks what may have reached Telegram: python-telegram-bot
raises `TimedOut` or `NetworkError` for very different faults, and only the httpx error it
chains tells them apart. A connect or pool timeout, a refused connection, or an error answer
from Telegram means nothing was delivered: try again. A read or write timeout, a dropped
connection or any other fault after the request was written may have delivered it: resolve
towards not sending twice, and log it.

The outbox sender (`deliver`, `send_queued`, `sweep_outbox`) sends rows of `kpi.outbox` and
settles them (a row with a photo in its payload is sent as that photo, its text the caption);
the handler that committed an effect sends its rows at once, the minute sweep sends what is
left (after a definite failure or a crash). `queue_requests` and `queue_flags`
write what a team's leaders are sent privately after a deal is logged (an approval request, a
flag with its void button), in the unit of work that logged it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Literal

import httpx
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.error import (
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from handlers.context import BotData, lang_of
from handlers.i18n import Html, fmt_money_short, t
from handlers.views import absences as absences_view
from handlers.views import invites as invites_view
from handlers.views import linking as linking_view
from handlers.views import team as team_views
from handlers.views.approvals import flag_view, request_view
from kpi import outbox
from kpi.exports.usecases import LINK_PROPOSAL
from kpi.models import OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENT, OUTBOX_UNCERTAIN
from kpi.names import Names
from kpi.posts import chats as chat_state
from kpi.posts.content import Recipient
from kpi.usecases import team as team_usecases
from kpi.usecases.absences import LEAVE_DECIDED, LEAVE_REQUEST
from kpi.usecases.approvals import FlagNote, PendingDeal
from kpi.usecases.invites import JOIN_ANSWER, JOIN_REQUEST

log = logging.getLogger(__name__)

Fate = Literal["retry", "uncertain", "unreachable", "migrated"]

# httpx errors raised before the request reached the server: nothing was sent.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ConnectError,
    httpx.UnsupportedProtocol,
)
# A handler sending its own outbox row tries again at once this often (then the sweep does).
INLINE_RETRY_DELAYS = (0.25, 1.0)


def _chain(exc: BaseException) -> list[BaseException]:
    """Return the exception and what it was raised from, cause first, without loops."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(exc: BaseException) -> Fate:
    """Tell what a failed send may have done: `retry` only when nothing can have arrived."""
    if isinstance(exc, Forbidden):
        return "unreachable"
    if isinstance(exc, ChatMigrated):
        return "migrated"
    if not isinstance(exc, TelegramError):
        # Our own code or the transport failed somewhere: the request may have been written.
        return "uncertain"
    chain = _chain(exc)
    transport = next((e for e in chain if isinstance(e, httpx.HTTPError)), None)
    if transport is not None:
        return "retry" if isinstance(transport, NOT_SENT) else "uncertain"
    if any(not isinstance(e, TelegramError) for e in chain):
        # "Unknown error in HTTP implementation": no telling how far the request got.
        return "uncertain"
    if isinstance(exc, TimedOut):
        # A timeout with no cause to place it: it may have arrived.
        return "uncertain"
    # Telegram answered with an error (400, 429 after the rate limiter's retries, 5xx).
    return "retry"


def _transient(exc: BaseException) -> bool:
    """Tell whether trying again at once may help (a network or server fault, not a refusal)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, RetryAfter)


# --- rendering rows queued with a payload ------------------------------------------------------


def _celebration(payload: Mapping[str, Any]) -> Html:
    lang = lang_of(str(payload.get("lang") or ""))
    amount = payload.get("amount")
    count = int(payload.get("count") or 1)
    key = (
        ("digest.celebrate" if count == 1 else "digest.celebrate_many")
        if amount
        else "digest.celebrate_no_amount"
    )
    return t(
        lang,
        key,
        name=str(payload.get("name") or ""),
        amount=fmt_money_short(int(amount or 0), lang),
        count=count,
    )


def _link_proposal(payload: Mapping[str, Any]) -> Html:
    return linking_view.proposal_text(lang_of(str(payload.get("lang") or "")), payload)


def _link_buttons(payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    return linking_view.proposal_buttons(lang_of(str(payload.get("lang") or "")), payload)


def _join_request(payload: Mapping[str, Any]) -> Html:
    return invites_view.request_text(lang_of(str(payload.get("lang") or "")), payload)


def _join_buttons(payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    return invites_view.request_buttons(lang_of(str(payload.get("lang") or "")), payload)


def _join_answer(payload: Mapping[str, Any]) -> Html:
    return invites_view.told_text(lang_of(str(payload.get("lang") or "")), payload)


def _payload_lang(payload: Mapping[str, Any]) -> str:
    return lang_of(str(payload.get("lang") or ""))


RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    outbox.CELEBRATION: _celebration,
    LINK_PROPOSAL: _link_proposal,
    team_usecases.LEADERLESS: team_views.leaderless_text,
    team_usecases.BOT_RIGHTS: team_views.bot_rights_text,
    JOIN_REQUEST: _join_request,
    JOIN_ANSWER: _join_answer,
    LEAVE_REQUEST: lambda p: absences_view.request_text(_payload_lang(p), p),
    LEAVE_DECIDED: lambda p: absences_view.outcome_text(_payload_lang(p), p),
}
# Rows whose buttons are rendered in the reader's language too.
KEYBOARDS: dict[str, Callable[[Mapping[str, Any]], InlineKeyboardMarkup]] = {
    LINK_PROPOSAL: _link_buttons,
    JOIN_REQUEST: _join_buttons,
    LEAVE_REQUEST: lambda p: absences_view.request_buttons(_payload_lang(p), p),
}


def _text_of(message: outbox.Message) -> str:
    if message.text is not None:
        return message.text
    return RENDERERS[message.kind](message.payload or {})


def _markup_of(message: outbox.Message, bot: Bot) -> InlineKeyboardMarkup | None:
    if message.buttons:
        return InlineKeyboardMarkup.de_json(message.buttons, bot)
    keyboard = KEYBOARDS.get(message.kind)
    return keyboard(message.payload or {}) if keyboard is not None else None


# --- sending -------------------------------------------------------------------------------


async def deliver(
    bot: Bot, bd: BotData, message: outbox.Message, *, now: dt.datetime, inline: bool = True
) -> str:
    """Send one claimed outbox row and settle it; return the status it was settled with.

    With `inline` (the handler that committed the effect) a network or server fault is tried
    again at once a few times before the row is left to the sweep. Never raises a send error.
    """
    delays = INLINE_RETRY_DELAYS if inline else ()
    chat_id = message.chat_id
    for attempt in range(len(delays) + 1):
        reply = (
            ReplyParameters(message.reply_to, allow_sending_without_reply=True)
            if message.reply_to is not None
            else None
        )
        photo = (message.payload or {}).get("photo")
        try:
            if photo:
                # A photo someone sent before (its file_id), the text as its caption.
                sent = await bot.send_photo(
                    chat_id,
                    str(photo),
                    caption=_text_of(message),
                    message_thread_id=message.thread_id,
                    reply_parameters=reply,
                    reply_markup=_markup_of(message, bot),
                )
            else:
                sent = await bot.send_message(
                    chat_id,
                    _text_of(message),
                    message_thread_id=message.thread_id,
                    reply_parameters=reply,
                    reply_markup=_markup_of(message, bot),
                )
        except Exception as exc:
            fate = classify(exc)
            if fate == "retry" and _transient(exc) and attempt < len(delays):
                log.info("outbox %s to %s failed (%s); trying again", message.kind, chat_id, exc)
                await asyncio.sleep(delays[attempt])
                continue
            return await _settle_failure(bd, message, exc, fate, now)
        shows = (message.payload or {}).get("shows") or ()
        await bd.settle_sent.add(
            outbox.Sent(message.id, sent.message_id, now, tuple(int(i) for i in shows))
        )
        return OUTBOX_SENT
    raise AssertionError("unreachable")  # pragma: no cover


async def _settle_failure(
    bd: BotData, message: outbox.Message, exc: BaseException, fate: Fate, now: dt.datetime
) -> str:
    error = f"{type(exc).__name__}: {exc}"
    status, chat_id = OUTBOX_PENDING, None
    if fate == "uncertain":
        # It may have arrived: resolved towards not sending twice.
        status = OUTBOX_UNCERTAIN
    elif fate == "unreachable":
        status = OUTBOX_FAILED
        await bd.db.work(
            partial(chat_state.unreachable, chat_id=message.chat_id, reason=str(exc), now=now)
        )
    elif fate == "migrated":
        assert isinstance(exc, ChatMigrated)
        chat_id = exc.new_chat_id
        await bd.db.work(
            partial(chat_state.migrated, old_chat_id=message.chat_id, new_chat_id=chat_id)
        )
    if not isinstance(exc, TelegramError):
        log.error("outbox %s to %s failed", message.kind, message.chat_id, exc_info=exc)
    return await bd.db.work(
        partial(
            outbox.settle,
            message_id=message.id,
            status=status,
            now=now,
            error=error,
            chat_id=chat_id,
        )
    )


async def send_queued(bot: Bot, bd: BotData, message_id: int, *, now: dt.datetime) -> str | None:
    """Claim a pending row written by a committed unit of work, and send it at once."""
    message = await bd.db.work(
        partial(outbox.claim, message_id=message_id, now=now, instance=bd.instance)
    )
    if message is None:
        return None  # another sender has it
    return await deliver(bot, bd, message, now=now)


async def sweep_outbox(
    bot: Bot, bd: BotData, now: dt.datetime, *, started: dt.datetime | None = None
) -> int:
    """Send the rows left pending (a definite failure, a crash before sending); return how many
    were sent. Rows whose sender died mid-send become uncertain first."""
    await bd.db.work(partial(outbox.expire_stale, now=now, instance=bd.instance, started=started))
    sent = 0
    for message_id in await bd.db.work(partial(outbox.due, now=now)):
        message = await bd.db.work(
            partial(outbox.claim, message_id=message_id, now=now, instance=bd.instance)
        )
        if message is None:
            continue
        if await deliver(bot, bd, message, now=now, inline=False) == OUTBOX_SENT:
            sent += 1
    return sent


async def send_all_queued(bot: Bot, bd: BotData, message_ids: Iterable[int]) -> None:
    """Send at once the rows a committed unit of work queued for others (the leaders' questions
    about a join request, the answer to the person who asked); the sweep retries a failure."""
    for message_id in message_ids:
        await send_queued(bot, bd, message_id, now=bd.now())


# --- what goes to a team's leaders privately after an effect ----------------------------------


def queue_requests(
    session: Session,
    deals: Sequence[PendingDeal],
    leaders: Sequence[Recipient],
    *,
    team_id: int,
    key: str,
    now: dt.datetime,
) -> list[outbox.Message]:
    """Queue a request per waiting deal to every leader, privately (with the photo, if any)."""
    queued = []
    for d in deals:
        for leader in leaders:
            text, markup = request_view(lang_of(leader.lang_pref), d)
            m = outbox.enqueue(
                session,
                key=f"approval:{d.entry_id}:{leader.telegram_id}:{key}",
                kind="approval",
                chat_id=leader.telegram_id,
                team_id=team_id,
                ref_id=d.entry_id,
                text=text,
                buttons=markup.to_dict(),
                payload={"photo": d.photo} if d.photo else None,
                now=now,
            )
            if m is not None:
                queued.append(m)
    return queued


def queue_flags(
    session: Session,
    notes: Sequence[FlagNote],
    leaders: Sequence[Recipient],
    names: dict[str, Names],
    *,
    team_id: int,
    now: dt.datetime,
) -> list[outbox.Message]:
    """Queue a note per flagged entry to every leader, privately, with a one-tap void."""
    queued = []
    for note in notes:
        for leader in leaders:
            text, markup = flag_view(lang_of(leader.lang_pref), note, names)
            m = outbox.enqueue(
                session,
                key=f"flag:{note.entry_id}:{leader.telegram_id}",
                kind="flag",
                chat_id=leader.telegram_id,
                team_id=team_id,
                ref_id=note.entry_id,
                text=text,
                buttons=markup.to_dict(),
                now=now,
            )
            if m is not None:
                queued.append(m)
    return queued
