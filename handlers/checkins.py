"""Logging: commands, `/log`, plain language, edited messages and the logging buttons."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from telegram import Message, Update
from telegram.error import BadRequest

from handlers import posts
from handlers.context import (
    BotData,
    KpiContext,
    for_caller,
    lang_of,
    refuse_in,
    refused,
    update_key,
)
from handlers.i18n import Html, t
from handlers.render import (
    answer_query,
    edit_text,
    fit,
    id_and_choice,
    join_lines,
    remove_buttons,
)
from handlers.views.checkins import (
    amount_question,
    bad_input_view,
    bound_view,
    confirmation,
    entry_text,
    not_understood_view,
    quick_menu,
    stored_lines,
)
from kpi import outbox
from kpi.access import Refusal
from kpi.reading import LOG_COMMANDS, split_command
from kpi.usecases import checkins
from kpi.usecases.checkins import AskAmount, Ignored, Logged, LogOutcome, NotUnderstood
from kpi.usecases.outcomes import AskBound, BadInput, Closed


def _addressed_text(message: Message, bot_username: str) -> str | None:
    """Return the text of a plain message meant for the bot, without the mention."""
    text = message.text or ""
    if message.chat.type == "private":
        return text
    reply = message.reply_to_message
    if (
        reply is not None
        and reply.from_user is not None
        and reply.from_user.username == (bot_username)
    ):
        return text
    mention = f"@{bot_username}".lower()
    if mention in text.lower():
        return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
    return None


async def log_command(update: Update, context: KpiContext) -> None:
    """Log from a command: /call, /meeting, /lead, /deal, /lost, /log and their aliases."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    command, args = split_command(msg.text)
    if command in LOG_COMMANDS and not args:
        await quick_keyboard(update, context)
        return
    queued = await log_for_caller(
        update, context, msg, checkins.log_message, text=msg.text, message_id=msg.message_id
    )
    if queued is not None:
        await reply_logged(msg, user.language_code, queued.res, bd=context.bot_data, queued=queued)


async def photo_deal(update: Update, context: KpiContext) -> None:
    """Log a deal from a photo captioned `/deal …`: the photo is kept as the contract's."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.caption is not None and msg.photo
    queued = await log_for_caller(
        update,
        context,
        msg,
        checkins.log_message,
        text=msg.caption,
        message_id=msg.message_id,
        photo=msg.photo[-1].file_id,
    )
    if queued is not None:
        await reply_logged(msg, user.language_code, queued.res, bd=context.bot_data, queued=queued)


async def free_text(update: Update, context: KpiContext) -> None:
    """Log a plain-language message addressed to the bot (private, reply, or mention)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    text = _addressed_text(msg, context.bot.username)
    if text is None:
        return
    queued = await log_for_caller(
        update, context, msg, checkins.log_message, text=text, message_id=msg.message_id
    )
    if queued is None:
        return
    res = queued.res
    if (
        isinstance(res, Refusal)
        and res.reason in ("not_member", "no_team")
        and tchat.type != "private"
    ):
        return  # chatter in a group that is not ours to answer
    await reply_logged(msg, user.language_code, res, bd=context.bot_data, queued=queued)


async def edited(update: Update, context: KpiContext) -> None:
    """Re-read an edited message that carried a check-in; it never counts twice."""
    msg, user, tchat = update.edited_message, update.effective_user, update.effective_chat
    if msg is None or user is None or tchat is None or msg.text is None:
        return
    text = msg.text
    if not text.startswith("/"):
        addressed = _addressed_text(msg, context.bot.username)
        text = addressed if addressed is not None else text
    queued = await log_for_caller(
        update,
        context,
        msg,
        checkins.reread_edited,
        text=text,
        message_id=msg.message_id,
        sent_at=msg.date,
    )
    if queued is None or isinstance(queued.res, Ignored):
        return
    await reply_logged(msg, user.language_code, queued.res, bd=context.bot_data, queued=queued)


