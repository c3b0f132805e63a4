"""Build the export files: an XLSX workbook (openpyxl) or a CSV file of the entries.

The workbook holds real numbers and dates with Excel formats (VND, percentages, day-first
dates), frozen header rows, fitted column widths and names in the reader's language. Pure:
`ExportData` in, bytes out, so it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from kpi.exports.columns import (
    ACTIVITY_COLUMNS,
    PERIOD_NAMES,
    SHEETS,
    SOURCES,
    STATUSES,
    header,
    word,
)
from kpi.exports.data import EntryRow, ExportData
from kpi.names import name_in

DATE_FORMAT = "DD/MM/YYYY"
VND_FORMAT = '#,##0 "₫"'
COUNT_FORMAT = "#,##0"
FRACTION_FORMAT = "#,##0.0"
PERCENT_FORMAT = "0%"
RATIO_FORMAT = "0.0%"
SCORE_FORMAT = "0.0"
_MAX_WIDTH = 50
# Text a spreadsheet would run as a formula (CSV injection): written so that it stays text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = tuple[Any, str | None]  # a value and its number format


def file_name(data: ExportData, extension: str) -> str:
    """Return a file name such as `kpi-Sales-HCM-2026-11.xlsx` (ASCII, no spaces)."""
    from kpi.exports.columns import fold

    title = "-".join(fold(data.team_title).split()) or "team"
    safe = "".join(ch for ch in title if ch.isalnum() or ch in "-_")[:40] or "team"
    return f"kpi-{safe}-{data.span.key.replace('..', '_')}.{extension}"


# --- the rows of each sheet --------------------------------------------------------------------


def person(data: ExportData, member_id: int | None, lang: str) -> str | None:
    """Return a person's name in an export (a label for the erased, None for nobody)."""
    if member_id is None:
        return None
    if member_id not in data.people:
        return f"#{member_id}"
    return data.people[member_id] or header("erased", lang)


def _metric(data: ExportData, key: str, lang: str) -> str:
    return name_in(data.metrics.get(key, {}), lang) or key


def _entry_cells(data: ExportData, e: EntryRow, lang: str) -> list[Cell]:
    return [
        (e.day, DATE_FORMAT),
        (person(data, e.member_id, lang), None),
        (_metric(data, e.metric, lang), None),
        (e.value, COUNT_FORMAT),
        (e.amount, VND_FORMAT),
        (e.customer, None),
        (("có" if lang != "en" else "yes") if e.new_customer else None, None),
        (e.note, None),
        (word(STATUSES, e.status, lang) if e.status in STATUSES else e.status, None),
        (word(SOURCES, e.source, lang), None),
        (person(data, e.logged_by, lang), None),
        (person(data, e.changed_by, lang), None),
        (e.entry_id, "0"),
    ]


def _unit_format(unit: str, *, target: bool = False) -> str:
    if unit == "vnd":
        return VND_FORMAT
    if unit == "ratio":
        return RATIO_FORMAT
    # A count's target prorated over part of a period is fractional (0.9 deals).
    return FRACTION_FORMAT if target else COUNT_FORMAT


def _summary_sheet(data: ExportData, lang: str) -> tuple[list[str], list[list[Cell]]]:
    heads = [header("member", lang), header("rank", lang), header("score", lang)]
    for k in data.kpis:
        name = name_in(k.names, lang)
        heads += [
            f"{name} ({header('actual_suffix', lang)})",
            f"{name} ({header('target_suffix', lang)})",
            f"{name} ({header('attainment_suffix', lang)})",
        ]
    rows = []
    for r in data.summary:
        row: list[Cell] = [
            (person(data, r.member_id, lang), None),
            (r.rank, "0"),
            (_round(r.score, 1), SCORE_FORMAT),
        ]
        for k, c in zip(data.kpis, r.cells, strict=True):
            row += [
                (c.actual, _unit_format(k.unit)),
                (c.target, _unit_format(k.unit, target=True)),
                (c.attainment, PERCENT_FORMAT),
            ]
        rows.append(row)
    return heads, rows


def _targets_sheet(data: ExportData, lang: str) -> tuple[list[str], list[list[Cell]]]:
    heads = [
        header("kpi", lang),
        header("member", lang),
        header("period", lang),
        header("target", lang),
        header("from", lang),
    ]
    rows = [
        [
            (name_in(t.kpi, lang), None),
            (person(data, t.member_id, lang) or header("everyone", lang), None),
            (word(PERIOD_NAMES, t.period, lang) if t.period in PERIOD_NAMES else t.period, None),
            (t.value, _unit_format(t.unit, target=True)),
            (t.effective_from, DATE_FORMAT),
        ]
        for t in data.targets
    ]
    return heads, rows


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --- XLSX --------------------------------------------------------------------------------------


def build_xlsx(data: ExportData, lang: str) -> bytes:
    """Build the workbook in a language: the entries, the per-member summary, the targets."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    # Write-only: rows stream to the file instead of living as cell objects (a busy team's
    # year is hundreds of thousands of cells).
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    entry_heads = [header(c, lang) for c in ACTIVITY_COLUMNS]
    sheets: list[tuple[str, list[str], Iterable[list[Cell]], int]] = [
        (
            word(SHEETS, "activities", lang),
            entry_heads,
            (_entry_cells(data, e, lang) for e in data.entries),
            1,
        ),
        (word(SHEETS, "summary", lang), *_summary_sheet(data, lang), 1),
        (word(SHEETS, "targets", lang), *_targets_sheet(data, lang), 0),
    ]
    for title, heads, rows, frozen_cols in sheets:
        ws = wb.create_sheet(title[:31])
        rows = list(rows)
        # Widths and panes must be set before the first row of a write-only sheet.
        for i, width in enumerate(_widths(heads, rows), start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = f"{get_column_letter(frozen_cols + 1)}2"
        head_cells = []
        for h in heads:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            head_cells.append(cell)
        ws.append(head_cells)
        for row in rows:
            ws.append([_xlsx_cell(ws, value, fmt, WriteOnlyCell) for value, fmt in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_cell(ws: Any, value: Any, fmt: str | None, factory: Any) -> Any:
    cell = factory(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text people typed, never a formula
    elif fmt is not None and value is not None:
        cell.number_format = fmt
    return cell


def _widths(heads: Sequence[str], rows: Iterable[Sequence[Cell]]) -> list[int]:
    widths = [len(h) + 2 for h in heads]
    for row in rows:
        for i, (value, fmt) in enumerate(row):
            widths[i] = max(widths[i], _shown_length(value, fmt) + 2)
    return [min(w, _MAX_WIDTH) for w in widths]


def _shown_length(value: Any, fmt: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float | int) and not isinstance(value, bool):
        digits = len(f"{abs(value):,.0f}")
        return digits + (3 if fmt == VND_FORMAT else 2)
    return len(str(value))


# --- CSV ---------------------------------------------------------------------------------------


def build_csv(data: ExportData, lang: str) -> bytes:
    """Build a CSV file of the entries: UTF-8 with a BOM (Excel then reads Vietnamese right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(c, lang) for c in ACTIVITY_COLUMNS])
    for e in data.entries:
        writer.writerow([_csv_value(v) for v, _ in _entry_cells(data, e, lang)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        # OWASP's advice against CSV injection: a leading quote keeps it text in Excel.
        return "'" + value
    return str(value)
