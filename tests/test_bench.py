"""The benchmarks' smoke run, their building blocks, and the org-wide ranking (kpi.org) they time.

`kpi.org.org_ranking` is held to the team leaderboards: every member's score and place inside
their team must be what `kpi.reports.team_board` says, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bench import dataset
from bench.core import Figure, Note, interleaved, percentile
from kpi import periods
from kpi.db import Database
from kpi.models import CalendarDay, Checkin, Member, Membership, Team, display_name
from kpi.org import OrgRow, org_ranking
from kpi.reports import team_board
from kpi.store import EntryInput, record_checkin, void_checkin
from kpi.targets import calendar_of, set_target
from kpi.teams import PersonInfo, TeamDefaults, deactivate_team, join_team, setup_team
from kpi.teams import upsert_member as upsert

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)  # Thursday 10:00 in Ho Chi Minh City
TODAY = dt.date(2026, 11, 19)
CAL = periods.WorkCalendar()

# --- the smoke run CI does --------------------------------------------------------------------

FIGURE = re.compile(
    r"^(?P<key>P\d) (?P<label>[^:]+): (?P<value>[\d,.]+) (?P<unit>ms|/s) vs "
    r"(?P<ref>[\d,.]+) (?:ms|/s) (?P<ref_label>.+) = (?P<ratio>[\d.]+)x "
    r"\(goal (?P<op><=|>=) (?P<goal>[\d.]+)x\) (?P<verdict>ok|MISSED)$"
)
EXPECTED = {
    ("P1", "check-in capacity"): ("bare echo", ">=", 0.3),
    ("P2", "weekly leaderboard"): ("empty db", "<=", 1.5),
    ("P2", "monthly leaderboard"): ("empty db", "<=", 1.5),
    ("P2", "org-wide monthly ranking"): ("hand-written GROUP BY", "<=", 2.0),
    ("P3", "leaderboard chart"): ("minimal bar chart", "<=", 1.5),
    ("P3", "trend chart"): ("minimal bar chart", "<=", 1.5),
    ("P4", "digest fan-out, 240 teams"): ("floor set by the limits", "<=", 1.1),
}


def test_quick_run_prints_every_figure_with_its_reference_ratio_and_goal() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = {}
    for line in done.stdout.splitlines():
        m = FIGURE.match(line)
        if m is None:
            continue
        name = re.sub(r" \(.*\)$", "", m["label"])
        figures[(m["key"], name)] = m
    assert set(figures) == set(EXPECTED), done.stdout
    for key, (ref_label, op, goal) in EXPECTED.items():
        m = figures[key]
        assert (m["ref_label"], m["op"], float(m["goal"])) == (ref_label, op, goal)
        value, ref, ratio = (float(m[g].replace(",", "")) for g in ("value", "ref", "ratio"))
        assert value > 0 and ref > 0
        # The printed ratio is the printed value over the printed reference (up to rounding).
        assert ratio == pytest.approx(value / ref, rel=0.02, abs=0.01)
        met = ratio >= goal if op == ">=" else ratio <= goal
        assert m["verdict"] == ("ok" if met else "MISSED")
    assert re.search(
        r"^P1 handler latency \(.*\): p50 [\d.]+ ms, p99 [\d.]+ ms .*\(reported, no goal\)$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    assert re.search(r"^done in \d+ s: \d+ goal\(s\) missed$", done.stdout, re.MULTILINE)


def test_only_runs_the_chosen_benchmark() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "p3", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    keys = {line.split()[0] for line in done.stdout.splitlines() if FIGURE.match(line)}
    assert keys == {"P3"}


# --- building blocks --------------------------------------------------------------------------


def test_a_cost_figure_passes_at_or_below_its_goal_and_says_so() -> None:
    at_goal = Figure("P2", "x (1 row)", 15.0, 10.0, "empty db", "ms", goal=1.5)
    assert at_goal.ratio == 1.5 and at_goal.ok
    assert at_goal.line() == "P2 x (1 row): 15.0 ms vs 10.0 ms empty db = 1.50x (goal <= 1.5x) ok"
    over = Figure("P2", "x", 16.0, 10.0, "empty db", "ms", goal=1.5)
    assert not over.ok and over.line().endswith("MISSED")


def test_a_rate_figure_must_reach_its_goal() -> None:
    slow = Figure("P1", "c", 900.0, 3500.0, "bare echo", "/s", goal=0.3, at_least=True)
    assert not slow.ok
    assert slow.line() == "P1 c: 900 /s vs 3,500 /s bare echo = 0.26x (goal >= 0.3x) MISSED"
    fast = Figure("P1", "c", 1200.0, 3500.0, "bare echo", "/s", goal=0.3, at_least=True)
    assert fast.ok and fast.line().endswith(" ok")
    assert Note("P1", "latency", "p50 1 ms").line() == ("P1 latency: p50 1 ms (reported, no goal)")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_interleaved_times_every_function_every_run_taking_turns() -> None:
    calls: list[str] = []
    times = interleaved([lambda: calls.append("a"), lambda: calls.append("b")], 3, warmup=1)
    assert [len(t) for t in times] == [3, 3]
    assert all(s >= 0 for t in times for s in t)
    # Warm-up, then turns with alternating first mover.
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]


def _rows(path: Path, team_id: int) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(
            conn.execute(
                "SELECT member_id, metric, day, value, amount, customer, is_new_customer, status"
                " FROM activities WHERE team_id = ?",
                (team_id,),
            ).fetchall()
        )
    finally:
        conn.close()


def test_dataset_of_the_first_team_alone_holds_exactly_its_rows_of_the_whole(
    tmp_path: Path,
) -> None:
    scale = dataset.Scale(teams=3, members_per_team=6, days=20)
    whole = dataset.build(tmp_path / "whole.db", scale, TODAY)
    alone = dataset.ensure(tmp_path / "alone.db", scale, TODAY, only_first_team=True)
    assert (whole.teams, whole.members, alone.teams, alone.members) == (3, 18, 1, 6)
    # About 5 rows per person on a weekday and 1.3 on a weekend day.
    assert 3.0 * 18 * 20 < whole.activities < 5.5 * 18 * 20
    first = _rows(whole.path, 1)
    assert first and first == _rows(alone.path, 1)
    assert len(first) == alone.activities < whole.activities
    conn = sqlite3.connect(whole.path)
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        statuses = dict(conn.execute("SELECT status, count(*) FROM activities GROUP BY 1"))
        assert set(statuses) == {"active", "voided"}
        index_names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"ix_activities_team_day", "ix_activities_member_day"} <= index_names
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    # A finished file is reused as it is, not rebuilt.
    again = dataset.ensure(whole.path, scale, TODAY)
    assert again.activities == whole.activities and again.seconds == 0.0


# --- kpi.org: the org-wide ranking --------------------------------------------------------------


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
    from kpi import org

    with db.transaction() as session:
        teams = list(session.scalars(select(Team).where(Team.active.is_(True))))
        calendars = org._calendars(session, teams)
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
