"""Deal approval and flags: `/approvals`, the Approve/Reject buttons, the void button of a flag,
and a photo of the contract attached to a deal.

A button is judged by the team its entry belongs to: only that team's leaders (or an admin)
decide, from any chat. Every button is safe to press twice, and by two leaders: the second
press learns who decided already.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from kpi import approvals, audit, closing, store
from kpi.access import Caller, ChatInfo, Refusal, Scope, require, resolve, scope_in_team
from kpi.approvals import BackfillNote, Decision, FlagNote, PendingDeal
from kpi.catalog import DEALS
from kpi.models import ENTRY_ACTIVE, ENTRY_PENDING, Activity, Member, Team
from kpi.posts.content import Recipient, leaders_of
from kpi.teams import PersonInfo
from kpi.usecases.checkins import Celebration, celebration_for

# --- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approvals:
    """The team's deals waiting for a leader, oldest first."""

    lang_pref: str | None
    team_title: str
    deals: tuple[PendingDeal, ...]


@dataclass(frozen=True)
class Notice:
    """Where the rep hears the outcome: their private chat, else the deal's own chat."""

    chat_id: int
    lang_pref: str | None
    reply_to: int | None = None


@dataclass(frozen=True)
class Decided:
    """A pending deal approved (it counts now) or rejected, by whom, and who is told."""

    lang_pref: str | None
    approved: bool
    deal: PendingDeal
    by: str
    rep: Notice | None
    celebration: Celebration | None


@dataclass(frozen=True)
class AlreadyDecided:
    """The deal no longer waits: decided (by whom), or voided or edited by its rep."""

    lang_pref: str | None
    decision: Decision


@dataclass(frozen=True)
class Gone:
    """No entry of the caller's teams goes by this id."""

    lang_pref: str | None


@dataclass(frozen=True)
class FlagVoided:
    """A flagged entry voided with the flag's button."""

    lang_pref: str | None
    entry_id: int


@dataclass(frozen=True)
class PhotoKept:
    """A photo of the contract kept on a deal; the deals of it still waiting, and who to ask."""

    lang_pref: str | None
    team_id: int
    checkin_id: int
    waiting: tuple[PendingDeal, ...]
    leaders: tuple[Recipient, ...]


@dataclass(frozen=True)
class NoDeal:
    """A photo sent as a reply to something that is not one of the sender's deals."""

    lang_pref: str | None
    why: Literal["no_deal", "not_yours"]


ListOutcome = Approvals | Refusal
DecideOutcome = Decided | AlreadyDecided | Gone | Refusal
VoidOutcome = FlagVoided | AlreadyDecided | Gone | Refusal
PhotoOutcome = PhotoKept | NoDeal | Refusal

# --- the use cases -------------------------------------------------------------------------

LIST_LIMIT = 20  # one message's worth of requests with buttons


