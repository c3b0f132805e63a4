"""Leave use cases: `/leave` (`/nghiphep`) and the leaders' Approve / Reject buttons.

`/leave @user FROM..TO` (leaders) is in force at once; `/leave FROM..TO` by a rep asks every
leader privately; `/leave` alone lists the team's current and upcoming absences; `/leave cancel
<id>` cancels one (a leader any, a rep their own that is pending or has not started).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from kpi import absences, outbox, parsing
from kpi.absences import AbsenceInfo
from kpi.access import Caller, ChatInfo, Refusal, require, resolve, scope_in_team
from kpi.entries import local_today
from kpi.models import ABSENCE_APPROVED, ABSENCE_PENDING, Absence, Member, Team
from kpi.posts.content import leaders_or_group
from kpi.store import MAX_ID
from kpi.teams import PersonInfo, member_by_handle
from kpi.usecases.outcomes import BadInput, UnknownMember

# Outbox kinds (rendered by handlers.posts in the reader's language).
LEAVE_REQUEST = "leave_request"
LEAVE_DECIDED = "leave_decided"

CANCEL_WORDS = frozenset({"cancel", "huy", "xoa"})  # folded: `hủy`, `xóa` too


@dataclass(frozen=True)
class LeaveList:
    """The team's current and upcoming absences (pending ones marked)."""

    lang_pref: str | None
    team_title: str
    items: tuple[AbsenceInfo, ...]
    today: dt.date


@dataclass(frozen=True)
class LeaveSet:
    """An absence stored: in force (a leader's), or asked of the leaders (a rep's)."""

    lang_pref: str | None
    absence: AbsenceInfo
    asked: int  # how many leaders were asked (a rep's request)


@dataclass(frozen=True)
class LeaveCancelled:
    """An absence cancelled."""

    lang_pref: str | None
    absence: AbsenceInfo


@dataclass(frozen=True)
class LeaveDecided:
    """A leader's answer to a request; `already`: it had been answered (or cancelled) before."""

    lang_pref: str | None
    absence: AbsenceInfo
    already: bool


@dataclass(frozen=True)
class CannotLeave:
    """Why nothing changed: no such absence, not yours to change, overlapping, already over."""

    lang_pref: str | None
    why: Literal["not_found", "forbidden", "overlap", "over"]
    absence: AbsenceInfo | None = None


LeaveOutcome = (
    LeaveList | LeaveSet | LeaveCancelled | CannotLeave | BadInput | UnknownMember | Refusal
)
DecideOutcome = LeaveDecided | CannotLeave | Refusal


def leave_command(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
    reply_to: int | None = None,
) -> LeaveOutcome:
    """List, set, request or cancel leave: `/leave [@user] FROM..TO`, `/leave cancel <id>`."""
    asker = resolve(session, person, chat, admins, now)
    scope = require(asker, "manager")
    if isinstance(scope, Refusal):
        return scope
    team = scope.team
    today = local_today(team, now)
    words = args.split()
    if not words and reply_to is None:
        items = absences.current_and_upcoming(session, team.id, today)
        return LeaveList(scope.lang_pref, team.title, tuple(items), today)
    if words and parsing.normalize_text(words[0]) in CANCEL_WORDS:
        return _cancel(session, scope, words[1:], today, now)
    handle = next((w for w in words if w.startswith("@")), None)
    rest = " ".join(w for w in words if not w.startswith("@"))
    target: Member
    if handle is not None or reply_to is not None:
        leader = require(asker, "leader")
        if isinstance(leader, Refusal):
            return leader
        found = member_by_handle(session, team.id, handle, reply_to)
        if found is None:
            return UnknownMember(scope.lang_pref, handle or "")
        target = found
    else:
        # Leave is a member's own: an admin who is not in the team names someone.
        member = require(asker, "member")
        if isinstance(member, Refusal):
            return member
        target = scope.member
    if not rest:
        return BadInput(scope.lang_pref, "leave.usage", command="leave")
    try:
        first, last = parsing.parse_day_range(rest, today)
    except parsing.ParseError as exc:
        return BadInput(scope.lang_pref, exc.code, dict(exc.params), "leave")
    clash = absences.overlapping(session, team.id, target.id, first, last)
    if clash is not None:
        return CannotLeave(scope.lang_pref, "overlap", absences.info(session, clash))
    absence = absences.add(
        session,
        team_id=team.id,
        member_id=target.id,
        first=first,
        last=last,
        actor_id=scope.member.id,
        approved=scope.is_leader,
        now=now,
    )
    asked = 0 if scope.is_leader else _ask_leaders(session, team, absence, now)
    return LeaveSet(scope.lang_pref, absences.info(session, absence), asked)


