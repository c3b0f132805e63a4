"""Logging use cases: a check-in from a command, `/log`, plain language, a button, an edit.

Each public function is one unit of work (the handler runs it through `Database.run`) and
returns one outcome: nothing is stored unless everything the outcome reports is stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kpi import approvals, audit, closing, entries, parsing, pending, reading, store
from kpi.access import Caller, ChatInfo, Refusal, require, resolve, scope_in_team
from kpi.approvals import FlagNote, PendingDeal
from kpi.catalog import DEALS
from kpi.entries import Progress
from kpi.models import CHECKIN_ACTIVE, ENTRY_ACTIVE, ENTRY_PENDING, Checkin, Member, Team
from kpi.names import Names
from kpi.posts.content import Recipient, leaders_of
from kpi.posts.registry import CELEBRATION
from kpi.reading import LOG_COMMANDS, split_command
from kpi.store import EntryInput, StoredEntry
from kpi.teams import PersonInfo, settings_of
from kpi.usecases.outcomes import AskBound, BadInput, Closed

# --- outcomes ------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Logged:
    """A check-in stored (or replaced by an edited message), with where the member stands."""

    lang_pref: str | None
    team_id: int
    member_name: str
    checkin_id: int
    day: dt.date
    today: dt.date
    names: Mapping[str, Names]
    is_group: bool
    command: str | None  # the command read; None for plain language (shown with an undo)
    entries: tuple[StoredEntry, ...] = ()
    progress: tuple[Progress, ...] = ()
    unknown: tuple[str, ...] = ()  # words of plain language that were not understood
    celebration: Celebration | None = None  # a deal that counts: congratulate the group
    replaced: bool = False  # an edited message replaced an earlier check-in
    kept: tuple[Kept, ...] = ()  # entries someone else corrected, left as they are by the edit
    approval: tuple[PendingDeal, ...] = ()  # deals that now wait for a leader: ask the leaders
    flagged: tuple[FlagNote, ...] = ()  # entries a leader is asked to look at
    leaders: tuple[Recipient, ...] = ()  # who is asked (when something is to be asked)


@dataclass(frozen=True)
class NotUnderstood:
    """Plain language with nothing to log."""

    lang_pref: str | None


@dataclass(frozen=True)
class AskAmount:
    """An amount with two readings: asked with a button per reading."""

    lang_pref: str | None
    pending_id: int
    candidates: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class Ignored:
    """Nothing to do (an edit of a message that logged nothing, or of someone else's)."""


@dataclass(frozen=True)
class QuickMenu:
    """The bare `/log` keyboard: the metrics a +1 button logs."""

    lang_pref: str | None
    names: Mapping[str, Names]


LogOutcome = Logged | Refusal | BadInput | NotUnderstood | AskAmount | AskBound | Closed | Ignored


@dataclass(frozen=True)
class _Context:
    """What every outcome of one request shares."""

    caller: Caller
    today: dt.date
    names: dict[str, Names]
    is_group: bool
    command: str | None = None
    unknown: tuple[str, ...] = ()

    def bad(self, exc: parsing.ParseError, command: str | None = None) -> BadInput:
        return BadInput(self.caller.lang_pref, exc.code, dict(exc.params), command)


def _context(session: Session, caller: Caller, now: dt.datetime, chat: ChatInfo) -> _Context:
    team = caller.team
    return _Context(
        caller,
        entries.local_today(team, now),
        entries.metric_names(session, team.id),
        not chat.is_private,
    )


# --- a check-in about to be stored -----------------------------------------------------------


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
    reason: str | None = None  # a leader's reason for a change into a closed month
    photo: str | None = None  # a photo of the contract sent with the deal (its file_id)

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
            "reason": self.reason,
            "photo": self.photo,
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
            reason=data.get("reason"),
            photo=data.get("photo"),
        )


def _ask(
    session: Session, caller: Caller, kind: str, plan: _Plan, now: dt.datetime, **extra: Any
) -> int:
    action = pending.ask(
        session,
        kind=kind,
        team_id=caller.team.id,
        member_id=caller.member.id,
        chat_id=plan.chat_id,
        payload={"plan": plan.to_json(), **extra},
        now=now,
    )
    return action.id


