"""Issue 11: last year's spreadsheet into a team, from the command line and the chat.

A realistic file: a merged title row above Vietnamese headers, names written another way,
a month's totals, a totals line and a few bad rows. The report names each rejected row and
why; with any rejected row nothing is stored; a file imported twice counts once.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from kpi import store
from kpi.exports.importing import import_file
from kpi.models import Activity, AuditEvent, Checkin, ImportRow, Member, Team
from tests.support.chat import Talk
from tests.support.processes import kpibot
from tests.support.spreadsheets import BAD, GOOD, workbook

NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)


def _team(s: Any) -> Team:
    return s.scalars(select(Team)).one()


def _count(db: Any, model: Any) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_bad_row_keeps_the_whole_file_out_and_is_named(team: Any, db: Any) -> None:
    before = _count(db, Activity)
    with db.transaction() as s:
        report = import_file(
            s, _team(s), workbook(GOOD + BAD), "kpi.xlsx", now=NOW, actor_id=None, dry_run=False
        )
    assert report.stored == 0
    assert [(r.row, r.code) for r in report.rejected] == [
        (9, "date.invalid"),
        (10, "count.invalid"),
    ]
    assert report.rejected[1].detail == "12O"
    assert [r.code for r in report.skipped] == ["skipped.total"]
    assert (
        _count(db, Activity) == before and _count(db, ImportRow) == 0 and _count(db, Member) == 3
    )


async def test_a_good_file_is_stored_once_with_people_matched_and_months_on_their_last_working_day(
    team: Any, db: Any
) -> None:
    content = workbook(GOOD)
    with db.transaction() as s:
        dry = import_file(s, _team(s), content, "kpi.xlsx", now=NOW, actor_id=None, dry_run=True)
    assert (dry.stored, dry.entries, dry.monthly, dry.rejected) == (5, 10, 1, ())
    assert dry.new_members == ("Phạm Thu",)
    assert ("Trần Minh", "Minh Trần") in dry.matched
    assert [(w.row, w.code) for w in dry.warnings] == [(7, "warning.bound"), (8, "warning.bound")]
    assert _count(db, Activity) == 0
    with db.transaction() as s:
        done = import_file(s, _team(s), content, "kpi.xlsx", now=NOW, actor_id=None, dry_run=False)
    assert done.stored == 5
    with db.transaction() as s:
        t = _team(s)
        minh = s.scalars(select(Member).where(Member.telegram_id == team.minh.id)).one()
        thu = s.scalars(select(Member).where(Member.first_name == "Phạm Thu")).one()
        assert thu.telegram_id is None  # not yet linked to Telegram
        sums = store.member_sums(s, t.id, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        assert sums[minh.id]["calls"].value == 820
        assert sums[minh.id]["deals"] == (1, 45_000_000, 0)
        assert sums[thu.id]["deals"].amount == 1_200_000_000
        monthly = s.scalars(select(Activity).where(Activity.member_id == thu.id)).all()
        # 31/10/2026 is a Saturday: the month's totals count on Friday the 30th.
        assert {a.day for a in monthly} == {dt.date(2026, 10, 30)}
        assert {a.flags for a in monthly} == {"imported,monthly"}
        assert {c.source for c in s.scalars(select(Checkin))} == {"import"}
        audits = s.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("%import"))
        ).all()
        assert sorted(set(audits)) == ["checkin.import", "member.import"]
    # Imported again, and after Excel re-saved it: nothing counts twice.
    resaved = io.BytesIO()
    load_workbook(io.BytesIO(content)).save(resaved)
    for again in (content, resaved.getvalue()):
        with db.transaction() as s:
            report = import_file(
                s, _team(s), again, "kpi.xlsx", now=NOW, actor_id=None, dry_run=False
            )
        assert report.all_already and report.already == 5
    assert _count(db, ImportRow) == 5


async def test_csv_per_activity_rows_and_an_export_read_back(
    talk: Talk, team: Any, db: Any, sandbox: Any
) -> None:
    csv_text = (
        "Ngay;Nhan vien;Chi so;Gia tri;So tien;Khach hang;Ghi chu\r\n"
        "20/10/2026;@minh_tran;hợp đồng;1;45.000.000;Công ty An Phát;gia hạn\r\n"
        "20/10/2026;Hoa Lê;cuộc gọi;12;;;\r\n"
        "21/10/2026;Hoa Lê;doanh số;30tr;;Bình Minh;\r\n"
    )
    with db.transaction() as s:
        report = import_file(
            s,
            _team(s),
            csv_text.encode("utf-8-sig"),
            "a.csv",
            now=NOW,
            actor_id=None,
            dry_run=False,
        )
    assert (report.stored, report.rejected) == (3, ())
    with db.transaction() as s:
        deal = s.scalars(select(Activity).where(Activity.customer == "Công ty An Phát")).one()
        assert (deal.metric, deal.value, deal.amount, deal.note) == (
            "deals",
            1,
            45_000_000,
            "gia hạn",
        )
    # A team's export reads back: its rows name entries the team has, so nothing is doubled.
    await talk.say(team.minh, team.minh_dm, "/call 7")
    answers = await talk.say(team.leader, team.leader_dm, "/export 01/10/2026..30/11/2026")
    exported = next(a for a in answers if a.kind == "document").document
    with db.transaction() as s:
        again = import_file(
            s, _team(s), exported, "kpi.xlsx", now=NOW, actor_id=None, dry_run=True
        )
    assert (again.rejected, again.stored, again.already) == ((), 0, 4)
    # Into another team the same file is new.
    other = sandbox.user("Vy", language_code="en")
    await talk.say(other, sandbox.group("Sales HN", creator=other), "/setup")
    with db.transaction() as s:
        hn = s.scalars(select(Team).where(Team.title == "Sales HN")).one()
        into_other = import_file(s, hn, exported, "kpi.xlsx", now=NOW, actor_id=None, dry_run=True)
    assert (into_other.rejected, into_other.stored) == ((), 4)


async def test_the_command_line_exit_codes(team: Any, db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url}
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(workbook(GOOD + BAD))
    good.write_bytes(workbook(GOOD))
    run = kpibot(["import", str(bad), "--team", "Sales HCM", "--dry-run"], tmp_path, env=env)
    assert run.returncode == 1, run.stderr
    assert 'row 9: the date "31/02/2026" cannot be read' in run.stdout
    assert 'row 10: "12O" is not a count' in run.stdout
    dry = kpibot(["import", str(good), "--team", "Sales HCM", "--dry-run"], tmp_path, env=env)
    assert dry.returncode == 0 and "Rows to store: 5 (10 entries)" in dry.stdout
    stored = kpibot(["import", str(good), "--team", str(team.group.id)], tmp_path, env=env)
    assert stored.returncode == 0 and "Imported" in stored.stdout
    again = kpibot(["import", str(good), "--team", "sales hcm"], tmp_path, env=env)
    assert again.returncode == 0 and "already imported" in again.stdout
    skip = kpibot(
        ["import", str(bad), "--team", "Sales HCM", "--skip-bad-rows"], tmp_path, env=env
    )
    assert skip.returncode == 1 and "Already imported before" in skip.stdout
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    assert (
        kpibot(
            ["import", str(tmp_path / "x.pdf"), "--team", "Sales HCM"], tmp_path, env=env
        ).returncode
        == 2
    )
    assert (
        kpibot(["import", "missing.xlsx", "--team", "Sales HCM"], tmp_path, env=env).returncode
        == 2
    )
    assert kpibot(["import", str(good), "--team", "Nobody"], tmp_path, env=env).returncode == 2


async def test_two_teams_of_one_name_are_refused_with_their_chat_ids(
    talk: Talk, team: Any, sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    other = sandbox.user("Vy", language_code="en")
    group = sandbox.group("Sales HCM", creator=other)
    await talk.say(other, group, "/setup")
    (tmp_path / "g.xlsx").write_bytes(workbook(GOOD))
    run = kpibot(
        ["import", str(tmp_path / "g.xlsx"), "--team", "Sales HCM"],
        tmp_path,
        env={"DATABASE_URL": db_url},
    )
    assert run.returncode == 2
    assert str(team.group.id) in run.stderr and str(group.id) in run.stderr


async def test_a_leader_imports_from_the_chat_with_confirm(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    assert "Gửi tệp" in await talk.reply(team.leader, team.leader_dm, "/nhap")
    assert "chat riêng" in await talk.reply(team.leader, team.group, "/import")
    # A rep may not import.
    answers = await talk.deliver(
        sandbox.document(team.minh, team.minh_dm, workbook(GOOD), "kpi.xlsx")
    )
    assert "quản lý" in (answers[-1].text or "")
    answers = await talk.deliver(
        sandbox.document(team.leader, team.leader_dm, workbook(GOOD + BAD), "kpi.xlsx")
    )
    assert "dòng 9" in (answers[-1].text or "") and not answers[-1].buttons()
    answers = await talk.deliver(
        sandbox.document(team.leader, team.leader_dm, workbook(GOOD), "kpi.xlsx")
    )
    check = answers[-1]
    assert "Số dòng sẽ ghi: 5" in (check.text or "")
    assert _count(db, Activity) == 0
    confirm = next(data for label, data in check.buttons() if "Xác nhận" in label)
    done = await talk.press(team.leader, team.leader_dm, check, confirm)
    assert "Đã nhập" in (done[-1].text or "")
    assert _count(db, ImportRow) == 5
    # The buttons are gone: the import cannot be confirmed twice.
    shown = next(m for m in sandbox.sent(team.leader_dm) if m.message_id == check.message_id)
    assert not shown.buttons()
