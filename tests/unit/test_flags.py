"""The anti-gaming rules (kpi.flags): outliers, duplicate deals, bulk backfills."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi import flags
from kpi.flags import DealKey, Logged

DAY = dt.date(2026, 11, 19)
AT = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)


# --- outliers --------------------------------------------------------------------------------


def test_percentile_is_the_nearest_rank() -> None:
    assert flags.percentile([4, 1, 3, 2], 0.5) == 2
    assert flags.percentile([5], 0.99) == 5
    assert flags.percentile([10] * 99 + [100], 0.99) == 10
    assert flags.percentile([10] * 50 + [100], 0.99) == 100
    with pytest.raises(ValueError):
        flags.percentile([], 0.5)


@pytest.mark.parametrize(
    ("value", "history", "days", "outlier"),
    [
        (80, [10] * 12, 12, True),  # far above a steady rep
        (50, [10] * 12, 12, True),  # exactly 5x the median
        (49, [10] * 12, 12, False),  # above the 99th percentile, but under 5x the median
        (80, [10] * 12, 9, False),  # nine working days: too little history
        (80, [10] * 12, 10, True),  # ten: enough
        (80, [], 10, False),
        (100, [10] * 50 + [100] * 2, 20, False),  # not above their own 99th percentile
        (10, [1, 1, 1, 1, 1, 1, 1, 1, 1, 2], 10, True),
    ],
)
def test_an_outlier_is_above_the_99th_percentile_and_5x_the_median(
    value: float, history: list[float], days: int, outlier: bool
) -> None:
    assert flags.is_outlier(value, history, days) is outlier


@given(
    history=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=60),
    days=st.integers(min_value=10, max_value=60),
)
def test_nothing_within_a_reps_own_range_is_an_outlier(history: list[int], days: int) -> None:
    assert not flags.is_outlier(max(history), [float(h) for h in history], days)


# --- duplicates ------------------------------------------------------------------------------


def test_a_duplicate_has_the_same_customer_and_amount_within_the_days() -> None:
    new = DealKey(9, "Công ty  An Phát", 45_000_000, DAY)
    same = DealKey(3, "công ty an phát", 45_000_000, DAY - dt.timedelta(days=3))
    assert flags.duplicate_of(new, [same], days=3) == same
    assert flags.duplicate_of(new, [same], days=2) is None  # older than the window
    later = DealKey(4, "An Phát", 45_000_000, DAY + dt.timedelta(days=1))
    assert flags.duplicate_of(DealKey(9, "An Phát", 45_000_000, DAY), [later], days=1) == later


@pytest.mark.parametrize(
    "other",
    [
        DealKey(3, "An Phát", 46_000_000, DAY),  # another amount
        DealKey(3, "Bình Minh", 45_000_000, DAY),  # another customer
        DealKey(3, None, 45_000_000, DAY),  # no customer to compare
        DealKey(9, "An Phát", 45_000_000, DAY),  # the deal itself
    ],
)
def test_a_different_deal_is_no_duplicate(other: DealKey) -> None:
    assert flags.duplicate_of(DealKey(9, "An Phát", 45_000_000, DAY), [other], days=7) is None


def test_a_deal_without_customer_or_amount_is_never_a_duplicate() -> None:
    other = DealKey(3, "An Phát", 45_000_000, DAY)
    assert flags.duplicate_of(DealKey(9, None, 45_000_000, DAY), [other], days=7) is None
    assert flags.duplicate_of(DealKey(9, "An Phát", None, DAY), [other], days=7) is None


# --- bulk backfills --------------------------------------------------------------------------


FIVE_MINUTES = dt.timedelta(minutes=5)


def logged(n: int, *, back: int = 3, every: dt.timedelta = FIVE_MINUTES) -> list[Logged]:
    return [Logged(1, AT + i * every, DAY, DAY - dt.timedelta(days=back)) for i in range(n)]


def test_ten_entries_backdated_two_days_within_an_hour_are_a_bulk_backfill() -> None:
    [burst] = flags.bulk_backfills(logged(10, back=2, every=dt.timedelta(minutes=6)))
    assert (burst.member_id, burst.count, burst.start) == (1, 10, AT)


@pytest.mark.parametrize(
    "entries",
    [
        logged(9),  # nine are not a bulk
        logged(10, back=1),  # yesterday is an ordinary catch-up
        logged(10, every=dt.timedelta(minutes=7)),  # spread over more than an hour
    ],
)
def test_what_is_not_a_bulk_backfill(entries: list[Logged]) -> None:
    assert flags.bulk_backfills(entries) == []


def test_bursts_are_counted_per_member_and_once() -> None:
    mine = logged(25, every=dt.timedelta(minutes=1))
    theirs = [Logged(2, e.logged_at, e.logged_on, e.day) for e in logged(10)]
    found = flags.bulk_backfills(mine + theirs)
    assert [(b.member_id, b.count) for b in found] == [(1, 25), (2, 10)]


def test_flags_are_kept_once_in_the_column() -> None:
    assert flags.add_flag(None, "outlier") == "outlier"
    assert flags.add_flag("imported", "duplicate") == "imported,duplicate"
    assert flags.add_flag("outlier", "outlier") == "outlier"
    assert flags.has_flag("imported,duplicate", "duplicate")
    assert not flags.has_flag(None, "duplicate")
