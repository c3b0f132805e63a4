"""Standings (kpi.standings): the org-wide ranking held to the team boards.

`org_ranking` loads every active team in bulk and scores them through the same path as
`team_board`: every member's score and place inside their team must be what the board says, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kpi import org_ranking as org_ranking_module
from kpi import periods
from kpi.calendar import WorkCalendar
from kpi.db import Database
from kpi.models import CalendarDay, Checkin, Member, Membership, Team, display_name
from kpi.org_ranking import OrgRow, org_ranking
from kpi.standings import team_board
from kpi.store import EntryInput, record_checkin, void_checkin
from kpi.targets import calendar_of, set_target
from kpi.teams import PersonInfo, TeamDefaults, deactivate_team, join_team, setup_team
from kpi.teams import upsert_member as upsert

NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)  # Thursday 10:00 in Ho Chi Minh City
TODAY = dt.date(2026, 11, 19)
CAL = WorkCalendar()

# --- the org-wide ranking ----------------------------------------------------------------------


def _member(session: Session, i: int, name: str | None = None) -> Member:
    given = name if name is not None else f"Người {i:02d}"
    return upsert(session, PersonInfo(700_000 + i, given, "Lê", None, "vi"), NOW)


def _log(session: Session, team_id: int, member_id: int, day: dt.date, rng: random.Random) -> None:
    entries = [EntryInput("calls", rng.randint(1, 30))]
    if rng.random() < 0.5:
        entries.append(EntryInput("meetings", rng.randint(1, 3)))
    if rng.random() < 0.3:
        entries.append(
            EntryInput(
                "deals",
                1,
                amount=rng.randint(1, 40) * 5_000_000,
                is_new_customer=rng.random() < 0.4,
            )
        )
    checkin_id, _ = record_checkin(
        session,
        team_id=team_id,
        member_id=member_id,
        actor_id=member_id,
        source="command",
        day=day,
        entries=entries,
        now=NOW,
    )
    if rng.random() < 0.05:
        checkin = session.get(Checkin, checkin_id)
        assert checkin is not None
        void_checkin(session, checkin, actor_id=member_id, now=NOW)


def _organisation(session: Session, seed: int) -> dict[str, Any]:
    """Three teams (one inactive) with the cases a ranking must get right."""
    rng = random.Random(seed)
    defaults = TeamDefaults()
    start = dt.date(2026, 10, 1)
    people = [_member(session, i) for i in range(16)]
    # Two people with the same name: ties and order must still follow the boards.
    people.append(_member(session, 16, "Người 03"))
    teams = []
    for t, (leader, reps) in enumerate(
        ((people[0], [*people[1:6], people[16]]), (people[6], [*people[7:12], people[1]]))
    ):
        result = setup_team(
            session,
            chat_id=-9_000 - t,
            title=f"Đội {t}",
            leader=leader,
            defaults=defaults,
            today=start,
        )
        team = session.get(Team, result.team_id)
        assert team is not None
        for rep in reps:
            join_team(session, team, rep, start)
        teams.append(team)
    a, b = teams
    # A member's own target, a calendar with a day off and a make-up Saturday, an unranked rep.
    set_target(
        session,
        team_id=a.id,
        kpi_key="revenue",
        period="month",
        value=90_000_000,
        member_id=people[2].id,
        actor_id=people[0].id,
        today=start,
        now=NOW,
    )
    session.add(CalendarDay(team_id=a.id, day=dt.date(2026, 11, 10), working=False))
    session.add(CalendarDay(team_id=a.id, day=dt.date(2026, 11, 14), working=True))
    unranked = session.scalar(
        select(Membership).where(Membership.team_id == a.id, Membership.member_id == people[5].id)
    )
    assert unranked is not None
    unranked.ranked = False
    # An inactive team: nobody of it is ranked.
    gone = setup_team(
        session,
        chat_id=-9_100,
        title="Đội cũ",
        leader=people[12],
        defaults=defaults,
        today=start,
    )
    gone_team = session.get(Team, gone.team_id)
    assert gone_team is not None
    join_team(session, gone_team, people[13], start)
    day = start
    while day <= TODAY:
        for team, members in (
            (a, [people[0], *people[1:6], people[16]]),  # a leader who sells
            (b, [*people[7:11], people[1]]),  # b's leader and people[11] log nothing
            (gone_team, [people[12], people[13]]),
        ):
            for m in members:
                if rng.random() < (0.8 if day.weekday() < 5 else 0.15):
                    _log(session, team.id, m.id, day, rng)
        day += dt.timedelta(days=1)
    deactivate_team(session, gone_team.chat_id, NOW)
    session.flush()
    return {"teams": teams, "gone": gone_team, "people": people}


def _board_view(session: Session, span: periods.Span) -> dict[tuple[int, int], tuple[Any, ...]]:
    out = {}
    for team in session.scalars(select(Team).where(Team.active.is_(True))):
        board = team_board(session, team, span, NOW)
        for r in board.rows:
            out[(team.id, r.member_id)] = (r.name, r.score, r.rank, r.active)
    return out


def _org_view(rows: list[OrgRow]) -> dict[tuple[int, int], tuple[Any, ...]]:
    return {(r.team_id, r.member_id): (r.name, r.score, r.team_rank, r.active) for r in rows}


@pytest.fixture
def populated(db: Database, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The organisation, built with the seed the test is parametrized with (default 1)."""
    seed = getattr(request, "param", 1)
    with db.transaction() as session:
        info = _organisation(session, seed)
        ids = {
            "teams": [t.id for t in info["teams"]],
            "gone": info["gone"].id,
            "people": [p.id for p in info["people"]],
        }
    yield ids


