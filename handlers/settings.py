"""/settings for leaders (text subcommands and toggle buttons), /mute and /unmute for reps."""

from __future__ import annotations

from telegram import Message, Update

from handlers.context import KpiContext, for_caller, lang_of, refused
from handlers.i18n import languages
from handlers.render import answer_query, edit_text
from handlers.views.settings import bad_setting_view, muted_view, settings_view
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import settings as team_settings
from kpi.usecases.outcomes import BadInput


async def settings(update: Update, context: KpiContext) -> None:
    """Show or change the team's settings (leaders): `/settings time daily 18:30`."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    await _apply(update, context, msg, split_command(msg.text)[1], msg.message_thread_id)


async def settings_button(update: Update, context: KpiContext) -> None:
    """Apply a settings toggle button."""
    q = update.callback_query
    assert q is not None and q.data is not None
    await answer_query(q)
    if isinstance(q.message, Message):
        await _apply(update, context, q.message, q.data[4:], None, edit=True)


async def _apply(
    update: Update,
    context: KpiContext,
    msg: Message,
    args: str,
    thread_id: int | None,
    *,
    edit: bool = False,
) -> None:
    user, tchat = update.effective_user, update.effective_chat
    assert user is not None and tchat is not None
    res = await for_caller(
        update,
        context,
        team_settings.settings_command,
        args=args,
        languages=languages(),
        thread_id=thread_id,
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, BadInput):
        await msg.reply_text(bad_setting_view(lang, res))
        return
    text, markup = settings_view(lang, res)
    if edit:
        await edit_text(msg, text, markup)
    else:
        await msg.reply_text(text, reply_markup=markup)


async def mute(update: Update, context: KpiContext) -> None:
    """Turn your private reminders off."""
    await _mute(update, context, True)


async def unmute(update: Update, context: KpiContext) -> None:
    """Turn your private reminders back on."""
    await _mute(update, context, False)


async def _mute(update: Update, context: KpiContext, muted: bool) -> None:
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    res = await for_caller(update, context, team_settings.mute, muted=muted)
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    await msg.reply_text(muted_view(lang_of(res.lang_pref, user), res))
