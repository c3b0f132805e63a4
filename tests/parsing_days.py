"""Date readers that only the tests call: a whole phrase, or a date among tokens.

The product reads dates inside commands (`kpi.parsing.dates.match_day`); these compose the same
rules so the tests can pin the date grammar on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kpi.parsing.dates import days_ago, match_day, merge_day, numeric_day
from kpi.parsing.text import core, normalize_text
from kpi.parsing.vocabulary import DAY_PHRASES, DAY_PREFIXES


def parse_day(token_or_phrase: str, today: dt.date) -> dt.date | None:
    """Parse `hôm qua`, `yesterday`, `20/11`, `20/11/26` or `2026-11-20`; None if no date."""
    words = [w for w in (core(w) for w in normalize_text(token_or_phrase).split()) if w]
    while tuple(words) not in DAY_PHRASES and len(words) > 1 and words[0] in DAY_PREFIXES:
        words = words[1:]
    if tuple(words) in DAY_PHRASES:
        return days_ago(today, DAY_PHRASES[tuple(words)], token_or_phrase)
    if len(words) != 1:
        return None
    return numeric_day(words[0], today, token_or_phrase.strip())


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
