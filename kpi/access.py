"""Access, decided once: who is asking (`resolve`), whether they may (`require`), what they see.

Every use case resolves the caller, asks `require` for what it needs and returns the one
`Refusal` type when that is not met; every board shown anywhere (group posts, the living board,
report commands, private copies) is shaped by `visible`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from kpi import scoring
from kpi.models import ROLE_LEADER, Member, Membership, PendingAction, Team
from kpi.standings import Board, MemberRow
from kpi.teams import (
    PersonInfo,
    Role,
    active_membership,
    private_team,
    team_for_chat,
    upsert_member,
)


@dataclass(frozen=True)
class ChatInfo:
    """The chat an update came from, without Telegram types."""

    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    is_forum: bool = False

    @property
    def is_private(self) -> bool:
        """Tell whether this is the person's private chat with the bot."""
        return self.type == "private"


@dataclass(frozen=True)
class TeamChoice:
    """A team offered when a private-chat command is ambiguous."""

    id: int
    title: str


@dataclass
class Scope:
    """The caller as resolved in one unit of work (ORM rows valid inside it only)."""

    member: Member
    team: Team | None
    role: Role | None
    lang_pref: str | None
    membership: Membership | None = None
    choices: list[TeamChoice] = field(default_factory=list)
    group_without_team: bool = False

    @property
    def is_leader(self) -> bool:
        """Tell whether the caller may act as a leader in the team."""
        return self.role in ("leader", "admin")


