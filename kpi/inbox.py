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

# The parts of an update that carry the chat it belongs to (Telegram's `effective_chat`).
_CHAT_HOLDERS = ("message", "edited_message", "channel_post", "edited_channel_post")
# An older version leaves `lane` empty and handles its own rows; after this long they are ours.
OLDER_VERSION_GRACE = dt.timedelta(seconds=30)


def lane_of(key: str, payload: dict[str, Any]) -> str:
    """Return the lane an update is handled in: its chat's id, or its own key if it has none."""
    for kind, body in payload.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        chat = body.get("chat")
        if not isinstance(chat, dict):
            inner = body.get("message")
            chat = inner.get("chat") if isinstance(inner, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return str(chat["id"])
    return f"u:{key}"[:64]


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
        params = {
            "key": key,
            "update_id": update_id,
            "payload": payload,
            "received_at": now,
            "lane": lane_of(key, payload),
        }
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


def fill_lanes(session: Session, now: dt.datetime, limit: int = 500) -> int:
    """Give a lane to pending rows an older version stored without one, once it had its time
    to handle them itself (it does not lease lanes); return how many."""
    rows = session.execute(
        select(InboxUpdate.id, InboxUpdate.key, InboxUpdate.payload)
        .where(
            InboxUpdate.status == INBOX_PENDING,
            InboxUpdate.lane.is_(None),
            InboxUpdate.received_at < now - OLDER_VERSION_GRACE,
        )
        .order_by(InboxUpdate.id)
        .limit(limit)
    ).all()
    for row_id, key, payload in rows:
        session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id == row_id)
            .values(lane=lane_of(key, payload or {}))
        )
    return len(rows)


def last_pending(session: Session) -> int:
    """Return the id of the newest pending update (0 if none)."""
    return int(
        session.scalar(select(func.max(InboxUpdate.id)).where(InboxUpdate.status == INBOX_PENDING))
        or 0
    )


def pending_up_to(session: Session, last_id: int) -> bool:
    """Tell whether an update stored at or before row `last_id` is still pending."""
    return (
        session.scalar(
            select(InboxUpdate.id)
            .where(InboxUpdate.status == INBOX_PENDING, InboxUpdate.id <= last_id)
            .limit(1)
        )
        is not None
    )


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
