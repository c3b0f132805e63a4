"""Onboarding use cases: /start, /setup, /join, /language, the bot joining or leaving a group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import periods
from kpi.access import ChatInfo, TeamChoice, resolve
from kpi.models import MEMBERSHIP_ACTIVE, ROLE_LEADER, Invite, Team
from kpi.names import DEFAULT_LANGUAGE
from kpi.teams import (
    JoinStatus,
    PersonInfo,
    TeamDefaults,
    choose_team,
    join_team,
    membership_of,
    setup_team,
    team_for_chat,
    teams_of,
    upsert_member,
)

INVITE_TOKEN_MIN = 16

InviteStatus = Literal["none", "joined", "already", "pending", "invalid", "expired", "removed"]


@dataclass(frozen=True)
class StartResult:
    """What /start found: the person's teams, and an invite's outcome if one was used."""

    lang_pref: str | None
    teams: tuple[TeamChoice, ...]
    invite: InviteStatus = "none"
    invite_team: str | None = None


def start(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    payload: str | None,
    admins: frozenset[int],
    now: dt.datetime,
) -> StartResult:
    """Open the private chat (so the bot may write later); join through an invite token."""
    scope = resolve(session, person, chat, admins, now)
    member = scope.member
    invite_status: InviteStatus = "none"
    invite_team = None
    # Invite tokens are long and random; any other /start payload is just a greeting.
    if payload and len(payload) >= INVITE_TOKEN_MIN:
        invite = session.scalar(select(Invite).where(Invite.token == payload[:64]))
        team = session.get(Team, invite.team_id) if invite else None
        if invite is None or team is None or invite.revoked_at is not None or not team.active:
            invite_status = "invalid"
        elif invite.expires_at <= now:
            invite_status = "expired"
            invite_team = team.title
        else:
            today = periods.today_in(team.timezone, now)
            status = join_team(session, team, member, today, now=now)
            invite.uses += 1
            invite_status = "joined" if status in ("joined", "rejoined") else status  # type: ignore[assignment]
            invite_team = team.title
    teams = tuple(TeamChoice(t.id, t.title) for t in teams_of(session, member.id))
    return StartResult(member.language or person.language_code, teams, invite_status, invite_team)


SetupOutcome = Literal[
    "created",
    "reactivated",
    "leader_added",
    "already",
    "refused",
    "refused_existing",
    "refused_inactive",
    "private",
]


@dataclass(frozen=True)
class SetupResult:
    """What /setup did."""

    outcome: SetupOutcome
    lang_pref: str | None
    team_language: str = DEFAULT_LANGUAGE
    team_title: str = ""


def setup(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    is_chat_admin: bool,
    admins: frozenset[int],
    defaults: TeamDefaults,
    now: dt.datetime,
    is_chat_owner: bool = False,
) -> SetupResult:
    """Bind a group to a team and make the caller its leader, if they may.

    Any administrator of the group may set up a new team (and becomes its first leader). Once
    the group has a team, /setup makes no new leaders except the group's owner or a configured
    admin: a group administrator is not the sales team's manager, and someone a leader removed
    does not come back that way. That holds for a team whose bot was removed too: only its
    leaders, the owner or an admin turn it back on, and its leaders stay its leaders.
    """
    member = upsert_member(session, person, now)
    pref = member.language or person.language_code
    if chat.is_private:
        return SetupResult("private", pref)
    is_admin = person.telegram_id in admins
    if not (is_chat_admin or is_admin):
        return SetupResult("refused", pref)
    existing = team_for_chat(session, chat.id)
    if existing is not None and not (is_admin or is_chat_owner):
        current = membership_of(session, existing.id, member.id)
        if current is None or current.role != ROLE_LEADER or current.status != MEMBERSHIP_ACTIVE:
            refusal: SetupOutcome = "refused_existing" if existing.active else "refused_inactive"
            return SetupResult(refusal, pref, existing.language, existing.title)
    today = periods.today_in(defaults.timezone, now)
    res = setup_team(
        session,
        chat_id=chat.id,
        title=chat.title or str(chat.id),
        leader=member,
        defaults=defaults,
        today=today,
        now=now,
        is_forum=chat.is_forum,
    )
    team = session.get(Team, res.team_id)
    assert team is not None
    if member.current_team_id is None:
        member.current_team_id = team.id
    outcome: SetupOutcome
    if res.created:
        outcome = "created"
    elif res.reactivated:
        outcome = "reactivated"
    elif res.already_leader:
        outcome = "already"
    else:
        outcome = "leader_added"
    return SetupResult(outcome, pref, team.language, team.title)


@dataclass(frozen=True)
class JoinResult:
    """What /join did."""

    outcome: JoinStatus | Literal["no_team", "private"]
    lang_pref: str | None
    team_title: str = ""
    can_message: bool = False
    choices: tuple[TeamChoice, ...] = field(default_factory=tuple)


def join(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> JoinResult:
    """Join the team of the group the command was sent in."""
    scope = resolve(session, person, chat, admins, now)
    if chat.is_private:
        return JoinResult("private", scope.lang_pref)
    team = scope.team
    if team is None:
        return JoinResult("no_team", scope.lang_pref)
    today = periods.today_in(team.timezone, now)
    status = join_team(session, team, scope.member, today, now=now)
    return JoinResult(status, scope.lang_pref, team.title, scope.member.private_chat_ok)


def set_language(
    session: Session, *, person: PersonInfo, lang: str | None, now: dt.datetime
) -> str | None:
    """Store the person's language for private chats (None shows the current one)."""
    member = upsert_member(session, person, now)
    if lang is not None:
        member.language = lang
    return member.language or person.language_code


def pick_team(
    session: Session, *, person: PersonInfo, team_id: int, now: dt.datetime
) -> tuple[str | None, str | None]:
    """Remember the team chosen for the private chat; return (lang, team title or None)."""
    member = upsert_member(session, person, now)
    team = choose_team(session, member, team_id)
    return member.language or person.language_code, team.title if team else None


def help_info(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> tuple[str | None, bool]:
    """Return the caller's language and whether they may use the leaders' commands here."""
    scope = resolve(session, person, chat, admins, now)
    if person.telegram_id in admins:
        return scope.lang_pref, True
    if chat.is_private:
        leads = any(m.role == "leader" and m.status == "active" for m in scope.member.memberships)
        return scope.lang_pref, leads
    return scope.lang_pref, scope.is_leader or scope.team is None
