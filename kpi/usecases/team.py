"""Team use cases: /team (the roster, roles, ranking, removal with its confirmation and the
offer to remove from the group), people leaving the group, and the bot losing its rights.

Every action behind a button is checked again against who may do it in the team the member
belongs to, whichever chat the press comes from; a button pressed twice changes nothing more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import outbox, pending, roster
from kpi.absences import absent_on
from kpi.access import (
    Caller,
    ChatInfo,
    Refusal,
    Scope,
    TeamChoice,
    require,
    resolve,
    scope_in_team,
)
from kpi.calendar import today_in
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    ROLE_LEADER,
    ROLE_REP,
    Member,
    Membership,
    PendingAction,
    Team,
)
from kpi.roster import FORMER_LISTED, LOSSES, BotRights, Loss, RosterRow, rights_lost
from kpi.teams import PersonInfo, member_by_handle, team_for_chat
from kpi.usecases.outcomes import BadInput, Closed, UnknownMember

# What the views and handlers read of the roster (handlers call use cases, not kpi.roster).
__all__ = [
    "FORMER_LISTED",
    "LOSSES",
    "BotRights",
    "RosterRow",
    "bot_rights_changed",
    "confirm_kick",
    "confirm_remove",
    "member_button",
    "member_left",
    "rights_lost",
    "team_command",
]

REMOVE_KIND = "team_remove"
KICK_KIND = "team_kick"
# Outbox kinds: the notices that follow a committed change (rendered by handlers/views/team.py).
LEADERLESS = "team_leaderless"
BOT_RIGHTS = "team_bot_rights"

# What /team's subcommands are called, in English and Vietnamese (without diacritics too).
SUBCOMMANDS: dict[str, str] = {
    "leader": "leader",
    "quanly": "leader",
    "quảnlý": "leader",
    "rep": "rep",
    "nhanvien": "rep",
    "nhânviên": "rep",
    "remove": "remove",
    "xoa": "remove",
    "xóa": "remove",
    "xoá": "remove",
    "rank": "rank",
    "xephang": "rank",
    "xếphạng": "rank",
}
ON_OFF = {
    "on": True,
    "bat": True,
    "bật": True,
    "off": False,
    "tat": False,
    "tắt": False,
}
Action = Literal["leader", "rep", "remove", "rank_on", "rank_off"]
ACTIONS: tuple[Action, ...] = ("leader", "rep", "remove", "rank_on", "rank_off")


@dataclass(frozen=True)
class Roster:
    """The team's people as /team shows them; `manage`: the caller may change them."""

    lang_pref: str | None
    team_title: str
    rows: tuple[RosterRow, ...]
    manage: bool
    away: frozenset[int] = frozenset()  # members on approved leave today


@dataclass(frozen=True)
class MemberCard:
    """One member with the buttons a leader may press about them."""

    lang_pref: str | None
    membership_id: int
    row: RosterRow
    last_leader: bool


@dataclass(frozen=True)
class RoleSet:
    """A member made a leader or a rep (`changed`: False when they already were)."""

    lang_pref: str | None
    name: str
    role: str
    changed: bool


@dataclass(frozen=True)
class RankSet:
    """A member included in the rankings or left out of them."""

    lang_pref: str | None
    name: str
    ranked: bool
    changed: bool


@dataclass(frozen=True)
class LastLeader:
    """Refused: the member is the team's last leader (appoint another one first)."""

    lang_pref: str | None
    name: str


@dataclass(frozen=True)
class ConfirmRemoval:
    """Removing a member waits for the Remove button."""

    lang_pref: str | None
    pending_id: int
    name: str
    team_title: str


@dataclass(frozen=True)
class Removed:
    """A member taken out of the team; `kick_id` asks whether to remove them from the group."""

    lang_pref: str | None
    name: str
    team_title: str
    chat_id: int
    telegram_id: int | None
    kick_id: int


@dataclass(frozen=True)
class NotRemoved:
    """The removal was cancelled, or the member is no longer in the team."""

    lang_pref: str | None
    name: str
    why: Literal["cancelled", "already"]


@dataclass(frozen=True)
class Kick:
    """Remove the member from the group now (the handler calls Telegram)."""

    lang_pref: str | None
    name: str
    chat_id: int
    telegram_id: int


CommandOutcome = (
    Roster | RoleSet | RankSet | LastLeader | ConfirmRemoval | UnknownMember | BadInput | Refusal
)


