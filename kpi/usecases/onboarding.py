"""Onboarding use cases: /start, /help, /setup, /join, /language, the team chosen for a private
chat, the bot removed from a group, a group that became a supergroup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from kpi import invites, join_requests
from kpi.access import ChatInfo, TeamChoice, resolve
from kpi.calendar import today_in
from kpi.models import MEMBERSHIP_ACTIVE, ROLE_LEADER, Team
from kpi.names import DEFAULT_LANGUAGE
from kpi.teams import (
    JoinStatus,
    PersonInfo,
    TeamDefaults,
    choose_team,
    deactivate_team,
    membership_of,
    migrate_chat,
    setup_team,
    team_for_chat,
    teams_of,
    upsert_member,
)

InviteStatus = Literal["none", invites.Redemption]


@dataclass(frozen=True)
class StartResult:
    """What /start found: the person's teams, and an invite's outcome if one was used."""

    lang_pref: str | None
    teams: tuple[TeamChoice, ...]
    invite: InviteStatus = "none"
    invite_team: str | None = None
    notices: tuple[int, ...] = ()  # the leaders' questions about a join request, to send now


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
    redeemed = None
    # Invite tokens are long and random; any other /start payload is just a greeting.
    if payload is not None and invites.looks_like_token(payload):
        redeemed = invites.redeem(session, payload, member, now)
    teams = tuple(TeamChoice(t.id, t.title) for t in teams_of(session, member.id))
    pref = member.language or person.language_code
    if redeemed is None:
        return StartResult(pref, teams)
    return StartResult(pref, teams, redeemed.status, redeemed.team, redeemed.notices)


@dataclass(frozen=True)
class SetUp:
    """The group's team after /setup: made, turned back on, a leader added, or as it was."""

    lang_pref: str | None
    how: Literal["created", "reactivated", "leader_added", "already"]
    team_language: str
    team_title: str


@dataclass(frozen=True)
class SetupRefused:
    """Why /setup did nothing: in private, not a group admin, or the team has its leaders."""

    lang_pref: str | None
    why: Literal["private", "refused", "refused_existing", "refused_inactive"]
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
) -> SetUp | SetupRefused:
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
        return SetupRefused(pref, "private")
    is_admin = person.telegram_id in admins
    if not (is_chat_admin or is_admin):
        return SetupRefused(pref, "refused")
    existing = team_for_chat(session, chat.id)
    if existing is not None and not (is_admin or is_chat_owner):
        current = membership_of(session, existing.id, member.id)
        if current is None or current.role != ROLE_LEADER or current.status != MEMBERSHIP_ACTIVE:
            why: Literal["refused_existing", "refused_inactive"] = (
                "refused_existing" if existing.active else "refused_inactive"
            )
            return SetupRefused(pref, why, existing.language, existing.title)
    today = today_in(defaults.timezone, now)
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
    how: Literal["created", "reactivated", "leader_added", "already"]
    if res.created:
        how = "created"
    elif res.reactivated:
        how = "reactivated"
    elif res.already_leader:
        how = "already"
    else:
        how = "leader_added"
    return SetUp(pref, how, team.language, team.title)


@dataclass(frozen=True)
class Joined:
    """The caller's membership of the group's team after /join (`status`: what /join did)."""

    lang_pref: str | None
    status: JoinStatus
    team_title: str
    can_message: bool  # the bot may write to them in private
    notices: tuple[int, ...] = ()  # the leaders' questions about a join request, to send now


@dataclass(frozen=True)
class CannotJoin:
    """Why /join did nothing: sent in private, or in a group without a team."""

    lang_pref: str | None
    why: Literal["no_team", "private"]


def join(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> Joined | CannotJoin:
    """Join the team of the group the command was sent in."""
    scope = resolve(session, person, chat, admins, now)
    if chat.is_private:
        return CannotJoin(scope.lang_pref, "private")
    team = scope.team
    if team is None:
        return CannotJoin(scope.lang_pref, "no_team")
    today = today_in(team.timezone, now)
    joining = join_requests.request_join(session, team, scope.member, today, now)
    return Joined(
        scope.lang_pref,
        joining.status,
        team.title,
        scope.member.private_chat_ok,
        joining.notices,
    )


@dataclass(frozen=True)
class Language:
    """The person's language, just set (`changed`) or as it is."""

    lang_pref: str | None
    changed: bool


def set_language(
    session: Session, *, person: PersonInfo, lang: str | None, now: dt.datetime
) -> Language:
    """Store the person's language for private chats (None shows the current one)."""
    member = upsert_member(session, person, now)
    if lang is not None:
        member.language = lang
    return Language(member.language or person.language_code, lang is not None)


@dataclass(frozen=True)
class TeamPicked:
    """The team now meant by the person's private chat."""

    lang_pref: str | None
    team_title: str


@dataclass(frozen=True)
class TeamGone:
    """The team a button offered is no longer one of the person's."""

    lang_pref: str | None


def pick_team(
    session: Session,
    *,
    person: PersonInfo,
    team_id: int,
    now: dt.datetime,
    admins: frozenset[int] = frozenset(),
) -> TeamPicked | TeamGone:
    """Remember the team chosen for the private chat (a configured admin may pick any team)."""
    member = upsert_member(session, person, now)
    team = choose_team(session, member, team_id, any_active=person.telegram_id in admins)
    pref = member.language or person.language_code
    return TeamPicked(pref, team.title) if team else TeamGone(pref)


@dataclass(frozen=True)
class HelpInfo:
    """What /help (and an unknown command's answer) needs: the language, the leaders' part."""

    lang_pref: str | None
    leader: bool


def help_info(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> HelpInfo:
    """Return the caller's language and whether they may use the leaders' commands here."""
    scope = resolve(session, person, chat, admins, now)
    if person.telegram_id in admins:
        return HelpInfo(scope.lang_pref, True)
    if chat.is_private:
        leads = any(m.role == "leader" and m.status == "active" for m in scope.member.memberships)
        return HelpInfo(scope.lang_pref, leads)
    return HelpInfo(scope.lang_pref, scope.is_leader or scope.team is None)


def bot_removed(session: Session, *, chat_id: int, now: dt.datetime) -> None:
    """Mark a group's team inactive when the bot is removed from it (nothing is deleted)."""
    deactivate_team(session, chat_id=chat_id, now=now)


def chat_migrated(session: Session, *, old_chat_id: int, new_chat_id: int) -> None:
    """Follow a group that became a supergroup (a new chat id); nothing is lost."""
    migrate_chat(session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
