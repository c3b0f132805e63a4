"""Logging use cases: a check-in from a command, `/log`, plain language, a button; corrections.

Each public function here is one unit of work: the handler calls it through `Database.run` and
renders the result. Nothing is stored unless everything the result reports is stored. A message
is read by `interpret`, the same way when it arrives and when it is edited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import parsing, periods, store
from kpi.access import ChatInfo, Scope, TeamChoice, resolve, scope_in_team
from kpi.metrics import DEALS, LOST
from kpi.models import (
    CHECKIN_ACTIVE,
    ENTRY_ACTIVE,
    ENTRY_PENDING,
    Activity,
    Checkin,
    Member,
    Metric,
    PendingAction,
    Team,
)
from kpi.names import Names, all_names
from kpi.store import EntryInput, StoredEntry
from kpi.targets import calendar_of, target_book
from kpi.teams import PersonInfo, settings_of

Outcome = Literal[
    "ok",
    "no_team",  # a group the bot is not set up in
    "not_member",  # the caller is not an active member of the team
    "choose_team",  # private chat, several teams: ask
    "bad_input",  # the text could not be read; error_code says why
    "ambiguous",  # an amount with two readings: ask with buttons
    "confirm",  # a value beyond the sanity bound: ask with buttons
    "not_understood",  # plain language with nothing to log
    "cancelled",  # the person pressed "cancel" on a confirmation
    "expired",  # the button's state is gone or was already used
    "not_yours",  # someone pressed a button that asks another person
    "ignored",  # nothing to do (an edit of a message that logged nothing)
]

# Latin command names (Telegram allows nothing else) and the metric each one logs.
COUNT_COMMANDS: dict[str, str] = {
    "call": "calls",
    "goi": "calls",
    "meeting": "meetings",
    "hen": "meetings",
    "lead": "leads",
    "email": "emails",
    "demo": "demos",
    "proposal": "proposals",
    "baogia": "proposals",
}
DEAL_COMMANDS = ("deal", "chot")
LOST_COMMANDS = ("lost", "mat")
LOG_COMMANDS = ("log", "ghi")
LOGGING_COMMANDS = (*COUNT_COMMANDS, *DEAL_COMMANDS, *LOST_COMMANDS, *LOG_COMMANDS)

PENDING_TTL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Progress:
    """Where a metric stands after the check-in, over its target's period."""

    metric: str
    actual: int
    amount: int
    target: float | None
    period: str = "day"


@dataclass(frozen=True)
class LogResult:
    """What a logging request did, for the handler to render."""

    outcome: Outcome
    lang_pref: str | None = None
    team_id: int | None = None
    team_title: str | None = None
    member_name: str = ""
    checkin_id: int | None = None
    entries: tuple[StoredEntry, ...] = ()
    progress: tuple[Progress, ...] = ()
    day: dt.date | None = None
    today: dt.date | None = None
    choices: tuple[TeamChoice, ...] = ()
    error_code: str | None = None
    error_params: dict[str, object] = field(default_factory=dict)
    metric_names: dict[str, Names] = field(default_factory=dict)
    pending_id: int | None = None
    candidates: tuple[int, ...] = ()
    bound_metric: str | None = None
    bound_value: int | None = None
    bound: int | None = None
    unknown: tuple[str, ...] = ()
    celebration: Celebration | None = None  # a deal that counts: congratulate the group
    replaced: bool = False  # an edited message replaced an earlier check-in
    kept: tuple[Kept, ...] = ()  # entries someone else corrected, left as they are by the edit
    command: str | None = None  # the command that was read, for the example in an error
    is_group: bool = False


@dataclass(frozen=True)
class Kept:
    """An entry someone else corrected that an edit of the message leaves as it is, and who."""

    entry: StoredEntry
    by: str


@dataclass(frozen=True)
class Celebration:
    """A deal that just started to count, for the group's congratulation."""

    team_id: int
    chat_id: int
    language: str
    thread: int | None
    amount: int | None
    count: int


# --- reading a message ---------------------------------------------------------------------


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
    rows = session.execute(
        select(Metric.key, Metric.names, Metric.aliases)
        .where(Metric.team_id == team_id, Metric.retired_at.is_(None))
        .order_by(Metric.id)
    ).all()
    return _vocabulary(tuple((k, all_names(names), extra or "") for k, names, extra in rows))


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


# --- scope ---------------------------------------------------------------------------------