# --- the team a command is about -------------------------------------------------------------


def _caller(
    session: Session,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> Scope:
    """Resolve the caller; a configured admin in private picks any team (team buttons)."""
    scope = resolve(session, person, chat, admins, now)
    if not chat.is_private or person.telegram_id not in admins or scope.team or scope.choices:
        return scope
    teams = list(session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.title)))
    chosen = next((t for t in teams if t.id == scope.member.current_team_id), None)
    if chosen is None and len(teams) == 1:
        chosen = teams[0]
    if chosen is not None:
        return scope_in_team(session, scope.member, chosen, admins, scope.lang_pref)
    scope.choices = [TeamChoice(t.id, t.title) for t in teams]
    return scope


def _leader(session: Session, scope: Scope, appointing_owner: bool) -> Caller | Refusal:
    """Require a leader; the group's creator appoints one when the team has none left."""
    team = scope.team
    if appointing_owner and team is not None and roster.active_leaders(session, team.id) == 0:
        role = scope.role or "leader"
        return Caller(scope.member, team, role, scope.lang_pref, scope.membership)
    return require(scope, "leader")


# --- /team -----------------------------------------------------------------------------------


def team_command(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
    reply_to: int | None = None,
    is_chat_owner: bool = False,
) -> CommandOutcome:
    """List the team (`/team`), or change a member: `leader|rep|remove @user`, `rank @user off`."""
    scope = _caller(session, person, chat, admins, now)
    words = args.split()
    if not words:
        viewer = require(scope, "manager")
        if isinstance(viewer, Refusal):
            return viewer
        rows = tuple(roster.roster(session, viewer.team.id))
        today = today_in(viewer.team.timezone, now)
        away = frozenset(absent_on(session, viewer.team.id, today))
        return Roster(viewer.lang_pref, viewer.team.title, rows, viewer.is_leader, away)
    sub = SUBCOMMANDS.get(words[0].lower())
    caller = _leader(session, scope, sub == "leader" and is_chat_owner)
    if isinstance(caller, Refusal):
        return caller
    lang = caller.lang_pref
    if sub is None:
        return BadInput(lang, "team.usage", {"word": words[0]})
    rest = words[1:]
    handle = next((w for w in rest if w.startswith("@")), None)
    others = [w for w in rest if not w.startswith("@")]
    if handle is None and reply_to is None:
        return BadInput(lang, "team.no_member")
    switch: bool | None = None
    if sub == "rank":
        if len(others) != 1 or others[0].lower() not in ON_OFF:
            return BadInput(lang, "team.rank_usage")
        switch = ON_OFF[others[0].lower()]
    elif others:
        return BadInput(lang, "team.usage", {"word": others[0]})
    target = member_by_handle(session, caller.team.id, handle, reply_to)
    m = _membership(session, caller.team.id, target)
    if m is None:
        return UnknownMember(lang, handle or "")
    action: str = ("rank_on" if switch else "rank_off") if sub == "rank" else sub
    return _act(session, caller, m, action, now)


def _membership(session: Session, team_id: int, member: Member | None) -> Membership | None:
    if member is None:
        return None
    return session.scalar(
        select(Membership).where(
            Membership.team_id == team_id,
            Membership.member_id == member.id,
            Membership.status == MEMBERSHIP_ACTIVE,
        )
    )


def _act(
    session: Session, caller: Caller, m: Membership, action: str, now: dt.datetime
) -> RoleSet | RankSet | LastLeader | ConfirmRemoval:
    """Apply one change to an active member, as the caller may (checked by the caller)."""
    member = session.get(Member, m.member_id)
    assert member is not None
    name, lang = member.display_name, caller.lang_pref
    actor = caller.member.id
    if action in ("rank_on", "rank_off"):
        ranked = action == "rank_on"
        changed = roster.set_ranked(session, m, ranked, actor_id=actor, now=now)
        return RankSet(lang, name, ranked, changed)
    # A leader may not leave the team without one; a configured admin may (and appoints).
    guarded = caller.role != "admin" and roster.is_last_leader(session, m)
    if action == "leader":
        changed = roster.set_role(session, m, ROLE_LEADER, actor_id=actor, now=now)
        return RoleSet(lang, name, ROLE_LEADER, changed)
    if guarded:
        return LastLeader(lang, name)
    if action == "rep":
        changed = roster.set_role(session, m, ROLE_REP, actor_id=actor, now=now)
        return RoleSet(lang, name, ROLE_REP, changed)
    asked = pending.ask(
        session,
        kind=REMOVE_KIND,
        team_id=caller.team.id,
        member_id=actor,
        chat_id=0,
        payload={"membership": m.id},
        now=now,
    )
    return ConfirmRemoval(lang, asked.id, name, caller.team.title)


