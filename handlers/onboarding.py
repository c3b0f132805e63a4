"""/start, /help, /setup, /join, /language, team choice, unknown commands, and the bot's own
membership changes."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from telegram import ChatMember, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from handlers import posts
from handlers.context import KpiContext, chat_of, for_caller, lang_of, person_of, unit_of_work
from handlers.i18n import choose_language, normalize_lang, t
from handlers.render import answer_query, clip, edit_text
from handlers.views.onboarding import (
    help_view,
    join_view,
    language_view,
    setup_view,
    start_view,
    team_choice_view,
    unknown_command_view,
)
from kpi import parsing
from kpi.usecases import onboarding

log = logging.getLogger(__name__)

ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def start(update: Update, context: KpiContext) -> None:
    """Greet, open the private chat for later messages, and follow an invite link."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and update.effective_chat is not None
    chat = chat_of(update.effective_chat)
    if not chat.is_private:
        await help_command(update, context)
        return
    bd = context.bot_data
    payload = context.args[0] if context.args else None
    res = await unit_of_work(
        update,
        context,
        partial(
            onboarding.start,
            person=person_of(user),
            chat=chat,
            payload=payload,
            admins=bd.admins,
            now=bd.now(),
        ),
    )
    if res is None:
        return
    await msg.reply_text(start_view(lang_of(res.lang_pref, user), res, user.first_name))
    await posts.send_all_queued(context.bot, context.bot_data, res.notices)


async def help_command(update: Update, context: KpiContext) -> None:
    """List the commands the caller may use, in the caller's language."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    bd = context.bot_data
    res = await bd.db.work(
        partial(
            onboarding.help_info,
            person=person_of(user),
            chat=chat_of(tchat),
            admins=bd.admins,
            now=bd.now(),
        )
    )
    await msg.reply_text(help_view(lang_of(res.lang_pref, user), res.leader))


def command_names(application: Application[Any, Any, Any, Any, Any, Any]) -> set[str]:
    """Return every command the handler table answers, in both languages (`call`, `goi`)."""
    return {
        name
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }


async def unknown_command(update: Update, context: KpiContext) -> None:
    """Answer a command the bot does not have: the closest one it has, and /help.

    In a group only a command addressed to the bot (`/cal@bot`) is answered: a bare `/cal` may
    be another bot's, and a command addressed to another bot is never ours.
    """
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    if msg is None or msg.text is None or user is None or tchat is None:
        return
    word, *rest = msg.text.strip().split(maxsplit=1)
    name, _, addressee = word[1:].partition("@")
    if addressee.lower() != context.bot.username.lower() and (
        addressee or tchat.type != "private"
    ):
        return
    bd = context.bot_data
    res = await bd.db.work(
        partial(
            onboarding.help_info,
            person=person_of(user),
            chat=chat_of(tchat),
            admins=bd.admins,
            now=bd.now(),
        )
    )
    closest = parsing.closest_command(name, command_names(context.application))
    # The arguments come along, so that the suggestion can be copied and sent as it is.
    suggestion = (
        None if closest is None else " ".join([f"/{closest}", *(clip(r, 60) for r in rest)])
    )
    lang = lang_of(res.lang_pref, user)
    await msg.reply_text(unknown_command_view(lang, "/" + clip(name, 32), suggestion))


async def setup(update: Update, context: KpiContext) -> None:
    """Bind this group to a team and make the caller its first leader."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    chat = chat_of(tchat)
    is_admin = is_owner = False
    bot_admin = True
    if not chat.is_private:
        try:
            member = await context.bot.get_chat_member(chat.id, user.id)
            is_admin = member.status in ADMIN_STATUSES
            is_owner = member.status == ChatMemberStatus.OWNER
            me = await context.bot.get_chat_member(chat.id, context.bot.id)
            bot_admin = me.status == ChatMember.ADMINISTRATOR
        except TelegramError as exc:
            log.warning("could not read chat membership in %s: %s", chat.id, exc)
    bd = context.bot_data
    res = await unit_of_work(
        update,
        context,
        partial(
            onboarding.setup,
            person=person_of(user),
            chat=chat,
            is_chat_admin=is_admin,
            is_chat_owner=is_owner,
            admins=bd.admins,
            defaults=bd.defaults,
            now=bd.now(),
        ),
    )
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    await msg.reply_text(setup_view(lang, res, user.full_name, bot_admin=bot_admin))


async def join(update: Update, context: KpiContext) -> None:
    """Join the group's team; offer the private chat the bot needs for reminders."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    res = await for_caller(update, context, onboarding.join)
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    text, markup = join_view(lang, res, user.full_name, context.bot.username)
    await msg.reply_text(text, reply_markup=markup)
    if isinstance(res, onboarding.Joined):
        await posts.send_all_queued(context.bot, context.bot_data, res.notices)


async def language(update: Update, context: KpiContext) -> None:
    """Show or set the caller's own language: `/language en`, or buttons."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    bd = context.bot_data
    choice = choose_language(context.args[0]) if context.args else None
    res = await unit_of_work(
        update,
        context,
        partial(onboarding.set_language, person=person_of(user), lang=choice, now=bd.now()),
    )
    if res is None:
        return
    text, markup = language_view(lang_of(res.lang_pref, user), res)
    await msg.reply_text(text, reply_markup=markup)


async def language_button(update: Update, context: KpiContext) -> None:
    """Apply a language chosen with a button."""
    q = update.callback_query
    assert q is not None and q.data is not None
    choice = normalize_lang(q.data.removeprefix("lang:"))
    res = await unit_of_work(
        update,
        context,
        partial(
            onboarding.set_language,
            person=person_of(q.from_user),
            lang=choice,
            now=context.bot_data.now(),
        ),
    )
    await answer_query(q)
    if res is None:
        return
    await edit_text(q, t(lang_of(res.lang_pref), "language.set"))


async def team_button(update: Update, context: KpiContext) -> None:
    """Remember the team chosen for this private chat."""
    q = update.callback_query
    assert q is not None and q.data is not None
    try:
        team_id = int(q.data.split(":", 1)[1])
    except ValueError:
        await answer_query(q)
        return
    res = await unit_of_work(
        update,
        context,
        partial(
            onboarding.pick_team,
            person=person_of(q.from_user),
            team_id=team_id,
            now=context.bot_data.now(),
            admins=context.bot_data.admins,
        ),
    )
    await answer_query(q)
    if res is None:
        return
    await edit_text(q, team_choice_view(lang_of(res.lang_pref, q.from_user), res))


async def bot_membership(update: Update, context: KpiContext) -> None:
    """Mark the team inactive when the bot is removed from its group (nothing is deleted)."""
    cm = update.my_chat_member
    assert cm is not None
    if cm.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        now = context.bot_data.now()
        await unit_of_work(
            update, context, partial(onboarding.bot_removed, chat_id=cm.chat.id, now=now)
        )


async def migrate(update: Update, context: KpiContext) -> None:
    """Follow a group that became a supergroup (new chat id); nothing is lost."""
    msg = update.effective_message
    assert msg is not None
    if msg.migrate_to_chat_id:
        old, new = msg.chat_id, msg.migrate_to_chat_id
    elif msg.migrate_from_chat_id:
        old, new = msg.migrate_from_chat_id, msg.chat_id
    else:
        return
    await unit_of_work(
        update, context, partial(onboarding.chat_migrated, old_chat_id=old, new_chat_id=new)
    )
