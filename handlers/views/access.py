"""The one view of a refusal: why the caller may not do this here."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from handlers.i18n import Html, t
from handlers.render import team_keyboard
from kpi.access import Refusal


def refusal_view(
    lang: str, refusal: Refusal, *, in_group: bool
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """Explain a refusal (which team, no team, not a member, leaders only) with its keyboard."""
    if refusal.reason == "choose_team":
        return t(lang, "scope.choose_team"), team_keyboard(refusal.choices)
    if refusal.reason == "no_team":
        return t(lang, "scope.no_team"), None
    if refusal.reason == "not_leader":
        return t(lang, "scope.leader_only"), None
    if refusal.reason == "not_admin":
        return t(lang, "scope.admin_only"), None
    return t(lang, "scope.not_member_group" if in_group else "scope.not_member"), None


def refusal_short(lang: str, refusal: Refusal) -> Html:
    """Explain a refusal in a button's answer (no keyboard, no group wording)."""
    if refusal.reason == "not_leader":
        return t(lang, "scope.leader_only")
    if refusal.reason == "not_admin":
        return t(lang, "scope.admin_only")
    return t(lang, f"scope.{refusal.reason}")
