"""Claims on scheduled posts: each post is sent once per recipient and period.

A post is claimed in the database (kind + period + recipient chat) before it is sent, and the
claim is settled after: `sent`, `failed` (a definite failure: it may be claimed again), or
`uncertain` (the process died between Telegram's acceptance and the record: never sent again,
logged). The claim is an `INSERT ... ON CONFLICT` that works the same on SQLite and PostgreSQL,
so two instances on one database cannot both win it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kpi.db import insert_ignore
from kpi.models import (
    RUN_CLAIMED,
    RUN_FAILED,
    RUN_SENT,
    RUN_SKIPPED,
    RUN_UNCERTAIN,
    ScheduledRun,
)

log = logging.getLogger(__name__)

# A claim older than this that was never settled belongs to a process that died mid-send.
STALE_CLAIM = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Claim:
    """A won claim: the run's id, to settle it after sending."""

    id: int
    attempt: int


def claim(
    session: Session,
    *,
    team_id: int,
    kind: str,
    period_key: str,
    chat_id: int,
    due_at: dt.datetime,
    now: dt.datetime,
    instance: str,
) -> Claim | None:
    """Claim one post for one recipient; None when it was sent, is being sent, or is uncertain.

    A definite failure (`failed`) may be claimed again, up to MAX_ATTEMPTS.
    """
    stmt = insert_ignore(session, ScheduledRun).values(
        team_id=team_id,
        kind=kind,
        period_key=period_key,
        chat_id=chat_id,
        status=RUN_CLAIMED,
        instance=instance,
        attempts=1,
        due_at=due_at,
        claimed_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "kind", "period_key", "chat_id"],
        set_={
            "status": RUN_CLAIMED,
            "instance": instance,
            "attempts": ScheduledRun.attempts + 1,
            "claimed_at": now,
            "error": None,
        },
        where=(ScheduledRun.status == RUN_FAILED) & (ScheduledRun.attempts < MAX_ATTEMPTS),
    ).returning(ScheduledRun.id, ScheduledRun.attempts)
    row = session.execute(stmt).first()
    return Claim(int(row[0]), int(row[1])) if row is not None else None


def settle(
    session: Session,
    run_id: int,
    status: str,
    *,
    now: dt.datetime,
    message_ids: list[int] | None = None,
    error: str | None = None,
) -> None:
    """Record how a claimed send ended: sent, failed, skipped or uncertain."""
    assert status in (RUN_SENT, RUN_FAILED, RUN_SKIPPED, RUN_UNCERTAIN)
    session.execute(
        update(ScheduledRun)
        .where(ScheduledRun.id == run_id)
        .values(
            status=status,
            finished_at=now,
            message_ids=",".join(str(m) for m in message_ids) if message_ids else None,
            error=error[:2000] if error else None,
        )
    )


def expire_stale(session: Session, now: dt.datetime) -> int:
    """Mark claims never settled (a crash mid-send) as uncertain, and log each one."""
    stale = session.scalars(
        select(ScheduledRun).where(
            ScheduledRun.status == RUN_CLAIMED, ScheduledRun.claimed_at < now - STALE_CLAIM
        )
    ).all()
    for run in stale:
        run.status = RUN_UNCERTAIN
        run.finished_at = now
        run.error = "the process stopped between sending and recording; not sent again"
        log.warning(
            "post %s %s to chat %s may or may not have been delivered (claimed %s by %s); "
            "not sending it again",
            run.kind,
            run.period_key,
            run.chat_id,
            run.claimed_at.isoformat(),
            run.instance,
        )
    return len(stale)
