"""Dates in what reps type: `hôm qua`, `yesterday`, `20/11`, `20/11/26`, `2026-11-20`.

Numeric dates are day first; without a year they mean the most recent such day. The words
(`hôm qua`, `ngày`, `on` ...) come from the language files (`kpi.parsing.vocabulary`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from kpi.parsing.results import ParseError
from kpi.parsing.text import core, normalize_text
from kpi.parsing.vocabulary import DAY_PHRASES, DAY_PREFIXES

__all__ = [
    "check_backdate",
    "days_ago",
    "match_day",
    "merge_day",
    "numeric_day",
    "parse_day",
    "parse_day_range",
]

_DMY = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})(?:\2([0-9]+))?")
_YMD = re.compile(r"([0-9]{4})([/.-])([0-9]{1,2})\2([0-9]{1,2})")


def days_ago(today: dt.date, days: int, text: str) -> dt.date:
    """Return the day `days` before today, refusing the future."""
    try:
        day = today - dt.timedelta(days=days)
    except OverflowError:
        raise ParseError("date.invalid", text=text.strip()) from None
    if day > today:
        raise ParseError("date.future", day=day)
    return day


def numeric_day(word: str, today: dt.date, original: str) -> dt.date | None:
    """Parse a day-first or ISO numeric date; None if the word is not shaped like one."""
    ymd = _YMD.fullmatch(word)
    if ymd:
        year, month, day = int(ymd.group(1)), int(ymd.group(3)), int(ymd.group(4))
    else:
        dmy = _DMY.fullmatch(word)
        if not dmy:
            return None
        day, month, year_text = int(dmy.group(1)), int(dmy.group(3)), dmy.group(4)
        if year_text is None:
            # "20.11" is as likely a decimal as a date; with a year it can only be a date.
            if dmy.group(2) == ".":
                return None
            return _recent_day(day, month, today, original)
        if len(year_text) not in (2, 4):
            raise ParseError("date.invalid", text=original)
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    try:
        result = dt.date(year, month, day)
    except ValueError:
        raise ParseError("date.invalid", text=original) from None
    if result > today:
        raise ParseError("date.future", day=result)
    return result


def _recent_day(day: int, month: int, today: dt.date, original: str) -> dt.date:
    """Return the most recent day/month not after today (29/02 needs this year or last leap)."""
    year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ParseError("date.invalid", text=original) from None


def check_backdate(day: dt.date, today: dt.date, window_days: int) -> None:
    """Refuse a day in the future or more than `window_days` before today."""
    if day > today:
        raise ParseError("date.future", day=day)
    if (today - day).days > window_days:
        raise ParseError("date.too_old", days=window_days)


def match_day(norms: Sequence[str], i: int, today: dt.date) -> tuple[dt.date, int] | None:
    """Match a date phrase starting at word `i`; return the day and the index after it."""
    n = len(norms)
    j = i
    while j < n and j - i < 2 and norms[j] in DAY_PREFIXES:
        j += 1
    for start in (j, i) if j > i else (i,):
        for size in (3, 2, 1):
            phrase = tuple(norms[start : start + size])
            if len(phrase) == size and phrase in DAY_PHRASES:
                return days_ago(today, DAY_PHRASES[phrase], " ".join(phrase)), start + size
        if start < n:
            day = numeric_day(norms[start], today, norms[start])
            if day is not None:
                return day, start + 1
    return None


def merge_day(current: dt.date | None, new: dt.date) -> dt.date:
    """Keep one date per message: the same one twice is fine, two different ones are not."""
    if current is not None and current != new:
        raise ParseError("date.multiple")
    return new


def parse_day(token_or_phrase: str, today: dt.date) -> dt.date | None:
    """Parse `hôm qua`, `yesterday`, `20/11`, `20/11/26` or `2026-11-20`; None if no date.

    A whole cell or phrase that is a date (the importer's date column); inside a command the
    parser finds dates among the words with `match_day`.
    """
    words = [w for w in (core(w) for w in normalize_text(token_or_phrase).split()) if w]
    while tuple(words) not in DAY_PHRASES and len(words) > 1 and words[0] in DAY_PREFIXES:
        words = words[1:]
    if tuple(words) in DAY_PHRASES:
        return days_ago(today, DAY_PHRASES[tuple(words)], token_or_phrase)
    if len(words) != 1:
        return None
    return numeric_day(words[0], today, token_or_phrase.strip())


# The longest leave one /leave sets: a year (a longer one is a typo in the year).
MAX_RANGE_DAYS = 366


def parse_day_range(text: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Parse `FROM..TO` or one day, in the future or the past (a leave): `20/12..24/12`.

    The day forms are those of `parse_day` plus the future (`ngày mai`, `tomorrow`); a day
    without a year is the one nearest to today (`05/01` in December is next January).
    """
    parts = text.split("..")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise ParseError("date.range", text=text.strip())
    first = _any_day(parts[0], today)
    last = _any_day(parts[-1], today)
    if last < first:
        raise ParseError("date.range_order", text=text.strip())
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ParseError("date.range_long", days=MAX_RANGE_DAYS)
    return first, last


def _any_day(text: str, today: dt.date) -> dt.date:
    words = [w for w in (core(w) for w in normalize_text(text).split()) if w]
    while tuple(words) not in DAY_PHRASES and len(words) > 1 and words[0] in DAY_PREFIXES:
        words = words[1:]
    if tuple(words) in DAY_PHRASES:
        return today - dt.timedelta(days=DAY_PHRASES[tuple(words)])
    if len(words) != 1:
        raise ParseError("date.range", text=text.strip())
    word = words[0]
    if _YMD.fullmatch(word) is None:
        dmy = _DMY.fullmatch(word)
        if dmy is None:
            raise ParseError("date.range", text=text.strip())
        if dmy.group(4) is None:
            day, month = int(dmy.group(1)), int(dmy.group(3))
            found = []
            for year in (today.year - 1, today.year, today.year + 1):
                try:
                    found.append(dt.date(year, month, day))
                except ValueError:
                    continue
            if not found:
                raise ParseError("date.invalid", text=text.strip())
            return min(found, key=lambda d: abs((d - today).days))
    # A full date: as written, future allowed (numeric_day refuses only the future).
    day_ = numeric_day(word, dt.date.max, text.strip())
    if day_ is None:
        raise ParseError("date.range", text=text.strip())
    return day_
