"""VND amounts as people type them: `50tr`, `1,5 tỷ`, `50.000.000 đ`, `1tr2`, `500k`.

Amounts (whole VND, 1..`MAX_AMOUNT`):

- a number, optionally grouped by ``.``, ``,`` or spaces (``50.000.000``, ``50 000 000``), or with
  a decimal part of zeros (``50,000,000.00``); a currency mark before or after: ``₫ đ d vnd dong``;
- or a number (decimals allowed: ``1,5``, ``2.25``) and a unit: ``k nghìn ngàn`` (10^3),
  ``tr triệu m mil million`` (10^6), ``tỷ tỉ b bn billion`` (10^9); then optionally lower terms
  (``2 tỷ 300 triệu``) and trailing digits read as the unit's leading decimals (``1tr2`` = 1,2tr,
  ``1tr25`` = 1,25tr, ``2 tỷ 300`` = 2,3 tỷ; with a space only after tỷ, so that ``45tr 3 Anh Em``
  keeps its customer).

The unit and currency words come from the language files (`kpi.parsing.vocabulary`).

A single separator followed by exactly three digits (``1.500``, ``1,500tr``) is a thousands
separator or a decimal point: the result is an `AmbiguousAmount` with both readings (a bare
number's decimal reading is taken in triệu, the unit people leave out), and the caller asks. A
currency mark without a unit settles it (``1.500đ`` is 1 500 ₫: 1,5 đồng is no amount). A bare
decimal that is not three digits (``1,5``) is ``amount.not_whole``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kpi.parsing.counts import PLAIN_INT
from kpi.parsing.results import MAX_AMOUNT, AmbiguousAmount, Amount, ParseError
from kpi.parsing.text import normalize_text
from kpi.parsing.vocabulary import CURRENCY_PREFIXES, CURRENCY_WORDS, UNITS, short_units

__all__ = ["format_amount_short", "money_word", "numberish", "parse_amount", "scan_amount"]

# Input longer than this is not an amount anyone types; bounding it bounds the work too.
_MAX_AMOUNT_CHARS = 120
# "1 000 000 000 000 vnd" is the longest run of tokens an amount needs.
_MAX_AMOUNT_TOKENS = 7
_UNITS_LONGEST_FIRST = sorted(UNITS, key=len, reverse=True)
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


def money_word(word: str) -> list[tuple[str, str, int]] | None:
    """Split a word into a unit and/or a currency (`tr`, `vnd`, `trd`), or None."""
    if word in UNITS:
        return [("unit", word, UNITS[word])]
    if word in CURRENCY_WORDS:
        return [("cur", word, 1)]
    for unit in _UNITS_LONGEST_FIRST:
        rest = word[len(unit) :]
        if word.startswith(unit) and rest in CURRENCY_WORDS:
            return [("unit", unit, UNITS[unit]), ("cur", rest, 1)]
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
            parts = money_word(value)
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
    if PLAIN_INT.fullmatch(number):
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
        if not PLAIN_INT.fullmatch(digits) or len(digits) > 3 or int(digits) * lower >= last:
            raise ParseError("amount.invalid", text=original)
        extra += int(digits) * lower
        last = lower
        i += 2
    if (
        i < n
        and lexes[i].kind == "num"
        and PLAIN_INT.fullmatch(lexes[i].text)
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
    if i < n and lexes[i].kind == "cur" and lexes[i].text in CURRENCY_PREFIXES:
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
    if PLAIN_INT.fullmatch(first.text) and len(first.text) <= 3:
        groups = [first.text]
        while (
            i < n
            and lexes[i].kind == "num"
            and lexes[i].spaced
            and len(lexes[i].text) == 3
            and PLAIN_INT.fullmatch(lexes[i].text)
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


def numberish(norm: str) -> bool:
    """Tell whether a normalised word could start an amount."""
    body = norm.lstrip("+-−")
    if body.startswith("vnd"):
        body = body[3:]
    body = body.lstrip("₫")
    if not body:
        return norm in CURRENCY_PREFIXES
    return body[0].isascii() and body[0].isdigit()


def scan_amount(norms: Sequence[str], start: int) -> tuple[Amount | AmbiguousAmount, int]:
    """Parse the longest run of words from `start` that is an amount; return it and its end."""
    if start >= len(norms) or not numberish(norms[start]):
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


def format_amount_short(value: int, lang: str) -> str:
    """Format money the short way chat uses: vi `45tr`, `1,5 tỷ`, `500k`; en `45M`, `1.5B`."""
    words = short_units(lang)
    units = ((10**9, words.billion), (10**6, words.million), (10**3, words.thousand))
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
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
        number = f"{whole}{words.decimal_mark}{decimals}" if decimals else str(whole)
        return f"{sign}{number}{suffix}"
    return f"{sign}{magnitude}"
