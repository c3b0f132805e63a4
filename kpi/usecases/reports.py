"""Report use cases: a member's own KPIs (/me), a team's board (/leaderboard, summaries), a
KPI's daily trend (/chart).

Each resolves the caller, asks `require` for what it needs and returns one typed outcome. The
scoring comes from kpi.scoring (pure) and kpi.standings (a member's lines, a team's board).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kpi import closing, parsing, periods, store
from kpi.access import ChatInfo, Refusal, require, resolve
from kpi.calendar import WorkCalendar, is_working_day, local_today
from kpi.models import Team
from kpi.names import Names
from kpi.periods import Span
from kpi.posts.chats import GroupReport, report_in_group
from kpi.scoring import additive, kpi_value
from kpi.standings import (
    Board,
    MeLine,
    member_lines,
    ranked_people,
    taking_part,
    team_board,
    totals_of,
)
from kpi.targets import calendar_of, find_kpi, kpi_defs, target_book
from kpi.teams import PersonInfo, member_by_handle
from kpi.usecases.outcomes import UnknownKpi, UnknownMember

# --- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeReport:
    """A member's own KPIs: each over its target's period, or all over one asked-for period."""

    lang_pref: str | None
    team_title: str
    member_name: str
    period: str | None
    lines: tuple[MeLine, ...]
    names: Mapping[str, Names]
    score: float | None
    working_day: bool
    today: dt.date


@dataclass(frozen=True)
class BoardReport:
    """A team's board for a command, and who asked where."""

    lang_pref: str | None
    board: Board
    me: int  # the caller's member id (for the private rank and gap)
    is_group: bool
    leader: bool
    # Asked in a group: the answer's key there, and the same report's post a moment ago.
    in_group: GroupReport | None = None
    # A closed month asked for by name: the board is its report as sent, and these are the
    # changes made in the month since (kpi.closing).
    closed: bool = False
    late: tuple[closing.LateChange, ...] = ()


@dataclass(frozen=True)
class Trend:
    """One KPI per day over a span, for the team or one member, with the daily target."""

    lang_pref: str | None
    kpi: str
    kpi_names: Names
    unit: str
    span: Span
    days: tuple[dt.date, ...]
    values: tuple[float, ...]
    target_per_day: float | None
    who: str | None  # the member's name, or None for the team
    # Asked in a group: the chart's key there, and the same chart's post a moment ago.
    in_group: GroupReport | None = None


@dataclass(frozen=True)
class NotYours:
    """A rep asked for someone else's chart: a leader's view."""

    lang_pref: str | None


BoardOutcome = BoardReport | UnknownKpi | Refusal
TrendOutcome = Trend | UnknownKpi | UnknownMember | NotYours | Refusal


# --- words ---------------------------------------------------------------------------------

SCORE_WORDS = frozenset({"score", "overall", "diem", "diem tong", "tong diem"})
TEAM_WORDS = frozenset({"team", "whole team", "doi", "ca doi", "nhom", "ca nhom"})


def is_team_word(word: str) -> bool:
    """Tell whether words ask for the whole team rather than oneself (`team`, `cả đội`)."""
    return parsing.normalize_text(word).strip() in TEAM_WORDS


def is_score_word(word: str) -> bool:
    """Tell whether a word asks for the overall score (the default ranking)."""
    return parsing.normalize_text(word).strip() in SCORE_WORDS


# --- use cases -----------------------------------------------------------------------------


def me_report(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    period: periods.Period | None = None,
) -> MeReport | Refusal:
    """Compute the caller's own KPIs (each over its own target period unless one is asked)."""
    caller = require(resolve(session, person, chat, admins, now), "member")
    if isinstance(caller, Refusal):
        return caller
    team = caller.team
    cal = calendar_of(session, team)
    today = local_today(cal, now)
    lines, score = member_lines(session, team, cal, caller.member.id, today, now, period)
    return MeReport(
        caller.lang_pref,
        team.title,
        caller.member.display_name,
        period,
        tuple(lines),
        {k.key: k.names for k in kpi_defs(session, team.id)},
        score,
        is_working_day(cal, today),
        today,
    )


