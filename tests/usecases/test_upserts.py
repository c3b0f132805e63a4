"""Get-or-create under concurrency: a new person's first messages in two chats at once.

On PostgreSQL two updates run in two transactions at the same time (worker threads, several
instances); each looks for the person, finds nobody and creates them, and the second insert
used to fail on the unique key. Each test holds the first transaction open until the second
one waits on the row the first inserted, then commits: the second must go on with that row.
On SQLite the second transaction waits for the first to commit before it starts, so the same
tests show the same outcome there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import invites
from kpi.access import ChatInfo
from kpi.db import Database
from kpi.models import ChatState, Invite, Member, Membership, Team
from kpi.posts import chats as chat_state
from kpi.teams import PersonInfo, TeamDefaults, setup_team, upsert_member
from kpi.usecases import onboarding
from tests.support.database import race

NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 19)
NEW = PersonInfo(telegram_id=5_000_001, first_name="Tú", username="tu_pham")
HCM = ChatInfo(-1001, "supergroup", "Sales HCM")
HN = ChatInfo(-1002, "supergroup", "Sales HN")


def _teams(db: Database) -> dict[int, int]:
    """Two teams, one per group, each with its own leader; return team ids by chat id."""
    out = {}
    with db.transaction() as s:
        for n, chat in enumerate((HCM, HN)):
            leader = upsert_member(s, PersonInfo(4_000_000 + n, f"Leader {n}"), NOW)
            res = setup_team(
                s,
                chat_id=chat.id,
                title=chat.title or "",
                leader=leader,
                defaults=TeamDefaults(),
                today=TODAY,
                now=NOW,
            )
            out[chat.id] = res.team_id
    return out


def _join(chat: ChatInfo) -> Callable[[Session], onboarding.Joined | onboarding.CannotJoin]:
    def fn(session: Session) -> onboarding.Joined | onboarding.CannotJoin:
        return onboarding.join(session, person=NEW, chat=chat, admins=frozenset(), now=NOW)

    return fn


def test_a_new_persons_first_messages_in_two_groups_at_once_make_one_person(
    db: Database,
) -> None:
    teams = _teams(db)
    second = race(db, _join(HCM), _join(HN))
    assert isinstance(second, onboarding.Joined) and second.status == "joined"
    with db.transaction() as s:
        people = s.scalars(select(Member).where(Member.telegram_id == NEW.telegram_id)).all()
        assert [(m.first_name, m.username) for m in people] == [("Tú", "tu_pham")]
        joined = s.scalars(
            select(Membership.team_id).where(Membership.member_id == people[0].id)
        ).all()
        assert sorted(joined) == sorted(teams.values())


def test_joining_one_team_from_the_invite_and_the_group_at_once_makes_one_membership(
    db: Database,
) -> None:
    teams = _teams(db)
    token = "x" * 24
    with db.transaction() as s:
        upsert_member(s, NEW, NOW)  # known already: only the membership is new
        s.add(
            Invite(
                team_id=teams[HCM.id],
                token_hash=invites.token_hash(token),
                created_by=None,
                expires_at=NOW + dt.timedelta(days=7),
            )
        )
    private = ChatInfo(NEW.telegram_id, "private")

    def start(session: Session) -> onboarding.StartResult:
        return onboarding.start(
            session, person=NEW, chat=private, payload=token, admins=frozenset(), now=NOW
        )

    second = race(db, start, _join(HCM))
    # The group's /join finds the membership the invite link made a moment before.
    assert isinstance(second, onboarding.Joined) and second.status == "already"
    with db.transaction() as s:
        rows = s.execute(
            select(Membership.team_id, Membership.status, Membership.role)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.telegram_id == NEW.telegram_id)
        ).all()
        assert [tuple(r) for r in rows] == [(teams[HCM.id], "active", "rep")]


def test_two_senders_marking_one_chat_at_once_keep_one_chat_state(db: Database) -> None:
    _teams(db)

    def blocked(reason: str) -> Callable[[Session], None]:
        def fn(session: Session) -> None:
            chat_state.unreachable(session, chat_id=HN.id, reason=reason, now=NOW)

        return fn

    race(db, blocked("Forbidden: bot was kicked"), blocked("Forbidden: bot was kicked again"))
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ChatState)) == 1
        state = s.get(ChatState, HN.id)
        assert state is not None and state.unreachable_since == NOW
        assert state.unreachable_reason == "Forbidden: bot was kicked again"
        team = s.scalar(select(Team).where(Team.chat_id == HN.id))
        assert team is not None and not team.active
