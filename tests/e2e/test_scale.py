"""Several instances on one PostgreSQL database (QUALITY.md R2, R3, R10): two `kpibot run
--webhook` processes against the HTTP sandbox, which posts each update to the next instance in
turn (a load balancer) and to the other one when an instance is down.

One instance is killed with SIGKILL in the middle of 2,000 check-ins and restarted later; then a
random instance is killed and restarted 20 times at random moments (seeded: the seed is printed,
and KPIBOT_SCALE_SEED replays it). Every check-in is stored exactly once, a /call and the /undo
after it (sent to different instances) leave nothing, no send is answered 429 although the two
instances together could send far more than the limits, and each team gets one daily summary.

Telegram's limits are scaled up here (the sandbox enforces the same scaled limits): at 1 message
a second per private chat, 2,000 confirmations would take minutes.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.sandbox import Sandbox, SandboxServer
from bot.sandbox.types import FloodLimits
from bot.sandbox.webhook import WebhookDelivery
from kpi.db import Database
from kpi.models import (
    CHECKIN_ACTIVE,
    CHECKIN_VOIDED,
    Activity,
    Checkin,
    InboxUpdate,
    Lease,
    Membership,
    ScheduledRun,
)
from tests.support.database import on_postgres
from tests.support.processes import BotProcess

pytestmark = pytest.mark.skipif(
    not on_postgres(),
    reason="several instances share one PostgreSQL database (on SQLite there is one instance); "
    "CI runs this file with TEST_DATABASE_URL set",
)

SECRET = "e2e-scale-secret_0123456789"
PUBLIC = "https://bot.example.com/tg/scale"
# Telegram's limits scaled up (30/s, 20/min per group, per private chat 3 at once and 1/s).
PRIVATE_INTERVAL = 0.1
LIMITS = FloodLimits(
    overall=120,
    overall_window=1.0,
    group=60,
    group_window=60.0,
    private=3,
    private_window=3 * PRIVATE_INTERVAL,
)
CONFIG = f"""
[telegram]
overall_max_rate = {LIMITS.overall}
group_max_rate = {LIMITS.group}
private_min_interval = {PRIVATE_INTERVAL}

[defaults]
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
country = ""

