"""Leave and absences (issue 10): a leader sets leave, a rep asks and a leader answers with a
button; a member on leave gets no reminder, is not listed as "has not logged", and is held to
the targets of the days they are there; leave is cancelled, never deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.scheduler import Scheduler
from handlers.posts import sweep_outbox
from kpi import absences
from kpi.db import Database
from kpi.models import (
    ABSENCE_APPROVED,
    ABSENCE_CANCELLED,
    ABSENCE_PENDING,
    ABSENCE_REJECTED,
    Absence,
    AuditEvent,
    Member,
    Team,
)
from tests.support.chat import Clock, Talk


@pytest.fixture
def scheduler(app: Any) -> Scheduler:
    return Scheduler(app)


def _absences(db: Database) -> list[tuple[str, dt.date, dt.date, str]]:
    with db.transaction() as s:
        rows = s.scalars(select(Absence).order_by(Absence.id)).all()
        names = {m.id: m.username or "" for m in s.scalars(select(Member))}
        return [(names[a.member_id], a.first_day, a.last_day, a.status) for a in rows]


def _actions(db: Database) -> list[str]:
    with db.transaction() as s:
        return [
            e.action
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.entity == "absence").order_by(AuditEvent.id)
            )
        ]


async def test_a_leader_sets_a_members_leave_in_force_at_once(
    talk: Talk, team: Any, db: Database
) -> None:
    text = await talk.reply(team.leader, team.group, "/nghiphep @minh_tran 19/11..20/11")
    assert text.startswith("✅ Minh Trần nghỉ phép 19/11–20/11")
    assert _absences(db) == [
        ("minh_tran", dt.date(2026, 11, 19), dt.date(2026, 11, 20), ABSENCE_APPROVED)
    ]
    assert _actions(db) == ["absence.set"]
    # Everyone in the team sees who is away; the domain answers the same (for /team).
    listing = await talk.reply(team.hoa, team.hoa_dm, "/leave")
    assert "Away now:" in listing and "Minh Trần: 19/11–20/11" in listing
    with db.transaction() as s:
        t = s.scalar(select(Team))
        minh = s.scalar(select(Member).where(Member.username == "minh_tran"))
        assert t is not None and minh is not None
        assert absences.absent_on(s, t.id, dt.date(2026, 11, 20)) == {minh.id}
        assert absences.absent_on(s, t.id, dt.date(2026, 11, 23)) == set()


async def test_a_reps_request_is_approved_by_a_leader_once(
    talk: Talk, team: Any, db: Database, app: Any, clock: Clock, sandbox: Any
) -> None:
    await talk.say(team.leader, team.leader_dm, "/start")
    await talk.say(team.hoa, team.hoa_dm, "/start")
    text = await talk.reply(team.hoa, team.hoa_dm, "/leave 25/11..27/11")
    assert text.startswith("⏳ Your leave 25/11–27/11")
    assert _absences(db)[0][3] == ABSENCE_PENDING
    # Not in force yet: nobody is away.
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        assert absences.absent_on(s, t.id, dt.date(2026, 11, 25)) == set()
    before = len(sandbox.sent(team.leader_dm))
    assert await sweep_outbox(app.bot, app.bot_data, clock()) == 1
    [question] = sandbox.sent(team.leader_dm)[before:]
    assert "Hoa Lê (Sales HCM) xin nghỉ phép 25/11–27/11" in (question.text or "")
    labels = dict(question.buttons())
    approve = labels["✅ Duyệt"]
    assert labels["❌ Từ chối"] == approve.replace(":ok", ":no")

    # The rep forging the leader's button changes nothing.
    [hoa_message] = await talk.say(team.hoa, team.hoa_dm, "/help")
    press = sandbox.press(team.hoa, team.hoa_dm, hoa_message.message_id, approve, check=False)
    await talk.deliver(press)
    answer = sandbox.callback_answer(press)
    assert answer is not None and "leader" in answer.get("text", "")
    assert _absences(db)[0][3] == ABSENCE_PENDING

    done = await talk.press(team.leader, team.leader_dm, question, approve)
    assert "✅ Đã duyệt: Hoa Lê nghỉ phép 25/11–27/11." in (done[-1].text or "")
    assert _absences(db)[0][3] == ABSENCE_APPROVED
    # Pressed again (a second leader, a retry): nothing changes, and it says so.
    again = await talk.deliver(
        sandbox.press(team.leader, team.leader_dm, question.message_id, approve, check=False)
    )
    assert "Đơn này đã được trả lời trước đó." in (again[-1].text or "")
    assert _actions(db) == ["absence.request", "absence.approve"]
    # The rep is told.
    count = len(sandbox.sent(team.hoa_dm))
    assert await sweep_outbox(app.bot, app.bot_data, clock()) == 1
    told = sandbox.sent(team.hoa_dm)[count:]
    assert told[-1].text == "✅ Lan Nguyễn approved your leave 25/11–27/11 (Sales HCM)."


async def test_a_rejected_request_stays_rejected_and_the_rep_is_told(
    talk: Talk, team: Any, db: Database, app: Any, clock: Clock, sandbox: Any
) -> None:
    await talk.say(team.leader, team.leader_dm, "/start")
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.hoa, team.hoa_dm, "/leave ngày mai")
    await sweep_outbox(app.bot, app.bot_data, clock())
    question = sandbox.sent(team.leader_dm)[-1]
    reject = dict(question.buttons())["❌ Từ chối"]
    done = await talk.press(team.leader, team.leader_dm, question, reject)
    assert "Đã từ chối" in (done[-1].text or "")
    assert _absences(db) == [
        ("hoa_le", dt.date(2026, 11, 20), dt.date(2026, 11, 20), ABSENCE_REJECTED)
    ]
    await sweep_outbox(app.bot, app.bot_data, clock())
    assert "did not approve your leave 20/11" in (sandbox.sent(team.hoa_dm)[-1].text or "")
    # A rejected leave is not in force and is not listed.
    assert "Nobody is on leave" in await talk.reply(team.hoa, team.hoa_dm, "/leave")


async def test_cancel_leave(talk: Talk, team: Any, db: Database) -> None:
    await talk.say(team.minh, team.minh_dm, "/start")
    await talk.say(team.leader, team.group, "/leave @minh_tran 19/11..20/11")
    await talk.say(team.minh, team.minh_dm, "/nghiphep 01/12..02/12")
    ids = [a[0] for a in _absence_ids(db)]
    # A rep cannot take back a leave a leader set that has started.
    text = await talk.reply(team.minh, team.minh_dm, f"/nghiphep huy {ids[0]}")
    assert text.startswith("Chỉ quản lý mới hủy được lịch nghỉ này")
    # Their own request, yes; another team's id or a made-up one is not found.
    text = await talk.reply(team.minh, team.minh_dm, f"/nghiphep huy {ids[1]}")
    assert text.startswith("🗑 Đã hủy lịch nghỉ của Minh Trần, 01/12–02/12.")
    assert "Không tìm thấy" in await talk.reply(team.minh, team.minh_dm, "/nghiphep huy 999")
    # The leader cancels any; cancelled twice is "over".
    text = await talk.reply(team.leader, team.group, f"/leave cancel {ids[0]}")
    assert text.startswith("🗑 Đã hủy lịch nghỉ của Minh Trần, 19/11–20/11.")
    assert "đã qua hoặc đã bị hủy" in await talk.reply(
        team.leader, team.group, f"/leave cancel {ids[0]}"
    )
    assert [a[3] for a in _absences(db)] == [ABSENCE_CANCELLED, ABSENCE_CANCELLED]
    assert _actions(db).count("absence.cancel") == 2


def _absence_ids(db: Database) -> list[tuple[int, str]]:
    with db.transaction() as s:
        return [(a.id, a.status) for a in s.scalars(select(Absence).order_by(Absence.id))]


async def test_bad_days_are_explained_with_an_example(talk: Talk, team: Any, db: Database) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "/nghiphep 24/11..20/11")
    assert "Ngày kết thúc đứng trước ngày bắt đầu" in text
    assert "Ví dụ: /nghiphep 20/12..24/12" in text
    text = await talk.reply(team.hoa, team.hoa_dm, "/leave soon")
    assert 'Could not read the days "soon"' in text and "Example: " in text
    # A second leave over the same days is refused.
    await talk.say(team.leader, team.group, "/leave @minh_tran 19/11..20/11")
    text = await talk.reply(team.leader, team.group, "/leave @minh_tran 20/11")
    assert "đã có lịch nghỉ 19/11–20/11" in text
    assert len(_absences(db)) == 1


async def test_no_reminder_and_not_listed_as_not_logged_while_on_leave(
    talk: Talk, team: Any, scheduler: Scheduler, sandbox: Any, clock: Clock
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.minh, team.minh_dm, "/start")
    await talk.say(team.leader, team.group, "/leave @hoa_le 19/11")
    await talk.say(team.minh, team.minh_dm, "/call 3")
    hoa_before = len(sandbox.sent(team.hoa_dm))
    clock.set_local("2026-11-19 15:00")
    await scheduler.run_due(clock.now)
    # Minh is behind and reminded; Hoa, on leave, is not.
    assert sandbox.sent(team.minh_dm)[-1].text.startswith("⏰ Minh Trần")
    assert len(sandbox.sent(team.hoa_dm)) == hoa_before
    clock.set_local("2026-11-19 18:00")
    await scheduler.run_due(clock.now)
    summary = [m.text or "" for m in sandbox.sent(team.group) if m.kind == "text"][-1]
    assert summary.startswith("📊 Tổng kết ngày 19/11")
    assert "Hoa" not in summary
    # The next working day she is back: reminded, and listed when she logs nothing.
    clock.set_local("2026-11-20 15:00")
    await scheduler.run_due(clock.now)
    assert len(sandbox.sent(team.hoa_dm)) == hoa_before + 1
    clock.set_local("2026-11-20 18:00")
    await scheduler.run_due(clock.now)
    summary = [m.text or "" for m in sandbox.sent(team.group) if m.kind == "text"][-1]
    assert "Hoa Lê" in summary


async def test_targets_are_prorated_over_the_days_a_member_is_there(talk: Talk, team: Any) -> None:
    # Both reps joined today (19/11): held to 7 of November's 20 working days (24/11 is a
    # holiday), 70tr each of the 200tr monthly target; 20 calls each working day.
    before = await talk.reply(team.leader, team.leader_dm, "/month")
    assert "Doanh số: 0/140tr" in before and "Cuộc gọi: 0/280" in before
    # Hoa is away 25/11–27/11, three of her seven days: held to four, as a joiner is.
    await talk.say(team.leader, team.group, "/leave @hoa_le 25/11..27/11")
    after = await talk.reply(team.leader, team.leader_dm, "/month")
    assert "Doanh số: 0/110tr" in after and "Cuộc gọi: 0/220" in after


async def test_with_no_leader_reachable_privately_a_request_is_asked_in_the_group(
    talk: Talk, team: Any, db: Database, app: Any, clock: Clock, sandbox: Any
) -> None:
    # The leader never opened the private chat with the bot: the group is asked instead.
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.reply(team.hoa, team.hoa_dm, "/leave 25/11..27/11")
    before = len(sandbox.sent(team.group))
    assert await sweep_outbox(app.bot, app.bot_data, clock()) == 1
    [question] = sandbox.sent(team.group)[before:]
    assert "Hoa Lê (Sales HCM) xin nghỉ phép 25/11–27/11" in (question.text or "")
    approve = dict(question.buttons())["✅ Duyệt"]
    await talk.press(team.minh, team.group, question, approve)
    assert _absences(db)[0][3] == ABSENCE_PENDING
    await talk.press(team.leader, team.group, question, approve)
    assert _absences(db)[0][3] == ABSENCE_APPROVED
