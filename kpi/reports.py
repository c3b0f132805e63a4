"""The report use cases: a member's own KPIs (/me), a team's board (/leaderboard, summaries),
a KPI's daily trend (/chart).

Each resolves the caller, checks their scope, and returns a small outcome handlers render. The
scoring comes from kpi.scoring (a member's KPI lines) and kpi.standings (a team's board).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from kpi import periods, store
from kpi.access import ChatInfo, Refusal, require, resolve
from kpi.admin import member_by_handle
from kpi.models import Team
from kpi.names import Names
from kpi.periods import Span, WorkCalendar
from kpi.posts.chats import GroupReport, report_in_group
from kpi.scoring import (
    KpiDef,
    KpiLine,
    PreviousTotals,
    additive,
    evaluate,
    kpi_value,
    overall_score,
)
from kpi.standings import (
    Board,
    MemberRow,
    baseline_sums,
    ranked_people,
    taking_part,
    team_board,
    totals_of,
)
from kpi.targets import TargetBook, calendar_of, find_kpi, kpi_defs, target_book
from kpi.teams import PersonInfo, settings_of

__all__ = [
    # A board is part of `BoardResult`: the handlers that render it name its types from here.
    "Board",
    "BoardResult",
    "MeLine",
    "MeReport",
    "MemberRow",
    "Trend",
    "board_for",
    "is_score_word",
    "is_team_word",
    "me_report",
    "member_lines",
    "trend",
]


@dataclass(frozen=True)
class MeLine:
    """One KPI of the member, with the span it is measured over."""

    line: KpiLine
    span: Span
    share: float
    same_point: bool = False  # growth is against the same point of the previous period


@dataclass(frozen=True)
class MeReport:
    """A member's own KPIs: each over its target's period, or all over one asked-for period."""

    outcome: str
    lang_pref: str | None
    refusal: Refusal | None
    team_title: str = ""
    member_name: str = ""
    period: str | None = None
    lines: tuple[MeLine, ...] = ()
    names: Mapping[str, Names] | None = None
    score: float | None = None
    working_day: bool = True
    today: dt.date | None = None


def _member_targets(
    book: TargetBook, kpis: Sequence[KpiDef], member_id: int, span: Span
) -> dict[str, float | None]:
    return {k.key: book.for_span(k.key, member_id, span, prorated=additive(k)) for k in kpis}


def me_report(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    period: periods.Period | None = None,
) -> MeReport:
    """Compute the caller's own KPIs (each over its own target period unless one is asked)."""
    scope = require(resolve(session, person, chat, admins, now), "member")
    if isinstance(scope, Refusal):
        return MeReport("refused", scope.lang_pref, scope)
    team = scope.team
    cal = calendar_of(session, team)
    today = periods.local_today(cal, now)
    lines, score = member_lines(session, team, cal, scope.member.id, today, now, period)
    defs = {k.key: k.names for k in kpi_defs(session, team.id)}
    return MeReport(
        "ok",
        scope.lang_pref,
        None,
        team.title,
        scope.member.display_name,
        period,
        tuple(lines),
        defs,
        score,
        periods.is_working_day(cal, today),
        today,
    )


def member_lines(
    session: Session,
    team: Team,
    cal: WorkCalendar,
    member_id: int,
    today: dt.date,
    now: dt.datetime,
    period: periods.Period | None,
) -> tuple[list[MeLine], float | None]:
    """Evaluate a member's KPIs that have a target or a weight.

    With `period`, every KPI is measured over that period (targets prorated); without, each
    over the period its target is set for (calls today, revenue this month).
    """
    book = target_book(session, team, cal)
    kpis = [
        k
        for k in kpi_defs(session, team.id, today)
        if book.row(k.key, member_id) is not None or k.weight > 0
    ]
    cap = settings_of(team).attainment_cap
    by_period: dict[str, list[KpiDef]] = {}
    for k in kpis:
        row = book.row(k.key, member_id)
        p = period or (row.period if row is not None else k.period)
        by_period.setdefault(p, []).append(k)
    out: dict[str, MeLine] = {}
    for p, group in by_period.items():
        span = periods.span_of(p, today, cal)  # type: ignore[arg-type]
        base = periods.baseline(cal, span, now)
        cur = store.member_sums(session, team.id, span.start, span.end, [member_id])
        whole, with_partial = baseline_sums(session, team.id, base, [member_id])
        share = periods.elapsed_share(cal, span, now)
        previous = PreviousTotals(
            totals_of(whole.get(member_id, {})),
            totals_of(with_partial.get(member_id, {})) if with_partial is not None else None,
            base.fraction,
        )
        lines, _ = evaluate(
            group,
            totals_of(cur.get(member_id, {})),
            previous,
            _member_targets(book, group, member_id, span),
            share,
            cap,
        )
        for ln in lines:
            out[ln.key] = MeLine(ln, span, share, base.same_point)
    ordered = [out[k.key] for k in kpis]
    score = overall_score((m.line.attainment.capped, m.line.weight) for m in ordered)
    return ordered, score


