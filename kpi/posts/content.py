"""What scheduled posts say: the data behind each post kind (no Telegram, no text).

`bot.scheduler` decides *when* a post is due (from `kpi.posts.registry`) and builds a `Post`;
`handlers.digests` claims, renders and sends it, asking this module *what* it contains: one
builder per `PostKind.content` (`board_post`, `reminders`, `leader_digest`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import approvals, closing, periods
from kpi.absences import absent_on, away_days, days_in
from kpi.approvals import BackfillNote, PendingDeal
from kpi.calendar import WorkCalendar, calendar_of, count_working_days, is_working_day, local_today
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    ROLE_LEADER,
    Member,
    Membership,
    Team,
)
from kpi.names import Names
from kpi.periods import Span
from kpi.posts.registry import MONTHLY, REMINDER
from kpi.standings import Board, MeLine, member_lines, team_board
from kpi.store import last_activity_days
from kpi.targets import kpi_defs
from kpi.teams import TeamSettings, settings_of


@dataclass(frozen=True)
class Post:
    """A post to send: which team, what kind, claimed under which key, due when, about what.

    `period_key` (with the kind and the recipient) is what makes a post go out once: the span's
    key for scheduled posts, the check-in for a deal celebration.
    """

    team_id: int
    kind: str
    period_key: str
    due_at: dt.datetime
    span: Span | None = None


@dataclass(frozen=True)
class Recipient:
    """A person a post goes to privately."""

    member_id: int
    telegram_id: int
    name: str
    lang_pref: str | None


@dataclass(frozen=True)
class TeamInfo:
    """What every post needs to know about its team."""

    team_id: int
    chat_id: int
    title: str
    language: str
    active: bool
    settings: TeamSettings
    is_forum: bool


def team_info(session: Session, team_id: int) -> TeamInfo | None:
    """Return the team a post is for (None if it is gone)."""
    team = session.get(Team, team_id)
    if team is None:
        return None
    return TeamInfo(
        team.id,
        team.chat_id,
        team.title,
        team.language,
        team.active,
        settings_of(team),
        team.is_forum,
    )


def _members(session: Session, team_id: int, *, leaders: bool | None = None) -> list[Member]:
    stmt = (
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.team_id == team_id, Membership.status == MEMBERSHIP_ACTIVE)
    )
    if leaders is True:
        stmt = stmt.where(Membership.role == ROLE_LEADER)
    elif leaders is False:
        stmt = stmt.where(Membership.role != ROLE_LEADER)
    return list(session.scalars(stmt.order_by(Member.first_name, Member.id)))


def leaders_of(session: Session, team_id: int) -> list[Recipient]:
    """Return the team's leaders who can be written to privately."""
    return [
        Recipient(m.id, m.telegram_id, m.display_name, m.language or m.telegram_language)
        for m in _members(session, team_id, leaders=True)
        if m.telegram_id is not None and m.private_chat_ok and m.blocked_at is None
    ]


@dataclass(frozen=True)
class RequestChat:
    """Where a question for the team's leaders goes (a join or leave request)."""

    chat_id: int
    user_id: int | None  # the leader's Telegram id; None for the group
    lang_pref: str | None
    key: str  # tells the outbox rows apart: the leader's member id, or "group"


def leaders_or_group(session: Session, team: Team) -> list[RequestChat]:
    """Ask every leader privately; when the bot can reach none of them, ask in the group.

    A leader who never opened the private chat would otherwise not learn of the request at all.
    The buttons check who presses them, so a question in the group is safe.
    """
    leaders = leaders_of(session, team.id)
    if not leaders:
        return [RequestChat(team.chat_id, None, team.language, "group")]
    return [
        RequestChat(r.telegram_id, r.telegram_id, r.lang_pref, str(r.member_id)) for r in leaders
    ]


def unreachable_members(session: Session, team_id: int) -> list[str]:
    """Return the names of members the bot cannot write to privately."""
    return [
        m.display_name
        for m in _members(session, team_id)
        if m.telegram_id is None or not m.private_chat_ok or m.blocked_at is not None
    ]


@dataclass(frozen=True)
class BoardPost:
    """A post built around a team board (daily summary, weekly leaderboard, monthly report)."""

    team: TeamInfo
    board: Board  # its team KPIs carry the growth against the previous period


@dataclass(frozen=True)
class _BoardScope:
    """An active team's board for a post's span, with the team and calendar it was read with."""

    info: TeamInfo
    team: Team
    cal: WorkCalendar
    board: Board


