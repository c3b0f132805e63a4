"""Personal data (Vietnam's Decree 13/2023): what the bot holds about a person, and erasure.

`personal_data` gathers a person's own data for `/mydata`. `erase` anonymises a person on
request: name, username and Telegram id go, an anonymous label takes the name's place, and what
they typed (check-in texts, notes, customer names) is blanked wherever it is kept: entries, the
audit trail's before/after values, pending questions, the inbox's stored updates and the
outbox's messages. Their numbers stay (team totals do not change) and no row is deleted; the
audit keeps that an erasure happened, without the erased data.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, or_, select, update
from sqlalchemy.orm import Session

from kpi import audit
from kpi.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    Activity,
    AuditEvent,
    Checkin,
    InboxUpdate,
    Member,
    Membership,
    OutboxMessage,
    PendingAction,
    ProcessedUpdate,
    ReportSnapshot,
    ScheduledRun,
    Team,
)

# What people typed, under these keys in stored JSON (audit values, pending payloads).
TYPED_KEYS = frozenset({"text", "note", "customer", "name", "first_name", "last_name", "username"})


@dataclass(frozen=True)
class MembershipData:
    """One of a person's memberships, as `/mydata` lists it."""

    team: str
    role: str
    status: str
    ranked: bool
    joined_on: dt.date
    left_on: dt.date | None


@dataclass(frozen=True)
class EntryData:
    """One of a person's entries, as `/mydata` lists it."""

    id: int
    team: str
    day: dt.date
    metric: str
    value: int
    amount: int | None
    customer: str | None
    note: str | None
    status: str
    text: str | None  # the message it was logged with
    logged_at: dt.datetime


@dataclass(frozen=True)
class PersonalData:
    """Everything the bot keeps about one person (their own copy)."""

    member_id: int
    telegram_id: int | None
    first_name: str
    last_name: str | None
    username: str | None
    language: str | None
    telegram_language: str | None
    private_chat_ok: bool
    created_at: dt.datetime
    seen_at: dt.datetime
    memberships: tuple[MembershipData, ...]
    entries: tuple[EntryData, ...]
    events: tuple[audit.AuditItem, ...]
    timezone: str  # the zone their times are shown in (their first team's)


def personal_data(session: Session, member: Member) -> PersonalData:
    """Gather a person's profile, memberships, entries and the audit events about them."""
    rows = session.execute(
        select(Membership, Team)
        .join(Team, Team.id == Membership.team_id)
        .where(Membership.member_id == member.id)
        .order_by(Membership.id)
    ).all()
    memberships = tuple(
        MembershipData(t.title, m.role, m.status, m.ranked, m.joined_on, m.left_on)
        for m, t in rows
    )
    titles = {t.id: t.title for _, t in rows}
    entries = tuple(
        EntryData(
            a.id,
            titles.get(a.team_id, ""),
            a.day,
            a.metric,
            a.value,
            a.amount,
            a.customer,
            a.note,
            a.status,
            c.text,
            a.created_at,
        )
        for a, c in session.execute(
            select(Activity, Checkin)
            .join(Checkin, Checkin.id == Activity.checkin_id)
            .where(Activity.member_id == member.id)
            .order_by(Activity.day, Activity.id)
        )
    )
    team_ids = sorted({t.id for _, t in rows})
    events = tuple(audit.recent(session, team_ids, member_id=member.id)) if team_ids else ()
    return PersonalData(
        member.id,
        member.telegram_id,
        member.first_name,
        member.last_name,
        member.username,
        member.language,
        member.telegram_language,
        member.private_chat_ok,
        member.created_at,
        member.seen_at,
        memberships,
        entries,
        events,
        rows[0][1].timezone if rows else "Asia/Ho_Chi_Minh",
    )


