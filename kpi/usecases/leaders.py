"""Leader use cases: targets (`/target`) and KPI definitions (`/kpi`), each one typed outcome."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import audit, parsing, periods
from kpi.access import Caller, ChatInfo, Refusal, require, resolve
from kpi.catalog import KPI_BY_KEY
from kpi.entries import local_today
from kpi.models import (
    KpiDefinition,
    Metric,
    Team,
)
from kpi.names import DEFAULT_LANGUAGE, Names
from kpi.targets import active_targets, find_kpi, kpi_defs, parse_target_value, set_target
from kpi.teams import PersonInfo, member_by_handle
from kpi.usecases.outcomes import BadInput, UnknownKpi, UnknownMember


@dataclass(frozen=True)
class TargetSet:
    """A target stored: for everyone (no member) or one member."""

    lang_pref: str | None
    kpi: str
    kpi_names: Names
    unit: str
    value: float
    period: str
    member_name: str | None


TargetOutcome = TargetSet | UnknownKpi | UnknownMember | BadInput | Refusal


def _split_kpi(
    session: Session, team_id: int, words: list[str], *, keep: int
) -> tuple[str | None, list[str]]:
    """Find the KPI named by the longest run of leading words, leaving at least `keep` words."""
    for n in range(len(words) - keep, 0, -1):
        key = find_kpi(session, team_id, " ".join(words[:n]))
        if key is not None:
            return key, words[n:]
    return None, words


def target(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
    reply_to: int | None = None,
) -> TargetOutcome:
    """Set a target: `/target <kpi> <value> [period] [@member]` (without @: for everyone)."""
    scope = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(scope, Refusal):
        return scope
    team = scope.team
    words = args.split()
    handle = next((w for w in words if w.startswith("@")), None)
    words = [w for w in words if not w.startswith("@")]
    if len(words) < 2:
        return BadInput(scope.lang_pref, "target.usage")
    # The KPI name comes first: it may be several words ("doanh số", "tỷ lệ thắng") and contain
    # what reads as a period without diacritics ("thắng" folds to "thang", month).
    kpi, after = _split_kpi(session, team.id, words, keep=1)
    if kpi is None:
        return UnknownKpi(scope.lang_pref, words[0])
    period = None
    value_words: list[str] = []
    for w in after:
        p = periods.parse_period(w)
        if p is not None and period is None:
            period = p
        else:
            value_words.append(w)
    kdef = session.scalar(
        select(KpiDefinition).where(KpiDefinition.team_id == team.id, KpiDefinition.key == kpi)
    )
    assert kdef is not None
    spec = KPI_BY_KEY.get(kpi)
    if spec is not None and spec.team_only:
        return BadInput(scope.lang_pref, "target.team_only")
    member = None
    if handle or reply_to is not None:
        member = member_by_handle(session, team.id, handle, reply_to)
        if member is None:
            return UnknownMember(scope.lang_pref, handle or "")
    try:
        value = parse_target_value(" ".join(value_words), kdef.unit)
    except parsing.ParseError as exc:
        return BadInput(scope.lang_pref, exc.code, dict(exc.params))
    current = next(
        (
            r
            for r in active_targets(session, team.id)
            if r.kpi_key == kpi and r.member_id == (member.id if member else None)
        ),
        None,
    )
    chosen = period or (current.period if current else kdef.period)
    set_target(
        session,
        team_id=team.id,
        kpi_key=kpi,
        period=chosen,
        value=value,
        member_id=member.id if member else None,
        actor_id=scope.member.id,
        today=local_today(team, now),
        now=now,
    )
    return TargetSet(
        scope.lang_pref,
        kpi,
        kdef.names,
        kdef.unit,
        value,
        chosen,
        member.display_name if member else None,
    )


@dataclass(frozen=True)
class KpiRow:
    """One KPI definition as /kpi lists it."""

    key: str
    names: Names
    unit: str
    direction: str
    period: str
    weight: float
    minimum: float | None
    target: float | None
    target_period: str | None


@dataclass(frozen=True)
class KpiListing:
    """The team's KPI definitions, after what a /kpi subcommand changed (`action`), if any."""

    lang_pref: str | None
    rows: tuple[KpiRow, ...]
    leader: bool
    action: str | None = None  # weight, minimum, retire, add
    kpi: str | None = None
    value: float | None = None
    kpi_names: Names | None = None


KpiOutcome = KpiListing | UnknownKpi | BadInput | Refusal


def _listing(session: Session, team: Team) -> tuple[KpiRow, ...]:
    defaults = {r.kpi_key: r for r in active_targets(session, team.id) if r.member_id is None}
    rows = []
    for k in kpi_defs(session, team.id):
        t = defaults.get(k.key)
        rows.append(
            KpiRow(
                k.key,
                k.names,
                k.unit,
                k.direction,
                k.period,
                k.weight,
                k.minimum,
                t.value if t else None,
                t.period if t else None,
            )
        )
    return tuple(rows)


