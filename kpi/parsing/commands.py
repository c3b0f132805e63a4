"""The commands' arguments: `/log`, `/call`-style counts with a note, `/deal`, `/lost`, names.

Choices where text is read one way on purpose (callers may want to show what was understood):

- `/deal 2 45tr` is two deals worth 45tr together; but ``2 500`` is read as 2 500 ₫ (space
  grouping) and ``2 3M`` as two deals of 3 triệu.
- ``new``/``mới`` at either end of a `/deal` customer marks a new customer (so a company called
  "Thế Giới Mới" loses its last word).
- Dates are taken from the start of `/call`-style arguments or the end; a date inside a note stays
  in the note. `/deal` notes are kept whole.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Sequence

from kpi.parsing.amounts import numberish, scan_amount
from kpi.parsing.counts import COUNT_LIKE, PLAIN_INT, botched_count, parse_count
from kpi.parsing.dates import match_day, merge_day
from kpi.parsing.results import (
    DEAL_METRIC,
    MAX_COUNT,
    MAX_CUSTOMER_CHARS,
    MAX_NOTE_CHARS,
    AmbiguousAmount,
    Amount,
    CountNote,
    DealRequest,
    LogRequest,
    LostRequest,
    ParseError,
)
from kpi.parsing.text import normalize_text
from kpi.parsing.tokens import Tok, split_spans, split_words
from kpi.parsing.vocabulary import (
    DAY_PREFIXES,
    DEAL_NEW_PHRASES,
    FILLER_LONGEST,
    FILLERS,
    NEW_LONGEST,
    Vocabulary,
    longest_phrase,
    match_phrase,
)

__all__ = [
    "closest_command",
    "parse_count_note",
    "parse_deal",
    "parse_log",
    "parse_lost",
]


def parse_log(text: str, vocab: Vocabulary, today: dt.date) -> LogRequest:
    """Parse `/log` arguments such as `calls 12 meetings 2 hôm qua`."""
    words = [t for t in split_words(text) if not t.sep]
    norms = [t.norm for t in words]
    longest = longest_phrase(vocab)
    day: dt.date | None = None
    seq: list[tuple[str, str, Tok]] = []  # ("metric", key) or ("count", raw word)
    i = 0
    while i < len(words):
        date_match = match_day(norms, i, today)
        if date_match is not None:
            day = merge_day(day, date_match[0])
            i = date_match[1]
            continue
        alias = match_phrase(norms, i, vocab, longest)
        if alias is not None:
            if alias[0] == DEAL_METRIC:
                raise ParseError("log.use_deal")
            seq.append(("metric", alias[0], words[i]))
            i = alias[1]
            continue
        if numberish(norms[i]):
            seq.append(("count", norms[i], words[i]))
            i += 1
            continue
        filler = match_phrase(norms, i, FILLERS, FILLER_LONGEST)
        if filler is not None:
            i = filler[1]
            continue
        raise ParseError("metric.unknown", word=words[i].raw)
    if not seq:
        raise ParseError("log.empty")
    totals: dict[str, int] = {}
    k = 0
    while k < len(seq):
        kind, value, tok = seq[k]
        following = seq[k + 1] if k + 1 < len(seq) else None
        if following is None or following[0] == kind:
            if kind == "metric":
                raise ParseError("log.dangling", word=tok.raw)
            parse_count(value)  # a malformed number is reported as such first
            raise ParseError("log.no_metric", value=tok.raw)
        metric, number = (value, following[1]) if kind == "metric" else (following[1], value)
        totals[metric] = totals.get(metric, 0) + parse_count(number)
        if totals[metric] > MAX_COUNT:
            raise ParseError("count.too_large", value=totals[metric], max=MAX_COUNT)
        k += 2
    return LogRequest(tuple(totals.items()), day)


def trimmed(text: str, name: str, limit: int) -> str | None:
    """Trim typed text, cap its length, and turn emptiness into None."""
    value = text.strip().strip(",;").strip()
    if not value:
        return None
    if len(value) > limit:
        raise ParseError("text.too_long", field=name, max=limit)
    return value


def read_header(toks: Sequence[Tok], today: dt.date) -> tuple[int | None, dt.date | None, int]:
    """Read a leading count and/or date in either order; return them and where the rest starts."""
    norms = [t.norm for t in toks]
    found: int | None = None
    day: dt.date | None = None
    i = 0
    while i < len(toks):
        match = match_day(norms, i, today) if day is None else None
        if match is not None:
            day, i = match
            continue
        if found is None and COUNT_LIKE.fullmatch(norms[i]):
            found = parse_count(norms[i])
            i += 1
            continue
        break
    return found, day, i


def trailing_day(
    toks: Sequence[Tok], today: dt.date, day: dt.date | None
) -> tuple[dt.date | None, int]:
    """Take a date phrase that ends the words; return the day and how many words remain."""
    norms = [t.norm for t in toks]
    for start in range(max(0, len(toks) - 4), len(toks)):
        try:
            match = match_day(norms, start, today)
        except ParseError:
            # A bad date inside the text is the text's business; only one that ends it is ours.
            if all(n in DAY_PREFIXES for n in norms[start:-1]):
                raise
            continue
        if match is not None and match[1] == len(toks):
            return merge_day(day, match[0]), start
    return day, len(toks)


def parse_count_note(text: str, today: dt.date) -> CountNote:
    """Parse `/call [n] [note]`-style arguments; the count defaults to 1.

    Words are a note only when they cannot be a mistyped count: a first word that looks like a
    botched number (`botched_count`) is ``count.not_number``, never a note on one call.
    """
    toks = split_spans(text)
    count, day, i = read_header(toks, today)
    if (
        count is None
        and i < len(toks)
        and botched_count(toks[i].raw, toks[i].norm, alone=i == len(toks) - 1)
    ):
        raise ParseError("count.not_number", value=toks[i].raw)
    rest = toks[i:]
    if rest and day is None:
        day, keep = trailing_day(rest, today, day)
        rest = rest[:keep]
    note = trimmed(text[rest[0].start : rest[-1].end], "note", MAX_NOTE_CHARS) if rest else None
    return CountNote(count if count is not None else 1, note, day)


# A typed command name at least this similar to a known one (difflib's ratio) names it.
_CLOSE_COMMAND = 0.6


def closest_command(typed: str, commands: Iterable[str]) -> str | None:
    """Return the known command a mistyped one most likely meant (`cal` -> `call`), or None.

    Diacritics and case do not count (`gọi` -> `goi`): Telegram commands are Latin letters.
    """
    name = re.sub(r"[^a-z0-9_]", "", normalize_text(typed))
    known = sorted(set(commands))
    if not name or not known:
        return None
    if name in known:
        return name
    match = difflib.get_close_matches(name, known, n=1, cutoff=_CLOSE_COMMAND)
    return match[0] if match else None


# The first of these after the amount ends the customer and starts the note.
_NOTE_SEPARATOR = re.compile(r"(?:^|\s)[-–—|]+(?=\s|$)|(?<![0-9]):|:(?![0-9])")


def _split_note(text: str) -> tuple[str, str | None]:
    """Split typed text at the first note separator (` - `, ` | `, `:`)."""
    m = _NOTE_SEPARATOR.search(text)
    if m is None:
        return text, None
    return text[: m.start()], trimmed(text[m.end() :], "note", MAX_NOTE_CHARS)


def _customer(
    text: str, toks: Sequence[Tok], today: dt.date, day: dt.date | None
) -> tuple[str | None, bool, dt.date | None]:
    """Read the customer words: strip `new` markers and dates at either end."""
    norms = [t.norm for t in toks]
    is_new = False
    start, end = 0, len(toks)
    changed = True
    while changed and start < end:
        changed = False
        marker = match_phrase(norms[:end], start, DEAL_NEW_PHRASES, NEW_LONGEST)
        if marker is not None:
            is_new, start, changed = True, marker[1], True
            continue
        match = match_day(norms[:end], start, today)
        if match is not None:
            day, start, changed = merge_day(day, match[0]), match[1], True
            continue
        for size in range(min(NEW_LONGEST, end - start), 0, -1):
            if " ".join(norms[end - size : end]) in DEAL_NEW_PHRASES:
                is_new, end, changed = True, end - size, True
                break
        if changed:
            continue
        day, end_after = trailing_day(toks[start:end], today, day)
        if start + end_after != end:
            end, changed = start + end_after, True
    if start >= end:
        return None, is_new, day
    customer = trimmed(text[toks[start].start : toks[end - 1].end], "customer", MAX_CUSTOMER_CHARS)
    return customer, is_new, day


def parse_deal(text: str, today: dt.date) -> DealRequest:
    """Parse `/deal [n] <amount> [customer] [new] [- note]` arguments."""
    head, note = _split_note(text)
    toks = split_spans(head)
    norms = [t.norm for t in toks]
    day: dt.date | None = None
    is_new = False
    i = 0
    while i < len(toks):
        match = match_day(norms, i, today)
        if match is not None:
            day, i = merge_day(day, match[0]), match[1]
            continue
        marker = match_phrase(norms, i, DEAL_NEW_PHRASES, NEW_LONGEST)
        if marker is not None:
            is_new, i = True, marker[1]
            continue
        break
    amount, count, i = _deal_amount(norms, i)
    customer, marked_new, day = _customer(head, toks[i:], today, day)
    return DealRequest(count, amount, customer, is_new or marked_new, note, day)


def _deal_amount(norms: Sequence[str], i: int) -> tuple[Amount | AmbiguousAmount, int, int]:
    """Read `[n] <amount>` at word `i`; return the amount, the count and the index after it."""
    if i >= len(norms) or not numberish(norms[i]):
        raise ParseError("amount.missing")
    here: tuple[Amount | AmbiguousAmount, int] | ParseError
    try:
        here = scan_amount(norms, i)
    except ParseError as exc:
        here = exc
    alone = isinstance(here, ParseError) or here[1] == i + 1
    if PLAIN_INT.fullmatch(norms[i]) and alone and i + 1 < len(norms) and numberish(norms[i + 1]):
        # "2 45tr": two deals worth 45tr together.
        try:
            amount, end = scan_amount(norms, i + 1)
        except ParseError as exc:
            # "2 1,5" was meant as two deals and a malformed amount, not a 2 ₫ deal.
            if isinstance(here, ParseError) or exc.code != "amount.invalid":
                raise
        else:
            return amount, parse_count(norms[i]), end
    if isinstance(here, ParseError):
        raise here
    return here[0], 1, here[1]


def parse_lost(text: str, today: dt.date) -> LostRequest:
    """Parse `/lost [n] [customer] [- note]` arguments; the count defaults to 1."""
    head, note = _split_note(text)
    toks = split_spans(head)
    count, day, i = read_header(toks, today)
    rest = toks[i:]
    if rest:
        day, keep = trailing_day(rest, today, day)
        rest = rest[:keep]
    customer = (
        trimmed(head[rest[0].start : rest[-1].end], "customer", MAX_CUSTOMER_CHARS)
        if rest
        else None
    )
    return LostRequest(count if count is not None else 1, customer, note, day)
