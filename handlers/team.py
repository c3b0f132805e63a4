"""/team (/doi): the roster, roles, rankings and removal; people leaving the group; the bot
losing its rights in a group."""

from __future__ import annotations

import logging
from functools import partial

from telegram import ChatMember, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from handlers.context import (
    KpiContext,
    for_caller,
    lang_of,
    refused,
    replied_user_id,
    unit_of_work,
    update_key,
)
from handlers.posts import send_queued
from handlers.render import answer_query, edit_text, id_and_choice
from handlers.views import team as views
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import team as team_uc
from kpi.usecases.team import (
    BotRights,
    ConfirmRemoval,
    Kick,
    MemberCard,
    NotRemoved,
    Removed,
    Roster,
    rights_lost,
)

log = logging.getLogger(__name__)

IN_CHAT = (
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
    ChatMemberStatus.RESTRICTED,
)
GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def team(update: Update, context: KpiContext) -> None:
    """Show the team, or change a member (leaders): `/team leader|rep|remove|rank @user`."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    args = split_command(msg.text)[1]
    owner = False
    first = args.split()[0].lower() if args.split() else ""
    if tchat.type != "private" and team_uc.SUBCOMMANDS.get(first) == "leader":
        # The group's creator may appoint a leader of a team left without one.
        try:
            owner = (await context.bot.get_chat_member(tchat.id, user.id)).status == (
                ChatMemberStatus.OWNER
            )
        except TelegramError as exc:
            log.warning("could not read chat membership in %s: %s", tchat.id, exc)
    res = await for_caller(
        update,
        context,
        team_uc.team_command,
        args=args,
        reply_to=replied_user_id(update),
        is_chat_owner=owner,
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Roster):
        parts, markup = views.roster_view(lang, res)
        for i, part in enumerate(parts):
            await msg.reply_text(part, reply_markup=markup if i == len(parts) - 1 else None)
        return
    if isinstance(res, ConfirmRemoval):
        text, buttons = views.confirm_view(lang, res)
        await msg.reply_text(text, reply_markup=buttons)
        return
    await msg.reply_text(views.change_view(lang, res))


async def member_button(update: Update, context: KpiContext) -> None:
    """Show a member's card, or apply one of its buttons (a leader of the member's team)."""
    q, user, tchat = update.callback_query, update.effective_user, update.effective_chat
    assert q is not None and q.data is not None and user is not None and tchat is not None
    parts = q.data.split(":")
    try:
        membership_id = int(parts[1])
    except (IndexError, ValueError):
        await answer_query(q)
        return
    action = parts[2] if len(parts) > 2 else None
    res = await for_caller(
        update, context, team_uc.member_button, membership_id=membership_id, action=action
    )
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        # Someone else's buttons stay for the leaders; the answer is for the presser alone.
        await q.answer(views.refusal_text(lang, res), show_alert=True)
        return
    await answer_query(q)
    if isinstance(res, MemberCard):
        text, markup = views.card_view(lang, res)
        await context.bot.send_message(tchat.id, text, reply_markup=markup)
        return
    if not isinstance(q.message, Message):
        return
    if isinstance(res, ConfirmRemoval):
        text, markup = views.confirm_view(lang, res)
        await edit_text(q.message, text, markup)
        return
    await edit_text(q.message, views.change_view(lang, res))


async def remove_button(update: Update, context: KpiContext) -> None:
    """Remove the member on the confirmation's Remove button, then offer the group removal."""
    q, user = update.callback_query, update.effective_user
    assert q is not None and user is not None
    payload = id_and_choice(q.data or "")
    if payload is None:
        await answer_query(q)
        return
    res = await for_caller(
        update,
        context,
        team_uc.confirm_remove,
        action_id=payload[0],
        confirm=payload[1] == "ok",
    )
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        await q.answer(views.refusal_text(lang, res), show_alert=True)
        return
    if isinstance(res, NotRemoved) and res.why == "already":
        # A second press: the message keeps what the first one showed (the group removal).
        await answer_query(q, views.change_view(lang, res))
        return
    await answer_query(q)
    if not isinstance(q.message, Message):
        return
    if isinstance(res, Removed):
        can_kick = await _can_kick(context, res.chat_id, res.telegram_id)
        markup = views.kick_offer(lang, res.kick_id) if can_kick else None
        await edit_text(q.message, views.removed_view(lang, res, can_kick=can_kick), markup)
        return
    await edit_text(q.message, views.change_view(lang, res))


