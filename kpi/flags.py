"""Anti-gaming flags, decided once (pure): an outlier, a duplicate deal, a bulk backfill.

A flag never blocks the rep: it asks a leader to look (and offers a one-tap void). The rules:

- an **outlier** is a deal (its amount) or a count (its value) above the rep's own 99th
  percentile and at least 5x their median, once they have 10 working days of history;
- a **duplicate** deal has the same customer and amount as another deal of the team within
  `duplicate_deal_days`;
- a **bulk backfill** is 10 or more entries backdated by 2 or more days logged within an hour.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Flag = Literal["outlier", "duplicate", "backfill"]
OUTLIER: Flag = "outlier"
DUPLICATE: Flag = "duplicate"
BACKFILL: Flag = "backfill"

OUTLIER_PERCENTILE = 0.99
OUTLIER_TIMES_MEDIAN = 5
OUTLIER_MIN_DAYS = 10  # working days with history before anything is called an outlier

BACKFILL_COUNT = 10
BACKFILL_DAYS = 2
BACKFILL_WINDOW = dt.timedelta(hours=1)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-quantile of the values by nearest rank (always one of the values).

    Nearest rank, not interpolation: with fewer than 100 values the 99th percentile is the
    rep's own best, so only a value beyond everything they logged before can be an outlier.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def is_outlier(value: float, history: Sequence[float], history_days: int) -> bool:
    """Tell whether a value stands out against the rep's own history (see the module rules).

    `history` is the rep's earlier values of the same metric (entry by entry), `history_days`
    the number of working days they come from.
    """
    if history_days < OUTLIER_MIN_DAYS or not history:
        return False
    median = percentile(history, 0.5)
    return value > percentile(history, OUTLIER_PERCENTILE) and value >= (
        OUTLIER_TIMES_MEDIAN * median
    )


@dataclass(frozen=True)
class DealKey:
    """What makes two deals the same: customer and amount, and the day each counts for."""

    entry_id: int
    customer: str | None
    amount: int | None
    day: dt.date


def same_customer(a: str | None, b: str | None) -> bool:
    """Tell whether two customer names are the same (case and spacing aside)."""
    if not a or not b:
        return False
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def duplicate_of(deal: DealKey, others: Sequence[DealKey], days: int) -> DealKey | None:
    """Return an earlier deal with the same customer and amount within `days` days, if any."""
    if deal.amount is None or not deal.customer:
        return None
    for other in others:
        if (
            other.entry_id != deal.entry_id
            and other.amount == deal.amount
            and same_customer(other.customer, deal.customer)
            and abs((other.day - deal.day).days) <= days
        ):
            return other
    return None


@dataclass(frozen=True)
class Logged:
    """When an entry was logged (UTC), the local day it was logged on, the day it counts for."""

    member_id: int
    logged_at: dt.datetime
    logged_on: dt.date
    day: dt.date

    @property
    def backdated_days(self) -> int:
        """Return how many days before the day it was logged the entry counts."""
        return (self.logged_on - self.day).days


@dataclass(frozen=True)
class Backfill:
    """A burst of backdated entries by one member: how many, starting when."""

    member_id: int
    count: int
    start: dt.datetime


def bulk_backfills(entries: Sequence[Logged]) -> list[Backfill]:
    """Return each member's bursts of 10 or more entries backdated by 2+ days within an hour.

    A burst is the longest run starting at its first entry; the next burst starts after it.
    """
    by_member: dict[int, list[dt.datetime]] = {}
    for e in entries:
        if e.backdated_days >= BACKFILL_DAYS:
            by_member.setdefault(e.member_id, []).append(e.logged_at)
    out: list[Backfill] = []
    for member_id, times in sorted(by_member.items()):
        times.sort()
        i = 0
        while i < len(times):
            j = i
            while j + 1 < len(times) and times[j + 1] - times[i] <= BACKFILL_WINDOW:
                j += 1
            if j - i + 1 >= BACKFILL_COUNT:
                out.append(Backfill(member_id, j - i + 1, times[i]))
                i = j + 1
            else:
                i += 1
    return out


def add_flag(flags: str | None, flag: str) -> str:
    """Return a comma-separated flags column with one more flag (kept once)."""
    have = [f for f in (flags or "").split(",") if f]
    if flag not in have:
        have.append(flag)
    return ",".join(have)


def has_flag(flags: str | None, flag: str) -> bool:
    """Tell whether a flags column carries a flag."""
    return flag in (flags or "").split(",")
