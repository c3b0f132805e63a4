"""The audit trail: one way to write who changed what, when, and the value before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from kpi.models import AuditEvent


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
