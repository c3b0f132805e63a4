"""P6: event-loop lag (QUALITY.md).

While 10 charts render, an export is built and 200 check-ins arrive, a probe on the bot's event
loop asks to wake every 10 ms and records how late it wakes: the lag every other update, job and
send waits. The bot is the real `Application` fed through its inbox and lanes (as in P1) with a
month of activity behind it, so that charts and the export have numbers to draw. The goals are
budgets (p99 100 ms, max 250 ms): each figure prints its lag against its budget, and the lag of
the same probe on the idle loop, measured in the same run, is reported beside it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from telegram import Update

from bench.core import Figure, Note, Result, percentile
from bench.p1 import JSON, _checkins, _fresh_database, _LatencyMetrics, _teams
from bench.p1 import Options as P1Options
from bot.app import build_application, freeze_start_up_heap
from bot.config import Settings
from bot.polling import InboxPoller
from bot.sandbox import Sandbox, SandboxRequest

P99_BUDGET_MS = 100.0
MAX_BUDGET_MS = 250.0
TICK = 0.010


@dataclass(frozen=True)
class Options:
    """How P6 runs."""

    quick: bool
    workdir: Path


def run(opts: Options) -> list[Result]:
    """Measure the loop's lag under charts, an export and check-ins."""
    return asyncio.run(_run(opts))


class _Probe:
    """Wake every TICK on the loop and record how late each wake-up is (seconds)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(TICK)
            self.lags.append(max(loop.time() - began - TICK, 0.0))

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> list[float]:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.lags


async def _run(opts: Options) -> list[Result]:
    charts = 4 if opts.quick else 10
    checkins = 100 if opts.quick else 200
    url = _fresh_database(P1Options(opts.quick, opts.workdir))
    sandbox = Sandbox(queue_updates=False)
    settings = Settings(token=None, database_url=url, admins=frozenset())
    bot = build_application(
        settings, request=SandboxRequest(sandbox), rate_limit=False, token=sandbox.token
    )
    metrics = _LatencyMetrics()
    poller = InboxPoller(bot, bot.bot_data.db, metrics=metrics)
    probe = _Probe()
    try:
        async with bot:
            groups = await _teams(bot, sandbox)
            # History to draw: every member logs a few times (today, as the charts show it).
            history = _checkins(sandbox, groups, 400 if opts.quick else 2000, seed=5)
            await _feed(poller, _merged(history))
            freeze_start_up_heap()
            probe.start()
            await asyncio.sleep(1.0)
            idle = await probe.stop()
            work: list[JSON] = []
            for g, (group, people) in enumerate(groups[:charts]):
                leader = people[0]
                command = "/chart" if g % 2 else "/leaderboard"
                work.append(sandbox.text(leader, group, command))
            _, people = groups[0]
            work.append(sandbox.text(people[0], sandbox.private(people[0]), "/export"))
            arriving = _checkins(sandbox, groups, checkins, seed=6)
            merged = work + _merged(arriving)
            probe.start()
            began = time.perf_counter()
            await _feed(poller, merged)
            busy_seconds = time.perf_counter() - began
            busy = await probe.stop()
            if metrics.failed:
                raise RuntimeError(f"P6: {metrics.failed} updates failed")
            _check_answers(sandbox, charts)
    finally:
        bot.bot_data.close()
    label = f"{charts} charts, 1 export, {checkins} check-ins"
    idle_p99 = percentile(idle, 99) * 1000
    return [
        Figure(
            "P6",
            f"event-loop lag p99 ({label})",
            percentile(busy, 99) * 1000,
            P99_BUDGET_MS,
            "budget",
            "ms",
            goal=1.0,
        ),
        Figure(
            "P6",
            f"event-loop lag max ({label})",
            max(busy) * 1000,
            MAX_BUDGET_MS,
            "budget",
            "ms",
            goal=1.0,
        ),
        Note(
            "P6",
            "event-loop lag, context",
            f"{len(busy)} probes over {busy_seconds:.1f} s busy, p50 "
            f"{percentile(busy, 50) * 1000:.1f} ms; idle loop p99 {idle_p99:.1f} ms",
        ),
    ]


def _merged(streams: list[list[JSON]]) -> list[JSON]:
    """Interleave the chats' streams as getUpdates would return them."""
    return [u for batch in itertools.zip_longest(*streams) for u in batch if u is not None]


async def _feed(poller: InboxPoller, updates: list[JSON]) -> None:
    """Store updates in the inbox in getUpdates-sized batches and wait until all are handled."""
    for i in range(0, len(updates), 100):
        batch = updates[i : i + 100]
        await poller.process([Update.de_json(dict(u), poller.app.bot) for u in batch])
        await asyncio.sleep(0)
    await poller.idle()


def _check_answers(sandbox: Sandbox, charts: int) -> None:
    """Every chart was sent as a photo and the export as a document."""
    photos = sum(1 for c in sandbox.calls if c.method == "sendPhoto")
    documents = sum(1 for c in sandbox.calls if c.method == "sendDocument")
    if photos < charts or documents < 1:
        raise RuntimeError(f"P6: {photos} charts and {documents} exports sent")
