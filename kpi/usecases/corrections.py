"""Correction use cases: /undo, /history, /edit (and its confirmation), /void.

A correction is judged by the team the check-in or entry belongs to: its role and its edit
window, never the team of the chat it is sent from or the caller's chosen team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from kpi import audit, closing, entries, parsing, pending, store
from kpi.access import Caller, ChatInfo, Refusal, Scope, require, resolve, scope_in_team
from kpi.catalog import DEALS
from kpi.models import CHECKIN_ACTIVE, ENTRY_ACTIVE, ENTRY_PENDING, Activity, Checkin, Team
from kpi.names import Names
from kpi.store import StoredEntry
from kpi.teams import PersonInfo, settings_of
from kpi.usecases.outcomes import AskBound, BadInput, Closed


@dataclass(frozen=True)
class Corrected:
    """What /undo, /edit or /void changed (`before`: an edited entry as it was)."""

    lang_pref: str | None
    entries: tuple[StoredEntry, ...]
    names: Mapping[str, Names]
    before: tuple[StoredEntry, ...] = ()


@dataclass(frozen=True)
class History:
    """The caller's recent entries with their ids."""

    lang_pref: str | None
    entries: tuple[StoredEntry, ...]
    names: Mapping[str, Names]
    today: dt.date


@dataclass(frozen=True)
class CannotCorrect:
    """Why nothing was corrected: nothing to undo, no such entry, not yours, too old, or in a
    closed month (a rep's; a leader's without a reason: `needs_reason`)."""

    lang_pref: str | None
    why: Literal[
        "nothing", "not_found", "forbidden", "too_old", "closed", "needs_reason", "approval"
    ]
    days: int = 0  # the edit window, for "too old"
    month: str = ""  # the closed month (11/2026)


CorrectionOutcome = Corrected | History | CannotCorrect | BadInput | AskBound | Closed | Refusal


def _in_team_of(
    session: Session, asker: Scope, chat: ChatInfo, team_id: int, admins: frozenset[int]
) -> Caller | None:
    """Return the caller in the team a check-in or entry belongs to; None without a role.

    A leader elsewhere is a rep here. In a team's group only that team's entries exist: an
    answer there must not show another team's numbers.
    """
    if asker.team is not None and not chat.is_private and asker.team.id != team_id:
        return None
    team = session.get(Team, team_id)
    if team is None or not team.active:
        return None
    caller = require(
        scope_in_team(session, asker.member, team, admins, asker.lang_pref), "manager"
    )
    return caller if isinstance(caller, Caller) else None


def _unknown_to(asker: Scope, why: Literal["nothing", "not_found"]) -> CannotCorrect | Refusal:
    """Answer a caller without a role in the entry's team: a stranger is told to join first."""
    refusal = require(asker, "manager")
    if isinstance(refusal, Refusal) and refusal.reason in ("no_team", "not_member"):
        return Refusal(refusal.reason, asker.lang_pref)
    return CannotCorrect(asker.lang_pref, why)


def _closing(
    session: Session, caller: Caller, day: dt.date, reason: str | None
) -> CannotCorrect | closing.Late | None:
    """Ask the closed-month rule about a correction of an entry of `day` (kpi.closing)."""
    verdict = closing.admit(
        session, caller.team, leader=caller.is_leader, days=[day], reason=reason
    )
    if isinstance(verdict, closing.Refused):
        why: Literal["closed", "needs_reason"] = (
            "closed" if verdict.code == "closed.rep" else "needs_reason"
        )
        return CannotCorrect(caller.lang_pref, why, month=verdict.month)
    return verdict


def _note(
    session: Session,
    late: closing.Late | None,
    caller: Caller,
    what: str,
    row: Activity | Checkin,
    now: dt.datetime,
) -> None:
    if late is None:
        return
    closing.note(
        session,
        late,
        team_id=row.team_id,
        actor_id=caller.member.id,
        what=what,
        entity=audit.ENTRY if isinstance(row, Activity) else audit.CHECKIN,
        entity_id=row.id,
        day=row.day,
        member_id=row.member_id,
        now=now,
    )


def _too_old(caller: Caller) -> CannotCorrect:
    return CannotCorrect(
        caller.lang_pref, "too_old", entries.edit_window(caller.team, caller.is_leader)
    )


