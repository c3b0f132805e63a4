"""Messages that follow a committed effect: written with the effect, sent and settled after it.

A use case (or the handler composing its unit of work) calls `enqueue` inside the transaction of
the effect, so the message exists exactly when the effect does. After the commit a sender claims
the row (`claim`: an UPDATE ... WHERE status = 'pending' RETURNING, so two senders never send one
row), sends it and settles it (`settle`): sent; pending again after a definite failure (Telegram
refused it, or it never left: retried later with backoff); uncertain when it may have reached
Telegram (never sent again, logged); failed when the attempts are used up or the chat is gone.
A claim is the attempt: a row left `sending` by a process that died is uncertain, not resent.

A confirmation that could not be sent (failed or uncertain) is shown with the person's next
answer: `unconfirmed` lists them, `mark_shown` records that they were.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from kpi.db import execute, gone_holder, insert_ignore, prepared
from kpi.models import (
    CHECKIN_ACTIVE,
    ENTRY_ACTIVE,
    ENTRY_PENDING,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_UNCERTAIN,
    Activity,
    Checkin,
    OutboxMessage,
)
from kpi.posts import registry
from kpi.store import StoredEntry, stored_entry, stored_text

log = logging.getLogger(__name__)

CONFIRMATION = "confirmation"
CELEBRATION = registry.CELEBRATION.key  # the deal celebration post kind

# A row claimed this long ago and never settled belongs to a sender that died mid-send.
STALE_SEND = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_BACKOFF = dt.timedelta(minutes=30)
# How many unconfirmed check-ins one answer shows at most.
SHOWN_AT_ONCE = 5

_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.chat_id,
    OutboxMessage.thread_id,
    OutboxMessage.reply_to,
    OutboxMessage.text,
    OutboxMessage.payload,
    OutboxMessage.buttons,
    OutboxMessage.attempts,
)


@dataclass(frozen=True)
class Message:
    """One outbox row as a sender needs it."""

    id: int
    kind: str
    chat_id: int
    thread_id: int | None
    reply_to: int | None
    text: str | None
    payload: dict[str, Any] | None
    buttons: dict[str, Any] | None
    attempts: int


def _message(row: Any) -> Message:
    return Message(*row)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    chat_id: int,
    now: dt.datetime,
    text: str | None = None,
    payload: dict[str, Any] | None = None,
    buttons: dict[str, Any] | None = None,
    thread_id: int | None = None,
    reply_to: int | None = None,
    team_id: int | None = None,
    user_id: int | None = None,
    ref_id: int | None = None,
    sending_by: str | None = None,
) -> Message | None:
    """Write a message to send once the caller's transaction commits; None if `key` exists.

    `text` is ready Telegram HTML; otherwise `payload` says what the sender renders. With
    `sending_by` the row is claimed at once by that instance, which sends it right after the
    commit (one transaction fewer on the hot path; a crash leaves it uncertain, never resent).
    """
    claimed = sending_by is not None
    stmt = prepared(
        session,
        "outbox.enqueue",
        lambda: (
            insert_ignore(session, OutboxMessage.__table__)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(*_COLUMNS)
        ),
    )
    params = {
        "key": key[:128],
        "kind": kind,
        "team_id": team_id,
        "chat_id": chat_id,
        "thread_id": thread_id,
        "reply_to": reply_to,
        "user_id": user_id,
        "ref_id": ref_id,
        # What people typed can be quoted back; PostgreSQL refuses NUL in text.
        "text": stored_text(text),
        "payload": payload,
        "buttons": buttons,
        "status": OUTBOX_SENDING if claimed else OUTBOX_PENDING,
        "attempts": 1 if claimed else 0,
        "instance": sending_by,
        "created_at": now,
        "claimed_at": now if claimed else None,
    }
    row = execute(session, stmt, params).first()
    return _message(row) if row is not None else None


def enqueue_celebration(
    session: Session,
    *,
    key: str,
    team_id: int,
    chat_id: int,
    thread_id: int | None,
    language: str,
    name: str,
    amount: int | None,
    count: int,
    now: dt.datetime,
) -> Message | None:
    """Queue a deal's congratulation for the team's group (rendered in the team's language)."""
    return enqueue(
        session,
        key=key,
        kind=CELEBRATION,
        chat_id=chat_id,
        thread_id=thread_id,
        team_id=team_id,
        payload={"lang": language, "name": name, "amount": amount, "count": count},
        now=now,
    )


def claim(session: Session, message_id: int, *, now: dt.datetime, instance: str) -> Message | None:
    """Take a pending row for sending; None when another sender has it or it is settled."""
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OUTBOX_PENDING)
        .values(
            status=OUTBOX_SENDING,
            attempts=OutboxMessage.attempts + 1,
            claimed_at=now,
            instance=instance,
        )
        .returning(*_COLUMNS)
    )
    row = session.execute(stmt).first()
    return _message(row) if row is not None else None


