"""Leave and absences (nghỉ phép): who is away on which days, in one place.

An approved absence keeps a member out of reminders and out of "has not logged", and their
targets are prorated over the days they are there: the same rule as for a member who joined
mid-period (`kpi.periods.membership_share` with the absence's days left out). A rep's request
waits for a leader (pending); a leader's is in force at once. Nothing is deleted: a cancelled or
rejected absence stays, and every change goes through `kpi.audit`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kpi import audit
from kpi.models import (
    ABSENCE_APPROVED,
    ABSENCE_CANCELLED,
    ABSENCE_PENDING,
    ABSENCE_REJECTED,
    Absence,
    Member,
)

ENTITY = "absence"
# A span of days away, first and last inclusive.
Days = tuple[dt.date, dt.date]
OPEN = (ABSENCE_PENDING, ABSENCE_APPROVED)


def absent_on(session: Session, team_id: int, day: dt.date) -> set[int]:
    """Return the ids of the team's members on approved leave on a local day."""
    return set(
        session.scalars(
            select(Absence.member_id).where(
                Absence.team_id == team_id,
                Absence.status == ABSENCE_APPROVED,
                Absence.first_day <= day,
                Absence.last_day >= day,
            )
        )
    )


def approved_of(
    team_id: InstrumentedAttribute[int], member_id: InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    """Return the condition joining a member of a team to their approved absences."""
    return and_(
        Absence.team_id == team_id,
        Absence.member_id == member_id,
        Absence.status == ABSENCE_APPROVED,
    )


def away_days(
    session: Session, team_ids: Collection[int], first: dt.date | None = None
) -> dict[tuple[int, int], tuple[Days, ...]]:
    """Return each (team, member)'s approved absences (ending on or after `first`)."""
    if not team_ids:
        return {}
    stmt = select(Absence.team_id, Absence.member_id, Absence.first_day, Absence.last_day).where(
        Absence.team_id.in_(list(team_ids)), Absence.status == ABSENCE_APPROVED
    )
    if first is not None:
        stmt = stmt.where(Absence.last_day >= first)
    out: dict[tuple[int, int], list[Days]] = defaultdict(list)
    for team_id, member_id, a, b in session.execute(stmt.order_by(Absence.first_day)):
        out[(team_id, member_id)].append((a, b))
    return {k: tuple(v) for k, v in out.items()}


def days_in(away: Iterable[Days], first: dt.date, last: dt.date) -> list[Days]:
    """Clip absences to the days from `first` to `last`, dropping those outside."""
    return [(max(a, first), min(b, last)) for a, b in away if a <= last and b >= first]


@dataclass(frozen=True)
class AbsenceInfo:
    """One absence as /leave lists it and as its messages name it."""

    id: int
    member_id: int
    name: str
    first_day: dt.date
    last_day: dt.date
    status: str


def info(session: Session, absence: Absence) -> AbsenceInfo:
    """Describe an absence without ORM rows."""
    member = session.get(Member, absence.member_id)
    assert member is not None
    return AbsenceInfo(
        absence.id,
        absence.member_id,
        member.display_name,
        absence.first_day,
        absence.last_day,
        absence.status,
    )


def current_and_upcoming(session: Session, team_id: int, today: dt.date) -> list[AbsenceInfo]:
    """Return the team's approved and pending absences that have not ended, soonest first."""
    rows = session.scalars(
        select(Absence)
        .where(Absence.team_id == team_id, Absence.status.in_(OPEN), Absence.last_day >= today)
        .order_by(Absence.first_day, Absence.id)
    )
    return [info(session, a) for a in rows]


def overlapping(
    session: Session, team_id: int, member_id: int, first: dt.date, last: dt.date
) -> Absence | None:
    """Return an open absence of the member that shares a day with the given days."""
    return session.scalar(
        select(Absence).where(
            Absence.team_id == team_id,
            Absence.member_id == member_id,
            Absence.status.in_(OPEN),
            Absence.first_day <= last,
            Absence.last_day >= first,
        )
    )


def _snapshot(a: Absence) -> dict[str, object]:
    return {
        "member_id": a.member_id,
        "first_day": a.first_day.isoformat(),
        "last_day": a.last_day.isoformat(),
        "status": a.status,
    }


def add(
    session: Session,
    *,
    team_id: int,
    member_id: int,
    first: dt.date,
    last: dt.date,
    actor_id: int,
    approved: bool,
    now: dt.datetime,
) -> Absence:
    """Store an absence: in force when a leader sets it, else waiting for a leader."""
    absence = Absence(
        team_id=team_id,
        member_id=member_id,
        first_day=first,
        last_day=last,
        status=ABSENCE_APPROVED if approved else ABSENCE_PENDING,
        requested_by=actor_id,
        decided_by=actor_id if approved else None,
        decided_at=now if approved else None,
        created_at=now,
    )
    session.add(absence)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="absence.set" if approved else "absence.request",
        entity=ENTITY,
        entity_id=absence.id,
        after=_snapshot(absence),
        now=now,
    )
    return absence


def decide(
    session: Session, absence: Absence, *, approve: bool, actor_id: int, now: dt.datetime
) -> None:
    """Approve or reject a pending absence (the caller checks that it is pending)."""
    before = _snapshot(absence)
    absence.status = ABSENCE_APPROVED if approve else ABSENCE_REJECTED
    absence.decided_by = actor_id
    absence.decided_at = now
    audit.record(
        session,
        team_id=absence.team_id,
        actor_id=actor_id,
        action="absence.approve" if approve else "absence.reject",
        entity=ENTITY,
        entity_id=absence.id,
        before=before,
        after=_snapshot(absence),
        now=now,
    )


def cancel(session: Session, absence: Absence, *, actor_id: int, now: dt.datetime) -> None:
    """Cancel an open absence (kept, marked cancelled)."""
    before = _snapshot(absence)
    absence.status = ABSENCE_CANCELLED
    audit.record(
        session,
        team_id=absence.team_id,
        actor_id=actor_id,
        action="absence.cancel",
        entity=ENTITY,
        entity_id=absence.id,
        before=before,
        after=_snapshot(absence),
        now=now,
    )