def _refusal(scope: Scope, outcome: Outcome) -> LogResult:
    return LogResult(
        outcome,
        lang_pref=scope.lang_pref,
        choices=tuple(scope.choices),
        member_name=scope.member.display_name,
    )


def check_scope(scope: Scope, *, managing: bool = False) -> LogResult | None:
    """Return the refusal for a caller who cannot act here, or None when they can.

    Members may log and look; a configured admin who is not a member may still manage and
    look at a team (`managing`), but has no numbers of their own to log.
    """
    if scope.group_without_team:
        return _refusal(scope, "no_team")
    if scope.choices:
        return _refusal(scope, "choose_team")
    if scope.team is None:
        return _refusal(scope, "not_member")
    if scope.membership is None and not (managing and scope.role == "admin"):
        return _refusal(scope, "not_member")
    return None


def local_today(team: Team, now: dt.datetime) -> dt.date:
    """Return today's date in the team's timezone."""
    return now.astimezone(ZoneInfo(team.timezone)).date()


def check_day(
    team: Team, role: str | None, day: dt.date, today: dt.date
) -> tuple[str, dict[str, object]] | None:
    """Refuse a future day or one outside the caller's edit window."""
    if day > today:
        return "date.future", {}
    s = settings_of(team)
    window = s.leader_edit_window_days if role in ("leader", "admin") else s.edit_window_days
    if (today - day).days > window:
        return "date.too_old", {"days": window}
    return None


def metric_names(session: Session, team_id: int) -> dict[str, Names]:
    """Return the team's metric names ({language: name}) by key, in catalogue order."""
    rows = session.execute(
        select(Metric.key, Metric.names)
        .where(Metric.team_id == team_id)
        .order_by(Metric.sort_order, Metric.id)
    )
    return {k: names for k, names in rows}


def _base(scope: Scope, session: Session, now: dt.datetime, chat: ChatInfo) -> LogResult:
    team = scope.team
    assert team is not None
    return LogResult(
        "ok",
        lang_pref=scope.lang_pref,
        team_id=team.id,
        team_title=team.title,
        member_name=scope.member.display_name,
        today=local_today(team, now),
        metric_names=metric_names(session, team.id),
        is_group=not chat.is_private,
    )


def _bad(base: LogResult, exc: parsing.ParseError, command: str | None) -> LogResult:
    return dataclasses.replace(
        base,
        outcome="bad_input",
        error_code=exc.code,
        error_params=dict(exc.params),
        command=command,
    )


# --- logging -------------------------------------------------------------------------------


def log_message(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    text: str,
    message_id: int | None,
) -> LogResult:
    """Read a logging command or plain-language message and store it as one check-in."""
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope)
    if refusal is not None:
        return refusal
    assert scope.team is not None
    base = _base(scope, session, now, chat)
    today = base.today
    assert today is not None
    command, _ = split_command(text)
    try:
        reading = interpret(text, vocabulary(session, scope.team.id), today)
    except parsing.ParseError as exc:
        return _bad(base, exc, command)
    base = dataclasses.replace(base, command=command, unknown=reading.unknown)
    if not reading.entries:
        if command is None:
            return dataclasses.replace(base, outcome="not_understood")
        return _bad(base, parsing.ParseError("log.empty"), command)
    plan = _Plan(
        entries=list(reading.entries),
        day=reading.day or today,
        source=reading.source,
        chat_id=chat.id,
        message_id=message_id,
        text=text,
    )
    if reading.ambiguous is not None:
        index, amount = reading.ambiguous
        return _ask_amount(session, scope, base, plan, index, amount, now)
    return _store(session, scope, base, plan, now, confirmed=False)