async def quick_keyboard(update: Update, context: KpiContext) -> None:
    """Show quick +1 buttons for the team's metrics (bare `/log`)."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    res = await for_caller(update, context, checkins.quick_keyboard)
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    text, markup = quick_menu(lang, res)
    await msg.reply_text(text, reply_markup=markup)


async def quick_button(update: Update, context: KpiContext) -> None:
    """Log +1 from a quick button."""
    q = update.callback_query
    assert q is not None and q.data is not None and q.message is not None
    answer_to = q.message if isinstance(q.message, Message) else None
    actor = q.from_user.full_name
    queued = await log_for_caller(
        update, context, answer_to, checkins.quick_add, actor=actor, metric=q.data[2:]
    )
    if queued is None:
        await answer_query(q)
        return
    res = queued.res
    if isinstance(res, Logged):
        lang = lang_of(res.lang_pref, q.from_user)
        items = ", ".join(entry_text(lang, res.names, e) for e in res.entries)
        await answer_query(q, t(lang, "log.ok_private", items=Html(items)))
        if answer_to is not None:
            await reply_logged(
                answer_to,
                q.from_user.language_code,
                res,
                actor=actor,
                bd=context.bot_data,
                queued=queued,
            )
        return
    await answer_query(q)
    if answer_to is not None:
        await reply_logged(answer_to, q.from_user.language_code, res, bd=context.bot_data)


async def pending_button(update: Update, context: KpiContext) -> None:
    """Answer a confirmation button: `p:<id>:<choice>` (an amount reading, yes, or no)."""
    q = update.callback_query
    assert q is not None and q.data is not None and q.message is not None
    payload = id_and_choice(q.data)
    if payload is None:
        await answer_query(q)
        return
    pid, choice = payload
    answer_to = q.message if isinstance(q.message, Message) else None
    actor = q.from_user.full_name
    queued = await log_for_caller(
        update,
        context,
        answer_to,
        checkins.resolve_pending,
        actor=actor,
        pending_id=pid,
        choice=choice,
    )
    if queued is None:
        await answer_query(q)
        return
    res = queued.res
    lang = lang_of(_pref(res), q.from_user)
    if isinstance(res, Closed) and res.why == "not_yours":
        # The question stays as it is for the person it asks.
        await answer_query(q, t(lang, "log.not_yours"))
        return
    await answer_query(q)
    if isinstance(res, Closed):
        await _edit_or_send(q.message, t(lang, f"log.{res.why}"))
        return
    if answer_to is not None:
        await remove_buttons(answer_to)
        await reply_logged(
            answer_to,
            q.from_user.language_code,
            res,
            actor=actor,
            bd=context.bot_data,
            queued=queued,
        )


async def _edit_or_send(message: object, text: str) -> None:
    if isinstance(message, Message):
        try:
            await edit_text(message, text)
        except BadRequest:
            await message.reply_text(text)


def _pref(res: LogOutcome) -> str | None:
    return None if isinstance(res, Ignored) else res.lang_pref


def _lang(res: LogOutcome, language_code: str | None) -> str:
    pref = _pref(res)
    return lang_of(pref) if pref else lang_of(language_code)


async def reply_logged(
    msg: Message,
    language_code: str | None,
    res: LogOutcome,
    actor: str | None = None,
    *,
    bd: BotData | None = None,
    queued: Queued | None = None,
) -> None:
    """Confirm a check-in (one line in a group, with progress in private) or explain why not.

    A stored check-in's confirmation and celebration were written to the outbox by its unit of
    work (`queued`): they are sent from there, retried, and never raise a send error here.
    """
    lang = _lang(res, language_code)
    if isinstance(res, Refusal):
        await refuse_in(msg, lang, res)
    elif isinstance(res, BadInput):
        await msg.reply_text(bad_input_view(lang, res))
    elif isinstance(res, NotUnderstood):
        await msg.reply_text(not_understood_view(lang))
    elif isinstance(res, AskAmount):
        text, markup = amount_question(lang, res)
        await msg.reply_text(text, reply_markup=markup)
    elif isinstance(res, AskBound):
        text, markup = bound_view(lang, res, "p")
        await msg.reply_text(text, reply_markup=markup)
    elif isinstance(res, Logged):
        if queued is not None and queued.confirmation is not None and bd is not None:
            await posts.deliver(msg.get_bot(), bd, queued.confirmation, now=bd.now())
        else:
            text, undo_markup = confirmation(lang, res, actor)
            await msg.reply_text(text, reply_markup=undo_markup)
        if queued is not None and queued.celebration is not None and bd is not None:
            await posts.send_queued(msg.get_bot(), bd, queued.celebration.id, now=bd.now())
        if queued is not None and bd is not None:
            # Approval requests and flags, to each leader privately.
            for row in queued.leaders:
                await posts.send_queued(msg.get_bot(), bd, row.id, now=bd.now())


# --- what follows a stored check-in: written with it, sent after (kpi.outbox) -----------------


@dataclass(frozen=True)
class Queued:
    """A logging use case's outcome, with the outbox rows its unit of work wrote."""

    res: LogOutcome
    confirmation: outbox.Message | None = None
    celebration: outbox.Message | None = None
    leaders: tuple[outbox.Message, ...] = ()  # approval requests and flags to leaders


