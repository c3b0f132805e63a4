"""Records and personal data with plain arguments: reading the trail by or about a person, /audit's
arguments, the company view's team comparison, a person's own data, and erasure."""

from __future__ import annotations

from sqlalchemy import func, select, update

from kpi import audit, privacy
from kpi.access import ChatInfo
from kpi.db import Database
from kpi.models import (
    Activity,
    AuditEvent,
    Checkin,
    Member,
    OutboxMessage,
    ReportSnapshot,
    Team,
)
from kpi.org_ranking import OrgRow
from kpi.usecases.outcomes import BadInput, UnknownMember
from kpi.usecases.privacy import erase_person, my_data
from kpi.usecases.records import AuditLog, audit_log, compare_teams
from tests.support.usecases import GROUP, LEADER, NOW, PRIVATE_REP, REP, call, log, set_up_team

PRIVATE_LEADER = ChatInfo(LEADER.telegram_id, "private")


def _member(db: Database, telegram_id: int) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(Member.id).where(Member.telegram_id == telegram_id)) or 0)


def test_the_trail_by_or_about_a_person(db: Database) -> None:
    set_up_team(db)
    log(db, REP, PRIVATE_REP, "/call 3")
    rep = _member(db, REP.telegram_id)
    with db.transaction() as s:
        team_id = int(s.scalar(select(Team.id)) or 0)
        entry = int(s.scalar(select(Activity.id)) or 0)
        # Another helper's kind of event, about the rep only through "member".
        audit.record(
            s,
            team_id=team_id,
            action="leave.set",
            entity="leave",
            entity_id=1,
            after={"member": rep},
            now=NOW,
        )
        audit.record(
            s,
            team_id=team_id,
            action="entry.void",
            entity=audit.ENTRY,
            entity_id=entry,
            after={"status": "voided"},
            now=NOW,
        )
        # A value under "member" that is no member id breaks nothing (PostgreSQL too).
        audit.record(
            s,
            team_id=team_id,
            action="note.add",
            entity="note",
            entity_id=None,
            after={"member": "somebody"},
            now=NOW,
        )
        audit.record(
            s, team_id=team_id, action="settings.change", entity="team", entity_id=team_id, now=NOW
        )
    with db.transaction() as s:
        mine = audit.recent(s, [team_id], member_id=rep)
        everyone = audit.recent(s, [team_id], limit=2)
    assert [i.action for i in mine] == ["entry.void", "leave.set", "member.join"]
    assert mine[1].subject is not None and mine[1].subject.id == rep
    assert [i.action for i in everyone] == ["settings.change", "note.add"]


def test_audit_reads_a_member_and_a_count_and_refuses_anything_else(db: Database) -> None:
    set_up_team(db)
    res = call(db, audit_log, LEADER, GROUP, args="3")
    assert isinstance(res, AuditLog) and len(res.items) == 2  # setup and a join: all there is
    assert call(db, audit_log, LEADER, GROUP, args="0") == BadInput(
        None, "audit.count", {"max": 50}
    )
    res = call(db, audit_log, LEADER, GROUP, args="@ghost")
    assert isinstance(res, UnknownMember) and res.word == "@ghost"
    res = call(db, audit_log, LEADER, GROUP, args="3 4")
    assert isinstance(res, BadInput) and res.code == "audit.usage"


def test_teams_are_compared_by_their_members_average_score() -> None:
    def row(team: int, member: int, score: float | None, rank: int | None) -> OrgRow:
        return OrgRow(team, f"T{team}", member, f"M{member}", score, rank, rank and 1, True)

    compared = compare_teams(
        [row(1, 1, 90, 1), row(2, 2, 80, 2), row(1, 3, 30, 3), row(2, 4, None, None)]
    )
    assert [(c.title, c.average, c.members) for c in compared] == [("T2", 80, 2), ("T1", 60, 2)]