@dataclass(frozen=True)
class BoardResult:
    """A board for a command, or why there is none."""

    outcome: str
    lang_pref: str | None
    refusal: Refusal | None = None
    board: Board | None = None
    me: int | None = None  # the caller's member id (for the private rank and gap)
    is_group: bool = False
    unknown_kpi: str | None = None
    leader: bool = False
    # Asked in a group: the answer's key there, and the same report's post a moment ago.
    in_group: GroupReport | None = None


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
) -> BoardResult:
    """Compute the caller's team board for the period containing today.

    `asked_as` names the command family (`leaderboard`, `summary`): with the period and the
    KPI it tells a repeated report in a group from a new one.
    """
    scope = require(resolve(session, person, chat, admins, now), "manager")
    if isinstance(scope, Refusal):
        return BoardResult("refused", scope.lang_pref, scope)
    team = scope.team
    kpi = None
    if kpi_word and not is_score_word(kpi_word):
        kpi = find_kpi(session, team.id, kpi_word)
        if kpi is None:
            return BoardResult("unknown_kpi", scope.lang_pref, unknown_kpi=kpi_word)
    cal = calendar_of(session, team)
    span = periods.span_of(period, periods.local_today(cal, now), cal)
    board = team_board(session, team, span, now, kpi=kpi, cal=cal)
    in_group = None
    if not chat.is_private:
        in_group = _in_group(session, chat, team, f"{asked_as}:{period}:{kpi or ''}", cal, now)
    return BoardResult(
        "ok",
        scope.lang_pref,
        board=board,
        me=scope.member.id,
        is_group=not chat.is_private,
        leader=scope.is_leader,
        in_group=in_group,
    )


def _in_group(
    session: Session, chat: ChatInfo, team: Team, report: str, cal: WorkCalendar, now: dt.datetime
) -> GroupReport:
    return report_in_group(
        session, chat_id=chat.id, team_id=team.id, report=report, cal=cal, now=now
    )


SCORE_WORDS = frozenset({"score", "overall", "diem", "diem tong", "tong diem"})
TEAM_WORDS = frozenset({"team", "whole team", "doi", "ca doi", "nhom", "ca nhom"})


def is_team_word(word: str) -> bool:
    """Tell whether words ask for the whole team rather than oneself (`team`, `cả đội`)."""
    from kpi import parsing

    return parsing.normalize_text(word).strip() in TEAM_WORDS


def is_score_word(word: str) -> bool:
    """Tell whether a word asks for the overall score (the default ranking)."""
    from kpi import parsing

    return parsing.normalize_text(word).strip() in SCORE_WORDS


@dataclass(frozen=True)
class Trend:
    """One KPI per day over a span, for the team or one member, with the daily target."""

    outcome: str
    lang_pref: str | None
    refusal: Refusal | None = None
    kpi: str | None = None
    kpi_names: Names = field(default_factory=dict)
    unit: str = "count"
    span: Span | None = None
    days: tuple[dt.date, ...] = ()
    values: tuple[float, ...] = ()
    target_per_day: float | None = None
    who: str | None = None  # the member's name, or None for the team
    word: str | None = None
    # Asked in a group: the chart's key there, and the same chart's post a moment ago.
    in_group: GroupReport | None = None


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
) -> Trend:
    """Daily values of a counted KPI (or revenue) over the period: `/chart [kpi] [period] [@m]`.

    Without a member it is the caller's own chart in a private chat and the team's in a group
    (or when `whole_team` asks for it).
    """
    scope = require(resolve(session, person, chat, admins, now), "manager")
    if isinstance(scope, Refusal):
        return Trend("refused", scope.lang_pref, scope)
    team = scope.team
    key = find_kpi(session, team.id, kpi_word) if kpi_word else "revenue"
    kdef = next((k for k in kpi_defs(session, team.id) if k.key == key), None)
    if kdef is None or kdef.unit == "ratio":
        return Trend("unknown_kpi", scope.lang_pref, word=kpi_word)
    member_id: int | None = None
    who = None
    if handle or reply_to is not None:
        member = member_by_handle(session, team.id, handle, reply_to)
        if member is None:
            return Trend("unknown_member", scope.lang_pref, word=handle)
        if member.id != scope.member.id and not scope.is_leader:
            return Trend("forbidden", scope.lang_pref)
        member_id, who = member.id, member.display_name
    elif chat.is_private and not whole_team:
        member_id, who = scope.member.id, scope.member.display_name
    cal = calendar_of(session, team)
    today = periods.local_today(cal, now)
    span = periods.span_of(period, today, cal)
    end = min(span.end, today)
    sums = store.daily_sums(session, team.id, span.start, end, member_id)
    days = [
        d
        for d in (span.start + dt.timedelta(days=i) for i in range((end - span.start).days + 1))
        if periods.is_working_day(cal, d) or d in sums
    ]
    values = tuple(float(kpi_value(kdef, totals_of(sums.get(d, {}))) or 0) for d in days)
    book = target_book(session, team, cal)
    day_span = periods.span_of("day", _first_working(cal, span) or span.start, cal)
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
        "ok",
        scope.lang_pref,
        kpi=kdef.key,
        kpi_names=kdef.names,
        unit=kdef.unit,
        span=span,
        days=tuple(days),
        values=values,
        target_per_day=per_day or None,
        who=who,
        in_group=in_group,
    )


def _first_working(cal: WorkCalendar, span: Span) -> dt.date | None:
    return periods.first_working_day(cal, span)
