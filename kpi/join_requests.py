"""Joining a team that asks for a leader's approval: the request, the leaders' question, the
answer.

With join approval on (a team setting), `/join` and invite links make the membership `pending`:
the person cannot log or read the team's numbers yet. Every leader who opened a private chat
with the bot gets the question with Approve / Reject buttons (a pending action and one outbox
row per leader, written with the request). The first answer decides, claimed in one statement
so that two leaders pressing at once decide once; whoever presses later is told who decided.
The person who asked is told the outcome in their own language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kpi import audit, outbox, pending
from kpi.calendar import today_in
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_LEFT,
    MEMBERSHIP_PENDING,
    Member,
    PendingAction,
    Team,
)
from kpi.posts.content import leaders_or_group
from kpi.teams import JoinStatus, join_team, membership_of, teams_of

JOIN_KIND = "join"  # the pending question, one per request
JOIN_REQUEST = "join_request"  # the outbox kind of a leader's question
JOIN_ANSWER = "join_answer"  # the outbox kind of the answer to the person who asked
# Leaders answer when they read it; a day (the default for buttons) is too short here. After
# that the person asks again with /join or the link, and the leaders are asked again.
JOIN_TTL = dt.timedelta(days=30)

Decision = Literal["approved", "rejected"]


@dataclass(frozen=True)
class Joining:
    """What joining did, and the leaders' questions to send now (outbox ids)."""

    status: JoinStatus
    notices: tuple[int, ...] = ()


def request_join(
    session: Session, team: Team, member: Member, today: dt.date, now: dt.datetime
) -> Joining:
    """Join a team (/join or an invite link); with approval on, ask its leaders."""
    status = join_team(session, team, member, today, now=now)
    if status != "pending":
        return Joining(status)
    return Joining(status, ask_leaders(session, team, member, now))


def open_request(
    session: Session, team_id: int, member_id: int, now: dt.datetime
) -> PendingAction | None:
    """Return the person's request that still waits for a leader, if any."""
    return session.scalar(
        select(PendingAction)
        .where(
            PendingAction.kind == JOIN_KIND,
            PendingAction.team_id == team_id,
            PendingAction.member_id == member_id,
            PendingAction.resolved_at.is_(None),
            PendingAction.expires_at > now,
        )
        .order_by(PendingAction.id.desc())
        .limit(1)
    )


def ask_leaders(session: Session, team: Team, member: Member, now: dt.datetime) -> tuple[int, ...]:
    """Ask every leader in private whether the person may join; return the outbox ids.

    A request that still waits is not asked again (a second /join, the link opened twice).
    """
    if open_request(session, team.id, member.id, now) is not None:
        return ()
    action = pending.ask(
        session,
        kind=JOIN_KIND,
        team_id=team.id,
        member_id=member.id,
        chat_id=team.chat_id,
        payload={},
        now=now,
    )
    action.expires_at = now + JOIN_TTL
    ids = []
    for asked in leaders_or_group(session, team):
        queued = outbox.enqueue(
            session,
            key=f"join:{action.id}:{asked.key}",
            kind=JOIN_REQUEST,
            chat_id=asked.chat_id,
            team_id=team.id,
            user_id=asked.user_id,
            payload={
                "lang": asked.lang_pref or team.language,
                "action": action.id,
                "name": member.display_name,
                "username": member.username or "",
                "team": team.title,
            },
            now=now,
        )
        if queued is not None:
            ids.append(queued.id)
    session.flush()
    return tuple(ids)


@dataclass(frozen=True)
class Decided:
    """A request answered: now by this leader, or before by `by` (a name)."""

    decision: Decision
    now: bool  # decided by this press (False: someone pressed first)
    by: str
    notice: int | None = None  # the outbox row telling the person who asked


def decide(
    session: Session,
    action: PendingAction,
    team: Team,
    requester: Member,
    leader: Member,
    approve: bool,
    now: dt.datetime,
) -> Decided | Literal["gone"]:
    """Approve or reject a request once; a later press learns who decided and how."""
    decision: Decision = "approved" if approve else "rejected"
    # Claimed in one statement, so that two leaders pressing at once decide once.
    claimed = session.execute(
        update(PendingAction)
        .where(PendingAction.id == action.id, PendingAction.resolved_at.is_(None))
        .values(resolved_at=now, resolution=decision, payload={**action.payload, "by": leader.id})
        .returning(PendingAction.id)
    ).first()
    session.refresh(action)
    if claimed is None:
        return decided_before(session, action)
    m = membership_of(session, team.id, requester.id)
    if m is None or m.status != MEMBERSHIP_PENDING:
        # Removed, or joined another way meanwhile: nothing is left to decide.
        action.resolution = "gone"
        return "gone"
    today = today_in(team.timezone, now)
    action_name = f"member.{'approve' if approve else 'reject'}"
    with audit.membership_change(session, m, action_name, actor_id=leader.id, now=now):
        if approve:
            m.status = MEMBERSHIP_ACTIVE
            m.joined_on = today
            m.left_on = None
        else:
            # A rejected person may ask again later; the leaders decide again.
            m.status = MEMBERSHIP_LEFT
            m.left_on = today
    if approve:
        # With a second team, the private chat must ask which team is meant.
        others = [t for t in teams_of(session, requester.id) if t.id != team.id]
        requester.current_team_id = None if others else team.id
    notice = _tell_requester(session, action, team, requester, decision, now)
    return Decided(decision, True, leader.display_name, notice)


def decided_before(session: Session, action: PendingAction) -> Decided | Literal["gone"]:
    """Say who answered a request already, and how."""
    if action.resolution not in ("approved", "rejected"):
        return "gone"
    by = session.get(Member, int(action.payload.get("by", 0) or 0))
    decision: Decision = "approved" if action.resolution == "approved" else "rejected"
    return Decided(decision, False, by.display_name if by is not None else "")


def _tell_requester(
    session: Session,
    action: PendingAction,
    team: Team,
    requester: Member,
    decision: Decision,
    now: dt.datetime,
) -> int | None:
    """Queue the outcome for the person who asked: in private when the bot may write there,
    else in the team's group (where they sent /join)."""
    if requester.telegram_id is None:
        return None
    private = requester.private_chat_ok and requester.blocked_at is None
    queued = outbox.enqueue(
        session,
        key=f"join:{action.id}:answer",
        kind=JOIN_ANSWER,
        chat_id=requester.telegram_id if private else team.chat_id,
        team_id=team.id,
        user_id=requester.telegram_id,
        payload={
            "lang": requester.language or requester.telegram_language or team.language,
            "decision": decision,
            "team": team.title,
            "name": requester.display_name,
        },
        now=now,
    )
    return queued.id if queued is not None else None
