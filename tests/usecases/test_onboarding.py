"""Onboarding use cases called with plain arguments: /start, /setup, /join, /language, /help,
the team chosen for a private chat, and a group that moves or loses the bot."""

from __future__ import annotations

from kpi.access import ChatInfo
from kpi.db import Database
from kpi.models import Team
from kpi.teams import PersonInfo, TeamDefaults
from kpi.usecases import onboarding
from kpi.usecases.onboarding import (
    CannotJoin,
    HelpInfo,
    Joined,
    Language,
    SetUp,
    SetupRefused,
    StartResult,
    TeamGone,
    TeamPicked,
)
from tests.support.usecases import GROUP, LEADER, NOW, PRIVATE_REP, REP, STRANGER
from tests.support.usecases import call as _call

NEWCOMER = PersonInfo(telegram_id=4_000_004, first_name="Tú", language_code="en")


def _setup(db: Database, person: PersonInfo, chat: ChatInfo, *, admin: bool) -> object:
    with db.transaction() as s:
        return onboarding.setup(
            s,
            person=person,
            chat=chat,
            is_chat_admin=admin,
            admins=frozenset(),
            defaults=TeamDefaults(),
            now=NOW,
        )


def test_setup_makes_a_team_once_and_refuses_others(db: Database) -> None:
    made = _setup(db, LEADER, GROUP, admin=True)
    assert isinstance(made, SetUp) and made.how == "created" and made.team_title == "Sales HCM"
    again = _setup(db, LEADER, GROUP, admin=True)
    assert isinstance(again, SetUp) and again.how == "already"
    assert _setup(db, REP, GROUP, admin=False) == SetupRefused(None, "refused")
    other = _setup(db, REP, GROUP, admin=True)
    assert isinstance(other, SetupRefused) and other.why == "refused_existing"
    assert _setup(db, REP, PRIVATE_REP, admin=False) == SetupRefused(None, "private")


def test_join_start_and_help(db: Database) -> None:
    _setup(db, LEADER, GROUP, admin=True)
    assert _call(db, onboarding.join, REP, PRIVATE_REP) == CannotJoin(None, "private")
    joined = _call(db, onboarding.join, REP, GROUP)
    # The /join sent in private a moment before opened the private chat.
    assert joined == Joined(None, "joined", "Sales HCM", can_message=True)
    no_team = _call(db, onboarding.join, REP, ChatInfo(-1009, "supergroup", "Not ours"))
    assert no_team == CannotJoin(None, "no_team")
    started = _call(db, onboarding.start, REP, PRIVATE_REP, payload=None)
    assert isinstance(started, StartResult) and started.invite == "none"
    assert [c.title for c in started.teams] == ["Sales HCM"]
    assert _call(db, onboarding.help_info, REP, GROUP) == HelpInfo(None, False)
    assert _call(db, onboarding.help_info, LEADER, GROUP) == HelpInfo(None, True)


def test_language_and_the_team_of_a_private_chat(db: Database) -> None:
    _setup(db, LEADER, GROUP, admin=True)
    with db.transaction() as s:
        shown = onboarding.set_language(s, person=NEWCOMER, lang=None, now=NOW)
        chosen = onboarding.set_language(s, person=NEWCOMER, lang="vi", now=NOW)
    assert shown == Language("en", changed=False) and chosen == Language("vi", changed=True)
    with db.transaction() as s:
        team = s.query(Team).one()
        picked = onboarding.pick_team(s, person=LEADER, team_id=team.id, now=NOW)
        gone = onboarding.pick_team(s, person=STRANGER, team_id=team.id, now=NOW)
    assert picked == TeamPicked(None, "Sales HCM") and gone == TeamGone(None)


def test_a_group_that_moves_or_loses_the_bot_keeps_its_team(db: Database) -> None:
    _setup(db, LEADER, GROUP, admin=True)
    with db.transaction() as s:
        onboarding.chat_migrated(s, old_chat_id=GROUP.id, new_chat_id=-1002)
        onboarding.bot_removed(s, chat_id=-1002, now=NOW)
    with db.transaction() as s:
        team = s.query(Team).one()
        assert team.chat_id == -1002 and not team.active