def test_erasure_blanks_what_they_typed_and_keeps_the_numbers(db: Database) -> None:
    set_up_team(db)
    log(db, REP, PRIVATE_REP, "/call 3 chị Thuỷ ở Quận 7")
    rep = _member(db, REP.telegram_id)
    with db.transaction() as s:
        before = s.execute(select(func.sum(Activity.value), func.count())).one()
    mine = call(db, my_data, REP, PRIVATE_REP)
    assert mine.data.entries[0].note == "chị Thuỷ ở Quận 7"
    with db.transaction() as s:
        member = privacy.find_person(s, str(REP.telegram_id))
        assert member is not None and member.id == rep
        done = erase_person(
            s, member, actor_id=None, label=lambda i, lang: f"#{i} {lang}", now=NOW
        )
    assert done.label == f"#{rep} vi" and done.done.checkins == 1 and done.done.entries == 1
    with db.transaction() as s:
        assert s.execute(select(func.sum(Activity.value), func.count())).one() == before
        assert s.scalars(select(Checkin.text)).all() == [None]
        assert s.scalars(select(Activity.note)).all() == [None]
        m = s.get(Member, rep)
        assert m is not None and (m.telegram_id, m.first_name) == (None, f"#{rep} vi")
        assert privacy.find_person(s, str(REP.telegram_id)) is None
        [erasure] = s.scalars(select(AuditEvent).where(AuditEvent.action == "member.erase"))
        assert erasure.actor_id is None and erasure.entity_id == rep


def test_erasure_reaches_the_sent_reports_kept_for_closed_months(db: Database) -> None:
    set_up_team(db)
    log(db, REP, PRIVATE_REP, "/call 3")
    rep = _member(db, REP.telegram_id)
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        member = s.get(Member, rep)
        assert member is not None
        name = member.display_name
        s.execute(update(Checkin).values(photo_file_id="AgACAgQAAx-contract"))
        # A monthly report as kpi.closing keeps it: the board's rows, and who had not logged.
        s.add(
            ReportSnapshot(
                team_id=team.id,
                kind="monthly",
                period_key="2026-10",
                figures={
                    "rows": [{"member_id": rep, "name": name, "score": 80.0}],
                    "not_logged": [name],
                },
            )
        )
    with db.transaction() as s:
        member = privacy.find_person(s, str(REP.telegram_id))
        assert member is not None
        erase_person(s, member, actor_id=None, label=lambda i, lang: f"#{i}", now=NOW)
    with db.transaction() as s:
        figures = s.scalars(select(ReportSnapshot.figures)).one()
        assert figures["rows"] == [{"member_id": rep, "name": f"#{rep}", "score": 80.0}]
        assert name not in str(figures)
        assert s.scalars(select(Checkin.photo_file_id)).all() == [None]


def test_a_person_is_found_by_a_plain_telegram_id_only(db: Database) -> None:
    set_up_team(db)
    # Digits that are not ASCII, or more than a bigint holds, name nobody (and raise nothing).
    with db.transaction() as s:
        for word in ("²", "--5", "9" * 19, "١٢٣"):
            assert privacy.find_person(s, word) is None, word
        found = privacy.find_person(s, str(REP.telegram_id))
        assert found is not None and found.first_name == "Minh"


def test_erasure_finds_a_name_in_the_html_the_outbox_keeps(db: Database) -> None:
    set_up_team(db)
    log(db, REP, PRIVATE_REP, "/call 3")
    rep = _member(db, REP.telegram_id)
    with db.transaction() as s:
        team = s.scalars(select(Team)).one()
        member = s.get(Member, rep)
        assert member is not None
        member.last_name = "& Co"
        # A message about them to the group, as a view renders it: Telegram HTML, escaped.
        s.add(
            OutboxMessage(
                key="celebration:1",
                kind="celebration",
                team_id=team.id,
                chat_id=GROUP.id,
                text="🎉 Chúc mừng <b>Minh &amp; Co</b> vừa chốt hợp đồng!",
                status="sent",
            )
        )
    with db.transaction() as s:
        member = privacy.find_person(s, str(REP.telegram_id))
        assert member is not None
        erase_person(s, member, actor_id=None, label=lambda i, lang: f"#{i}", now=NOW)
    with db.transaction() as s:
        text = s.scalars(select(OutboxMessage.text)).one()
        assert text == f"🎉 Chúc mừng <b>#{rep}</b> vừa chốt hợp đồng!"
