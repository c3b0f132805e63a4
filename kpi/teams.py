"""Teams, people and memberships: setup, join, roles, per-team settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from kpi import audit, linking
from kpi.catalog import BUILTIN_KPIS, BUILTIN_METRICS, DEFAULT_DEAL_AMOUNT_BOUND
from kpi.db import insert_ignore, prepared
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_PENDING,
    MEMBERSHIP_REMOVED,
    ROLE_LEADER,
    ROLE_REP,
    ChatState,
    KpiDefinition,
    Member,
    Membership,
    Metric,
    Target,
    Team,
    utcnow,
)
from kpi.names import DEFAULT_LANGUAGE
from kpi.posts.registry import DEFAULT_SCHEDULE

GroupSees = Literal["full", "top", "totals"]
Role = Literal["admin", "leader", "rep"]


@dataclass(frozen=True)
class TeamSettings:
    """What a leader tunes with /settings (stored as JSON on the team, defaults filled in)."""

    edit_window_days: int = 7
    leader_edit_window_days: int = 90
    attainment_cap: float = 1.5
    group_sees: GroupSees = "full"
    top_n: int = 5
    join_approval: bool = False
    deal_approval: bool = False
    celebrations: bool = True
    reminders: bool = True
    living_board: bool = True
    invite_days: int = 7
    duplicate_deal_days: int = 3
    deal_amount_bound: int = DEFAULT_DEAL_AMOUNT_BOUND
    grace_minutes: int = 120
    schedule: Mapping[str, str | None] = field(default_factory=lambda: dict(DEFAULT_SCHEDULE))
    topics: Mapping[str, int] = field(default_factory=dict)  # post kind -> forum topic id

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TeamSettings:
        """Read stored settings; unknown keys are ignored, missing ones take defaults."""
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        if "schedule" in known:
            known["schedule"] = {**DEFAULT_SCHEDULE, **known["schedule"]}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form stored on the team."""
        out = dataclasses.asdict(self)
        out["schedule"] = dict(self.schedule)
        out["topics"] = dict(self.topics)
        return out


@dataclass(frozen=True)
class TargetDefault:
    """A default per-member target a new team starts with."""

    kpi: str
    period: str
    value: float


@dataclass(frozen=True)
class TeamDefaults:
    """What a new team gets from the config."""

    language: str = DEFAULT_LANGUAGE
    timezone: str = "Asia/Ho_Chi_Minh"
    currency: str = "VND"
    country: str | None = "VN"
    week_start: int = 0
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    work_start: str = "08:00"
    work_end: str = "17:30"
    settings: TeamSettings = field(default_factory=TeamSettings)
    metric_bounds: Mapping[str, int] = field(default_factory=dict)
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"revenue": 0.4, "deals": 0.2, "meetings": 0.2, "calls": 0.2}
    )
    targets: Sequence[TargetDefault] = (
        TargetDefault("calls", "day", 20),
        TargetDefault("meetings", "week", 5),
        TargetDefault("deals", "month", 4),
        TargetDefault("revenue", "month", 200_000_000),
    )


@dataclass(frozen=True)
class PersonInfo:
    """What Telegram tells us about a user, without Telegram types."""

    telegram_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


def settings_of(team: Team) -> TeamSettings:
    """Return the team's typed settings."""
    return TeamSettings.from_json(team.settings)


def save_settings(
    session: Session,
    team: Team,
    new: TeamSettings,
    actor_id: int | None,
    now: dt.datetime | None = None,
) -> None:
    """Store new settings with an audit event (stamped `now`, else by the wall clock)."""
    before = settings_of(team).to_json()
    team.settings = new.to_json()
    audit.record(
        session,
        team_id=team.id,
        actor_id=actor_id,
        action="settings.change",
        entity="team",
        entity_id=team.id,
        before=before,
        after=team.settings,
        now=now,
    )


