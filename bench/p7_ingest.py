"""P7: webhook ingest (QUALITY.md), on PostgreSQL.

One `kpibot run --webhook` process behind its own web server; `bench.loadgen` (a separate, lean
process) posts updates as Telegram does, over 40 keep-alive connections (setWebhook's default
max_connections), each update with its own update_id: plain chatter in 50 groups, which the bot
stores, handles in its lanes and marks, answering nothing.

- latency: from when a request was due to its 200 (the update is in the inbox by then), p50 and
  p99 at 500 updates/s for 10 s (open loop), against the 20 ms budget; also at 100 updates/s
  (3 s, after a 2 s warm-up at that rate), a rate one instance keeps up with;
- capacity: the updates a second the instance stores when every connection posts its next
  update as soon as the last is answered (closed loop, 8 s);
- the CPU of each process over each window: the generator, the bot, PostgreSQL's backends of
  the database. The generator must cost less than the server it measures; the CPU one update
  costs shows how many cores the target rate needs.

Every update answered 200 must be in the inbox afterwards (checked).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.core import Figure, Note, Result
from bench.procs import (
    PUBLIC,
    SECRET,
    PgBackends,
    WebhookBot,
    cpu_line,
    cpu_seconds,
    env,
    fresh_pg,
    until,
)
from bot.sandbox import Sandbox
from bot.web import webhook_path

RATE = 500.0
SECONDS = 10.0
MAX_SECONDS = 8.0
# Also reported: the latency at a rate one instance keeps up with.
SLOW_RATE = 100.0
CONNECTIONS = 40
P99_BUDGET_MS = 20.0


@dataclass(frozen=True)
class Options:
    """How P7 runs."""

    workdir: Path
    pg_url: str | None


@dataclass(frozen=True)
class Window:
    """One load and what each process spent on it."""

    load: dict[str, float]
    bot_cpu: float
    pg_cpu: float

    @property
    def server_cpu(self) -> float:
        """Return the bot's CPU plus its database backends'."""
        return self.bot_cpu + self.pg_cpu

    def cpu(self) -> str:
        """Return the CPU line of this window."""
        return cpu_line(
            [
                ("generator", self.load["cpu"]),
                ("bot", self.bot_cpu),
                ("PostgreSQL backends", self.pg_cpu),
            ]
        )


def run(opts: Options) -> list[Result | str]:
    """Measure webhook ingest of one instance on PostgreSQL."""
    if not opts.pg_url:
        return ["P7 webhook ingest: skipped (needs PostgreSQL: --pg URL)"]
    fresh_pg(opts.pg_url)
    sandbox = Sandbox()
    server = sandbox.serve()
    server.start()
    bot = WebhookBot("p7-bot", opts.workdir, opts.pg_url, server.base_url, server.base_file_url)
    backends = PgBackends(opts.pg_url)
    try:
        bot.start(sandbox.token)
        first = 1
        # Connections opened, the lazily loaded handled once: not reported.
        warm = _window(bot, backends, rate=SLOW_RATE, seconds=2.0, first=first)
        first += int(SLOW_RATE * 2) + CONNECTIONS
        slow = _window(bot, backends, rate=SLOW_RATE, seconds=3.0, first=first)
        first += int(SLOW_RATE * 3) + CONNECTIONS
        paced = _window(bot, backends, rate=RATE, seconds=SECONDS, first=first)
        first += int(RATE * SECONDS) + CONNECTIONS
        flat = _window(bot, backends, rate=0.0, seconds=MAX_SECONDS, first=first)
        posted = sum(int(w.load["ok"]) for w in (warm, slow, paced, flat))
        stored = _stored(backends)
    finally:
        bot.stop()
        backends.close()
        server.stop()
    if stored < posted:
        raise RuntimeError(f"P7: {posted} updates answered 200 but {stored} in the inbox")
    achieved = paced.load["ok"] / paced.load["seconds"]
    capacity = flat.load["ok"] / flat.load["seconds"]
    return [
        Figure(
            "P7",
            f"request to 200 p99 at {RATE:.0f} updates/s ({achieved:.0f}/s answered)",
            paced.load["p99"] * 1000,
            P99_BUDGET_MS,
            "budget",
            "ms",
            goal=1.0,
        ),
        Note("P7", f"request to 200 at {RATE:.0f} updates/s", _latency(paced)),
        Note("P7", f"request to 200 at {SLOW_RATE:.0f} updates/s", _latency(slow)),
        Note("P7", "CPU at 500 updates/s", paced.cpu()),
        Note("P7", "CPU per update stored and handled", _per_update(paced)),
        Note(
            "P7",
            f"updates stored per second, one instance ({CONNECTIONS} connections, closed loop)",
            f"{capacity:,.0f}/s (p50 {flat.load['p50'] * 1000:.1f} ms, "
            f"p99 {flat.load['p99'] * 1000:.1f} ms); CPU {flat.cpu()}",
        ),
        Figure(
            "P7",
            "load generator CPU (both windows)",
            (paced.load["cpu"] + flat.load["cpu"]) * 1000,
            (paced.server_cpu + flat.server_cpu) * 1000,
            "bot + PostgreSQL CPU",
            "ms",
            goal=1.0,
        ),
        Note("P7", "updates in the inbox", f"{stored:,} of {posted:,} answered 200"),
    ]


def _per_update(window: Window) -> str:
    """Return the CPU one update costs, and the cores the target rate needs at that cost."""
    ok = max(int(window.load["ok"]), 1)
    bot, pg = window.bot_cpu / ok, window.pg_cpu / ok
    return (
        f"bot {bot * 1000:.2f} ms, PostgreSQL {pg * 1000:.2f} ms: {RATE:.0f} updates/s need "
        f"{(bot + pg) * RATE:.1f} cores (this machine has {os.cpu_count()}, shared with the "
        f"generator and anything else running)"
    )


def _latency(window: Window) -> str:
    load = window.load
    return (
        f"p50 {load['p50'] * 1000:.1f} ms, p99 {load['p99'] * 1000:.1f} ms, "
        f"max {load['max'] * 1000:.0f} ms; {int(load['ok']):,} of {int(load['due']):,} due "
        f"answered 200 in the window, {int(load['refused'])} refused"
    )


def _window(
    bot: WebhookBot, backends: PgBackends, *, rate: float, seconds: float, first: int
) -> Window:
    """Run the generator once; return its figures and the server's CPU meanwhile."""
    assert bot.proc is not None
    command = [sys.executable, "-m", "bench.loadgen", "--port", str(bot.port)]
    command += ["--path", webhook_path(PUBLIC), "--secret", SECRET, "--rate", str(rate)]
    command += ["--seconds", str(seconds), "--connections", str(CONNECTIONS)]
    command += ["--first-id", str(first)]
    bot0, pg0 = cpu_seconds(bot.proc.pid), backends.snapshot()
    done = subprocess.run(command, env=env(), capture_output=True, text=True, check=False)
    bot1, pg1 = cpu_seconds(bot.proc.pid), backends.snapshot()
    if done.returncode != 0:
        raise RuntimeError(f"P7: the load generator failed:\n{done.stderr[-2000:]}")
    load = json.loads(done.stdout.strip().splitlines()[-1])
    # The next window starts once this one's updates are handled (none waits in the inbox).
    until(lambda: _pending(backends) == 0, 120, "P7: the inbox did not drain")
    return Window(load, bot1 - bot0, PgBackends.spent(pg0, pg1))


def _pending(backends: PgBackends) -> int:
    with backends.engine.connect() as conn:
        query = "SELECT count(*) FROM inbox_updates WHERE status = 'pending'"
        return int(conn.execute(text(query)).scalar() or 0)


def _stored(backends: PgBackends) -> int:
    with backends.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM inbox_updates")).scalar() or 0)
