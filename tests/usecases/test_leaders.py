"""Leader use cases called with plain arguments: /target and /kpi, and their outcomes."""

from __future__ import annotations

from kpi.access import Refusal
from kpi.db import Database
from kpi.usecases import leaders
from kpi.usecases.leaders import KpiListing, TargetSet
from kpi.usecases.outcomes import BadInput, UnknownKpi, UnknownMember
from tests.support.usecases import GROUP, LEADER, PRIVATE_REP, REP
from tests.support.usecases import call as _call
from tests.support.usecases import set_up_team as _team


def test_a_leader_sets_a_target_for_everyone_or_one_member(db: Database) -> None:
    _team(db)
    everyone = _call(db, leaders.target, LEADER, GROUP, args="calls 20 day")
    assert isinstance(everyone, TargetSet)
    assert (everyone.kpi, everyone.value, everyone.period) == ("calls", 20, "day")
    assert everyone.member_name is None
    one = _call(db, leaders.target, LEADER, GROUP, args="calls 30", reply_to=REP.telegram_id)
    assert isinstance(one, TargetSet) and one.member_name == "Minh" and one.period == "day"


def test_a_target_that_cannot_be_set_says_why(db: Database) -> None:
    _team(db)
    assert _call(db, leaders.target, LEADER, GROUP, args="karma 5") == UnknownKpi(None, "karma")
    nobody = _call(db, leaders.target, LEADER, GROUP, args="calls 5 @nobody")
    assert nobody == UnknownMember(None, "@nobody")
    usage = _call(db, leaders.target, LEADER, GROUP, args="calls")
    assert isinstance(usage, BadInput) and usage.code == "target.usage"
    refused = _call(db, leaders.target, REP, GROUP, args="calls 20")
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"


def test_everyone_reads_the_kpis_and_only_leaders_change_them(db: Database) -> None:
    _team(db)
    listing = _call(db, leaders.kpi_command, REP, PRIVATE_REP, args="")
    assert isinstance(listing, KpiListing) and not listing.leader and listing.action is None
    assert "calls" in [r.key for r in listing.rows]
    refused = _call(db, leaders.kpi_command, REP, PRIVATE_REP, args="weight calls 50%")
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"
    changed = _call(db, leaders.kpi_command, LEADER, GROUP, args="weight calls 50%")
    assert isinstance(changed, KpiListing) and changed.action == "weight"
    assert changed.value == 0.5
    assert next(r.weight for r in changed.rows if r.key == "calls") == 0.5
    bad = _call(db, leaders.kpi_command, LEADER, GROUP, args="add x")
    assert isinstance(bad, BadInput) and bad.code == "kpi.add_usage"
