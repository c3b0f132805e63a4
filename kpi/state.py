"""Per-chat facts: chats that cannot be reached, the pinned living leaderboard of each group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import periods
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
from kpi.standings import Board, team_board
from kpi.targets import calendar_of
from kpi.teams import deactivate_team, migrate_chat, settings_of

# Every status an entry can have: the (team, status, day) index is searched by all of them.
ENTRY_STATUSES = (ENTRY_ACTIVE, ENTRY_PENDING, ENTRY_VOIDED, ENTRY_REPLACED, ENTRY_REJECTED)


def _state(session: Session, chat_id: int) -> ChatState:
    state = session.get(ChatState, chat_id)
    if state is None:
        state = ChatState(chat_id=chat_id)
        session.add(state)
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
        if not settings.living_board:
            continue
        state = session.get(ChatState, team.chat_id)
        if state is not None and state.unreachable_since is not None:
            continue
        cal = calendar_of(session, team)
        week = periods.span_of("week", periods.local_today(cal, now), cal)
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
                settings.topics.get("board"),
                state.pinned_message_id if state else None,
                state.pinned_text_hash if state else None,
                board,
                periods.local_now(cal, now).strftime("%H:%M %d/%m"),
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