def _ask_amount(
    session: Session,
    ctx: _Context,
    plan: _Plan,
    index: int,
    amount: parsing.AmbiguousAmount,
    now: dt.datetime,
) -> AskAmount:
    candidates = list(amount.candidates)
    pid = _ask(session, ctx.caller, "amount", plan, now, index=index, candidates=candidates)
    return AskAmount(ctx.caller.lang_pref, pid, tuple(amount.candidates), amount.text)


def _store(
    session: Session, ctx: _Context, plan: _Plan, now: dt.datetime, *, confirmed: bool
) -> LogOutcome:
    caller, team = ctx.caller, ctx.caller.team
    unknown = [e.metric for e in plan.entries if e.metric not in ctx.names]
    if unknown:
        return ctx.bad(parsing.ParseError("metric.unknown", word=unknown[0]), ctx.command)
    refused = entries.check_day(team, caller.role, plan.day, ctx.today)
    if refused is not None:
        code, params = refused
        return BadInput(caller.lang_pref, code, params, ctx.command)
    replacing = session.get(Checkin, plan.checkin_id) if plan.checkin_id is not None else None
    late = _closing(session, ctx, [plan.day] + ([replacing.day] if replacing else []), plan.reason)
    if isinstance(late, BadInput):
        return late
    # A new check-in: the member's standing and day totals in one query, before it is stored.
    before = None
    if plan.checkin_id is None:
        metrics = {e.metric for e in plan.entries}
        before = entries.standing(session, team, caller.member.id, plan.day, metrics)
    if not confirmed:
        over = entries.over_bound(
            session,
            team,
            caller.member.id,
            plan.entries,
            plan.day,
            plan.checkin_id,
            day_totals=before.day_totals if before is not None else None,
        )
        if over is not None:
            metric, value, bound = over
            pid = _ask(session, caller, "bound", plan, now)
            return AskBound(caller.lang_pref, pid, metric, value, bound, ctx.names)
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
            actor_id=caller.member.id,
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
            member_id=caller.member.id,
            actor_id=caller.member.id,
            source=plan.source,
            day=plan.day,
            entries=plan.entries,
            now=now,
            chat_id=plan.chat_id,
            message_id=plan.message_id,
            text=plan.text,
            pending_metrics=pending_metrics,
            photo_file_id=plan.photo,
        )
    if late is not None:
        closing.note(
            session,
            late,
            team_id=team.id,
            actor_id=caller.member.id,
            what="replace" if replaced else "log",
            entity=audit.CHECKIN,
            entity_id=checkin_id,
            day=plan.day,
            member_id=caller.member.id,
            now=now,
        )
    if before is not None:
        progress = before.progress(stored)
    else:
        metrics = {e.metric for e in stored}
        progress = entries.day_progress(session, team, caller.member.id, plan.day, metrics)
    # Deals that wait are put to the leaders; anything that looks off is shown to them too.
    waiting = approvals.pending_of(session, [e.id for e in stored if e.status == ENTRY_PENDING])
    flagged = approvals.flag_entries(session, team, caller.member.id, stored, now)
    leaders = tuple(leaders_of(session, team.id)) if waiting or flagged else ()
    return _logged(
        ctx,
        checkin_id,
        plan.day,
        entries=tuple(stored),
        progress=progress,
        celebration=celebration_for(team, stored) if not replaced else None,
        replaced=replaced,
        kept=kept,
        approval=tuple(waiting),
        flagged=tuple(flagged),
        leaders=leaders,
    )


def _closing(
    session: Session, ctx: _Context, days: list[dt.date], reason: str | None
) -> BadInput | closing.Late | None:
    """Ask the closed-month rule about a check-in touching these days (kpi.closing)."""
    verdict = closing.admit(
        session, ctx.caller.team, leader=ctx.caller.is_leader, days=days, reason=reason
    )
    if isinstance(verdict, closing.Refused):
        return BadInput(ctx.caller.lang_pref, verdict.code, verdict.params, ctx.command)
    return verdict


def _logged(ctx: _Context, checkin_id: int, day: dt.date, **parts: Any) -> Logged:
    c = ctx.caller
    return Logged(
        c.lang_pref,
        c.team.id,
        c.member.display_name,
        checkin_id,
        day,
        ctx.today,
        ctx.names,
        ctx.is_group,
        ctx.command,
        unknown=ctx.unknown,
        **parts,
    )


def _kept(session: Session, kept: Sequence[store.KeptEntry]) -> tuple[Kept, ...]:
    """Name who made each correction an edited message left alone."""
    out = []
    for k in kept:
        who = session.get(Member, k.corrected_by)
        out.append(Kept(k.entry, who.display_name if who is not None else f"#{k.corrected_by}"))
    return tuple(out)


