"""Turn a spreadsheet's data rows into entries: dates, people, counts and amounts (pure).

Amounts are read by the check-in parser (`45tr`, `1,5 tỷ`, `50.000.000`) and dates day first;
a `mm/yyyy` date is a month's totals. Nothing here touches the database: people are matched
and rows stored by `kpi.exports.importing`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kpi import parsing
from kpi.catalog import DEALS
from kpi.exports.columns import fold, status_index
from kpi.exports.reading import CellValue
from kpi.store import EntryInput

_MONTH = re.compile(r"\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*")
_ISO_MONTH = re.compile(r"\s*(\d{4})-(\d{1,2})\s*")
_TOTAL_WORDS = frozenset({"tong", "tong cong", "cong", "total", "totals", "sum", "grand total"})
_YES = frozenset({"x", "1", "co", "yes", "y", "true", "moi", "new", "v"})


class RowError(Exception):
    """A row that cannot be imported; `code` names the reason, `detail` quotes the cell."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ParsedRow:
    """One data row read: who, which day (or month), what they did."""

    row: int
    person: str  # as written: `@username` or a name
    day: dt.date  # the day, or the first day of the month for monthly totals
    monthly: bool
    entries: tuple[EntryInput, ...]
    skipped: str | None = None  # why the row is left out on purpose (a total line, not counted)
    entry_id: int | None = None  # the entry an exported row came from


