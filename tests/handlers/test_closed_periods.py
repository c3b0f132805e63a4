"""Closed months (issue 10): once November's report has been sent, its figures are what bonuses
are paid on. A rep's backdated entry or correction into November is refused with the reason; a
leader's goes through only with a reason and is flagged in the next leader digest; reading
November's report again shows what it said, with the later changes apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.scheduler import Scheduler
from kpi.db import Database
from kpi.models import Activity, AuditEvent, ReportSnapshot
from tests.support.chat import Clock, Talk


@pytest.fixture
def scheduler(app: Any) -> Scheduler:
    return Scheduler(app)


def _calls(db: Database, status: str = "active") -> list[tuple[int, dt.date]]:
    with db.transaction() as s:
        return [
            (a.value, a.day)
            for a in s.scalars(
                select(Activity)
                .where(Activity.metric == "calls", Activity.status == status)
                .order_by(Activity.id)
            )
        ]


def _late(db: Database) -> list[dict[str, Any]]:
    with db.transaction() as s:
        return [
            e.after or {}
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "closed.change"))
        ]


async def _november_closed(
    talk: Talk, team: Any, scheduler: Scheduler, clock: Clock, sandbox: Any
) -> Any:
    """Minh logs 4 calls on 30/11; the report for November goes out on 01/12 at 09:00."""
    for who in (team.leader, team.minh):
        await talk.say(who, sandbox.private(who), "/start")
    clock.set_local("2026-11-30 10:00")
    sent = sandbox.text(team.minh, team.minh_dm, "/call 4")
    await talk.deliver(sent)
    # Before the report, November is open: a rep backdates into it inside the edit window.
    clock.set_local("2026-12-01 08:00")
    assert (await talk.reply(team.minh, team.minh_dm, "/call 1 30/11")).startswith("✅")
    clock.set_local("2026-12-01 09:00")
    await scheduler.run_due(clock.now)
    report = [m.text or "" for m in sandbox.sent(team.group) if m.kind == "text"][-1]
    assert report.startswith("📅 Báo cáo tháng 11/2026")
    assert "Cuộc gọi: 5/" in report
    return sent


async def test_a_rep_cannot_change_a_closed_month(
    talk: Talk, team: Any, scheduler: Scheduler, clock: Clock, sandbox: Any, db: Database
) -> None:
    sent = await _november_closed(talk, team, scheduler, clock, sandbox)
    clock.set_local("2026-12-01 10:00")
    before = _calls(db)
    text = await talk.reply(team.minh, team.minh_dm, "/call 2 30/11")
    assert text.startswith("Tháng 11/2026 đã chốt sổ: báo cáo tháng đã gửi")
    assert "Hãy nhờ quản lý sửa giúp." in text
    [(_, entry_day)] = [c for c in before if c[0] == 4]
    with db.transaction() as s:
        entry_id = s.scalar(select(Activity.id).where(Activity.value == 4))
    for command in (f"/void {entry_id}", f"/edit {entry_id} 9", "/undo"):
        text = await talk.reply(team.minh, team.minh_dm, command)
        assert "Tháng 11/2026 đã chốt sổ" in text, command
    # Editing the message that logged it changes nothing either; a reason does not help a rep.
    await talk.deliver(sandbox.edit(sent, "/call 40 lý do: nhầm"))
    text = await talk.reply(team.minh, team.minh_dm, "/call 2 30/11 lý do: quên ghi")
    assert "đã chốt sổ" in text
    assert _calls(db) == before
    assert _late(db) == []
    # December is open as usual.
    assert (await talk.reply(team.minh, team.minh_dm, "/call 2")).startswith("✅")
    assert entry_day == dt.date(2026, 11, 30)


async def test_a_leader_changes_a_closed_month_with_a_reason_and_it_is_flagged(
    talk: Talk, team: Any, scheduler: Scheduler, clock: Clock, sandbox: Any, db: Database
) -> None:
    await _november_closed(talk, team, scheduler, clock, sandbox)
    clock.set_local("2026-12-02 10:00")
    with db.transaction() as s:
        entry_id = s.scalar(select(Activity.id).where(Activity.value == 4))
    # Without a reason: refused, and told how to give one.
    text = await talk.reply(team.leader, team.leader_dm, f"/void {entry_id}")
    assert "Quản lý cần ghi lý do ở cuối lệnh" in text
    assert (4, dt.date(2026, 11, 30)) in _calls(db)
    # With one: done, and recorded.
    text = await talk.reply(team.leader, team.leader_dm, f"/void {entry_id} lý do: gọi trùng")
    assert text.startswith("🗑")
    assert (4, dt.date(2026, 11, 30)) in _calls(db, "voided")
    text = await talk.reply(team.leader, team.leader_dm, "/call 3 29/11 reason: forgot")
    assert text.startswith("✅")
    late = _late(db)
    assert [(c["what"], c["month"], c["reason"]) for c in late] == [
        ("void", "2026-11", "gọi trùng"),
        ("log", "2026-11", "forgot"),
    ]

    # The report keeps what it said: November read again shows the figures as sent, and the
    # changes apart.
    again = await talk.reply(team.leader, team.leader_dm, "/month 11/2026")
    assert "Cuộc gọi: 5/" in again
    assert "📌 Số liệu như báo cáo tháng đã gửi" in again
    assert "Quản lý đã sửa sau khi gửi báo cáo" in again
    assert "hủy mục #" in again and "lý do: gọi trùng" in again
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ReportSnapshot)) == 1
    # The monthly report itself is not sent again, and December is what /month shows.
    assert "01/12–31/12" in await talk.reply(team.leader, team.leader_dm, "/month")

    # The next leader digest flags both changes.
    clock.set_local("2026-12-07 08:30")
    await scheduler.run_due(clock.now)
    digest = sandbox.sent(team.leader_dm)[-1].text or ""
    assert "Sửa số của tháng đã chốt sổ" in digest
    assert (
        "Lan Nguyễn: hủy mục #" in digest
        and "của Minh Trần (ngày 30/11) · lý do: gọi trùng" in digest
    )
    assert "ghi bù lần ghi #" in digest and "lý do: forgot" in digest
    # ...and only the next one.
    clock.set_local("2026-12-14 08:30")
    await scheduler.run_due(clock.now)
    assert "Sửa số của tháng đã chốt sổ" not in (sandbox.sent(team.leader_dm)[-1].text or "")


async def test_weeks_stay_open_and_a_month_without_its_report_is_open(
    talk: Talk, team: Any, clock: Clock, db: Database
) -> None:
    # The weekly leaderboard went out (weeks do not close); November's report has not.
    clock.set_local("2026-12-01 08:00")
    text = await talk.reply(team.minh, team.minh_dm, "/call 2 27/11")
    assert text.startswith("✅")
    # A month not closed reads live.
    assert "📌" not in await talk.reply(team.minh, team.minh_dm, "/month 11/2026")
