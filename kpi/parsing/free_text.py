"""Plain-language check-ins: `gọi 12 cuộc, gặp 3 khách, chốt 2 deal 45tr hôm qua`.

A message is cut into clauses (at commas, "và", "and" ...); in each, numbers are paired with the
metrics next to them in either order ("12 calls", "gọi 12") and amounts with deals. Words that
mean nothing to the parser are returned, so the caller can say what it did not understand.

Choices where text is read one way on purpose:

- A bare integer of 1000 or more next to a deal is its amount, not a count.
- Only ``khách mới``/``new customer`` mark a new customer, since "mới" also means "just".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from kpi.parsing.amounts import numberish, parse_amount, scan_amount
from kpi.parsing.counts import PLAIN_INT, parse_count
from kpi.parsing.dates import match_day, merge_day
from kpi.parsing.results import (
    DEAL_METRIC,
    LOST_METRIC,
    MAX_COUNT,
    AmbiguousAmount,
    Amount,
    DealItem,
    FreeTextResult,
    Item,
    ParseError,
)
from kpi.parsing.tokens import Tok, split_words
from kpi.parsing.vocabulary import (
    FILLER_LONGEST,
    FILLERS,
    NEW_LONGEST,
    NEW_PHRASES,
    Vocabulary,
    longest_phrase,
    match_phrase,
)

__all__ = ["parse_free_text"]

# In a plain-language deal clause a bare number this big is an amount, not a count of deals.
_DEAL_COUNT_CEILING = 1000


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
    longest = longest_phrase(vocab)
    clause: list[Tok] = []
    for tok in [*split_words(text), Tok("", "", len(text), len(text), sep=True)]:
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
        self.number: Tok | None = None  # a count before its metric: "12 calls"
        # An amount before its deal, with where it was and how it was typed.
        self.amount: tuple[Amount | AmbiguousAmount, tuple[int, str]] | None = None
        self.new_pending = False

    def read(self, toks: Sequence[Tok]) -> None:
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

    def _step(self, toks: Sequence[Tok], norms: Sequence[str], i: int) -> int:
        """Read the phrase at word `i`; return the index after it."""
        day = match_day(norms, i, self.today)
        if day is not None:
            self.state.day = merge_day(self.state.day, day[0])
            return day[1]
        alias = match_phrase(norms, i, self.vocab, self.longest)
        if alias is not None:
            self._metric(alias[0], toks[i])
            return alias[1]
        marker = match_phrase(norms, i, NEW_PHRASES, NEW_LONGEST)
        if marker is not None:
            if self.current is not None and self.current.metric == DEAL_METRIC:
                self.current.is_new = True
            else:
                self.new_pending = True
            return marker[1]
        if numberish(norms[i]):
            return self._number(toks, norms, i)
        if toks[i].raw.startswith("@"):
            return i + 1  # a mention (of the bot, or of a colleague) logs nothing
        filler = match_phrase(norms, i, FILLERS, FILLER_LONGEST)
        if filler is not None:
            return filler[1]
        self.state.unknown.append((toks[i].start, toks[i].raw))
        return i + 1

    def _metric(self, metric: str, word: Tok) -> None:
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

    def _number(self, toks: Sequence[Tok], norms: Sequence[str], i: int) -> int:
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
    bare = PLAIN_INT.fullmatch(norms[i].lstrip("+")) is not None
    try:
        value, end = scan_amount(norms, i)
    except ParseError as exc:
        if bare or PLAIN_INT.fullmatch(norms[i].lstrip("-−")):
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