def list_approvals(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> ListOutcome:
    """List the deals waiting for approval in the caller's team, oldest first (leaders)."""
    caller = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(caller, Refusal):
        return caller
    deals = approvals.pending_deals(session, caller.team.id, limit=LIST_LIMIT)
    return Approvals(caller.lang_pref, caller.team.title, tuple(deals))


def _leader_of_entry(
    session: Session, asker: Scope, admins: frozenset[int], entry_id: int
) -> tuple[Caller, Activity] | Gone | Refusal:
    """Find the entry a button names and the caller as a leader of its team, or why not."""
    # Locked until the decision commits: two leaders pressing at once decide once (PostgreSQL;
    # SQLite's write transactions are serial anyway).
    entry = (
        session.get(Activity, entry_id, with_for_update=True)
        if 0 < entry_id <= store.MAX_ID
        else None
    )
    team = session.get(Team, entry.team_id) if entry is not None else None
    if entry is None or team is None or not team.active:
        return Gone(asker.lang_pref)
    caller = require(scope_in_team(session, asker.member, team, admins, asker.lang_pref), "leader")
    if isinstance(caller, Refusal):
        return caller
    return caller, entry


def _notice(session: Session, entry: Activity) -> Notice | None:
    """Return where the rep of an entry hears about it (None: nowhere to write)."""
    rep = session.get(Member, entry.member_id)
    if rep is None:
        return None
    lang = rep.language or rep.telegram_language
    if rep.telegram_id is not None and rep.private_chat_ok and rep.blocked_at is None:
        return Notice(rep.telegram_id, lang)
    checkin = entry.checkin
    if checkin.chat_id is not None and checkin.chat_id < 0:
        return Notice(checkin.chat_id, lang, checkin.message_id)
    return None


# What a leader's button says when it changes a closed month (the reason a command types).
_PRESSED = {"approve": "✅", "reject": "❌", "flag_void": "🚩"}


def _note_late(
    session: Session, caller: Caller, entry: Activity, what: str, now: dt.datetime
) -> None:
    """Record a decision that changes a closed month's figures (kpi.closing): the next leader
    digest and the sent report's list of later changes show it."""
    late = closing.admit(
        session, caller.team, leader=True, days=[entry.day], reason=_PRESSED[what]
    )
    if isinstance(late, closing.Late):
        closing.note(
            session,
            late,
            team_id=entry.team_id,
            actor_id=caller.member.id,
            what=what,
            entity=audit.ENTRY,
            entity_id=entry.id,
            day=entry.day,
            member_id=entry.member_id,
            now=now,
        )


def decide(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    entry_id: int,
    approve: bool,
) -> DecideOutcome:
    """Approve or reject a pending deal (leaders of its team); a second press says who did."""
    asker = resolve(session, person, chat, admins, now)
    found = _leader_of_entry(session, asker, admins, entry_id)
    if not isinstance(found, tuple):
        return found
    caller, entry = found
    if entry.status != ENTRY_PENDING:
        return AlreadyDecided(caller.lang_pref, approvals.decision_of(session, entry))
    approvals.decide(session, entry, approve=approve, actor_id=caller.member.id, now=now)
    _note_late(session, caller, entry, "approve" if approve else "reject", now)
    deal = approvals.describe(session, entry)
    celebration = None
    if approve and entry.metric == DEALS:
        celebration = celebration_for(caller.team, [store.stored_entry(entry)])
    return Decided(
        caller.lang_pref,
        approve,
        deal,
        caller.member.display_name,
        _notice(session, entry),
        celebration,
    )


def void_flagged(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    entry_id: int,
) -> VoidOutcome:
    """Void an entry a flag asked a leader to look at (leaders of its team; safe twice)."""
    asker = resolve(session, person, chat, admins, now)
    found = _leader_of_entry(session, asker, admins, entry_id)
    if not isinstance(found, tuple):
        return found
    caller, entry = found
    if entry.status not in (ENTRY_ACTIVE, ENTRY_PENDING):
        return AlreadyDecided(caller.lang_pref, approvals.decision_of(session, entry))
    store.void_entry(session, entry, actor_id=caller.member.id, now=now, action="flag.void")
    _note_late(session, caller, entry, "flag_void", now)
    return FlagVoided(caller.lang_pref, entry.id)


def attach_photo(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    file_id: str,
    reply_to: int,
) -> PhotoOutcome:
    """Keep a photo sent as a reply to a deal's confirmation (or to the deal's own message)."""
    asker = resolve(session, person, chat, admins, now)
    checkin = approvals.checkin_replied_to(session, chat.id, reply_to)
    if checkin is None or not any(a.metric == DEALS for a in checkin.entries):
        return NoDeal(asker.lang_pref, "no_deal")
    team = session.get(Team, checkin.team_id)
    if team is None or not team.active:
        return NoDeal(asker.lang_pref, "no_deal")
    caller = require(scope_in_team(session, asker.member, team, admins, asker.lang_pref))
    if isinstance(caller, Refusal):
        return caller
    if checkin.member_id != caller.member.id:
        return NoDeal(caller.lang_pref, "not_yours")
    approvals.attach_photo(session, checkin, file_id, actor_id=caller.member.id, now=now)
    waiting = approvals.pending_of(session, [a.id for a in checkin.entries if a.metric == DEALS])
    leaders = tuple(leaders_of(session, team.id)) if waiting else ()
    return PhotoKept(caller.lang_pref, team.id, checkin.id, tuple(waiting), leaders)


__all__ = [
    "AlreadyDecided",
    "Approvals",
    "BackfillNote",
    "Decided",
    "Decision",
    "FlagNote",
    "FlagVoided",
    "Gone",
    "NoDeal",
    "Notice",
    "PendingDeal",
    "PhotoKept",
    "attach_photo",
    "decide",
    "list_approvals",
    "void_flagged",
]
