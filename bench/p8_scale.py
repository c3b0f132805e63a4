"""P8: scale-out (QUALITY.md), on PostgreSQL.

Two machines' worth of cores are not available here, so P8 measures what decides scaling: the
CPU seconds one check-in costs with two `kpibot run --webhook` instances sharing the database
(leased chat lanes, the shared send budget) against the same with one instance, in the same run.

Ten teams of ten reps are set up through the bot; then the reps send check-ins in their private
chats, all at once: 500 through one instance, 500 through two (Telegram's stand-in posting each
update to the next instance in turn over 8 connections), and 500 through one again, so the
drift of a shared machine falls on both sides; each window follows a warm-up burst of 100 with
the same instances (a new instance's first check-ins load what it loads lazily). A window ends
when every check-in is
stored, handled and answered. CPU is that of the bots and of PostgreSQL's backends of the
database (the system under test) per check-in; the sandbox's (this process: the stand-in for
Telegram and its webhook delivery) is printed beside it. Every check-in must be stored once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.core import Figure, Note, Result
from bench.procs import PgBackends, WebhookBot, cpu_line, cpu_seconds, fresh_pg, until
from bot.sandbox import Sandbox
from bot.sandbox.types import SChat, SUser
from bot.sandbox.webhook import WebhookDelivery

TEAMS = 10
REPS = 10
CHECKINS = 500
WARM_UP = 100
IDLE_SECONDS = 3.0
CONNECTIONS = 8
GOAL = 1.15


@dataclass(frozen=True)
class Options:
    """How P8 runs."""

    workdir: Path
    pg_url: str | None


@dataclass(frozen=True)
class Window:
    """One burst of check-ins and what each process spent on it."""

    instances: int
    checkins: int
    seconds: float
    bots: list[float]
    pg: float
    sandbox: float

    @property
    def per_checkin_ms(self) -> float:
        """Return the CPU of the bots and PostgreSQL per check-in (ms)."""
        return (sum(self.bots) + self.pg) / self.checkins * 1000

    def cpu(self) -> str:
        """Return the CPU line of this window."""
        bots = [(f"bot {i + 1}", s) for i, s in enumerate(self.bots)]
        return cpu_line([*bots, ("PostgreSQL backends", self.pg), ("sandbox", self.sandbox)])


def run(opts: Options) -> list[Result | str]:
    """Measure the CPU per check-in with one and with two instances."""
    if not opts.pg_url:
        return ["P8 scale-out: skipped (needs PostgreSQL: --pg URL)"]
    fresh_pg(opts.pg_url)
    sandbox = Sandbox()
    server = sandbox.serve()
    server.start()
    urls = (opts.pg_url, server.base_url, server.base_file_url)
    bots = [WebhookBot(f"p8-bot{i + 1}", opts.workdir, *urls) for i in range(2)]
    backends = PgBackends(opts.pg_url)
    delivery: WebhookDelivery | None = None
    warm: list[Window] = []
    routed: list[int] = []
    try:
        bots[0].start(sandbox.token)
        delivery = _deliver(sandbox, bots[:1])
        reps = _teams(sandbox, backends)
        idle = _idle(bots[0], backends)
        # One instance, two, one again (drift spreads over both), each after a warm-up burst.
        windows: list[Window] = []
        for fleet in (bots[:1], bots, bots[:1]):
            if len(fleet) == 2:
                bots[1].start(sandbox.token)
            elif bots[1].proc is not None:
                bots[1].stop()
            delivery.stop()
            delivery = _deliver(sandbox, fleet)
            warm.append(_window(sandbox, backends, delivery, fleet, reps, WARM_UP))
            windows.append(_window(sandbox, backends, delivery, fleet, reps, CHECKINS))
            if len(fleet) == 2:
                routed = delivery.routed[-CHECKINS:]
        stored, distinct = _checkins(backends)
    finally:
        if delivery is not None:
            delivery.stop()
        for bot in bots:
            bot.stop()
        backends.close()
        server.stop()
    sent = sum(w.checkins for w in windows + warm)
    one = _merged(windows[0], windows[2])
    two = windows[1]
    if stored != sent or distinct != sent:
        raise RuntimeError(f"P8: {sent} check-ins sent, {stored} stored ({distinct} distinct)")
    return [
        Figure(
            "P8",
            f"CPU per check-in, two instances ({CHECKINS} check-ins, bots + PostgreSQL)",
            two.per_checkin_ms,
            one.per_checkin_ms,
            "one instance",
            "ms",
            goal=GOAL,
        ),
        Note(
            "P8",
            "check-ins per second",
            f"one instance {windows[0].checkins / windows[0].seconds:.0f}/s and "
            f"{windows[2].checkins / windows[2].seconds:.0f}/s, "
            f"two instances {two.checkins / two.seconds:.0f}/s "
            f"(posted to them {routed.count(0)} / {routed.count(1)})",
        ),
        Note("P8", "CPU, one instance (both windows)", one.cpu()),
        Note("P8", "CPU, two instances", two.cpu()),
        Note("P8", "CPU while idle (no updates), one instance", idle),
        Note("P8", "check-ins stored", f"{stored:,} of {sent:,}, each once"),
    ]


def _merged(a: Window, b: Window) -> Window:
    """Return two windows of the same fleet as one."""
    return Window(
        a.instances,
        a.checkins + b.checkins,
        a.seconds + b.seconds,
        [x + y for x, y in zip(a.bots, b.bots, strict=True)],
        a.pg + b.pg,
        a.sandbox + b.sandbox,
    )


def _idle(bot: WebhookBot, backends: PgBackends) -> str:
    """Return the share of a core one instance and its backends spend with nothing to do."""
    assert bot.proc is not None
    time.sleep(1.0)
    bot0, pg0, began = cpu_seconds(bot.proc.pid), backends.snapshot(), time.perf_counter()
    time.sleep(IDLE_SECONDS)
    bot1, pg1 = cpu_seconds(bot.proc.pid), backends.snapshot()
    seconds = time.perf_counter() - began
    bot_share, pg_share = (bot1 - bot0) / seconds, PgBackends.spent(pg0, pg1) / seconds
    return (
        f"bot {bot_share:.1%} of a core, PostgreSQL backends {pg_share:.1%} "
        f"(over {seconds:.0f} s; a window's share grows with its length on a busy machine)"
    )


def _deliver(sandbox: Sandbox, bots: list[WebhookBot]) -> WebhookDelivery:
    delivery = WebhookDelivery(
        sandbox, via=[b.base for b in bots], retry=0.05, connections=CONNECTIONS
    )
    delivery.start()
    return delivery


def _teams(sandbox: Sandbox, backends: PgBackends) -> list[tuple[SUser, SChat]]:
    """Set up the teams through the bot; return each rep with their private chat."""
    reps: list[tuple[SUser, SChat]] = []
    for t in range(TEAMS):
        leader = sandbox.user(f"Lead{t}", language_code="en")
        people = [sandbox.user(f"Rep{t}x{r}", language_code="en") for r in range(REPS)]
        group = sandbox.group(f"Team {t}", creator=leader, members=people)
        sandbox.text(leader, group, "/setup")
        for rep in people:
            sandbox.text(rep, group, "/join")
            reps.append((rep, sandbox.private(rep)))
    members = TEAMS * (REPS + 1)
    until(lambda: _count(backends, "SELECT count(*) FROM memberships") == members, 120, "P8 setup")
    return reps


def _window(
    sandbox: Sandbox,
    backends: PgBackends,
    delivery: WebhookDelivery,
    bots: list[WebhookBot],
    reps: list[tuple[SUser, SChat]],
    checkins: int,
) -> Window:
    """Send a burst of check-ins; return how long they took and the CPU each process spent."""
    before = _count(backends, "SELECT count(*) FROM checkins")
    pids = [b.proc.pid for b in bots if b.proc is not None]
    bots0, pg0, sb0 = [cpu_seconds(p) for p in pids], backends.snapshot(), time.process_time()
    began = time.perf_counter()
    for n in range(checkins):
        user, chat = reps[n % len(reps)]
        sandbox.text(user, chat, f"/call {n % 9 + 1}")
    until(
        lambda: delivery.held == 0 and _settled(backends, before + checkins),
        120,
        "P8: the check-ins were not handled in time",
    )
    seconds = time.perf_counter() - began
    bots1, pg1, sb1 = [cpu_seconds(p) for p in pids], backends.snapshot(), time.process_time()
    return Window(
        len(bots),
        checkins,
        seconds,
        [b - a for a, b in zip(bots0, bots1, strict=True)],
        PgBackends.spent(pg0, pg1),
        sb1 - sb0,
    )


def _settled(backends: PgBackends, checkins: int) -> bool:
    """Tell whether the check-ins are stored and nothing waits in the inbox or the outbox."""
    query = (
        "SELECT (SELECT count(*) FROM checkins), "
        "(SELECT count(*) FROM inbox_updates WHERE status = 'pending'), "
        "(SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending'))"
    )
    with backends.engine.connect() as conn:
        stored, inbox, outbox = conn.execute(text(query)).one()
    return bool(stored >= checkins and inbox == 0 and outbox == 0)


def _count(backends: PgBackends, query: str) -> int:
    with backends.engine.connect() as conn:
        return int(conn.execute(text(query)).scalar() or 0)


def _checkins(backends: PgBackends) -> tuple[int, int]:
    """Return the check-ins stored, and how many distinct messages they came from."""
    with backends.engine.connect() as conn:
        stored, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT (chat_id, message_id)) FROM checkins")
        ).one()
    return int(stored), int(distinct)
