"""Linking views: the leaders' question about an imported member, and what their answer did."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, t, t_plain
from kpi.exports.usecases import LinkResult


def _who(payload: Mapping[str, Any]) -> str:
    username = str(payload.get("username") or "")
    return f"@{username}" if username else str(payload.get("joiner") or "")


def proposal_text(lang: str, payload: Mapping[str, Any]) -> Html:
    """Ask a leader whether the person who joined is the imported member."""
    return t(
        lang,
        "link.ask",
        who=_who(payload),
        joiner=str(payload.get("joiner") or ""),
        team=str(payload.get("team") or ""),
        imported=str(payload.get("imported") or ""),
        entries=int(payload.get("entries") or 0),
    )


def proposal_buttons(lang: str, payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    """Offer "Link <name> to @user" and "Not the same person"."""
    action = int(payload.get("action") or 0)
    link = t_plain(
        lang, "link.confirm", imported=str(payload.get("imported") or ""), who=_who(payload)
    )
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(link, callback_data=f"lnk:{action}:ok")],
            [
                InlineKeyboardButton(
                    t_plain(lang, "link.decline"), callback_data=f"lnk:{action}:no"
                )
            ],
        ]
    )


def answer_view(lang: str, res: LinkResult) -> Html:
    """Say what a leader's answer did."""
    return t(
        lang,
        f"link.{res.outcome}",
        imported=res.imported,
        joiner=res.joiner,
        entries=res.entries,
    )
