"""A team's metrics, targets and calendar are cached per revision (kpi.team_cache): a change
made by another instance is seen by the next check-in, and a change rolled back is never seen."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi.db import Database
from kpi.models import Team
from kpi.usecases import checkins, leaders
from kpi.usecases.checkins import Logged
from tests.support.usecases import GROUP, LEADER, NOW, PRIVATE_REP, REP
from tests.support.usecases import call as _call
from tests.support.usecases import log as _log
from tests.support.usecases import set_up_team as _team


def _calls_target(db: Database) -> float | None:
    res = _log(db, REP, PRIVATE_REP, "/call 1")
    assert isinstance(res, Logged)
    return next(p.target for p in res.progress if p.metric == "calls")


def _revision(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(Team.revision)) or 0)


def test_a_target_set_by_another_instance_is_seen_by_the_next_check_in(
    db: Database, db_url: str
) -> None:
    _team(db)
    assert _calls_target(db) != 33  # cached by this instance now
    other = Database(db_url)
    try:
        _call(other, leaders.target, LEADER, GROUP, args="calls 33 day")
    finally:
        other.dispose()
    assert _calls_target(db) == 33


def test_check_ins_keep_the_revision_and_a_target_moves_it(db: Database) -> None:
    _team(db)
    before = _revision(db)
    _calls_target(db)
    _calls_target(db)
    assert _revision(db) == before
    _call(db, leaders.target, LEADER, GROUP, args="calls 40 day")
    assert _revision(db) > before
    assert _calls_target(db) == 40


def test_a_change_rolled_back_is_never_seen(db: Database) -> None:
    _team(db)
    first = _calls_target(db)
    with pytest.raises(RuntimeError), db.transaction() as s:
        leaders.target(
            s,
            person=LEADER,
            chat=GROUP,
            admins=frozenset(),
            now=NOW,
            args="calls 55 day",
        )
        # Read inside the changing transaction: the cache is neither read nor filled here.
        assert _in(s) == 55
        raise RuntimeError("rolled back")
    assert _calls_target(db) == first


def _in(session: Session) -> float | None:
    res = checkins.log_message(
        session,
        person=REP,
        chat=PRIVATE_REP,
        admins=frozenset(),
        now=NOW,
        text="/call 1",
        message_id=None,
    )
    assert isinstance(res, Logged)
    return next(p.target for p in res.progress if p.metric == "calls")
