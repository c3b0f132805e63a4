"""Invite and join-approval use cases: `/invite` (create, `once`, `list`, `revoke <id>`) for
leaders, and a leader's Approve / Reject on a join request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kpi import invites, join_requests, pending
from kpi.access import ChatInfo, Refusal, question_for_leader, require, resolve
from kpi.models import Invite, Member, Team
from kpi.teams import PersonInfo
from kpi.usecases.outcomes import BadInput

# The outbox kinds of the leaders' question and of the answer, for the sender that renders them.
JOIN_REQUEST = join_requests.JOIN_REQUEST
JOIN_ANSWER = join_requests.JOIN_ANSWER

# What follows /invite, with the words run together ("một lần" is "mộtlần").
ONCE_WORDS = ("once", "single", "1", "mộtlần", "motlan", "1lần", "1lan")
LIST_WORDS = ("list", "danhsách", "danhsach", "ds", "xem")
REVOKE_WORDS = ("revoke", "thuhồi", "thuhoi", "hủy", "huy")


@dataclass(frozen=True)
class InviteLine:
    """One link as `/invite list` shows it (the token is never shown again)."""

    id: int
    single_use: bool
    expires_at: dt.datetime  # in the team's timezone
    uses: int


@dataclass(frozen=True)
class InviteMade:
    """A new link: its plain token, shown this once, and when it expires (team's timezone)."""

    lang_pref: str | None
    team: str
    line: InviteLine
    token: str


@dataclass(frozen=True)
class InviteList:
    """The team's links that still join."""

    lang_pref: str | None
    team: str
    lines: tuple[InviteLine, ...]


@dataclass(frozen=True)
class InviteRevoked:
    """What `/invite revoke <id>` did."""

    lang_pref: str | None
    invite_id: int
    status: invites.RevokeStatus


InviteOutcome = InviteMade | InviteList | InviteRevoked | BadInput | Refusal


def _line(invite: Invite, team: Team) -> InviteLine:
    local = invite.expires_at.astimezone(ZoneInfo(team.timezone))
    return InviteLine(invite.id, invite.single_use, local, invite.uses)


def invite_command(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> InviteOutcome:
    """Make a link (`once`: single-use), list the open ones, or revoke one (leaders)."""
    caller = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(caller, Refusal):
        return caller
    team, lang = caller.team, caller.lang_pref
    words = args.lower().split()
    joined = "".join(words)
    if not words or joined in ONCE_WORDS:
        single = bool(words)
        invite, token = invites.create(
            session, team, actor_id=caller.member.id, single_use=single, now=now
        )
        return InviteMade(lang, team.title, _line(invite, team), token)
    if joined in LIST_WORDS:
        lines = tuple(_line(i, team) for i in invites.open_invites(session, team.id, now))
        return InviteList(lang, team.title, lines)
    verb = next((w for w in REVOKE_WORDS if joined.startswith(w)), None)
    if verb is not None:
        ident = joined.removeprefix(verb).lstrip("#")
        if not ident.isascii() or not ident.isdigit() or len(ident) > 19:
            return BadInput(lang, "invite.bad_revoke", command="invite")
        invite_id = int(ident)
        status = invites.revoke(session, team.id, invite_id, actor_id=caller.member.id, now=now)
        return InviteRevoked(lang, invite_id, status)
    return BadInput(lang, "invite.bad_usage", command="invite")


# --- a leader's answer to a join request --------------------------------------------------------

JoinAnswerOutcome = Literal["approved", "rejected", "gone", "forbidden", "expired"]


@dataclass(frozen=True)
class JoinAnswer:
    """What a leader's press did: decided now, decided before (`by` someone), or nothing."""

    outcome: JoinAnswerOutcome
    lang_pref: str | None
    name: str = ""  # the person who asked to join
    team: str = ""
    by: str = ""  # the leader who decided
    now: bool = True  # decided by this press
    notices: tuple[int, ...] = ()


def answer_join(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    action_id: int,
    approve: bool,
) -> JoinAnswer:
    """Approve or reject a join request on a leader's button; safe to press twice."""
    scope = resolve(session, person, chat, admins, now)
    lang = scope.lang_pref
    found = question_for_leader(
        session, scope, pending.find(session, action_id), join_requests.JOIN_KIND, admins
    )
    if isinstance(found, str):
        return JoinAnswer(found, lang)
    action, team = found
    requester = session.get(Member, action.member_id)
    if requester is None:
        return JoinAnswer("expired", lang)
    name, title = requester.display_name, team.title
    if action.resolved_at is not None:
        before = join_requests.decided_before(session, action)
        if before == "gone":
            return JoinAnswer("gone", lang, name, title)
        return JoinAnswer(before.decision, lang, name, title, by=before.by, now=False)
    if not pending.is_open(action, now):
        return JoinAnswer("expired", lang, name, title)
    done = join_requests.decide(session, action, team, requester, scope.member, approve, now)
    if done == "gone":
        return JoinAnswer("gone", lang, name, title)
    notices = (done.notice,) if done.notice is not None else ()
    return JoinAnswer(done.decision, lang, name, title, by=done.by, now=done.now, notices=notices)