@dataclass
class _Plan:
    """A check-in about to be stored (also what a pending confirmation keeps)."""

    entries: list[EntryInput]
    day: dt.date
    source: str
    chat_id: int
    message_id: int | None
    text: str | None
    checkin_id: int | None = None  # set when an edited message replaces a check-in

    def to_json(self) -> dict[str, Any]:
        """Return the JSON a PendingAction stores."""
        return {
            "entries": [dataclasses.asdict(e) for e in self.entries],
            "day": self.day.isoformat(),
            "source": self.source,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
            "checkin_id": self.checkin_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Plan:
        """Rebuild a plan from a PendingAction's JSON."""
        return cls(
            entries=[EntryInput(**e) for e in data["entries"]],
            day=dt.date.fromisoformat(data["day"]),
            source=data["source"],
            chat_id=int(data["chat_id"]),
            message_id=data.get("message_id"),
            text=data.get("text"),
            checkin_id=data.get("checkin_id"),
        )


def _pending(
    session: Session, scope: Scope, kind: str, plan: _Plan, now: dt.datetime, **extra: Any
) -> PendingAction:
    assert scope.team is not None
    action = PendingAction(
        kind=kind,
        team_id=scope.team.id,
        member_id=scope.member.id,
        chat_id=plan.chat_id,
        payload={"plan": plan.to_json(), **extra},
        created_at=now,
        expires_at=now + PENDING_TTL,
    )
    session.add(action)
    session.flush()
    return action


def _ask_amount(
    session: Session,
    scope: Scope,
    base: LogResult,
    plan: _Plan,
    index: int,
    amount: parsing.AmbiguousAmount,
    now: dt.datetime,
) -> LogResult:
    action = _pending(
        session, scope, "amount", plan, now, index=index, candidates=list(amount.candidates)
    )
    return dataclasses.replace(
        base,
        outcome="ambiguous",
        pending_id=action.id,
        candidates=tuple(amount.candidates),
        error_params={"text": amount.text},
        day=plan.day,
    )


def _over_bound(session: Session, scope: Scope, plan: _Plan) -> tuple[str, int, int] | None:
    """Return (metric, value, bound) for the first entry beyond its sanity bound."""
    assert scope.team is not None
    bounds = dict(
        session.execute(
            select(Metric.key, Metric.daily_bound).where(Metric.team_id == scope.team.id)
        ).all()
    )
    deal_bound = settings_of(scope.team).deal_amount_bound
    for e in plan.entries:
        if e.metric == DEALS and e.amount is not None and e.amount > deal_bound * max(e.value, 1):
            return "amount", e.amount, deal_bound
        bound = bounds.get(e.metric)
        if bound is None:
            continue
        existing = day_total(session, scope.team.id, scope.member.id, e.metric, plan.day)
        if plan.checkin_id is not None:
            # An edited message replaces its own entries: they do not count twice.
            existing -= _own_total(session, plan.checkin_id, e.metric, plan.day)
        if existing + e.value > bound:
            return e.metric, existing + e.value, int(bound)
    return None


def _store(
    session: Session,
    scope: Scope,
    base: LogResult,
    plan: _Plan,
    now: dt.datetime,
    *,
    confirmed: bool,
) -> LogResult:
    team = scope.team
    assert team is not None and base.today is not None
    names = base.metric_names
    unknown = [e.metric for e in plan.entries if e.metric not in names]
    if unknown:
        return _bad(base, parsing.ParseError("metric.unknown", word=unknown[0]), base.command)
    refused = check_day(team, scope.role, plan.day, base.today)
    if refused is not None:
        code, params = refused
        return dataclasses.replace(
            base, outcome="bad_input", error_code=code, error_params=params, day=plan.day
        )
    if not confirmed:
        over = _over_bound(session, scope, plan)
        if over is not None:
            action = _pending(session, scope, "bound", plan, now)
            metric, value, bound = over
            return dataclasses.replace(
                base,
                outcome="confirm",
                pending_id=action.id,
                bound_metric=metric,
                bound_value=value,
                bound=bound,
                day=plan.day,
            )
    pending_metrics = (DEALS,) if settings_of(team).deal_approval else ()
    replaced = False
    kept: tuple[Kept, ...] = ()
    if plan.checkin_id is not None:
        checkin = session.get(Checkin, plan.checkin_id)
        assert checkin is not None
        replacement = store.replace_checkin_entries(
            session,
            checkin,
            plan.entries,
            day=plan.day,
            actor_id=scope.member.id,
            text=plan.text or "",
            now=now,
            pending_metrics=pending_metrics,
        )
        stored, kept = replacement.entries, _kept(session, replacement.kept)
        checkin_id, replaced = checkin.id, True
    else:
        checkin_id, stored = store.record_checkin(
            session,
            team_id=team.id,
            member_id=scope.member.id,
            actor_id=scope.member.id,
            source=plan.source,
            day=plan.day,
            entries=plan.entries,
            now=now,
            chat_id=plan.chat_id,
            message_id=plan.message_id,
            text=plan.text,
            pending_metrics=pending_metrics,
        )
    progress = day_progress(session, team, scope.member.id, plan.day, {e.metric for e in stored})
    return dataclasses.replace(
        base,
        celebration=_celebration(team, stored) if not replaced else None,
        checkin_id=checkin_id,
        entries=tuple(stored),
        progress=progress,
        day=plan.day,
        replaced=replaced,
        kept=kept,
    )


def _kept(session: Session, kept: Sequence[store.KeptEntry]) -> tuple[Kept, ...]:
    """Name who made each correction an edited message left alone."""
    out = []
    for k in kept:
        who = session.get(Member, k.corrected_by)
        out.append(Kept(k.entry, who.display_name if who is not None else f"#{k.corrected_by}"))
    return tuple(out)


def _celebration(team: Team, stored: Sequence[StoredEntry]) -> Celebration | None:
    """Congratulate deals when they count (not while they wait for a leader's approval)."""
    settings = settings_of(team)
    deals = [e for e in stored if e.metric == DEALS and e.status == ENTRY_ACTIVE]
    if not settings.celebrations or not deals:
        return None
    amounts = [e.amount for e in deals if e.amount is not None]
    return Celebration(
        team.id,
        team.chat_id,
        team.language,
        settings.topics.get("celebration"),
        sum(amounts) if amounts else None,
        sum(e.value for e in deals),
    )


def resolve_pending(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    pending_id: int,
    choice: str,
) -> LogResult:
    """Answer a button on a confirmation: pick an amount, confirm a big value, or cancel."""
    scope = resolve(session, person, chat, admins, now)
    action = session.get(PendingAction, pending_id) if 0 < pending_id <= store.MAX_ID else None
    if action is not None and action.member_id != scope.member.id:
        # In a group anyone can press; the question stays for the person it asks.
        return LogResult("not_yours", lang_pref=scope.lang_pref)
    if action is None or action.resolved_at is not None or action.expires_at <= now:
        return LogResult("expired", lang_pref=scope.lang_pref)
    # The pending action names its team: a private chat with several teams is not ambiguous.
    team = session.get(Team, action.team_id) if action.team_id else None
    if team is None or not team.active:
        return LogResult("expired", lang_pref=scope.lang_pref)

    scope = scope_in_team(session, scope.member, team, admins, scope.lang_pref)
    if scope.membership is None:
        return _refusal(scope, "not_member")
    action.resolved_at = now
    action.resolution = choice[:32]
    base = _base(scope, session, now, ChatInfo(action.chat_id, chat.type))
    if choice == "no":
        return dataclasses.replace(base, outcome="cancelled")
    plan = _Plan.from_json(action.payload["plan"])
    # Confirm the way the original message would have been confirmed (a command or not).
    command = split_command(plan.text)[0] if plan.text is not None else LOG_COMMANDS[0]
    base = dataclasses.replace(base, command=command)
    if action.kind == "amount":
        try:
            amount = int(action.payload["candidates"][int(choice)])
        except (ValueError, IndexError, KeyError):
            return LogResult("expired", lang_pref=scope.lang_pref)
        index = int(action.payload["index"])
        plan.entries[index] = dataclasses.replace(plan.entries[index], amount=amount)
        return _store(session, scope, base, plan, now, confirmed=False)
    if action.kind == "bound" and choice == "yes":
        return _store(session, scope, base, plan, now, confirmed=True)
    return LogResult("expired", lang_pref=scope.lang_pref)


def quick_add(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    metric: str,
) -> LogResult:
    """Log +1 of a metric from the bare `/log` keyboard."""
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope)
    if refusal is not None:
        return refusal
    base = _base(scope, session, now, chat)
    today = base.today
    assert today is not None
    if metric == DEALS or metric not in base.metric_names:
        return _bad(base, parsing.ParseError("metric.unknown", word=metric), "log")
    base = dataclasses.replace(base, command=LOG_COMMANDS[0])  # the bare /log keyboard
    plan = _Plan([EntryInput(metric, 1)], today, "button", chat.id, None, None)
    return _store(session, scope, base, plan, now, confirmed=False)