async def _can_kick(context: KpiContext, chat_id: int, telegram_id: int | None) -> bool:
    """Tell whether the bot may remove this person from the group (and they are in it)."""
    if telegram_id is None:
        return False
    try:
        me = await context.bot.get_chat_member(chat_id, context.bot.id)
        them = await context.bot.get_chat_member(chat_id, telegram_id)
    except TelegramError as exc:
        log.info("could not read the rights in %s: %s", chat_id, exc)
        return False
    # Telegram lets a bot ban members, not the group's creator or other administrators.
    return _rights(me).can_restrict and them.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.RESTRICTED,
    )


async def kick_button(update: Update, context: KpiContext) -> None:
    """Remove a removed member from the group too (ban, then unban: they may be invited again)."""
    q, user = update.callback_query, update.effective_user
    assert q is not None and user is not None
    payload = id_and_choice(q.data or "")
    if payload is None:
        await answer_query(q)
        return
    res = await for_caller(
        update, context, team_uc.confirm_kick, action_id=payload[0], confirm=payload[1] == "ok"
    )
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, Refusal):
        await q.answer(views.refusal_text(lang, res), show_alert=True)
        return
    if isinstance(res, NotRemoved) and res.why == "already":
        await answer_query(q, views.kick_view(lang, res, done=False))
        return
    await answer_query(q)
    done = False
    if isinstance(res, Kick):
        try:
            await context.bot.ban_chat_member(res.chat_id, res.telegram_id)
            await context.bot.unban_chat_member(res.chat_id, res.telegram_id, only_if_banned=True)
            done = True
        except TelegramError as exc:
            log.info("could not remove %s from %s: %s", res.telegram_id, res.chat_id, exc)
    if isinstance(q.message, Message):
        await edit_text(q.message, views.kick_view(lang, res, done=done))


# --- people leaving the group ---------------------------------------------------------------


async def member_changed(update: Update, context: KpiContext) -> None:
    """Notice someone leaving or removed from the group (a `chat_member` update)."""
    cm = update.chat_member
    assert cm is not None
    old, new = cm.old_chat_member, cm.new_chat_member
    was_in = old.status in IN_CHAT and getattr(old, "is_member", True)
    if was_in and new.status in GONE and not new.user.is_bot:
        await _left(update, context, cm.chat.id, new.user.id)


async def left_message(update: Update, context: KpiContext) -> None:
    """Notice someone leaving the group (the `left_chat_member` service message)."""
    msg = update.effective_message
    assert msg is not None
    gone = msg.left_chat_member
    if gone is not None and not gone.is_bot:
        await _left(update, context, msg.chat_id, gone.id)


async def _left(update: Update, context: KpiContext, chat_id: int, telegram_id: int) -> None:
    bd = context.bot_data
    creator = await _creator(context, chat_id)
    now = bd.now()
    res = await unit_of_work(
        update,
        context,
        partial(
            team_uc.member_left,
            chat_id=chat_id,
            telegram_id=telegram_id,
            admins=bd.admins,
            creator_id=creator,
            now=now,
            event=update_key(update),
        ),
    )
    for notice in res.notices if res is not None else ():
        await send_queued(context.bot, bd, notice, now=now)


async def _creator(context: KpiContext, chat_id: int) -> int | None:
    """Return the group's creator's Telegram id, when Telegram tells."""
    try:
        admins = await context.bot.get_chat_administrators(chat_id)
    except TelegramError as exc:
        log.info("could not read the administrators of %s: %s", chat_id, exc)
        return None
    return next((a.user.id for a in admins if a.status == ChatMemberStatus.OWNER), None)


# --- the bot's own rights ---------------------------------------------------------------------


def _rights(member: ChatMember) -> BotRights:
    admin = member.status == ChatMemberStatus.ADMINISTRATOR
    # In a basic group an administrator may pin; Telegram leaves the right out there.
    can_pin = getattr(member, "can_pin_messages", None)
    return BotRights(
        admin=admin,
        can_pin=admin and can_pin is not False,
        can_restrict=admin and bool(getattr(member, "can_restrict_members", False)),
    )


async def bot_rights(update: Update, context: KpiContext) -> None:
    """Tell the leaders what stops working when the bot is demoted or loses rights."""
    cm = update.my_chat_member
    assert cm is not None
    if cm.chat.type == "private" or cm.new_chat_member.status in GONE:
        return
    lost = rights_lost(_rights(cm.old_chat_member), _rights(cm.new_chat_member))
    if not lost:
        return
    bd = context.bot_data
    now = bd.now()
    rows = await unit_of_work(
        update,
        context,
        partial(
            team_uc.bot_rights_changed,
            chat_id=cm.chat.id,
            lost=lost,
            now=now,
            event=update_key(update),
        ),
    )
    for row in rows or ():
        await send_queued(context.bot, bd, row, now=now)
