"""When scheduled posts happen: a pure `due_posts(schedules, now)`, and the jobs that run it.

Each team gets one APScheduler job per post kind (through python-telegram-bot's JobQueue), at the
post's local time in the team's time zone. A sweep every minute does the rest: it rebuilds jobs
whose team settings changed (on every instance: the JobQueue is memory only), catches up posts
missed while the bot was down (inside their grace window), retries definite failures, and sends
what the outbox still holds (messages that follow a committed effect). Every run goes through
`run_due`, and every post is claimed in the database before it is sent, so a job firing twice,
two instances, or a restart never sends a post twice. Every run is a task the scheduler can stop:
a stop gives running posts a moment, then cancels them (their claims say what is left to send).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from handlers import digests, posts
from handlers.context import BotData
from kpi import inbox, outbox
from kpi.calendar import local_instant, local_today
from kpi.db import purge_processed
from kpi.parsing import parse_hhmm
from kpi.posts import claims as run_claims
from kpi.posts import registry
from kpi.posts.content import Post
from kpi.posts.schedules import TeamSchedule, revision, schedules

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60
# How often each instance checks whether a team's settings changed (on any instance).
SETTINGS_SECONDS = 5
# Teams whose posts are being sent at once (measured best in bench/p4_fanout.py).
FANOUT_CONCURRENCY = 32


def due_posts(teams: Iterable[TeamSchedule], now: dt.datetime) -> list[Post]:
    """Return the posts due at `now`: scheduled at or before it, and still inside the grace window.

    When each kind fires, what it reports on and how its grace window narrows are the post-kind
    registry's (`kpi.posts.registry`): the daily summary and reminders every working day about
    that day (never sent the next day), the weekly leaderboard on the week's last working day,
    the monthly report on the month's first (about the previous month), the leader digest on the
    week's first (about the previous week).

    Pure: the same schedules and `now` always give the same posts. A post missed while the bot was
    down is due again on start as long as `now` is inside its grace window.
    """
    due: list[Post] = []
    for team in teams:
        cal = team.calendar
        today = local_today(cal, now)
        for key, at in team.times.items():
            if not at:
                continue
            kind = registry.kind(key)
            assert kind.occurs is not None
            for day in (today, today - dt.timedelta(days=1)):
                if kind.same_day and day != today:
                    continue
                span = kind.occurs(cal, day)
                if span is None:
                    continue
                due_at = local_instant(cal, day, parse_hhmm(at))
                until = due_at + team.grace
                if kind.until_work_end:
                    # A nudge after the working day is over helps nobody.
                    until = min(until, max(due_at, local_instant(cal, day, cal.work_end)))
                if due_at <= now < until:
                    due.append(Post(team.team_id, key, span.key, due_at, span))
    return due


def next_times(team: TeamSchedule, now: dt.datetime, days: int = 14) -> dict[str, dt.datetime]:
    """Return when each of the team's posts next fires (for /settings and the README)."""
    out: dict[str, dt.datetime] = {}
    cal = team.calendar
    today = local_today(cal, now)
    for kind, at in team.times.items():
        if not at:
            continue
        for i in range(days):
            day = today + dt.timedelta(days=i)
            if registry.occurrence(cal, kind, day) is None:
                continue
            when = local_instant(cal, day, parse_hhmm(at))
            if when > now:
                out[kind] = when
                break
    return out


@dataclass
class SweepReport:
    """What one run of `run_due` did."""

    due: int = 0
    sent: int = 0
    uncertain: int = 0