def reread_edited(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    text: str,
    message_id: int,
    sent_at: dt.datetime | None = None,
) -> LogResult:
    """Re-read an edited message that carried a check-in; its entries are replaced in place.

    Relative dates ("hôm qua") are read against the day the message was first sent, and a
    check-in that was undone stays undone. What a leader (anyone but the rep) corrected stays
    as corrected: those metrics are not re-read, and the rep is told why.
    """
    # Most edited messages in a group carry no check-in: find out before touching anything.
    checkin = store.checkin_for_message(session, chat.id, message_id)
    if checkin is None:
        return LogResult("ignored")
    scope = resolve(session, person, chat, admins, now)
    if checkin.member_id != scope.member.id:
        return LogResult("ignored", lang_pref=scope.lang_pref)
    team = session.get(Team, checkin.team_id)
    assert team is not None

    scope = scope_in_team(session, scope.member, team, admins, scope.lang_pref)
    if checkin.status != CHECKIN_ACTIVE:
        if scope.membership is None:
            return LogResult("ignored", lang_pref=scope.lang_pref)
        notes = store.note_ignored_edit(
            session, checkin, actor_id=scope.member.id, text=text, now=now
        )
        if not notes:
            return LogResult("ignored", lang_pref=scope.lang_pref)
        base = _base(scope, session, now, chat)
        # Nothing is replaced: the rep only learns why the edit changed nothing.
        return dataclasses.replace(base, checkin_id=checkin.id, kept=_kept(session, notes))
    if scope.membership is None:
        return _refusal(scope, "not_member")
    base = _base(scope, session, now, chat)
    assert base.today is not None
    # (Never later than today: a clock that runs ahead must not make "hôm qua" a future day.)
    sent_day = min(local_today(team, sent_at), base.today) if sent_at else base.today
    command, _ = split_command(text)
    try:
        reading = interpret(text, vocabulary(session, team.id), sent_day)
    except parsing.ParseError as exc:
        return _bad(base, exc, command)
    base = dataclasses.replace(base, command=command, unknown=reading.unknown)
    # Metrics someone else corrected are not read again: no question is asked about them.
    skip = store.kept_metrics(session, checkin)
    entries = [e for e in reading.entries if e.metric not in skip]
    plan = _Plan(
        entries,
        reading.day or checkin.day,
        reading.source,
        chat.id,
        message_id,
        text,
        checkin_id=checkin.id,
    )
    if not plan.entries:
        replacement = store.replace_checkin_entries(
            session, checkin, [], day=checkin.day, actor_id=scope.member.id, text=text, now=now
        )
        return dataclasses.replace(
            base,
            outcome="ok",
            replaced=True,
            checkin_id=checkin.id,
            kept=_kept(session, replacement.kept),
        )
    if reading.ambiguous is not None:
        index, amount = reading.ambiguous
        if reading.entries[index].metric not in skip:
            index -= sum(1 for e in reading.entries[:index] if e.metric in skip)
            return _ask_amount(session, scope, base, plan, index, amount, now)
    return _store(session, scope, base, plan, now, confirmed=False)


