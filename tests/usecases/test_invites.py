"""Invite and join-approval use cases called with plain arguments: /invite and its outcomes,
opening a link (/start <token>), /join with approval on, and a leader's decision."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select

from kpi import invites
from kpi.access import ChatInfo, Refusal
from kpi.db import Database
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_LEFT,
    MEMBERSHIP_PENDING,
    AuditEvent,
    Invite,
    Member,
    Membership,
    OutboxMessage,
    Team,
)
from kpi.teams import PersonInfo, save_settings, settings_of, upsert_member
from kpi.usecases import invites as invite_cases
from kpi.usecases import onboarding
from kpi.usecases.invites import InviteList, InviteMade, InviteRevoked, JoinAnswer
from kpi.usecases.outcomes import BadInput
from tests.support.usecases import GROUP, LEADER, NOW, REP, STRANGER
from tests.support.usecases import set_up_team as _team

NEWCOMER = PersonInfo(telegram_id=4_000_010, first_name="Vy", language_code="en")
PRIVATE = ChatInfo(NEWCOMER.telegram_id, "private")


def run(
    db: Database, fn: Any, person: PersonInfo, chat: ChatInfo, *, now: Any = NOW, **kw: Any
) -> Any:
    """Call a use case in one unit of work at a given moment."""
    with db.transaction() as s:
        return fn(s, person=person, chat=chat, admins=frozenset(), now=now, **kw)


def make(db: Database, args: str = "") -> InviteMade:
    made = run(db, invite_cases.invite_command, LEADER, GROUP, args=args)
    assert isinstance(made, InviteMade), made
    return made


def open_link(db: Database, token: str, person: PersonInfo = NEWCOMER, **kw: Any) -> Any:
    chat = ChatInfo(person.telegram_id, "private")
    return run(db, onboarding.start, person, chat, payload=token, **kw)


def status_of(db: Database, telegram_id: int) -> str | None:
    with db.transaction() as s:
        return s.scalar(
            select(Membership.status)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.telegram_id == telegram_id)
        )


def test_a_link_is_random_and_stored_as_its_hash(db: Database) -> None:
    _team(db)
    first, second = make(db), make(db)
    assert first.token != second.token and len(first.token) >= 32
    assert invites.looks_like_token(first.token)
    assert first.line.expires_at.strftime("%d/%m/%Y %H:%M") == "26/11/2026 10:00"
    with db.transaction() as s:
        hashes = set(s.scalars(select(Invite.token_hash)))
        assert hashes == {hashlib.sha256(m.token.encode()).hexdigest() for m in (first, second)}
        created = s.scalars(select(AuditEvent).where(AuditEvent.action == "invite.create")).all()
        assert [e.entity_id for e in created] == [first.line.id, second.line.id]


def test_opening_a_link_joins_and_counts_a_use(db: Database) -> None:
    _team(db)
    made = make(db)
    res = open_link(db, made.token)
    assert (res.invite, res.invite_team) == ("joined", "Sales HCM")
    assert status_of(db, NEWCOMER.telegram_id) == MEMBERSHIP_ACTIVE
    assert open_link(db, made.token).invite == "already"
    with db.transaction() as s:
        assert s.scalar(select(Invite.uses)) == 1


def test_single_use_expired_revoked_and_unknown_links_say_why(db: Database) -> None:
    _team(db)
    once = make(db, "once")
    assert once.line.single_use
    assert open_link(db, once.token).invite == "joined"
    assert open_link(db, once.token, STRANGER).invite == "used"
    later = make(db)
    expired_at = NOW + dt.timedelta(days=7)
    assert open_link(db, later.token, STRANGER, now=expired_at).invite == "expired"
    revoked = run(db, invite_cases.invite_command, LEADER, GROUP, args=f"revoke {later.line.id}")
    assert revoked == InviteRevoked(None, later.line.id, "revoked")
    assert open_link(db, later.token, STRANGER).invite == "revoked"
    assert open_link(db, "x" * 40, STRANGER).invite == "invalid"
    assert open_link(db, "short", STRANGER).invite == "none"  # a greeting, not a token
    assert status_of(db, STRANGER.telegram_id) is None


def test_the_list_shows_what_still_joins(db: Database) -> None:
    _team(db)
    a, b = make(db), make(db, "once")
    run(db, invite_cases.invite_command, LEADER, GROUP, args=f"revoke {a.line.id}")
    listing = run(db, invite_cases.invite_command, LEADER, GROUP, args="list")
    assert isinstance(listing, InviteList)
    assert [(x.id, x.single_use, x.uses) for x in listing.lines] == [(b.line.id, True, 0)]


def test_bad_arguments_and_reps_change_nothing(db: Database) -> None:
    _team(db)
    for args in ("banana", "revoke", "revoke x", "revoke 99999999999999999999999", "once twice"):
        res = run(db, invite_cases.invite_command, LEADER, GROUP, args=args)
        assert isinstance(res, BadInput), args
    refused = run(db, invite_cases.invite_command, REP, GROUP, args="")
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"
    with db.transaction() as s:
        assert s.scalars(select(Invite)).all() == []


def _action_of(session: Any, outbox_id: int) -> int:
    """Return the request a leader's queued question names."""
    question = session.get(OutboxMessage, outbox_id)
    assert question is not None and question.payload is not None
    return int(question.payload["action"])


