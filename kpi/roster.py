"""A team's roster: who is in it with which role, role and ranking changes, removal, people
leaving the group, the last-leader rule, and what the bot stops doing when it loses its rights.

Every change of role or membership goes through `kpi.audit`. Nothing is deleted: a removed or
departed member keeps their entries, which still count in the team's totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import audit
from kpi.calendar import today_in
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_LEFT,
    MEMBERSHIP_MERGED,
    MEMBERSHIP_PENDING,
    MEMBERSHIP_REMOVED,
    ROLE_LEADER,
    ROLE_REP,
    Member,
    Membership,
    Team,
)

# Former members (left, removed) /team names; the rest are counted (Telegram's 4,096 characters).
FORMER_LISTED = 10


@dataclass(frozen=True)
class RosterRow:
    """One person of a team as /team lists them."""

    membership_id: int
    member_id: int
    name: str
    username: str | None
    role: str  # leader, rep
    status: str  # active, pending, left, removed
    ranked: bool
    reachable: bool  # the bot may write to them privately
    linked: bool  # a Telegram account (an imported member may have none yet)


def roster(session: Session, team_id: int) -> list[RosterRow]:
    """Return the team's people: leaders, then reps, then pending, then former, each by name."""
    rows = session.execute(
        select(Membership, Member)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.team_id == team_id, Membership.status != MEMBERSHIP_MERGED)
    ).all()
    order = {MEMBERSHIP_ACTIVE: 0, MEMBERSHIP_PENDING: 1}
    out = [
        RosterRow(
            m.id,
            p.id,
            p.display_name,
            p.username,
            m.role,
            m.status,
            m.ranked,
            p.telegram_id is not None and p.private_chat_ok and p.blocked_at is None,
            p.telegram_id is not None,
        )
        for m, p in rows
    ]
    out.sort(
        key=lambda r: (
            order.get(r.status, 2),
            r.role != ROLE_LEADER,
            r.name.casefold(),
            r.member_id,
        )
    )
    return out


def active_leaders(session: Session, team_id: int) -> int:
    """Count the team's active leaders."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.team_id == team_id,
                Membership.status == MEMBERSHIP_ACTIVE,
                Membership.role == ROLE_LEADER,
            )
        )
        or 0
    )


def is_last_leader(session: Session, m: Membership) -> bool:
    """Tell whether this active leader is the only one the team has."""
    return (
        m.status == MEMBERSHIP_ACTIVE
        and m.role == ROLE_LEADER
        and active_leaders(session, m.team_id) <= 1
    )


def set_role(
    session: Session, m: Membership, role: str, *, actor_id: int | None, now: dt.datetime
) -> bool:
    """Make an active member a leader or a rep; False when they already were."""
    if m.role == role:
        return False
    with audit.membership_change(session, m, "member.role", actor_id=actor_id, now=now):
        m.role = role
    return True


def set_ranked(
    session: Session, m: Membership, ranked: bool, *, actor_id: int | None, now: dt.datetime
) -> bool:
    """Include a member in the rankings or leave them out; False when nothing changed."""
    if m.ranked == ranked:
        return False
    with audit.membership_change(session, m, "member.ranked", actor_id=actor_id, now=now):
        m.ranked = ranked
    return True


Departure = Literal["left", "removed"]


def end_membership(
    session: Session,
    m: Membership,
    how: Departure,
    *,
    actor_id: int | None,
    now: dt.datetime,
) -> bool:
    """Take a member out of the team (they left the group, or a leader removed them).

    They lose any leader powers, cannot log and are not listed or reminded any more; their
    entries stay and count in the team's totals. False when they were not an active member.
    """
    if m.status != MEMBERSHIP_ACTIVE:
        return False
    team = session.get(Team, m.team_id)
    assert team is not None
    action = "member.remove" if how == "removed" else "member.left"
    with audit.membership_change(session, m, action, actor_id=actor_id, now=now):
        m.status = MEMBERSHIP_REMOVED if how == "removed" else MEMBERSHIP_LEFT
        m.role = ROLE_REP
        m.left_on = today_in(team.timezone, now)
    member = session.get(Member, m.member_id)
    if member is not None and member.current_team_id == team.id:
        member.current_team_id = None
    return True


def membership_by_telegram_id(
    session: Session, team_id: int, telegram_id: int
) -> Membership | None:
    """Return the membership of the person with this Telegram id in a team (any status)."""
    return session.scalar(
        select(Membership)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.team_id == team_id, Member.telegram_id == telegram_id)
    )


# --- the bot's own rights in a group --------------------------------------------------------

Loss = Literal["reading", "board", "removing"]
LOSSES: tuple[Loss, ...] = ("reading", "board", "removing")


@dataclass(frozen=True)
class BotRights:
    """What the bot may do in a group: be an administrator, pin, remove people."""

    admin: bool
    can_pin: bool
    can_restrict: bool


def rights_lost(old: BotRights, new: BotRights) -> tuple[Loss, ...]:
    """Return what stops working when the bot's rights go from `old` to `new`.

    Reading plain messages needs the bot to be an administrator (privacy mode), the pinned
    living leaderboard needs the right to pin, removing people the right to ban.
    """
    lost: list[Loss] = []
    if old.admin and not new.admin:
        lost.append("reading")
    if old.admin and old.can_pin and not (new.admin and new.can_pin):
        lost.append("board")
    if old.admin and old.can_restrict and not (new.admin and new.can_restrict):
        lost.append("removing")
    return tuple(lost)
