"""Report use cases called with plain arguments: /me, a board, a trend, and their outcomes."""

from __future__ import annotations

from kpi.access import ChatInfo, Refusal
from kpi.db import Database
from kpi.usecases import reports
from kpi.usecases.outcomes import UnknownKpi, UnknownMember
from kpi.usecases.reports import BoardReport, MeReport, NotYours, Trend
from tests.support.usecases import GROUP, LEADER, PRIVATE_REP, REP, STRANGER, TODAY
from tests.support.usecases import call as _call
from tests.support.usecases import log as _log
from tests.support.usecases import set_up_team as _team

PRIVATE_LEADER = ChatInfo(LEADER.telegram_id, "private")


def test_me_reports_the_callers_own_kpis_and_refuses_a_stranger(db: Database) -> None:
    _team(db)
    _log(db, REP, GROUP, "/call 3")
    res = _call(db, reports.me_report, REP, PRIVATE_REP, period="day")
    assert isinstance(res, MeReport)
    assert res.member_name == "Minh" and res.today == TODAY and res.period == "day"
    calls = next(m.line for m in res.lines if m.line.key == "calls")
    assert calls.actual == 3
    refused = _call(db, reports.me_report, STRANGER, GROUP)
    assert isinstance(refused, Refusal) and refused.reason == "not_member"


def test_a_board_in_the_group_or_an_unknown_kpi(db: Database) -> None:
    _team(db)
    _log(db, REP, GROUP, "/call 3")
    res = _call(db, reports.board_for, REP, GROUP, period="day", kpi_word="calls")
    assert isinstance(res, BoardReport)
    assert res.is_group and not res.leader and res.in_group is not None
    assert [r.value for r in res.board.rows if r.rank == 1] == [3]
    unknown = _call(db, reports.board_for, REP, GROUP, kpi_word="karma")
    assert unknown == UnknownKpi(None, "karma")


def test_a_trend_is_ones_own_unless_a_leader_asks_for_another(db: Database) -> None:
    _team(db)
    _log(db, REP, GROUP, "/call 3")
    own = _call(db, reports.trend, REP, PRIVATE_REP, kpi_word="calls", period="day")
    assert isinstance(own, Trend) and own.who == "Minh" and own.values == (3.0,)
    assert own.in_group is None
    other = _call(db, reports.trend, REP, PRIVATE_REP, kpi_word="calls", reply_to=4_000_001)
    assert isinstance(other, NotYours)
    nobody = _call(db, reports.trend, LEADER, PRIVATE_LEADER, kpi_word="calls", handle="@nobody")
    assert nobody == UnknownMember(None, "@nobody")
    rate = _call(db, reports.trend, LEADER, PRIVATE_LEADER, kpi_word="win_rate")
    assert isinstance(rate, UnknownKpi)
