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
    approvals,
    checkins,
    corrections,
    errors,
    exports,
    leaders,
    onboarding,
    reports,
    settings,
)
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

    # --- onboarding
    add(CommandHandler("start", onboarding.start, filters=new))
    add(CommandHandler("help", onboarding.help_command, filters=new))
    add(CommandHandler("setup", onboarding.setup, filters=new))
    add(CommandHandler("join", onboarding.join, filters=new))
    add(CommandHandler(["language", "ngonngu"], onboarding.language, filters=new))

    # --- logging: every command of the metric catalogue, and /log (the same reader handles a
    # message when it arrives and when it is edited)
    add(CommandHandler(list(catalog.LOGGING_COMMANDS), checkins.log_command, filters=new))
    add(CommandHandler(["undo", "hoantac"], corrections.undo, filters=new))
    add(CommandHandler(["history", "lichsu"], corrections.history, filters=new))
    add(CommandHandler(["edit", "sua"], corrections.edit, filters=new))
    add(CommandHandler(["void", "huy"], corrections.void, filters=new))

    # --- reports
    add(CommandHandler(["me", "toi"], reports.me, filters=new))
    add(CommandHandler(["leaderboard", "bxh"], reports.leaderboard, filters=new))
    add(
        CommandHandler(
            ["today", "homnay", "week", "tuan", "month", "thang"], reports.summary, filters=new
        )
    )
    add(CommandHandler(["chart", "bieudo"], reports.chart, filters=new))

    # --- leaders
    add(CommandHandler(["target", "chitieu"], leaders.target, filters=new))
    add(CommandHandler("kpi", leaders.kpi, filters=new))
    add(CommandHandler(["settings", "caidat"], settings.settings, filters=new))
    add(CommandHandler(["mute", "tatnhac"], settings.mute, filters=new))
    add(CommandHandler(["unmute", "batnhac"], settings.unmute, filters=new))
    add(CommandHandler(["approvals", "duyet"], approvals.approvals_command, filters=new))

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
    add(CommandHandler(["export", "xuat"], exports.export, filters=new))
    add(CommandHandler(["import", "nhap"], exports.import_help, filters=new))
    add(MessageHandler(new & filters.ChatType.PRIVATE & filters.Document.ALL, exports.document))

    # --- buttons (payloads are short prefixes; state lives in the database)
    add(CallbackQueryHandler(onboarding.language_button, pattern=r"^lang:"))
    add(CallbackQueryHandler(onboarding.team_button, pattern=r"^team:\d+$"))
    add(CallbackQueryHandler(checkins.quick_button, pattern=r"^q:\w+$"))
    add(CallbackQueryHandler(checkins.pending_button, pattern=r"^p:\d+:\w+$"))
    add(CallbackQueryHandler(corrections.undo_button, pattern=r"^u:\d+$"))
    add(CallbackQueryHandler(corrections.edit_button, pattern=r"^e:\d+:\w+$"))
    add(CallbackQueryHandler(settings.settings_button, pattern=r"^set:"))
    add(CallbackQueryHandler(exports.import_button, pattern=r"^imp:\d+:(ok|no)$"))
    add(CallbackQueryHandler(exports.link_button, pattern=r"^lnk:\d+:(ok|no)$"))
    add(CallbackQueryHandler(approvals.decide_button, pattern=r"^ap:\d+:(ok|no)$"))
    add(CallbackQueryHandler(approvals.void_button, pattern=r"^fv:\d+$"))

    # --- edited messages: re-read a check-in in place (never counted twice)
    add(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, checkins.edited))

    # --- plain language last: only what no command took, and only when addressed (the
    # handler checks private chat, a reply to the bot, or a mention)
    add(MessageHandler(new & filters.TEXT & ~filters.COMMAND, checkins.free_text))

    # --- last: a command no handler above took (a typo in private, `/cal@bot` in a group)
    add(MessageHandler(new & filters.COMMAND, onboarding.unknown_command))

    application.add_error_handler(errors.on_error)