# --- buttons ---------------------------------------------------------------------------------


def _leader_in_team_of(
    session: Session,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    m: Membership | None,
) -> Caller | Refusal:
    """Check the presser may lead the team this membership belongs to."""
    scope = resolve(session, person, chat, admins, now)
    team = session.get(Team, m.team_id) if m is not None else None
    if team is None or not team.active:
        return Refusal("not_member", scope.lang_pref)
    return require(scope_in_team(session, scope.member, team, admins, scope.lang_pref), "leader")


def member_button(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    membership_id: int,
    action: str | None,
) -> MemberCard | RoleSet | RankSet | LastLeader | ConfirmRemoval | NotRemoved | Refusal:
    """Show a member's card (no action) or apply a card's button, as a leader of their team."""
    m = session.get(Membership, membership_id) if 0 < membership_id <= 2**62 else None
    caller = _leader_in_team_of(session, person, chat, admins, now, m)
    if isinstance(caller, Refusal):
        return caller
    assert m is not None
    member = session.get(Member, m.member_id)
    assert member is not None
    if m.status != MEMBERSHIP_ACTIVE:
        return NotRemoved(caller.lang_pref, member.display_name, "already")
    if action is None or action not in ACTIONS:
        row = next(r for r in roster.roster(session, m.team_id) if r.membership_id == m.id)
        return MemberCard(caller.lang_pref, m.id, row, roster.is_last_leader(session, m))
    return _act(session, caller, m, action, now)


def _answer_of(
    session: Session, action_id: int, kind: str
) -> tuple[PendingAction | None, Membership | None]:
    action = pending.find(session, action_id)
    if action is None or action.kind != kind:
        return None, None
    return action, session.get(Membership, int(action.payload.get("membership") or 0))


def confirm_remove(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    action_id: int,
    confirm: bool,
) -> Removed | NotRemoved | LastLeader | Closed | Refusal:
    """Remove the member on the Remove button (or not, on Cancel); a second press is a no-op."""
    action, m = _answer_of(session, action_id, REMOVE_KIND)
    if action is None or m is None:
        return Closed(resolve(session, person, chat, admins, now).lang_pref, "expired")
    caller = _leader_in_team_of(session, person, chat, admins, now, m)
    if isinstance(caller, Refusal):
        return caller
    lang = caller.lang_pref
    member = session.get(Member, m.member_id)
    assert member is not None
    name = member.display_name
    if action.resolved_at is not None or m.status != MEMBERSHIP_ACTIVE:
        why: Literal["cancelled", "already"] = (
            "cancelled" if action.resolution == "cancelled" else "already"
        )
        return NotRemoved(lang, name, why)
    if not pending.is_open(action, now):
        return Closed(lang, "expired")
    if not confirm:
        pending.settle(action, "cancelled", now)
        return NotRemoved(lang, name, "cancelled")
    if caller.role != "admin" and roster.is_last_leader(session, m):
        return LastLeader(lang, name)
    pending.settle(action, "removed", now)
    roster.end_membership(session, m, "removed", actor_id=caller.member.id, now=now)
    kick = pending.ask(
        session,
        kind=KICK_KIND,
        team_id=caller.team.id,
        member_id=caller.member.id,
        chat_id=caller.team.chat_id,
        payload={"membership": m.id},
        now=now,
    )
    return Removed(lang, name, caller.team.title, caller.team.chat_id, member.telegram_id, kick.id)


