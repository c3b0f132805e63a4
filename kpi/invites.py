"""Invite links: a leader's deep link (`t.me/<bot>?start=<token>`) that joins the team.

A link is multi-use, or single-use (`/invite once`); it expires after the team's `invite_days`
and a leader can revoke it. The token is random (`secrets.token_urlsafe`, 192 bits) and only its
SHA-256 is stored: the plain token is shown once, to the leader who made the link, and a copy of
the database opens nothing. Opening a link joins the team through `kpi.join_requests` (a
request to the leaders when join approval is on). Creating and revoking are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from kpi import audit, join_requests, store
from kpi.calendar import today_in
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_PENDING,
    MEMBERSHIP_REMOVED,
    Invite,
    Member,
    Team,
)
from kpi.teams import JoinStatus, membership_of, settings_of

TOKEN_BYTES = 24  # 32 URL-safe characters (Telegram's start parameter takes up to 64)
TOKEN_MIN = 16  # a shorter /start payload is a greeting, not a token
TOKEN_MAX = 64
ENTITY = "invite"

LinkState = Literal["ok", "invalid", "revoked", "expired", "used"]
Redemption = Literal[
    "joined", "already", "pending", "removed", "invalid", "revoked", "expired", "used"
]


_REDEMPTION: dict[JoinStatus, Redemption] = {
    "joined": "joined",
    "rejoined": "joined",
    "already": "already",
    "pending": "pending",
    "removed": "removed",
}


def new_token() -> str:
    """Return a fresh random token for a link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """Return the form a token is stored and looked up in (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(payload: str | None) -> bool:
    """Tell whether a /start payload may be an invite token (long enough, not too long)."""
    return payload is not None and TOKEN_MIN <= len(payload) <= TOKEN_MAX


def create(
    session: Session, team: Team, *, actor_id: int, single_use: bool, now: dt.datetime
) -> tuple[Invite, str]:
    """Make a link valid for the team's `invite_days`; return it and its plain token."""
    token = new_token()
    invite = Invite(
        team_id=team.id,
        token_hash=token_hash(token),
        single_use=single_use,
        created_by=actor_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings_of(team).invite_days),
        uses=0,
    )
    session.add(invite)
    session.flush()
    audit.record(
        session,
        team_id=team.id,
        actor_id=actor_id,
        action="invite.create",
        entity=ENTITY,
        entity_id=invite.id,
        after={"single_use": single_use, "expires_at": invite.expires_at.isoformat()},
        now=now,
    )
    return invite, token


def is_open(invite: Invite, now: dt.datetime) -> bool:
    """Tell whether a link still joins: not revoked, not expired, not used up."""
    return state(invite, now) == "ok"


def state(invite: Invite, now: dt.datetime) -> LinkState:
    """Say whether a link joins, or why not."""
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= now:
        return "expired"
    if invite.single_use and invite.uses >= 1:
        return "used"
    return "ok"


def open_invites(session: Session, team_id: int, now: dt.datetime) -> list[Invite]:
    """Return the team's links that still join, oldest first."""
    rows = session.scalars(
        select(Invite)
        .where(Invite.team_id == team_id, Invite.revoked_at.is_(None), Invite.expires_at > now)
        .order_by(Invite.id)
    )
    return [i for i in rows if is_open(i, now)]


RevokeStatus = Literal["revoked", "already", "not_found"]


def revoke(
    session: Session, team_id: int, invite_id: int, *, actor_id: int, now: dt.datetime
) -> RevokeStatus:
    """Stop a link of the team from joining anyone (another team's id is not found)."""
    invite = session.get(Invite, invite_id) if 0 < invite_id <= store.MAX_ID else None
    if invite is None or invite.team_id != team_id:
        return "not_found"
    if invite.revoked_at is not None:
        return "already"
    invite.revoked_at = now
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="invite.revoke",
        entity=ENTITY,
        entity_id=invite.id,
        before={"uses": invite.uses, "expires_at": invite.expires_at.isoformat()},
        after={"revoked_at": now.isoformat()},
        now=now,
    )
    return "revoked"


@dataclass(frozen=True)
class Redeemed:
    """What opening a link did, the team's title, and the leaders' questions to send now."""

    status: Redemption
    team: str | None = None
    notices: tuple[int, ...] = ()


def redeem(session: Session, token: str, member: Member, now: dt.datetime) -> Redeemed:
    """Join the team of a link (or ask its leaders); say clearly why a link does not join.

    Opening a link one is already in (or waiting for) uses nothing up; a single-use link is
    used up by the first person it lets in, claimed in one statement so two people opening it
    at once cannot both join.
    """
    invite = session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
    team = session.get(Team, invite.team_id) if invite is not None else None
    if invite is None or team is None or not team.active:
        return Redeemed("invalid")
    current = membership_of(session, team.id, member.id)
    if current is not None and current.status == MEMBERSHIP_ACTIVE:
        return Redeemed("already", team.title)  # whatever became of the link since
    if current is not None and current.status == MEMBERSHIP_REMOVED:
        # Removed by a leader: only a leader takes them back, not a link going round.
        return Redeemed("removed", team.title)
    link = state(invite, now)
    if link != "ok":
        return Redeemed(link, team.title)
    today = today_in(team.timezone, now)
    if current is None or current.status != MEMBERSHIP_PENDING:
        used = session.execute(
            update(Invite)
            .where(
                Invite.id == invite.id,
                Invite.revoked_at.is_(None),
                or_(Invite.single_use.is_(False), Invite.uses == 0),
            )
            .values(uses=Invite.uses + 1)
            .returning(Invite.id)
        ).first()
        if used is None:
            return Redeemed("used", team.title)
    joining = join_requests.request_join(session, team, member, today, now)
    return Redeemed(_REDEMPTION[joining.status], team.title, joining.notices)
