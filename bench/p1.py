"""P1: check-in capacity (QUALITY.md).

Check-in commands from 200 members in 10 teams go the way production takes them: stored in the
inbox in batches as getUpdates returns them, handled in their chat's lane by the real
`Application` from `bot.app.build_application` (sandbox transport, rate limiter lifted), each
confirmation written to the outbox with its check-in and settled once sent, each update marked
handled in the inbox. The database is a SQLite file, or PostgreSQL when `--pg URL` is given. The
reference is a bare
python-telegram-bot `Application` with one echo `CommandHandler`, fed the very same updates on
the same transport. The two take turns, segment by segment, so that the drift of a shared
machine falls on both alike. Every check-in must be stored: the run fails otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import itertools
import pstats
import random
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from bench.core import Figure, Note, Result, percentile
from bench.dataset import person_name
from bot.app import build_application, freeze_start_up_heap
from bot.config import Settings
from bot.metrics import Metrics
from bot.polling import InboxPoller
from bot.sandbox import Sandbox, SandboxRequest, SChat, SUser, deliver
from kpi import migrate
from kpi.db import make_engine
from kpi.models import Checkin

AnyApp = Application[Any, Any, Any, Any, Any, Any]
JSON = dict[str, Any]

GOAL = 0.3
# getUpdates returns at most this many updates at once.
BATCH = 100
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
    pg_url: str | None = None


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
    url = _fresh_database(opts)
    sandbox = Sandbox(queue_updates=False)
    settings = Settings(token=None, database_url=url, admins=frozenset())
    bot = build_application(
        settings, request=SandboxRequest(sandbox), rate_limit=False, token=sandbox.token
    )
    metrics = _LatencyMetrics()
    metrics.watch(bot.bot_data.db.engine)
    bot.add_error_handler(metrics.note_failure)
    poller = InboxPoller(bot, bot.bot_data.db, metrics=metrics)
    echo = _echo_application(sandbox)
    try:
        async with bot, echo:
            groups = await _teams(bot, sandbox)
            # As `kpibot run` does once it is up.
            freeze_start_up_heap()
            warmup = _checkins(sandbox, groups, len(groups) * 5, seed=1)
            await _drive(echo, warmup)
            await _through_inbox(poller, sandbox, warmup)
            streams = _checkins(sandbox, groups, n, seed=2)
            bot_passes: list[_Pass] = []
            echo_passes: list[_Pass] = []
            for seg in range(segments):
                part = [_chunk(s, seg, segments) for s in streams]
                if seg % 2 == 0:
                    echo_passes.append(await _drive(echo, part))
                    bot_passes.append(await _through_inbox(poller, sandbox, part))
                else:
                    bot_passes.append(await _through_inbox(poller, sandbox, part))
                    echo_passes.append(await _drive(echo, part))
            stored = await bot.bot_data.db.work(_count_checkins)
            expected = n + len(groups) * 5
            if stored != expected:
                raise RuntimeError(f"P1: {stored} check-ins stored, {expected} sent")
            if metrics.failed:
                raise RuntimeError(f"P1: {metrics.failed} updates failed")
            bot_rate = n / sum(p.seconds for p in bot_passes)
            echo_rate = n / sum(p.seconds for p in echo_passes)
            if opts.explain or bot_rate < GOAL * echo_rate:
                await _diagnose(bot, poller, metrics, echo, sandbox, groups)
    finally:
        bot.bot_data.close()

    latencies = [x for p in bot_passes for x in p.latencies]
    echo_latencies = [x for p in echo_passes for x in p.latencies]
    people = TEAMS * MEMBERS_PER_TEAM
    where = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    size = f"{n:,} commands, {people} members, {TEAMS} teams, {where}"
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
            f"handler latency ({TEAMS} concurrent chats, {where})",
            f"p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms "
            f"(bare echo p50 {percentile(echo_latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(echo_latencies, 99) * 1000:.1f} ms)",
        ),
    ]


def _fresh_database(opts: Options) -> str:
    """Return the URL of a freshly migrated, empty database (a file, or the `--pg` database)."""
    if opts.pg_url:
        engine = make_engine(opts.pg_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrate.upgrade(engine)
        engine.dispose()
        return opts.pg_url
    path = opts.workdir / "p1.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return f"sqlite:///{path}"


class _LatencyMetrics(Metrics):
    """The bot's metrics, keeping each update's handling time and counting failures."""

    def __init__(self) -> None:
        super().__init__()
        self.latencies: list[float] = []
        self.failed = 0

    async def note_failure(self, update: object, context: Any) -> None:
        self.failed += 1
        await super().note_failure(update, context)

    @contextlib.contextmanager
    def handling(self, update: Update) -> Iterator[None]:
        began = time.perf_counter()
        with super().handling(update):
            yield
        self.latencies.append(time.perf_counter() - began)


async def _through_inbox(
    poller: InboxPoller, sandbox: Sandbox, streams: Sequence[Sequence[JSON]]
) -> _Pass:
    """Deliver the streams as long polling does: interleaved, in batches of up to 100 updates
    stored in the inbox, handled in their chats' lanes; time until every lane is done."""
    merged = [u for batch in itertools.zip_longest(*streams) for u in batch if u is not None]
    metrics = poller.metrics
    assert isinstance(metrics, _LatencyMetrics)
    metrics.latencies.clear()
    started = time.perf_counter()
    for i in range(0, len(merged), BATCH):
        updates = [Update.de_json(dict(u), poller.app.bot) for u in merged[i : i + BATCH]]
        await poller.process(updates)
        # Yield to the lanes as the next long poll would.
        await asyncio.sleep(0)
    await poller.idle()
    return _Pass(time.perf_counter() - started, tuple(metrics.latencies))


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
    bot: AnyApp,
    poller: InboxPoller,
    metrics: _LatencyMetrics,
    echo: AnyApp,
    sandbox: Sandbox,
    groups: Sequence[tuple[SChat, list[SUser]]],
) -> None:
    """Print on stderr where one check-in's time goes, measured alone (no concurrency), and
    the functions a profile of that pass spends most of its own time in."""
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
    profile = cProfile.Profile()
    # Units of work run in the database's threads: each thread gets a profile of its own.
    db = bot.bot_data.db
    in_threads: dict[int, cProfile.Profile] = {}
    call = db.call

    def profiled_call(*args: Any, **kwargs: Any) -> Any:
        prof = in_threads.setdefault(threading.get_ident(), cProfile.Profile())
        prof.enable()
        try:
            return call(*args, **kwargs)
        finally:
            prof.disable()

    db.call = profiled_call
    alone: list[float] = []
    try:
        for u in updates:
            began = time.perf_counter()
            profile.enable()
            await poller.process([Update.de_json(dict(u), bot.bot)])
            await poller.idle()
            profile.disable()
            alone.append(time.perf_counter() - began)
    finally:
        del db.call
        for name, fn in hooks:
            event.remove(engine, name, fn)
    n = len(updates)
    mean = statistics.fmean(alone) * 1000
    unit = sum(units) / n * 1000
    in_sql = sum(sql) / n * 1000
    where = engine.dialect.name
    print(
        f"P1 diagnosis, one check-in at a time through the inbox (mean of {n}): {mean:.2f} ms "
        f"end to end (bare echo {statistics.fmean(echo_pass.latencies) * 1000:.2f} ms); "
        f"database transactions {len(units) / n:.1f} per check-in, {unit:.2f} ms, "
        f"of which {where} executes {in_sql:.2f} ms in {len(sql) / n:.1f} statements; "
        f"the rest ({mean - unit:.2f} ms) is the handler and python-telegram-bot",
        file=sys.stderr,
        flush=True,
    )
    for title, profiles in (("event loop", [profile]), ("database threads", in_threads.values())):
        out = io.StringIO()
        stats = pstats.Stats(*profiles, stream=out)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(r"kpi/|handlers/|bot/", 30)
        print(f"P1 profile of the {title} ({n} check-ins):", file=sys.stderr)
        print(out.getvalue(), file=sys.stderr, flush=True)


def _count_checkins(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Checkin)) or 0)
