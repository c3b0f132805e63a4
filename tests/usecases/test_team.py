"""Team use cases called with plain arguments: the roster, roles and the last leader, removal
and what a removed member keeps, leaving the group, and the bot losing its rights."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kpi import periods
from kpi.access import ChatInfo, Refusal
from kpi.calendar import calendar_of
from kpi.db import Database
from kpi.models import Member, Membership, OutboxMessage, Team
from kpi.roster import BotRights, rights_lost
from kpi.standings import team_board
from kpi.teams import PersonInfo, join_team, upsert_member
from kpi.usecases import team as team_uc
from kpi.usecases.outcomes import BadInput, Closed, UnknownMember
from kpi.usecases.team import (
    ConfirmRemoval,
    Kick,
    LastLeader,
    NotRemoved,
    RankSet,
    Removed,
    RoleSet,
    Roster,
)
from tests.support.usecases import GROUP, LEADER, NOW, PRIVATE_REP, REP, STRANGER, TODAY, log
from tests.support.usecases import call as _call
from tests.support.usecases import set_up_team as _team

ADMIN = PersonInfo(telegram_id=4_000_009, first_name="Boss")
OWNER_ID = 4_000_010


def _status(db: Database, person: PersonInfo) -> tuple[str, str, bool]:
    with db.transaction() as s:
        row = s.execute(
            select(Membership.status, Membership.role, Membership.ranked)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.telegram_id == person.telegram_id)
        ).one()
        return row[0], row[1], row[2]


def _as(db: Database, fn: Any, person: PersonInfo, chat: ChatInfo, **kw: Any) -> Any:
    with db.transaction() as s:
        return fn(
            s, person=person, chat=chat, admins=frozenset({ADMIN.telegram_id}), now=NOW, **kw
        )


def test_the_roster_and_who_may_change_it(db: Database) -> None:
    _team(db)
    shown = _call(db, team_uc.team_command, REP, PRIVATE_REP, args="")
    assert isinstance(shown, Roster) and not shown.manage
    assert [(r.name, r.role, r.status) for r in shown.rows] == [
        ("Lan", "leader", "active"),
        ("Minh", "rep", "active"),
    ]
    assert _call(db, team_uc.team_command, LEADER, GROUP, args="").manage
    refused = _call(db, team_uc.team_command, REP, GROUP, args="leader", reply_to=REP.telegram_id)
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"
    stranger = _call(db, team_uc.team_command, STRANGER, GROUP, args="")
    assert isinstance(stranger, Refusal) and stranger.reason == "not_member"


def test_roles_rankings_and_the_last_leader(db: Database) -> None:
    _team(db)
    minh = {"reply_to": REP.telegram_id}
    made = _call(db, team_uc.team_command, LEADER, GROUP, args="leader", **minh)
    assert made == RoleSet(None, "Minh", "leader", changed=True)
    again = _call(db, team_uc.team_command, LEADER, GROUP, args="quanly", **minh)
    assert again == RoleSet(None, "Minh", "leader", changed=False)
    # Two leaders: Lan may step down; then Minh is the last one and may not.
    lan = {"reply_to": LEADER.telegram_id}
    assert _call(db, team_uc.team_command, REP, GROUP, args="rep", **lan).changed
    last = _call(db, team_uc.team_command, REP, GROUP, args="rep", **minh)
    assert last == LastLeader(None, "Minh")
    assert isinstance(
        _call(db, team_uc.team_command, REP, GROUP, args="remove", **minh), LastLeader
    )
    # A configured admin may (the team then waits for the leader the admin appoints).
    demoted = _as(db, team_uc.team_command, ADMIN, GROUP, args="rep", **minh)
    assert demoted == RoleSet(None, "Minh", "rep", changed=True)
    ranked = _as(db, team_uc.team_command, ADMIN, GROUP, args="rank off", **lan)
    assert ranked == RankSet(None, "Lan", ranked=False, changed=True)
    assert _status(db, LEADER) == ("active", "rep", False)


def test_bad_input_says_what_is_wrong(db: Database) -> None:
    _team(db)
    for args, code in (
        ("promote @x", "team.usage"),
        ("leader", "team.no_member"),
        ("rank @x", "team.rank_usage"),
        ("rank @x sometimes", "team.rank_usage"),
        ("leader @x now", "team.usage"),
    ):
        res = _call(db, team_uc.team_command, LEADER, GROUP, args=args)
        assert isinstance(res, BadInput) and res.code == code, args
    nobody = _call(db, team_uc.team_command, LEADER, GROUP, args="remove @nobody")
    assert nobody == UnknownMember(None, "@nobody")


def test_a_removed_member_keeps_their_numbers_in_the_teams_totals(db: Database) -> None:
    _team(db)
    log(db, REP, PRIVATE_REP, "/call 7")
    ask = _call(db, team_uc.team_command, LEADER, GROUP, args="remove", reply_to=REP.telegram_id)
    assert isinstance(ask, ConfirmRemoval) and _status(db, REP)[0] == "active"
    done = _call(db, team_uc.confirm_remove, LEADER, GROUP, action_id=ask.pending_id, confirm=True)
    assert isinstance(done, Removed) and done.telegram_id == REP.telegram_id
    assert _status(db, REP) == ("removed", "rep", True)
    twice = _call(
        db, team_uc.confirm_remove, LEADER, GROUP, action_id=ask.pending_id, confirm=True
    )
    assert twice == NotRemoved(None, "Minh", "already")
    # The group removal: once, and only for a leader of the team.
    refused = _call(db, team_uc.confirm_kick, REP, GROUP, action_id=done.kick_id, confirm=True)
    assert isinstance(refused, Refusal)
    kick = _call(db, team_uc.confirm_kick, LEADER, GROUP, action_id=done.kick_id, confirm=True)
    assert kick == Kick(None, "Minh", GROUP.id, REP.telegram_id)
    again = _call(db, team_uc.confirm_kick, LEADER, GROUP, action_id=done.kick_id, confirm=True)
    assert again == NotRemoved(None, "Minh", "already")
    wrong = _call(db, team_uc.confirm_kick, LEADER, GROUP, action_id=ask.pending_id, confirm=True)
    assert wrong == Closed(None, "expired")
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        cal = calendar_of(s, team)
        board = team_board(s, team, periods.span_of("day", TODAY, cal), NOW)
        assert board.rows == () or all(r.name != "Minh" for r in board.rows)
        calls = next(k for k in board.team if k.key == "calls")
        assert calls.actual == 7  # not ranked, still in the team's totals


def test_leaving_ends_the_membership_and_a_leaderless_team_is_reported(db: Database) -> None:
    _team(db)
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        owner = upsert_member(s, PersonInfo(OWNER_ID, "Owner", language_code="en"), NOW)
        owner.private_chat_ok = True
        join_team(s, team, upsert_member(s, STRANGER, NOW), TODAY)
    with db.transaction() as s:
        rep_left = team_uc.member_left(
            s,
            chat_id=GROUP.id,
            telegram_id=REP.telegram_id,
            admins=frozenset({ADMIN.telegram_id}),
            creator_id=OWNER_ID,
            now=NOW,
            event="a",
        )
    assert rep_left is not None and not rep_left.was_leader and rep_left.notices == ()
    with db.transaction() as s:
        left = team_uc.member_left(
            s,
            chat_id=GROUP.id,
            telegram_id=LEADER.telegram_id,
            admins=frozenset({ADMIN.telegram_id}),
            creator_id=OWNER_ID,
            now=NOW,
            event="b",
        )
        again = team_uc.member_left(
            s,
            chat_id=GROUP.id,
            telegram_id=LEADER.telegram_id,
            admins=frozenset({ADMIN.telegram_id}),
            creator_id=OWNER_ID,
            now=NOW,
            event="c",
        )
    assert left is not None and left.was_leader and len(left.notices) == 2
    assert again is None  # the service message after the chat_member update
    assert _status(db, LEADER) == ("left", "rep", True)
    with db.transaction() as s:
        rows = s.execute(select(OutboxMessage.chat_id, OutboxMessage.payload)).all()
    assert {chat for chat, _ in rows} == {ADMIN.telegram_id, OWNER_ID}
    assert {p["lang"] for _, p in rows} == {"vi", "en"}  # the admin unknown: the team's
    # The owner appoints the next leader; a member who is no owner cannot.
    stranger = {"reply_to": STRANGER.telegram_id}
    refused = _call(db, team_uc.team_command, STRANGER, GROUP, args="leader", **stranger)
    assert isinstance(refused, Refusal)
    owner = PersonInfo(OWNER_ID, "Owner", language_code="en")
    made = _call(
        db, team_uc.team_command, owner, GROUP, args="leader", is_chat_owner=True, **stranger
    )
    assert made == RoleSet("en", "Hoa", "leader", changed=True)


def test_the_bot_losing_rights_is_told_to_the_leaders() -> None:
    admin = BotRights(admin=True, can_pin=True, can_restrict=True)
    assert rights_lost(admin, BotRights(True, False, True)) == ("board",)
    assert rights_lost(admin, BotRights(False, False, False)) == ("reading", "board", "removing")
    assert rights_lost(BotRights(False, False, False), admin) == ()
    assert rights_lost(BotRights(True, False, True), BotRights(True, False, False)) == (
        "removing",
    )


def test_leaders_are_told_privately_or_in_the_group(db: Database) -> None:
    _team(db)
    with db.transaction() as s:
        rows = team_uc.bot_rights_changed(s, chat_id=GROUP.id, lost=("board",), now=NOW, event="x")
        # Lan never opened the private chat: the group is told, naming her.
        msg = s.get(OutboxMessage, rows[0])
        assert msg is not None and msg.chat_id == GROUP.id
        assert msg.payload == {
            "team": "Sales HCM",
            "lost": ["board"],
            "lang": "vi",
            "leaders": ["Lan"],
        }
        lan = s.scalars(select(Member).where(Member.telegram_id == LEADER.telegram_id)).one()
        lan.private_chat_ok = True
    with db.transaction() as s:
        rows = team_uc.bot_rights_changed(
            s, chat_id=GROUP.id, lost=("reading",), now=NOW, event="y"
        )
        assert [s.get(OutboxMessage, r).chat_id for r in rows] == [LEADER.telegram_id]  # type: ignore[union-attr]
        assert team_uc.bot_rights_changed(s, chat_id=-5, lost=("board",), now=NOW) == ()
