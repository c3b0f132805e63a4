"""Telegram handlers: `register(application)` adds every handler, in order."""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import (
    absences,
    approvals,
    checkins,
    corrections,
    errors,
    exports,
    invites,
    leaders,
    onboarding,
    privacy,
    records,
    reports,
    settings,
    team,
)
from handlers.commands import names
from kpi import catalog


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler to the application: the one ordered handler table."""
    # Commands fire on new messages only: an edited message is re-read by its own handler
    # (python-telegram-bot's CommandHandler would otherwise fire again on the edit).
    new = filters.UpdateType.MESSAGE
    add = application.add_handler

    # --- group 0: service messages first (a migration must move the team before anything else)
    add(MessageHandler(filters.StatusUpdate.MIGRATE, onboarding.migrate))
    add(ChatMemberHandler(onboarding.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    # Someone leaving the group: `chat_member` reaches an administrator bot only, the service
    # message every bot in the group; both are read, the second changes nothing more.
    add(ChatMemberHandler(team.member_changed, ChatMemberHandler.CHAT_MEMBER))
    add(MessageHandler(filters.StatusUpdate.LEFT_CHAT_MEMBER, team.left_message))

    # --- onboarding
    add(CommandHandler(names("start"), onboarding.start, filters=new))
    add(CommandHandler(names("help"), onboarding.help_command, filters=new))
    add(CommandHandler(names("setup"), onboarding.setup, filters=new))
    add(CommandHandler(names("join"), onboarding.join, filters=new))
    add(CommandHandler(names("language"), onboarding.language, filters=new))

    # --- logging: every command of the metric catalogue, and /log (the same reader handles a
    # message when it arrives and when it is edited)
    add(CommandHandler(list(catalog.LOGGING_COMMANDS), checkins.log_command, filters=new))
    add(CommandHandler(names("undo"), corrections.undo, filters=new))
    add(CommandHandler(names("history"), corrections.history, filters=new))
    add(CommandHandler(names("edit"), corrections.edit, filters=new))
    add(CommandHandler(names("void"), corrections.void, filters=new))

    # --- reports
    add(CommandHandler(names("me"), reports.me, filters=new))
    add(CommandHandler(names("leaderboard"), reports.leaderboard, filters=new))
    add(CommandHandler(names("today", "week", "month"), reports.summary, filters=new))
    add(CommandHandler(names("chart"), reports.chart, filters=new))

    # --- leaders
    add(CommandHandler(names("target"), leaders.target, filters=new))
    add(CommandHandler(names("kpi"), leaders.kpi, filters=new))
    add(CommandHandler(names("settings"), settings.settings, filters=new))
    add(CommandHandler(names("team"), team.team, filters=new))
    add(CommandHandler(names("mute"), settings.mute, filters=new))
    add(CommandHandler(names("unmute"), settings.unmute, filters=new))
    add(CommandHandler(names("invite"), invites.invite, filters=new))
    add(CommandHandler(names("leave"), absences.leave, filters=new))
    add(CommandHandler(names("approvals"), approvals.approvals_command, filters=new))

    # --- deals with a photo of the contract: captioned `/deal …`, or a reply to the deal's
    # confirmation (CommandHandler does not read captions)
    add(
        MessageHandler(
            new & filters.PHOTO & filters.CaptionRegex(r"^/(deal|chot)(@\w+)?(\s|$)"),
            checkins.photo_deal,
        )
    )
    add(MessageHandler(new & filters.PHOTO & filters.REPLY, approvals.photo_reply))

    # --- data in and out (leaders): Excel exports, spreadsheet imports
    add(CommandHandler(names("export"), exports.export, filters=new))
    add(CommandHandler(names("import"), exports.import_help, filters=new))
    add(MessageHandler(new & filters.ChatType.PRIVATE & filters.Document.ALL, exports.document))

    # --- records and personal data: the audit trail (leaders), the company view and erasure
    # (configured admins), a person's own data (anyone)
    add(CommandHandler(names("audit"), records.audit, filters=new))
    add(CommandHandler(names("org"), records.org, filters=new))
    add(CommandHandler(names("mydata"), privacy.mydata, filters=new))
    add(CommandHandler(names("erase"), privacy.erase, filters=new))

    # --- buttons (payloads are short prefixes; state lives in the database)
    add(CallbackQueryHandler(onboarding.language_button, pattern=r"^lang:"))
    add(CallbackQueryHandler(onboarding.team_button, pattern=r"^team:\d+$"))
    add(CallbackQueryHandler(checkins.quick_button, pattern=r"^q:\w+$"))
    add(CallbackQueryHandler(checkins.pending_button, pattern=r"^p:\d+:\w+$"))
    add(CallbackQueryHandler(corrections.undo_button, pattern=r"^u:\d+$"))
    add(CallbackQueryHandler(corrections.edit_button, pattern=r"^e:\d+:\w+$"))
    add(CallbackQueryHandler(settings.settings_button, pattern=r"^set:"))
    add(CallbackQueryHandler(team.member_button, pattern=r"^mb:\d+(:\w+)?$"))
    add(CallbackQueryHandler(team.remove_button, pattern=r"^mbr:\d+:(ok|no)$"))
    add(CallbackQueryHandler(team.kick_button, pattern=r"^mbk:\d+:(ok|no)$"))
    add(CallbackQueryHandler(exports.import_button, pattern=r"^imp:\d+:(ok|no)$"))
    add(CallbackQueryHandler(exports.link_button, pattern=r"^lnk:\d+:(ok|no)$"))
    add(CallbackQueryHandler(invites.join_request_button, pattern=r"^jr:\d+:(ok|no)$"))
    add(CallbackQueryHandler(absences.leave_button, pattern=r"^lv:\d+:(ok|no)$"))
    add(CallbackQueryHandler(privacy.erase_button, pattern=r"^er:\d+:(ok|no)$"))
    add(CallbackQueryHandler(approvals.decide_button, pattern=r"^ap:\d+:(ok|no)$"))
    add(CallbackQueryHandler(approvals.void_button, pattern=r"^fv:\d+$"))

    # --- edited messages: re-read a check-in in place (never counted twice)
    add(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, checkins.edited))

    # --- plain language last: only what no command took, and only when addressed (the
    # handler checks private chat, a reply to the bot, or a mention)
    add(MessageHandler(new & filters.TEXT & ~filters.COMMAND, checkins.free_text))

    # --- last: a command no handler above took (a typo in private, `/cal@bot` in a group)
    add(MessageHandler(new & filters.COMMAND, onboarding.unknown_command))

    # --- group 1: the bot's own rights changed (group 0 above marks a team whose group removed
    # the bot; this tells the leaders what stops working when the bot is demoted)
    add(ChatMemberHandler(team.bot_rights, ChatMemberHandler.MY_CHAT_MEMBER), group=1)

    application.add_error_handler(errors.on_error)
