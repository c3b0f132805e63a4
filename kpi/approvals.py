"""Deals a leader can trust: pending deals and their decision, photos, flags on stored entries.

With deal approval on, a deal is stored pending (`ENTRY_PENDING`, it does not count) until a
leader approves it (then it counts on the day it was logged for) or rejects it (it stays in
history as rejected). Every decision and every void of a flagged entry is audited. Flags are
decided by `kpi.flags`; this module reads the history they need and marks the entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import audit, flags
from kpi.calendar import calendar_of, is_working_day, today_in
from kpi.catalog import DEALS
from kpi.models import (
    ENTRY_ACTIVE,
    ENTRY_PENDING,
    ENTRY_REJECTED,
    Activity,
    AuditEvent,
    Checkin,
    Member,
    OutboxMessage,
    Team,
)
from kpi.store import StoredEntry
from kpi.teams import settings_of

APPROVE = "deal.approve"
REJECT = "deal.reject"
FLAG_VOID = "flag.void"
# How far back a rep's own history is read for the outlier rule.
HISTORY_DAYS = 180


@dataclass(frozen=True)
class PendingDeal:
    """A deal waiting for a leader, as a request or the /approvals list shows it."""

    entry_id: int
    checkin_id: int
    member_id: int
    member_name: str
    value: int
    amount: int | None
    customer: str | None
    day: dt.date
    photo: str | None
    logged_at: dt.datetime


def _pending_deal(a: Activity, checkin: Checkin, member: Member) -> PendingDeal:
    return PendingDeal(
        a.id,
        checkin.id,
        member.id,
        member.display_name,
        a.value,
        a.amount,
        a.customer,
        a.day,
        checkin.photo_file_id,
        a.created_at,
    )


def pending_deals(session: Session, team_id: int, limit: int | None = None) -> list[PendingDeal]:
    """Return the team's deals waiting for approval, oldest first."""
    stmt = (
        select(Activity, Checkin, Member)
        .join(Checkin, Checkin.id == Activity.checkin_id)
        .join(Member, Member.id == Activity.member_id)
        .where(
            Activity.team_id == team_id,
            Activity.status == ENTRY_PENDING,
            Activity.metric == DEALS,
        )
        .order_by(Activity.created_at, Activity.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_pending_deal(a, c, m) for a, c, m in session.execute(stmt)]


def pending_of(session: Session, entry_ids: Sequence[int]) -> list[PendingDeal]:
    """Return the entries among `entry_ids` that wait for approval, as pending deals."""
    if not entry_ids:
        return []
    rows = session.execute(
        select(Activity, Checkin, Member)
        .join(Checkin, Checkin.id == Activity.checkin_id)
        .join(Member, Member.id == Activity.member_id)
        .where(Activity.id.in_(list(entry_ids)), Activity.status == ENTRY_PENDING)
        .order_by(Activity.id)
    )
    return [_pending_deal(a, c, m) for a, c, m in rows]


def describe(session: Session, entry: Activity) -> PendingDeal:
    """Describe an entry the way a request shows it (whatever its status now)."""
    checkin = session.get(Checkin, entry.checkin_id)
    member = session.get(Member, entry.member_id)
    assert checkin is not None and member is not None
    return _pending_deal(entry, checkin, member)


def decide(
    session: Session, entry: Activity, *, approve: bool, actor_id: int, now: dt.datetime
) -> None:
    """Approve (it counts from now on, on the day it was logged for) or reject a pending deal."""
    if entry.status != ENTRY_PENDING:
        raise ValueError("only a pending entry is approved or rejected")
    entry.status = ENTRY_ACTIVE if approve else ENTRY_REJECTED
    entry.updated_at = now
    if approve:
        entry.approved_by = actor_id
        entry.approved_at = now
    audit.record_change(
        session,
        entry,
        APPROVE if approve else REJECT,
        actor_id=actor_id,
        before={"status": ENTRY_PENDING},
        after={"status": entry.status},
        now=now,
    )
    session.flush()


@dataclass(frozen=True)
class Decision:
    """Who decided an entry already, and how (approved, rejected, or voided otherwise)."""

    action: str  # deal.approve, deal.reject, or the status when no decision was recorded
    by: str | None


def decision_of(session: Session, entry: Activity) -> Decision:
    """Return how an entry that no longer waits was decided, and by whom."""
    row = session.execute(
        select(AuditEvent.action, AuditEvent.actor_id)
        .where(
            AuditEvent.entity == audit.ENTRY,
            AuditEvent.entity_id == entry.id,
            AuditEvent.action.in_((APPROVE, REJECT, "entry.void", FLAG_VOID)),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return Decision(entry.status, None)
    who = session.get(Member, row[1]) if row[1] is not None else None
    return Decision(row[0], who.display_name if who is not None else None)


# --- photos ------------------------------------------------------------------------------------


def checkin_replied_to(session: Session, chat_id: int, message_id: int) -> Checkin | None:
    """Return the check-in a message is about: its confirmation (by the bot), or its own text."""
    ref = session.scalar(
        select(OutboxMessage.ref_id)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.message_id == message_id,
            OutboxMessage.kind == "confirmation",
        )
        .limit(1)
    )
    if ref is not None:
        return session.get(Checkin, ref)
    return session.scalar(
        select(Checkin)
        .where(Checkin.chat_id == chat_id, Checkin.message_id == message_id)
        .order_by(Checkin.id.desc())
        .limit(1)
    )


def attach_photo(
    session: Session, checkin: Checkin, file_id: str, *, actor_id: int, now: dt.datetime
) -> None:
    """Keep a photo of the contract on a check-in (a later photo replaces it, audited)."""
    before = checkin.photo_file_id
    checkin.photo_file_id = file_id[:255]
    audit.record_change(
        session,
        checkin,
        "checkin.photo",
        actor_id=actor_id,
        before={"photo": before},
        after={"photo": checkin.photo_file_id},
        now=now,
    )
    session.flush()


# --- flags -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagNote:
    """An entry a leader is asked to look at, and why (with the deal it repeats, if any)."""

    entry_id: int
    member_name: str
    metric: str
    value: int
    amount: int | None
    customer: str | None
    day: dt.date
    flags: tuple[str, ...]
    same_as: int | None = None  # a duplicate: the earlier entry


def _history(
    session: Session, team: Team, member_id: int, metric: str, since: dt.date, skip: set[int]
) -> tuple[list[float], int]:
    """Return a rep's earlier values of a metric and how many working days they come from."""
    rows = session.execute(
        select(Activity.id, Activity.day, Activity.value, Activity.amount).where(
            Activity.team_id == team.id,
            Activity.member_id == member_id,
            Activity.metric == metric,
            Activity.status == ENTRY_ACTIVE,
            Activity.day >= since,
        )
    ).all()
    kept = [r for r in rows if r[0] not in skip]
    # A deal is judged by its amount, a count by its value.
    values = [float((r[3] or 0) if metric == DEALS else r[2]) for r in kept]
    values = [v for v in values if v > 0]
    days = {r[1] for r in kept}
    if len(days) < flags.OUTLIER_MIN_DAYS:
        return values, len(days)  # too few days whatever the calendar says
    cal = calendar_of(session, team)
    return values, sum(1 for d in days if is_working_day(cal, d))


def _duplicates(session: Session, team_id: int, e: StoredEntry, days: int) -> flags.DealKey | None:
    if e.metric != DEALS or e.amount is None or not e.customer:
        return None
    rows = session.execute(
        select(Activity.id, Activity.customer, Activity.amount, Activity.day).where(
            Activity.team_id == team_id,
            Activity.metric == DEALS,
            Activity.amount == e.amount,
            Activity.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
            Activity.day >= e.day - dt.timedelta(days=days),
            Activity.day <= e.day + dt.timedelta(days=days),
            Activity.id != e.id,
            Activity.checkin_id != e.checkin_id,
        )
    ).all()
    others = [flags.DealKey(i, c, a, d) for i, c, a, d in rows]
    return flags.duplicate_of(flags.DealKey(e.id, e.customer, e.amount, e.day), others, days)


def flag_entries(
    session: Session,
    team: Team,
    member_id: int,
    stored: Sequence[StoredEntry],
    now: dt.datetime,
) -> list[FlagNote]:
    """Mark the just-stored entries that look like an outlier or a duplicate; return them."""
    if not stored:
        return []
    days = settings_of(team).duplicate_deal_days
    since = today_in(team.timezone, now) - dt.timedelta(days=HISTORY_DAYS)
    skip = {e.id for e in stored}
    member = session.get(Member, member_id)
    name = member.display_name if member is not None else f"#{member_id}"
    notes: list[FlagNote] = []
    histories: dict[str, tuple[list[float], int]] = {}
    for e in stored:
        found: list[str] = []
        value = e.amount if e.metric == DEALS else e.value
        if value:
            if e.metric not in histories:
                histories[e.metric] = _history(session, team, member_id, e.metric, since, skip)
            history, history_days = histories[e.metric]
            if flags.is_outlier(float(value), history, history_days):
                found.append(flags.OUTLIER)
        same = _duplicates(session, team.id, e, days)
        if same is not None:
            found.append(flags.DUPLICATE)
        if not found:
            continue
        row = session.get(Activity, e.id)
        assert row is not None
        for f in found:
            row.flags = flags.add_flag(row.flags, f)
        notes.append(
            FlagNote(
                e.id,
                name,
                e.metric,
                e.value,
                e.amount,
                e.customer,
                e.day,
                tuple(found),
                same.entry_id if same is not None else None,
            )
        )
    session.flush()
    return notes


@dataclass(frozen=True)
class BackfillNote:
    """A member's burst of backdated entries, for the leader digest."""

    member_name: str
    count: int
    start: dt.datetime


def backfills(
    session: Session, team: Team, start: dt.datetime, end: dt.datetime
) -> list[BackfillNote]:
    """Return the bulk backfills logged in [start, end) (UTC), by member."""
    rows = session.execute(
        select(Activity.member_id, Activity.created_at, Activity.day).where(
            Activity.team_id == team.id,
            Activity.created_at >= start,
            Activity.created_at < end,
            Activity.status != "replaced",
        )
    ).all()
    logged = [flags.Logged(m, at, today_in(team.timezone, at), day) for m, at, day in rows if at]
    out = []
    for b in flags.bulk_backfills(logged):
        member = session.get(Member, b.member_id)
        out.append(
            BackfillNote(
                member.display_name if member is not None else f"#{b.member_id}",
                b.count,
                b.start,
            )
        )
    return out
