"""What an export holds, loaded from the database: one team's entries, summary and targets.

Everything is read for one team and one span through the `(team, status, day, ...)` index, so
a team's month costs the same in an organisation of millions of rows as alone (QUALITY.md P2).
Erased people keep their numbers but lose their name and what they typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from kpi import audit, periods, scoring, store
from kpi.calendar import WorkCalendar, calendar_of
from kpi.catalog import KPI_BY_KEY
from kpi.exports.columns import fold
from kpi.models import (
    ENTRY_ACTIVE,
    ENTRY_PENDING,
    ENTRY_REJECTED,
    ENTRY_VOIDED,
    Activity,
    AuditEvent,
    Checkin,
    Member,
    Membership,
    Metric,
    Team,
    display_name,
)
from kpi.names import DEFAULT_LANGUAGE, Names
from kpi.periods import Span
from kpi.scoring import KpiDef, additive, kpi_value
from kpi.standings import (
    member_scores,
    ranked_people,
    scored_kpis,
    taking_part,
    totals_of,
)
from kpi.targets import kpi_defs, target_book
from kpi.teams import settings_of

# Replaced entries are superseded versions of an edited message: the export shows the rest.
EXPORTED_STATUSES = (ENTRY_ACTIVE, ENTRY_PENDING, ENTRY_VOIDED, ENTRY_REJECTED)


@dataclass(frozen=True)
class DateRange(Span):
    """Any run of days (`FROM..TO`): scored like a period, its targets prorated day by day."""

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"invalid_span: {self.start} > {self.end}")

    @property
    def key(self) -> str:
        """Return `FROM..TO` in ISO dates."""
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


_RANGE = re.compile(r"\s*(\S+)\s*\.\.\s*(\S+)\s*")


def parse_span(text: str | None, today: dt.date, cal: WorkCalendar) -> Span | None:
    """Read an export period: a leaderboard word, `YYYY-MM` (or another period key), `FROM..TO`.

    Nothing means this month. Dates are day first (`1/11/2026..30/11/2026`) or ISO.
    """
    if not text or not text.strip():
        return periods.span_of("month", today, cal)
    ref = periods.parse_period_ref(text)
    if ref is not None:
        return periods.resolve_period_ref(ref, today, cal)
    key = periods.span_from_key(text.strip())
    if key is not None:
        return key
    m = _RANGE.fullmatch(text)
    if m is None:
        return None
    start, end = _range_day(m[1], today), _range_day(m[2], today)
    if start is None or end is None or start > end:
        return None
    return DateRange("day", start, end)


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _range_day(text: str, today: dt.date) -> dt.date | None:
    """Read a day of a range, day first or ISO (a range may end after today, unlike a check-in)."""
    try:
        if m := _YMD.fullmatch(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(text):
            return dt.date(int(m[3]) if m[3] else today.year, int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


# --- teams -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMatch:
    """The team a `--team` argument names, or the teams it could mean."""

    team_id: int | None
    candidates: tuple[tuple[str, int], ...] = ()  # (title, chat id) when ambiguous


def find_team(session: Session, ref: str) -> TeamMatch:
    """Find a team by its group's chat id or its name (diacritics and case ignored)."""
    ref = ref.strip()
    if re.fullmatch(r"-?\d+", ref):
        found = session.scalar(select(Team.id).where(Team.chat_id == int(ref)))
        if found is not None:
            return TeamMatch(found)
    wanted = fold(ref)
    teams = session.execute(select(Team.id, Team.title, Team.chat_id).order_by(Team.id)).all()
    same = [(i, title, chat) for i, title, chat in teams if fold(title) == wanted]
    if len(same) == 1:
        return TeamMatch(same[0][0])
    return TeamMatch(None, tuple((title, chat) for _, title, chat in same))


# --- what an export holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    """One entry as the activities sheet shows it."""

    day: dt.date
    member_id: int
    metric: str  # the metric's key (names are in `ExportData.metrics`)
    value: int
    amount: int | None
    customer: str | None
    new_customer: bool
    note: str | None
    status: str
    source: str  # chat, import, monthly
    logged_by: int | None  # who logged it, when not the member
    changed_by: int | None  # who last corrected it
    entry_id: int


