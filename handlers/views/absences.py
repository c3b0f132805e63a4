"""Leave views: the /leave list and answers, the leaders' request with its buttons, the
rep's outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, fmt_day, t, t_plain
from handlers.render import clip, command_example, join_lines
from handlers.views.checkins import bad_input_view
from kpi.absences import AbsenceInfo
from kpi.models import ABSENCE_APPROVED, ABSENCE_PENDING
from kpi.usecases.absences import (
    CannotLeave,
    LeaveCancelled,
    LeaveDecided,
    LeaveList,
    LeaveOutcome,
    LeaveSet,
)
from kpi.usecases.outcomes import BadInput, UnknownMember


def days_text(lang: str, first: dt.date, last: dt.date) -> str:
    """Name the days of a leave: `20/11` or `20/11–24/11`."""
    if first == last:
        return fmt_day(first, lang)
    return f"{fmt_day(first, lang)}–{fmt_day(last, lang)}"


def _line(lang: str, a: AbsenceInfo) -> Html:
    key = "leave.item_pending" if a.status == ABSENCE_PENDING else "leave.item"
    return t(lang, key, id=a.id, name=a.name, days=days_text(lang, a.first_day, a.last_day))


def leave_view(lang: str, res: LeaveOutcome) -> Html:
    """Render what /leave did or shows (not a refusal)."""
    if isinstance(res, LeaveList):
        if not res.items:
            return join_lines(t(lang, "leave.none"), t(lang, "leave.hint"))
        away = [a for a in res.items if a.first_day <= res.today]
        upcoming = [a for a in res.items if a.first_day > res.today]
        lines: list[str] = [t(lang, "leave.title", team=res.team_title)]
        if away:
            lines.append(t(lang, "leave.now"))
            lines += [_line(lang, a) for a in away]
        if upcoming:
            lines.append(t(lang, "leave.upcoming"))
            lines += [_line(lang, a) for a in upcoming]
        lines.append(t(lang, "leave.hint"))
        return join_lines(*lines)
    if isinstance(res, LeaveSet):
        a = res.absence
        days = days_text(lang, a.first_day, a.last_day)
        if a.status == ABSENCE_APPROVED:
            return t(lang, "leave.set", name=a.name, days=days, id=a.id)
        if res.asked == 0:
            return t(lang, "leave.requested_nobody", days=days, id=a.id)
        return t(lang, "leave.requested", days=days, id=a.id)
    if isinstance(res, LeaveCancelled):
        a = res.absence
        return t(
            lang, "leave.cancelled", name=a.name, days=days_text(lang, a.first_day, a.last_day)
        )
    if isinstance(res, CannotLeave):
        return cannot_view(lang, res)
    if isinstance(res, UnknownMember):
        return join_lines(
            t(lang, "admin.unknown_member", word=clip(res.word or "")),
            command_example(lang, "leave"),
        )
    assert isinstance(res, BadInput)
    return bad_input_view(lang, res, "leave")


def cannot_view(lang: str, res: CannotLeave) -> Html:
    """Say why a leave was not changed."""
    a = res.absence
    days = days_text(lang, a.first_day, a.last_day) if a is not None else ""
    return t(lang, f"leave.cannot_{res.why}", days=days, name=a.name if a else "")


def decided_view(lang: str, res: LeaveDecided) -> Html:
    """Say what a leader's button did (or that the request was answered before)."""
    a = res.absence
    days = days_text(lang, a.first_day, a.last_day)
    key = f"leave.decided_{a.status}" if a.status in ("approved", "rejected") else "leave.closed"
    text = t(lang, key, name=a.name, days=days)
    return join_lines(t(lang, "leave.already"), text) if res.already else text


def request_text(lang: str, payload: Mapping[str, Any]) -> Html:
    """Ask a leader to approve a rep's leave."""
    first = dt.date.fromisoformat(str(payload.get("first")))
    last = dt.date.fromisoformat(str(payload.get("last")))
    return t(
        lang,
        "leave.ask",
        name=str(payload.get("name") or ""),
        team=str(payload.get("team") or ""),
        days=days_text(lang, first, last),
    )


def request_buttons(lang: str, payload: Mapping[str, Any]) -> InlineKeyboardMarkup:
    """Offer Approve and Reject."""
    absence = int(payload.get("absence") or 0)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(lang, "leave.approve"), callback_data=f"lv:{absence}:ok"
                ),
                InlineKeyboardButton(
                    t_plain(lang, "leave.reject"), callback_data=f"lv:{absence}:no"
                ),
            ]
        ]
    )


def outcome_text(lang: str, payload: Mapping[str, Any]) -> Html:
    """Tell the rep what a leader answered."""
    first = dt.date.fromisoformat(str(payload.get("first")))
    last = dt.date.fromisoformat(str(payload.get("last")))
    key = "leave.told_approved" if payload.get("approved") else "leave.told_rejected"
    return t(
        lang,
        key,
        by=str(payload.get("by") or ""),
        team=str(payload.get("team") or ""),
        days=days_text(lang, first, last),
    )