def due(session: Session, now: dt.datetime, limit: int = 100) -> list[int]:
    """Return the ids of pending rows whose next attempt is due, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OUTBOX_PENDING,
                (OutboxMessage.next_at.is_(None)) | (OutboxMessage.next_at <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def settle(
    session: Session,
    message_id: int,
    status: str,
    *,
    now: dt.datetime,
    sent_id: int | None = None,
    error: str | None = None,
    chat_id: int | None = None,
) -> str:
    """Record how a send ended; a definite failure goes back to pending with backoff.

    Returns the status stored: `pending` becomes `failed` once the attempts are used up.
    """
    assert status in (OUTBOX_SENT, OUTBOX_PENDING, OUTBOX_UNCERTAIN, OUTBOX_FAILED)
    if status == OUTBOX_SENT:
        # The common case, after every check-in: one statement.
        shown = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=OUTBOX_SENT, sent_at=now, message_id=sent_id, error=None)
            .returning(OutboxMessage.payload)
        ).scalar()
        # What this message showed of earlier unconfirmed check-ins has now been seen.
        mark_shown(session, [int(i) for i in (shown or {}).get("shows") or []], now)
        return status
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return status
    if status == OUTBOX_PENDING and row.attempts >= MAX_ATTEMPTS:
        status = OUTBOX_FAILED
    row.status = status
    row.error = error[:2000] if error else None
    if chat_id is not None:
        row.chat_id = chat_id
    if status == OUTBOX_PENDING:
        row.next_at = now + min(dt.timedelta(minutes=2 ** max(row.attempts - 1, 0)), MAX_BACKOFF)
    else:
        log.warning(
            "outbox %s %s to chat %s is %s after %s attempt(s): %s",
            row.kind,
            row.key,
            row.chat_id,
            status,
            row.attempts,
            row.error,
        )
    return status


@dataclass(frozen=True)
class Sent:
    """A row Telegram accepted: its id, the message id Telegram gave it, what it showed."""

    message_id: int
    sent_id: int | None
    at: dt.datetime
    shows: tuple[int, ...] = ()


_SETTLE_SENT = (
    update(OutboxMessage.__table__)  # type: ignore[arg-type]
    .where(OutboxMessage.__table__.c.id == bindparam("row_id"))
    .values(
        status=OUTBOX_SENT, sent_at=bindparam("at"), message_id=bindparam("sent_id"), error=None
    )
)


def settle_sent(session: Session, sent: Sequence[Sent]) -> None:
    """Settle rows Telegram accepted, in one statement (what `settle` does for one, in bulk)."""
    if not sent:
        return
    session.connection().execute(
        _SETTLE_SENT,
        [{"row_id": s.message_id, "at": s.at, "sent_id": s.sent_id} for s in sent],
    )
    for s in sent:
        # What the message showed of earlier unconfirmed check-ins has now been seen.
        mark_shown(session, list(s.shows), s.at)


def expire_stale(
    session: Session,
    now: dt.datetime,
    *,
    instance: str | None = None,
    started: dt.datetime | None = None,
) -> int:
    """Mark rows whose sender died mid-send as uncertain (logged); return how many.

    Stale: claimed longer than STALE_SEND ago, or claimed by this instance before it started.
    """
    gone = gone_holder(
        OutboxMessage.claimed_at,
        OutboxMessage.instance,
        now=now,
        stale=STALE_SEND,
        instance=instance,
        started=started,
    )
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OUTBOX_SENDING, gone)
    ).all()
    for row in rows:
        row.status = OUTBOX_UNCERTAIN
        row.error = "the sender stopped between sending and recording; not sent again"
        log.warning(
            "outbox %s %s to chat %s may or may not have been delivered (claimed %s by %s); "
            "not sending it again",
            row.kind,
            row.key,
            row.chat_id,
            row.claimed_at.isoformat() if row.claimed_at else "?",
            row.instance,
        )
    return len(rows)


@dataclass(frozen=True)
class Unconfirmed:
    """A stored check-in whose confirmation never reached its author (for a later answer)."""

    id: int
    checkin_id: int
    day: dt.date
    entries: tuple[StoredEntry, ...]  # empty when the check-in was voided since


def unconfirmed(session: Session, *, user_id: int) -> list[Unconfirmed]:
    """Return the person's check-ins whose confirmation failed or may not have arrived."""
    # Asked after every check-in (and almost always empty): built once.
    stmt = prepared(
        session,
        "outbox.unconfirmed",
        lambda: (
            select(OutboxMessage.id, Checkin.id, Checkin.day, Checkin.status)
            .join(Checkin, Checkin.id == OutboxMessage.ref_id)
            .where(
                OutboxMessage.user_id == bindparam("user_id"),
                OutboxMessage.status.in_((OUTBOX_FAILED, OUTBOX_UNCERTAIN)),
                OutboxMessage.kind == CONFIRMATION,
                OutboxMessage.shown_at.is_(None),
            )
            .order_by(OutboxMessage.id)
            .limit(SHOWN_AT_ONCE)
        ),
    )
    rows = execute(session, stmt, {"user_id": user_id}).all()
    if not rows:
        return []
    active = [checkin_id for _, checkin_id, _, status in rows if status == CHECKIN_ACTIVE]
    entries: dict[int, list[StoredEntry]] = {}
    if active:
        for a in session.scalars(
            select(Activity)
            .where(
                Activity.checkin_id.in_(active),
                Activity.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
            )
            .order_by(Activity.id)
        ):
            entries.setdefault(a.checkin_id, []).append(stored_entry(a))
    return [
        Unconfirmed(row_id, checkin_id, day, tuple(entries.get(checkin_id, ())))
        for row_id, checkin_id, day, _ in rows
    ]


def mark_shown(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    """Record that these unconfirmed check-ins were shown to their author."""
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.shown_at.is_(None))
            .values(shown_at=now)
        )


def purge(
    session: Session, now: dt.datetime, older_than: dt.timedelta = dt.timedelta(days=7)
) -> int:
    """Forget settled rows older than the given age (technical data, not business data)."""
    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.notin_((OUTBOX_PENDING, OUTBOX_SENDING)),
            OutboxMessage.created_at < now - older_than,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
