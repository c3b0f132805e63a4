"""Leave and closed months through their use cases, with plain arguments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import absences, closing
from kpi.access import Refusal
from kpi.db import Database
from kpi.models import RUN_SENT, Absence, AuditEvent, Member, ScheduledRun, Team
from kpi.periods import span_of
from kpi.standings import team_board
from kpi.targets import calendar_of
from kpi.usecases import absences as leave
from kpi.usecases.checkins import Logged
from kpi.usecases.outcomes import BadInput
from tests.support.database import race
from tests.support.usecases import GROUP, LEADER, NOW, PRIVATE_REP, REP, TODAY, log
from tests.support.usecases import call as _call
from tests.support.usecases import set_up_team as _team


def _ids(db: Database) -> tuple[int, int]:
    with db.transaction() as s:
        team = s.scalar(select(Team))
        rep = s.scalar(select(Member).where(Member.telegram_id == REP.telegram_id))
        assert team is not None and rep is not None
        return team.id, rep.id


def test_a_request_waits_for_a_leader_and_is_answered_once(db: Database) -> None:
    _team(db)
    team_id, rep_id = _ids(db)
    asked = _call(db, leave.leave_command, REP, PRIVATE_REP, args="25/11..26/11")
    assert isinstance(asked, leave.LeaveSet) and asked.absence.status == "pending"
    absence_id = asked.absence.id
    with db.transaction() as s:
        assert absences.absent_on(s, team_id, TODAY.replace(day=25)) == set()
    refused = _call(db, leave.decide, REP, PRIVATE_REP, absence_id=absence_id, choice="ok")
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"
    done = _call(db, leave.decide, LEADER, GROUP, absence_id=absence_id, choice="ok")
    assert isinstance(done, leave.LeaveDecided) and not done.already
    again = _call(db, leave.decide, LEADER, GROUP, absence_id=absence_id, choice="no")
    assert isinstance(again, leave.LeaveDecided) and again.already
    assert again.absence.status == "approved"
    with db.transaction() as s:
        assert absences.absent_on(s, team_id, TODAY.replace(day=25)) == {rep_id}
    gone = _call(db, leave.decide, LEADER, GROUP, absence_id=10**6, choice="ok")
    assert gone == leave.CannotLeave(None, "not_found")


def test_only_leaders_set_someone_elses_leave(db: Database) -> None:
    _team(db)
    refused = _call(db, leave.leave_command, REP, GROUP, args="@lan 20/11")
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"
    usage = _call(db, leave.leave_command, REP, PRIVATE_REP, args="cancel")
    assert isinstance(usage, BadInput) and usage.code == "leave.cancel_usage"
    listing = _call(db, leave.leave_command, REP, PRIVATE_REP, args="")
    assert isinstance(listing, leave.LeaveList) and listing.items == ()


def _close_november(db: Database) -> None:
    team_id, _ = _ids(db)
    with db.transaction() as s:
        s.add(
            ScheduledRun(
                team_id=team_id,
                kind="monthly",
                period_key="2026-11",
                chat_id=GROUP.id,
                status=RUN_SENT,
                due_at=NOW,
            )
        )


def test_a_closed_month_refuses_a_rep_and_needs_a_leaders_reason(db: Database) -> None:
    _team(db)
    assert isinstance(log(db, REP, PRIVATE_REP, "/call 2"), Logged)
    _close_november(db)
    refused = log(db, REP, PRIVATE_REP, "/call 2 lý do: quên")
    assert isinstance(refused, BadInput) and refused.code == "closed.rep"
    assert refused.params == {"month": "11/2026"}
    no_reason = log(db, LEADER, GROUP, "/call 2")
    assert isinstance(no_reason, BadInput) and no_reason.code == "closed.reason"
    assert isinstance(log(db, LEADER, GROUP, "/call 2 reason: late report"), Logged)
    with db.transaction() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "closed.change"))
        assert event.after is not None
        assert (event.after["month"], event.after["reason"]) == ("2026-11", "late report")
        assert [c.reason for c in closing.late_changes(s, event.team_id)] == ["late report"]


def test_a_snapshot_gives_back_the_board_it_kept(db: Database) -> None:
    _team(db)
    log(db, REP, PRIVATE_REP, "/call 7")
    with db.transaction() as s:
        team = s.scalar(select(Team))
        assert team is not None
        cal = calendar_of(s, team)
        board = team_board(s, team, span_of("month", TODAY, cal), NOW, cal=cal)
        assert closing.board_from_json(closing.board_to_json(board)) == board
        kept = closing.snapshot(s, team.id, "monthly", "2026-11", board)
    log(db, REP, PRIVATE_REP, "/call 5")
    with db.transaction() as s:
        team = s.scalar(select(Team))
        assert team is not None
        later = team_board(s, team, span_of("month", TODAY, cal), NOW, cal=cal)
        assert later != kept
        assert closing.snapshot(s, team.id, "monthly", "2026-11", later) == kept


def test_a_request_taken_back_while_a_leader_approves_stays_taken_back(db: Database) -> None:
    """The rep cancels in one transaction while a leader presses Approve in another: the leader
    waits for the cancel and is told it was answered (on PostgreSQL both run at once)."""
    _team(db)
    asked = _call(db, leave.leave_command, REP, PRIVATE_REP, args="25/11..26/11")
    assert isinstance(asked, leave.LeaveSet)
    absence_id = asked.absence.id

    def cancel(session: Session) -> object:
        return leave.leave_command(
            session,
            person=REP,
            chat=PRIVATE_REP,
            admins=frozenset(),
            now=NOW,
            args=f"cancel {absence_id}",
        )

    def approve(session: Session) -> object:
        return leave.decide(
            session,
            person=LEADER,
            chat=GROUP,
            admins=frozenset(),
            now=NOW,
            absence_id=absence_id,
            choice="ok",
        )

    second = race(db, cancel, approve)
    assert isinstance(second, leave.LeaveDecided) and second.already
    with db.transaction() as s:
        assert s.get(Absence, absence_id).status == "cancelled"  # type: ignore[union-attr]