def undo(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    checkin_id: int | None = None,
    args: str = "",
) -> Corrected | CannotCorrect | Refusal:
    """Void the caller's last check-in (or the one an undo button names), whole.

    In a closed month a leader adds the reason: `/undo lý do: …`.
    """
    reason = closing.split_reason(args)[1]
    asker = resolve(session, person, chat, admins, now)
    checkin: Checkin | None
    if checkin_id is None:
        caller = require(asker, "manager")
        if isinstance(caller, Refusal):
            return caller
        checkin = store.last_checkin(session, caller.team.id, caller.member.id)
    else:
        if asker.group_without_team:
            return _unknown_to(asker, "nothing")
        checkin = session.get(Checkin, checkin_id) if 0 < checkin_id <= store.MAX_ID else None
        own = _in_team_of(session, asker, chat, checkin.team_id, admins) if checkin else None
        if checkin is None or own is None:
            return _unknown_to(asker, "nothing")
        caller = own
        if checkin.member_id != caller.member.id:
            # An undo button in the group undoes only its owner's check-in.
            return CannotCorrect(caller.lang_pref, "forbidden")
        if checkin.status != CHECKIN_ACTIVE:
            checkin = None
    if checkin is None:
        return CannotCorrect(caller.lang_pref, "nothing")
    today = entries.local_today(caller.team, now)
    if entries.check_day(caller.team, caller.role, checkin.day, today) is not None:
        return _too_old(caller)
    late = _closing(session, caller, checkin.day, reason)
    if isinstance(late, CannotCorrect):
        return late
    voided = store.void_checkin(session, checkin, actor_id=caller.member.id, now=now)
    _note(session, late, caller, "undo", checkin, now)
    names = entries.metric_names(session, caller.team.id)
    return Corrected(caller.lang_pref, tuple(voided), names)


def history(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    limit: int = 15,
) -> History | Refusal:
    """List the caller's recent entries with their ids (voided ones marked)."""
    caller = require(resolve(session, person, chat, admins, now), "manager")
    if isinstance(caller, Refusal):
        return caller
    rows = store.history(session, caller.team.id, caller.member.id, limit=limit)
    return History(
        caller.lang_pref,
        tuple(rows),
        entries.metric_names(session, caller.team.id),
        entries.local_today(caller.team, now),
    )


def _editable(
    session: Session,
    asker: Scope,
    chat: ChatInfo,
    admins: frozenset[int],
    entry_ref: str,
    now: dt.datetime,
    reason: str | None = None,
) -> tuple[Caller, Activity, closing.Late | None] | CannotCorrect | BadInput | Refusal:
    """Find the entry a command names and the caller in its team, or why not."""
    try:
        entry_id = int(entry_ref.lstrip("#"))
    except ValueError:
        return BadInput(asker.lang_pref, "entry.id")
    entry = session.get(Activity, entry_id) if 0 < entry_id <= store.MAX_ID else None
    caller = _in_team_of(session, asker, chat, entry.team_id, admins) if entry else None
    if entry is None or caller is None:
        # Another team's entries do not exist for the caller.
        return _unknown_to(asker, "not_found")
    if entry.status not in (ENTRY_ACTIVE, ENTRY_PENDING):
        return CannotCorrect(caller.lang_pref, "not_found")
    if entry.member_id != caller.member.id and not caller.is_leader:
        return CannotCorrect(caller.lang_pref, "forbidden")
    today = entries.local_today(caller.team, now)
    if entries.check_day(caller.team, caller.role, entry.day, today) is not None:
        return _too_old(caller)
    late = _closing(session, caller, entry.day, reason)
    if isinstance(late, CannotCorrect):
        return late
    return caller, entry, late


def _asker(
    session: Session, person: PersonInfo, chat: ChatInfo, admins: frozenset[int], now: dt.datetime
) -> Scope | Refusal:
    """Resolve who sends a correction naming an entry; refuse only a group without a team."""
    asker = resolve(session, person, chat, admins, now)
    if asker.group_without_team:
        return Refusal("no_team", asker.lang_pref)
    return asker


def _apply_edit(
    session: Session,
    caller: Caller,
    entry: Activity,
    value: int | None,
    amount: int | None,
    now: dt.datetime,
    late: closing.Late | None = None,
) -> Corrected:
    before = store.stored_entry(entry)
    store.edit_entry(
        session, entry, value=value, amount=amount, actor_id=caller.member.id, now=now
    )
    _note(session, late, caller, "edit", entry, now)
    names = entries.metric_names(session, caller.team.id)
    return Corrected(caller.lang_pref, (store.stored_entry(entry),), names, (before,))


