"""Restarts and stops (QUALITY.md R2, R10): `kpibot run` as a process against the HTTP sandbox.

A backlog in the inbox delays nobody but its own chat, SIGTERM ends the process within a
container's 10 s grace in every state (leaving unfinished work for the next start), and start-up
rides out an unreachable or failing Telegram or database.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from telegram import Update
from telegram.ext import ExtBot

from bot.app import build_application
from bot.config import Settings, TelegramConfig
from bot.ratelimit import NotSent, SlidingWindowLimiter
from bot.sandbox import Sandbox, SandboxRequest, SandboxServer, deliver
from bot.scheduler import Scheduler
from handlers.context import update_key
from handlers.posts import classify
from kpi import inbox
from kpi.db import Database
from kpi.models import InboxUpdate, ScheduledRun, SendWindow
from tests.support.chat import Clock
from tests.support.processes import BotProcess

# A container's default grace after SIGTERM, before SIGKILL.
GRACE = 10.0


def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _left_by_a_previous_run(sandbox: Sandbox, database: Database) -> int:
    """Store what Telegram queued as an earlier run would have: in the inbox, not handled."""
    updates = sandbox.take()
    with database.transaction() as s:
        inbox.store(
            s,
            items=[(update_key(Update.de_json(u, None)), u["update_id"], u) for u in updates],
        )
    return len(updates)


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


def _runs(database: Database) -> list[tuple[str, bool | None]]:
    """Return the scheduled posts' claims: (status, whether a send was attempted)."""
    with database.transaction() as s:
        rows = s.execute(select(ScheduledRun.status, ScheduledRun.attempted)).all()
        return [(status, attempted) for status, attempted in rows]


def _the_minute_passes(database: Database) -> None:
    """Forget the sends Telegram still counts, as if the group's minute were over: on
    PostgreSQL the windows are kept in the database (shared by the instances) and outlive a
    restart; waiting for the minute would only make the test slower."""
    with database.transaction() as s:
        s.execute(delete(SendWindow))


def _stop_within_grace(bot: BotProcess) -> int:
    began = time.monotonic()
    code = bot.stop(signal.SIGTERM, timeout=GRACE)
    assert time.monotonic() - began <= GRACE
    return code


