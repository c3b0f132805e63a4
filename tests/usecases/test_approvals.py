"""Deal approval and flags as use cases, with plain arguments (kpi.usecases.approvals)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kpi import approvals as deals
from kpi.access import ChatInfo, Refusal
from kpi.db import Database
from kpi.models import RUN_SENT, Activity, AuditEvent, Member, ScheduledRun, Team
from kpi.store import EntryInput, record_checkin
from kpi.usecases import approvals
from kpi.usecases.approvals import AlreadyDecided, Approvals, Decided, FlagVoided, Gone
from kpi.usecases.checkins import Logged
from tests.support.usecases import (
    GROUP,
    LEADER,
    NOW,
    PRIVATE_REP,
    REP,
    STRANGER,
    TODAY,
    call,
    log,
    set_up_team,
)

PRIVATE_LEADER = ChatInfo(LEADER.telegram_id, "private")


def approval_on(db: Database) -> None:
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        team.settings = {**team.settings, "deal_approval": True}


def pending_deal(db: Database) -> int:
    set_up_team(db)
    approval_on(db)
    res = log(db, REP, PRIVATE_REP, "/deal 45tr An Phát")
    assert isinstance(res, Logged)
    [entry] = res.entries
    assert entry.status == "pending"
    assert [d.entry_id for d in res.approval] == [entry.id]
    assert res.celebration is None
    return entry.id


def test_a_leader_approves_once_and_the_deal_is_celebrated(db: Database) -> None:
    entry_id = pending_deal(db)
    res = call(db, approvals.decide, LEADER, PRIVATE_LEADER, entry_id=entry_id, approve=True)
    assert isinstance(res, Decided) and res.approved and res.by == "Lan"
    assert res.celebration is not None and res.celebration.amount == 45_000_000
    assert res.deal.day == TODAY and res.deal.customer == "An Phát"
    again = call(db, approvals.decide, LEADER, PRIVATE_LEADER, entry_id=entry_id, approve=False)
    assert isinstance(again, AlreadyDecided)
    assert (again.decision.action, again.decision.by) == ("deal.approve", "Lan")
    with db.transaction() as s:
        assert s.scalar(select(Activity.status)) == "active"


def test_only_the_teams_leaders_decide(db: Database) -> None:
    entry_id = pending_deal(db)
    for person, chat in (
        (REP, PRIVATE_REP),
        (STRANGER, ChatInfo(STRANGER.telegram_id, "private")),
    ):
        res = call(db, approvals.decide, person, chat, entry_id=entry_id, approve=True)
        assert isinstance(res, Refusal)
    assert isinstance(
        call(db, approvals.decide, LEADER, GROUP, entry_id=10**20, approve=True), Gone
    )
    with db.transaction() as s:
        assert s.scalar(select(Activity.status)) == "pending"


def test_approvals_lists_oldest_first_for_leaders_only(db: Database) -> None:
    entry_id = pending_deal(db)
    res = call(db, approvals.list_approvals, LEADER, GROUP)
    assert isinstance(res, Approvals) and [d.entry_id for d in res.deals] == [entry_id]
    refused = call(db, approvals.list_approvals, REP, GROUP)
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"


def test_a_flag_is_voided_once(db: Database) -> None:
    set_up_team(db)
    res = log(db, REP, PRIVATE_REP, "/call 3")
    entry_id = res.entries[0].id
    voided = call(db, approvals.void_flagged, LEADER, PRIVATE_LEADER, entry_id=entry_id)
    assert isinstance(voided, FlagVoided)
    again = call(db, approvals.void_flagged, LEADER, PRIVATE_LEADER, entry_id=entry_id)
    assert isinstance(again, AlreadyDecided) and again.decision.action == "flag.void"


def test_bulk_backfills_are_found_in_a_window(db: Database) -> None:
    set_up_team(db)
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        rep = s.scalar(select(Member.id).where(Member.first_name == "Minh"))
        assert rep is not None
        for i in range(10):
            record_checkin(
                s,
                team_id=team.id,
                member_id=rep,
                actor_id=rep,
                source="command",
                day=TODAY - dt.timedelta(days=3),
                entries=[EntryInput("calls", 1)],
                now=NOW + dt.timedelta(minutes=i),
            )
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        [found] = deals.backfills(s, team, NOW, NOW + dt.timedelta(hours=2))
        assert (found.member_name, found.count, found.start) == ("Minh", 10, NOW)
        assert (
            deals.backfills(s, team, NOW + dt.timedelta(hours=1), NOW + dt.timedelta(days=1)) == []
        )


def test_a_decision_into_a_closed_month_is_noted_as_a_late_change(db: Database) -> None:
    """A deal of 19/11 still waits when November's report goes out: approving it changes the
    month bonuses are paid on, so it is listed like any leader's change into a closed month."""
    entry_id = pending_deal(db)
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        s.add(
            ScheduledRun(
                team_id=team.id,
                kind="monthly",
                period_key="2026-11",
                chat_id=GROUP.id,
                status=RUN_SENT,
                due_at=NOW,
            )
        )
    res = call(db, approvals.decide, LEADER, PRIVATE_LEADER, entry_id=entry_id, approve=True)
    assert isinstance(res, Decided)
    with db.transaction() as s:
        [late] = s.scalars(select(AuditEvent).where(AuditEvent.action == "closed.change"))
        assert late.entity_id == entry_id and late.after is not None
        assert (late.after["what"], late.after["month"], late.after["reason"]) == (
            "approve",
            "2026-11",
            "✅",
        )