def day_progress(
    session: Session, team: Team, member_id: int, day: dt.date, metrics: set[str]
) -> tuple[Progress, ...]:
    """Return where the member stands in each metric, over the period its target is set for.

    A daily calls target shows today's calls; a monthly revenue target shows the month so far:
    what a rep wants to see right after logging.
    """
    cal = calendar_of(session, team)
    book = target_book(session, team, cal)
    wanted: list[tuple[str, str]] = []  # (kpi, metric it sums)
    for metric in sorted(metrics):
        wanted.append((metric, metric))
        if metric == DEALS:
            wanted.append(("revenue", DEALS))
    spans: dict[str, periods.Span] = {}
    for kpi, _ in wanted:
        row = book.row(kpi, member_id)
        period = row.period if row is not None else "day"
        spans.setdefault(period, periods.span_of(period, day, cal))  # type: ignore[arg-type]
    sums = {
        period: store.member_sums(session, team.id, span.start, span.end, [member_id]).get(
            member_id, {}
        )
        for period, span in spans.items()
    }
    out = []
    for kpi, metric in wanted:
        row = book.row(kpi, member_id)
        period = row.period if row is not None else "day"
        s = sums[period].get(metric, store.MetricSum())
        actual = s.amount if kpi == "revenue" else s.value
        out.append(Progress(kpi, actual, s.amount, row.value if row is not None else None, period))
    return tuple(out)


def _own_total(session: Session, checkin_id: int, metric: str, day: dt.date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Activity.value), 0)).where(
            Activity.checkin_id == checkin_id,
            Activity.metric == metric,
            Activity.day == day,
            Activity.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
        )
    )
    return int(total or 0)


def day_total(session: Session, team_id: int, member_id: int, metric: str, day: dt.date) -> int:
    """Return a member's counted total of one metric on one day."""
    total = session.scalar(
        select(func.coalesce(func.sum(Activity.value), 0)).where(
            Activity.team_id == team_id,
            Activity.member_id == member_id,
            Activity.metric == metric,
            Activity.day == day,
            Activity.status.in_((ENTRY_ACTIVE, ENTRY_PENDING)),
        )
    )
    return int(total or 0)


