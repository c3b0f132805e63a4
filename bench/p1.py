"""P1: check-in capacity (QUALITY.md).

Check-in commands from 200 members in 10 teams go through the real `Application` from
`bot.app.build_application` (sandbox transport, SQLite file, rate limiter lifted), each team's
group chat a stream of its own and all streams at once. The reference is a bare
python-telegram-bot `Application` with one echo `CommandHandler`, fed the very same updates on
the same transport. The two take turns, segment by segment, so that the drift of a shared
machine falls on both alike. Every check-in must be stored: the run fails otherwise.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from bench.core import Figure, Note, Result, percentile
from bench.dataset import person_name
from bot.app import build_application
from bot.config import Settings
from bot.sandbox import Sandbox, SandboxRequest, SChat, SUser, deliver
from kpi import migrate
from kpi.db import make_engine
from kpi.models import Checkin

AnyApp = Application[Any, Any, Any, Any, Any, Any]
JSON = dict[str, Any]

GOAL = 0.3
TEAMS = 10
MEMBERS_PER_TEAM = 20
# What reps type, weighted as they log: mostly calls. Counts stay far below the daily sanity
# bounds even for a member who logs every one of their check-ins as the same metric.
COMMANDS: tuple[tuple[str, int, int, int], ...] = (
    ("/call", 50, 1, 6),
    ("/email", 15, 1, 8),
    ("/meeting", 15, 1, 1),
    ("/lead", 10, 1, 2),
    ("/demo", 5, 1, 1),
    ("/proposal", 5, 1, 1),
)


@dataclass(frozen=True)
class Options:
    """How P1 runs."""

    quick: bool
    workdir: Path
    checkins: int | None = None
    explain: bool = False


@dataclass(frozen=True)
class _Pass:
    """One application's pass over some updates."""

    seconds: float
    latencies: tuple[float, ...]


def run(opts: Options) -> list[Result]:
    """Measure check-in throughput against the bare echo application."""
    return asyncio.run(_run(opts))


async def _run(opts: Options) -> list[Result]:
    n = opts.checkins or (500 if opts.quick else 10_000)
    segments = 2 if opts.quick else 4
    path = opts.workdir / "p1.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()

    sandbox = Sandbox(queue_updates=False)
    settings = Settings(token=None, database_url=f"sqlite:///{path}", admins=frozenset())
    bot = build_application(
        settings, request=SandboxRequest(sandbox), rate_limit=False, token=sandbox.token
    )
    echo = _echo_application(sandbox)
    try:
        async with bot, echo:
            groups = await _teams(bot, sandbox)
            warmup = _checkins(sandbox, groups, len(groups), seed=1)
            await _drive(echo, warmup)
            await _drive(bot, warmup)
            streams = _checkins(sandbox, groups, n, seed=2)
            bot_passes: list[_Pass] = []
            echo_passes: list[_Pass] = []
            for seg in range(segments):
                part = [_chunk(s, seg, segments) for s in streams]
                if seg % 2 == 0:
                    echo_passes.append(await _drive(echo, part))
                    bot_passes.append(await _drive(bot, part))
                else:
                    bot_passes.append(await _drive(bot, part))
                    echo_passes.append(await _drive(echo, part))
            stored = await bot.bot_data.db.work(_count_checkins)
            expected = n + len(groups)
            if stored != expected:
                raise RuntimeError(f"P1: {stored} check-ins stored, {expected} sent")
            bot_rate = n / sum(p.seconds for p in bot_passes)
            echo_rate = n / sum(p.seconds for p in echo_passes)
            if opts.explain or bot_rate < GOAL * echo_rate:
                await _diagnose(bot, echo, sandbox, groups)
    finally:
        bot.bot_data.close()

    latencies = [x for p in bot_passes for x in p.latencies]
    echo_latencies = [x for p in echo_passes for x in p.latencies]
    people = TEAMS * MEMBERS_PER_TEAM
    size = f"{n:,} commands, {people} members, {TEAMS} teams"
    return [
        Figure(
            "P1",
            f"check-in capacity ({size})",
            bot_rate,
            echo_rate,
            "bare echo",
            "/s",
            goal=GOAL,
            at_least=True,
        ),
        Note(
            "P1",
            f"handler latency ({TEAMS} concurrent chats)",
            f"p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms "
            f"(bare echo p50 {percentile(echo_latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(echo_latencies, 99) * 1000:.1f} ms)",
        ),
    ]