def upsert_member(session: Session, person: PersonInfo, now: dt.datetime) -> Member:
    """Find or create the person and refresh the name and username they have now."""
    member = session.scalar(_member_by_telegram_id(session), {"tid": person.telegram_id})
    username = person.username.lower() if person.username else None
    if member is not None and username == member.username and username is not None:
        pass  # the common case: nobody else can hold this username already
    elif username:
        # Usernames move between accounts: the newest holder keeps it.
        session.execute(
            update(Member)
            .where(Member.username == username, Member.telegram_id != person.telegram_id)
            .values(username=None)
        )
    if member is None:
        member = _new_member(session, person.telegram_id, now)
    if member.erased_at is None:
        _set_if_changed(member, "first_name", person.first_name[:255])
        _set_if_changed(member, "last_name", person.last_name[:255] if person.last_name else None)
        _set_if_changed(member, "username", username)
    _set_if_changed(member, "telegram_language", person.language_code)
    # "Last seen" to the hour is all anyone needs; not a write on every message.
    if member.seen_at is None or now - member.seen_at > dt.timedelta(hours=1):
        member.seen_at = now
    if member.id is None:
        session.flush()
    return member


def _new_member(session: Session, telegram_id: int, now: dt.datetime) -> Member:
    """Create the person's row, or take the one a concurrent update created a moment ago."""
    # A new person's first messages in two chats are handled at once (worker threads, several
    # instances): the unique key decides, and the loser reads the winner's row.
    session.execute(
        insert_ignore(session, Member)
        .values(telegram_id=telegram_id, first_name="", created_at=now, seen_at=now)
        .on_conflict_do_nothing(index_elements=["telegram_id"])
    )
    member = session.scalar(select(Member).where(Member.telegram_id == telegram_id))
    assert member is not None
    return member


def add_membership(
    session: Session,
    team_id: int,
    member_id: int,
    *,
    role: str,
    status: str,
    joined_on: dt.date,
) -> tuple[Membership, bool]:
    """Create a membership row unless one exists; return it and whether it is new.

    The same person joining one team from two chats at once (an invite link in private and
    /join in the group) creates one row: the unique key decides, the other update reads it.
    """
    created = (
        session.execute(
            insert_ignore(session, Membership)
            .values(
                team_id=team_id,
                member_id=member_id,
                role=role,
                status=status,
                joined_on=joined_on,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "member_id"])
            .returning(Membership.id)
        ).first()
        is not None
    )
    m = membership_of(session, team_id, member_id)
    assert m is not None
    return m, created


def _set_if_changed(obj: object, name: str, value: object) -> None:
    if getattr(obj, name) != value:
        setattr(obj, name, value)


# The lookups every update makes, built once (kpi.db.prepared).


def _member_by_telegram_id(session: Session) -> Any:
    return prepared(
        session,
        "member_by_telegram_id",
        lambda: select(Member).where(Member.telegram_id == bindparam("tid")),
    )


def team_for_chat(session: Session, chat_id: int) -> Team | None:
    """Return the team bound to a group chat, active or not."""
    stmt = prepared(
        session, "team_for_chat", lambda: select(Team).where(Team.chat_id == bindparam("chat"))
    )
    return session.scalar(stmt, {"chat": chat_id})


def membership_of(session: Session, team_id: int, member_id: int) -> Membership | None:
    """Return a person's membership row in a team (any status)."""
    stmt = prepared(
        session,
        "membership_of",
        lambda: select(Membership).where(
            Membership.team_id == bindparam("team"), Membership.member_id == bindparam("member")
        ),
    )
    return session.scalar(stmt, {"team": team_id, "member": member_id})


def active_membership(session: Session, team_id: int, member_id: int) -> Membership | None:
    """Return a person's membership when it is active."""
    m = membership_of(session, team_id, member_id)
    return m if m is not None and m.status == MEMBERSHIP_ACTIVE else None


@dataclass(frozen=True)
class SetupResult:
    """What /setup did."""

    team_id: int
    created: bool
    reactivated: bool
    already_leader: bool