def find_person(session: Session, ref: str) -> Member | None:
    """Find a person by @username or Telegram id (among everyone the bot has seen)."""
    word = ref.strip()
    digits = word.removeprefix("-")
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        return session.scalar(select(Member).where(Member.telegram_id == int(word)))
    name = word.removeprefix("@").lower()
    if not name:
        return None
    return session.scalar(
        select(Member).where(Member.username == name, Member.erased_at.is_(None))
    )


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed, counted."""

    member_id: int
    teams: int
    checkins: int
    entries: int
    events: int
    pending: int
    inbox: int
    outbox: int


def erase(
    session: Session, member: Member, *, label: str, actor_id: int | None, now: dt.datetime
) -> Erasure:
    """Anonymise a person everywhere; the numbers stay. `label` replaces the name."""
    telegram_id = member.telegram_id
    names = [
        n
        for n in {
            member.display_name if member.first_name or member.last_name else "",
            member.first_name,
            member.last_name or "",
            member.username or "",
            f"@{member.username}" if member.username else "",
        }
        if len(n.strip()) >= 2
    ]
    team_ids = list(
        session.scalars(select(Membership.team_id).where(Membership.member_id == member.id))
    )
    # What they typed: the texts of their check-ins (theirs, or logged by them) and the notes
    # and customers of their entries; collected first, then blanked, then searched for in the
    # places that quote it.
    their_checkins = select(Checkin.id).where(
        or_(Checkin.member_id == member.id, Checkin.actor_id == member.id)
    )
    typed = {
        s for s in session.scalars(select(Checkin.text).where(Checkin.id.in_(their_checkins))) if s
    }
    for note, customer in session.execute(
        select(Activity.note, Activity.customer).where(
            or_(Activity.member_id == member.id, Activity.checkin_id.in_(their_checkins))
        )
    ):
        typed |= {s for s in (note, customer) if s}
    phrases = [p for p in typed if len(p.strip()) >= 3]
    # Messages are stored as Telegram HTML: "Tú & Co" is kept as "Tú &amp; Co" there.
    names += [e for e in (html.escape(n, quote=False) for n in names) if e not in names]
    phrases += [e for e in (html.escape(p, quote=False) for p in phrases) if e not in phrases]
    scrub = _scrubber(names, phrases, label, telegram_id)

    # What they typed, and the photos of contracts they sent with their deals.
    checkins = _count(
        session.execute(
            update(Checkin)
            .where(Checkin.id.in_(their_checkins))
            .values(text=None, photo_file_id=None)
        )
    )
    entries = _count(
        session.execute(
            update(Activity)
            .where(or_(Activity.member_id == member.id, Activity.checkin_id.in_(their_checkins)))
            .values(note=None, customer=None)
        )
    )

    _scrub_snapshots(session, member.id, team_ids, scrub, label)
    events = _scrub_audit(session, member.id, team_ids, scrub)
    pending = _scrub_pending(session, member.id, team_ids, scrub, now)
    inbox = _scrub_inbox(session, member.id, telegram_id, scrub)
    outbox = _scrub_outbox(session, member.id, telegram_id, team_ids, scrub, names, label)
    if telegram_id is not None:
        # Their private chat's id is their Telegram id: it goes from what was logged there and
        # from their questions (both closed to them now).
        session.execute(update(Checkin).where(Checkin.chat_id == telegram_id).values(chat_id=None))
        session.execute(
            update(PendingAction).where(PendingAction.chat_id == telegram_id).values(chat_id=0)
        )
        # A claim's key must stay unique per chat: a negative id no private chat has.
        session.execute(
            update(ScheduledRun)
            .where(ScheduledRun.chat_id == telegram_id)
            .values(chat_id=-ScheduledRun.id)
        )

    member.first_name = label
    member.last_name = None
    member.username = None
    member.telegram_id = None
    member.telegram_language = None
    member.private_chat_ok = False
    member.current_team_id = None
    member.erased_at = now
    for m in session.scalars(select(Membership).where(Membership.member_id == member.id)):
        m.reminders_muted = True
    in_teams: list[int | None] = [*sorted(set(team_ids))]
    for team_id in in_teams or [None]:
        audit.record(
            session,
            team_id=team_id,
            actor_id=actor_id,
            action="member.erase",
            entity=audit.MEMBER,
            entity_id=member.id,
            after={"member": member.id, "erased": True},
            now=now,
        )
    session.flush()
    return Erasure(
        member.id, len(set(team_ids)), checkins, entries, events, pending, inbox, outbox
    )


Scrub = Callable[[Any, bool], Any]


def _scrub_snapshots(
    session: Session, member_id: int, team_ids: Sequence[int], scrub: Scrub, label: str
) -> None:
    """Take the person out of the sent reports kept for closed months (their numbers stay)."""
    if not team_ids:
        return
    for snap in session.scalars(
        select(ReportSnapshot).where(ReportSnapshot.team_id.in_(team_ids))
    ):
        figures = scrub(_relabel(snap.figures, member_id, label), False)
        if figures != snap.figures:
            snap.figures = figures


def _relabel(value: Any, member_id: int, label: str) -> Any:
    """Replace the name of every row about the member (`member_id`) in stored JSON."""
    if isinstance(value, dict):
        out = {k: _relabel(v, member_id, label) for k, v in value.items()}
        if out.get("member_id") == member_id and isinstance(out.get("name"), str):
            out["name"] = label
        return out
    if isinstance(value, list):
        return [_relabel(v, member_id, label) for v in value]
    return value


def _count(result: Any) -> int:
    """Return how many rows an UPDATE changed."""
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


def _scrubber(
    names: Sequence[str], typed: Sequence[str], label: str, telegram_id: int | None
) -> Scrub:
    """Build the function that takes a person out of a stored value (text or JSON).

    Their names become the label, what they typed becomes empty, their Telegram id becomes 0;
    with `typed_keys`, the values under TYPED_KEYS are blanked outright.
    """

    def pattern(words: Sequence[str]) -> re.Pattern[str] | None:
        if not words:
            return None
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    name_re, typed_re = pattern(names), pattern(typed)
    id_text = str(telegram_id) if telegram_id is not None else None

    def text(value: str) -> str:
        if typed_re is not None:
            value = typed_re.sub("", value)
        if name_re is not None:
            value = name_re.sub(label, value)
        if id_text is not None:
            value = re.sub(rf"(?<!\d){id_text}(?!\d)", "0", value)
        return value

    def walk(value: Any, typed_keys: bool) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return 0 if telegram_id is not None and value == telegram_id else value
        if isinstance(value, list):
            return [walk(v, typed_keys) for v in value]
        if isinstance(value, dict):
            return {
                k: (
                    ""
                    if typed_keys and k in TYPED_KEYS and isinstance(v, str)
                    else walk(v, typed_keys)
                )
                for k, v in value.items()
            }
        return value

    return walk


def _scrub_audit(session: Session, member_id: int, team_ids: list[int], scrub: Scrub) -> int:
    """Blank what the person typed in the trail's before/after values (their teams' events)."""
    mine = set(session.scalars(select(AuditEvent.id).where(audit.about(member_id))))
    changed = 0
    for event in session.scalars(
        select(AuditEvent).where(
            or_(
                AuditEvent.team_id.in_(team_ids),
                AuditEvent.team_id.is_(None),
                audit.about(member_id),
            )
        )
    ):
        own = event.id in mine
        before, after = scrub(event.before, own), scrub(event.after, own)
        if before != event.before or after != event.after:
            event.before, event.after = before, after
            changed += 1
    return changed


def _scrub_pending(
    session: Session, member_id: int, team_ids: list[int], scrub: Scrub, now: dt.datetime
) -> int:
    """Empty the person's own questions (closing the open ones); scrub the others' payloads."""
    changed = 0
    for action in session.scalars(
        select(PendingAction).where(
            or_(
                PendingAction.member_id == member_id,
                PendingAction.team_id.in_(team_ids),
                PendingAction.team_id.is_(None),
            )
        )
    ):
        if action.member_id == member_id:
            if action.payload:
                action.payload = {}
                changed += 1
            if action.resolved_at is None:
                action.resolved_at, action.resolution = now, "erased"
            continue
        payload = scrub(action.payload, False)
        if payload != action.payload:
            action.payload = payload
            changed += 1
    return changed


def _from(value: Any, telegram_id: int) -> bool:
    """Tell whether a stored update was sent by the person (a `from` that is them)."""
    if isinstance(value, dict):
        sender = value.get("from")
        if isinstance(sender, dict) and sender.get("id") == telegram_id:
            return True
        return any(_from(v, telegram_id) for v in value.values())
    if isinstance(value, list):
        return any(_from(v, telegram_id) for v in value)
    return False


def _scrub_inbox(session: Session, member_id: int, telegram_id: int | None, scrub: Scrub) -> int:
    """Replace the person's stored updates by a stub; scrub the others that quote them."""
    changed = 0
    for row in session.scalars(select(InboxUpdate)):
        if telegram_id is not None and _from(row.payload, telegram_id):
            row.payload = {"update_id": row.update_id, "erased": True}
            changed += 1
            continue
        payload = scrub(row.payload, False)
        if payload != row.payload:
            row.payload = payload
            changed += 1
    if telegram_id is not None:
        # A message's key names its chat: the person's private chat is their Telegram id.
        old, new = f":{telegram_id}:", f":erased{member_id}:"
        for stored in session.scalars(select(InboxUpdate).where(InboxUpdate.key.contains(old))):
            stored.key = stored.key.replace(old, new)
        for done in session.scalars(
            select(ProcessedUpdate).where(ProcessedUpdate.key.contains(old))
        ):
            done.key = done.key.replace(old, new)
        for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.contains(old))
        ):
            message.key = message.key.replace(old, new)
    return changed