def celebration_for(team: Team, stored: Sequence[StoredEntry]) -> Celebration | None:
    """Congratulate deals when they count (not while they wait for a leader's approval)."""
    settings = settings_of(team)
    deals = [e for e in stored if e.metric == DEALS and e.status == ENTRY_ACTIVE]
    if not CELEBRATION.enabled(settings) or not deals:
        return None
    amounts = [e.amount for e in deals if e.amount is not None]
    return Celebration(
        team.id,
        team.chat_id,
        team.language,
        settings.topics.get(CELEBRATION.key),
        sum(amounts) if amounts else None,
        sum(e.value for e in deals),
    )


# --- the use cases -------------------------------------------------------------------------


def log_message(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    text: str,
    message_id: int | None,
    photo: str | None = None,
) -> LogOutcome:
    """Read a logging command or plain-language message and store it as one check-in.

    `photo`: the file_id of a photo the message carried (a contract captioned `/deal …`).
    """
    caller = require(resolve(session, person, chat, admins, now), "member")
    if isinstance(caller, Refusal):
        return caller
    ctx = _context(session, caller, now, chat)
    command, _ = split_command(text)
    said, reason = closing.split_reason(text)
    try:
        read = reading.interpret(said, reading.vocabulary(session, caller.team.id), ctx.today)
    except parsing.ParseError as exc:
        return ctx.bad(exc, command)
    ctx = dataclasses.replace(ctx, command=command, unknown=read.unknown)
    if not read.entries:
        if command is None:
            return NotUnderstood(caller.lang_pref)
        return ctx.bad(parsing.ParseError("log.empty"), command)
    plan = _Plan(
        entries=list(read.entries),
        day=read.day or ctx.today,
        source=read.source,
        chat_id=chat.id,
        message_id=message_id,
        text=text,
        reason=reason,
        photo=photo,
    )
    if read.ambiguous is not None:
        index, amount = read.ambiguous
        return _ask_amount(session, ctx, plan, index, amount, now)
    return _store(session, ctx, plan, now, confirmed=False)


def resolve_pending(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    pending_id: int,
    choice: str,
) -> LogOutcome:
    """Answer a button on a confirmation: pick an amount, confirm a big value, or cancel."""
    asker = resolve(session, person, chat, admins, now)
    action = pending.find(session, pending_id)
    if action is not None and action.member_id != asker.member.id:
        # In a group anyone can press; the question stays for the person it asks.
        return Closed(asker.lang_pref, "not_yours")
    if action is None or not pending.is_open(action, now):
        return Closed(asker.lang_pref, "expired")
    # The pending action names its team: a private chat with several teams is not ambiguous.
    team = session.get(Team, action.team_id) if action.team_id else None
    if team is None or not team.active:
        return Closed(asker.lang_pref, "expired")
    caller = require(scope_in_team(session, asker.member, team, admins, asker.lang_pref))
    if isinstance(caller, Refusal):
        return caller
    pending.settle(action, choice, now)
    ctx = _context(session, caller, now, ChatInfo(action.chat_id, chat.type))
    if choice == "no":
        return Closed(caller.lang_pref, "cancelled")
    plan = _Plan.from_json(action.payload["plan"])
    # Confirm the way the original message would have been confirmed (a command or not).
    command = split_command(plan.text)[0] if plan.text is not None else LOG_COMMANDS[0]
    ctx = dataclasses.replace(ctx, command=command)
    if action.kind == "amount":
        try:
            amount = int(action.payload["candidates"][int(choice)])
        except (ValueError, IndexError, KeyError):
            return Closed(caller.lang_pref, "expired")
        index = int(action.payload["index"])
        plan.entries[index] = dataclasses.replace(plan.entries[index], amount=amount)
        return _store(session, ctx, plan, now, confirmed=False)
    if action.kind == "bound" and choice == "yes":
        return _store(session, ctx, plan, now, confirmed=True)
    return Closed(caller.lang_pref, "expired")