def resolve(
    session: Session,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> Scope:
    """Refresh the person, find the team the chat means, and the caller's role in it."""
    member = upsert_member(session, person, now)
    if chat.is_private and not member.private_chat_ok:
        member.private_chat_ok = True
        member.blocked_at = None
    lang_pref = member.language or person.language_code
    if not chat.is_private:
        team = team_for_chat(session, chat.id)
        if team is None or not team.active:
            return Scope(member, None, None, lang_pref, group_without_team=True)
        return scope_in_team(session, member, team, admins, lang_pref)
    found = private_team(session, member)
    if isinstance(found, list):
        choices = [TeamChoice(t.id, t.title) for t in found]
        return Scope(member, None, None, lang_pref, choices=choices)
    if found is None:
        return Scope(member, None, None, lang_pref)
    return scope_in_team(session, member, found, admins, lang_pref)


def scope_in_team(
    session: Session, member: Member, team: Team, admins: frozenset[int], lang_pref: str | None
) -> Scope:
    """Resolve the person's role in a given team (admin, leader, rep, or none)."""
    m = active_membership(session, team.id, member.id)
    role: Role | None = None
    if member.telegram_id is not None and member.telegram_id in admins:
        role = "admin"
    elif m is not None:
        role = "leader" if m.role == ROLE_LEADER else "rep"
    return Scope(member, team, role, lang_pref, membership=m)


def question_for_leader(
    session: Session,
    scope: Scope,
    action: PendingAction | None,
    kind: str,
    admins: frozenset[int],
) -> tuple[PendingAction, Team] | Literal["expired", "forbidden"]:
    """Find the team a leader's button answers a question for (a join request, a link).

    "expired" when the question is gone or of another kind; "forbidden" unless the person who
    pressed leads that team (or is an admin): buttons can reach others (R6).
    """
    team = session.get(Team, action.team_id) if action and action.team_id else None
    if action is None or action.kind != kind or team is None:
        return "expired"
    if not scope_in_team(session, scope.member, team, admins, scope.lang_pref).is_leader:
        return "forbidden"
    return action, team


# --- who may do what -----------------------------------------------------------------------

Reason = Literal["no_team", "choose_team", "not_member", "not_leader", "not_admin"]
Need = Literal["member", "manager", "leader"]


@dataclass(frozen=True)
class Refusal:
    """Why the caller may not do what they asked here; the one refusal every use case returns.

    `no_team`: a group the bot is not set up in; `choose_team`: a private chat with several
    teams (`choices` are offered); `not_member`: no active membership; `not_leader`: a leader's
    command asked by someone else; `not_admin`: a command for the configured admins alone.
    """

    reason: Reason
    lang_pref: str | None = None
    choices: tuple[TeamChoice, ...] = ()


@dataclass(frozen=True)
class Caller:
    """A caller who may act in a team: what `require` hands on (ORM rows valid in the unit)."""

    member: Member
    team: Team
    role: Role | None
    lang_pref: str | None
    membership: Membership | None

    @property
    def is_leader(self) -> bool:
        """Tell whether the caller may act as a leader in the team."""
        return self.role in ("leader", "admin")


def require(scope: Scope, need: Need = "member") -> Caller | Refusal:
    """Return the caller when the scope allows what `need` names, else the refusal.

    `member`: an active member (logging, one's own numbers, reminders). `manager`: a member, or a
    configured admin who is not one and may still look at and manage the team, with no numbers
    of their own. `leader`: a manager who leads the team (or an admin).
    """
    if scope.group_without_team:
        return Refusal("no_team", scope.lang_pref)
    if scope.choices:
        return Refusal("choose_team", scope.lang_pref, tuple(scope.choices))
    if scope.team is None:
        return Refusal("not_member", scope.lang_pref)
    if scope.membership is None and not (need != "member" and scope.role == "admin"):
        return Refusal("not_member", scope.lang_pref)
    if need == "leader" and not scope.is_leader:
        return Refusal("not_leader", scope.lang_pref)
    return Caller(scope.member, scope.team, scope.role, scope.lang_pref, scope.membership)


def require_admin(scope: Scope, admins: frozenset[int]) -> Refusal | None:
    """Refuse a configured admins' command (the whole company's data) to anyone else."""
    if scope.member.telegram_id is not None and scope.member.telegram_id in admins:
        return None
    return Refusal("not_admin", scope.lang_pref)


# --- who sees what -------------------------------------------------------------------------

Sees = Literal["full", "top", "totals"]


@dataclass(frozen=True)
class Viewer:
    """Who reads a board: a whole chat (a group post or answer), or one person in private."""

    in_group: bool = True
    leader: bool = False
    member_id: int | None = None  # the person reading in private: their own rank and gap


@dataclass(frozen=True)
class OwnRank:
    """One member's place on a board and what it takes to reach the place above."""

    rank: int | None  # None: active but without a value (a win rate without deals)
    total: int  # ranked members
    gap: float | None  # None: first, or unranked


@dataclass(frozen=True)
class BoardView:
    """What a viewer sees of a board: the ranking (all, top N, none), names, their own place."""

    sees: Sees
    limit: int | None  # the last rank shown; None: every rank
    me: int | None  # the member highlighted (a private reader)
    own: OwnRank | None

    @property
    def ranking(self) -> bool:
        """Tell whether any of the ranking is shown (not only team totals)."""
        return self.sees != "totals"

    @property
    def names(self) -> bool:
        """Tell whether people may be named outside the ranking (who has not logged)."""
        return self.sees == "full"

    def podium(self, places: int = 3) -> int:
        """Return how many top places a short summary names (no more than the top N shown)."""
        return min(places, self.limit) if self.limit is not None else places

    def rows(self, board: Board) -> list[MemberRow]:
        """Return the ranked rows shown, best first."""
        if not self.ranking:
            return []
        return [
            r
            for r in board.rows
            if r.rank is not None and (self.limit is None or r.rank <= self.limit)
        ]


def visible(board: Board, viewer: Viewer) -> BoardView:
    """Decide what a viewer sees of a team's board: the team's privacy setting, once.

    A group sees what the team chose (the full ranking, the top N, or team totals only); so
    does a rep in private, where the group setting also governs. A leader in private sees the
    full ranking. A person in private also learns their own rank and the gap to the next place.
    """
    sees: Sees = "full" if viewer.leader and not viewer.in_group else _sees(board.group_sees)
    me = None if viewer.in_group else viewer.member_id
    return BoardView(
        sees,
        board.top_n if sees == "top" else None,
        me,
        own_rank(board, me) if me is not None else None,
    )


def _sees(setting: str) -> Sees:
    return setting if setting in ("full", "top", "totals") else "full"  # type: ignore[return-value]


def own_rank(board: Board, member_id: int) -> OwnRank | None:
    """Return a member's place on the board, or None when they are not on it."""
    row = next((r for r in board.rows if r.member_id == member_id), None)
    if row is None:
        return None
    total = sum(1 for r in board.rows if r.rank is not None)
    if row.rank is None:
        return OwnRank(None, total, None)
    ranked = [
        scoring.Ranked(r.member_id, r.value, r.rank, r.active, r.movement) for r in board.rows
    ]
    return OwnRank(row.rank, total, scoring.gap_to_next(ranked, member_id))
