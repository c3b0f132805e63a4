"""Leave: /leave (/nghiphep) and the leaders' Approve / Reject buttons."""

from __future__ import annotations

from telegram import Message, Update

from handlers.context import KpiContext, for_caller, lang_of, refused, replied_user_id
from handlers.render import answer_query, fit, id_and_choice, remove_buttons
from handlers.views.absences import cannot_view, decided_view, leave_view
from handlers.views.access import refusal_short
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import absences
from kpi.usecases.absences import CannotLeave


async def leave(update: Update, context: KpiContext) -> None:
    """List, set, request or cancel leave: `/leave [@user] FROM..TO`, `/leave cancel <id>`."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    res = await for_caller(
        update,
        context,
        absences.leave_command,
        args=split_command(msg.text)[1],
        reply_to=replied_user_id(update),
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    await msg.reply_text(fit(leave_view(lang_of(res.lang_pref, user), res)))


async def leave_button(update: Update, context: KpiContext) -> None:
    """Approve or reject a rep's leave (a leader's buttons; safe to press twice)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parsed = id_and_choice(query.data or "")
    if parsed is None:
        await answer_query(query)
        return
    absence_id, choice = parsed
    res = await for_caller(update, context, absences.decide, absence_id=absence_id, choice=choice)
    if res is None:
        await answer_query(query)
        return
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        # Someone else's buttons stay for the leaders; the answer is for the presser alone.
        await answer_query(query, refusal_short(lang, res))
        return
    if isinstance(res, CannotLeave):
        await answer_query(query, cannot_view(lang, res))
        return
    text = decided_view(lang, res)
    await answer_query(query, text)
    if isinstance(query.message, Message):
        await remove_buttons(query.message)
        await query.message.reply_text(text)
