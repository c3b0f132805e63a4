"""Who is asking, in which team, with which role: resolved once per unit of work."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from kpi.models import ROLE_LEADER, Member, Membership, Team
from kpi.teams import (
    PersonInfo,
    Role,
    active_membership,
    private_team,
    team_for_chat,
    upsert_member,
)


@dataclass(frozen=True)
class ChatInfo:
    """The chat an update came from, without Telegram types."""

    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    is_forum: bool = False

    @property
    def is_private(self) -> bool:
        """Tell whether this is the person's private chat with the bot."""
        return self.type == "private"


@dataclass(frozen=True)
class TeamChoice:
    """A team offered when a private-chat command is ambiguous."""

    id: int
    title: str


@dataclass
class Scope:
    """The caller as resolved in one unit of work (ORM rows valid inside it only)."""

    member: Member
    team: Team | None
    role: Role | None
    lang_pref: str | None
    membership: Membership | None = None
    choices: list[TeamChoice] = field(default_factory=list)
    group_without_team: bool = False

    @property
    def is_leader(self) -> bool:
        """Tell whether the caller may act as a leader in the team."""
        return self.role in ("leader", "admin")


def resolve(
    session: Session,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> Scope:
    """Refresh the person, find the team the chat means, and the caller's role in it."""
    member = upsert_member(session, person, now)
    if chat.is_private and not member.private_chat_ok:
        member.private_chat_ok = True
        member.blocked_at = None
    lang_pref = member.language or person.language_code
    if not chat.is_private:
        team = team_for_chat(session, chat.id)
        if team is None or not team.active:
            return Scope(member, None, None, lang_pref, group_without_team=True)
        return scope_in_team(session, member, team, admins, lang_pref)
    found = private_team(session, member)
    if isinstance(found, list):
        choices = [TeamChoice(t.id, t.title) for t in found]
        return Scope(member, None, None, lang_pref, choices=choices)
    if found is None:
        return Scope(member, None, None, lang_pref)
    return scope_in_team(session, member, found, admins, lang_pref)


def scope_in_team(
    session: Session, member: Member, team: Team, admins: frozenset[int], lang_pref: str | None
) -> Scope:
    """Resolve the person's role in a given team (admin, leader, rep, or none)."""
    m = active_membership(session, team.id, member.id)
    role: Role | None = None
    if member.telegram_id is not None and member.telegram_id in admins:
        role = "admin"
    elif m is not None:
        role = "leader" if m.role == ROLE_LEADER else "rep"
    return Scope(member, team, role, lang_pref, membership=m)
