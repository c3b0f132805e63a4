"""The queries: record check-ins, correct them with history kept, aggregate in SQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, func, insert, select
from sqlalchemy.orm import Session

from kpi import audit
from kpi.db import execute, prepared
from kpi.models import (
    CHECKIN_ACTIVE,
    CHECKIN_VOIDED,
    ENTRY_ACTIVE,
    ENTRY_PENDING,
    ENTRY_REPLACED,
    ENTRY_VOIDED,
    Activity,
    AuditEvent,
    Checkin,
)


@dataclass(frozen=True)
class EntryInput:
    """One metric's value to store."""

    metric: str
    value: int
    amount: int | None = None
    customer: str | None = None
    is_new_customer: bool = False
    note: str | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored, for confirmations and /history."""

    id: int
    checkin_id: int
    metric: str
    day: dt.date
    value: int
    amount: int | None
    customer: str | None
    is_new_customer: bool
    note: str | None
    status: str
    created_at: dt.datetime
    imported: bool = False  # brought in from a spreadsheet (flag `imported`)


def stored_text(text: str | None) -> str | None:
    """Return text people typed as the database can keep it (PostgreSQL refuses NUL)."""
    if text is None:
        return None
    return text.replace("\x00", "") or None


def stored_entry(a: Activity) -> StoredEntry:
    """Describe a stored entry for confirmations and /history."""
    return StoredEntry(
        a.id,
        a.checkin_id,
        a.metric,
        a.day,
        a.value,
        a.amount,
        a.customer,
        a.is_new_customer,
        a.note,
        a.status,
        a.created_at,
        "imported" in (a.flags or "").split(","),
    )


def record_checkin(
    session: Session,
    *,
    team_id: int,
    member_id: int,
    actor_id: int,
    source: str,
    day: dt.date,
    entries: Sequence[EntryInput],
    now: dt.datetime,
    chat_id: int | None = None,
    message_id: int | None = None,
    text: str | None = None,
    pending_metrics: Iterable[str] = (),
    photo_file_id: str | None = None,
) -> tuple[int, list[StoredEntry]]:
    """Store one check-in with its entries; metrics in `pending_metrics` wait for approval.

    `photo_file_id`: a photo of the contract sent with it (Telegram's file_id).
    """
    if not entries:
        raise ValueError("a check-in needs at least one entry")
    pending = set(pending_metrics)
    # Core statements, built once: the ORM's unit of work costs more than the two inserts.
    checkin_id = execute(
        session,
        prepared(
            session,
            "record_checkin",
            lambda: insert(Checkin).returning(Checkin.id),
        ),
        {
            "team_id": team_id,
            "member_id": member_id,
            "actor_id": actor_id,
            "source": source,
            "chat_id": chat_id,
            "message_id": message_id,
            "text": stored_text(text),
            "photo_file_id": photo_file_id[:255] if photo_file_id else None,
            "day": day,
            "status": CHECKIN_ACTIVE,
            "created_at": now,
        },
    ).scalar_one()
    rows = [
        {
            "checkin_id": checkin_id,
            "team_id": team_id,
            "member_id": member_id,
            "metric": e.metric,
            "day": day,
            "value": e.value,
            "amount": e.amount,
            "customer": stored_text(e.customer),
            "is_new_customer": e.is_new_customer,
            "note": stored_text(e.note),
            "status": ENTRY_PENDING if e.metric in pending else ENTRY_ACTIVE,
            "created_at": now,
            "updated_at": now,
        }
        for e in entries
    ]
    insert_entries = prepared(
        session,
        "record_entries",
        lambda: insert(Activity).returning(Activity.id, sort_by_parameter_order=True),
    )
    ids = execute(session, insert_entries, rows).scalars().all()
    return checkin_id, [
        StoredEntry(
            entry_id,
            checkin_id,
            r["metric"],
            day,
            r["value"],
            r["amount"],
            r["customer"],
            r["is_new_customer"],
            r["note"],
            r["status"],
            now,
            False,
        )
        for entry_id, r in zip(ids, rows, strict=True)
    ]


def _entry_row(checkin: Checkin, e: EntryInput, now: dt.datetime, pending: bool) -> Activity:
    return Activity(
        checkin_id=checkin.id,
        team_id=checkin.team_id,
        member_id=checkin.member_id,
        metric=e.metric,
        day=checkin.day,
        value=e.value,
        amount=e.amount,
        customer=stored_text(e.customer),
        is_new_customer=e.is_new_customer,
        note=stored_text(e.note),
        status=ENTRY_PENDING if pending else ENTRY_ACTIVE,
        created_at=now,
        updated_at=now,
    )


def checkin_for_message(session: Session, chat_id: int, message_id: int) -> Checkin | None:
    """Return the check-in a Telegram message carried, if any."""
    return session.scalar(
        select(Checkin)
        .where(Checkin.chat_id == chat_id, Checkin.message_id == message_id)
        .order_by(Checkin.id.desc())
        .limit(1)
    )


# Changes of an entry by a person; one made by someone other than the entry's owner stands
# against the owner's later edits of the message that logged it.
CORRECTIONS = ("entry.edit", "entry.void", "flag.void")


def corrected_by_others(session: Session, checkin: Checkin) -> dict[int, int]:
    """Return {entry id: who last corrected it} for the check-in's entries someone else changed."""
    ids = [a.id for a in checkin.entries if a.status != ENTRY_REPLACED]
    if not ids:
        return {}
    rows = session.execute(
        select(AuditEvent.entity_id, AuditEvent.actor_id)
        .where(
            AuditEvent.entity == audit.ENTRY,
            AuditEvent.entity_id.in_(ids),
            AuditEvent.action.in_(CORRECTIONS),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.actor_id != checkin.member_id,
        )
        .order_by(AuditEvent.id)
    )
    return {int(e): int(a) for e, a in rows if e is not None and a is not None}


@dataclass(frozen=True)
class KeptEntry:
    """An entry someone else corrected, which an edit of the message leaves as it is."""

    entry: StoredEntry
    corrected_by: int


@dataclass(frozen=True)
class Replacement:
    """What re-reading an edited message did: the new entries, and the corrected ones kept."""

    entries: list[StoredEntry]
    kept: list[KeptEntry]


def kept_metrics(session: Session, checkin: Checkin) -> set[str]:
    """Return the metrics of a check-in an edit of its message leaves alone (see below)."""
    corrected = corrected_by_others(session, checkin)
    return {a.metric for a in checkin.entries if a.id in corrected}


def replace_checkin_entries(
    session: Session,
    checkin: Checkin,
    entries: Sequence[EntryInput],
    *,
    day: dt.date,
    actor_id: int,
    text: str,
    now: dt.datetime,
    pending_metrics: Iterable[str] = (),
) -> Replacement:
    """Re-read an edited message: old entries become `replaced`, the new ones take their place.

    A metric one of whose entries a leader (anyone but the owner) corrected is left as it is:
    the edit neither undoes the correction nor adds the metric again. Metrics in
    `pending_metrics` wait for approval, as a new check-in's do.
    """
    corrected = corrected_by_others(session, checkin)
    kept_rows = [a for a in checkin.entries if a.id in corrected]
    kept = {a.metric for a in kept_rows}
    old = [
        a
        for a in checkin.entries
        if a.status in (ENTRY_ACTIVE, ENTRY_PENDING) and a.metric not in kept
    ]
    new = [e for e in entries if e.metric not in kept]
    for a in old:
        a.status = ENTRY_REPLACED
        a.updated_at = now
    audit.record_change(
        session,
        checkin,
        "checkin.edit_message",
        actor_id=actor_id,
        before={"text": checkin.text, "entries": [_entry_json(a) for a in old]},
        after={"text": stored_text(text), "kept": [a.id for a in kept_rows]},
        now=now,
    )
    checkin.text = stored_text(text)
    result = Replacement([], [KeptEntry(stored_entry(a), corrected[a.id]) for a in kept_rows])
    counting = [a for a in checkin.entries if a.status in (ENTRY_ACTIVE, ENTRY_PENDING)]
    if not new and not counting:
        checkin.status = CHECKIN_VOIDED
        checkin.voided_at = now
        checkin.voided_by = actor_id
        session.flush()
        return result
    checkin.status = CHECKIN_ACTIVE
    if new:
        checkin.day = day
    pending = set(pending_metrics)
    rows = [_entry_row(checkin, e, now, e.metric in pending) for e in new]
    session.add_all(rows)
    session.flush()
    result.entries.extend(stored_entry(r) for r in rows)
    return result


def note_ignored_edit(
    session: Session, checkin: Checkin, *, actor_id: int, text: str, now: dt.datetime
) -> list[KeptEntry]:
    """Record an edit of the message of a check-in someone else voided; return their corrections.

    A check-in its owner undid stays undone without a word, as before.
    """
    if checkin.voided_by in (None, checkin.member_id):
        return []
    corrected = corrected_by_others(session, checkin)
    kept_rows = [a for a in checkin.entries if a.id in corrected]
    if kept_rows:
        audit.record_change(
            session,
            checkin,
            "checkin.edit_message",
            actor_id=actor_id,
            before={"text": checkin.text, "entries": []},
            after={"text": stored_text(text), "kept": [a.id for a in kept_rows]},
            now=now,
        )
    return [KeptEntry(stored_entry(a), corrected[a.id]) for a in kept_rows]


def _entry_json(a: Activity) -> dict[str, object]:
    return {
        "id": a.id,
        "metric": a.metric,
        "value": a.value,
        "amount": a.amount,
        "day": a.day.isoformat(),
        "status": a.status,
    }


def last_checkin(session: Session, team_id: int, member_id: int) -> Checkin | None:
    """Return a person's newest check-in that still counts in the team."""
    return session.scalar(
        select(Checkin)
        .where(
            Checkin.team_id == team_id,
            Checkin.member_id == member_id,
            Checkin.status == CHECKIN_ACTIVE,
        )
        .order_by(Checkin.id.desc())
        .limit(1)
    )


def void_checkin(
    session: Session, checkin: Checkin, *, actor_id: int, now: dt.datetime
) -> list[StoredEntry]:
    """Void a whole check-in (history kept); return the entries it voided."""
    voided = [a for a in checkin.entries if a.status in (ENTRY_ACTIVE, ENTRY_PENDING)]
    for a in voided:
        a.status = ENTRY_VOIDED
        a.updated_at = now
    checkin.status = CHECKIN_VOIDED
    checkin.voided_at = now
    checkin.voided_by = actor_id
    audit.record_change(
        session,
        checkin,
        "checkin.void",
        actor_id=actor_id,
        before={"entries": [_entry_json(a) for a in voided]},
        after={"status": CHECKIN_VOIDED},
        now=now,
    )
    session.flush()
    return [stored_entry(a) for a in voided]


MAX_ID = 2**63 - 1  # ids are 64-bit: a larger number typed as an id matches nothing


def void_entry(
    session: Session,
    entry: Activity,
    *,
    actor_id: int,
    now: dt.datetime,
    action: str = "entry.void",
) -> None:
    """Void one entry; the check-in is voided too when nothing of it counts any more.

    `action` names the void in the audit trail (`flag.void`: from a flag's button).
    """
    before = _entry_json(entry)
    entry.status = ENTRY_VOIDED
    entry.updated_at = now
    audit.record_change(
        session,
        entry,
        action,
        actor_id=actor_id,
        before=before,
        after={"status": ENTRY_VOIDED},
        now=now,
    )
    checkin = entry.checkin
    if all(a.status not in (ENTRY_ACTIVE, ENTRY_PENDING) for a in checkin.entries):
        checkin.status = CHECKIN_VOIDED
        checkin.voided_at = now
        checkin.voided_by = actor_id
    session.flush()


def edit_entry(
    session: Session,
    entry: Activity,
    *,
    value: int | None = None,
    amount: int | None = None,
    actor_id: int,
    now: dt.datetime,
) -> None:
    """Change one entry's value or amount in place; the old values go to the audit trail."""
    before = _entry_json(entry)
    if value is not None:
        entry.value = value
    if amount is not None:
        entry.amount = amount
    entry.updated_at = now
    audit.record_change(
        session,
        entry,
        "entry.edit",
        actor_id=actor_id,
        before=before,
        after=_entry_json(entry),
        now=now,
    )
    session.flush()


def history(
    session: Session, team_id: int, member_id: int, *, limit: int = 15
) -> list[StoredEntry]:
    """Return a person's most recent entries in the team, newest first (voided ones too)."""
    rows = session.scalars(
        select(Activity)
        .where(
            Activity.team_id == team_id,
            Activity.member_id == member_id,
            Activity.status != ENTRY_REPLACED,
        )
        .order_by(Activity.id.desc())
        .limit(limit)
    )
    return [stored_entry(a) for a in rows]


# --- aggregation (in SQL) ----------------------------------------------------------------------


class MetricSum(NamedTuple):
    """A metric's sum for one member (or the team) over a date range.

    A named tuple, so that scoring reads it like the plain (value, amount, new amount) tuples
    the org-wide ranking builds by the thousand (kpi.standings), ten times faster than objects.
    """

    value: int = 0
    amount: int = 0
    new_amount: int = 0


Sums = dict[str, MetricSum]


def _sums_by(
    session: Session,
    key: Any,
    team_id: int,
    start: dt.date,
    end: dt.date,
    member_ids: Sequence[int] | None,
) -> dict[Any, Sums]:
    """Sum counted entries per (key, metric) over [start, end] in one GROUP BY."""
    stmt = (
        select(
            key,
            Activity.metric,
            func.sum(Activity.value),
            func.coalesce(func.sum(Activity.amount), 0),
            func.coalesce(
                func.sum(case((Activity.is_new_customer.is_(True), Activity.amount), else_=0)), 0
            ),
        )
        .where(
            Activity.team_id == team_id,
            Activity.status == ENTRY_ACTIVE,
            Activity.day >= start,
            Activity.day <= end,
        )
        .group_by(key, Activity.metric)
    )
    if member_ids is not None:
        stmt = stmt.where(Activity.member_id.in_(list(member_ids)))
    out: dict[Any, Sums] = defaultdict(dict)
    for k, metric, value, amount, new_amount in session.execute(stmt):
        # int(): PostgreSQL sums bigints as numeric.
        out[k][metric] = MetricSum(int(value or 0), int(amount or 0), int(new_amount or 0))
    return dict(out)


def member_sums(
    session: Session,
    team_id: int,
    start: dt.date,
    end: dt.date,
    member_ids: Sequence[int] | None = None,
) -> dict[int, Sums]:
    """Sum each member's counted entries per metric over [start, end] (local days)."""
    return _sums_by(session, Activity.member_id, team_id, start, end, member_ids)


def member_standing(
    session: Session,
    team_id: int,
    member_id: int,
    spans: dict[str, tuple[dt.date, dt.date]],
    day: dt.date,
    metrics: Sequence[str],
) -> tuple[dict[str, Sums], dict[str, int]]:
    """Sum one member's entries in one query: per named span, the counted value and amount of
    each metric (`new_amount` is not summed: 0); and per metric, the day's counted or waiting
    total (what the sanity bounds compare with)."""
    names = list(spans)
    stmt = prepared(session, ("member_standing", len(names)), lambda: _standing(len(names)))
    params: dict[str, Any] = {
        "team": team_id,
        "member": member_id,
        "metrics": list(metrics),
        "day": day,
        "lo": min([day, *(s for s, _ in spans.values())]),
        "hi": max([day, *(e for _, e in spans.values())]),
    }
    for i, name in enumerate(names):
        params[f"s{i}"], params[f"e{i}"] = spans[name]
    sums: dict[str, Sums] = {name: {} for name in names}
    day_totals: dict[str, int] = {}
    for row in execute(session, stmt, params):
        metric = row[0]
        for i, name in enumerate(names):
            # int(): PostgreSQL sums bigints as numeric.
            value, amount = row[1 + 2 * i], row[2 + 2 * i]
            sums[name][metric] = MetricSum(int(value or 0), int(amount or 0))
        day_totals[metric] = int(row[-1] or 0)
    return sums, day_totals


def _standing(spans: int) -> Any:
    a = Activity.__table__.c
    counted = a.status == ENTRY_ACTIVE
    columns: list[Any] = [a.metric]
    for i in range(spans):
        inside = counted & (a.day >= bindparam(f"s{i}")) & (a.day <= bindparam(f"e{i}"))
        columns.append(func.sum(case((inside, a.value), else_=0)))
        columns.append(func.sum(case((inside, a.amount), else_=0)))
    columns.append(func.sum(case((a.day == bindparam("day"), a.value), else_=0)))
    return (
        select(*columns)
        .where(
            a.team_id == bindparam("team"),
            a.member_id == bindparam("member"),
            a.metric.in_(bindparam("metrics", expanding=True)),
            a.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
            a.day >= bindparam("lo"),
            a.day <= bindparam("hi"),
        )
        .group_by(a.metric)
    )


def daily_sums(
    session: Session,
    team_id: int,
    start: dt.date,
    end: dt.date,
    member_id: int | None = None,
) -> dict[dt.date, Sums]:
    """Sum counted entries per local day and metric (the team's, or one member's)."""
    members = None if member_id is None else [member_id]
    return _sums_by(session, Activity.day, team_id, start, end, members)


def last_activity_days(session: Session, team_id: int) -> dict[int, dt.date]:
    """Return each member's most recent day with a counted entry."""
    rows = session.execute(
        select(Activity.member_id, func.max(Activity.day))
        .where(Activity.team_id == team_id, Activity.status == ENTRY_ACTIVE)
        .group_by(Activity.member_id)
    )
    return {m: d for m, d in rows}
