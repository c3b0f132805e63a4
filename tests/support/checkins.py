"""What a check-in test reads back: activities, totals, audit events, the bot's one answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from bot.sandbox import ManualClock, Sandbox, SentMessage
from kpi.models import Activity, AuditEvent, Member

Row = tuple[str, int, int | None, str, dt.date]


def rows(db: Any, *, status: str | None = None) -> list[Row]:
    """Return (metric, value, amount, status, day) of every activity, oldest first."""
    stmt = select(Activity).order_by(Activity.id)
    if status is not None:
        stmt = stmt.where(Activity.status == status)
    with db.transaction() as s:
        return [(a.metric, a.value, a.amount, a.status, a.day) for a in s.scalars(stmt)]


def active_total(db: Any, metric: str, member: str | None = None) -> int:
    """Return the counted total of one metric (optionally for one person by first name)."""
    stmt = select(func.coalesce(func.sum(Activity.value), 0)).where(
        Activity.metric == metric, Activity.status == "active"
    )
    if member is not None:
        stmt = stmt.join(Member, Member.id == Activity.member_id).where(
            Member.first_name == member
        )
    with db.transaction() as s:
        return int(s.scalar(stmt) or 0)


def audits(db: Any, action: str) -> list[AuditEvent]:
    """Return the audit events of one kind, oldest first."""
    with db.transaction() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def one(answers: list[SentMessage]) -> SentMessage:
    """Return the one message the bot answered with."""
    assert len(answers) == 1, [a.text for a in answers]
    return answers[0]


def celebrations(sandbox: Sandbox, group: Any) -> list[str]:
    """Return the deal celebrations posted in the group."""
    return [m.text or "" for m in sandbox.sent(group) if (m.text or "").startswith("🎉")]


def later(sandbox: Sandbox) -> None:
    """Let a second pass on the sandbox's clock.

    Telegram stamps edits in whole seconds and the bot reads each edit once per stamp, so two
    edits of one message within the same second would look like one (handlers.context.update_key).
    """
    if not isinstance(sandbox.clock, ManualClock):
        sandbox.clock = ManualClock(float(int(sandbox.clock())))
    sandbox.clock.advance(1)