def test_after_a_restart_new_updates_are_served_while_a_busy_groups_backlog_waits(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    """30 group commands were stored but not handled; the group is paced at 20 messages a
    minute. A private message sent after the restart is answered at once, SIGTERM in the middle
    of the backlog stops the bot within 10 s, and the next start handles the rest."""
    lan = sandbox.user("Lan", language_code="en")
    group = sandbox.group("Busy", creator=lan)
    for _ in range(30):
        sandbox.text(lan, group, "/help")
    database = Database(db_url)
    assert _left_by_a_previous_run(sandbox, database) == 30
    bot = BotProcess(served, db_url, tmp_path)
    bot.start()
    try:
        # 20 answers use up the group's minute; the other 10 wait for it.
        assert sandbox.wait_until(lambda: len(sandbox.sent(group)) >= 20, 30)
        hoa = sandbox.user("Hoa", language_code="en")
        dm = sandbox.private(hoa)
        asked = time.monotonic()
        sandbox.text(hoa, dm, "/help")
        assert sandbox.wait_until(lambda: bool(sandbox.sent(dm)), 30), bot.output()
        answered_in = time.monotonic() - asked
        assert len(sandbox.sent(group)) < 30
    finally:
        code = _stop_within_grace(bot)
    assert code == 0, bot.output()
    assert "stopped cleanly" in bot.output()
    assert answered_in < 10
    # What was not handled stays in the inbox, and the next start handles it.
    assert _pending(database) >= 30 - len(sandbox.sent(group)) > 0
    _the_minute_passes(database)
    restarted = BotProcess(served, db_url, tmp_path)
    restarted.start()
    try:
        _until(lambda: _pending(database) == 0)
    finally:
        assert _stop_within_grace(restarted) == 0
    assert len(sandbox.sent(group)) >= 30
    database.dispose()


# One group message a minute, and a daily summary due all day on every day of the week.
POST_DUE = """
[telegram]
group_max_rate = 1

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


def test_sigterm_while_a_post_waits_for_the_groups_budget_stops_at_once_and_the_post_follows(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    """The /setup answer uses up the group's budget, then the day's summary waits for it: SIGTERM
    stops the bot within 10 s, the post is left to send, and the next start sends it once."""
    lan = sandbox.user("Lan", language_code="en")
    group = sandbox.group("Sales", creator=lan)
    sandbox.text(lan, group, "/setup")
    database = Database(db_url)
    _left_by_a_previous_run(sandbox, database)

    def runs() -> list[tuple[str, bool | None]]:
        return _runs(database)

    def summaries() -> int:
        return sum((m.text or "").startswith("📊") for m in sandbox.sent(group))

    bot = BotProcess(served, db_url, tmp_path, POST_DUE)
    bot.start()
    try:
        assert sandbox.wait_until(lambda: len(sandbox.sent(group)) == 1, 30), bot.output()
        # The summary is claimed and its send has started: it waits for the group's minute.
        _until(lambda: runs() == [("claimed", True)])
    finally:
        code = _stop_within_grace(bot)
    assert code == 0, bot.output()
    assert summaries() == 0
    # Never sent, so to be sent again (not "uncertain", which would lose it).
    assert runs() == [("failed", None)]
    _the_minute_passes(database)
    restarted = BotProcess(served, db_url, tmp_path, POST_DUE)
    restarted.start()
    try:
        assert sandbox.wait_until(lambda: summaries() == 1, 30), restarted.output()
    finally:
        assert _stop_within_grace(restarted) == 0
    assert summaries() == 1
    assert runs() == [("sent", None)]
    database.dispose()


def test_start_up_rides_out_an_unreachable_telegram_and_its_errors(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    """Telegram refuses connections, then answers 502 to getMe, deleteWebhook and
    setMyCommands: each is retried with a log line, and the bot comes up and serves."""
    served.refuse()
    bot = BotProcess(served, db_url, tmp_path)
    bot.start()
    try:
        _until(lambda: "Telegram is unavailable (getMe" in bot.output())
        assert bot.proc is not None and bot.proc.poll() is None
        sandbox.fail("getMe", code=502)
        sandbox.fail("deleteWebhook", code=502)
        sandbox.fail("setMyCommands", code=502, times=2)
        served.start()
        hoa = sandbox.user("Hoa", language_code="en")
        dm = sandbox.private(hoa)
        sandbox.text(hoa, dm, "/help")
        assert sandbox.wait_until(lambda: bool(sandbox.sent(dm)), 60), bot.output()
    finally:
        code = _stop_within_grace(bot)
    out = bot.output()
    assert code == 0, out
    assert "Traceback" not in out
    assert "Telegram is unavailable (getMe: Bad Gateway); retrying in" in out
    assert "Telegram is unavailable (deleteWebhook: Bad Gateway); retrying in" in out
    assert out.count("Telegram is unavailable (setMyCommands: Bad Gateway)") == 2
    assert sandbox.commands({"type": "all_private_chats"}, language_code="en")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_start_up_waits_for_an_unreachable_database_and_stops_on_sigterm(
    served: SandboxServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A PostgreSQL server that refuses connections: retried with a clear log line, not a
    crash loop; SIGTERM meanwhile ends the bot at once."""
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/kpibot"
    bot = BotProcess(served, url, tmp_path)
    bot.start()
    try:
        _until(lambda: bot.output().count("the database is not reachable") >= 2)
        assert bot.proc is not None and bot.proc.poll() is None
    finally:
        code = _stop_within_grace(bot)
    out = bot.output()
    assert code == 0, out
    assert "Traceback" not in out
    assert "Connection refused" in out or "connection refused" in out.lower()
    assert not sandbox.calls


def test_a_token_telegram_rejects_is_one_line_and_a_failed_exit(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    wrong = "7000000001:WRONG-TOKEN"
    bot = BotProcess(served, db_url, tmp_path, token=wrong)
    bot.start()
    code = bot.wait(timeout=60)
    lines = bot.output().strip().splitlines()
    assert code != 0
    assert len(lines) == 1, lines
    assert "Telegram rejected the bot token" in lines[0]
    assert "WRONG-TOKEN" not in lines[0]
    # Final: asked once, not retried.
    assert len(sandbox.calls_for("getMe")) == 1


async def test_a_stop_refuses_sends_still_waiting_for_a_groups_budget(sandbox: Sandbox) -> None:
    """What waits for room when the bot stops is refused at once, as never sent (so a post is
    sent again after the restart), instead of holding up the stop for the rest of the minute."""
    lan = sandbox.user("Lan")
    group = sandbox.group("Sales", creator=lan)
    limiter = SlidingWindowLimiter(group=1, group_period=60)
    bot: ExtBot[int] = ExtBot(
        sandbox.token,
        request=SandboxRequest(sandbox),
        get_updates_request=SandboxRequest(sandbox),
        rate_limiter=limiter,
    )
    async with bot:
        await bot.send_message(group.id, "first")  # the group's minute is used up
        waiting = asyncio.ensure_future(bot.send_message(group.id, "second"))
        for _ in range(10):
            await asyncio.sleep(0)  # let it reach the limiter's wait
        assert not waiting.done()
        limiter.stop()
        async with asyncio.timeout(1):
            with pytest.raises(NotSent) as refused:
                await waiting
        with pytest.raises(NotSent):
            await bot.send_message(group.id, "third")
    assert [m.text for m in sandbox.sent(group)] == ["first"]
    assert classify(refused.value) == "retry"


async def test_a_stop_is_not_held_up_by_a_scheduled_post_waiting_for_its_groups_budget(
    db_url: str, db: Database, sandbox: Sandbox, clock: Clock
) -> None:
    """The daily summary's job fires while the group's budget (one message a minute here) is
    used up: stopping the scheduler and the application takes moments, not the rest of the
    minute, and the post is settled as not sent, so that the next start sends it."""
    settings = Settings(database_url=db_url, telegram=TelegramConfig(group_max_rate=1))
    app = build_application(
        settings, request=SandboxRequest(sandbox), db=db, clock=clock, token=sandbox.token
    )
    lan = sandbox.user("Lan", language_code="en")
    group = sandbox.group("Sales", creator=lan)

    def runs() -> list[tuple[str, bool | None]]:
        return _runs(db)

    async with app:
        await deliver(app, sandbox.text(lan, group, "/setup"))  # the group's minute is used up
        await app.start()
        scheduler = Scheduler(app)
        clock.set_local("2026-11-19 18:05")  # the daily summary is due at 18:00
        await scheduler.sync()
        [job] = [j for j in app.job_queue.jobs() if (j.name or "").endswith(":daily_summary")]
        firing = asyncio.ensure_future(job.run(app))  # as the JobQueue runs it
        async with asyncio.timeout(5):
            # Polling the database: the claim is the only sign that the send has started.
            while runs() != [("claimed", True)]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        async with asyncio.timeout(5):
            assert isinstance(app.bot.rate_limiter, SlidingWindowLimiter)
            app.bot.rate_limiter.stop()
            await scheduler.stop(seconds=2)
            await app.stop()
        assert firing.done()
    app.bot_data.render_pool.shutdown(wait=True)
    assert len(sandbox.sent(group)) == 1
    assert runs() == [("failed", None)]


async def test_a_stop_cancels_a_scheduled_job_that_does_not_finish_in_time(
    app: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a post waits for (python-telegram-bot shields jobs from cancellation, and
    `Application.stop` waits for them), the scheduler's stop ends it after its grace."""
    scheduler = Scheduler(app)
    began = asyncio.Event()

    async def stuck(now: Any, **kwargs: Any) -> None:
        began.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(scheduler, "run_due", stuck)
    await app.start()
    job = app.job_queue.run_once(partial(scheduler._fire, 1), when=3600)
    firing = asyncio.ensure_future(job.run(app))  # as the JobQueue runs it
    async with asyncio.timeout(5):
        await began.wait()
        await scheduler.stop(seconds=0.1)
        await app.stop()
    assert firing.done() and firing.exception() is None