def confirm_kick(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    action_id: int,
    confirm: bool,
) -> Kick | NotRemoved | Closed | Refusal:
    """Remove a removed member from the group too, on a leader's button; once."""
    action, m = _answer_of(session, action_id, KICK_KIND)
    if action is None or m is None:
        return Closed(resolve(session, person, chat, admins, now).lang_pref, "expired")
    caller = _leader_in_team_of(session, person, chat, admins, now, m)
    if isinstance(caller, Refusal):
        return caller
    member = session.get(Member, m.member_id)
    assert member is not None
    name = member.display_name
    if action.resolved_at is not None:
        return NotRemoved(caller.lang_pref, name, "already")
    if not pending.is_open(action, now) or member.telegram_id is None:
        return Closed(caller.lang_pref, "expired")
    # Someone who came back meanwhile is not thrown out on an old button.
    if m.status == MEMBERSHIP_ACTIVE:
        pending.settle(action, "stale", now)
        return Closed(caller.lang_pref, "expired")
    pending.settle(action, "kicked" if confirm else "kept", now)
    if not confirm:
        return NotRemoved(caller.lang_pref, name, "cancelled")
    return Kick(caller.lang_pref, name, caller.team.chat_id, member.telegram_id)


# --- leaving the group, the bot's rights ----------------------------------------------------


@dataclass(frozen=True)
class Departed:
    """A member who left the group is out of the team; `notices`: outbox rows to send now."""

    team_id: int
    was_leader: bool
    notices: tuple[int, ...]


def member_left(
    session: Session,
    *,
    chat_id: int,
    telegram_id: int,
    admins: frozenset[int],
    creator_id: int | None,
    now: dt.datetime,
    event: str = "",
) -> Departed | None:
    """Take someone who left (or was removed from) the group out of its team.

    When that leaves the team without a leader, the configured admins and the group's creator
    are told privately (outbox rows written with the change). None when nothing changed.
    """
    team = team_for_chat(session, chat_id)
    if team is None:
        return None
    m = roster.membership_by_telegram_id(session, team.id, telegram_id)
    if m is None:
        return None
    was_leader = m.role == ROLE_LEADER
    if not roster.end_membership(session, m, "left", actor_id=m.member_id, now=now):
        return None
    notices: list[int] = []
    if was_leader and team.active and roster.active_leaders(session, team.id) == 0:
        gone = session.get(Member, m.member_id)
        name = gone.display_name if gone is not None else ""
        recipients = sorted(admins | ({creator_id} if creator_id else set()))
        for tg in recipients:
            if tg == telegram_id:
                continue
            person = session.scalar(select(Member).where(Member.telegram_id == tg))
            lang = (person.language or person.telegram_language) if person else None
            row = outbox.enqueue(
                session,
                key=f"leaderless:{team.id}:{m.id}:{event}:{tg}",
                kind=LEADERLESS,
                chat_id=tg,
                team_id=team.id,
                now=now,
                payload={
                    "lang": lang or team.language,
                    "team": team.title,
                    "name": name,
                    "admin": tg in admins,
                },
            )
            if row is not None:
                notices.append(row.id)
    return Departed(team.id, was_leader, tuple(notices))


def bot_rights_changed(
    session: Session, *, chat_id: int, lost: Sequence[Loss], now: dt.datetime, event: str = ""
) -> tuple[int, ...]:
    """Tell the team's leaders what stops working now that the bot lost rights in the group.

    Each leader the bot can write to is told privately; when some cannot be reached, the group
    is told once, naming them. Returns the outbox rows to send now.
    """
    team = team_for_chat(session, chat_id)
    if team is None or not team.active or not lost:
        return ()
    leaders = [
        (r, session.get(Member, r.member_id))
        for r in roster.roster(session, team.id)
        if r.status == MEMBERSHIP_ACTIVE and r.role == ROLE_LEADER
    ]
    # One notice per change: `event` is the update's key (a redelivery finds its rows).
    stamp = f"{event}:{','.join(lost)}"
    base = {"team": team.title, "lost": list(lost)}
    rows: list[int] = []
    unreachable: list[str] = []
    for r, person in leaders:
        if person is None or person.telegram_id is None or not r.reachable:
            unreachable.append(r.name)
            continue
        row = outbox.enqueue(
            session,
            key=f"botrights:{team.id}:{stamp}:{person.telegram_id}",
            kind=BOT_RIGHTS,
            chat_id=person.telegram_id,
            team_id=team.id,
            now=now,
            payload={**base, "lang": person.language or person.telegram_language or team.language},
        )
        if row is not None:
            rows.append(row.id)
    if unreachable or not leaders:
        row = outbox.enqueue(
            session,
            key=f"botrights:{team.id}:{stamp}:group",
            kind=BOT_RIGHTS,
            chat_id=team.chat_id,
            team_id=team.id,
            now=now,
            payload={**base, "lang": team.language, "leaders": unreachable},
        )
        if row is not None:
            rows.append(row.id)
    return tuple(rows)