def board_for(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    period: periods.Period = "week",
    kpi_word: str | None = None,
    asked_as: str = "leaderboard",
    month: str | None = None,
) -> BoardOutcome:
    """Compute the caller's team board for the period containing today.

    `asked_as` names the command family (`leaderboard`, `summary`): with the period and the
    KPI it tells a repeated report in a group from a new one. `month` (`11/2026`, from
    `/month 11/2026`) asks for that month instead: a closed one as its report was sent.
    """
    caller = require(resolve(session, person, chat, admins, now), "manager")
    if isinstance(caller, Refusal):
        return caller
    team = caller.team
    kpi = None
    if kpi_word and not is_score_word(kpi_word):
        kpi = find_kpi(session, team.id, kpi_word)
        if kpi is None:
            return UnknownKpi(caller.lang_pref, kpi_word)
    cal = calendar_of(session, team)
    today = local_today(cal, now)
    asked = _month_of(month, today) if month else None
    span = periods.span_of(period, asked or today, cal)
    if asked is not None:
        period = "month"
        span = periods.span_of("month", asked, cal)
    sent = closing.sent_report(session, team, span) if asked is not None and not kpi else None
    board = sent.board if sent else team_board(session, team, span, now, kpi=kpi, cal=cal)
    in_group = None
    if not chat.is_private:
        key = f"{asked_as}:{period}:{kpi or ''}" + (f":{span.key}" if asked else "")
        in_group = _in_group(session, chat, team, key, cal, now)
    return BoardReport(
        caller.lang_pref,
        board,
        caller.member.id,
        is_group=not chat.is_private,
        leader=caller.is_leader,
        in_group=in_group,
        closed=sent is not None,
        late=sent.changes if sent else (),
    )


_MONTH = re.compile(r"^(\d{1,2})/(\d{4})$")


def _month_of(words: str, today: dt.date) -> dt.date | None:
    """Read `11/2026` as that month's first day (None otherwise, or for a future month)."""
    m = _MONTH.match(words.strip())
    if m is None or not 1 <= int(m.group(1)) <= 12 or not 2000 <= int(m.group(2)) <= 9999:
        return None
    first = dt.date(int(m.group(2)), int(m.group(1)), 1)
    return first if first <= today else None


def _in_group(
    session: Session, chat: ChatInfo, team: Team, report: str, cal: WorkCalendar, now: dt.datetime
) -> GroupReport:
    return report_in_group(
        session, chat_id=chat.id, team_id=team.id, report=report, cal=cal, now=now
    )


def trend(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    kpi_word: str | None,
    period: periods.Period = "month",
    handle: str | None = None,
    reply_to: int | None = None,
    whole_team: bool = False,
) -> TrendOutcome:
    """Daily values of a counted KPI (or revenue) over the period: `/chart [kpi] [period] [@m]`.

    Without a member it is the caller's own chart in a private chat and the team's in a group
    (or when `whole_team` asks for it).
    """
    caller = require(resolve(session, person, chat, admins, now), "manager")
    if isinstance(caller, Refusal):
        return caller
    team = caller.team
    key = find_kpi(session, team.id, kpi_word) if kpi_word else "revenue"
    kdef = next((k for k in kpi_defs(session, team.id) if k.key == key), None)
    if kdef is None or kdef.unit == "ratio":
        return UnknownKpi(caller.lang_pref, kpi_word)
    member_id: int | None = None
    who = None
    if handle or reply_to is not None:
        member = member_by_handle(session, team.id, handle, reply_to)
        if member is None:
            return UnknownMember(caller.lang_pref, handle)
        if member.id != caller.member.id and not caller.is_leader:
            return NotYours(caller.lang_pref)
        member_id, who = member.id, member.display_name
    elif chat.is_private and not whole_team:
        member_id, who = caller.member.id, caller.member.display_name
    cal = calendar_of(session, team)
    today = local_today(cal, now)
    span = periods.span_of(period, today, cal)
    end = min(span.end, today)
    sums = store.daily_sums(session, team.id, span.start, end, member_id)
    days = [
        d
        for d in (span.start + dt.timedelta(days=i) for i in range((end - span.start).days + 1))
        if is_working_day(cal, d) or d in sums
    ]
    values = tuple(float(kpi_value(kdef, totals_of(sums.get(d, {}))) or 0) for d in days)
    book = target_book(session, team, cal)
    first = periods.first_working_day(cal, span)
    day_span = periods.span_of("day", first or span.start, cal)
    if not additive(kdef):
        # An average is held to its level every day, not to a share of it.
        per_day = book.for_span(kdef.key, member_id, day_span, prorated=False)
    elif member_id is not None:
        per_day = book.for_span(kdef.key, member_id, day_span)
    else:
        # The people the board holds to the team's target (leaders only when they sell).
        sold = store.member_sums(session, team.id, span.start, end)
        parts = [
            book.for_span(kdef.key, p.member_id, day_span)
            for p in taking_part(ranked_people(session, team.id), sold)
        ]
        known = [p for p in parts if p is not None]
        per_day = sum(known) if known else None
    in_group = None
    if not chat.is_private:
        report = f"chart:{kdef.key}:{period}:{member_id or ''}"
        in_group = _in_group(session, chat, team, report, cal, now)
    return Trend(
        caller.lang_pref,
        kdef.key,
        kdef.names,
        kdef.unit,
        span,
        tuple(days),
        values,
        per_day or None,
        who,
        in_group,
    )
