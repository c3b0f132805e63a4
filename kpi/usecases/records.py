"""The leaders' and admins' records: the audit trail (`/audit`) and the company view (`/org`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import audit, periods
from kpi.access import ChatInfo, Refusal, require, require_admin, resolve
from kpi.audit import AuditItem, Named
from kpi.calendar import WorkCalendar, local_today
from kpi.models import Member, Membership
from kpi.org_ranking import OrgRow, org_ranking
from kpi.teams import PersonInfo, TeamDefaults
from kpi.usecases.outcomes import BadInput, UnknownMember

AUDIT_DEFAULT = 10
AUDIT_MAX = 50


@dataclass(frozen=True)
class AuditLog:
    """The team's recent events, newest first (only those by or about `member`, if named)."""

    lang_pref: str | None
    team_title: str
    timezone: str
    member: Named | None
    items: tuple[AuditItem, ...]


AuditOutcome = AuditLog | UnknownMember | BadInput | Refusal


def audit_log(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
    reply_to: int | None = None,
) -> AuditOutcome:
    """Show a leader the team's recent changes: `/audit [@member] [n]`."""
    scope = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(scope, Refusal):
        return scope
    team = scope.team
    handle: str | None = None
    count: int | None = None
    for word in args.split():
        if word.startswith("@") and handle is None and len(word) > 1:
            handle = word
        elif word.isascii() and word.isdigit() and count is None and len(word) <= 6:
            count = int(word)
        else:
            return BadInput(scope.lang_pref, "audit.usage", {"word": word})
    if count is not None and not 1 <= count <= AUDIT_MAX:
        return BadInput(scope.lang_pref, "audit.count", {"max": AUDIT_MAX})
    member: Member | None = None
    if handle is not None or reply_to is not None:
        member = _in_team(session, team.id, handle, reply_to)
        if member is None:
            return UnknownMember(scope.lang_pref, handle or "")
    items = audit.recent(
        session,
        [team.id],
        member_id=member.id if member else None,
        limit=count or AUDIT_DEFAULT,
    )
    named = Named(member.id, member.display_name, member.erased_at is not None) if member else None
    return AuditLog(scope.lang_pref, team.title, team.timezone, named, tuple(items))


def _in_team(
    session: Session, team_id: int, handle: str | None, reply_to: int | None
) -> Member | None:
    """Find anyone who has been in the team (also a removed member) by @username or reply."""
    stmt = (
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.team_id == team_id)
    )
    if handle:
        return session.scalar(stmt.where(Member.username == handle.lstrip("@").lower()))
    return session.scalar(stmt.where(Member.telegram_id == reply_to))


@dataclass(frozen=True)
class TeamCompared:
    """One team in the company view: its members' average score, the best, how many logged."""

    team_id: int
    title: str
    members: int
    active: int
    average: float | None
    best: str | None


@dataclass(frozen=True)
class OrgView:
    """Every member ranked across teams, and the teams compared, over one span."""

    lang_pref: str | None
    span: periods.Span
    rows: tuple[OrgRow, ...]
    teams: tuple[TeamCompared, ...]


def org_view(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    period: periods.Period,
    defaults: TeamDefaults,
) -> OrgView | Refusal:
    """Rank every member of every active team and compare the teams (configured admins only)."""
    scope = resolve(session, person, chat, admins, now)
    refusal = require_admin(scope, admins)
    if refusal is not None:
        return refusal
    # Teams may keep their own zones and weeks; the company view counts in the configured ones.
    cal = WorkCalendar(timezone=defaults.timezone, week_start=defaults.week_start)
    span = periods.span_of(period, local_today(cal, now), cal)
    rows = org_ranking(session, span)
    return OrgView(scope.lang_pref, span, tuple(rows), compare_teams(rows))


def compare_teams(rows: list[OrgRow]) -> tuple[TeamCompared, ...]:
    """Compare the teams: the average score of their scored members, best first."""
    by_team: dict[int, list[OrgRow]] = {}
    for r in rows:
        by_team.setdefault(r.team_id, []).append(r)
    out = []
    for team_id, members in by_team.items():
        scores = [r.score for r in members if r.score is not None and r.rank is not None]
        best = min(
            (r for r in members if r.team_rank is not None),
            key=lambda r: r.team_rank or 0,
            default=None,
        )
        out.append(
            TeamCompared(
                team_id,
                members[0].team_title,
                len(members),
                sum(1 for r in members if r.active),
                sum(scores) / len(scores) if scores else None,
                best.name if best else None,
            )
        )
    out.sort(key=lambda c: (c.average is None, -(c.average or 0.0), c.title.casefold()))
    return tuple(out)