# --- corrections ---------------------------------------------------------------------------

CorrectionOutcome = Literal[
    "ok",
    "no_team",
    "not_member",
    "choose_team",
    "nothing",
    "not_found",
    "forbidden",
    "too_old",
    "bad_input",
    "confirm",  # the new value is beyond the sanity bound: asked with buttons
    "cancelled",
    "expired",
]


@dataclass(frozen=True)
class CorrectionResult:
    """What /undo, /edit or /void did, or a history listing."""

    outcome: CorrectionOutcome
    lang_pref: str | None = None
    entries: tuple[StoredEntry, ...] = ()
    before: tuple[StoredEntry, ...] = ()
    metric_names: dict[str, Names] = field(default_factory=dict)
    choices: tuple[TeamChoice, ...] = ()
    error_code: str | None = None
    error_params: dict[str, object] = field(default_factory=dict)
    days: int | None = None
    today: dt.date | None = None
    pending_id: int | None = None
    bound_metric: str | None = None
    bound_value: int | None = None
    bound: int | None = None


def _correction_scope(
    session: Session, person: PersonInfo, chat: ChatInfo, admins: frozenset[int], now: dt.datetime
) -> tuple[Scope, CorrectionResult | None]:
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope, managing=True)
    if refusal is not None:
        return scope, CorrectionResult(
            refusal.outcome,  # type: ignore[arg-type]
            lang_pref=scope.lang_pref,
            choices=refusal.choices,
        )
    return scope, None


def _scope_of_team(
    session: Session, scope: Scope, chat: ChatInfo, team_id: int, admins: frozenset[int]
) -> Scope | None:
    """Return the caller's scope in the team a check-in or entry belongs to; None without a role.

    A correction is judged by that team's role and edit window, never by the team of the chat
    it is sent from or the caller's chosen team: a leader elsewhere is a rep here. In a team's
    group only that team's entries exist: an answer there must not show another team's numbers.
    """
    if scope.team is not None and not chat.is_private and scope.team.id != team_id:
        return None
    team = session.get(Team, team_id)
    if team is None or not team.active:
        return None
    own = scope_in_team(session, scope.member, team, admins, scope.lang_pref)
    return own if own.role is not None else None


def _unknown_to(scope: Scope, outcome: CorrectionOutcome) -> CorrectionResult:
    """Answer a caller without a role in the entry's team: a stranger is told to join first."""
    refusal = check_scope(scope, managing=True)
    if refusal is not None and refusal.outcome in ("no_team", "not_member"):
        return CorrectionResult(refusal.outcome, lang_pref=scope.lang_pref)
    return CorrectionResult(outcome, scope.lang_pref)


def undo(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    checkin_id: int | None = None,
) -> CorrectionResult:
    """Void the caller's last check-in (or the one an undo button names), whole."""
    if checkin_id is None:
        scope, refusal = _correction_scope(session, person, chat, admins, now)
        if refusal is not None:
            return refusal
        assert scope.team is not None
        checkin = store.last_checkin(session, scope.team.id, scope.member.id)
    else:
        asker = resolve(session, person, chat, admins, now)
        if asker.group_without_team:
            return _unknown_to(asker, "nothing")
        checkin = session.get(Checkin, checkin_id) if 0 < checkin_id <= store.MAX_ID else None
        own = _scope_of_team(session, asker, chat, checkin.team_id, admins) if checkin else None
        if checkin is None or own is None:
            return _unknown_to(asker, "nothing")
        scope = own
        if checkin.member_id != scope.member.id:
            # An undo button in the group undoes only its owner's check-in.
            return CorrectionResult(
                "forbidden", scope.lang_pref, metric_names=metric_names(session, checkin.team_id)
            )
        if checkin.status != CHECKIN_ACTIVE:
            checkin = None
    assert scope.team is not None
    names = metric_names(session, scope.team.id)
    if checkin is None:
        return CorrectionResult("nothing", scope.lang_pref, metric_names=names)
    today = local_today(scope.team, now)
    if check_day(scope.team, scope.role, checkin.day, today) is not None:
        return CorrectionResult(
            "too_old", scope.lang_pref, days=_window(scope), metric_names=names
        )
    voided = store.void_checkin(session, checkin, actor_id=scope.member.id, now=now)
    return CorrectionResult("ok", scope.lang_pref, entries=tuple(voided), metric_names=names)