def _echo_application(sandbox: Sandbox) -> AnyApp:
    """Build the reference: python-telegram-bot with one echo command and nothing else."""
    request = SandboxRequest(sandbox)
    app: AnyApp = (
        ApplicationBuilder()
        .token(sandbox.token)
        .request(request)
        .get_updates_request(request)
        .updater(None)
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(CommandHandler([c.removeprefix("/") for c, *_ in COMMANDS], _echo))
    return app


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the command with its own text."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(message.text)


async def _teams(app: AnyApp, sandbox: Sandbox) -> list[tuple[SChat, list[SUser]]]:
    """Create the groups and let every leader /setup and every rep /join, through the bot."""
    groups = []
    for t in range(TEAMS):
        people = []
        for i in range(MEMBERS_PER_TEAM):
            family, given = person_name(t * MEMBERS_PER_TEAM + i)
            people.append(sandbox.user(given, last_name=family, language_code="vi"))
        group = sandbox.group(f"Kinh doanh {t + 1:02d}", creator=people[0], members=people[1:])
        await deliver(app, sandbox.text(people[0], group, "/setup"))
        for rep in people[1:]:
            await deliver(app, sandbox.text(rep, group, "/join"))
        groups.append((group, people))
    return groups


def _checkins(
    sandbox: Sandbox, groups: Sequence[tuple[SChat, list[SUser]]], n: int, *, seed: int
) -> list[list[JSON]]:
    """Write n check-in messages, everybody in turn; return each group's updates in order."""
    rng = random.Random(seed)
    names = [c for c, *_ in COMMANDS]
    weights = [w for _, w, _, _ in COMMANDS]
    bounds = {c: (lo, hi) for c, _, lo, hi in COMMANDS}
    streams: list[list[JSON]] = [[] for _ in groups]
    for i in range(n):
        g = i % len(groups)
        group, people = groups[g]
        person = people[(i // len(groups)) % len(people)]
        command = rng.choices(names, weights)[0]
        count = rng.randint(*bounds[command])
        streams[g].append(sandbox.text(person, group, f"{command} {count}"))
    return streams


def _chunk(updates: Sequence[JSON], index: int, count: int) -> Sequence[JSON]:
    """Return the index-th of count consecutive, nearly equal parts of a chat's updates."""
    size = len(updates)
    return updates[index * size // count : (index + 1) * size // count]


async def _drive(app: AnyApp, streams: Sequence[Sequence[JSON]]) -> _Pass:
    """Deliver every stream at once (each stream in order); time the pass and each update."""
    latencies: list[float] = []

    async def stream(updates: Sequence[JSON]) -> None:
        for update in updates:
            started = time.perf_counter()
            await deliver(app, update)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(stream(s) for s in streams))
    return _Pass(time.perf_counter() - started, tuple(latencies))


async def _diagnose(
    bot: AnyApp, echo: AnyApp, sandbox: Sandbox, groups: Sequence[tuple[SChat, list[SUser]]]
) -> None:
    """Print on stderr where one check-in's time goes, measured alone (no concurrency)."""
    engine = bot.bot_data.db.engine
    updates = [u for s in _checkins(sandbox, groups, 200, seed=3) for u in s]
    echo_pass = await _drive(echo, [updates])
    sql: list[float] = []
    units: list[float] = []
    started: dict[str, float] = {}

    def before_sql(*_: Any) -> None:
        started["sql"] = time.perf_counter()

    def after_sql(*_: Any) -> None:
        sql.append(time.perf_counter() - started["sql"])

    def begin(*_: Any) -> None:
        started["unit"] = time.perf_counter()

    def commit(*_: Any) -> None:
        units.append(time.perf_counter() - started["unit"])

    hooks = (
        ("before_cursor_execute", before_sql),
        ("after_cursor_execute", after_sql),
        ("begin", begin),
        ("commit", commit),
    )
    for name, fn in hooks:
        event.listen(engine, name, fn)
    try:
        bot_pass = await _drive(bot, [updates])
    finally:
        for name, fn in hooks:
            event.remove(engine, name, fn)
    n = len(updates)
    alone = statistics.fmean(bot_pass.latencies) * 1000
    unit = sum(units) / n * 1000
    in_sql = sum(sql) / n * 1000
    print(
        f"P1 diagnosis, one check-in at a time (mean of {n}): {alone:.2f} ms end to end "
        f"(bare echo {statistics.fmean(echo_pass.latencies) * 1000:.2f} ms); "
        f"database transactions {len(units) / n:.1f} per check-in, {unit:.2f} ms, "
        f"of which SQLite executes {in_sql:.2f} ms in {len(sql) / n:.1f} statements; "
        f"the rest ({alone - unit:.2f} ms) is the handler and python-telegram-bot",
        file=sys.stderr,
        flush=True,
    )


def _count_checkins(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Checkin)) or 0)
