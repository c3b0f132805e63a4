"""Read a spreadsheet (XLSX or CSV) into rows of cells and find its header row.

A leader's file often has a title above the header (merged cells), totals below the data and
columns of its own: the header is the first of the top rows that names a person, a date and
what was done; the other columns are ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from kpi.exports.columns import fold

MAX_ROWS = 100_000
_HEADER_SEARCH = 20


class ImportFileError(Exception):
    """The file cannot be read as a spreadsheet; `code` says why."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class CellValue:
    """A cell as read: its value and whether the spreadsheet shows it as a month (mm/yyyy)."""

    value: Any
    month_only: bool = False


Row = tuple[int, tuple[CellValue, ...]]  # the row's number in the file (1-based), its cells


def read_rows(content: bytes, filename: str) -> list[Row]:
    """Read the first sheet (XLSX) or the table (CSV) as numbered rows of cells."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(content)
    if suffix in (".csv", ".txt"):
        return _csv_rows(content)
    raise ImportFileError("file.type", suffix or filename)


def _xlsx_rows(content: bytes) -> list[Row]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise ImportFileError("file.unreadable", type(exc).__name__) from None
    try:
        sheets = list(wb.worksheets)
        if not sheets:
            raise ImportFileError("file.empty")
        out: list[Row] = []
        for number, row in enumerate(sheets[0].iter_rows(), start=1):
            if number > MAX_ROWS:
                raise ImportFileError("file.too_many_rows", str(MAX_ROWS))
            cells = tuple(_xlsx_cell(c) for c in row)
            out.append((number, cells))
        return out
    finally:
        wb.close()


def _xlsx_cell(cell: Any) -> CellValue:
    value = getattr(cell, "value", None)
    fmt = str(getattr(cell, "number_format", "") or "").lower()
    # A date cell formatted without a day (mm/yyyy) holds a month's totals.
    month_only = isinstance(value, dt.datetime | dt.date) and "d" not in fmt and "m" in fmt
    return CellValue(value, month_only)


def _csv_rows(content: bytes) -> list[Row]:
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1258 decodes almost anything
        raise ImportFileError("file.encoding")
    if "\x00" in text:
        raise ImportFileError("file.unreadable", "binary")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    out: list[Row] = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
            if number > MAX_ROWS:
                raise ImportFileError("file.too_many_rows", str(MAX_ROWS))
            out.append((number, tuple(CellValue(_unquote(v)) for v in row)))
    except csv.Error as exc:
        raise ImportFileError("file.unreadable", str(exc)) from None
    return out


def _unquote(value: str) -> str:
    """Undo the quote an export puts before text that Excel would run as a formula."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        return value[1:]
    return value


def find_header(rows: list[Row], roles: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    """Return the index of the header row and its column roles, or None if there is none."""
    for i, (_, cells) in enumerate(rows[:_HEADER_SEARCH]):
        columns: dict[int, str] = {}
        for j, cell in enumerate(cells):
            if cell.value is None or isinstance(cell.value, int | float | dt.date):
                continue
            role = roles.get(fold(cell.value))
            if role is not None and role not in columns.values():
                columns[j] = role
        found = set(columns.values())
        has_figures = "metric" in found or any(r.startswith("metric:") for r in found)
        if {"member", "date"} <= found and (has_figures or "revenue" in found):
            return i, columns
    return None