def _window(scope: Scope) -> int:
    assert scope.team is not None
    s = settings_of(scope.team)
    return s.leader_edit_window_days if scope.is_leader else s.edit_window_days


def history(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    limit: int = 15,
) -> CorrectionResult:
    """List the caller's recent entries with their ids (voided ones marked)."""
    scope, refusal = _correction_scope(session, person, chat, admins, now)
    if refusal is not None:
        return refusal
    assert scope.team is not None
    rows = store.history(session, scope.team.id, scope.member.id, limit=limit)
    return CorrectionResult(
        "ok",
        scope.lang_pref,
        entries=tuple(rows),
        metric_names=metric_names(session, scope.team.id),
        today=local_today(scope.team, now),
    )


def _editable(
    session: Session,
    asker: Scope,
    chat: ChatInfo,
    admins: frozenset[int],
    entry_ref: str,
    now: dt.datetime,
) -> tuple[Scope, Activity | None, CorrectionResult | None]:
    """Find the entry a command names and the caller's scope in its team, or why not."""
    try:
        entry_id = int(entry_ref.lstrip("#"))
    except ValueError:
        return asker, None, CorrectionResult("bad_input", asker.lang_pref, error_code="entry.id")
    entry = session.get(Activity, entry_id) if 0 < entry_id <= store.MAX_ID else None
    scope = _scope_of_team(session, asker, chat, entry.team_id, admins) if entry else None
    if entry is None or scope is None:
        # Another team's entries do not exist for the caller.
        return asker, None, _unknown_to(asker, "not_found")
    assert scope.team is not None
    names = metric_names(session, scope.team.id)
    if entry.status not in (ENTRY_ACTIVE, ENTRY_PENDING):
        return scope, None, CorrectionResult("not_found", scope.lang_pref, metric_names=names)
    if entry.member_id != scope.member.id and not scope.is_leader:
        return scope, None, CorrectionResult("forbidden", scope.lang_pref, metric_names=names)
    today = local_today(scope.team, now)
    if check_day(scope.team, scope.role, entry.day, today) is not None:
        return (
            scope,
            None,
            CorrectionResult("too_old", scope.lang_pref, days=_window(scope), metric_names=names),
        )
    return scope, entry, None


def _asker(
    session: Session, person: PersonInfo, chat: ChatInfo, admins: frozenset[int], now: dt.datetime
) -> tuple[Scope, CorrectionResult | None]:
    """Resolve who sends a correction naming an entry; refuse only a group without a team."""
    asker = resolve(session, person, chat, admins, now)
    if asker.group_without_team:
        return asker, CorrectionResult("no_team", asker.lang_pref)
    return asker, None


