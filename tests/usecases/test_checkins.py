"""Use cases called with plain arguments (a Session, PersonInfo, ChatInfo), no Application:
each returns one typed outcome, and access is decided by `kpi.access` alone."""

from __future__ import annotations

import dataclasses

from kpi.access import Refusal, Viewer, visible
from kpi.db import Database
from kpi.usecases import checkins, corrections, reports
from kpi.usecases.checkins import Logged, NotUnderstood
from kpi.usecases.corrections import CannotCorrect, Corrected
from kpi.usecases.outcomes import AskBound, BadInput
from tests.support.usecases import (
    GROUP,
    LEADER,
    OTHER_GROUP,
    PRIVATE_REP,
    REP,
    STRANGER,
    TODAY,
)
from tests.support.usecases import call as _call
from tests.support.usecases import log as _log
from tests.support.usecases import set_up_team as _team


def test_a_group_without_a_team_and_a_stranger_are_refused_with_a_reason(db: Database) -> None:
    _team(db)
    assert _log(db, REP, OTHER_GROUP, "/call 3") == Refusal("no_team")
    refused = _log(db, STRANGER, GROUP, "/call 3")
    assert isinstance(refused, Refusal) and refused.reason == "not_member"


def test_a_member_logs_and_gets_what_was_stored(db: Database) -> None:
    _team(db)
    res = _log(db, REP, GROUP, "/call 3")
    assert isinstance(res, Logged)
    assert [(e.metric, e.value) for e in res.entries] == [("calls", 3)]
    assert res.is_group and res.day == TODAY and res.command == "call"
    private = _log(db, REP, PRIVATE_REP, "/call 2")
    assert isinstance(private, Logged) and not private.is_group
    calls = next(p for p in private.progress if p.metric == "calls")
    assert calls.actual == 5


def test_bad_input_and_plain_words_are_outcomes_not_errors(db: Database) -> None:
    _team(db)
    bad = _log(db, REP, GROUP, "/call 3.5")
    assert isinstance(bad, BadInput) and bad.code == "count.invalid" and bad.command == "call"
    assert isinstance(_log(db, REP, PRIVATE_REP, "xin chào"), NotUnderstood)


def test_a_value_beyond_its_bound_is_asked_then_stored_on_yes(db: Database) -> None:
    _team(db)
    asked = _log(db, REP, PRIVATE_REP, "/call 900")
    assert isinstance(asked, AskBound) and asked.metric == "calls" and asked.value == 900
    done = _call(
        db,
        checkins.resolve_pending,
        REP,
        PRIVATE_REP,
        pending_id=asked.pending_id,
        choice="yes",
    )
    assert isinstance(done, Logged) and done.entries[0].value == 900


def test_undo_and_void_return_what_they_changed_or_why_not(db: Database) -> None:
    _team(db)
    logged = _log(db, REP, PRIVATE_REP, "/call 3")
    assert isinstance(logged, Logged)
    undone = _call(db, corrections.undo, REP, PRIVATE_REP)
    assert isinstance(undone, Corrected) and undone.entries[0].value == 3
    assert _call(db, corrections.undo, REP, PRIVATE_REP) == CannotCorrect(None, "nothing")
    other = _log(db, LEADER, GROUP, "/call 1")
    assert isinstance(other, Logged)
    entry = other.entries[0].id
    forbidden = _call(db, corrections.void, REP, PRIVATE_REP, args=str(entry))
    assert isinstance(forbidden, CannotCorrect) and forbidden.why == "forbidden"


def test_visible_decides_what_each_viewer_sees(db: Database) -> None:
    _team(db)
    _log(db, REP, GROUP, "/call 3")
    res = _call(db, reports.board_for, REP, GROUP)
    assert res.board is not None
    board = dataclasses.replace(res.board, group_sees="top", top_n=1)
    group = visible(board, Viewer(in_group=True))
    assert group.sees == "top" and group.limit == 1 and group.own is None
    assert [r.rank for r in group.rows(board)] == [1] and not group.names
    rep = visible(board, Viewer(in_group=False, member_id=res.me))
    assert rep.sees == "top" and rep.me == res.me and rep.own is not None
    leader = visible(board, Viewer(in_group=False, leader=True))
    assert leader.sees == "full" and leader.limit is None and leader.names
    totals = visible(dataclasses.replace(board, group_sees="totals"), Viewer())
    assert not totals.ranking and totals.rows(board) == [] and totals.podium() == 3
