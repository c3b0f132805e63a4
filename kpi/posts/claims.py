"""Claims on scheduled posts: each post is sent once per recipient and period.

A post is claimed in the database (kind + period + recipient chat) before it is built, marked
`attempted` just before its first message goes out, and settled after: `sent`, `failed` (a
definite failure: it may be claimed again), or `uncertain` (it may have reached Telegram without
a record: never sent again, logged). The claim is an `INSERT ... ON CONFLICT` that works the same
on SQLite and PostgreSQL, so two instances on one database cannot both win it.

The attempt is recorded apart from the claim because the two failures differ: a holder that
stopped before sending (a restart, a crash while rendering) sent nothing, so its claim is
reopened and the post goes out inside its grace window; a holder that stopped after it started
sending may have delivered, so its claim becomes uncertain. `attempt` is a compare-and-set on the
claim's generation (`attempts`): a holder whose claim was reopened and taken over never sends.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kpi.db import gone_holder, insert_ignore
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
        attempted=False,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "kind", "period_key", "chat_id"],
        set_={
            "status": RUN_CLAIMED,
            "instance": instance,
            "attempts": ScheduledRun.attempts + 1,
            "claimed_at": now,
            "attempted": False,
            "attempted_at": None,
            "error": None,
        },
        where=(ScheduledRun.status == RUN_FAILED) & (ScheduledRun.attempts < MAX_ATTEMPTS),
    ).returning(ScheduledRun.id, ScheduledRun.attempts)
    row = session.execute(stmt).first()
    return Claim(int(row[0]), int(row[1])) if row is not None else None


def attempt(session: Session, *, run_id: int, attempt: int, now: dt.datetime) -> bool:
    """Record that the holder of this claim starts sending; False if the claim is no longer its.

    A stale claim that was never attempted may be reopened and taken by another sender; the
    generation check makes sure the first holder then sends nothing.
    """
    stmt = (
        update(ScheduledRun)
        .where(
            ScheduledRun.id == run_id,
            ScheduledRun.status == RUN_CLAIMED,
            ScheduledRun.attempts == attempt,
            ScheduledRun.attempted.is_(False),
        )
        .values(attempted=True, attempted_at=now)
        .returning(ScheduledRun.id)
    )
    return session.execute(stmt).first() is not None


def settle(
    session: Session,
    run_id: int,
    status: str,
    *,
    now: dt.datetime,
    message_ids: list[int] | None = None,
    error: str | None = None,
    attempt: int | None = None,
) -> None:
    """Record how a claimed send ended: sent, failed, skipped or uncertain.

    With `attempt` only that generation of the claim is settled (a holder whose claim was taken
    over records nothing).
    """
    assert status in (RUN_SENT, RUN_FAILED, RUN_SKIPPED, RUN_UNCERTAIN)
    stmt = update(ScheduledRun).where(ScheduledRun.id == run_id)
    if attempt is not None:
        stmt = stmt.where(ScheduledRun.attempts == attempt)
    session.execute(
        stmt.values(
            status=status,
            # Outside a claim the flag means nothing; an older version re-claiming this row
            # leaves it NULL, which reads as "may have been sent".
            attempted=None,
            finished_at=now,
            message_ids=",".join(str(m) for m in message_ids) if message_ids else None,
            error=error[:2000] if error else None,
        )
    )


def expire_stale(
    session: Session,
    now: dt.datetime,
    *,
    instance: str | None = None,
    started: dt.datetime | None = None,
) -> int:
    """Settle claims whose holder is gone; return how many became uncertain (each logged).

    Gone: claimed longer than STALE_CLAIM ago, or claimed by this instance before it started. A
    claim never attempted is reopened (`failed`: the post is sent again inside its grace
    window); one attempted, or from a version that did not record attempts, is uncertain.
    """
    gone = gone_holder(
        ScheduledRun.claimed_at,
        ScheduledRun.instance,
        now=now,
        stale=STALE_CLAIM,
        instance=instance,
        started=started,
    )
    stale = session.scalars(
        select(ScheduledRun).where(ScheduledRun.status == RUN_CLAIMED, gone)
    ).all()
    uncertain = 0
    for run in stale:
        never_sent = run.attempted is False
        run.attempted = None
        if never_sent:
            run.status = RUN_FAILED
            run.error = "the holder stopped before sending; to be sent again"
            log.info(
                "post %s %s to chat %s was claimed by %s at %s but never sent; sending it again",
                run.kind,
                run.period_key,
                run.chat_id,
                run.instance,
                run.claimed_at.isoformat(),
            )
            continue
        uncertain += 1
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
    return uncertain


def count_by_status(session: Session) -> dict[str, int]:
    """Return how many scheduled posts' claims are in each status (sent, failed, uncertain…)."""
    rows = session.execute(
        select(ScheduledRun.status, func.count()).group_by(ScheduledRun.status)
    ).all()
    return {status: int(n) for status, n in rows}
