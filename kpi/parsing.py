"""Understand what reps type: counts, VND amounts, dates, `/log`, `/deal` and plain language.

Pure functions: no database, no Telegram, no user-facing text. Text is compared after
`normalize_text` (lower case, no diacritics, đ -> d, whitespace collapsed), so Vietnamese typed
with or without accents and English both work. Every rejection is a `ParseError` whose `code` is a
stable key the handlers translate; `params` carries what the message needs.

Error codes (params):

- ``count.invalid`` (value): not a positive whole number: 0, negative, decimal, text.
- ``count.too_large`` (value, max): above `MAX_COUNT`.
- ``count.not_number`` (value): a `/call`-style count that is no number but looks like a botched
  one (``12O``, ``1e3``, ``0x10``, ``5-``, ``½``, ``NaN``); see `parse_count_note`.
- ``amount.missing``: no amount where one is required.
- ``amount.invalid`` (text): not an amount at all (``abc``, ``5x``, ``2 45tr``).
- ``amount.negative`` (text), ``amount.zero`` (text).
- ``amount.too_large`` (text, max): above `MAX_AMOUNT`.
- ``amount.not_whole`` (text): a fraction of a dong, e.g. bare ``1,5`` or ``1.2345678tr``.
- ``date.invalid`` (text): shaped like a date but impossible (``31/02``, ``29/02`` in a
  non-leap year, ``20/13``).
- ``date.future`` (day): a date after today (``ngày mai``, ``20/11/2099``).
- ``date.too_old`` (days): older than the backdating window (from `check_backdate`).
- ``date.multiple``: two different dates in one message.
- ``metric.unknown`` (word): a `/log` word that names no metric of the team.
- ``log.empty``: `/log` with nothing to log.
- ``log.dangling`` (word): a metric without a number (``/log calls``).
- ``log.no_metric`` (value): a number without a metric (``/log calls 2 5``).
- ``log.use_deal``: deals go through `/deal`, which takes the amount.
- ``text.too_long`` (field, max): a customer above 200 or a note above 500 characters.
- ``vocab.conflict`` (alias, metrics): one alias given to two metrics (`build_vocabulary`).

Amounts (whole VND, 1..`MAX_AMOUNT`):

- a number, optionally grouped by ``.``, ``,`` or spaces (``50.000.000``, ``50 000 000``), or with
  a decimal part of zeros (``50,000,000.00``); a currency mark before or after: ``₫ đ d vnd dong``;
- or a number (decimals allowed: ``1,5``, ``2.25``) and a unit: ``k nghìn ngàn`` (10^3),
  ``tr triệu m mil million`` (10^6), ``tỷ tỉ b bn billion`` (10^9); then optionally lower terms
  (``2 tỷ 300 triệu``) and trailing digits read as the unit's leading decimals (``1tr2`` = 1,2tr,
  ``1tr25`` = 1,25tr, ``2 tỷ 300`` = 2,3 tỷ; with a space only after tỷ, so that ``45tr 3 Anh Em``
  keeps its customer).

A single separator followed by exactly three digits (``1.500``, ``1,500tr``) is a thousands
separator or a decimal point: the result is an `AmbiguousAmount` with both readings (a bare
number's decimal reading is taken in triệu, the unit people leave out), and the caller asks. A
currency mark without a unit settles it (``1.500đ`` is 1 500 ₫: 1,5 đồng is no amount). A bare
decimal that is not three digits (``1,5``) is ``amount.not_whole``.

Choices where text is read one way on purpose (callers may want to show what was understood):

- `/deal 2 45tr` is two deals worth 45tr together; but ``2 500`` is read as 2 500 ₫ (space
  grouping) and ``2 3M`` as two deals of 3 triệu.
- In plain language a bare integer of 1000 or more next to a deal is its amount, not a count.
- ``new``/``mới`` at either end of a `/deal` customer marks a new customer (so a company called
  "Thế Giới Mới" loses its last word); in plain language only ``khách mới``/``new customer`` do,
  since "mới" also means "just".
- Dates are taken from the start of `/call`-style arguments or the end; a date inside a note stays
  in the note. `/deal` notes are kept whole.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from kpi import catalog

__all__ = [
    "DEAL_METRIC",
    "DEFAULT_ALIASES",
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
    "Vocabulary",
    "build_vocabulary",
    "check_backdate",
    "closest_command",
    "extract_day",
    "format_amount_short",
    "normalize_text",
    "parse_amount",
    "parse_count",
    "parse_count_note",
    "parse_day",
    "parse_deal",
    "parse_free_text",
    "parse_log",
    "parse_lost",
]

MAX_COUNT = 1_000_000
MAX_AMOUNT = 10**15
MAX_CUSTOMER_CHARS = 200
MAX_NOTE_CHARS = 500
DEAL_METRIC = "deals"
LOST_METRIC = "lost"

# Input longer than this is not an amount anyone types; bounding it bounds the work too.
_MAX_AMOUNT_CHARS = 120
# "1 000 000 000 000 vnd" is the longest run of tokens an amount needs.
_MAX_AMOUNT_TOKENS = 7
# In a plain-language deal clause a bare number this big is an amount, not a count of deals.
_DEAL_COUNT_CEILING = 1000


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- normalisation

_WHITESPACE = re.compile(r"\s+")
# Stripped from a word's ends: quotes and brackets, and at the end sentence punctuation.
_LEADING_PUNCT = "\"'`([{<«»“”‘’"
_EDGE_PUNCT = _LEADING_PUNCT + ")]}>.,;:!?…"
_DROPPED_CATEGORIES = frozenset({"Mn", "Cf"})


def normalize_text(text: str) -> str:
    """Return text lower-cased, without diacritics (đ -> d) and with whitespace collapsed."""
    lowered = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", lowered)
    # Mn drops the accents; Cf drops zero-width characters that copy-paste brings along.
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return _WHITESPACE.sub(" ", kept).strip()


def _core(word: str) -> str:
    """Return a normalised word without surrounding punctuation or inner spaces."""
    return "".join(normalize_text(word).split()).lstrip(_LEADING_PUNCT).rstrip(_EDGE_PUNCT)


@dataclass(frozen=True, slots=True)
class _Tok:
    raw: str
    norm: str
    start: int
    end: int
    sep: bool = False


_SPAN_WORD = re.compile(r"\S+")
# Commas and colons between digits belong to numbers (50,000 or 14:30); elsewhere they separate.
_SPLIT_WORD = re.compile(r"(?:[^\s,;:=]|(?<=[0-9])[,:](?=[0-9]))+|[,;:=\n]")
_SENTENCE_END = re.compile(r"[.!?…]$")
_GLUED_NUMBER_FIRST = re.compile(r"([0-9]+)([a-z]+)")
_GLUED_WORD_FIRST = re.compile(r"([a-z]+)([0-9]+)")
_CLAUSE_WORDS = frozenset({"va", "and", "&", "+", "-", "–", "—", "|", "/"})


def _spans(text: str) -> list[_Tok]:
    """Split on whitespace only, keeping positions so typed text can be returned verbatim."""
    return [
        _Tok(m.group(), _core(m.group()), m.start(), m.end()) for m in _SPAN_WORD.finditer(text)
    ]


def _words(text: str) -> list[_Tok]:
    """Split into words and separator marks, ungluing `12calls` and `goi12`."""
    out: list[_Tok] = []
    for m in _SPLIT_WORD.finditer(text):
        raw = m.group()
        norm = _core(raw)
        if raw in ",;:=\n" or norm in _CLAUSE_WORDS:
            out.append(_Tok(raw, norm, m.start(), m.end(), sep=True))
            continue
        if not norm:
            continue
        pieces = _unglue(norm)
        if pieces is None:
            out.append(_Tok(raw.strip(_EDGE_PUNCT) or raw, norm, m.start(), m.end()))
        else:
            out.extend(_Tok(p, p, m.start(), m.end()) for p in pieces)
        if _SENTENCE_END.search(raw):
            out.append(_Tok(raw[-1], "", m.end() - 1, m.end(), sep=True))
    return out


def _unglue(norm: str) -> tuple[str, str] | None:
    """Split a number glued to a word (`12cuoc`), unless it is money (`500k`, `45trd`)."""
    for pattern, letters_at in ((_GLUED_NUMBER_FIRST, 2), (_GLUED_WORD_FIRST, 1)):
        m = pattern.fullmatch(norm)
        if m and _money_word(m.group(letters_at)) is None:
            return m.group(1), m.group(2)
    return None


# --------------------------------------------------------------------------- counts

_COUNT_LIKE = re.compile(r"[+\-−]?[0-9]+(?:[.,][0-9]+)*")
_PLAIN_INT = re.compile(r"[0-9]+")


def parse_count(token: str) -> int:
    """Parse a positive whole count such as `12`."""
    text = _core(token)
    body = text[1:] if text.startswith("+") else text
    if not _PLAIN_INT.fullmatch(body):
        raise ParseError("count.invalid", value=token.strip())
    digits = body.lstrip("0")
    if not digits:
        raise ParseError("count.invalid", value=token.strip())
    if len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
        raise ParseError("count.too_large", value=token.strip(), max=MAX_COUNT)
    return int(digits)


# --------------------------------------------------------------------------- amounts

_UNITS: dict[str, int] = {
    "k": 10**3,
    "nghin": 10**3,
    "ngan": 10**3,
    "thousand": 10**3,
    "tr": 10**6,
    "trieu": 10**6,
    "m": 10**6,
    "mil": 10**6,
    "million": 10**6,
    "millions": 10**6,
    "ty": 10**9,
    "ti": 10**9,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "billions": 10**9,
}
_CURRENCY_WORDS = frozenset({"d", "vnd", "dong", "₫"})
_CURRENCY_PREFIXES = frozenset({"vnd", "₫"})
_UNITS_LONGEST_FIRST = sorted(_UNITS, key=len, reverse=True)
_AMOUNT_LEXEME = re.compile(
    r"(?P<num>[0-9]+(?:[.,][0-9]+)*)|(?P<word>[a-z]+)|(?P<sym>₫)|(?P<space>\s+)|(?P<other>.)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Lex:
    kind: str  # "num", "unit" or "cur"
    text: str
    factor: int
    spaced: bool  # whitespace before it


@dataclass(frozen=True, slots=True)
class _Reading:
    whole: str
    fraction: str
    kind: str  # "int", "thousands" or "decimal"


def _money_word(word: str) -> list[tuple[str, str, int]] | None:
    """Split a word into a unit and/or a currency (`tr`, `vnd`, `trd`), or None."""
    if word in _UNITS:
        return [("unit", word, _UNITS[word])]
    if word in _CURRENCY_WORDS:
        return [("cur", word, 1)]
    for unit in _UNITS_LONGEST_FIRST:
        rest = word[len(unit) :]
        if word.startswith(unit) and rest in _CURRENCY_WORDS:
            return [("unit", unit, _UNITS[unit]), ("cur", rest, 1)]
    return None


def _lex_amount(text: str, original: str) -> list[_Lex]:
    """Cut a normalised amount into numbers, units and currency marks."""
    out: list[_Lex] = []
    spaced = False
    for m in _AMOUNT_LEXEME.finditer(text):
        kind = m.lastgroup
        value = m.group()
        if kind == "space":
            spaced = True
            continue
        if kind == "num":
            out.append(_Lex("num", value, 1, spaced))
        elif kind in ("word", "sym"):
            parts = _money_word(value)
            if parts is None:
                raise ParseError("amount.invalid", text=original)
            for i, (part_kind, part, factor) in enumerate(parts):
                out.append(_Lex(part_kind, part, factor, spaced and i == 0))
        else:
            raise ParseError("amount.invalid", text=original)
        spaced = False
    return out


def _readings(number: str, original: str) -> list[_Reading]:
    """List the ways a number with `.`/`,` separators can be read."""
    if _PLAIN_INT.fullmatch(number):
        return [_Reading(number, "", "int")]
    parts = re.split(r"([.,])", number)
    groups, seps = parts[0::2], parts[1::2]
    if len(set(seps)) == 1:
        if len(groups) > 2:
            if _thousands_grouping(groups):
                return [_Reading("".join(groups), "", "thousands")]
            raise ParseError("amount.invalid", text=original)
        head, tail = groups
        decimal = _Reading(head, tail, "decimal")
        if len(tail) == 3 and _thousands_grouping(groups):
            return [_Reading(head + tail, "", "thousands"), decimal]
        return [decimal]
    # Two kinds of separator: the last one is the decimal mark (1.500,5 or 50,000,000.00).
    if len(set(seps[:-1])) != 1 or seps[-1] == seps[0]:
        raise ParseError("amount.invalid", text=original)
    whole_groups = groups[:-1]
    if not _thousands_grouping(whole_groups):
        raise ParseError("amount.invalid", text=original)
    return [_Reading("".join(whole_groups), groups[-1], "decimal")]


def _thousands_grouping(groups: Sequence[str]) -> bool:
    """Tell whether digit groups form a thousands grouping (1-3 digits, then threes)."""
    head = groups[0]
    if not 1 <= len(head) <= 3 or (head.startswith("0") and len(groups) > 1):
        return False
    return all(len(g) == 3 for g in groups[1:])


def _value(reading: _Reading, factor: int, original: str) -> int:
    """Return the whole-VND value of a reading times a unit factor."""
    whole = reading.whole.lstrip("0")
    fraction = reading.fraction.rstrip("0")
    # Beyond these lengths the value is too large or surely fractional; int() is never asked.
    if len(whole) > 16:
        raise ParseError("amount.too_large", text=original, max=MAX_AMOUNT)
    if len(fraction) > 9:
        raise ParseError("amount.not_whole", text=original)
    scale = 10 ** len(fraction)
    fraction_value = int(fraction or "0") * factor
    if fraction_value % scale:
        raise ParseError("amount.not_whole", text=original)
    return int(whole or "0") * factor + fraction_value // scale


def _compound_rest(lexes: Sequence[_Lex], i: int, factor: int, original: str) -> tuple[int, int]:
    """Read what follows `2 tỷ`: lower terms (`300 triệu`) and trailing digits (`1tr2`)."""
    extra = 0
    last = factor
    n = len(lexes)
    while (
        i + 1 < n
        and lexes[i].kind == "num"
        and lexes[i + 1].kind == "unit"
        and lexes[i + 1].factor < last
    ):
        digits = lexes[i].text
        lower = lexes[i + 1].factor
        if not _PLAIN_INT.fullmatch(digits) or len(digits) > 3 or int(digits) * lower >= last:
            raise ParseError("amount.invalid", text=original)
        extra += int(digits) * lower
        last = lower
        i += 2
    if (
        i < n
        and lexes[i].kind == "num"
        and _PLAIN_INT.fullmatch(lexes[i].text)
        and len(lexes[i].text) <= 3
        and last >= 1000
        # Spaced, only after tỷ ("2 tỷ 300"): "45tr 3 Anh Em" keeps its customer's name.
        and (not lexes[i].spaced or last >= 10**9)
        and (i + 1 == n or lexes[i + 1].kind == "cur")
    ):
        # Digits after the unit are its leading decimals: 1tr25 is 1,25 triệu, 2 tỷ 3 is 2,3 tỷ.
        digits = lexes[i].text
        extra += int(digits) * (last // 10 ** len(digits))
        i += 1
    return extra, i


def _finish(values: list[int], errors: list[ParseError], text: str) -> Amount | AmbiguousAmount:
    """Turn the candidate values into a result, or raise the most telling error."""
    for value in values:
        if value == 0:
            raise ParseError("amount.zero", text=text)
    good = sorted({v for v in values if v <= MAX_AMOUNT})
    if not good:
        if values:
            raise ParseError("amount.too_large", text=text, max=MAX_AMOUNT)
        raise errors[0]
    if len(good) == 1:
        return Amount(good[0])
    return AmbiguousAmount(text, (good[0], good[1]))


def parse_amount(text: str) -> Amount | AmbiguousAmount:
    """Parse a VND amount as people type it (`50tr`, `1,5 tỷ`, `50.000.000 đ`, `1tr2`)."""
    original = text.strip()
    s = normalize_text(text)
    if not s:
        raise ParseError("amount.missing")
    if len(s) > _MAX_AMOUNT_CHARS:
        raise ParseError("amount.invalid", text=original[:_MAX_AMOUNT_CHARS])
    negative = s[0] in "-−"
    if negative or s[0] == "+":
        s = s[1:].lstrip()
    result = _evaluate(_lex_amount(s, original), original)
    if negative:
        raise ParseError("amount.negative", text=original)
    return result


def _evaluate(lexes: list[_Lex], original: str) -> Amount | AmbiguousAmount:
    """Evaluate lexed amount parts by the forms listed in the module docstring."""
    n = len(lexes)
    i = 0
    currency = False
    if i < n and lexes[i].kind == "cur" and lexes[i].text in _CURRENCY_PREFIXES:
        currency = True
        i += 1
    if i >= n or lexes[i].kind != "num":
        raise ParseError("amount.invalid", text=original)
    first = lexes[i]
    i += 1
    values: list[int] = []
    errors: list[ParseError] = []
    if i < n and lexes[i].kind == "unit":
        factor = lexes[i].factor
        i += 1
        readings = _readings(first.text, original)
        extra = 0
        if readings[0].kind == "int":
            extra, i = _compound_rest(lexes, i, factor, original)
        i, currency = _currency_suffix(lexes, i, currency)
        if i != n:
            raise ParseError("amount.invalid", text=original)
        for reading in readings:
            try:
                values.append(_value(reading, factor, original) + extra)
            except ParseError as exc:
                errors.append(exc)
        return _finish(values, errors, original)
    if _PLAIN_INT.fullmatch(first.text) and len(first.text) <= 3:
        groups = [first.text]
        while (
            i < n
            and lexes[i].kind == "num"
            and lexes[i].spaced
            and len(lexes[i].text) == 3
            and _PLAIN_INT.fullmatch(lexes[i].text)
        ):
            groups.append(lexes[i].text)
            i += 1
        if len(groups) > 1 and not _thousands_grouping(groups):
            raise ParseError("amount.invalid", text=original)
        readings = [_Reading("".join(groups), "", "int")]
    else:
        readings = _readings(first.text, original)
    i, currency = _currency_suffix(lexes, i, currency)
    if i != n:
        raise ParseError("amount.invalid", text=original)
    if len(readings) == 2 and currency:
        # "1.500 đ" names dong: 1,5 dong is no amount, so only the thousands reading is left.
        readings = readings[:1]
    for reading in readings:
        # Without a unit, a 3-digit decimal is read in triệu, the unit people leave out most.
        factor = 10**6 if len(readings) == 2 and reading.kind == "decimal" else 1
        try:
            values.append(_value(reading, factor, original))
        except ParseError as exc:
            errors.append(exc)
    return _finish(values, errors, original)


def _currency_suffix(lexes: Sequence[_Lex], i: int, currency: bool) -> tuple[int, bool]:
    """Skip one trailing currency mark, if there is one and none came before."""
    if i < len(lexes) and lexes[i].kind == "cur" and not currency:
        return i + 1, True
    return i, currency


def _numberish(norm: str) -> bool:
    """Tell whether a normalised word could start an amount."""
    body = norm.lstrip("+-−")
    if body.startswith("vnd"):
        body = body[3:]
    body = body.lstrip("₫")
    if not body:
        return norm in _CURRENCY_PREFIXES
    return body[0].isascii() and body[0].isdigit()


def _scan_amount(norms: Sequence[str], start: int) -> tuple[Amount | AmbiguousAmount, int]:
    """Parse the longest run of words from `start` that is an amount; return it and its end."""
    if start >= len(norms) or not _numberish(norms[start]):
        raise ParseError("amount.missing")
    last = min(len(norms), start + _MAX_AMOUNT_TOKENS)
    for end in range(last, start, -1):
        try:
            return parse_amount(" ".join(norms[start:end])), end
        except ParseError as exc:
            # A longer run that is clearly meant as an amount but wrong is reported, not cut.
            if exc.code != "amount.invalid":
                raise
    raise ParseError("amount.invalid", text=norms[start])


_SHORT_UNITS: dict[str, tuple[tuple[int, str], ...]] = {
    "vi": ((10**9, " tỷ"), (10**6, "tr"), (10**3, "k")),
    "en": ((10**9, "B"), (10**6, "M"), (10**3, "K")),
}


def format_amount_short(value: int, lang: str) -> str:
    """Format money the short way chat uses: vi `45tr`, `1,5 tỷ`, `500k`; en `45M`, `1.5B`."""
    key = "vi" if lang.lower().startswith("vi") else "en"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    units = _SHORT_UNITS[key]
    for index, (unit, suffix) in enumerate(units):
        if magnitude < unit:
            continue
        hundredths = (magnitude * 100 + unit // 2) // unit
        if hundredths >= 100_000 and index > 0:
            # Rounding reached the next unit: 999 999 999 is 1 tỷ, not 1000tr.
            unit, suffix = units[index - 1]
            hundredths = (magnitude * 100 + unit // 2) // unit
        whole, cents = divmod(hundredths, 100)
        decimals = f"{cents:02d}".rstrip("0")
        mark = "," if key == "vi" else "."
        number = f"{whole}{mark}{decimals}" if decimals else str(whole)
        return f"{sign}{number}{suffix}"
    return f"{sign}{magnitude}"


# --------------------------------------------------------------------------- dates

# Phrase -> days before today (negative: the future).
_DAY_PHRASES: dict[tuple[str, ...], int] = {
    ("hom", "nay"): 0,
    ("homnay",): 0,
    ("today",): 0,
    ("sang", "nay"): 0,
    ("trua", "nay"): 0,
    ("chieu", "nay"): 0,
    ("toi", "nay"): 0,
    ("hom", "qua"): 1,
    ("homqua",): 1,
    ("yesterday",): 1,
    ("hom", "kia"): 2,
    ("homkia",): 2,
    ("day", "before", "yesterday"): 2,
    ("ngay", "mai"): -1,
    ("tomorrow",): -1,
}
_DAY_PREFIXES = frozenset({"ngay", "on", "vao"})
_DMY = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})(?:\2([0-9]+))?")
_YMD = re.compile(r"([0-9]{4})([/.-])([0-9]{1,2})\2([0-9]{1,2})")


def parse_day(token_or_phrase: str, today: dt.date) -> dt.date | None:
    """Parse `hôm qua`, `yesterday`, `20/11`, `20/11/26` or `2026-11-20`; None if no date."""
    words = [w for w in (_core(w) for w in normalize_text(token_or_phrase).split()) if w]
    while tuple(words) not in _DAY_PHRASES and len(words) > 1 and words[0] in _DAY_PREFIXES:
        words = words[1:]
    if tuple(words) in _DAY_PHRASES:
        return _days_ago(today, _DAY_PHRASES[tuple(words)], token_or_phrase)
    if len(words) != 1:
        return None
    return _numeric_day(words[0], today, token_or_phrase.strip())


def _days_ago(today: dt.date, days: int, text: str) -> dt.date:
    """Return the day `days` before today, refusing the future."""
    try:
        day = today - dt.timedelta(days=days)
    except OverflowError:
        raise ParseError("date.invalid", text=text.strip()) from None
    if day > today:
        raise ParseError("date.future", day=day)
    return day


def _numeric_day(word: str, today: dt.date, original: str) -> dt.date | None:
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


def _match_day(norms: Sequence[str], i: int, today: dt.date) -> tuple[dt.date, int] | None:
    """Match a date phrase starting at word `i`; return the day and the index after it."""
    n = len(norms)
    j = i
    while j < n and j - i < 2 and norms[j] in _DAY_PREFIXES:
        j += 1
    for start in (j, i) if j > i else (i,):
        for size in (3, 2, 1):
            phrase = tuple(norms[start : start + size])
            if len(phrase) == size and phrase in _DAY_PHRASES:
                return _days_ago(today, _DAY_PHRASES[phrase], " ".join(phrase)), start + size
        if start < n:
            day = _numeric_day(norms[start], today, norms[start])
            if day is not None:
                return day, start + 1
    return None


def _merge_day(current: dt.date | None, new: dt.date) -> dt.date:
    """Keep one date per message: the same one twice is fine, two different ones are not."""
    if current is not None and current != new:
        raise ParseError("date.multiple")
    return new


def extract_day(tokens: Sequence[str], today: dt.date) -> tuple[dt.date | None, list[str]]:
    """Find a date phrase anywhere among the tokens; return it and the other tokens."""
    norms = [_core(t) for t in tokens]
    day: dt.date | None = None
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        match = _match_day(norms, i, today)
        if match is None:
            rest.append(tokens[i])
            i += 1
            continue
        day = _merge_day(day, match[0])
        i = match[1]
    return day, rest


# --------------------------------------------------------------------------- vocabulary

Vocabulary = Mapping[str, str]
"""Normalised alias (words joined by one space) -> metric key."""

# The words for the built-in metrics, in every language: the metric catalogue's vocabulary.
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = catalog.metric_words()


def build_vocabulary(metrics: Iterable[tuple[str, Iterable[str]]]) -> Vocabulary:
    """Build the alias -> metric mapping from metric keys and their aliases."""
    vocab: dict[str, str] = {}
    for key, aliases in metrics:
        for alias in (key, *aliases):
            words = [w for w in (_core(w) for w in normalize_text(alias).split()) if w]
            if not words:
                continue
            phrase = " ".join(words)
            known = vocab.get(phrase)
            if known is not None and known != key:
                raise ParseError("vocab.conflict", alias=phrase, metrics=(known, key))
            vocab[phrase] = key
    return MappingProxyType(vocab)


def _match_phrase(
    norms: Sequence[str], i: int, phrases: Mapping[str, str] | frozenset[str], longest: int
) -> tuple[str, int] | None:
    """Match the longest phrase of the table starting at word `i`; return its value and end."""
    for size in range(min(longest, len(norms) - i), 0, -1):
        phrase = " ".join(norms[i : i + size])
        if phrase in phrases:
            value = phrases[phrase] if isinstance(phrases, Mapping) else phrase
            return value, i + size
    return None


def _word_set(*lines: str) -> frozenset[str]:
    """Collect the space-separated words of several lines."""
    return frozenset(word for line in lines for word in line.split())


def _longest(phrases: Iterable[str]) -> int:
    """Return the word count of the longest phrase."""
    return max((p.count(" ") + 1 for p in phrases), default=0)


# Words that carry no meaning for logging: classifiers, pronouns, linking words.
_FILLERS = _word_set(
    # Vietnamese, without diacritics
    "cuoc cu lan khach kh nguoi cai don duoc da dang voi cho cua la co roi nua them vua moi",
    "tong khoang toi minh em anh chi nay thi o tai ve cac nhung xong ok ngay vao hom gui lam",
    # English
    "i we people person persons client clients customer customers time times worth for of",
    "with the a an at in on to total about around got did made had have has new more sent send",
) | frozenset({"khach hang", "vua moi", "tong cong", "tat ca", "gia tri", "tri gia", "worth of"})
_FILLER_LONGEST = _longest(_FILLERS)
# In plain language only unmistakable phrases mark a new customer ("mới" alone also means "just").
_NEW_PHRASES = frozenset(
    {
        "khach moi",
        "kh moi",
        "khach hang moi",
        "new customer",
        "new customers",
        "new client",
        "new clients",
    }
)
_DEAL_NEW_PHRASES = _NEW_PHRASES | {"new", "moi"}
_NEW_LONGEST = _longest(_DEAL_NEW_PHRASES)


# --------------------------------------------------------------------------- /log


def parse_log(text: str, vocab: Vocabulary, today: dt.date) -> LogRequest:
    """Parse `/log` arguments such as `calls 12 meetings 2 hôm qua`."""
    words = [t for t in _words(text) if not t.sep]
    norms = [t.norm for t in words]
    longest = _longest(vocab)
    day: dt.date | None = None
    seq: list[tuple[str, str, _Tok]] = []  # ("metric", key) or ("count", raw word)
    i = 0
    while i < len(words):
        date_match = _match_day(norms, i, today)
        if date_match is not None:
            day = _merge_day(day, date_match[0])
            i = date_match[1]
            continue
        alias = _match_phrase(norms, i, vocab, longest)
        if alias is not None:
            if alias[0] == DEAL_METRIC:
                raise ParseError("log.use_deal")
            seq.append(("metric", alias[0], words[i]))
            i = alias[1]
            continue
        if _numberish(norms[i]):
            seq.append(("count", norms[i], words[i]))
            i += 1
            continue
        filler = _match_phrase(norms, i, _FILLERS, _FILLER_LONGEST)
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


# --------------------------------------------------------------------------- commands


def _trimmed(text: str, name: str, limit: int) -> str | None:
    """Trim typed text, cap its length, and turn emptiness into None."""
    value = text.strip().strip(",;").strip()
    if not value:
        return None
    if len(value) > limit:
        raise ParseError("text.too_long", field=name, max=limit)
    return value


def _header(toks: Sequence[_Tok], today: dt.date) -> tuple[int | None, dt.date | None, int]:
    """Read a leading count and/or date in either order; return them and where the rest starts."""
    norms = [t.norm for t in toks]
    found: int | None = None
    day: dt.date | None = None
    i = 0
    while i < len(toks):
        match = _match_day(norms, i, today) if day is None else None
        if match is not None:
            day, i = match
            continue
        if found is None and _COUNT_LIKE.fullmatch(norms[i]):
            found = parse_count(norms[i])
            i += 1
            continue
        break
    return found, day, i


def _trailing_day(
    toks: Sequence[_Tok], today: dt.date, day: dt.date | None
) -> tuple[dt.date | None, int]:
    """Take a date phrase that ends the words; return the day and how many words remain."""
    norms = [t.norm for t in toks]
    for start in range(max(0, len(toks) - 4), len(toks)):
        try:
            match = _match_day(norms, start, today)
        except ParseError:
            # A bad date inside the text is the text's business; only one that ends it is ours.
            if all(n in _DAY_PREFIXES for n in norms[start:-1]):
                raise
            continue
        if match is not None and match[1] == len(toks):
            return _merge_day(day, match[0]), start
    return day, len(toks)


# A time of day starts many a note ("14:30 gọi lại", "9h sáng", "8h-9h"): not a botched count.
_TIME = r"[0-9]{1,2}(?::[0-9]{2}|[hg](?:[0-9]{2})?)?(?:am|pm)?"
_TIME_OF_DAY = re.compile(rf"{_TIME}(?:[-–]{_TIME})?")
_NUMBER_WORDS = frozenset({"nan", "inf", "infinity"})


def _botched_count(tok: _Tok, alone: bool) -> bool:
    """Tell whether a word where a count goes is a botched number rather than a note's start.

    A word that starts with a digit of any script (``12O``, ``1e3``, ``0x10``, ``5-``, ``½``,
    ``٣``) is one, unless it is a time of day; so is ``NaN`` or ``inf`` typed alone (compared as
    typed: "nản" is Vietnamese).
    """
    body = tok.norm.lstrip("+-−")
    if body[:1].isnumeric():
        return _TIME_OF_DAY.fullmatch(body) is None
    return alone and tok.raw.lower().strip("+-−") in _NUMBER_WORDS


def parse_count_note(text: str, today: dt.date) -> CountNote:
    """Parse `/call [n] [note]`-style arguments; the count defaults to 1.

    Words are a note only when they cannot be a mistyped count: a first word that looks like a
    botched number (`_botched_count`) is ``count.not_number``, never a note on one call.
    """
    toks = _spans(text)
    count, day, i = _header(toks, today)
    if count is None and i < len(toks) and _botched_count(toks[i], alone=i == len(toks) - 1):
        raise ParseError("count.not_number", value=toks[i].raw)
    rest = toks[i:]
    if rest and day is None:
        day, keep = _trailing_day(rest, today, day)
        rest = rest[:keep]
    note = _trimmed(text[rest[0].start : rest[-1].end], "note", MAX_NOTE_CHARS) if rest else None
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
    return text[: m.start()], _trimmed(text[m.end() :], "note", MAX_NOTE_CHARS)


def _customer(
    text: str, toks: Sequence[_Tok], today: dt.date, day: dt.date | None
) -> tuple[str | None, bool, dt.date | None]:
    """Read the customer words: strip `new` markers and dates at either end."""
    norms = [t.norm for t in toks]
    is_new = False
    start, end = 0, len(toks)
    changed = True
    while changed and start < end:
        changed = False
        marker = _match_phrase(norms[:end], start, _DEAL_NEW_PHRASES, _NEW_LONGEST)
        if marker is not None:
            is_new, start, changed = True, marker[1], True
            continue
        match = _match_day(norms[:end], start, today)
        if match is not None:
            day, start, changed = _merge_day(day, match[0]), match[1], True
            continue
        for size in range(min(_NEW_LONGEST, end - start), 0, -1):
            if " ".join(norms[end - size : end]) in _DEAL_NEW_PHRASES:
                is_new, end, changed = True, end - size, True
                break
        if changed:
            continue
        day, end_after = _trailing_day(toks[start:end], today, day)
        if start + end_after != end:
            end, changed = start + end_after, True
    if start >= end:
        return None, is_new, day
    customer = _trimmed(
        text[toks[start].start : toks[end - 1].end], "customer", MAX_CUSTOMER_CHARS
    )
    return customer, is_new, day


def parse_deal(text: str, today: dt.date) -> DealRequest:
    """Parse `/deal [n] <amount> [customer] [new] [- note]` arguments."""
    head, note = _split_note(text)
    toks = _spans(head)
    norms = [t.norm for t in toks]
    day: dt.date | None = None
    is_new = False
    i = 0
    while i < len(toks):
        match = _match_day(norms, i, today)
        if match is not None:
            day, i = _merge_day(day, match[0]), match[1]
            continue
        marker = _match_phrase(norms, i, _DEAL_NEW_PHRASES, _NEW_LONGEST)
        if marker is not None:
            is_new, i = True, marker[1]
            continue
        break
    amount, count, i = _deal_amount(norms, i)
    customer, marked_new, day = _customer(head, toks[i:], today, day)
    return DealRequest(count, amount, customer, is_new or marked_new, note, day)


def _deal_amount(norms: Sequence[str], i: int) -> tuple[Amount | AmbiguousAmount, int, int]:
    """Read `[n] <amount>` at word `i`; return the amount, the count and the index after it."""
    if i >= len(norms) or not _numberish(norms[i]):
        raise ParseError("amount.missing")
    here: tuple[Amount | AmbiguousAmount, int] | ParseError
    try:
        here = _scan_amount(norms, i)
    except ParseError as exc:
        here = exc
    alone = isinstance(here, ParseError) or here[1] == i + 1
    if (
        _PLAIN_INT.fullmatch(norms[i])
        and alone
        and i + 1 < len(norms)
        and _numberish(norms[i + 1])
    ):
        # "2 45tr": two deals worth 45tr together.
        try:
            amount, end = _scan_amount(norms, i + 1)
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
    toks = _spans(head)
    count, day, i = _header(toks, today)
    rest = toks[i:]
    if rest:
        day, keep = _trailing_day(rest, today, day)
        rest = rest[:keep]
    customer = (
        _trimmed(head[rest[0].start : rest[-1].end], "customer", MAX_CUSTOMER_CHARS)
        if rest
        else None
    )
    return LostRequest(count if count is not None else 1, customer, note, day)


# --------------------------------------------------------------------------- plain language


@dataclass
class _Group:
    """A metric being read in a clause, with what has been attached to it so far."""

    metric: str
    word: str
    start: int
    count: str | None = None
    amount: Amount | AmbiguousAmount | None = None
    is_new: bool = False


@dataclass
class _FreeState:
    """What a whole plain-language message has given so far."""

    items: dict[str, int] = field(default_factory=dict)
    deals: list[DealItem] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (offset, word)
    day: dt.date | None = None


def parse_free_text(text: str, vocab: Vocabulary, today: dt.date) -> FreeTextResult:
    """Understand a plain-language check-in such as `goi 12 cuoc, gap 3 khach`."""
    state = _FreeState()
    longest = _longest(vocab)
    clause: list[_Tok] = []
    for tok in [*_words(text), _Tok("", "", len(text), len(text), sep=True)]:
        if not tok.sep:
            clause.append(tok)
        elif clause:
            _ClauseReader(vocab, longest, today, state).read(clause)
            clause = []
    items = tuple(Item(metric, count) for metric, count in state.items.items())
    unknown = tuple(word for _, word in sorted(state.unknown, key=lambda entry: entry[0]))
    return FreeTextResult(items, tuple(state.deals), state.day, unknown)


class _ClauseReader:
    """Read one clause: pair numbers with metrics (either order) and amounts with deals."""

    def __init__(self, vocab: Vocabulary, longest: int, today: dt.date, state: _FreeState) -> None:
        self.vocab = vocab
        self.longest = longest
        self.today = today
        self.state = state
        self.current: _Group | None = None
        self.number: _Tok | None = None  # a count before its metric: "12 calls"
        # An amount before its deal, with where it was and how it was typed.
        self.amount: tuple[Amount | AmbiguousAmount, tuple[int, str]] | None = None
        self.new_pending = False

    def read(self, toks: Sequence[_Tok]) -> None:
        """Read the clause's words into the shared state."""
        norms = [t.norm for t in toks]
        i = 0
        while i < len(toks):
            i = self._step(toks, norms, i)
        self._close()
        if self.number is not None:
            self.state.unknown.append((self.number.start, self.number.raw))
        if self.amount is not None:
            self.state.unknown.append(self.amount[1])

    def _step(self, toks: Sequence[_Tok], norms: Sequence[str], i: int) -> int:
        """Read the phrase at word `i`; return the index after it."""
        day = _match_day(norms, i, self.today)
        if day is not None:
            self.state.day = _merge_day(self.state.day, day[0])
            return day[1]
        alias = _match_phrase(norms, i, self.vocab, self.longest)
        if alias is not None:
            self._metric(alias[0], toks[i])
            return alias[1]
        marker = _match_phrase(norms, i, _NEW_PHRASES, _NEW_LONGEST)
        if marker is not None:
            if self.current is not None and self.current.metric == DEAL_METRIC:
                self.current.is_new = True
            else:
                self.new_pending = True
            return marker[1]
        if _numberish(norms[i]):
            return self._number(toks, norms, i)
        if toks[i].raw.startswith("@"):
            return i + 1  # a mention (of the bot, or of a colleague) logs nothing
        filler = _match_phrase(norms, i, _FILLERS, _FILLER_LONGEST)
        if filler is not None:
            return filler[1]
        self.state.unknown.append((toks[i].start, toks[i].raw))
        return i + 1

    def _metric(self, metric: str, word: _Tok) -> None:
        """Start a group for a metric, taking a count or amount that came before it."""
        current = self.current
        # "chốt 2 deal", "closed 2 deals": the second mention names the same thing.
        if current is not None and current.metric == metric and self.number is None:
            return
        # "trượt 2 hợp đồng", "lost 2 deals": the deal names what was lost, it is not a deal.
        if (
            metric == DEAL_METRIC
            and current is not None
            and current.metric == LOST_METRIC
            and current.count is not None
            and self.number is None
            and self.amount is None
        ):
            return
        self._close()
        group = _Group(metric, word.raw, word.start, self.number.norm if self.number else None)
        self.number = None
        if metric == DEAL_METRIC:
            if self.amount is not None:
                group.amount, self.amount = self.amount[0], None
            group.is_new, self.new_pending = self.new_pending, False
        self.current = group

    def _number(self, toks: Sequence[_Tok], norms: Sequence[str], i: int) -> int:
        """Attach a count or an amount at word `i`; return the index after it."""
        value, end = _classify_number(norms, i)
        group = self.current
        deal = group if group is not None and group.metric == DEAL_METRIC else None
        if deal is not None and deal.amount is not None:
            deal = None
        if value is None:
            if deal is not None and (
                deal.count is not None or not _below(norms[i], _DEAL_COUNT_CEILING)
            ):
                deal.amount = parse_amount(norms[i])
            elif group is not None and group.count is None:
                group.count = norms[i]
            else:
                if self.number is not None:
                    self.state.unknown.append((self.number.start, self.number.raw))
                self._close()
                self.number = toks[i]
        elif isinstance(value, ParseError):
            if deal is not None:
                raise value
            self.state.unknown.append((toks[i].start, toks[i].raw))
        elif deal is not None:
            deal.amount = value
        else:
            if self.amount is not None:
                self.state.unknown.append(self.amount[1])
            self.amount = (value, (toks[i].start, " ".join(t.raw for t in toks[i:end])))
        return end

    def _close(self) -> None:
        """Finish the current group."""
        if self.current is not None:
            _emit(self.current, self.state)
        self.current = None