def _approval_on(db: Database) -> None:
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        save_settings(s, team, dataclasses.replace(settings_of(team), join_approval=True), None)
        # The leader has opened the private chat, so the question can reach them.
        upsert_member(s, LEADER, NOW).private_chat_ok = True


def test_with_approval_a_link_makes_a_request_and_a_leader_decides_once(db: Database) -> None:
    _team(db)
    _approval_on(db)
    made = make(db)
    res = open_link(db, made.token)
    assert res.invite == "pending" and len(res.notices) == 1
    assert status_of(db, NEWCOMER.telegram_id) == MEMBERSHIP_PENDING
    # Opening it again asks nobody again, and uses nothing up.
    assert open_link(db, made.token).notices == ()
    with db.transaction() as s:
        question = s.get(OutboxMessage, res.notices[0])
        assert question is not None and question.chat_id == LEADER.telegram_id
        assert question.payload is not None
        action_id = int(question.payload["action"])
        assert s.scalar(select(Invite.uses)) == 1
    private_leader = ChatInfo(LEADER.telegram_id, "private")
    refused = run(db, invite_cases.answer_join, REP, GROUP, action_id=action_id, approve=True)
    assert refused.outcome == "forbidden"
    assert status_of(db, NEWCOMER.telegram_id) == MEMBERSHIP_PENDING
    no = run(
        db, invite_cases.answer_join, LEADER, private_leader, action_id=action_id, approve=False
    )
    assert (no.outcome, no.now, no.by, no.name) == ("rejected", True, "Lan", "Vy")
    assert len(no.notices) == 1
    yes = run(
        db, invite_cases.answer_join, LEADER, private_leader, action_id=action_id, approve=True
    )
    assert yes == JoinAnswer("rejected", None, "Vy", "Sales HCM", by="Lan", now=False)
    assert status_of(db, NEWCOMER.telegram_id) == MEMBERSHIP_LEFT
    with db.transaction() as s:
        told = s.get(OutboxMessage, no.notices[0])
        # Vy opened the private chat with the link: told there, in English.
        assert told is not None and told.chat_id == NEWCOMER.telegram_id
        assert told.payload is not None and told.payload["lang"] == "en"
        rejects = s.scalars(select(AuditEvent).where(AuditEvent.action == "member.reject"))
        assert len(rejects.all()) == 1


def test_a_request_answered_after_it_expired_or_for_someone_gone(db: Database) -> None:
    _team(db)
    _approval_on(db)
    joined = run(db, onboarding.join, NEWCOMER, GROUP)
    assert joined.status == "pending" and len(joined.notices) == 1
    with db.transaction() as s:
        action_id = _action_of(s, joined.notices[0])
    late = run(
        db,
        invite_cases.answer_join,
        LEADER,
        GROUP,
        now=NOW + dt.timedelta(days=31),
        action_id=action_id,
        approve=True,
    )
    assert late.outcome == "expired"
    assert status_of(db, NEWCOMER.telegram_id) == MEMBERSHIP_PENDING
    # Expired, the request is asked again on the next /join.
    again = run(db, onboarding.join, NEWCOMER, GROUP, now=NOW + dt.timedelta(days=31))
    assert again.status == "pending" and len(again.notices) == 1
    with db.transaction() as s:
        m = s.scalars(select(Membership).where(Membership.status == MEMBERSHIP_PENDING)).one()
        m.status = "removed"
        second = _action_of(s, again.notices[0])
    gone = run(
        db,
        invite_cases.answer_join,
        LEADER,
        GROUP,
        now=NOW + dt.timedelta(days=31),
        action_id=second,
        approve=True,
    )
    assert gone.outcome == "gone"
    assert status_of(db, NEWCOMER.telegram_id) == "removed"


def test_two_leaders_pressing_at_once_decide_once(db: Database) -> None:
    """Lan approves while an admin rejects in another transaction: the first claim decides."""
    from sqlalchemy.orm import Session

    from tests.support.database import race

    _team(db)
    _approval_on(db)
    joined = run(db, onboarding.join, NEWCOMER, GROUP)
    with db.transaction() as s:
        action_id = _action_of(s, joined.notices[0])
    admin = PersonInfo(telegram_id=4_000_099, first_name="Boss")

    def answer(person: PersonInfo, approve: bool) -> Any:
        def fn(session: Session) -> JoinAnswer:
            return invite_cases.answer_join(
                session,
                person=person,
                chat=ChatInfo(person.telegram_id, "private"),
                admins=frozenset({admin.telegram_id}),
                now=NOW,
                action_id=action_id,
                approve=approve,
            )

        return fn

    second = race(db, answer(LEADER, True), answer(admin, False))
    assert (second.outcome, second.now, second.by) == ("approved", False, "Lan")
    assert status_of(db, NEWCOMER.telegram_id) == MEMBERSHIP_ACTIVE
    with db.transaction() as s:
        decided = s.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("member.%"))
        ).all()
        assert decided.count("member.approve") == 1 and "member.reject" not in decided
