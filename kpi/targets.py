"""The KPIs in force and targets: the per-member default, overrides, prorating."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from kpi import audit, parsing, team_cache
from kpi.calendar import WorkCalendar, calendar_of
from kpi.catalog import KPI_BY_KEY
from kpi.models import KpiDefinition, Target, Team
from kpi.names import all_names
from kpi.periods import Span, prorate
from kpi.scoring import KpiDef


def _kpi_defs_where(
    session: Session, teams: ColumnElement[bool], day: dt.date | None
) -> dict[int, list[KpiDef]]:
    """Load the teams' KPIs in force (not retired, still valid on `day`), in display order."""
    k = KpiDefinition
    out: dict[int, list[KpiDef]] = defaultdict(list)
    rows = session.execute(
        select(
            k.team_id,
            k.valid_until,
            k.key,
            k.names,
            k.unit,
            k.source,
            k.direction,
            k.period,
            k.weight,
            k.minimum,
        )
        .where(teams, k.retired_at.is_(None))
        .order_by(k.team_id, k.sort_order, k.id)
    )
    for team_id, valid_until, *fields in rows:
        if day is None or valid_until is None or valid_until >= day:
            out[team_id].append(KpiDef(*fields))
    return out


def kpi_defs(session: Session, team_id: int, day: dt.date | None = None) -> list[KpiDef]:
    """Return the team's KPIs in force (not retired, still valid on `day`), in display order."""
    return _kpi_defs_where(session, KpiDefinition.team_id == team_id, day).get(team_id, [])


def active_teams_kpi_defs(session: Session, day: dt.date) -> dict[int, list[KpiDef]]:
    """Return every active team's KPIs in force on `day` (as `kpi_defs`), by team, in one query."""
    active = select(Team.id).where(Team.active.is_(True))
    return _kpi_defs_where(session, KpiDefinition.team_id.in_(active), day)


def find_kpi(session: Session, team_id: int, word: str) -> str | None:
    """Find a KPI by key, name (any language, with or without diacritics) or a metric alias."""
    wanted = parsing.normalize_text(word).replace(" ", "_")
    defs = kpi_defs(session, team_id)
    for k in defs:
        spec = KPI_BY_KEY.get(k.key)
        former = spec.former_names if spec is not None else ()
        names = {k.key, *(parsing.normalize_text(n) for n in (*all_names(k.names), *former))}
        if wanted in {n.replace(" ", "_") for n in names}:
            return k.key
    words = {
        "doanh_so": "revenue",
        "doanhso": "revenue",
        "sales": "revenue",
        "score": None,
        "diem": None,
    }
    if wanted in words:
        return words[wanted]
    metric = parsing.build_vocabulary(parsing.DEFAULT_ALIASES.items()).get(
        parsing.normalize_text(word)
    )
    keys = {k.key for k in defs}
    return metric if metric in keys else None


@dataclass(frozen=True)
class TargetRow:
    """An active target as set: for one KPI, one period, the default or one member."""

    id: int
    kpi_key: str
    member_id: int | None
    period: str
    value: float
    effective_from: dt.date


def active_targets(
    session: Session, team_id: int, as_of: dt.date | None = None
) -> list[TargetRow]:
    """Return the team's targets in force: now, or on the day `as_of` (the end of a period).

    A target is in force from the day it was set until the day it was superseded, so a report
    on last month keeps last month's targets after a leader sets new ones on the 1st. Before a
    KPI's first target was set, that first target applies (history imported or logged before
    the team set its targets is still scored).
    """

    def load() -> list[TargetRow]:
        if as_of is None:
            rows = session.scalars(
                select(Target).where(Target.team_id == team_id, Target.superseded_at.is_(None))
            )
            return [_row(r) for r in rows]
        history = session.scalars(
            select(Target).where(Target.team_id == team_id).order_by(Target.set_at, Target.id)
        )
        return in_force(history, as_of)

    return list(team_cache.cached(session, team_id, f"targets:{as_of}", load))


def in_force(history: Iterable[Target], as_of: dt.date) -> list[TargetRow]:
    """Pick, per KPI and member, the target in force on `as_of` from rows in the order set."""
    chosen: dict[tuple[str, int | None], Target] = {}
    first: dict[tuple[str, int | None], Target] = {}
    for r in history:
        key = (r.kpi_key, r.member_id)
        first.setdefault(key, r)
        superseded = r.superseded_at.date() if r.superseded_at is not None else None
        if r.effective_from <= as_of and (superseded is None or superseded > as_of):
            chosen[key] = r
    return [_row(chosen.get(key, r)) for key, r in first.items()]


