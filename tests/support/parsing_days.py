"""A date reader that only the tests call: a date among tokens.

The product reads dates inside commands (`kpi.parsing.dates.match_day`); these compose the same
rules so the tests can pin the date grammar on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kpi.parsing.dates import match_day, merge_day, parse_day
from kpi.parsing.text import core

__all__ = ["extract_day", "parse_day"]


def extract_day(tokens: Sequence[str], today: dt.date) -> tuple[dt.date | None, list[str]]:
    """Find a date phrase anywhere among the tokens; return it and the other tokens."""
    norms = [core(t) for t in tokens]
    day: dt.date | None = None
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        match = match_day(norms, i, today)
        if match is None:
            rest.append(tokens[i])
            i += 1
            continue
        day = merge_day(day, match[0])
        i = match[1]
    return day, rest