@dataclass(frozen=True)
class KpiColumn:
    """A KPI of the summary sheet."""

    key: str
    names: Names
    unit: str  # count, vnd, ratio


@dataclass(frozen=True)
class KpiCell:
    """One member's figure for one KPI: actual, target over the span, attainment."""

    actual: float | None
    target: float | None
    attainment: float | None


@dataclass(frozen=True)
class SummaryRow:
    """One member over the span: rank and score as the leaderboard has them, and each KPI."""

    member_id: int
    rank: int | None
    score: float | None
    cells: tuple[KpiCell, ...]


@dataclass(frozen=True)
class TargetLine:
    """A target in force at the end of the span."""

    kpi: Names
    unit: str
    member_id: int | None  # None: the default for every member
    period: str
    value: float
    effective_from: dt.date


@dataclass(frozen=True)
class ExportData:
    """Everything a workbook or CSV file is built from (plain data, no session needed)."""

    team_title: str
    span: Span
    people: Mapping[int, str | None]  # display names by member id; None: erased
    metrics: Mapping[str, Names]  # metric key -> {language: name}
    entries: tuple[EntryRow, ...]
    kpis: tuple[KpiColumn, ...]
    summary: tuple[SummaryRow, ...]
    targets: tuple[TargetLine, ...]


def load_export(session: Session, team: Team, span: Span) -> ExportData:
    """Load one team's entries, per-member summary and targets for a span."""
    cal = calendar_of(session, team)
    people = _people(session, team.id)
    metrics = {
        key: names
        for key, names in session.execute(
            select(Metric.key, Metric.names).where(Metric.team_id == team.id)
        )
    }
    erased = {i for i, name in people.items() if name is None}
    entries = tuple(_entries(session, team.id, span, erased))
    kpis, summary = _summary(session, team, span, cal)
    book = target_book(session, team, cal, as_of=span.end)
    defs = kpi_defs(session, team.id)
    order = {k.key: i for i, k in enumerate(defs)}
    by_key = {k.key: k for k in defs}
    targets = []
    for key in sorted(book.kpis(), key=lambda k: (order.get(k, len(order)), k)):
        k = by_key.get(key)
        for member_id in [None, *sorted(people)]:
            row = book.row(key, member_id)
            if row is None or row.member_id != member_id:
                continue
            targets.append(
                TargetLine(
                    k.names if k else {DEFAULT_LANGUAGE: key},
                    k.unit if k else "count",
                    member_id,
                    row.period,
                    row.value,
                    row.effective_from,
                )
            )
    return ExportData(team.title, span, people, metrics, entries, kpis, summary, tuple(targets))


def _people(session: Session, team_id: int) -> dict[int, str | None]:
    """Return the names of everyone with a membership or check-ins in the team (None: erased)."""
    ids = (
        select(Membership.member_id.label("id"))
        .where(Membership.team_id == team_id)
        .union(
            select(Checkin.member_id).where(Checkin.team_id == team_id),
            select(Checkin.actor_id).where(Checkin.team_id == team_id),
        )
        .subquery()
    )
    rows = session.execute(
        select(
            Member.id, Member.first_name, Member.last_name, Member.username, Member.erased_at
        ).where(Member.id.in_(select(ids.c.id)))
    )
    return {
        i: None if gone is not None else display_name(i, first, last, username)
        for i, first, last, username, gone in rows
    }


