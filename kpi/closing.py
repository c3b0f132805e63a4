"""Closed months: once a month's report has been sent, its figures are what bonuses are paid on.

A month is closed when its monthly report (`kpi.posts.registry.MONTHLY`) has gone out to the
team (its claim is sent, or may have reached Telegram); weeks stay open inside the edit window.
After that a rep's backdated entry or correction into the month is refused with the reason; a
leader's goes through only with a reason (`lý do: …` / `reason: …` at the end of the command),
is recorded in the audit trail and flagged in the next leader digest. The report keeps what it
said: its board is stored when it is first built (`snapshot`), and reading it again shows those
figures, with the later changes listed apart (`sent_report`).

The use cases for check-ins and corrections call `admit` before the change and `note` after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import audit, periods
from kpi.calendar import WorkCalendar, calendar_of
from kpi.models import (
    RUN_SENT,
    RUN_UNCERTAIN,
    AuditEvent,
    Member,
    ReportSnapshot,
    ScheduledRun,
    Team,
)
from kpi.periods import Span
from kpi.posts.registry import LEADER_DIGEST, MONTHLY
from kpi.standings import Board, MemberRow, TeamKpi

LATE_CHANGE = "closed.change"  # the audit action of a change into a closed month
MAX_REASON = 200

# `lý do: …`, `ly do: …` or `reason: …` to the end of the text (the colon is required, so a
# note that merely says "lý do" is not read as one).
_REASON = re.compile(r"(?:^|\s)(?:lý\s+do|ly\s+do|reason)\s*:\s*(.*)$", re.IGNORECASE | re.DOTALL)


def split_reason(text: str) -> tuple[str, str | None]:
    """Split `… lý do: khách hủy` into the command and its reason (None without one)."""
    m = _REASON.search(text)
    if m is None:
        return text, None
    reason = " ".join(m.group(1).split())[:MAX_REASON]
    return text[: m.start()].rstrip(), reason or None


def month_label(span: Span) -> str:
    """Name a month the way both languages write it: 11/2026."""
    return span.start.strftime("%m/%Y")


def closed_month(
    session: Session, team: Team, day: dt.date, cal: WorkCalendar | None = None
) -> Span | None:
    """Return the month of `day` when its monthly report has been sent, else None."""
    span = periods.span_of("month", day, cal or calendar_of(session, team))
    sent = session.scalar(
        select(ScheduledRun.id)
        .where(
            ScheduledRun.team_id == team.id,
            ScheduledRun.kind == MONTHLY.key,
            ScheduledRun.period_key == span.key,
            ScheduledRun.status.in_((RUN_SENT, RUN_UNCERTAIN)),
        )
        .limit(1)
    )
    return span if sent is not None else None


@dataclass(frozen=True)
class Refused:
    """A change into a closed month that may not go through: `closed.rep` (a rep's) or
    `closed.reason` (a leader's without a reason); a BadInput code and its parameters."""

    code: str
    month: str

    @property
    def params(self) -> dict[str, object]:
        """Return the message's parameters."""
        return {"month": self.month}


@dataclass(frozen=True)
class Late:
    """A leader's change into a closed month, with its reason: it goes through and is noted."""

    month: str  # the month's span key (2026-11)
    label: str  # 11/2026
    reason: str


def admit(
    session: Session,
    team: Team,
    *,
    leader: bool,
    days: set[dt.date] | list[dt.date] | tuple[dt.date, ...],
    reason: str | None,
) -> Refused | Late | None:
    """Judge a change touching `days`: None when every month is open, else refused or late."""
    cal = calendar_of(session, team)
    closed = next((s for s in (closed_month(session, team, d, cal) for d in days) if s), None)
    if closed is None:
        return None
    if not leader:
        return Refused("closed.rep", month_label(closed))
    if not reason:
        return Refused("closed.reason", month_label(closed))
    return Late(closed.key, month_label(closed), reason)


def note(
    session: Session,
    late: Late,
    *,
    team_id: int,
    actor_id: int,
    what: str,
    entity: str,
    entity_id: int | None,
    day: dt.date,
    member_id: int | None,
    now: dt.datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a change into a closed month (the leader digest flags it, the report lists it)."""
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action=LATE_CHANGE,
        entity=entity,
        entity_id=entity_id,
        after={
            "month": late.month,
            "what": what,
            "day": day.isoformat(),
            "member_id": member_id,
            "reason": late.reason,
            **(details or {}),
        },
        now=now,
    )


# --- what the report said --------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def board_to_json(board: Board) -> dict[str, Any]:
    """Return a board as JSON (what a snapshot stores)."""
    figures: dict[str, Any] = _plain(dataclasses.asdict(board))
    return figures


def board_from_json(data: dict[str, Any]) -> Board:
    """Rebuild a board stored by `board_to_json`."""
    span = data["span"]
    fields = dict(data)
    fields.update(
        span=Span(
            span["period"],
            dt.date.fromisoformat(span["start"]),
            dt.date.fromisoformat(span["end"]),
        ),
        rows=tuple(MemberRow(**r) for r in data["rows"]),
        team=tuple(TeamKpi(**k) for k in data["team"]),
        names=dict(data["names"]),
        reps_on_target=tuple(data["reps_on_target"]),
        not_logged=tuple(data["not_logged"]),
    )
    return Board(**fields)


def snapshot(session: Session, team_id: int, kind: str, period_key: str, board: Board) -> Board:
    """Keep the first board a report was built with and return it (later builds reuse it)."""
    stored = session.scalar(
        select(ReportSnapshot).where(
            ReportSnapshot.team_id == team_id,
            ReportSnapshot.kind == kind,
            ReportSnapshot.period_key == period_key,
        )
    )
    if stored is not None:
        return board_from_json(stored.figures)
    session.add(
        ReportSnapshot(
            team_id=team_id, kind=kind, period_key=period_key, figures=board_to_json(board)
        )
    )
    session.flush()
    return board


@dataclass(frozen=True)
class LateChange:
    """One change into a closed month, as the digest and the re-read report list it."""

    at: dt.datetime
    actor: str
    member: str | None
    what: str
    day: dt.date
    reason: str
    entity_id: int | None


def late_changes(
    session: Session,
    team_id: int,
    *,
    month: str | None = None,
    since: dt.datetime | None = None,
) -> list[LateChange]:
    """Return the changes into closed months (of one month, or since a moment), oldest first."""
    stmt = select(AuditEvent).where(
        AuditEvent.team_id == team_id, AuditEvent.action == LATE_CHANGE
    )
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at > since)
    out = []
    for e in session.scalars(stmt.order_by(AuditEvent.created_at, AuditEvent.id)):
        after = e.after or {}
        if month is not None and after.get("month") != month:
            continue
        actor = session.get(Member, e.actor_id) if e.actor_id is not None else None
        member_id = after.get("member_id")
        member = session.get(Member, member_id) if isinstance(member_id, int) else None
        out.append(
            LateChange(
                e.created_at,
                actor.display_name if actor else "",
                member.display_name if member else None,
                str(after.get("what") or ""),
                dt.date.fromisoformat(str(after.get("day"))),
                str(after.get("reason") or ""),
                e.entity_id,
            )
        )
    return out


def since_last_digest(session: Session, team_id: int) -> dt.datetime | None:
    """Return when the team's last leader digest went out (None: never)."""
    return session.scalar(
        select(func.max(ScheduledRun.finished_at)).where(
            ScheduledRun.team_id == team_id,
            ScheduledRun.kind == LEADER_DIGEST.key,
            ScheduledRun.status.in_((RUN_SENT, RUN_UNCERTAIN)),
        )
    )


@dataclass(frozen=True)
class SentReport:
    """A closed month's report as it was sent, and what changed in the month since."""

    board: Board
    changes: tuple[LateChange, ...]


def sent_report(session: Session, team: Team, span: Span) -> SentReport | None:
    """Return the monthly report of a month as sent (None when it was not sent)."""
    stored = session.scalar(
        select(ReportSnapshot).where(
            ReportSnapshot.team_id == team.id,
            ReportSnapshot.kind == MONTHLY.key,
            ReportSnapshot.period_key == span.key,
        )
    )
    if stored is None or closed_month(session, team, span.start) is None:
        return None
    changes = late_changes(session, team.id, month=span.key)
    return SentReport(board_from_json(stored.figures), tuple(changes))