@pytest.mark.parametrize("populated", [1, 2, 3], indirect=True)
def test_org_ranking_gives_every_member_their_team_board_score_and_place(
    db: Database, populated: dict[str, Any]
) -> None:
    spans = [
        periods.span_of("week", TODAY, CAL),
        periods.span_of("month", TODAY, CAL),
        periods.span_of("month", dt.date(2026, 10, 1), CAL),
        periods.span_of("day", TODAY, CAL),
    ]
    with db.transaction() as session:
        for span in spans:
            rows = org_ranking(session, span)
            assert _org_view(rows) == _board_view(session, span), span
            assert len(rows) == len(_org_view(rows))


def test_org_ranking_ranks_across_teams_with_shared_places_and_inactive_members_last(
    db: Database, populated: dict[str, Any]
) -> None:
    span = periods.span_of("month", TODAY, CAL)
    with db.transaction() as session:
        rows = org_ranking(session, span)
    a, b = populated["teams"]
    people = populated["people"]
    assert {r.team_id for r in rows} == {a, b}  # the inactive team is left out
    keys = {(r.team_id, r.member_id) for r in rows}
    # A member of two teams is ranked in each; an unranked rep and a leader who sells nothing
    # are not listed; a rep who logged nothing is listed, unranked.
    assert (a, people[1]) in keys and (b, people[1]) in keys
    assert (a, people[5]) not in keys and (b, people[6]) not in keys
    assert (a, people[0]) in keys
    idle = next(r for r in rows if r.member_id == people[11])
    assert idle.rank is None and idle.team_rank is None and not idle.active
    ranked = [r for r in rows if r.rank is not None]
    assert rows[: len(ranked)] == ranked  # unranked ones come last
    assert ranked[0].rank == 1
    for before, after in itertools.pairwise(ranked):
        assert before.score is not None and after.score is not None
        assert before.score >= after.score
        # Standard competition ranking: a tie shares the place, the next place skips.
        if after.score == before.score:
            assert after.rank == before.rank
        else:
            assert after.rank == ranked.index(after) + 1


def test_org_ranking_puts_identical_figures_on_one_place(db: Database) -> None:
    with db.transaction() as session:
        lead, x, y, z = (_member(session, 40 + i) for i in range(4))
        result = setup_team(
            session, chat_id=-9_500, title="Tie", leader=lead, defaults=TeamDefaults(), today=TODAY
        )
        team = session.get(Team, result.team_id)
        assert team is not None
        for rep in (x, y, z):
            join_team(session, team, rep, TODAY)
        for rep, calls in ((x, 10), (y, 30), (z, 10)):
            record_checkin(
                session,
                team_id=team.id,
                member_id=rep.id,
                actor_id=rep.id,
                source="command",
                day=TODAY,
                entries=[EntryInput("calls", calls)],
                now=NOW,
            )
    with db.transaction() as session:
        rows = org_ranking(session, periods.span_of("day", TODAY, CAL))
    places = {r.member_id: r.rank for r in rows}
    assert places == {y.id: 1, x.id: 2, z.id: 2}  # the leader logged nothing: not listed


def test_org_ranking_of_an_empty_database_is_empty(db: Database) -> None:
    with db.transaction() as session:
        assert org_ranking(session, periods.span_of("month", TODAY, CAL)) == []


def test_org_ranking_runs_the_same_few_queries_however_many_people(
    db: Database, populated: dict[str, Any]
) -> None:
    span = periods.span_of("month", TODAY, CAL)
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    def count() -> list[str]:
        seen.clear()
        event.listen(db.engine, "before_cursor_execute", before)
        try:
            with db.transaction() as session:
                org_ranking(session, span)
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        return [s for s in seen if s.lstrip().upper().startswith("SELECT")]

    small = count()
    with db.transaction() as session:
        extra = [_member(session, 100 + i) for i in range(6)]
        team = session.get(Team, populated["teams"][0])
        assert team is not None
        for m in extra:
            join_team(session, team, m, TODAY)
            _log(session, team.id, m.id, TODAY, random.Random(m.id))
    large = count()
    assert len(small) == len(large) <= 6
    assert sum("GROUP BY" in s.upper() for s in large) == 1


def test_org_calendars_and_names_are_the_ones_the_boards_use(
    db: Database, populated: dict[str, Any]
) -> None:
    with db.transaction() as session:
        teams = list(session.scalars(select(Team).where(Team.active.is_(True))))
        calendars = org_ranking_module._calendars(session, teams)
        for team in teams:
            assert calendars[team.id] == calendar_of(session, team)
        for member in session.scalars(select(Member)):
            assert display_name(
                member.id, member.first_name, member.last_name, member.username
            ) == (member.display_name)
    assert (
        display_name(7, "", None, "lan")
        == Member(id=7, first_name="", username="lan").display_name
    )
    assert display_name(7, "", None, None) == "#7"
