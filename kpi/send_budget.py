"""A send budget shared by every instance on one PostgreSQL database (sliding windows in rows).

One `send_windows` row per scope, `c:<chat id>` per chat (the bot's overall limit is split among
the live instances instead: no row every send would wait for), and `*` for the bot. A row's
`stamps` are the moments (seconds on the database's clock) at which the sends it counts stop
counting. `reserve` locks the rows of the scopes a send counts against (in scope order, so two
reservations never deadlock), drops what stopped counting, and either records the send in every
one of them or says how long to wait; nothing is recorded when it must wait. A reserved send
counts for `HOLD` seconds while in flight (the answer may take that long); `finish` replaces
that with its real end plus the window's period, as the per-process limiter counts. A 429's wait
is `paused_until` on the `*` row: every reservation waits for it.

One short transaction per send to a chat, and one more when it ends; two sends wait on each
other only when they go to the same chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from kpi.models import SendWindow

BOT = "*"
# Telegram tolerates a short burst in one chat and answers 429 only to sustained sending (about
# one message a second). A private chat therefore takes up to this many messages at once, and at
# most as many within any this many intervals: what is sustained averages one per interval.
PRIVATE_BURST = 3
# How long a send may be in flight before its slot is freed anyway (a process that died).
HOLD = 30.0


@dataclass(frozen=True)
class Scope:
    """A window a send counts against: at most `limit` sends within any `period` seconds."""

    name: str
    limit: int
    period: float


@dataclass(frozen=True)
class Reservation:
    """A recorded send: the scopes it counts in and the in-flight stamp to replace."""

    scopes: tuple[Scope, ...]
    stamp: float


def private_window(interval: float) -> tuple[int, float]:
    """Return a private chat's window, (at most so many sends, within any so many seconds), for
    a sustained pace of one send per `interval` seconds: the rule this module's `c:<chat>` rows
    and the per-process limiter (`bot.ratelimit`) both apply."""
    return PRIVATE_BURST, PRIVATE_BURST * interval


def _clock(session: Session) -> float:
    return float(session.scalar(select(func.extract("epoch", func.clock_timestamp()))) or 0.0)


def _rows(session: Session, names: Sequence[str]) -> dict[str, SendWindow]:
    """Lock the scopes' rows, in scope order (created when missing)."""
    names = sorted(set(names))

    def locked() -> dict[str, SendWindow]:
        rows = session.scalars(
            select(SendWindow)
            .where(SendWindow.scope.in_(names))
            .order_by(SendWindow.scope)
            .with_for_update()
        ).all()
        return {r.scope: r for r in rows}

    rows = locked()
    if len(rows) < len(names):
        session.execute(
            pg_insert(SendWindow)
            .values([{"scope": n, "stamps": []} for n in names if n not in rows])
            .on_conflict_do_nothing(index_elements=["scope"])
        )
        rows = locked()
    return rows


def reserve(session: Session, scopes: Sequence[Scope]) -> tuple[float, Reservation | None]:
    """Record one send in every scope and return (0, its reservation), or return (the seconds
    to wait, None) when a window is full or the bot is paused (nothing is recorded)."""
    rows = _rows(session, [s.name for s in scopes])
    wait, now = _paused(session)
    kept: dict[str, list[float]] = {}
    for scope in scopes:
        stamps = sorted(t for t in rows[scope.name].stamps or [] if t > now)
        kept[scope.name] = stamps
        excess = len(stamps) - scope.limit
        if excess >= 0:
            wait = max(wait, stamps[excess] - now)
    if wait > 0:
        return wait, None
    stamp = now + HOLD
    for scope in scopes:
        rows[scope.name].stamps = [*kept[scope.name], stamp]
    return 0.0, Reservation(tuple(scopes), stamp)


def finish(session: Session, reservation: Reservation) -> None:
    """Record that a reserved send ended now: it counts for one period more in each scope."""
    rows = _rows(session, [s.name for s in reservation.scopes])
    now = _clock(session)
    for scope in reservation.scopes:
        row = rows[scope.name]
        stamps = [t for t in row.stamps or [] if t > now]
        if reservation.stamp in stamps:
            stamps.remove(reservation.stamp)
            stamps.append(now + scope.period)
        row.stamps = stamps


def pause(session: Session, seconds: float) -> float:
    """Hold every instance's sends for `seconds` from now (a 429); return the pause's end."""
    _rows(session, [BOT])
    now = _clock(session)
    until = now + seconds
    session.execute(
        update(SendWindow)
        .where(SendWindow.scope == BOT)
        .values(paused_until=func.greatest(func.coalesce(SendWindow.paused_until, 0.0), until))
    )
    return until


def _paused(session: Session) -> tuple[float, float]:
    """Return how many seconds every send is still paused (0 if not), and the database's time."""
    now = _clock(session)
    until = session.scalar(select(SendWindow.paused_until).where(SendWindow.scope == BOT))
    return max((until or 0.0) - now, 0.0), now


def paused_for(session: Session) -> float:
    """Return how many seconds every instance's sends are still paused (0 if not)."""
    return _paused(session)[0]
