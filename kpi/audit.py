"""The audit trail: one way to write who changed what, when, and the value before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from kpi.models import Activity, AuditEvent, Checkin

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