def _row(r: Target) -> TargetRow:
    return TargetRow(r.id, r.kpi_key, r.member_id, r.period, r.value, r.effective_from)


class TargetBook:
    """The team's active targets, answering "what is X's target for KPI k over this span"."""

    def __init__(self, rows: Sequence[TargetRow], cal: WorkCalendar) -> None:
        self.cal = cal
        self._default: dict[str, TargetRow] = {}
        self._member: dict[tuple[str, int], TargetRow] = {}
        for r in rows:
            if r.member_id is None:
                self._default[r.kpi_key] = r
            else:
                self._member[(r.kpi_key, r.member_id)] = r

    def row(self, kpi_key: str, member_id: int | None) -> TargetRow | None:
        """Return the target that applies: the member's override, else the default."""
        if member_id is not None and (kpi_key, member_id) in self._member:
            return self._member[(kpi_key, member_id)]
        return self._default.get(kpi_key)

    def for_span(
        self, kpi_key: str, member_id: int | None, view: Span, *, prorated: bool = True
    ) -> float | None:
        """Return the target for the view span: prorated over working time, or as set."""
        r = self.row(kpi_key, member_id)
        if r is None:
            return None
        if not prorated:
            # A rate or an average is a level, not an amount: 30 % a month is 30 % a week too.
            return r.value
        return prorate(r.value, r.period, view, self.cal)  # type: ignore[arg-type]

    def kpis(self) -> set[str]:
        """Return the KPI keys that have any target."""
        return set(self._default) | {k for k, _ in self._member}


def target_book(
    session: Session, team: Team, cal: WorkCalendar | None = None, as_of: dt.date | None = None
) -> TargetBook:
    """Load the team's targets in force (now, or at the end of a past period)."""
    return TargetBook(active_targets(session, team.id, as_of), cal or calendar_of(session, team))


def set_target(
    session: Session,
    *,
    team_id: int,
    kpi_key: str,
    period: str,
    value: float,
    member_id: int | None,
    actor_id: int,
    today: dt.date,
    now: dt.datetime,
) -> TargetRow:
    """Set a KPI's target (default or a member's override); the previous one is superseded."""
    previous = session.scalars(
        select(Target).where(
            Target.team_id == team_id,
            Target.kpi_key == kpi_key,
            Target.member_id.is_(None) if member_id is None else Target.member_id == member_id,
            Target.superseded_at.is_(None),
        )
    ).all()
    for p in previous:
        p.superseded_at = now
    row = Target(
        team_id=team_id,
        kpi_key=kpi_key,
        member_id=member_id,
        period=period,
        value=value,
        effective_from=today,
        set_by=actor_id,
        set_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="target.set",
        entity="target",
        entity_id=row.id,
        before={"targets": [{"period": p.period, "value": p.value} for p in previous]},
        after={"kpi": kpi_key, "member": member_id, "period": period, "value": value},
        now=now,
    )
    return TargetRow(row.id, kpi_key, member_id, period, value, today)


def parse_target_value(text: str, unit: str, *, allow_zero: bool = False) -> float:
    """Read a target value for a KPI's unit: money, a count (decimals allowed), or a percentage."""
    text = text.strip()
    if not text:
        raise parsing.ParseError("target.value_missing")
    if unit == "vnd":
        amount = parsing.parse_amount(text)
        if isinstance(amount, parsing.AmbiguousAmount):
            raise parsing.ParseError("amount.ambiguous", text=amount.text)
        return float(amount.value)
    number = text.rstrip("%").strip().replace(",", ".")
    if not re.fullmatch(r"\d{1,9}(\.\d{1,4})?", number):
        raise parsing.ParseError("target.value_invalid", text=text)
    value = float(number)
    if unit == "ratio":
        value = value / 100 if text.endswith("%") or value > 1 else value
        if value > 1 or (value == 0 and not allow_zero):
            raise parsing.ParseError("target.value_invalid", text=text)
    elif value <= 0:
        raise parsing.ParseError("target.value_invalid", text=text)
    return value
