"""Deal approval: `/approvals`, Approve/Reject, a flag's void button, a photo of the contract.

What follows a decision (the rep told the outcome, the group's celebration, the photo and the
request sent to the leaders) is written to the outbox in the decision's unit of work and sent
after it (kpi.outbox): a press delivered twice decides once and tells once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from handlers import posts
from handlers.context import KpiContext, for_caller, lang_of, refuse_in, refused
from handlers.i18n import t
from handlers.render import answer_query, edit_text, fit, id_and_choice, join_lines
from handlers.views.access import refusal_short
from handlers.views.approvals import (
    already_view,
    decided_view,
    list_view,
    photo_view,
    rep_view,
    voided_view,
)
from kpi import outbox
from kpi.access import Refusal
from kpi.usecases import approvals
from kpi.usecases.approvals import (
    AlreadyDecided,
    Decided,
    FlagVoided,
    Gone,
    NoDeal,
    PhotoKept,
)


async def _send(update: Update, context: KpiContext, rows: Sequence[outbox.Message]) -> None:
    bd = context.bot_data
    for row in rows:
        await posts.send_queued(context.bot, bd, row.id, now=bd.now())


async def approvals_command(update: Update, context: KpiContext) -> None:
    """List the deals waiting for approval, oldest first, each with Approve / Reject."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    res = await for_caller(update, context, approvals.list_approvals)
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    text, markup = list_view(lang, res)
    await msg.reply_text(text, reply_markup=markup)


async def decide_button(update: Update, context: KpiContext) -> None:
    """Approve or reject a deal: `ap:<entry>:ok|no` (leaders of the deal's team)."""
    q = update.callback_query
    assert q is not None and q.data is not None
    payload = id_and_choice(q.data)
    if payload is None or payload[1] not in ("ok", "no"):
        await answer_query(q)
        return
    entry_id, choice = payload

    def work(session: Session, **kw: Any) -> tuple[Any, list[outbox.Message]]:
        res = approvals.decide(session, **kw)
        rows: list[outbox.Message] = []
        if isinstance(res, Decided):
            rows = _queue_decision(session, res, kw["now"])
        return res, rows

    out = await for_caller(update, context, work, entry_id=entry_id, approve=choice == "ok")
    if out is None:
        await answer_query(q)
        return
    res, rows = out
    lang = lang_of(res.lang_pref, q.from_user)
    if isinstance(res, Refusal):
        await answer_query(q, refusal_short(lang, res))
        return
    if isinstance(res, Gone):
        await answer_query(q, t(lang, "approval.gone"))
        await _close(q.message, q.data, None)
        return
    if isinstance(res, AlreadyDecided):
        text = already_view(lang, res)
        await answer_query(q, text)
        await _close(q.message, q.data, text)
        return
    assert isinstance(res, Decided)
    text = decided_view(lang, res)
    await answer_query(q, text)
    await _close(q.message, q.data, text)
    await _send(update, context, rows)


def _queue_decision(session: Session, res: Decided, now: dt.datetime) -> list[outbox.Message]:
    """Queue the rep's answer and, for an approved deal, the group's celebration."""
    rows = []
    if res.rep is not None:
        m = outbox.enqueue(
            session,
            key=f"decision:{res.deal.entry_id}",
            kind="decision",
            chat_id=res.rep.chat_id,
            reply_to=res.rep.reply_to,
            ref_id=res.deal.entry_id,
            text=rep_view(lang_of(res.rep.lang_pref), res),
            now=now,
        )
        if m is not None:
            rows.append(m)
    c = res.celebration
    if c is not None:
        m = outbox.enqueue_celebration(
            session,
            key=f"celebration:entry-{res.deal.entry_id}",
            team_id=c.team_id,
            chat_id=c.chat_id,
            thread_id=c.thread,
            language=c.language,
            name=res.deal.member_name,
            amount=c.amount,
            count=c.count,
            now=now,
        )
        if m is not None:
            rows.append(m)
    return rows


async def _close(message: object, data: str, text: str | None) -> None:
    """Take the pressed request's buttons off the message (a list keeps the other requests'),
    and say how it was decided, when known. Only a message that carries the button is touched.
    """
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    rows = message.reply_markup.inline_keyboard
    if not any(b.callback_data == data for row in rows for b in row):
        return
    rest = [list(row) for row in rows if all(b.callback_data != data for b in row)]
    markup = InlineKeyboardMarkup(rest) if rest else None
    if text is None or message.photo:
        # A photo's caption stays; the answer goes under it.
        with contextlib.suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=markup)
        if text is not None:
            await message.reply_text(text)
        return
    await edit_text(message, fit(join_lines(message.text_html or "", "", text)), markup)


async def void_button(update: Update, context: KpiContext) -> None:
    """Void a flagged entry: `fv:<entry>` (leaders of its team; safe to press twice)."""
    q = update.callback_query
    assert q is not None and q.data is not None
    try:
        entry_id = int(q.data.split(":", 1)[1])
    except ValueError:
        await answer_query(q)
        return
    res = await for_caller(update, context, approvals.void_flagged, entry_id=entry_id)
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, q.from_user)
    if isinstance(res, Refusal):
        await answer_query(q, refusal_short(lang, res))
        return
    if isinstance(res, Gone):
        await answer_query(q, t(lang, "approval.gone"))
        await _close(q.message, q.data, None)
        return
    text = (
        voided_view(lang, res.entry_id) if isinstance(res, FlagVoided) else already_view(lang, res)
    )
    await answer_query(q, text)
    await _close(q.message, q.data, text)


async def photo_reply(update: Update, context: KpiContext) -> None:
    """Keep a photo sent as a reply to a deal's confirmation; send it to the leaders."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.photo
    assert msg.reply_to_message is not None
    key = str(msg.message_id)

    def work(session: Session, **kw: Any) -> tuple[Any, list[outbox.Message]]:
        res = approvals.attach_photo(session, **kw)
        rows: list[outbox.Message] = []
        if isinstance(res, PhotoKept) and res.waiting:
            rows = posts.queue_requests(
                session,
                res.waiting,
                res.leaders,
                team_id=res.team_id,
                key=f"photo-{tchat.id}-{key}",
                now=kw["now"],
            )
        return res, rows

    out = await for_caller(
        update,
        context,
        work,
        file_id=msg.photo[-1].file_id,
        reply_to=msg.reply_to_message.message_id,
    )
    if out is None:
        return
    res, rows = out
    private = tchat.type == "private"
    if not private and isinstance(res, NoDeal | Refusal):
        return  # a photo answering something else in the group is not ours to answer
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        await refuse_in(msg, lang, res)
        return
    await msg.reply_text(photo_view(lang, res))
    await _send(update, context, rows)