_KEY = re.compile(r"^[a-z][a-z0-9_]{1,19}$")


def kpi_command(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> KpiOutcome:
    """List KPIs, or (leaders) `weight <kpi> <w>`, `minimum <kpi> <pct>`, `retire <kpi>`,
    `add <key> <name>` (a new counted metric with its KPI)."""
    asker = resolve(session, person, chat, admins, now)
    scope = require(asker, "manager")
    if isinstance(scope, Refusal):
        return scope
    team = scope.team
    words = args.split()
    if not words:
        return KpiListing(scope.lang_pref, _listing(session, team), scope.is_leader)
    # Everyone in the team may read the list; only leaders change it.
    refusal = require(asker, "leader")
    if isinstance(refusal, Refusal):
        return refusal
    action = words[0].lower()
    rest = words[1:]
    if action not in ("weight", "minimum", "retire", "add"):
        return BadInput(scope.lang_pref, "kpi.usage")
    if action == "add":
        return _add_kpi(session, scope, team, rest, now)
    if not rest:
        return BadInput(scope.lang_pref, "kpi.usage")
    key, tail = _split_kpi(session, team.id, rest, keep=0)
    kdef = (
        session.scalar(
            select(KpiDefinition).where(KpiDefinition.team_id == team.id, KpiDefinition.key == key)
        )
        if key
        else None
    )
    if kdef is None or kdef.retired_at is not None:
        return UnknownKpi(scope.lang_pref, rest[0])
    before = {
        "weight": kdef.weight,
        "minimum": kdef.minimum,
        "retired": kdef.retired_at is not None,
    }
    value: float | None = None
    if action == "retire":
        kdef.retired_at = now
    else:
        try:
            # A weight of 0 % takes a KPI out of the score; a minimum of 0 % drops the flag.
            value = parse_target_value(" ".join(tail), "ratio", allow_zero=True)
        except parsing.ParseError:
            return BadInput(scope.lang_pref, f"kpi.{action}_value")
        if action == "weight":
            kdef.weight = value
        else:
            kdef.minimum = value
    audit.record(
        session,
        team_id=team.id,
        actor_id=scope.member.id,
        action=f"kpi.{action}",
        entity="kpi",
        entity_id=kdef.id,
        before=before,
        after={"weight": kdef.weight, "minimum": kdef.minimum, "retired": action == "retire"},
        now=now,
    )
    session.flush()
    return KpiListing(
        scope.lang_pref,
        _listing(session, team),
        leader=True,
        action=action,
        kpi=kdef.key,
        value=value,
        kpi_names=kdef.names,
    )


def _add_kpi(
    session: Session, scope: Caller, team: Team, rest: list[str], now: dt.datetime
) -> KpiListing | BadInput:
    if len(rest) < 2 or not _KEY.match(rest[0].lower()):
        return BadInput(scope.lang_pref, "kpi.add_usage")
    key = rest[0].lower()
    name = " ".join(rest[1:])[:100]
    exists = session.scalar(
        select(Metric.id).where(Metric.team_id == team.id, Metric.key == key)
    ) or session.scalar(
        select(KpiDefinition.id).where(KpiDefinition.team_id == team.id, KpiDefinition.key == key)
    )
    if exists:
        return BadInput(scope.lang_pref, "kpi.exists", {"kpi": key})
    try:
        vocab = parsing.build_vocabulary([("_new", (key, name))])
    except parsing.ParseError:
        vocab = {}
    if any(parsing.build_vocabulary(parsing.DEFAULT_ALIASES.items()).get(a) for a in vocab):
        return BadInput(scope.lang_pref, "kpi.exists", {"kpi": key})
    # A name typed in one language is stored as the default language's, which every other
    # language falls back to (kpi.names.name_in).
    names = {DEFAULT_LANGUAGE: name}
    session.add(
        Metric(
            team_id=team.id,
            key=key,
            names=names,
            daily_bound=100,
            builtin=False,
            sort_order=200,
        )
    )
    kdef = KpiDefinition(
        team_id=team.id,
        key=key,
        names=dict(names),
        unit="count",
        source=f"metric:{key}",
        direction="higher",
        period="week",
        weight=0.0,
        minimum=0.5,
        builtin=False,
        sort_order=200,
        created_at=now,
    )
    session.add(kdef)
    session.flush()
    audit.record(
        session,
        team_id=team.id,
        actor_id=scope.member.id,
        action="kpi.add",
        entity="kpi",
        entity_id=kdef.id,
        after={"key": key, "name": name},
        now=now,
    )
    return KpiListing(
        scope.lang_pref,
        _listing(session, team),
        leader=True,
        action="add",
        kpi=key,
        kpi_names=names,
    )
