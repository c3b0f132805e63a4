"""Counts: how many calls, meetings or deals a rep typed, and what is no count at all."""

from __future__ import annotations

import re

from kpi.parsing.results import MAX_COUNT, ParseError
from kpi.parsing.text import core

__all__ = ["COUNT_LIKE", "PLAIN_INT", "botched_count", "parse_count"]
COUNT_LIKE = re.compile(r"[+\-−]?[0-9]+(?:[.,][0-9]+)*")
PLAIN_INT = re.compile(r"[0-9]+")


def parse_count(token: str) -> int:
    """Parse a positive whole count such as `12`."""
    text = core(token)
    body = text[1:] if text.startswith("+") else text
    if not PLAIN_INT.fullmatch(body):
        raise ParseError("count.invalid", value=token.strip())
    digits = body.lstrip("0")
    if not digits:
        raise ParseError("count.invalid", value=token.strip())
    if len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
        raise ParseError("count.too_large", value=token.strip(), max=MAX_COUNT)
    return int(digits)


# A time of day starts many a note ("14:30 gọi lại", "9h sáng", "8h-9h"): not a botched count.
_TIME = r"[0-9]{1,2}(?::[0-9]{2}|[hg](?:[0-9]{2})?)?(?:am|pm)?"
_TIME_OF_DAY = re.compile(rf"{_TIME}(?:[-–]{_TIME})?")
_NUMBER_WORDS = frozenset({"nan", "inf", "infinity"})


def botched_count(raw: str, norm: str, alone: bool) -> bool:
    """Tell whether a word where a count goes is a botched number rather than a note's start.

    A word that starts with a digit of any script (``12O``, ``1e3``, ``0x10``, ``5-``, ``½``,
    ``٣``) is one, unless it is a time of day; so is ``NaN`` or ``inf`` typed alone (compared as
    typed: "nản" is Vietnamese).
    """
    body = norm.lstrip("+-−")
    if body[:1].isnumeric():
        return _TIME_OF_DAY.fullmatch(body) is None
    return alone and raw.lower().strip("+-−") in _NUMBER_WORDS
