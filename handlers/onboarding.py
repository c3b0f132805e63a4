"""/start, /help, /setup, /join, /language, team choice, unknown commands, and the bot's own
membership changes."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from telegram import (
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from handlers.context import KpiContext, chat_of, for_caller, lang_of, person_of, unit_of_work
from handlers.i18n import Html, choose_language, languages, normalize_lang, t, t_plain
from handlers.render import answer_query, clip, edit_text, join_lines
from kpi import onboarding, parsing, teams

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
    lang = lang_of(res.lang_pref, user)
    parts: list[str] = [t(lang, "start.welcome", name=user.first_name)]
    if res.invite != "none":
        parts.append(t(lang, f"start.invite_{res.invite}", team=res.invite_team or ""))
    if res.teams:
        parts.append(t(lang, "start.teams", teams=", ".join(c.title for c in res.teams)))
        parts.append(t(lang, "start.try"))
    else:
        parts.append(t(lang, "start.no_teams"))
    await msg.reply_text(join_lines(*parts))


async def help_command(update: Update, context: KpiContext) -> None:
    """List the commands the caller may use, in the caller's language."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    bd = context.bot_data
    pref, leader = await bd.db.work(
        partial(
            onboarding.help_info,
            person=person_of(user),
            chat=chat_of(tchat),
            admins=bd.admins,
            now=bd.now(),
        )
    )
    lang = lang_of(pref, user)
    await msg.reply_text(
        join_lines(
            t(lang, "help.title"),
            t(lang, "help.rep"),
            t(lang, "help.leader") if leader else None,
            t(lang, "help.footer"),
        )
    )


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
    pref, _ = await bd.db.work(
        partial(
            onboarding.help_info,
            person=person_of(user),
            chat=chat_of(tchat),
            admins=bd.admins,
            now=bd.now(),
        )
    )
    lang = lang_of(pref, user)
    typed = "/" + clip(name, 32)
    closest = parsing.closest_command(name, command_names(context.application))
    if closest is None:
        await msg.reply_text(t(lang, "help.unknown_command", command=typed))
        return
    # The arguments come along, so that the suggestion can be copied and sent as it is.
    suggestion = " ".join([f"/{closest}", *(clip(r, 60) for r in rest)])
    await msg.reply_text(
        t(lang, "help.unknown_command_closest", command=typed, closest=suggestion)
    )


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
    if res.outcome in ("private", "refused", "refused_existing", "refused_inactive"):
        await msg.reply_text(t(lang, f"setup.{res.outcome}", team=res.team_title))
        return
    text = join_lines(
        t(lang, f"setup.{res.outcome}", team=res.team_title, name=user.full_name),
        t(lang, "setup.next"),
        None if bot_admin else t(lang, "setup.needs_admin"),
    )
    await msg.reply_text(text)


async def join(update: Update, context: KpiContext) -> None:
    """Join the group's team; offer the private chat the bot needs for reminders."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    res = await for_caller(update, context, onboarding.join)
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.outcome in ("private", "no_team"):
        await msg.reply_text(t(lang, f"join.{res.outcome}"))
        return
    text = t(lang, f"join.{res.outcome}", name=user.full_name, team=res.team_title)
    markup = None
    if not res.can_message and res.outcome in ("joined", "rejoined", "already", "pending"):
        text = join_lines(text, t(lang, "join.open_private_hint"))
        url = f"https://t.me/{context.bot.username}"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(lang, "join.open_private"), url=url)]]
        )
    await msg.reply_text(text, reply_markup=markup)


async def language(update: Update, context: KpiContext) -> None:
    """Show or set the caller's own language: `/language en`, or buttons."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    bd = context.bot_data
    choice = choose_language(context.args[0]) if context.args else None
    pref = await unit_of_work(
        update,
        context,
        partial(onboarding.set_language, person=person_of(user), lang=choice, now=bd.now()),
    )
    if pref is None:
        return
    lang = lang_of(pref, user)
    if choice is not None:
        await msg.reply_text(t(lang, "language.set"))
        return
    # Each language's button is written in that language, whoever reads it.
    buttons = [
        InlineKeyboardButton(t_plain(code, "language.self_name"), callback_data=f"lang:{code}")
        for code in languages()
    ]
    markup = InlineKeyboardMarkup([buttons])
    await msg.reply_text(t(lang, "language.current"), reply_markup=markup)


async def language_button(update: Update, context: KpiContext) -> None:
    """Apply a language chosen with a button."""
    q = update.callback_query
    assert q is not None and q.data is not None
    choice = normalize_lang(q.data.removeprefix("lang:"))
    pref = await unit_of_work(
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
    if pref is None:
        return
    await edit_text(q, t(lang_of(pref), "language.set"))


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
        ),
    )
    await answer_query(q)
    if res is None:
        return
    pref, title = res
    lang = lang_of(pref, q.from_user)
    text: Html = t(lang, "scope.team_chosen", team=title) if title else t(lang, "scope.team_gone")
    await edit_text(q, text)


async def bot_membership(update: Update, context: KpiContext) -> None:
    """Mark the team inactive when the bot is removed from its group (nothing is deleted)."""
    cm = update.my_chat_member
    assert cm is not None
    if cm.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        now = context.bot_data.now()
        await unit_of_work(
            update, context, partial(teams.deactivate_team, chat_id=cm.chat.id, now=now)
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
        update, context, partial(teams.migrate_chat, old_chat_id=old, new_chat_id=new)
    )