def _text(cell: CellValue | None) -> str:
    if cell is None or cell.value is None:
        return ""
    value = cell.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_day(cell: CellValue | None, today: dt.date) -> tuple[dt.date, bool]:
    """Read a date cell: a day (`dd/mm/yyyy`, a real date) or a month (`mm/yyyy`)."""
    if cell is None or cell.value is None or _text(cell) == "":
        raise RowError("date.missing")
    value = cell.value
    if isinstance(value, dt.datetime | dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        if cell.month_only:
            return day.replace(day=1), True
        return _not_future(day, today), False
    text = _text(cell)
    m = _MONTH.fullmatch(text) or _ISO_MONTH.fullmatch(text)
    if m is not None:
        month, year = (int(m[1]), int(m[2])) if m.re is _MONTH else (int(m[2]), int(m[1]))
        try:
            first = dt.date(year, month, 1)
        except ValueError:
            raise RowError("date.invalid", text) from None
        if first > today:
            raise RowError("date.future", text)
        return first, True
    try:
        parsed = parsing.parse_day(text, today)
    except parsing.ParseError as exc:
        raise RowError(
            "date.future" if exc.code == "date.future" else "date.invalid", text
        ) from None
    if parsed is None:
        raise RowError("date.invalid", text)
    return parsed, False


def _not_future(day: dt.date, today: dt.date) -> dt.date:
    if day > today:
        raise RowError("date.future", day.strftime("%d/%m/%Y"))
    return day


def read_count(cell: CellValue | None) -> int:
    """Read a count: a whole number in digits (0 or empty for none)."""
    if cell is None or cell.value is None or _text(cell) == "":
        return 0
    value = cell.value
    if isinstance(value, bool):
        raise RowError("count.invalid", str(value))
    if isinstance(value, int | float):
        if value < 0 or not float(value).is_integer():
            raise RowError("count.invalid", _text(cell))
        if value > parsing.MAX_COUNT:
            raise RowError("count.too_large", _text(cell))
        return int(value)
    text = _text(cell)
    if text in ("0", "-", "—"):
        return 0
    try:
        return parsing.parse_count(text)
    except parsing.ParseError as exc:
        raise RowError(exc.code, text) from None


def read_amount(cell: CellValue | None) -> int:
    """Read an amount as people type it (`45tr`, `1,5 tỷ`, `45000000`; 0 or empty for none)."""
    if cell is None or cell.value is None or _text(cell) == "":
        return 0
    value = cell.value
    if isinstance(value, bool):
        raise RowError("amount.invalid", str(value))
    if isinstance(value, int | float):
        if value < 0 or not float(value).is_integer():
            raise RowError("amount.invalid", _text(cell))
        if value > parsing.MAX_AMOUNT:
            raise RowError("amount.too_large", _text(cell))
        return int(value)
    text = _text(cell)
    if text in ("0", "-", "—"):
        return 0
    try:
        amount = parsing.parse_amount(text)
    except parsing.ParseError as exc:
        raise RowError(exc.code, text) from None
    if isinstance(amount, parsing.AmbiguousAmount):
        raise RowError("amount.ambiguous", text)
    return amount.value


@dataclass(frozen=True)
class Layout:
    """Which column is which: roles by column index, and the metric words of the team."""

    columns: Mapping[int, str]
    metric_words: Mapping[str, str]

    def cell(self, cells: Sequence[CellValue], role: str) -> CellValue | None:
        """Return the row's cell of a role, if the file has that column."""
        for j, r in self.columns.items():
            if r == role:
                return cells[j] if j < len(cells) else None
        return None

    @property
    def per_activity(self) -> bool:
        """Tell whether rows are single entries (a metric column) rather than a day's figures."""
        return "metric" in self.columns.values()


def parse_row(
    number: int, cells: Sequence[CellValue], layout: Layout, today: dt.date
) -> ParsedRow:
    """Read one data row; raise `RowError` for a row that cannot be imported."""
    person = _text(layout.cell(cells, "member"))
    if fold(person) in _TOTAL_WORDS or (not person and _looks_total(cells)):
        return ParsedRow(number, person, today, False, (), skipped="total")
    status = layout.cell(cells, "status")
    if status is not None and _text(status):
        known = status_index().get(fold(_text(status)))
        if known is not None and known != "active":
            return ParsedRow(number, person, today, False, (), skipped="not_counted")
    if not person:
        raise RowError("member.missing")
    day, monthly = read_day(layout.cell(cells, "date"), today)
    entries = _activity(cells, layout) if layout.per_activity else _figures(cells, layout)
    if not entries:
        raise RowError("row.empty")
    entry = _text(layout.cell(cells, "entry_id"))
    entry_id = int(entry) if entry.isdigit() and len(entry) < 19 else None
    return ParsedRow(number, person, day, monthly, tuple(entries), entry_id=entry_id)


def _looks_total(cells: Sequence[CellValue]) -> bool:
    return any(fold(_text(c)) in _TOTAL_WORDS for c in cells[:3])


def _figures(cells: Sequence[CellValue], layout: Layout) -> list[EntryInput]:
    """One row per person and day or month: one entry per metric column with a figure."""
    out: list[EntryInput] = []
    deals_cell = layout.cell(cells, f"metric:{DEALS}")
    revenue = read_amount(layout.cell(cells, "revenue"))
    for j, role in sorted(layout.columns.items()):
        if not role.startswith("metric:") or role == f"metric:{DEALS}":
            continue
        count = read_count(cells[j] if j < len(cells) else None)
        if count:
            out.append(EntryInput(role.removeprefix("metric:"), count))
    deals = read_count(deals_cell)
    if revenue and deals_cell is not None and _text(deals_cell) != "" and deals == 0:
        raise RowError("deals.revenue_without_deals", str(revenue))
    if deals or revenue:
        # Without a deals column each row with revenue is one deal (as in a per-deal list).
        out.append(EntryInput(DEALS, deals or 1, revenue or None))
    return out


def _activity(cells: Sequence[CellValue], layout: Layout) -> list[EntryInput]:
    """One row per entry: the metric, its count and (for a deal) its amount and customer."""
    word = _text(layout.cell(cells, "metric"))
    if not word:
        raise RowError("metric.missing")
    folded = fold(word)
    metric = layout.metric_words.get(folded)
    is_revenue = folded in ("doanh so", "doanh thu", "revenue")
    if metric is None and not is_revenue:
        raise RowError("metric.unknown", word)
    amount = read_amount(layout.cell(cells, "amount"))
    value_cell = layout.cell(cells, "value")
    if is_revenue:
        amount = amount or read_amount(value_cell)
        count = 1
        metric = DEALS
    else:
        count = read_count(value_cell) if value_cell is not None and _text(value_cell) else 1
    assert metric is not None
    if metric != DEALS:
        amount = 0
    if count == 0 and not amount:
        return []
    new = fold(_text(layout.cell(cells, "new_customer"))) in _YES
    customer = _text(layout.cell(cells, "customer"))[: parsing.MAX_CUSTOMER_CHARS] or None
    note = _text(layout.cell(cells, "note"))[: parsing.MAX_NOTE_CHARS] or None
    return [EntryInput(metric, count, amount or None, customer, new, note)]


def row_keys(rows: Sequence[ParsedRow], person_keys: Sequence[str]) -> list[str]:
    """Key each row by its normalised content and its occurrence among identical rows."""
    seen: Counter[str] = Counter()
    out = []
    for row, who in zip(rows, person_keys, strict=True):
        content = json.dumps(
            [
                who,
                row.day.isoformat(),
                row.monthly,
                sorted(
                    [e.metric, e.value, e.amount, e.customer, e.is_new_customer, e.note]
                    for e in row.entries
                ),
            ],
            ensure_ascii=False,
            default=str,
        )
        seen[content] += 1
        out.append(hashlib.sha256(f"{content}#{seen[content]}".encode()).hexdigest())
    return out