class Scheduler:
    """Keeps one job per team and post kind in the JobQueue, and runs due posts."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bot_data: BotData = app.bot_data
        self._fingerprints: dict[int, str] = {}
        self._revision: str | None = None
        # Claims this instance made before it started are a previous run's: none is in flight.
        self._started: dt.datetime | None = None
        self._runs: set[asyncio.Task[Any]] = set()
        self._waiting: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Build the jobs, catch up on missed posts and the outbox, start the minute sweep."""
        await self.sync()
        now = self.bot_data.now()
        self._started = now
        await self.run_due(now)
        await self._sweep_outbox(now)
        self.app.job_queue.run_repeating(
            self._sweep,
            interval=SWEEP_SECONDS,
            first=SWEEP_SECONDS,
            name="kpibot:sweep",
            job_kwargs={
                "id": "kpibot:sweep",
                "replace_existing": True,
                "misfire_grace_time": SWEEP_SECONDS,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self.app.job_queue.run_repeating(
            self._check_settings,
            interval=SETTINGS_SECONDS,
            first=SETTINGS_SECONDS,
            name="kpibot:settings",
            job_kwargs={
                "id": "kpibot:settings",
                "replace_existing": True,
                "coalesce": True,
                "max_instances": 1,
            },
        )

    def start_soon(self, after: Awaitable[object], *, wait: float = 300.0) -> None:
        """Start in the background once `after` is done (or `wait` seconds have passed).

        On a restart `after` is the inbox's backlog: a missed post is caught up once the numbers
        it reports are in, while polling goes on.
        """

        async def start() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(after, wait)
            await self._tracked(self.start())

        self._waiting = asyncio.create_task(start())

    async def stop(self, seconds: float) -> None:
        """Fire no more; give running posts up to `seconds`, then cancel them."""
        self._stopping = True
        if self._waiting is not None:
            # Not started yet: there is nothing in hand to finish.
            self._waiting.cancel()
            await asyncio.gather(self._waiting, return_exceptions=True)
        runs = list(self._runs)
        if not runs:
            return
        _, late = await asyncio.wait(runs, timeout=seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    async def _tracked(self, work: Coroutine[Any, Any, object]) -> None:
        """Run a job's work as a task `stop` can cancel (python-telegram-bot shields jobs)."""
        if self._stopping:
            work.close()
            return
        task = asyncio.create_task(work)
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        await asyncio.wait({task})
        if not task.cancelled():
            task.result()

    async def settings_changed(self) -> bool:
        """Rebuild the jobs if the teams' settings changed since the last look, on whichever
        instance they were changed (a cheap revision, checked every few seconds); True if so."""
        current = await self.bot_data.db.work(revision)
        if current == self._revision:
            return False
        await self.sync()
        return True

    async def _check_settings(self, context: Any) -> None:
        try:
            await self._tracked(self.settings_changed())
        except Exception:
            log.exception("settings revision not checked")

    async def sync(self) -> list[TeamSchedule]:
        """Rebuild the jobs of teams whose schedule changed (or that appeared or went away)."""
        # Read first: a change committed while the schedules load is seen by the next check.
        self._revision = await self.bot_data.db.work(revision)
        teams = await self.bot_data.db.work(schedules)
        jq = self.app.job_queue
        seen = set()
        for team in teams:
            seen.add(team.team_id)
            if self._fingerprints.get(team.team_id) == team.fingerprint:
                continue
            self._remove_jobs(team.team_id)
            for kind, at in team.times.items():
                if not at:
                    continue
                job_id = f"kpibot:{team.team_id}:{kind}"
                # Every day of the week: whether a day is a working day (holidays, make-up
                # Saturdays) is `due_posts`' business, and PTB's `days` counts 0 as Sunday.
                jq.run_daily(
                    partial(self._fire, team.team_id),
                    time=parse_hhmm(at).replace(tzinfo=team.calendar.tz),
                    name=job_id,
                    job_kwargs={
                        "id": job_id,
                        "replace_existing": True,
                        "misfire_grace_time": int(team.grace.total_seconds()),
                        "coalesce": True,
                    },
                )
            self._fingerprints[team.team_id] = team.fingerprint
        for team_id in set(self._fingerprints) - seen:
            self._remove_jobs(team_id)
            del self._fingerprints[team_id]
        return teams

    def _remove_jobs(self, team_id: int) -> None:
        for job in self.app.job_queue.jobs():
            if job.name and job.name.startswith(f"kpibot:{team_id}:"):
                job.schedule_removal()

    async def _fire(self, team_id: int, context: Any) -> None:
        await self._tracked(self.run_due(self.bot_data.now(), team_ids=[team_id]))

    async def _sweep(self, context: Any) -> None:
        await self._tracked(self.sweep(self.bot_data.now()))

    async def sweep(self, now: dt.datetime) -> SweepReport:
        """Rebuild changed jobs, send what is due, refresh the living leaderboards."""
        teams = await self.sync()
        report = await self.run_due(now, teams=teams)
        await self._sweep_outbox(now)
        try:
            await digests.refresh_living_boards(self.app.bot, self.bot_data, now)
        except Exception:
            log.exception("living leaderboards not refreshed")
        if now.minute == 0:
            await self.bot_data.db.work(
                partial(purge_processed, older_than=dt.timedelta(hours=72))
            )
            await self.bot_data.db.work(partial(inbox.purge))
            await self.bot_data.db.work(partial(outbox.purge, now=now))
        return report

    async def _sweep_outbox(self, now: dt.datetime) -> None:
        try:
            await posts.sweep_outbox(self.app.bot, self.bot_data, now, started=self._started)
        except Exception:
            log.exception("outbox not swept")

    async def run_due(
        self,
        now: dt.datetime,
        *,
        teams: Sequence[TeamSchedule] | None = None,
        team_ids: Sequence[int] | None = None,
    ) -> SweepReport:
        """Send every post due at `now` that was not sent yet (claims make this idempotent)."""
        db = self.bot_data.db
        report = SweepReport()
        report.uncertain = await db.work(
            partial(
                run_claims.expire_stale,
                now=now,
                instance=self.bot_data.instance,
                started=self._started,
            )
        )
        if teams is None:
            # A team's own job loads only that team's schedule.
            teams = await db.work(partial(schedules, team_ids=team_ids))
        elif team_ids is not None:
            teams = [t for t in teams if t.team_id in team_ids]
        posts = due_posts(teams, now)
        report.due = len(posts)
        # Teams are served concurrently (the rate limiter, not this loop, decides how fast
        # messages leave: one post after another would cap the fan-out at one per round trip);
        # one team's posts go in due order, so a group reads them as they were meant.
        by_team: dict[int, list[Post]] = defaultdict(list)
        for post in posts:
            by_team[post.team_id].append(post)
        gate = asyncio.Semaphore(FANOUT_CONCURRENCY)

        async def send_team(team_posts: list[Post]) -> int:
            sent = 0
            async with gate:
                for post in team_posts:
                    try:
                        sent += await digests.send_post(self.app.bot, self.bot_data, post, now)
                    except Exception:
                        log.exception("post %s for team %s failed", post.kind, post.team_id)
            return sent

        report.sent = sum(await asyncio.gather(*(send_team(p) for p in by_team.values())))
        return report
