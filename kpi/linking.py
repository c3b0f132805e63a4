"""Imported people linked to the Telegram account that joins: a leader's question, then a merge.

An import makes a member not yet linked to Telegram for a name nobody in the team has. When
someone whose name or @username matches such a member joins the team, the team's leaders are
asked privately whether it is the same person. Only a leader's Confirm moves the imported
history to the person who joined: a display name alone never hands anyone another's history.

The merge moves the imported member's check-ins, entries and target overrides in the team to
the person who joined and marks the imported membership `merged`. Nothing is deleted: the
imported row stays (without Telegram, without a team), and the audit names both.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kpi import audit, outbox, pending
from kpi.exports.columns import name_key
from kpi.models import (
    ENTRY_ACTIVE,
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_MERGED,
    ROLE_LEADER,
    Activity,
    Checkin,
    Member,
    Membership,
    PendingAction,
    Target,
    Team,
)


def _membership(session: Session, team_id: int, member_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.team_id == team_id, Membership.member_id == member_id)
    )


LINK_KIND = "link"  # the pending question, one per imported member and person who joined
LINK_PROPOSAL = "link_proposal"  # the outbox kind the leaders' messages are rendered from
# Leaders answer when they read it; a day (the default for buttons) is too short here.
LINK_TTL = dt.timedelta(days=30)


def _name_keys(member: Member) -> set[str]:
    """Return the folded forms of a person's Telegram name (empty when they have none)."""
    variants = (f"{member.first_name} {member.last_name or ''}", member.first_name)
    return {k for k in (name_key(v) for v in variants) if k}


def unlinked_matches(session: Session, team_id: int, member: Member) -> list[Member]:
    """Return the team's imported members (no Telegram) whose name or @username is the person's."""
    candidates = session.scalars(
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(
            Membership.team_id == team_id,
            Membership.status != MEMBERSHIP_MERGED,
            Member.telegram_id.is_(None),
            Member.erased_at.is_(None),
        )
        .order_by(Member.id)
    ).all()
    keys = _name_keys(member)
    username = member.username.lower() if member.username else None
    found = []
    for c in candidates:
        same_username = username is not None and c.username == username
        same_name = bool(c.first_name) and name_key(c.display_name) in keys
        if same_username or same_name:
            found.append(c)
    return found


def propose_links(session: Session, team: Team, member: Member, now: dt.datetime) -> int:
    """Ask the team's leaders whether a person who joined is an imported member; return how many
    questions were asked (none again for a pair already asked and still open, or declined)."""
    if member.telegram_id is None or member.erased_at is not None:
        return 0
    candidates = unlinked_matches(session, team.id, member)
    if not candidates:
        return 0
    asked = {
        int(a.payload.get("imported", 0))
        for a in session.scalars(
            select(PendingAction).where(
                PendingAction.kind == LINK_KIND,
                PendingAction.team_id == team.id,
                PendingAction.member_id == member.id,
            )
        )
        # An open question, or a leader's "not the same person", is not asked again.
        if (a.resolved_at is None and a.expires_at > now) or a.resolution == "declined"
    }
    leaders = session.scalars(
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(
            Membership.team_id == team.id,
            Membership.role == ROLE_LEADER,
            Membership.status == MEMBERSHIP_ACTIVE,
            Member.telegram_id.is_not(None),
            Member.private_chat_ok.is_(True),
            Member.id != member.id,
        )
        .order_by(Member.id)
    ).all()
    count = 0
    for c in candidates:
        if c.id in asked:
            continue
        action = pending.ask(
            session,
            kind=LINK_KIND,
            team_id=team.id,
            member_id=member.id,
            chat_id=team.chat_id,
            payload={"imported": c.id},
            now=now,
        )
        action.expires_at = now + LINK_TTL
        entries = session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(
                Activity.team_id == team.id,
                Activity.member_id == c.id,
                Activity.status == ENTRY_ACTIVE,
            )
        )
        for leader in leaders:
            assert leader.telegram_id is not None
            outbox.enqueue(
                session,
                key=f"link:{action.id}:{leader.id}",
                kind=LINK_PROPOSAL,
                chat_id=leader.telegram_id,
                team_id=team.id,
                user_id=leader.telegram_id,
                payload={
                    "lang": leader.language or leader.telegram_language or team.language,
                    "action": action.id,
                    "imported": c.display_name,
                    "joiner": member.display_name,
                    "username": member.username or "",
                    "team": team.title,
                    "entries": int(entries or 0),
                },
                now=now,
            )
        count += 1
    session.flush()
    return count


def can_merge(session: Session, team: Team, imported: Member, joiner: Member) -> bool:
    """Tell whether an imported member may still be merged into the person who joined."""
    source = _membership(session, team.id, imported.id)
    target = _membership(session, team.id, joiner.id)
    # Linked to someone else meanwhile, erased, or the joiner is no longer in the team.
    return (
        imported.telegram_id is None
        and source is not None
        and source.status != MEMBERSHIP_MERGED
        and target is not None
        and joiner.erased_at is None
    )


def audit_declined(
    session: Session, team: Team, actor_id: int, imported: Member, joiner: Member, now: dt.datetime
) -> None:
    """Record a leader's "not the same person"."""
    _audit(session, team, actor_id, "member.link_declined", imported, joiner, now)


def merge(
    session: Session,
    team: Team,
    imported: Member,
    joiner: Member,
    *,
    actor_id: int,
    now: dt.datetime,
) -> int:
    """Make an imported member's history in the team the joiner's; return the entries moved."""
    source = _membership(session, team.id, imported.id)
    target = _membership(session, team.id, joiner.id)
    assert source is not None and target is not None
    entries = int(
        session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.team_id == team.id, Activity.member_id == imported.id)
        )
        or 0
    )
    checkins = int(
        session.scalar(
            select(func.count())
            .select_from(Checkin)
            .where(Checkin.team_id == team.id, Checkin.member_id == imported.id)
        )
        or 0
    )
    session.execute(
        update(Activity)
        .where(Activity.team_id == team.id, Activity.member_id == imported.id)
        .values(member_id=joiner.id)
    )
    session.execute(
        update(Checkin)
        .where(Checkin.team_id == team.id, Checkin.member_id == imported.id)
        .values(member_id=joiner.id)
    )
    # An import from the command line names the person as its own actor.
    session.execute(
        update(Checkin)
        .where(Checkin.team_id == team.id, Checkin.actor_id == imported.id)
        .values(actor_id=joiner.id)
    )
    session.execute(
        update(Target)
        .where(Target.team_id == team.id, Target.member_id == imported.id)
        .values(member_id=joiner.id)
    )
    # The history starts with the imported days, so periods and pace count them.
    target.joined_on = min(target.joined_on, source.joined_on)
    source.status = MEMBERSHIP_MERGED
    source.left_on = target.joined_on
    after = {"member": joiner.id, "checkins": checkins, "entries": entries}
    _audit(session, team, actor_id, "member.link", imported, joiner, now, after)
    session.flush()
    return entries


def _audit(
    session: Session,
    team: Team,
    actor_id: int,
    action: str,
    imported: Member,
    joiner: Member,
    now: dt.datetime,
    after: dict[str, int] | None = None,
) -> None:
    audit.record(
        session,
        team_id=team.id,
        actor_id=actor_id,
        action=action,
        entity="member",
        entity_id=imported.id,
        before={"member": imported.id, "name": imported.display_name, "imported": True},
        after=after or {"member": joiner.id},
        now=now,
    )