def _entries(session: Session, team_id: int, span: Span, erased: set[int]) -> list[EntryRow]:
    """Read the span's entries in day order, with who logged and who last changed each."""
    a, c = Activity, Checkin
    in_span = (
        a.team_id == team_id,
        a.status.in_(EXPORTED_STATUSES),
        a.day >= span.start,
        a.day <= span.end,
    )
    # The last actor who corrected an entry (an edit, a void, an approval), in one query.
    last_change = (
        select(AuditEvent.entity_id, func.max(AuditEvent.id).label("last"))
        .where(
            AuditEvent.team_id == team_id,
            AuditEvent.entity == audit.ENTRY,
            AuditEvent.entity_id.in_(select(a.id).where(*in_span)),
        )
        .group_by(AuditEvent.entity_id)
        .subquery()
    )
    changer = aliased(AuditEvent)
    rows = session.execute(
        select(
            a.id,
            a.day,
            a.member_id,
            a.metric,
            a.value,
            a.amount,
            a.customer,
            a.is_new_customer,
            a.note,
            a.status,
            a.flags,
            c.source,
            c.actor_id,
            c.voided_by,
            a.approved_by,
            changer.actor_id,
        )
        .join(c, c.id == a.checkin_id)
        .outerjoin(last_change, last_change.c.entity_id == a.id)
        .outerjoin(changer, changer.id == last_change.c.last)
        .where(*in_span)
        .order_by(a.day, a.id)
        .execution_options(yield_per=2000)
    )
    out = []
    for (
        entry_id,
        day,
        member_id,
        metric,
        value,
        amount,
        customer,
        new,
        note,
        status,
        flags,
        source,
        actor,
        voided_by,
        approved_by,
        audit_actor,
    ) in rows:
        flag_set = set((flags or "").split(","))
        kind = "monthly" if "monthly" in flag_set else "import" if source == "import" else "chat"
        hidden = member_id in erased  # what an erased person typed goes with their name
        out.append(
            EntryRow(
                day,
                member_id,
                metric,
                int(value),
                None if amount is None else int(amount),
                None if hidden else customer,
                bool(new),
                None if hidden else note,
                status,
                kind,
                actor if actor != member_id else None,
                audit_actor or voided_by or approved_by,
                entry_id,
            )
        )
    return out


def summary_kpis(session: Session, team: Team, day: dt.date) -> list[KpiDef]:
    """Return the KPIs a per-member summary shows: those with a weight or a target."""
    book = target_book(session, team, as_of=day)
    return [
        k
        for k in kpi_defs(session, team.id, day)
        if not _team_only(k.key) and (k.weight > 0 or k.key in book.kpis())
    ]


def _team_only(key: str) -> bool:
    spec = KPI_BY_KEY.get(key)
    return spec is not None and spec.team_only


def _summary(
    session: Session, team: Team, span: Span, cal: WorkCalendar
) -> tuple[tuple[KpiColumn, ...], tuple[SummaryRow, ...]]:
    """Score each member as the leaderboard does, with each KPI against its target."""
    book = target_book(session, team, cal, as_of=span.end)
    sums = store.member_sums(session, team.id, span.start, span.end)
    people = taking_part(ranked_people(session, team.id), sums)
    ids = [p.member_id for p in people]
    all_kpis = kpi_defs(session, team.id, span.end)
    cap = settings_of(team).attainment_cap
    scores = member_scores(scored_kpis(all_kpis, book, ids), people, sums, book, span, cap)
    # The leaderboard's ranking by overall score (kpi.standings.team_board), same inputs.
    ranked = scoring.rank(
        [(p.member_id, scores[p.member_id], p.member_id in sums) for p in people],
        higher_is_better=True,
    )
    shown = summary_kpis(session, team, span.end)
    rows = []
    for r in ranked:
        own = totals_of(sums.get(r.key, {}))
        cells = []
        for k in shown:
            actual = kpi_value(k, own)
            target = book.for_span(k.key, r.key, span, prorated=additive(k))
            attained = scoring.kpi_attainment(k, actual, target, cap).raw
            cells.append(KpiCell(actual, target, attained))
        rows.append(SummaryRow(r.key, r.rank, r.value, tuple(cells)))
    columns = tuple(KpiColumn(k.key, k.names, k.unit) for k in shown)
    return columns, tuple(rows)


__all__: Sequence[str] = (
    "DateRange",
    "EntryRow",
    "ExportData",
    "KpiCell",
    "KpiColumn",
    "SummaryRow",
    "TargetLine",
    "TeamMatch",
    "find_team",
    "load_export",
    "parse_span",
    "summary_kpis",
)