def _board_scope(session: Session, post: Post, now: dt.datetime) -> _BoardScope | None:
    """Read the team's board for the post's span; None when the team is gone or inactive."""
    info = team_info(session, post.team_id)
    team = session.get(Team, post.team_id)
    if info is None or team is None or not info.active:
        return None
    assert post.span is not None
    cal = calendar_of(session, team)
    return _BoardScope(info, team, cal, team_board(session, team, post.span, now, cal=cal))


def board_post(session: Session, post: Post, now: dt.datetime) -> BoardPost | None:
    """Build the data of a group post about a team board."""
    scope = _board_scope(session, post, now)
    if scope is None:
        return None
    board = scope.board
    if post.kind == MONTHLY.key:
        # The monthly report keeps what it said when it was first built: bonuses are paid on
        # it, so a retry, a leader's copy or a later reading shows the same figures.
        board = closing.snapshot(session, post.team_id, post.kind, post.period_key, board)
    return BoardPost(scope.info, board)


RunRateKind = Literal["per_day", "every", "rest", "today"]


@dataclass(frozen=True)
class RunRate:
    """What it takes from here, as a reminder says it.

    - ``per_day``: ``amount`` a day over the ``days_left`` working days left;
    - ``every``: one more every ``every`` working days (less than one a day is needed);
    - ``rest``: ``amount`` more in the days left (neither a daily nor a regular rhythm fits);
    - ``today``: ``amount`` more today, the period's last working day.

    ``per_week`` is about how much a week that makes, when it says something a whole number can
    (None otherwise). Amounts are what people say: whole counts, money in two significant
    figures, rounded up so that what is asked for is enough.
    """

    kind: RunRateKind
    amount: float
    days_left: int
    every: int = 0
    per_week: float | None = None