def _below(number: str, ceiling: int) -> bool:
    """Tell whether a plain integer is below a ceiling, without converting huge digit runs."""
    digits = number.lstrip("+").lstrip("0")
    return len(digits) <= len(str(ceiling)) and int(digits or "0") < ceiling


def _classify_number(
    norms: Sequence[str], i: int
) -> tuple[Amount | AmbiguousAmount | ParseError | None, int]:
    """Tell a bare integer (None: a count) from an amount (`45tr`, `2 tỷ`) or a bad number."""
    bare = _PLAIN_INT.fullmatch(norms[i].lstrip("+")) is not None
    try:
        value, end = _scan_amount(norms, i)
    except ParseError as exc:
        if bare or _PLAIN_INT.fullmatch(norms[i].lstrip("-−")):
            return None, i + 1
        return exc, i + 1
    if end == i + 1 and bare:
        return None, i + 1
    return value, end


def _emit(group: _Group, state: _FreeState) -> None:
    """Add a finished group to the result, or report its word when it got no number."""
    if group.metric == DEAL_METRIC:
        if group.count is None and group.amount is None:
            state.unknown.append((group.start, group.word))
            return
        count = parse_count(group.count) if group.count is not None else 1
        state.deals.append(DealItem(count, group.amount, group.is_new))
        return
    if group.count is None:
        state.unknown.append((group.start, group.word))
        return
    total = state.items.get(group.metric, 0) + parse_count(group.count)
    if total > MAX_COUNT:
        raise ParseError("count.too_large", value=total, max=MAX_COUNT)
    state.items[group.metric] = total
