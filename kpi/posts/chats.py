"""Per-chat facts: chats that cannot be reached, the pinned living leaderboard of each group,
the report answers a group was given lately."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import periods
from kpi.calendar import WorkCalendar, calendar_of, local_now, local_today
from kpi.db import insert_ignore
from kpi.models import (
    ENTRY_ACTIVE,
    ENTRY_PENDING,
    ENTRY_REJECTED,
    ENTRY_REPLACED,
    ENTRY_VOIDED,
    Activity,
    ChatState,
    Member,
    Team,
)
from kpi.posts.registry import LIVING_BOARD
from kpi.standings import Board, team_board
from kpi.teams import deactivate_team, migrate_chat, settings_of

# Every status an entry can have: the (team, status, day) index is searched by all of them.
ENTRY_STATUSES = (ENTRY_ACTIVE, ENTRY_PENDING, ENTRY_VOIDED, ENTRY_REPLACED, ENTRY_REJECTED)


def _state(session: Session, chat_id: int) -> ChatState:
    state = session.get(ChatState, chat_id)
    if state is None:
        # Two senders may mark one chat at once (a blocked person's confirmation and reminder,
        # two instances): the primary key decides, and both update the one row.
        session.execute(
            insert_ignore(session, ChatState)
            .values(chat_id=chat_id)
            .on_conflict_do_nothing(index_elements=["chat_id"])
        )
        state = session.get(ChatState, chat_id)
        assert state is not None
    return state


def unreachable(session: Session, *, chat_id: int, reason: str, now: dt.datetime) -> None:
    """Record that a chat refused the bot: a group that removed it, a person who blocked it."""
    state = _state(session, chat_id)
    state.unreachable_since = state.unreachable_since or now
    state.unreachable_reason = reason[:200]
    if chat_id < 0:
        deactivate_team(session, chat_id, now)
        return
    member = session.scalar(select(Member).where(Member.telegram_id == chat_id))
    if member is not None:
        member.private_chat_ok = False
        member.blocked_at = member.blocked_at or now


def migrated(session: Session, *, old_chat_id: int, new_chat_id: int) -> bool:
    """Follow a group that became a supergroup while a post was being sent."""
    return migrate_chat(session, old_chat_id, new_chat_id)


@dataclass(frozen=True)
class LivingBoard:
    """A team whose pinned leaderboard may need an edit."""

    chat_id: int
    thread: int | None
    message_id: int | None
    text_hash: str | None
    board: Board
    local_time: str


def boards_to_refresh(session: Session, *, now: dt.datetime) -> list[LivingBoard]:
    """Return the living leaderboards of teams with activity changed since their last edit."""
    out = []
    for team in session.scalars(select(Team).where(Team.active.is_(True))):
        settings = settings_of(team)
        if not LIVING_BOARD.enabled(settings):
            continue
        state = session.get(ChatState, team.chat_id)
        if state is not None and state.unreachable_since is not None:
            continue
        cal = calendar_of(session, team)
        week = periods.span_of("week", local_today(cal, now), cal)
        # Only this week's entries can change this week's board; the (team, status, day)
        # index finds them without reading the team's history.
        changed = session.scalar(
            select(func.max(Activity.updated_at)).where(
                Activity.team_id == team.id,
                Activity.status.in_(ENTRY_STATUSES),
                Activity.day >= week.start,
                Activity.day <= week.end,
            )
        )
        if changed is None:
            continue
        edited = state.pinned_edited_at if state is not None else None
        if edited is not None and _aware(changed) <= edited:
            continue
        board = team_board(session, team, week, now, cal=cal)
        out.append(
            LivingBoard(
                team.chat_id,
                settings.topics.get(LIVING_BOARD.key),
                state.pinned_message_id if state else None,
                state.pinned_text_hash if state else None,
                board,
                local_now(cal, now).strftime("%H:%M %d/%m"),
            )
        )
    return out


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def board_edited(
    session: Session,
    *,
    chat_id: int,
    team_id: int,
    message_id: int,
    text_hash: str,
    now: dt.datetime,
) -> None:
    """Remember the pinned leaderboard's message and what it shows now."""
    state = _state(session, chat_id)
    state.team_id = team_id
    state.pinned_message_id = message_id
    state.pinned_text_hash = text_hash
    state.pinned_edited_at = now


# --- report answers in a group -------------------------------------------------------------------

# The same report asked again in a group within this time is not posted there again: a group's
# send budget (Telegram: 20 messages a minute) is shared by the scheduled posts and everyone's
# confirmations, and one person repeating /leaderboard must not hold them up.
REPEAT_WINDOW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class PostedReport:
    """The same report, posted in the group a moment ago."""

    message_id: int | None  # its first message; None while it is still being sent
    local_time: str  # when it was posted, HH:MM on the team's clock


def _recent(state: ChatState, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Return the group's report answers still inside the repeat window (a fresh copy)."""
    out = {}
    for key, entry in (state.recent_reports or {}).items():
        try:
            at = dt.datetime.fromisoformat(str(entry["at"]))
        except (KeyError, TypeError, ValueError):
            continue
        if at.tzinfo is not None and now - REPEAT_WINDOW < at <= now:
            out[key] = dict(entry)
    return out


@dataclass(frozen=True)
class GroupReport:
    """A report answer asked for in a group: its key, and its post a moment ago if any."""

    key: str  # the command family, the period and what it is about: `leaderboard:week:calls`
    earlier: PostedReport | None  # None: post it now (already recorded as posted)


def report_in_group(
    session: Session,
    *,
    chat_id: int,
    team_id: int,
    report: str,
    cal: WorkCalendar,
    now: dt.datetime,
) -> GroupReport:
    """Find the same report's post in the group within REPEAT_WINDOW, or record that it is
    posted now (in the command's unit of work, so a second instance sees it at once)."""
    state = _state(session, chat_id)
    recent = _recent(state, now)
    earlier = recent.get(report)
    if earlier is not None:
        at = dt.datetime.fromisoformat(str(earlier["at"]))
        message_id = earlier.get("message_id")
        posted = PostedReport(
            int(message_id) if message_id is not None else None,
            local_now(cal, at).strftime("%H:%M"),
        )
        return GroupReport(report, posted)
    recent[report] = {"at": now.isoformat(), "message_id": None}
    state.recent_reports = recent
    state.team_id = team_id
    return GroupReport(report, None)


def report_posted(
    session: Session, *, chat_id: int, report: str, message_id: int | None, now: dt.datetime
) -> None:
    """Remember the message a report answer went out as; None forgets it (the send failed)."""
    state = session.get(ChatState, chat_id)
    if state is None:
        return
    recent = _recent(state, now)
    if report not in recent:
        return
    if message_id is None:
        del recent[report]
    else:
        recent[report]["message_id"] = message_id
    state.recent_reports = recent
