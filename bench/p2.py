"""P2: leaderboards at scale (QUALITY.md).

- A 50-member team's weekly and monthly `team_board` on the full organisation's file, against
  the same team's board on a file that holds only that team (the rest of the database empty).
  Both boards must be equal, or the comparison would be meaningless: that is checked first.
- The org-wide monthly ranking (`kpi.org_ranking`) against a hand-written SQL GROUP BY of
  the same sums on the same file, run through the plain `sqlite3` driver. The reference's rows
  are checked against the ranking's own GROUP BY first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from bench import dataset
from bench.core import Figure, Result, fmt_count, interleaved, median_ms
from kpi import periods
from kpi.calendar import WorkCalendar, calendar_of, local_today
from kpi.db import Database
from kpi.models import Team
from kpi.org_ranking import org_ranking, org_sums_statement
from kpi.periods import Span
from kpi.standings import Board, team_board

FULL = dataset.Scale(teams=40, members_per_team=50, days=365)
QUICK = dataset.Scale(teams=4, members_per_team=50, days=60)
# A Thursday, 10:00 in Ho Chi Minh City: a working day in the middle of a week and a month.
END_DAY = dt.date(2026, 11, 19)
NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)
MEASURED_TEAM = 1  # the first team created; the only one in the "empty" file

# The reference: what someone would write by hand for the same sums. Naming the active teams
# matters: without it SQLite scans the whole index instead of seeking it team by team.
REFERENCE_SQL = """
SELECT a.team_id, a.member_id, a.metric,
       SUM(a.value),
       COALESCE(SUM(a.amount), 0),
       COALESCE(SUM(CASE WHEN a.is_new_customer THEN a.amount ELSE 0 END), 0)
FROM activities AS a
WHERE a.team_id IN (SELECT id FROM teams WHERE active)
  AND a.status = 'active'
  AND a.day BETWEEN ? AND ?
GROUP BY a.team_id, a.member_id, a.metric
"""


@dataclass(frozen=True)
class Options:
    """How P2 runs."""

    quick: bool
    workdir: Path
    runs: int | None = None
    explain: bool = False


def run(opts: Options) -> list[Result]:
    """Build (or reuse) the two files and measure the three P2 figures."""
    scale = QUICK if opts.quick else FULL
    tag = f"{scale.teams}x{scale.members_per_team}x{scale.days}-{END_DAY.isoformat()}"
    org = dataset.ensure(opts.workdir / f"p2-org-{tag}.db", scale, END_DAY)
    _say(
        f"P2 dataset: {org.activities:,} activity rows, {org.checkins:,} check-ins, "
        f"{org.members:,} members in {org.teams} teams"
        + (f" (built in {org.seconds:.1f} s)" if org.seconds else " (reused)")
    )
    alone = dataset.ensure(
        opts.workdir / f"p2-team-{tag}.db", scale, END_DAY, only_first_team=True
    )
    runs = opts.runs or (9 if opts.quick else 15)
    size = f"{scale.members_per_team} members, {fmt_count(org.activities)} rows"
    big, small = Database(org.url), Database(alone.url)
    try:
        week = _board_figure(big, small, "week", f"weekly leaderboard ({size})", runs)
        month = _board_figure(big, small, "month", f"monthly leaderboard ({size})", runs)
        out: list[Result] = [week, month]
        out.append(_org_figure(big, org, runs if opts.quick else max(3, runs * 2 // 3)))
        if opts.explain or not all(isinstance(f, Figure) and f.ok for f in out):
            _explain(big)
        return out
    finally:
        big.dispose()
        small.dispose()


def _board_call(period: periods.Period) -> Callable[[Session], Board]:
    def call(session: Session) -> Board:
        team = session.get(Team, MEASURED_TEAM)
        assert team is not None
        cal = calendar_of(session, team)
        span = periods.span_of(period, local_today(cal, NOW), cal)
        return team_board(session, team, span, NOW, cal=cal)

    return call


def _board_figure(
    big: Database, small: Database, period: periods.Period, label: str, runs: int
) -> Figure:
    call = _board_call(period)
    if big.call(call) != small.call(call):
        raise RuntimeError(f"P2: the {period} boards of the two files differ; fix the dataset")
    times = interleaved([lambda: big.call(call), lambda: small.call(call)], runs)
    return Figure(
        "P2", label, median_ms(times[0]), median_ms(times[1]), "empty db", "ms", goal=1.5
    )


def month_span() -> Span:
    """Return the month the org ranking is measured over."""
    return periods.span_of("month", END_DAY, WorkCalendar())


def _org_figure(big: Database, org: dataset.Dataset, runs: int) -> Figure:
    span = month_span()
    args = (span.start.isoformat(), span.end.isoformat())
    ref = sqlite3.connect(org.path)
    try:
        with big.transaction() as session:
            statement = org_sums_statement(span.start, span.end)
            ours = sorted(tuple(r) for r in session.execute(statement))
            ranked = org_ranking(session, span)
        theirs = sorted(tuple(r) for r in ref.execute(REFERENCE_SQL, args))
        if ours != theirs:
            raise RuntimeError("P2: the reference GROUP BY and org_ranking's sums differ")
        if len(ranked) != org.members:
            raise RuntimeError(f"P2: org_ranking listed {len(ranked)} of {org.members} members")
        times = interleaved(
            [
                lambda: big.call(org_ranking, span),
                lambda: ref.execute(REFERENCE_SQL, args).fetchall(),
            ],
            runs,
        )
    finally:
        ref.close()
    label = f"org-wide monthly ranking ({org.members:,} members, {org.teams} teams)"
    return Figure(
        "P2", label, median_ms(times[0]), median_ms(times[1]), "hand-written GROUP BY", "ms", 2.0
    )


@contextlib.contextmanager
def _capture(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SQL statements (with parameters) run on the engine inside the block."""
    seen: list[tuple[str, Any]] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _explain(big: Database) -> None:
    """Print, on stderr, every statement a board and the org ranking run, with its plan."""
    span = month_span()
    jobs: list[tuple[str, Callable[[Session], object]]] = [
        ("weekly board", _board_call("week")),
        ("org ranking", lambda s: org_ranking(s, span)),
    ]
    for name, job in jobs:
        with _capture(big.engine) as seen:
            big.call(job)
        _say(f"-- {name}: {len(seen)} statements")
        with big.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            for statement, params in seen:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                plan = raw.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
                _say("   " + " ".join(statement.split())[:160])
                for row in plan:
                    _say(f"      {row[-1]}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
