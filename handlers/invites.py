"""/invite (/moi) for leaders, and a leader's Approve / Reject on a join request."""

from __future__ import annotations

from telegram import Message, Update

from handlers import posts
from handlers.context import KpiContext, for_caller, lang_of, refused
from handlers.i18n import t_plain
from handlers.render import id_and_choice, remove_buttons
from handlers.views.invites import answer_view, invite_view
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import invites


async def invite(update: Update, context: KpiContext) -> None:
    """Make an invite link (`once`: single-use), list the open ones, or revoke one."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    res = await for_caller(
        update, context, invites.invite_command, args=split_command(msg.text)[1]
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    await msg.reply_text(invite_view(lang_of(res.lang_pref, user), res, context.bot.username))


async def join_request_button(update: Update, context: KpiContext) -> None:
    """Approve or reject a join request (a leader's buttons); safe to press twice."""
    query, user, tchat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and tchat is not None
    payload = id_and_choice(query.data or "")
    if payload is None:
        await query.answer()
        return
    action_id, choice = payload
    res = await for_caller(
        update, context, invites.answer_join, action_id=action_id, approve=choice == "ok"
    )
    if res is None:
        await query.answer()
        return
    lang = lang_of(res.lang_pref, user)
    if res.outcome == "forbidden":
        # Someone else's buttons stay for the leaders; the answer is for the presser alone.
        await query.answer(t_plain(lang, "joinreq.forbidden"), show_alert=True)
        return
    await query.answer()
    # A second press (the same buttons twice, another leader's) finds them gone already.
    if isinstance(query.message, Message):
        await remove_buttons(query.message)
    await context.bot.send_message(tchat.id, answer_view(lang, res))
    await posts.send_all_queued(context.bot, context.bot_data, res.notices)
