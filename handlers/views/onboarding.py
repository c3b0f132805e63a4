"""Onboarding views: /start, /help, an unknown command, /setup, /join, /language, team choice."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, languages, t, t_plain
from handlers.render import join_lines
from kpi.usecases.onboarding import (
    CannotJoin,
    Joined,
    Language,
    SetUp,
    SetupRefused,
    StartResult,
    TeamGone,
    TeamPicked,
)


def start_view(lang: str, res: StartResult, first_name: str) -> Html:
    """Greet, say what an invite link did, and list the person's teams."""
    parts: list[str] = [t(lang, "start.welcome", name=first_name)]
    if res.invite != "none":
        parts.append(t(lang, f"start.invite_{res.invite}", team=res.invite_team or ""))
    if res.teams:
        parts.append(t(lang, "start.teams", teams=", ".join(c.title for c in res.teams)))
        parts.append(t(lang, "start.try"))
    else:
        parts.append(t(lang, "start.no_teams"))
    return join_lines(*parts)


def help_view(lang: str, leader: bool) -> Html:
    """List the commands, the leaders' part only for those who may use it."""
    return join_lines(
        t(lang, "help.title"),
        t(lang, "help.rep"),
        t(lang, "help.leader") if leader else None,
        t(lang, "help.deals") if leader else None,
        t(lang, "help.footer"),
    )


def unknown_command_view(lang: str, typed: str, suggestion: str | None) -> Html:
    """Say the command is not one of ours, with the closest one when there is one."""
    if suggestion is None:
        return t(lang, "help.unknown_command", command=typed)
    return t(lang, "help.unknown_command_closest", command=typed, closest=suggestion)


def setup_view(lang: str, res: SetUp | SetupRefused, name: str, *, bot_admin: bool) -> Html:
    """Say what /setup did and what comes next, or why it did nothing."""
    if isinstance(res, SetupRefused):
        return t(lang, f"setup.{res.why}", team=res.team_title)
    return join_lines(
        t(lang, f"setup.{res.how}", team=res.team_title, name=name),
        t(lang, "setup.next"),
        None if bot_admin else t(lang, "setup.needs_admin"),
    )


def open_private_button(lang: str, bot_username: str) -> InlineKeyboardMarkup:
    """A button that opens the private chat with the bot."""
    url = f"https://t.me/{bot_username}"
    return InlineKeyboardMarkup([[InlineKeyboardButton(t(lang, "join.open_private"), url=url)]])


def join_view(
    lang: str, res: Joined | CannotJoin, name: str, bot_username: str
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """Say what /join did; offer the private chat the bot needs for reminders."""
    if isinstance(res, CannotJoin):
        return t(lang, f"join.{res.why}"), None
    text = t(lang, f"join.{res.status}", name=name, team=res.team_title)
    if not res.can_message and res.status in ("joined", "rejoined", "already", "pending"):
        text = join_lines(text, t(lang, "join.open_private_hint"))
        return text, open_private_button(lang, bot_username)
    return text, None


def language_view(lang: str, res: Language) -> tuple[Html, InlineKeyboardMarkup | None]:
    """Confirm a language set, or show the current one with a button per language."""
    if res.changed:
        return t(lang, "language.set"), None
    # Each language's button is written in that language, whoever reads it.
    buttons = [
        InlineKeyboardButton(t_plain(code, "language.self_name"), callback_data=f"lang:{code}")
        for code in languages()
    ]
    return t(lang, "language.current"), InlineKeyboardMarkup([buttons])


def team_choice_view(lang: str, res: TeamPicked | TeamGone) -> Html:
    """Confirm the team chosen for the private chat, or say it is gone."""
    if isinstance(res, TeamPicked):
        return t(lang, "scope.team_chosen", team=res.team_title)
    return t(lang, "scope.team_gone")
