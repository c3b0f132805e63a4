"""Understand what reps type: counts, VND amounts, dates, `/log`, `/deal` and plain language.

Pure functions: no database, no Telegram, no user-facing text. One subject per module:

- `text`: the one text folding (`normalize_text`: lower case, no diacritics, đ -> d, no
  zero-width characters, whitespace collapsed), so Vietnamese typed with or without accents and
  English both work;
- `vocabulary`: the words of every language (one data file each), understood all at once;
- `tokens`, `counts`, `amounts`, `dates`, `times`: the pieces of a message;
- `commands`: the arguments of `/log`, `/call`-style commands, `/deal`, `/lost`, command names;
- `free_text`: plain-language check-ins;
- `results`: what they return, and `ParseError`.

Every rejection is a `ParseError` whose `code` is a stable key the handlers translate; `params`
carries what the message needs.

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
"""

from kpi.parsing.amounts import format_amount_short, parse_amount
from kpi.parsing.commands import (
    closest_command,
    parse_count_note,
    parse_deal,
    parse_log,
    parse_lost,
)
from kpi.parsing.counts import parse_count
from kpi.parsing.dates import check_backdate, parse_day, parse_day_range
from kpi.parsing.free_text import parse_free_text
from kpi.parsing.results import (
    DEAL_METRIC,
    LOST_METRIC,
    MAX_AMOUNT,
    MAX_COUNT,
    MAX_CUSTOMER_CHARS,
    MAX_NOTE_CHARS,
    AmbiguousAmount,
    Amount,
    CountNote,
    DealItem,
    DealRequest,
    FreeTextResult,
    Item,
    LogRequest,
    LostRequest,
    ParseError,
)
from kpi.parsing.text import normalize_text
from kpi.parsing.times import normalize_hhmm, parse_hhmm
from kpi.parsing.vocabulary import DEFAULT_ALIASES, Vocabulary, build_vocabulary

__all__ = [
    "DEAL_METRIC",
    "DEFAULT_ALIASES",
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
    "Vocabulary",
    "build_vocabulary",
    "check_backdate",
    "closest_command",
    "format_amount_short",
    "normalize_hhmm",
    "normalize_text",
    "parse_amount",
    "parse_count",
    "parse_count_note",
    "parse_day",
    "parse_day_range",
    "parse_deal",
    "parse_free_text",
    "parse_hhmm",
    "parse_log",
    "parse_lost",
]
