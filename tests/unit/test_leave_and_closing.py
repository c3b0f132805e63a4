"""Leave days and closed months, pure: a leave's days as people write them, the share of a
period a member on leave is held to (the joiners' rule), and a leader's reason."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi import parsing, periods
from kpi.calendar import WorkCalendar, count_working_days
from kpi.closing import split_reason

TODAY = dt.date(2026, 11, 19)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("20/11..24/11", dt.date(2026, 11, 20), dt.date(2026, 11, 24)),
        ("hôm nay", TODAY, TODAY),
        ("ngày mai", dt.date(2026, 11, 20), dt.date(2026, 11, 20)),
        ("hôm qua..ngày mai", dt.date(2026, 11, 18), dt.date(2026, 11, 20)),
        ("05/01", dt.date(2027, 1, 5), dt.date(2027, 1, 5)),  # the nearest 5 January
        ("01/11", dt.date(2026, 11, 1), dt.date(2026, 11, 1)),
        ("01/12/2026..03/12/2026", dt.date(2026, 12, 1), dt.date(2026, 12, 3)),
        ("2026-12-24", dt.date(2026, 12, 24), dt.date(2026, 12, 24)),
    ],
)
def test_leave_days_are_read_like_every_other_date(
    text: str, first: dt.date, last: dt.date
) -> None:
    assert parsing.parse_day_range(text, TODAY) == (first, last)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("24/11..20/11", "date.range_order"),
        ("soon", "date.range"),
        ("20/11..", "date.range"),
        ("1/1..2/2..3/3", "date.range"),
        ("31/02", "date.invalid"),
        ("01/01/2026..01/06/2027", "date.range_long"),
    ],
)
def test_bad_leave_days_say_why(text: str, code: str) -> None:
    with pytest.raises(parsing.ParseError) as exc:
        parsing.parse_day_range(text, TODAY)
    assert exc.value.code == code


def test_days_away_count_like_days_before_joining() -> None:
    cal = WorkCalendar()
    month = periods.span_of("month", TODAY, cal)
    days = count_working_days(cal, month.start, month.end)
    away = [(dt.date(2026, 11, 2), dt.date(2026, 11, 4))]  # Monday to Wednesday
    assert periods.membership_share(cal, month, None, None, away) == pytest.approx(
        (days - 3) / days
    )
    # Away before joining or outside the month changes nothing; away all month, nothing is due.
    joined = dt.date(2026, 11, 16)
    assert periods.membership_share(cal, month, joined, None, away) == periods.membership_share(
        cal, month, joined, None
    )
    assert periods.membership_share(cal, month, None, None, [(month.start, month.end)]) == 0


@pytest.mark.parametrize(
    ("text", "rest", "reason"),
    [
        ("/void 123 lý do: gọi trùng", "/void 123", "gọi trùng"),
        ("/void 123 Lý do:  khách   hủy ", "/void 123", "khách hủy"),
        ("/edit 5 7 reason: typo", "/edit 5 7", "typo"),
        ("/call 3 30/11 ly do:quên ghi", "/call 3 30/11", "quên ghi"),
        ("/call 3 lý do khách bận", "/call 3 lý do khách bận", None),  # no colon: a note
        ("/void 123 reason:", "/void 123", None),
    ],
)
def test_a_reason_is_read_off_the_end(text: str, rest: str, reason: str | None) -> None:
    assert split_reason(text) == (rest, reason)
