"""The audit trail: one way to write who changed what, when, and the value before and after,
and one way to read it back (newest first, by or about a person)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, or_, select
from sqlalchemy.orm import Session

from kpi.models import Activity, AuditEvent, Checkin, Member, Membership

# The entity names the trail is read back by (who corrected an entry, the export's history).
ENTRY = "activity"
CHECKIN = "checkin"


def record(
    session: Session,
    *,
    team_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    actor_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuditEvent:
    """Add one audit event to the session and return it."""
    event = AuditEvent(
        team_id=team_id,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    # Without a moment from the caller the column's default (the wall clock) stamps it.
    if now is not None:
        event.created_at = now
    session.add(event)
    return event


@contextlib.contextmanager
def membership_change(
    session: Session, m: Membership, action: str, *, actor_id: int | None, now: dt.datetime
) -> Iterator[None]:
    """Record what the block changes in a membership (role, status, ranking): before and after."""

    def state() -> dict[str, Any]:
        return {MEMBER: m.member_id, "role": m.role, "status": m.status, "ranked": m.ranked}

    before = state()
    yield
    record(
        session,
        team_id=m.team_id,
        actor_id=actor_id,
        action=action,
        entity=MEMBERSHIP,
        entity_id=m.id,
        before=before,
        after=state(),
        now=now,
    )


def record_change(
    session: Session,
    row: Activity | Checkin,
    action: str,
    *,
    actor_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    now: dt.datetime,
) -> AuditEvent:
    """Add an audit event about one entry or a whole check-in, in its team."""
    return record(
        session,
        team_id=row.team_id,
        actor_id=actor_id,
        action=action,
        entity=ENTRY if isinstance(row, Activity) else CHECKIN,
        entity_id=row.id,
        before=before,
        after=after,
        now=now,
    )


# --- reading the trail back (/audit, /mydata, erasure) ----------------------------------------
#
# An event is about a person when it is theirs (the actor), when its entity is the person, their
# membership, or one of their entries or check-ins, or when `before` or `after` names them under
# "member" (a member id). New kinds of events find their person the same way.

MEMBER = "member"
MEMBERSHIP = "membership"


def about(member_id: int) -> ColumnElement[bool]:
    """Select the events by a person or about them (see the convention above)."""
    return or_(
        AuditEvent.actor_id == member_id,
        and_(AuditEvent.entity == MEMBER, AuditEvent.entity_id == member_id),
        and_(
            AuditEvent.entity == MEMBERSHIP,
            AuditEvent.entity_id.in_(
                select(Membership.id).where(Membership.member_id == member_id)
            ),
        ),
        and_(
            AuditEvent.entity == ENTRY,
            AuditEvent.entity_id.in_(select(Activity.id).where(Activity.member_id == member_id)),
        ),
        and_(
            AuditEvent.entity == CHECKIN,
            AuditEvent.entity_id.in_(select(Checkin.id).where(Checkin.member_id == member_id)),
        ),
        # Compared as text: a value that is not a number never breaks the query (PostgreSQL
        # would refuse to cast it).
        cast(AuditEvent.after[MEMBER].as_string(), String) == str(member_id),
        cast(AuditEvent.before[MEMBER].as_string(), String) == str(member_id),
    )


@dataclass(frozen=True)
class Named:
    """A person an event names: their id, the name people see, whether they were erased."""

    id: int
    name: str
    erased: bool


@dataclass(frozen=True)
class AuditItem:
    """One event as the trail shows it (plain data, valid outside the unit of work)."""

    id: int
    team_id: int | None
    at: dt.datetime
    action: str
    entity: str
    entity_id: int | None
    actor: Named | None  # None: the bot itself (a migration, a removal from the group)
    subject: Named | None  # the person the event is about, when it names one
    before: Mapping[str, Any]
    after: Mapping[str, Any]


def recent(
    session: Session,
    team_ids: Sequence[int],
    *,
    member_id: int | None = None,
    limit: int | None = None,
) -> list[AuditItem]:
    """Return the teams' events, newest first, only those by or about a member if one is given."""
    stmt = select(AuditEvent).where(AuditEvent.team_id.in_(team_ids))
    if member_id is not None:
        stmt = stmt.where(about(member_id))
    # Newest first in the order they were written (an import may stamp older moments).
    stmt = stmt.order_by(AuditEvent.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    events = list(session.scalars(stmt))
    wanted = {e.actor_id for e in events if e.actor_id is not None}
    subjects = {e.id: _subject(e) for e in events}
    wanted |= {s for s in subjects.values() if s is not None}
    names = {
        m.id: Named(m.id, m.display_name, m.erased_at is not None)
        for m in (session.scalars(select(Member).where(Member.id.in_(wanted))) if wanted else [])
    }
    return [
        AuditItem(
            e.id,
            e.team_id,
            e.created_at,
            e.action,
            e.entity,
            e.entity_id,
            names.get(e.actor_id) if e.actor_id is not None else None,
            names.get(subjects[e.id] or 0),
            dict(e.before) if isinstance(e.before, dict) else {},
            dict(e.after) if isinstance(e.after, dict) else {},
        )
        for e in events
    ]


def _subject(event: AuditEvent) -> int | None:
    """Return the member an event names, when it names one directly."""
    if event.entity == MEMBER and event.entity_id is not None:
        return event.entity_id
    for side in (event.after, event.before):
        if isinstance(side, dict):
            value = side.get(MEMBER)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None