def _ask_leaders(session: Session, team: Team, absence: Absence, now: dt.datetime) -> int:
    """Queue the request to every leader privately (to the group when none can be reached)."""
    member = session.get(Member, absence.member_id)
    assert member is not None
    asked = leaders_or_group(session, team)
    for chat in asked:
        outbox.enqueue(
            session,
            key=f"leave:{absence.id}:{chat.key}",
            kind=LEAVE_REQUEST,
            chat_id=chat.chat_id,
            team_id=team.id,
            user_id=chat.user_id,
            payload={
                "lang": chat.lang_pref or team.language,
                "absence": absence.id,
                "name": member.display_name,
                "team": team.title,
                "first": absence.first_day.isoformat(),
                "last": absence.last_day.isoformat(),
            },
            now=now,
        )
    return len(asked)


def _locked(session: Session, absence_id: int) -> Absence | None:
    """Read a leave locked: a cancel and a leader's answer at the same moment are decided one
    after the other, and whichever comes second sees what the first did."""
    if not 0 < absence_id <= MAX_ID:
        return None
    return session.get(Absence, absence_id, with_for_update=True)


def _find(session: Session, team_id: int, ref: str) -> Absence | None:
    try:
        absence_id = int(ref.lstrip("#"))
    except ValueError:
        return None
    # Locked: a cancel and a leader's answer at the same moment are decided one after the other.
    found = (
        session.get(Absence, absence_id, with_for_update=True)
        if 0 < absence_id <= MAX_ID
        else None
    )
    # Another team's absences do not exist for the caller.
    return found if found is not None and found.team_id == team_id else None


def _cancel(
    session: Session, scope: Caller, words: list[str], today: dt.date, now: dt.datetime
) -> LeaveOutcome:
    if len(words) != 1:
        return BadInput(scope.lang_pref, "leave.cancel_usage", command="leave")
    absence = _find(session, scope.team.id, words[0])
    if absence is None:
        if not words[0].lstrip("#").isdigit():
            return BadInput(scope.lang_pref, "leave.cancel_usage", command="leave")
        return CannotLeave(scope.lang_pref, "not_found")
    described = absences.info(session, absence)
    if absence.status not in absences.OPEN or absence.last_day < today:
        return CannotLeave(scope.lang_pref, "over", described)
    own = absence.member_id == scope.member.id
    # A rep may take back their own request, or a leave that has not started.
    if not scope.is_leader and not (
        own and (absence.status == ABSENCE_PENDING or absence.first_day > today)
    ):
        return CannotLeave(scope.lang_pref, "forbidden", described)
    absences.cancel(session, absence, actor_id=scope.member.id, now=now)
    return LeaveCancelled(scope.lang_pref, absences.info(session, absence))


def decide(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    absence_id: int,
    choice: str,
) -> DecideOutcome:
    """Answer a rep's request with a button: approve or reject (pressing twice is harmless).

    Judged in the team the request belongs to: a leader of that team (or an admin) only.
    """
    asker = resolve(session, person, chat, admins, now)
    # Locked, like a cancel: whichever comes second sees what the first did.
    absence = (
        session.get(Absence, absence_id, with_for_update=True)
        if 0 < absence_id <= MAX_ID
        else None
    )
    team = session.get(Team, absence.team_id) if absence is not None else None
    if absence is None or team is None or not team.active:
        return CannotLeave(asker.lang_pref, "not_found")
    caller = require(scope_in_team(session, asker.member, team, admins, asker.lang_pref), "leader")
    if isinstance(caller, Refusal):
        return caller
    if absence.status != ABSENCE_PENDING:
        return LeaveDecided(caller.lang_pref, absences.info(session, absence), already=True)
    approve = choice == "ok"
    absences.decide(session, absence, approve=approve, actor_id=caller.member.id, now=now)
    described = absences.info(session, absence)
    member = session.get(Member, absence.member_id)
    if member is not None and member.telegram_id is not None and member.private_chat_ok:
        outbox.enqueue(
            session,
            key=f"leave-decided:{absence.id}",
            kind=LEAVE_DECIDED,
            chat_id=member.telegram_id,
            team_id=team.id,
            user_id=member.telegram_id,
            payload={
                "lang": member.language or member.telegram_language or team.language,
                "approved": absence.status == ABSENCE_APPROVED,
                "by": caller.member.display_name,
                "team": team.title,
                "first": absence.first_day.isoformat(),
                "last": absence.last_day.isoformat(),
            },
            now=now,
        )
    return LeaveDecided(caller.lang_pref, described, already=False)
