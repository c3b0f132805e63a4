"""The command menus Telegram shows, per language and per scope (set_my_commands)."""

from __future__ import annotations

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
)

from handlers.i18n import DEFAULT_LANG, languages, t
from kpi import catalog

# The logging commands come from the metric catalogue (its entries with `menu=True`).
LOGGING = (*catalog.MENU_COMMANDS, *catalog.LOG_COMMANDS[:1])
PRIVATE = (
    "me",
    *LOGGING,
    "undo",
    "history",
    "leaderboard",
    "chart",
    "team",
    "mute",
    "unmute",
    "leave",
    "help",
    "language",
    "export",
    "import",
    "audit",
    "mydata",
    "approvals",
)
GROUP = (*LOGGING, "today", "week", "month", "leaderboard", "team", "leave", "join", "help")
ADMINS = ("setup", "target", "kpi", "settings", "invite", "approvals", "audit", *GROUP)


def _commands(lang: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"commands.{name}")) for name in names]


async def publish_commands(bot: Bot) -> None:
    """Register the menus: Telegram picks one by the app's language, so each is published."""
    scopes: list[tuple[BotCommandScope, tuple[str, ...]]] = [
        (BotCommandScopeAllPrivateChats(), PRIVATE),
        (BotCommandScopeAllGroupChats(), GROUP),
        (BotCommandScopeAllChatAdministrators(), ADMINS),
    ]
    for scope, names in scopes:
        await bot.set_my_commands(_commands(DEFAULT_LANG, names), scope=scope)
        for lang in languages():
            await bot.set_my_commands(_commands(lang, names), scope=scope, language_code=lang)