def _scrub_outbox(
    session: Session,
    member_id: int,
    telegram_id: int | None,
    team_ids: list[int],
    scrub: Scrub,
    names: Sequence[str],
    label: str,
) -> int:
    """Blank the messages to the person (never sent now); put the label in those about them."""
    changed = 0
    conditions: list[ColumnElement[bool]] = [
        OutboxMessage.team_id.in_(team_ids),
        OutboxMessage.team_id.is_(None),
    ]
    if telegram_id is not None:
        conditions += [
            OutboxMessage.chat_id == telegram_id,
            OutboxMessage.user_id == telegram_id,
        ]
    for row in session.scalars(select(OutboxMessage).where(or_(*conditions))):
        if telegram_id is not None and telegram_id in (row.chat_id, row.user_id):
            if row.status in (OUTBOX_PENDING, OUTBOX_SENDING):
                row.status = OUTBOX_FAILED
                row.error = "erased"
            row.text, row.payload, row.buttons = None, None, None
            row.user_id = None
            if row.chat_id == telegram_id:
                row.chat_id = 0
            changed += 1
            continue
        text = scrub(row.text, False) if row.text else row.text
        payload, buttons = scrub(row.payload, False), scrub(row.buttons, False)
        if (text, payload, buttons) != (row.text, row.payload, row.buttons):
            row.text, row.payload, row.buttons = text, payload, buttons
            changed += 1
    return changed