@dataclass(frozen=True)
class _Target:
    """Where the answer to a message goes: its chat, the message quoted (groups), its topic."""

    chat_id: int
    reply_to: int | None
    thread_id: int | None


def _target_of(msg: Message) -> _Target:
    # As Message.reply_text does: quote in groups, stay in the message's forum topic.
    group = msg.chat.type != "private"
    thread = msg.message_thread_id if msg.is_topic_message else None
    return _Target(msg.chat_id, msg.message_id if group else None, thread)


async def log_for_caller(
    update: Update,
    context: KpiContext,
    answer_to: Message | None,
    fn: Callable[..., LogOutcome],
    /,
    *,
    actor: str | None = None,
    **kwargs: Any,
) -> Queued | None:
    """Run a logging use case once (see for_caller); a check-in it stores gets its confirmation
    (an answer to `answer_to`) and celebration written to the outbox in the same transaction."""
    user = update.effective_user
    assert user is not None
    key = update_key(update)
    target = _target_of(answer_to) if answer_to is not None else None
    instance = context.bot_data.instance

    def work(session: Session, **kw: Any) -> Queued:
        res = fn(session, **kw)
        if not isinstance(res, Logged) or target is None:
            return Queued(res)
        return _queue(
            session,
            res,
            key=key,
            target=target,
            lang=_lang(res, user.language_code),
            actor=actor,
            user_id=user.id,
            instance=instance,
            now=kw["now"],
        )

    return await for_caller(update, context, work, **kwargs)


def _queue(
    session: Session,
    res: Logged,
    *,
    key: str,
    target: _Target,
    lang: str,
    actor: str | None,
    user_id: int,
    instance: str,
    now: dt.datetime,
) -> Queued:
    """Render the confirmation in the reader's language and queue it (and a celebration)."""
    text, markup = confirmation(lang, res, actor)
    # Check-ins whose confirmation never got through are shown with this one.
    earlier = outbox.unconfirmed(session, user_id=user_id)
    lines = stored_lines(lang, res.names, earlier)
    sent = outbox.enqueue(
        session,
        key=f"reply:{key}",
        kind=outbox.CONFIRMATION,
        chat_id=target.chat_id,
        thread_id=target.thread_id,
        reply_to=target.reply_to,
        team_id=res.team_id,
        user_id=user_id,
        ref_id=res.checkin_id,
        text=fit(join_lines(*lines, text)) if lines else text,
        buttons=markup.to_dict() if markup is not None else None,
        payload={"shows": [u.id for u in earlier]} if earlier else None,
        # This handler sends it right after the commit.
        sending_by=instance,
        now=now,
    )
    celebration = None
    c = res.celebration
    if c is not None:
        celebration = outbox.enqueue_celebration(
            session,
            key=f"celebration:checkin-{res.checkin_id}",
            team_id=c.team_id,
            chat_id=c.chat_id,
            thread_id=c.thread,
            language=c.language,
            name=actor or res.member_name,
            amount=c.amount,
            count=c.count,
            now=now,
        )
    to_leaders = posts.queue_requests(
        session, res.approval, res.leaders, team_id=res.team_id, key=key, now=now
    ) + posts.queue_flags(
        session, res.flagged, res.leaders, dict(res.names), team_id=res.team_id, now=now
    )
    return Queued(res, sent, celebration, tuple(to_leaders))
