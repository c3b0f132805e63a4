"""What the parser returns: its results, its one error type and its limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "DEAL_METRIC",
    "LOST_METRIC",
    "MAX_AMOUNT",
    "MAX_COUNT",
    "MAX_CUSTOMER_CHARS",
    "MAX_NOTE_CHARS",
    "AmbiguousAmount",
    "Amount",
    "CountNote",
    "DealItem",
    "DealRequest",
    "FreeTextResult",
    "Item",
    "LogRequest",
    "LostRequest",
    "ParseError",
]

MAX_COUNT = 1_000_000
MAX_AMOUNT = 10**15
MAX_CUSTOMER_CHARS = 200
MAX_NOTE_CHARS = 500
DEAL_METRIC = "deals"
LOST_METRIC = "lost"


class ParseError(Exception):
    """Input that cannot be understood; `code` is a stable key, `params` fill the message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = dict(params)

    def __str__(self) -> str:
        """Show the code and params (for logs, never for users)."""
        return f"{self.code} {self.params}" if self.params else self.code


@dataclass(frozen=True, slots=True)
class Amount:
    """A whole, positive VND amount."""

    value: int


@dataclass(frozen=True, slots=True)
class AmbiguousAmount:
    """An amount with two whole-VND readings (smallest first); the user must pick one."""

    text: str
    candidates: tuple[int, int]


@dataclass(frozen=True, slots=True)
class LogRequest:
    """What a `/log` line asks to store: (metric, count) pairs in order of first mention."""

    items: tuple[tuple[str, int], ...]
    day: dt.date | None


@dataclass(frozen=True, slots=True)
class DealRequest:
    """What a `/deal` command asks to store."""

    count: int
    amount: Amount | AmbiguousAmount
    customer: str | None
    is_new: bool
    note: str | None
    day: dt.date | None


class CountNote(NamedTuple):
    """What `/call [n] [note]`-style commands ask to store (unpacks as count, note, day)."""

    # A tuple so callers can unpack it; the field deliberately shadows tuple.count.
    count: int  # type: ignore[assignment]
    note: str | None
    day: dt.date | None


@dataclass(frozen=True, slots=True)
class LostRequest:
    """What `/lost [customer] [note]` asks to store."""

    count: int
    customer: str | None
    note: str | None
    day: dt.date | None


@dataclass(frozen=True, slots=True)
class Item:
    """A counted metric understood in plain language."""

    metric: str
    count: int


@dataclass(frozen=True, slots=True)
class DealItem:
    """Deals understood in plain language; `amount` is None when the message gave none."""

    count: int
    amount: Amount | AmbiguousAmount | None
    is_new: bool


@dataclass(frozen=True, slots=True)
class FreeTextResult:
    """What a plain-language message logs, and the words that meant nothing to the parser."""

    items: tuple[Item, ...]
    deals: tuple[DealItem, ...]
    day: dt.date | None
    unknown: tuple[str, ...]
