"""The update inbox: updates are stored before Telegram is told they arrived, then handled.

A crash between the two loses nothing (the inbox is drained on start) and doubles nothing (the
handlers' own processed-update key is checked inside their transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from kpi.db import execute, insert_ignore, prepared
from kpi.models import INBOX_DONE, INBOX_FAILED, INBOX_PENDING, InboxUpdate, utcnow


def store(session: Session, items: Sequence[tuple[str, int, dict[str, Any]]]) -> list[str]:
    """Store received updates (key, update_id, payload); return the keys that were new."""
    new: list[str] = []
    now = utcnow()
    stmt = prepared(
        session,
        "inbox.store",
        lambda: (
            insert_ignore(session, InboxUpdate).on_conflict_do_nothing().returning(InboxUpdate.key)
        ),
    )
    for key, update_id, payload in items:
        params = {"key": key, "update_id": update_id, "payload": payload, "received_at": now}
        if execute(session, stmt, params).first() is not None:
            new.append(key)
    return new


def pending(
    session: Session, limit: int = 1000, after_id: int = 0
) -> list[tuple[int, str, dict[str, Any]]]:
    """Return updates stored but not handled yet, oldest first: (row id, key, payload)."""
    rows = session.execute(
        select(InboxUpdate.id, InboxUpdate.key, InboxUpdate.payload)
        .where(InboxUpdate.status == INBOX_PENDING, InboxUpdate.id > after_id)
        .order_by(InboxUpdate.id)
        .limit(limit)
    )
    return [(i, k, p) for i, k, p in rows]


def mark(session: Session, keys: Sequence[str], *, failed: bool = False, error: str = "") -> None:
    """Mark updates handled (or failed, after the error handler has answered)."""
    if not keys:
        return
    stmt = prepared(
        session,
        "inbox.mark",
        lambda: (
            update(InboxUpdate)
            .where(InboxUpdate.key.in_(bindparam("keys", expanding=True)))
            .values(
                status=bindparam("status"),
                processed_at=bindparam("at"),
                attempts=InboxUpdate.attempts + 1,
                error=bindparam("error"),
            )
        ),
    )
    params = {
        "keys": list(keys),
        "status": INBOX_FAILED if failed else INBOX_DONE,
        "at": utcnow(),
        "error": error[:2000] or None,
    }
    execute(session, stmt, params)


def purge(session: Session, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Forget handled updates older than the given age (technical data, not business data)."""
    result = session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.status != INBOX_PENDING, InboxUpdate.received_at < utcnow() - older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def backlog(session: Session, now: dt.datetime) -> tuple[int, float]:
    """Return how many updates are pending and the age in seconds of the oldest (0 if none)."""
    count, oldest = session.execute(
        select(func.count(), func.min(InboxUpdate.received_at)).where(
            InboxUpdate.status == INBOX_PENDING
        )
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return int(count or 0), age
