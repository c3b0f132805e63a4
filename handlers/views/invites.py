"""Invite views: a new link (shown once), the open links, a revocation; the leaders' join request
with its Approve / Reject buttons, what a press did, and the answer the person who asked gets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, t, t_plain
from handlers.render import example_line, join_lines
from kpi.usecases.invites import (
    InviteLine,
    InviteList,
    InviteMade,
    InviteOutcome,
    InviteRevoked,
    JoinAnswer,
)
from kpi.usecases.outcomes import BadInput


def invite_link(bot_username: str, token: str) -> str:
    """Return the deep link that opens the bot with the token (`/start <token>`)."""
    return f"https://t.me/{bot_username}?start={token}"


def _expires(line: InviteLine) -> str:
    # The team's local time, as both languages write it: 26/11/2026 10:00.
    return f"{line.expires_at:%d/%m/%Y %H:%M}"


def invite_view(lang: str, res: InviteOutcome, bot_username: str) -> Html:
    """Render what /invite did (a refusal is rendered by the access view)."""
    if isinstance(res, InviteMade):
        line = res.line
        return t(
            lang,
            "invite.made_once" if line.single_use else "invite.made_multi",
            id=line.id,
            team=res.team,
            expires=_expires(line),
            link=invite_link(bot_username, res.token),
        )
    if isinstance(res, InviteList):
        if not res.lines:
            return t(lang, "invite.list_none", team=res.team)
        rows = [
            t(
                lang,
                "invite.list_line_once" if line.single_use else "invite.list_line_multi",
                id=line.id,
                expires=_expires(line),
                uses=line.uses,
            )
            for line in res.lines
        ]
        return join_lines(
            t(lang, "invite.list_title", team=res.team), *rows, t(lang, "invite.list_hint")
        )
    if isinstance(res, InviteRevoked):
        return t(lang, f"invite.revoke_{res.status}", id=res.invite_id)
    assert isinstance(res, BadInput)
    example = "invite.example_revoke" if res.code == "invite.bad_revoke" else "invite.example"
    return join_lines(t(lang, res.code), example_line(lang, t_plain(lang, example)))


# --- join approval ---------------------------------------------------------------------------


def _who(payload: Mapping[str, Any]) -> str:
    name = str(payload.get("name") or "")
    username = str(payload.get("username") or "")
    return f"{name} (@{username})" if username else name


def request_text(lang: str, payload: Mapping[str, Any]) -> Html:
    """Ask a leader whether a person may join the team."""
    return t(lang, "joinreq.ask", who=_who(payload), team=str(payload.get("team") or ""))


def request_buttons(lang: str, payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    """Offer Approve and Reject."""
    action = int(payload.get("action") or 0)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(lang, "joinreq.approve"), callback_data=f"jr:{action}:ok"
                ),
                InlineKeyboardButton(
                    t_plain(lang, "joinreq.reject"), callback_data=f"jr:{action}:no"
                ),
            ]
        ]
    )


def answer_view(lang: str, res: JoinAnswer) -> Html:
    """Say what a leader's press did, or who decided before."""
    if res.outcome in ("approved", "rejected") and not res.now:
        return t(lang, f"joinreq.already_{res.outcome}", by=res.by, name=res.name)
    return t(lang, f"joinreq.{res.outcome}", name=res.name, team=res.team)


def told_text(lang: str, payload: Mapping[str, Any]) -> Html:
    """Tell the person who asked what the leaders decided."""
    decision = "approved" if payload.get("decision") == "approved" else "rejected"
    return t(
        lang,
        f"joinreq.told_{decision}",
        name=str(payload.get("name") or ""),
        team=str(payload.get("team") or ""),
    )