def setup_team(
    session: Session,
    *,
    chat_id: int,
    title: str,
    leader: Member,
    defaults: TeamDefaults,
    today: dt.date,
    now: dt.datetime | None = None,
    is_forum: bool = False,
) -> SetupResult:
    """Bind the group to a team (creating it with the defaults) and make the caller a leader."""
    team = team_for_chat(session, chat_id)
    created = reactivated = False
    if team is None:
        team = Team(
            chat_id=chat_id,
            title=title[:255] or str(chat_id),
            language=defaults.language,
            timezone=defaults.timezone,
            currency=defaults.currency,
            country=defaults.country,
            week_start=defaults.week_start,
            working_days=",".join(str(d) for d in defaults.working_days),
            work_start=defaults.work_start,
            work_end=defaults.work_end,
            is_forum=is_forum,
            settings=defaults.settings.to_json(),
        )
        session.add(team)
        session.flush()
        _seed_catalogue(session, team, defaults, leader.id, today, now)
        created = True
    else:
        if not team.active:
            team.active = True
            team.inactive_since = None
            reactivated = True
            # The bot is back in the group: it can be reached again.
            state = session.get(ChatState, chat_id)
            if state is not None:
                state.unreachable_since = None
                state.unreachable_reason = None
        team.title = title[:255] or team.title
        team.is_forum = is_forum
    m = membership_of(session, team.id, leader.id)
    already = m is not None and m.status == MEMBERSHIP_ACTIVE and m.role == ROLE_LEADER
    if m is None:
        m, _ = add_membership(
            session,
            team.id,
            leader.id,
            role=ROLE_LEADER,
            status=MEMBERSHIP_ACTIVE,
            joined_on=today,
        )
    m.role = ROLE_LEADER
    m.status = MEMBERSHIP_ACTIVE
    m.left_on = None
    if reactivated:
        audit.record(
            session,
            team_id=team.id,
            actor_id=leader.id,
            action="team.reactivate",
            entity="team",
            entity_id=team.id,
            after={"chat_id": chat_id},
            now=now,
        )
    if not already:
        audit.record(
            session,
            team_id=team.id,
            actor_id=leader.id,
            action="team.setup" if created else "team.leader",
            entity="team",
            entity_id=team.id,
            after={"chat_id": chat_id, "leader": leader.id},
            now=now,
        )
    session.flush()
    return SetupResult(team.id, created, reactivated, already)


def _seed_catalogue(
    session: Session,
    team: Team,
    defaults: TeamDefaults,
    actor_id: int,
    today: dt.date,
    now: dt.datetime | None,
) -> None:
    for spec in BUILTIN_METRICS:
        session.add(
            Metric(
                team_id=team.id,
                key=spec.key,
                names=dict(spec.names),
                daily_bound=defaults.metric_bounds.get(spec.key, spec.daily_bound),
                builtin=True,
                sort_order=spec.order,
            )
        )
    for kspec in BUILTIN_KPIS:
        session.add(
            KpiDefinition(
                team_id=team.id,
                key=kspec.key,
                names=dict(kspec.names),
                unit=kspec.unit,
                source=kspec.source,
                direction=kspec.direction,
                period=kspec.period,
                weight=float(defaults.weights.get(kspec.key, 0.0)),
                minimum=0.5,
                builtin=True,
                sort_order=kspec.order,
            )
        )
    for t in defaults.targets:
        session.add(
            Target(
                team_id=team.id,
                kpi_key=t.kpi,
                member_id=None,
                period=t.period,
                value=float(t.value),
                effective_from=today,
                set_by=actor_id,
                # The caller's clock, not the wall clock: targets in force are ordered by it.
                set_at=now or utcnow(),
            )
        )


JoinStatus = Literal["joined", "already", "pending", "rejoined", "removed"]