def quick_keyboard(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> QuickMenu | Refusal:
    """Prepare the bare `/log` keyboard: the caller's team and its metrics."""
    caller = require(resolve(session, person, chat, admins, now), "member")
    if isinstance(caller, Refusal):
        return caller
    names = entries.metric_names(session, caller.team.id)
    keys = entries.logging_metrics(session, caller.team.id)
    return QuickMenu(caller.lang_pref, {k: names[k] for k in keys})


def quick_add(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    metric: str,
) -> LogOutcome:
    """Log +1 of a metric from the bare `/log` keyboard."""
    caller = require(resolve(session, person, chat, admins, now), "member")
    if isinstance(caller, Refusal):
        return caller
    ctx = _context(session, caller, now, chat)
    if metric == DEALS or metric not in ctx.names:
        return ctx.bad(parsing.ParseError("metric.unknown", word=metric), "log")
    ctx = dataclasses.replace(ctx, command=LOG_COMMANDS[0])  # the bare /log keyboard
    plan = _Plan([EntryInput(metric, 1)], ctx.today, "button", chat.id, None, None)
    return _store(session, ctx, plan, now, confirmed=False)


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
) -> LogOutcome:
    """Re-read an edited message that carried a check-in; its entries are replaced in place.

    Relative dates ("hôm qua") are read against the day the message was first sent, and a
    check-in that was undone stays undone. What a leader (anyone but the rep) corrected stays
    as corrected: those metrics are not re-read, and the rep is told why.
    """
    # Most edited messages in a group carry no check-in: find out before touching anything.
    checkin = store.checkin_for_message(session, chat.id, message_id)
    if checkin is None:
        return Ignored()
    asker = resolve(session, person, chat, admins, now)
    if checkin.member_id != asker.member.id:
        return Ignored()
    team = session.get(Team, checkin.team_id)
    assert team is not None
    caller = require(scope_in_team(session, asker.member, team, admins, asker.lang_pref))
    if checkin.status != CHECKIN_ACTIVE:
        if isinstance(caller, Refusal):
            return Ignored()
        notes = store.note_ignored_edit(
            session, checkin, actor_id=caller.member.id, text=text, now=now
        )
        if not notes:
            return Ignored()
        ctx = _context(session, caller, now, chat)
        # Nothing is replaced: the rep only learns why the edit changed nothing.
        return _logged(ctx, checkin.id, checkin.day, kept=_kept(session, notes))
    if isinstance(caller, Refusal):
        return caller
    ctx = _context(session, caller, now, chat)
    # (Never later than today: a clock that runs ahead must not make "hôm qua" a future day.)
    sent_day = min(entries.local_today(team, sent_at), ctx.today) if sent_at else ctx.today
    command, _ = split_command(text)
    said, reason = closing.split_reason(text)
    try:
        read = reading.interpret(said, reading.vocabulary(session, team.id), sent_day)
    except parsing.ParseError as exc:
        return ctx.bad(exc, command)
    ctx = dataclasses.replace(ctx, command=command, unknown=read.unknown)
    # Metrics someone else corrected are not read again: no question is asked about them.
    skip = store.kept_metrics(session, checkin)
    wanted = [e for e in read.entries if e.metric not in skip]
    plan = _Plan(
        wanted,
        read.day or checkin.day,
        read.source,
        chat.id,
        message_id,
        text,
        checkin_id=checkin.id,
        reason=reason,
    )
    if not plan.entries:
        late = _closing(session, ctx, [checkin.day], reason)
        if isinstance(late, BadInput):
            return late
        if late is not None:
            closing.note(
                session,
                late,
                team_id=team.id,
                actor_id=caller.member.id,
                what="replace",
                entity=audit.CHECKIN,
                entity_id=checkin.id,
                day=checkin.day,
                member_id=caller.member.id,
                now=now,
            )
        replacement = store.replace_checkin_entries(
            session, checkin, [], day=checkin.day, actor_id=caller.member.id, text=text, now=now
        )
        return _logged(
            ctx, checkin.id, checkin.day, replaced=True, kept=_kept(session, replacement.kept)
        )
    if read.ambiguous is not None:
        index, amount = read.ambiguous
        if read.entries[index].metric not in skip:
            index -= sum(1 for e in read.entries[:index] if e.metric in skip)
            return _ask_amount(session, ctx, plan, index, amount, now)
    return _store(session, ctx, plan, now, confirmed=False)


__all__ = [
    "AskAmount",
    "Celebration",
    "Ignored",
    "Kept",
    "LogOutcome",
    "Logged",
    "NotUnderstood",
    "QuickMenu",
    "celebration_for",
    "log_message",
    "quick_add",
    "quick_keyboard",
    "reread_edited",
    "resolve_pending",
]
