"""Reading a message: which command, what it asks to log, for which day (the same way when
a message arrives and when it is edited)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import catalog, parsing, team_cache
from kpi.catalog import DEALS, LOST
from kpi.models import Metric
from kpi.names import all_names
from kpi.store import EntryInput

# The commands that log, from the metric catalogue (Latin names: Telegram allows nothing else).
COUNT_COMMANDS: dict[str, str] = dict(catalog.COUNT_COMMANDS)
DEAL_COMMANDS = catalog.METRIC_BY_KEY[DEALS].commands
LOST_COMMANDS = catalog.METRIC_BY_KEY[LOST].commands
LOG_COMMANDS = catalog.LOG_COMMANDS
LOGGING_COMMANDS = catalog.LOGGING_COMMANDS


@dataclass(frozen=True)
class Interpretation:
    """What a message asks to log."""

    command: str | None
    entries: tuple[EntryInput, ...]
    day: dt.date | None
    ambiguous: tuple[int, parsing.AmbiguousAmount] | None = None  # entry index, amount
    unknown: tuple[str, ...] = ()
    source: str = "command"


def split_command(text: str) -> tuple[str | None, str]:
    """Split `/call@bot 3 note` into ("call", "3 note"); (None, text) for plain text."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None, stripped
    head, _, rest = stripped.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return name, rest.strip()


def vocabulary(session: Session, team_id: int) -> parsing.Vocabulary:
    """Build the team's metric vocabulary: built-in aliases plus the team's own."""

    def load() -> parsing.Vocabulary:
        rows = session.execute(
            select(Metric.key, Metric.names, Metric.aliases)
            .where(Metric.team_id == team_id, Metric.retired_at.is_(None))
            .order_by(Metric.id)
        ).all()
        return _vocabulary(tuple((k, all_names(names), extra or "") for k, names, extra in rows))

    return team_cache.cached(session, team_id, "vocabulary", load)


@functools.lru_cache(maxsize=256)
def _vocabulary(rows: tuple[tuple[str, tuple[str, ...], str], ...]) -> parsing.Vocabulary:
    # Building the vocabulary normalises a few hundred phrases: done once per catalogue.
    entries = []
    for key, names, extra in rows:
        aliases = [*parsing.DEFAULT_ALIASES.get(key, ()), *names]
        aliases += [a.strip() for a in extra.split(",") if a.strip()]
        entries.append((key, aliases))
    try:
        return parsing.build_vocabulary(entries)
    except parsing.ParseError:
        # A team alias that clashes with a built-in one: fall back to the built-ins only.
        return parsing.build_vocabulary(
            (k, (*parsing.DEFAULT_ALIASES.get(k, ()),)) for k, *_ in rows
        )


def interpret(text: str, vocab: parsing.Vocabulary, today: dt.date) -> Interpretation:
    """Read a logging command or a plain-language message; raises ParseError on bad input."""
    command, args = split_command(text)
    if command in COUNT_COMMANDS:
        c = parsing.parse_count_note(args, today)
        return Interpretation(
            command, (EntryInput(COUNT_COMMANDS[command], c.count, note=c.note),), c.day
        )
    if command in LOG_COMMANDS:
        req = parsing.parse_log(args, vocab, today)
        return Interpretation(
            command, tuple(EntryInput(m, n) for m, n in req.items), req.day, source="log"
        )
    if command in DEAL_COMMANDS:
        d = parsing.parse_deal(args, today)
        entry = EntryInput(
            DEALS,
            d.count,
            amount=d.amount.value if isinstance(d.amount, parsing.Amount) else None,
            customer=d.customer,
            is_new_customer=d.is_new,
            note=d.note,
        )
        ambiguous = (0, d.amount) if isinstance(d.amount, parsing.AmbiguousAmount) else None
        return Interpretation(command, (entry,), d.day, ambiguous)
    if command in LOST_COMMANDS:
        lost = parsing.parse_lost(args, today)
        entry = EntryInput(LOST, lost.count, customer=lost.customer, note=lost.note)
        return Interpretation(command, (entry,), lost.day)
    if command is not None:
        return Interpretation(command, (), None)
    free = parsing.parse_free_text(args, vocab, today)
    entries = [EntryInput(i.metric, i.count) for i in free.items if i.metric != DEALS]
    ambiguous = None
    for deal in free.deals:
        if isinstance(deal.amount, parsing.AmbiguousAmount) and ambiguous is None:
            ambiguous = (len(entries), deal.amount)
        amount = deal.amount.value if isinstance(deal.amount, parsing.Amount) else None
        entries.append(EntryInput(DEALS, deal.count, amount=amount, is_new_customer=deal.is_new))
    return Interpretation(None, tuple(entries), free.day, ambiguous, free.unknown, "text")