def join_team(
    session: Session,
    team: Team,
    member: Member,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> JoinStatus:
    """Add a person to a team (pending when the team requires approval).

    With `now` (a person joining, not a data set being built) the leaders are asked whether
    the person is someone an import brought in (kpi.linking).
    """
    pending = settings_of(team).join_approval
    status = MEMBERSHIP_PENDING if pending else MEMBERSHIP_ACTIVE
    result: JoinStatus = "pending" if pending else "joined"
    m = membership_of(session, team.id, member.id)
    created = False
    if m is None:
        m, created = add_membership(
            session, team.id, member.id, role=ROLE_REP, status=status, joined_on=today
        )
    if not created:
        if m.status == MEMBERSHIP_ACTIVE:
            return "already"
        if m.status == MEMBERSHIP_REMOVED:
            # Removed by a leader: only a leader can take them back.
            return "removed"
        if m.status == MEMBERSHIP_PENDING:
            return "pending"
        result = "pending" if pending else "rejoined"
        m.joined_on = today
        m.left_on = None
    m.status = status
    # With a second team, the private chat must ask which team is meant (then remember it).
    others = [t for t in teams_of(session, member.id) if t.id != team.id]
    member.current_team_id = None if others else team.id
    audit.record(
        session,
        team_id=team.id,
        actor_id=member.id,
        action="member.join",
        entity="membership",
        entity_id=None,
        after={"member": member.id, "status": status},
        now=now,
    )
    session.flush()
    if now is not None:
        linking.propose_links(session, team, member, now)
    return result


def teams_of(session: Session, member_id: int) -> list[Team]:
    """Return the active teams a person actively belongs to, by title."""
    return list(
        session.scalars(
            select(Team)
            .join(Membership, Membership.team_id == Team.id)
            .where(
                Membership.member_id == member_id,
                Membership.status == MEMBERSHIP_ACTIVE,
                Team.active.is_(True),
            )
            .order_by(Team.title, Team.id)
        )
    )


def private_team(session: Session, member: Member) -> Team | list[Team] | None:
    """Return the team a private-chat command is about, or the choices when it is ambiguous."""
    teams = teams_of(session, member.id)
    if not teams:
        return None
    if len(teams) == 1:
        return teams[0]
    for team in teams:
        if team.id == member.current_team_id:
            return team
    return teams


def choose_team(
    session: Session, member: Member, team_id: int, *, any_active: bool = False
) -> Team | None:
    """Remember the team a person picked for their private chat (`any_active`: an admin's)."""
    for team in teams_of(session, member.id):
        if team.id == team_id:
            member.current_team_id = team.id
            return team
    if any_active:
        other = session.get(Team, team_id) if 0 < team_id < 2**62 else None
        if other is not None and other.active:
            member.current_team_id = other.id
            return other
    return None


def migrate_chat(session: Session, old_chat_id: int, new_chat_id: int) -> bool:
    """Follow a group that became a supergroup; False when no team was bound to it."""
    team = team_for_chat(session, old_chat_id)
    if team is None or team_for_chat(session, new_chat_id) is not None:
        return False
    team.chat_id = new_chat_id
    state = session.get(ChatState, old_chat_id)
    if state is not None:
        state.team_id = None
    audit.record(
        session,
        team_id=team.id,
        action="team.migrate",
        entity="team",
        entity_id=team.id,
        before={"chat_id": old_chat_id},
        after={"chat_id": new_chat_id},
    )
    return True


def deactivate_team(session: Session, chat_id: int, now: dt.datetime) -> bool:
    """Mark the team inactive when the bot left its group; nothing is deleted."""
    team = team_for_chat(session, chat_id)
    if team is None or not team.active:
        return False
    team.active = False
    team.inactive_since = now
    audit.record(
        session,
        team_id=team.id,
        action="team.inactive",
        entity="team",
        entity_id=team.id,
        now=now,
    )
    return True


def member_by_handle(
    session: Session, team_id: int, handle: str | None, reply_to: int | None
) -> Member | None:
    """Find a team member by @username (among members the bot has seen) or a replied-to user."""
    stmt = (
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.team_id == team_id, Membership.status == MEMBERSHIP_ACTIVE)
    )
    if handle:
        return session.scalar(stmt.where(Member.username == handle.lstrip("@").lower()))
    if reply_to is not None:
        return session.scalar(stmt.where(Member.telegram_id == reply_to))
    return None
