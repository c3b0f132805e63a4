"""Shared writers and readers: the audit trail's one writer, a button payload's one reader."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from handlers.render import id_and_choice
from kpi import audit
from kpi.db import Database
from kpi.models import Activity, AuditEvent, Checkin, Team


def test_record_stores_every_field_and_the_moment_given(db: Database) -> None:
    moment = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)
    with db.transaction() as s:
        team = Team(chat_id=-100_123, title="Sales")
        s.add(team)
        s.flush()
        audit.record(
            s,
            team_id=team.id,
            action="target.set",
            entity="target",
            entity_id=7,
            before={"targets": []},
            after={"value": 5},
            now=moment,
        )
    with db.transaction() as s:
        event = s.scalars(select(AuditEvent)).one()
        assert (event.action, event.entity, event.entity_id) == ("target.set", "target", 7)
        assert (event.actor_id, event.before, event.after) == (None, {"targets": []}, {"value": 5})
        assert event.created_at == moment


def test_record_without_a_moment_is_stamped_by_the_clock(db: Database) -> None:
    start = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        audit.record(s, team_id=None, action="team.inactive", entity="team", entity_id=None)
    with db.transaction() as s:
        event = s.scalars(select(AuditEvent)).one()
        assert event.before is None and event.after is None
        assert event.created_at >= start - dt.timedelta(seconds=1)


def test_button_payload_reads_id_and_choice_or_nothing() -> None:
    assert id_and_choice("p:12:no") == (12, "no")
    assert id_and_choice("e:3:yes:extra") == (3, "yes:extra")
    assert id_and_choice("p:x:no") is None
    assert id_and_choice("p:12") is None


def test_a_change_is_filed_under_the_entity_it_is_read_back_by(db: Database) -> None:
    moment = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)
    with db.transaction() as s:
        entry = audit.record_change(
            s,
            Activity(id=5, team_id=1),
            "entry.void",
            actor_id=2,
            before={"value": 3},
            after={"status": "voided"},
            now=moment,
        )
        whole = audit.record_change(
            s,
            Checkin(id=9, team_id=1),
            "checkin.void",
            actor_id=2,
            before={},
            after={},
            now=moment,
        )
        assert (entry.entity, entry.entity_id, entry.team_id) == (audit.ENTRY, 5, 1)
        assert (whole.entity, whole.entity_id, whole.action) == (audit.CHECKIN, 9, "checkin.void")
        s.rollback()  # the rows they name do not exist
