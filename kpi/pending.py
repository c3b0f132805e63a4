"""Questions that wait for a button (an amount's reading, a value beyond its bound, a big
edit): one way to ask, one way to find and settle the answer, kept in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from kpi import store
from kpi.models import PendingAction

PENDING_TTL = dt.timedelta(hours=24)


def ask(
    session: Session,
    *,
    kind: str,
    team_id: int | None,
    member_id: int,
    chat_id: int,
    payload: dict[str, Any],
    now: dt.datetime,
) -> PendingAction:
    """Store a question for one member; its id goes into the buttons' payload."""
    action = PendingAction(
        kind=kind,
        team_id=team_id,
        member_id=member_id,
        chat_id=chat_id,
        payload=payload,
        created_at=now,
        expires_at=now + PENDING_TTL,
    )
    session.add(action)
    session.flush()
    return action


def find(session: Session, pending_id: int) -> PendingAction | None:
    """Return the question a button names (None for an id no row can have)."""
    return session.get(PendingAction, pending_id) if 0 < pending_id <= store.MAX_ID else None


def is_open(action: PendingAction, now: dt.datetime) -> bool:
    """Tell whether a question may still be answered (not answered, not expired)."""
    return action.resolved_at is None and action.expires_at > now


def settle(action: PendingAction, choice: str, now: dt.datetime) -> None:
    """Record the answer, so the same buttons cannot answer it twice."""
    action.resolved_at = now
    action.resolution = choice[:32]