def edit(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> CorrectionOutcome:
    """Change one entry: `/edit <id> <value>` (a count, or for a deal its amount).

    In a closed month a leader adds the reason: `/edit 123 5 lý do: …`.
    """
    asker = _asker(session, person, chat, admins, now)
    if isinstance(asker, Refusal):
        return asker
    args, reason = closing.split_reason(args)
    ref, _, value_text = args.strip().partition(" ")
    if not ref or not value_text.strip():
        return BadInput(asker.lang_pref, "edit.usage")
    found = _editable(session, asker, chat, admins, ref, now, reason)
    if not isinstance(found, tuple):
        return found
    caller, entry, late = found
    if entry.metric == DEALS and not caller.is_leader and settings_of(caller.team).deal_approval:
        # A leader approved (or will approve) the deal as it was: a rep's change would count
        # unseen. Editing the Telegram message puts the deal to the leaders again.
        return CannotCorrect(caller.lang_pref, "approval")
    try:
        value: int | None = None
        amount_value: int | None = None
        if entry.metric == DEALS:
            amount = parsing.parse_amount(value_text)
            if isinstance(amount, parsing.AmbiguousAmount):
                raise parsing.ParseError("amount.ambiguous", text=amount.text)
            amount_value = amount.value
        else:
            value = parsing.parse_count(value_text.strip())
    except parsing.ParseError as exc:
        return BadInput(caller.lang_pref, exc.code, dict(exc.params))
    over = entries.edit_over_bound(session, caller.team, entry, value, amount_value)
    if over is not None:
        # The same question a new entry gets: a big value is confirmed, never stored silently.
        action = pending.ask(
            session,
            kind="edit",
            team_id=caller.team.id,
            member_id=caller.member.id,
            chat_id=chat.id,
            payload={
                "entry_id": entry.id,
                "value": value,
                "amount": amount_value,
                "reason": reason,
            },
            now=now,
        )
        metric, total, bound = over
        names = entries.metric_names(session, caller.team.id)
        return AskBound(caller.lang_pref, action.id, metric, total, bound, names)
    return _apply_edit(session, caller, entry, value, amount_value, now, late)


def confirm_edit(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    pending_id: int,
    choice: str,
) -> Corrected | CannotCorrect | BadInput | Closed | Refusal:
    """Answer the buttons of an /edit beyond the sanity bound: apply it, or cancel.

    Judged, like the /edit that asked, by the team of the entry: not by the chat's team or the
    team the caller has chosen since.
    """
    asker = resolve(session, person, chat, admins, now)
    action = pending.find(session, pending_id)
    if (
        action is None
        or action.kind != "edit"
        or action.member_id != asker.member.id
        or not pending.is_open(action, now)
    ):
        return Closed(asker.lang_pref, "expired")
    pending.settle(action, choice, now)
    if choice != "yes":
        return Closed(asker.lang_pref, "cancelled")
    # Checked again: the entry may have been voided, or gone out of the window, or the caller
    # may have lost the role, meanwhile.
    ref, reason = str(action.payload["entry_id"]), action.payload.get("reason")
    found = _editable(session, asker, chat, admins, ref, now, reason)
    if not isinstance(found, tuple):
        return found
    caller, entry, late = found
    value, amount = action.payload.get("value"), action.payload.get("amount")
    return _apply_edit(session, caller, entry, value, amount, now, late)


def void(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> CorrectionOutcome:
    """Void one entry: `/void <id>` (history kept); in a closed month a leader adds the
    reason: `/void 123 lý do: …`."""
    asker = _asker(session, person, chat, admins, now)
    if isinstance(asker, Refusal):
        return asker
    args, reason = closing.split_reason(args)
    ref = args.strip().split(" ", 1)[0]
    if not ref:
        return BadInput(asker.lang_pref, "void.usage")
    found = _editable(session, asker, chat, admins, ref, now, reason)
    if not isinstance(found, tuple):
        return found
    caller, entry, late = found
    names = entries.metric_names(session, caller.team.id)
    store.void_entry(session, entry, actor_id=caller.member.id, now=now)
    _note(session, late, caller, "void", entry, now)
    return Corrected(caller.lang_pref, (store.stored_entry(entry),), names)