[defaults.schedule]
daily_summary = "00:00"
grace_minutes = 1440
reminder = "off"
weekly = "off"
monthly = "off"
leader_digest = "off"
"""
# Telegram posts to a webhook over parallel connections (a chat's updates in order).
CONNECTIONS = 8
# A check-in that is undone right after it: its amount marks it.
UNDONE = 77


@pytest.fixture
def sandbox() -> Sandbox:
    """A Telegram that answers 429 to any send over the (scaled) limits."""
    return Sandbox(limits=LIMITS, enforce_limits=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


class Fleet:
    """Two `kpibot run --webhook` instances and the load balancer in front of them."""

    def __init__(self, served: SandboxServer, db_url: str, tmp_path: Path, n: int = 2) -> None:
        self.ports = [_free_port() for _ in range(n)]
        self.bots = []
        for i, port in enumerate(self.ports):
            workdir = tmp_path / f"instance-{i}"
            workdir.mkdir()
            self.bots.append(
                BotProcess(
                    served,
                    db_url,
                    workdir,
                    CONFIG,
                    args=["--webhook", PUBLIC, "--listen", f"127.0.0.1:{port}"],
                    env={"TELEGRAM_WEBHOOK_SECRET": SECRET, "KPIBOT_INSTANCE": f"i{i}"},
                )
            )
        self.telegram = WebhookDelivery(
            served.sandbox,
            via=[f"http://127.0.0.1:{p}" for p in self.ports],
            retry=0.05,
            connections=CONNECTIONS,
        )
        self.kills = 0

    def up(self, i: int) -> bool:
        try:
            url = f"http://127.0.0.1:{self.ports[i]}/healthz"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        for bot in self.bots:
            bot.start()
        self.telegram.start()
        for i in range(len(self.bots)):
            _until(lambda i=i: self.up(i), 60, f"instance {i} up: {self.bots[i].output()}")

    def kill(self, i: int) -> None:
        assert self.bots[i].stop(signal.SIGKILL) == -signal.SIGKILL
        self.kills += 1

    def stop(self) -> None:
        self.telegram.stop()
        for bot in self.bots:
            if bot.proc is not None and bot.proc.poll() is None:
                assert bot.stop(signal.SIGTERM, timeout=10) == 0, bot.output()

    def output(self) -> str:
        return "\n".join(
            f"--- instance {i}\n{b.output()[-3000:]}" for i, b in enumerate(self.bots)
        )


@pytest.fixture
def fleet(served: SandboxServer, db_url: str, tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(served, db_url, tmp_path)
    try:
        yield f
    finally:
        f.stop()


class Company:
    """Teams set up through the bot: a leader per group, reps who joined, their private chats."""

    def __init__(self, sandbox: Sandbox, database: Database) -> None:
        self.sandbox = sandbox
        self.database = database
        self.groups: list[object] = []
        self.reps: list[tuple[object, object]] = []  # (user, private chat)
        self.calls = 0
        self.undone = 0

    def teams(self, groups: int, reps_each: int, start: int = 0) -> None:
        sb = self.sandbox
        before = len(self.reps) + len(self.groups)
        for g in range(start, start + groups):
            leader = sb.user(f"Lead{g}", language_code="en")
            reps = [sb.user(f"Rep{g}x{r}", language_code="en") for r in range(reps_each)]
            group = sb.group(f"Team {g}", creator=leader, members=reps)
            sb.text(leader, group, "/setup")
            for rep in reps:
                sb.text(rep, group, "/join")
                self.reps.append((rep, sb.private(rep)))
            self.groups.append(group)
        joined = before + groups * (reps_each + 1)
        _until(lambda: self.members() == joined, 60, "every rep joined")

    def members(self) -> int:
        with self.database.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(Membership)) or 0)

    def checkin(self, rep: int, amount: int) -> None:
        user, chat = self.reps[rep]
        self.sandbox.text(user, chat, f"/call {amount}")
        self.calls += 1

    def undo(self, rep: int) -> None:
        user, chat = self.reps[rep]
        self.sandbox.text(user, chat, "/undo")
        self.undone += 1

    def summaries(self) -> list[int]:
        return [
            sum((m.text or "").startswith("📊") for m in self.sandbox.sent(g))  # type: ignore[arg-type]
            for g in self.groups
        ]


def _pending(database: Database) -> int:
    with database.transaction() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.status == "pending")
            )
            or 0
        )


def _settled(database: Database, fleet: Fleet, timeout: float) -> None:
    """Wait until Telegram has delivered everything and no update waits in the inbox."""
    _until(lambda: fleet.telegram.held == 0, timeout, "every update delivered")
    _until(lambda: _pending(database) == 0, timeout, "the inbox drained:\n" + fleet.output())


def _check_ins(database: Database, company: Company) -> None:
    """Every check-in stored exactly once; the undone ones (and only they) voided."""
    with database.transaction() as s:
        rows = s.execute(
            select(Checkin.chat_id, Checkin.message_id, Checkin.status, func.sum(Activity.value))
            .join(Activity, Activity.checkin_id == Checkin.id)
            .group_by(Checkin.id)
        ).all()
    assert len(rows) == company.calls, (len(rows), company.calls)
    assert len({(chat, message) for chat, message, _, _ in rows}) == company.calls
    undone = [(status, value) for _, _, status, value in rows if value == UNDONE]
    assert len(undone) == company.undone
    assert all(status == CHECKIN_VOIDED for status, _ in undone), undone
    kept = [status for _, _, status, value in rows if value != UNDONE]
    assert all(status == CHECKIN_ACTIVE for status in kept)


def test_two_instances_one_killed_in_the_middle_of_2000_check_ins(
    fleet: Fleet, sandbox: Sandbox, db_url: str
) -> None:
    began = time.monotonic()
    database = Database(db_url)
    company = Company(sandbox, database)
    fleet.start()
    company.teams(groups=10, reps_each=5)
    setup = len(fleet.telegram.delivered)
    rng = random.Random(12)
    checked_in = time.monotonic()
    for n in range(2000):
        rep = n % len(company.reps)
        if rng.random() < 0.05:
            # Consecutive in a chat: the load balancer sends them to different instances.
            company.checkin(rep, UNDONE)
            company.undo(rep)
        else:
            company.checkin(rep, rng.randint(1, 9))
    _until(lambda: len(fleet.telegram.delivered) >= setup + 1000, 300, "half delivered")
    fleet.kill(0)
    # The survivor takes over the dead instance's lanes; the other comes back later.
    time.sleep(3)
    fleet.bots[0].start()
    _settled(database, fleet, 300)
    elapsed = time.monotonic() - checked_in
    print(f"2000 check-ins through two instances (one killed): {elapsed:.1f} s")

    _check_ins(database, company)
    routed = fleet.telegram.routed[setup:]
    assert routed.count(0) > 300 and routed.count(1) > 300
    assert sandbox.flood_answers == 0
    _until(lambda: company.summaries() == [1] * 10, 30, f"summaries {company.summaries()}")
    # Each sees the other alive, and takes its share of the overall limit.
    scraped = httpx.get(f"http://127.0.0.1:{fleet.ports[1]}/metrics").text
    assert "kpibot_instances_live 2.0" in scraped
    database.dispose()
    print(f"scenario: {time.monotonic() - began:.1f} s")


def test_twenty_random_kills_and_restarts_lose_and_double_nothing(
    fleet: Fleet, sandbox: Sandbox, db_url: str
) -> None:
    seed = int(os.environ.get("KPIBOT_SCALE_SEED") or random.SystemRandom().randrange(10**6))
    print(f"KPIBOT_SCALE_SEED={seed}")
    rng = random.Random(seed)
    began = time.monotonic()
    database = Database(db_url)
    company = Company(sandbox, database)
    fleet.start()
    company.teams(groups=4, reps_each=5)
    stop = threading.Event()
    traffic_rng = random.Random(seed + 1)

    def traffic() -> None:
        # Check-ins all along, a few undone at once; new teams now and then, whose daily
        # summary is due at once: whichever instance starts or sweeps next sends it.
        n = 0
        while not stop.is_set():
            rep = n % len(company.reps)
            if traffic_rng.random() < 0.05:
                company.checkin(rep, UNDONE)
                company.undo(rep)
            else:
                company.checkin(rep, traffic_rng.randint(1, 9))
            n += 1
            stop.wait(0.1)

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        for cycle in range(20):
            victim = rng.randrange(2)
            time.sleep(rng.uniform(0.2, 1.2))
            fleet.kill(victim)
            time.sleep(rng.uniform(0.0, 0.4))
            fleet.bots[victim].start()
            if cycle in (5, 12):
                company.teams(groups=1, reps_each=0, start=100 + cycle)
    finally:
        stop.set()
        sender.join()
    for i in range(2):
        _until(lambda i=i: fleet.up(i), 60, f"instance {i} up")
    _settled(database, fleet, 300)

    _check_ins(database, company)
    assert sandbox.flood_answers == 0

    def runs() -> dict[int, str]:
        with database.transaction() as s:
            rows = s.execute(
                select(ScheduledRun.chat_id, ScheduledRun.status).where(
                    ScheduledRun.kind == "daily_summary"
                )
            ).all()
        return {chat: status for chat, status in rows}

    def posted() -> bool:
        # Each team's summary sent, or uncertain: its sender was killed while sending it.
        done = runs()
        return all(
            count == 1 or done.get(group.id) == "uncertain"  # type: ignore[attr-defined]
            for group, count in zip(company.groups, company.summaries(), strict=True)
        )

    _until(posted, 60, f"summaries {company.summaries()} {runs()}")
    # 0 duplicate posts.
    assert max(company.summaries()) == 1, company.summaries()
    print(
        f"seed {seed}: {fleet.kills} kills, {company.calls} check-ins, "
        f"{time.monotonic() - began:.1f} s"
    )
    database.dispose()


def test_polling_one_instance_calls_get_updates_and_another_takes_over_when_it_dies(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    """Telegram answers 409 to a second getUpdates: one instance holds the poller lease, the
    other works the lanes; when the poller dies the other takes the lease within seconds."""
    bots = []
    for i in range(2):
        workdir = tmp_path / f"poller-{i}"
        workdir.mkdir()
        config = CONFIG.replace("[telegram]\n", "[telegram]\npoll_timeout = 1\n")
        bots.append(BotProcess(served, db_url, workdir, config, env={"KPIBOT_INSTANCE": f"p{i}"}))
    database = Database(db_url)

    def poller() -> str | None:
        with database.transaction() as s:
            return s.scalar(
                select(Lease.holder).where(Lease.name == "poller", Lease.expires_at > func.now())
            )

    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    for bot in bots:
        bot.start()
    try:
        _until(lambda: poller() is not None, 60, "a poller")
        sandbox.text(hoa, dm, "/help")
        _until(lambda: len(sandbox.sent(dm)) == 1, 60, "answered")
        holder = poller()
        assert holder is not None
        first = int(holder.split("@")[0][1:])
        assert bots[first].stop(signal.SIGKILL) == -signal.SIGKILL
        sandbox.text(hoa, dm, "/help")
        _until(lambda: len(sandbox.sent(dm)) == 2, 60, "answered after the poller died")
        _until(lambda: poller() is not None, 30, "the poller lease taken over")
        taken = poller()
        assert taken is not None and taken.startswith(f"p{1 - first}@"), (taken, first)
        assert "poller lease taken" in bots[1 - first].output()
    finally:
        for bot in bots:
            if bot.proc is not None and bot.proc.poll() is None:
                assert bot.stop(signal.SIGTERM, timeout=10) == 0, bot.output()
        database.dispose()