def edit(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> CorrectionResult:
    """Change one entry: `/edit <id> <value>` (a count, or for a deal its amount)."""
    asker, refusal = _asker(session, person, chat, admins, now)
    if refusal is not None:
        return refusal
    ref, _, value_text = args.strip().partition(" ")
    if not ref or not value_text.strip():
        return CorrectionResult("bad_input", asker.lang_pref, error_code="edit.usage")
    scope, entry, problem = _editable(session, asker, chat, admins, ref, now)
    if problem is not None:
        return problem
    assert entry is not None and scope.team is not None
    names = metric_names(session, scope.team.id)
    before = store.stored_entry(entry)
    try:
        value: int | None = None
        amount_value: int | None = None
        if entry.metric == DEALS:
            amount = parsing.parse_amount(value_text)
            if isinstance(amount, parsing.AmbiguousAmount):
                raise parsing.ParseError("amount.ambiguous", text=amount.text)
            amount_value = amount.value
        else:
            value = parsing.parse_count(value_text.strip())
    except parsing.ParseError as exc:
        return CorrectionResult(
            "bad_input",
            scope.lang_pref,
            error_code=exc.code,
            error_params=dict(exc.params),
            metric_names=names,
        )
    over = _edit_over_bound(session, scope, entry, value, amount_value)
    if over is not None:
        # The same question a new entry gets: a big value is confirmed, never stored silently.
        action = PendingAction(
            kind="edit",
            team_id=scope.team.id,
            member_id=scope.member.id,
            chat_id=chat.id,
            payload={"entry_id": entry.id, "value": value, "amount": amount_value},
            created_at=now,
            expires_at=now + PENDING_TTL,
        )
        session.add(action)
        session.flush()
        metric, total, bound = over
        return CorrectionResult(
            "confirm",
            scope.lang_pref,
            metric_names=names,
            pending_id=action.id,
            bound_metric=metric,
            bound_value=total,
            bound=bound,
        )
    store.edit_entry(
        session, entry, value=value, amount=amount_value, actor_id=scope.member.id, now=now
    )
    return CorrectionResult(
        "ok",
        scope.lang_pref,
        entries=(store.stored_entry(entry),),
        before=(before,),
        metric_names=names,
    )


def _edit_over_bound(
    session: Session, scope: Scope, entry: Activity, value: int | None, amount: int | None
) -> tuple[str, int, int] | None:
    """Return (metric, new day total or amount, bound) when an edit goes beyond the bound."""
    assert scope.team is not None
    if amount is not None:
        bound = settings_of(scope.team).deal_amount_bound
        return ("amount", amount, bound) if amount > bound * max(entry.value, 1) else None
    if value is None:
        return None
    daily = session.scalar(
        select(Metric.daily_bound).where(
            Metric.team_id == scope.team.id, Metric.key == entry.metric
        )
    )
    if daily is None:
        return None
    others = day_total(session, entry.team_id, entry.member_id, entry.metric, entry.day)
    total = others - entry.value + value
    return (entry.metric, total, int(daily)) if total > daily else None


def confirm_edit(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    pending_id: int,
    choice: str,
) -> CorrectionResult:
    """Answer the buttons of an /edit beyond the sanity bound: apply it, or cancel.

    Judged, like the /edit that asked, by the team of the entry: not by the chat's team or the
    team the caller has chosen since.
    """
    asker = resolve(session, person, chat, admins, now)
    action = session.get(PendingAction, pending_id) if 0 < pending_id <= store.MAX_ID else None
    if (
        action is None
        or action.kind != "edit"
        or action.member_id != asker.member.id
        or action.resolved_at is not None
        or action.expires_at <= now
    ):
        return CorrectionResult("expired", asker.lang_pref)
    action.resolved_at = now
    action.resolution = choice[:32]
    if choice != "yes":
        return CorrectionResult("cancelled", asker.lang_pref)
    # Checked again: the entry may have been voided, or gone out of the window, or the caller
    # may have lost the role, meanwhile.
    scope, entry, problem = _editable(
        session, asker, chat, admins, str(action.payload["entry_id"]), now
    )
    if problem is not None:
        return problem
    assert entry is not None and scope.team is not None
    before = store.stored_entry(entry)
    store.edit_entry(
        session,
        entry,
        value=action.payload.get("value"),
        amount=action.payload.get("amount"),
        actor_id=scope.member.id,
        now=now,
    )
    return CorrectionResult(
        "ok",
        scope.lang_pref,
        entries=(store.stored_entry(entry),),
        before=(before,),
        metric_names=metric_names(session, scope.team.id),
    )


def void(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> CorrectionResult:
    """Void one entry: `/void <id>` (history kept)."""
    asker, refusal = _asker(session, person, chat, admins, now)
    if refusal is not None:
        return refusal
    ref = args.strip().split(" ", 1)[0]
    if not ref:
        return CorrectionResult("bad_input", asker.lang_pref, error_code="void.usage")
    scope, entry, problem = _editable(session, asker, chat, admins, ref, now)
    if problem is not None:
        return problem
    assert entry is not None and scope.team is not None
    names = metric_names(session, scope.team.id)
    store.void_entry(session, entry, actor_id=scope.member.id, now=now)
    return CorrectionResult(
        "ok", scope.lang_pref, entries=(store.stored_entry(entry),), metric_names=names
    )


def logging_metrics(session: Session, team_id: int) -> list[str]:
    """Return the metrics the quick-add keyboard offers (counted ones, not deals)."""
    return [
        k
        for k in session.scalars(
            select(Metric.key)
            .where(Metric.team_id == team_id, Metric.retired_at.is_(None))
            .order_by(Metric.sort_order, Metric.id)
        )
        if k != DEALS
    ]


def quick_keyboard(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> LogResult:
    """Prepare the bare `/log` keyboard: the caller's team and its metrics."""
    scope = resolve(session, person, chat, admins, now)
    refusal = check_scope(scope)
    if refusal is not None:
        return refusal
    base = _base(scope, session, now, chat)
    assert scope.team is not None
    keys = logging_metrics(session, scope.team.id)
    names = {k: base.metric_names[k] for k in keys}
    return dataclasses.replace(base, metric_names=names, command="log")
