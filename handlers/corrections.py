"""Corrections: /undo, /history, /edit, /void, the undo button and the edit's Save/Cancel."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session
from telegram import Message, Update

from handlers.context import KpiContext, for_caller, lang_of, refuse_in
from handlers.render import answer_query, fit, id_and_choice, join_lines, remove_buttons
from handlers.views.access import refusal_short
from handlers.views.checkins import bound_view, stored_lines
from handlers.views.corrections import Kind, correction_view, history_view
from kpi import outbox
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import corrections
from kpi.usecases.corrections import CannotCorrect, CorrectionOutcome, History
from kpi.usecases.outcomes import AskBound


async def undo(update: Update, context: KpiContext) -> None:
    """Void the caller's last check-in, whole."""
    await _correction(update, context, "undo", corrections.undo, with_args=True)


async def edit(update: Update, context: KpiContext) -> None:
    """Change one entry: /edit <id> <value>."""
    await _correction(update, context, "edit", corrections.edit, with_args=True)


async def void(update: Update, context: KpiContext) -> None:
    """Void one entry: /void <id>."""
    await _correction(update, context, "void", corrections.void, with_args=True)


async def history(update: Update, context: KpiContext) -> None:
    """List the caller's recent entries with short ids, after any never confirmed."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    bd = context.bot_data

    def work(session: Session, **kw: Any) -> tuple[History | Refusal, list[outbox.Unconfirmed]]:
        res = corrections.history(session, **kw)
        earlier = outbox.unconfirmed(session, user_id=user.id) if isinstance(res, History) else []
        return res, earlier

    out = await for_caller(update, context, work)
    if out is None:
        return
    res, earlier = out
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        await refuse_in(msg, lang, res)
        return
    lines = stored_lines(lang, res.names, earlier)
    await msg.reply_text(fit(join_lines(*lines, history_view(lang, res))))
    if earlier:
        await bd.db.work(partial(outbox.mark_shown, ids=[u.id for u in earlier], now=bd.now()))


async def _correction(
    update: Update,
    context: KpiContext,
    kind: Kind,
    fn: Callable[..., CorrectionOutcome],
    *,
    with_args: bool = False,
) -> None:
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    kwargs: dict[str, object] = {}
    if with_args:
        kwargs["args"] = split_command(msg.text)[1]
    res = await for_caller(update, context, fn, **kwargs)
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        await refuse_in(msg, lang, res)
    elif isinstance(res, AskBound):
        text, markup = bound_view(lang, res, "e")
        await msg.reply_text(text, reply_markup=markup)
    else:
        await msg.reply_text(correction_view(kind, lang, res))


async def undo_button(update: Update, context: KpiContext) -> None:
    """Undo the check-in an "undo" button belongs to."""
    q = update.callback_query
    assert q is not None and q.data is not None and q.message is not None
    try:
        checkin_id = int(q.data.split(":", 1)[1])
    except ValueError:
        await answer_query(q)
        return
    res = await for_caller(update, context, corrections.undo, checkin_id=checkin_id)
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, q.from_user)
    if isinstance(res, Refusal):
        await answer_query(q, refusal_short(lang, res))
        return
    if isinstance(res, CannotCorrect):
        # Someone else's button, or one already used: say why, and leave the message alone.
        await answer_query(q, correction_view("undo", lang, res))
        return
    await answer_query(q)
    if isinstance(q.message, Message):
        await remove_buttons(q.message)
        await q.message.reply_text(correction_view("undo", lang, res))


async def edit_button(update: Update, context: KpiContext) -> None:
    """Answer the Save/Cancel buttons of an /edit beyond the sanity bound (`e:<id>:<choice>`)."""
    q = update.callback_query
    assert q is not None and q.data is not None
    payload = id_and_choice(q.data)
    if payload is None:
        await answer_query(q)
        return
    pid, choice = payload
    res = await for_caller(
        update, context, corrections.confirm_edit, pending_id=pid, choice=choice
    )
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, q.from_user)
    if isinstance(res, Refusal):
        # No longer in the entry's team: say so, and leave the question as it is.
        await answer_query(q, refusal_short(lang, res))
        return
    await answer_query(q)
    if not isinstance(q.message, Message):
        return
    await remove_buttons(q.message)
    await q.message.reply_text(correction_view("edit", lang, res))
