"""Personal data: a person's own copy (/mydata, /dulieu) and erasure (/erase, /xoadulieu)."""

from __future__ import annotations

from telegram import Update

from handlers.context import (
    KpiContext,
    for_caller,
    lang_of,
    refused,
    replied_user_id,
    send_privately,
)
from handlers.i18n import t
from handlers.render import answer_query, edit_text, id_and_choice
from handlers.views.access import refusal_short
from handlers.views.privacy import (
    data_file,
    data_file_name,
    erase_ask_view,
    erase_closed_view,
    erase_done_view,
    erase_problem_view,
    erased_label,
)
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import privacy
from kpi.usecases.outcomes import Closed
from kpi.usecases.privacy import EraseAsked


async def mydata(update: Update, context: KpiContext) -> None:
    """Send a person everything the bot keeps about them, as a file, in their private chat."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    res = await for_caller(update, context, privacy.my_data)
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    # Written in the render threads: years of entries must not hold up the event loop.
    content = await context.bot_data.render(data_file, lang, res.data)
    name = data_file_name(res.data)
    caption = t(lang, "mydata.caption")

    async def send(chat_id: int) -> None:
        await context.bot.send_document(chat_id, content, filename=name, caption=caption)

    await send_privately(update, context, lang, "mydata", send)


async def erase(update: Update, context: KpiContext) -> None:
    """Ask a configured admin to confirm erasing a person: `/erase @user`."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    res = await for_caller(
        update,
        context,
        privacy.erase_ask,
        args=split_command(msg.text)[1],
        reply_to=replied_user_id(update),
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if not isinstance(res, EraseAsked):
        await msg.reply_text(erase_problem_view(lang, res))
        return
    text, markup = erase_ask_view(lang, res)
    await msg.reply_text(text, reply_markup=markup)


async def erase_button(update: Update, context: KpiContext) -> None:
    """Erase (or not) the person a confirmation names: `er:<question id>:ok|no`."""
    q = update.callback_query
    assert q is not None and q.data is not None
    payload = id_and_choice(q.data)
    if payload is None:
        await answer_query(q)
        return
    pid, choice = payload
    res = await for_caller(
        update, context, privacy.erase_answer, pending_id=pid, choice=choice, label=erased_label
    )
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, q.from_user)
    if isinstance(res, Refusal):
        await answer_query(q, refusal_short(lang, res))
        return
    if isinstance(res, Closed):
        if res.why != "cancelled":
            # Pressed twice, or not the asker's: the message keeps what it says.
            await answer_query(q, erase_closed_view(lang, res))
            return
        await answer_query(q)
        await edit_text(q, erase_closed_view(lang, res))
        return
    await answer_query(q)
    await edit_text(q, erase_done_view(lang, res))
