"""Leases on shared work, for several instances on one PostgreSQL database.

A lease is a row (name, holder, expires_at): a chat's lane (`lane:<chat>`), the getUpdates
poller (`poller`), or an instance's own (`instance:<holder>`: the live instances are counted).
It is taken with one `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`, so of two instances
asking at once exactly one gets it; its holder renews every lease it holds in one statement (a
heartbeat) and deletes it when done; a holder that died stops renewing, and the lease is free
once `expires_at` passes. Times are the database's (`now()`), so instances whose clocks differ
agree on who holds what. PostgreSQL only: on SQLite there is one instance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import and_, delete, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from kpi import inbox
from kpi.models import INBOX_PENDING, InboxUpdate, Lease

LANE = "lane:"
POLLER = "poller"
INSTANCE = "instance:"


def take(session: Session, names: Sequence[str], *, holder: str, ttl: dt.timedelta) -> list[str]:
    """Take the leases that are free (or expired, or already ours); return the names won."""
    if not names:
        return []
    until = func.now() + ttl
    stmt = pg_insert(Lease).values(
        [{"name": n, "holder": holder, "expires_at": until} for n in dict.fromkeys(names)]
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=(Lease.expires_at < func.now()) | (Lease.holder == holder),
    ).returning(Lease.name)
    return list(session.scalars(upsert))


def take_lanes(session: Session, *, holder: str, ttl: dt.timedelta, limit: int) -> list[str]:
    """Lease up to `limit` lanes that have pending updates and no live holder, the lanes whose
    oldest update is oldest first; return the lanes won (without the `lane:` prefix)."""
    if limit <= 0:
        return []
    name = literal(LANE) + InboxUpdate.lane
    held = exists().where(and_(Lease.name == name, Lease.expires_at >= func.now()))
    waiting = (
        select(
            name.label("name"),
            literal(holder).label("holder"),
            (func.now() + ttl).label("expires_at"),
        )
        .where(InboxUpdate.status == INBOX_PENDING, InboxUpdate.lane.is_not(None), ~held)
        .group_by(InboxUpdate.lane)
        .order_by(func.min(InboxUpdate.id))
        .limit(limit)
    )
    stmt = pg_insert(Lease).from_select(["name", "holder", "expires_at"], waiting)
    upsert = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=Lease.expires_at < func.now(),
    ).returning(Lease.name)
    return [n.removeprefix(LANE) for n in session.scalars(upsert)]


def renew(
    session: Session, *, holder: str, ttl: dt.timedelta, names: Collection[str] | None = None
) -> set[str]:
    """Extend the holder's leases (all, or the named ones: a lease its holder no longer works
    expires); return their names (a lease lost is not among them)."""
    stmt = update(Lease).where(Lease.holder == holder)
    if names is not None:
        stmt = stmt.where(Lease.name.in_(list(names)))
    return set(session.scalars(stmt.values(expires_at=func.now() + ttl).returning(Lease.name)))


def release(session: Session, names: Sequence[str] | None = None, *, holder: str) -> int:
    """Give up the holder's leases (all of them, or the named ones); return how many."""
    stmt = delete(Lease).where(Lease.holder == holder)
    if names is not None:
        stmt = stmt.where(Lease.name.in_(list(names)))
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def next_in_lane_or_release(
    session: Session, lane: str, *, holder: str, limit: int = 20, done: Sequence[str] = ()
) -> list[tuple[str, dict[str, object]]] | None:
    """Mark the `done` updates handled; return the lane's next pending updates (key, payload),
    in stored order; with none left, release the lease and return []. None: the lease is no
    longer ours (stop at once)."""
    inbox.mark(session, done)
    name = LANE + lane
    still = session.scalar(
        select(Lease.name).where(Lease.name == name, Lease.holder == holder).with_for_update()
    )
    if still is None:
        return None
    rows = session.execute(
        select(InboxUpdate.key, InboxUpdate.payload)
        .where(InboxUpdate.lane == lane, InboxUpdate.status == INBOX_PENDING)
        .order_by(InboxUpdate.id)
        .limit(limit)
    ).all()
    if not rows:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
        return []
    return [(k, p) for k, p in rows]


def live_instances(session: Session) -> int:
    """Return how many instances are alive (their own lease renewed within its TTL)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Lease)
            .where(Lease.name.like(INSTANCE + "%"), Lease.expires_at >= func.now())
        )
        or 0
    )


def holders(session: Session) -> dict[str, str]:
    """Return the live leases: name -> holder (for the operator's view and tests)."""
    rows = session.execute(
        select(Lease.name, Lease.holder).where(Lease.expires_at >= func.now())
    ).all()
    return {n: h for n, h in rows}
