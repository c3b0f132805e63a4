"""Issue 11: a team's numbers to Excel and CSV, from the chat (/export) and the command line.

The workbook is opened with openpyxl: sheets, real numbers and dates with their formats, frozen
headers, names in the leader's language, and totals equal to what /me and the leaderboard say.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from kpi import periods
from kpi.access import ChatInfo
from kpi.exports.data import DateRange, load_export, parse_span
from kpi.exports.export import VND_FORMAT, build_csv, build_xlsx
from kpi.models import Member, Team
from kpi.standings import team_board
from kpi.targets import calendar_of
from kpi.teams import PersonInfo
from kpi.usecases import reports
from tests.support.chat import Talk
from tests.support.processes import kpibot


async def _log_month(talk: Talk, team: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 12")
    await talk.say(team.minh, team.minh_dm, "/deal 45tr Công ty An Phát mới")
    await talk.say(team.minh, team.minh_dm, "/call 5 hôm qua")
    await talk.say(team.hoa, team.hoa_dm, "/deal 30m Binh Minh")
    await talk.say(team.hoa, team.hoa_dm, "/meeting 2")
    await talk.say(team.hoa, team.hoa_dm, "/call 4")
    await talk.say(team.hoa, team.hoa_dm, "/undo")  # voided: listed, not counted


def _sheet_rows(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


async def test_a_leader_gets_the_month_as_a_workbook_in_private(
    talk: Talk, team: Any, db: Any, clock: Any
) -> None:
    await _log_month(talk, team)
    answers = await talk.say(team.leader, team.leader_dm, "/export")
    docs = [a for a in answers if a.kind == "document"]
    assert len(docs) == 1 and docs[0].chat_id == team.leader_dm.id
    assert docs[0].filename == "kpi-sales-hcm-2026-11.xlsx"
    assert "2026-11" in (docs[0].text or "")
    wb = load_workbook(io.BytesIO(docs[0].document))
    # Lan reads Vietnamese: the sheets and headers are Vietnamese.
    assert wb.sheetnames == ["Hoạt động", "Tổng hợp", "Chỉ tiêu"]
    entries = wb["Hoạt động"]
    assert entries.freeze_panes == "B2"
    head = [c.value for c in entries[1]]
    assert head[:5] == ["Ngày", "Nhân viên", "Chỉ số", "Giá trị", "Số tiền (VND)"]
    rows = _sheet_rows(entries)[1:]
    deals = [r for r in rows if r[2] == "hợp đồng"]
    assert {r[4] for r in deals} == {45_000_000, 30_000_000}
    minh_deal = next(r for r in deals if r[1] == "Minh Trần")
    assert minh_deal[5] == "Công ty An Phát" and minh_deal[6] == "có"
    # Real dates and numbers with their formats, not text.
    first = entries[2]
    assert isinstance(first[0].value, dt.datetime) and first[0].number_format == "DD/MM/YYYY"
    amount_cell = next(row[4] for row in entries.iter_rows(min_row=2) if row[4].value)
    assert isinstance(amount_cell.value, int) and amount_cell.number_format == VND_FORMAT
    assert entries.column_dimensions["B"].width >= len("Minh Trần")
    statuses = {r[8] for r in rows}
    assert statuses == {"được tính", "đã huỷ"}
    assert next(r for r in rows if r[8] == "đã huỷ")[11] == "Hoa Lê"  # who voided it

    # The summary agrees with /me and with the leaderboard.
    summary = wb["Tổng hợp"]
    assert summary.freeze_panes == "B2"
    heads = [c.value for c in summary[1]]
    rows_by_name = {r[0]: r for r in _sheet_rows(summary)[1:]}
    revenue_col = heads.index("Doanh số (thực hiện)")
    assert rows_by_name["Minh Trần"][revenue_col] == 45_000_000
    assert summary.cell(2, revenue_col + 1).number_format == VND_FORMAT
    attained = summary.cell(2, heads.index("Doanh số (% đạt)") + 1)
    assert attained.number_format == "0%"
    with db.transaction() as s:
        t = s.query(Team).one()
        board = team_board(
            s, t, periods.span_of("month", dt.date(2026, 11, 19), calendar_of(s, t)), clock.now
        )
        me = reports.me_report(
            s,
            person=PersonInfo(team.minh.id, "Minh", "Trần", "minh_tran", "vi"),
            chat=ChatInfo(team.minh_dm.id, "private"),
            admins=frozenset(),
            now=clock.now,
            period="month",
        )
    for row in board.rows:
        shown = rows_by_name[row.name]
        assert shown[1] == row.rank
        assert shown[2] == (None if row.score is None else round(row.score, 1))
    me_revenue = next(m.line for m in me.lines if m.line.key == "revenue")
    assert rows_by_name["Minh Trần"][revenue_col] == me_revenue.actual
    assert rows_by_name["Minh Trần"][revenue_col + 1] == me_revenue.target
    calls_col = heads.index("Cuộc gọi (thực hiện)")
    assert rows_by_name["Minh Trần"][calls_col] == 17
    # The targets in force.
    targets = _sheet_rows(wb["Chỉ tiêu"])
    assert targets[0] == ("KPI", "Nhân viên", "Kỳ", "Chỉ tiêu", "Áp dụng từ")
    assert ("Doanh số", "Mặc định mỗi người", "tháng", 200_000_000) in [r[:4] for r in targets]
    # No token in the file.
    assert talk.sandbox.token.encode() not in docs[0].document


async def test_an_english_leader_gets_english_names_and_the_group_gets_no_file(
    talk: Talk, team: Any, sandbox: Any
) -> None:
    await _log_month(talk, team)
    await talk.say(team.leader, team.leader_dm, "/language en")
    answers = await talk.say(team.leader, team.group, "/export month")
    assert [a.kind for a in answers] == ["document", "text"]
    doc, note = answers
    assert doc.chat_id == team.leader.id and note.chat_id == team.group.id
    assert "private chat" in (note.text or "")
    wb = load_workbook(io.BytesIO(doc.document))
    assert wb.sheetnames == ["Activities", "Summary", "Targets"]
    assert [c.value for c in wb["Activities"][1]][:3] == ["Date", "Member", "Metric"]
    assert not [m for m in sandbox.sent(team.group) if m.kind == "document"]


async def test_csv_opens_with_the_csv_module_and_keeps_vietnamese(talk: Talk, team: Any) -> None:
    await _log_month(talk, team)
    answers = await talk.say(team.leader, team.leader_dm, "/xuat tháng này csv")
    doc = next(a for a in answers if a.kind == "document")
    assert doc.filename.endswith(".csv")
    assert doc.document.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(doc.document.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ngày", "Nhân viên", "Chỉ số"]
    minh = next(r for r in rows if r[1] == "Minh Trần" and r[2] == "hợp đồng")
    assert minh[0] == "19/11/2026" and minh[4] == "45000000" and minh[5] == "Công ty An Phát"


async def test_only_leaders_export_and_a_bad_period_is_explained(talk: Talk, team: Any) -> None:
    assert "quản lý" in await talk.reply(team.minh, team.minh_dm, "/export")
    answer = await talk.reply(team.leader, team.leader_dm, "/export someday")
    assert "someday" in answer and "/xuat 2026-11" in answer


def test_export_periods(db: Any) -> None:
    from kpi.calendar import WorkCalendar

    cal = WorkCalendar()
    today = dt.date(2026, 11, 19)
    assert parse_span(None, today, cal) == periods.span_of("month", today, cal)
    assert parse_span("last-month", today, cal).key == "2026-10"  # type: ignore[union-attr]
    assert parse_span("tháng trước", today, cal).key == "2026-10"  # type: ignore[union-attr]
    assert parse_span("2026-09", today, cal).key == "2026-09"  # type: ignore[union-attr]
    rng = parse_span("01/11/2026..15/11/2026", today, cal)
    assert isinstance(rng, DateRange) and (rng.start, rng.end) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 15),
    )
    assert parse_span("15/11/2026..01/11/2026", today, cal) is None
    assert parse_span("someday", today, cal) is None


async def test_an_erased_member_keeps_numbers_but_not_name_or_notes(
    talk: Talk, team: Any, db: Any, clock: Any
) -> None:
    await _log_month(talk, team)
    with db.transaction() as s:
        minh = s.query(Member).filter_by(telegram_id=team.minh.id).one()
        minh.erased_at = clock.now
    with db.transaction() as s:
        t = s.query(Team).one()
        data = load_export(
            s, t, periods.span_of("month", dt.date(2026, 11, 19), calendar_of(s, t))
        )
    wb = load_workbook(io.BytesIO(build_xlsx(data, "en")))
    rows = _sheet_rows(wb["Activities"])[1:]
    assert not [r for r in rows if "Minh Trần" in str(r)]
    assert not any("An Phát" in str(v) for r in rows for v in r)
    assert sum(r[4] or 0 for r in rows if r[1] == "(erased)") == 45_000_000
    assert "Minh Trần" not in build_csv(data, "en").decode("utf-8-sig")


async def test_the_command_line_writes_a_team_export(
    talk: Talk, team: Any, db_url: str, tmp_path: Path
) -> None:
    await _log_month(talk, team)
    out = tmp_path / "nov.xlsx"
    env = {"DATABASE_URL": db_url}
    run = kpibot(
        ["export", "--team", "sales hcm", "--period", "2026-11", "-o", str(out)], tmp_path, env=env
    )
    assert run.returncode == 0, run.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["Hoạt động", "Tổng hợp", "Chỉ tiêu"]
    csv_run = kpibot(
        [
            "export",
            "--team",
            str(team.group.id),
            "--period",
            "2026-11",
            "--format",
            "csv",
            "--lang",
            "en",
            "-o",
            str(tmp_path / "n.csv"),
        ],
        tmp_path,
        env=env,
    )
    assert csv_run.returncode == 0, csv_run.stderr
    assert (tmp_path / "n.csv").read_text("utf-8-sig").startswith("Date,Member,Metric")
    unknown = kpibot(["export", "--team", "nobody"], tmp_path, env=env)
    assert unknown.returncode == 2 and "no team 'nobody'" in unknown.stderr


def _file_text(content: bytes) -> str:
    """Return everything a workbook (its unzipped parts) or a CSV file holds, as text."""
    if not content.startswith(b"PK"):
        return content.decode("utf-8-sig")
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


async def test_exports_from_the_chat_hold_no_token_and_nothing_of_an_erased_member(
    talk: Talk, team: Any, db: Any, clock: Any
) -> None:
    await _log_month(talk, team)
    with db.transaction() as s:
        minh = s.query(Member).filter_by(telegram_id=team.minh.id).one()
        minh.erased_at = clock.now
    files = {}
    for command in ("/export", "/export csv"):
        answers = await talk.say(team.leader, team.leader_dm, command)
        [doc] = [a for a in answers if a.kind == "document"]
        files[command] = doc.document
        text = _file_text(doc.document)
        for secret in (talk.sandbox.token, "Trần", "minh_tran", "An Phát", str(team.minh.id)):
            assert secret not in text, (command, secret)
        assert "(đã xoá)" in text and "Hoa Lê" in text
    # His numbers still count, under "(đã xoá)".
    wb = load_workbook(io.BytesIO(files["/export"]))
    rows = _sheet_rows(wb["Hoạt động"])[1:]
    assert sum(r[4] or 0 for r in rows if r[1] == "(đã xoá)") == 45_000_000
    assert sum(r[3] for r in rows if r[1] == "(đã xoá)" and r[2] == "cuộc gọi") == 17