def run_rate_phrase(
    remaining: float, days_left: int, unit: str, *, week_days: int, weekly: bool
) -> RunRate | None:
    """Turn what is left and the working days left into what a reminder asks for (None: nothing).

    `weekly` asks for the "about X a week" figure too (for periods longer than a week).
    """
    if remaining <= 0 or days_left <= 0:
        return None
    money = unit == "vnd"
    # Counts are whole: 3.5 deals left means four more deals.
    need = float(remaining) if money else float(math.ceil(remaining - 1e-9))
    rate = periods.run_rate(need, days_left) or 0.0
    per_week = _about_a_week(rate * week_days, money) if weekly else None
    if days_left == 1:
        return RunRate("today", _say_up(need) if money else need, 1)
    if money or rate >= 1:
        amount = _say_up(rate) if money else float(math.ceil(rate - 1e-9))
        return RunRate("per_day", amount, days_left, per_week=per_week)
    every = int(days_left // need)
    if need >= 2 and every >= 2:
        return RunRate("every", 1, days_left, every=every, per_week=per_week)
    return RunRate("rest", need, days_left, per_week=per_week)


def _say_up(amount: float) -> float:
    """Round money up to two significant figures: 10,87tr is 11tr, 1,234tr is 1,3tr."""
    whole = math.ceil(amount - 1e-6)
    step = 10 ** max(len(str(whole)) - 2, 0)
    return float(-(-whole // step) * step)


def _about_a_week(amount: float, money: bool) -> float | None:
    """Round a weekly figure to what "about" can say, or None when it would mislead."""
    if money:
        whole = round(amount)
        step = 10 ** max(len(str(whole)) - 2, 0)
        return float((whole + step // 2) // step * step) if whole > 0 else None
    rounded = math.floor(amount + 0.5)
    # "About 1 a week" for 0.9 helps; for 0.6 (one every other week) it would mislead.
    if rounded < 1 or abs(rounded - amount) > 0.25 * amount:
        return None
    return float(rounded)


@dataclass(frozen=True)
class Coaching:
    """What it takes from here to reach one target (run-rate coaching)."""

    kpi: str
    unit: str
    period: str
    actual: float
    target: float
    remaining: float
    days_left: int
    rate: RunRate | None
    pace: float | None


@dataclass(frozen=True)
class Reminder:
    """A private reminder for one rep who is behind pace."""

    recipient: Recipient
    lines: tuple[MeLine, ...]
    coaching: tuple[Coaching, ...]
    names: dict[str, Names] = field(default_factory=dict)


def reminders(session: Session, post: Post, now: dt.datetime) -> tuple[TeamInfo, list[Reminder]]:
    """Find the reps behind pace today and what each needs from here; none on days off."""
    info = team_info(session, post.team_id)
    team = session.get(Team, post.team_id)
    assert info is not None and team is not None
    cal = calendar_of(session, team)
    today = local_today(cal, now)
    if not REMINDER.enabled(info.settings) or not is_working_day(cal, today):
        return info, []
    names = {k.key: k.names for k in kpi_defs(session, team.id)}
    muted = set(
        session.scalars(
            select(Membership.member_id).where(
                Membership.team_id == team.id, Membership.reminders_muted.is_(True)
            )
        )
    )
    away = absent_on(session, team.id, today)
    out: list[Reminder] = []
    for m in _members(session, team.id, leaders=False):
        # Nobody is reminded on a day of leave.
        if m.id in muted or m.id in away:
            continue
        if m.telegram_id is None or not m.private_chat_ok or m.blocked_at:
            continue
        lines, _ = member_lines(session, team, cal, m.id, today, now, None)
        coaching = [c for c in (_coach(cal, ln, now) for ln in lines) if c is not None]
        behind = [c for c in coaching if c.pace is not None and c.pace < 1 and c.remaining > 0]
        if not behind:
            continue
        recipient = Recipient(
            m.id, m.telegram_id, m.display_name, m.language or m.telegram_language
        )
        out.append(Reminder(recipient, tuple(lines), tuple(behind), names))
    return info, out


def _coach(cal: WorkCalendar, line: MeLine, now: dt.datetime) -> Coaching | None:
    ln = line.line
    if ln.target is None or ln.actual is None or ln.unit == "ratio" or ln.direction != "higher":
        return None
    remaining = ln.target - ln.actual
    days_left = periods.remaining_working_days(cal, line.span, now, include_today=True)
    rate = run_rate_phrase(
        remaining,
        days_left,
        ln.unit,
        week_days=len(cal.working_weekdays),
        weekly=line.span.period in ("month", "quarter", "year"),
    )
    return Coaching(
        ln.key,
        ln.unit,
        line.span.period,
        ln.actual,
        ln.target,
        remaining,
        days_left,
        rate,
        ln.pace,
    )


DIGEST_PENDING_SHOWN = 10  # deals waiting for approval named in the digest (then a count)


@dataclass(frozen=True)
class LeaderDigest:
    """The previous week for the team's leaders: who is behind, who has gone quiet."""

    team: TeamInfo
    board: Board
    behind: tuple[str, ...]
    quiet: tuple[str, ...]  # nothing logged for two working days or more
    unreachable: tuple[str, ...]
    leaders: tuple[Recipient, ...]
    # Leaders' changes into closed months since the last digest (kpi.closing).
    late: tuple[closing.LateChange, ...] = ()
    # Deals waiting for a leader (oldest first, a few named) and how many in all.
    pending: tuple[PendingDeal, ...] = ()
    pending_count: int = 0
    backfills: tuple[BackfillNote, ...] = ()  # bulk backfills logged since the last digest


def leader_digest(session: Session, post: Post, now: dt.datetime) -> LeaderDigest | None:
    """Build the leader digest for the week in `post.span`."""
    scope = _board_scope(session, post, now)
    if scope is None:
        return None
    info, team, cal, board = scope.info, scope.team, scope.cal, scope.board
    behind = tuple(
        r.name for r in board.rows if r.score is None or (r.score is not None and r.score < 100)
    )
    today = local_today(cal, now)
    last = last_activity_days(session, team.id)
    away = away_days(session, [team.id])
    quiet = []
    for m in _members(session, team.id, leaders=False):
        seen = last.get(m.id)
        since = seen + dt.timedelta(days=1) if seen else None
        missed = (
            count_working_days(cal, since, today - dt.timedelta(days=1))
            if since is not None and since < today
            else (0 if since is not None else 2)
        )
        if since is not None and since < today:
            # Working days on leave are not days without logging.
            yesterday = today - dt.timedelta(days=1)
            missed -= sum(
                count_working_days(cal, a, b)
                for a, b in days_in(away.get((team.id, m.id), ()), since, yesterday)
            )
        elif m.id in absent_on(session, team.id, today):
            missed = 0
        if missed >= 2:
            quiet.append(m.display_name)
    pending = approvals.pending_deals(session, team.id)
    # Backfills logged in the week before this digest (digests are weekly).
    backfills = approvals.backfills(session, team, now - dt.timedelta(days=7), now)
    return LeaderDigest(
        info,
        board,
        behind,
        tuple(quiet),
        tuple(unreachable_members(session, team.id)),
        tuple(leaders_of(session, team.id)),
        tuple(
            closing.late_changes(
                session, team.id, since=closing.since_last_digest(session, team.id)
            )
        ),
        tuple(pending[:DIGEST_PENDING_SHOWN]),
        len(pending),
        tuple(backfills),
    )
