"""Scheduled posts fanned out to many chats stay inside Telegram's flood limits (QUALITY.md P4).

The sandbox enforces the limits over sliding windows, as Telegram does, on a fake clock that the
rate limiter shares: nothing sleeps, `ManualClock.run` moves the clock to the end of the next wait
whenever the bot has nothing else to do, and the times asserted are the clock's.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bench.p4_fanout import NOW, add_groups, add_teams, floor_seconds
from bot.app import build_application
from bot.config import Settings, TelegramConfig
from bot.ratelimit import SlidingWindowLimiter
from bot.sandbox import FloodLimits, ManualClock, Sandbox, SandboxRequest
from bot.scheduler import Scheduler
from handlers.context import SEND_DEFERRABLE, SEND_URGENT, deferrable_sends, send_priority
from kpi.db import Database
from tests.support.chat import Talk

GROUPS = 45  # more than one second's worth of messages: the second window must wait


async def test_a_fan_out_to_45_groups_gets_no_flood_answer_and_posts_once_per_group(
    db_url: str, db: Database
) -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, enforce_limits=True)
    groups = add_groups(sandbox, GROUPS)
    with db.transaction() as session:
        add_teams(session, groups)
    app = build_application(
        Settings(database_url=db_url),
        request=SandboxRequest(sandbox),
        db=db,
        rate_limit=True,
        token=sandbox.token,
        clock=lambda: NOW,
        send_clock=clock,
    )
    async with app:
        started = clock.monotonic()
        report = await clock.run(Scheduler(app).run_due(NOW))
        elapsed = clock.monotonic() - started
    app.bot_data.render_pool.shutdown(wait=True)

    assert sandbox.flood_answers == 0
    per_chat = Counter(m.chat_id for m in sandbox.sent())
    assert per_chat == {g.id: 1 for g in groups}
    assert all((m.text or "").startswith("📊") for m in sandbox.sent())
    assert (report.due, report.sent) == (GROUPS, GROUPS)
    # 45 messages at 30 in any second: the last 15 had to wait for the first window to pass.
    assert elapsed >= 1.0
    assert floor_seconds(per_chat, sandbox.limits) == 1.0


async def _bot(sandbox: Sandbox, limiter: SlidingWindowLimiter) -> ExtBot[int]:
    bot: ExtBot[int] = ExtBot(
        sandbox.token,
        request=SandboxRequest(sandbox),
        get_updates_request=SandboxRequest(sandbox),
        rate_limiter=limiter,
    )
    await bot.initialize()
    return bot


async def test_a_burst_to_one_group_is_held_to_the_group_window() -> None:
    limits = FloodLimits(overall=30, group=3, group_window=0.4)
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, limits=limits, enforce_limits=True)
    leader = sandbox.user("Lan")
    group = sandbox.group("Sales", creator=leader)
    other = sandbox.group("Support", creator=leader)
    limiter = SlidingWindowLimiter(group=3, group_period=0.4, max_retries=0, clock=clock)
    bot = await _bot(sandbox, limiter)
    try:
        started = clock.monotonic()
        burst = asyncio.gather(*(bot.send_message(group.id, f"{i}") for i in range(7)))
        await clock.run(clock.sleep(0.1))  # the group's first window is used up; the rest wait
        other_started = clock.monotonic()
        await clock.run(bot.send_message(other.id, "hi"))
        other_elapsed = clock.monotonic() - other_started
        assert not burst.done()
        await clock.run(burst)
        elapsed = clock.monotonic() - started
    finally:
        await bot.shutdown()
    assert sandbox.flood_answers == 0
    assert sorted(int(m.text or "") for m in sandbox.sent(group)) == list(range(7))
    assert elapsed >= 0.8  # 7 messages, 3 per window: two full windows waited
    # A full group does not hold up the others.
    assert other_elapsed < 0.3
    assert [m.text for m in sandbox.sent(other)] == ["hi"]


async def test_posts_and_confirmations_go_ahead_of_report_answers_waiting_for_a_group() -> None:
    limits = FloodLimits(overall=30, group=3, group_window=0.4)
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, limits=limits, enforce_limits=True)
    leader = sandbox.user("Lan")
    group = sandbox.group("Sales", creator=leader)
    limiter = SlidingWindowLimiter(group=3, group_period=0.4, max_retries=0, clock=clock)
    bot = await _bot(sandbox, limiter)

    async def report_answer(i: int) -> None:
        with deferrable_sends():
            await bot.send_message(group.id, f"leaderboard {i}")

    try:
        answers = asyncio.gather(*(report_answer(i) for i in range(6)))
        # Three answers went out; three wait for the group's window.
        await clock.run(clock.sleep(0.1))
        started = clock.monotonic()
        summary = asyncio.create_task(bot.send_message(group.id, "daily summary"))
        await clock.run(clock.sleep(0.01))
        await clock.run(bot.send_message(group.id, "✅ stored"))
        await clock.run(summary)
        urgent_waited = clock.monotonic() - started
        await clock.run(answers)
    finally:
        await bot.shutdown()
    assert sandbox.flood_answers == 0
    texts = [m.text for m in sandbox.sent(group)]
    # The summary and the confirmation take the first places the window frees; the answers
    # that were waiting before them follow.
    assert texts[:3] == ["leaderboard 0", "leaderboard 1", "leaderboard 2"]
    assert texts[3:5] == ["daily summary", "✅ stored"]
    assert sorted(texts[5:]) == ["leaderboard 3", "leaderboard 4", "leaderboard 5"]
    assert urgent_waited < 0.6  # one window, not two


async def test_report_answers_are_the_sends_that_wait_behind_the_others(
    db_url: str, db: Database, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox()
    settings = Settings(database_url=db_url, telegram=TelegramConfig(private_min_interval=0))
    app = build_application(
        settings,
        request=SandboxRequest(sandbox),
        db=db,
        rate_limit=True,
        token=sandbox.token,
        clock=clock,
    )
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, SlidingWindowLimiter)
    queued: list[tuple[str, int]] = []  # (method, priority) of each send to the group
    process = limiter.process_request

    async def recording(**kwargs: Any) -> Any:
        endpoint, data = kwargs["endpoint"], kwargs["data"]
        if data.get("chat_id") == group.id and endpoint.startswith("send"):
            queued.append((endpoint, send_priority.get()))
        return await process(**kwargs)

    monkeypatch.setattr(limiter, "process_request", recording)
    lan, minh = sandbox.user("Lan"), sandbox.user("Minh", language_code="en")
    group = sandbox.group("Sales", creator=lan, members=[minh])
    async with app:
        talk = Talk(app, sandbox)
        await talk.say(lan, group, "/setup")
        await talk.say(minh, group, "/join")
        queued.clear()
        confirmation = await talk.say(minh, group, "/call 3")
        board = await talk.say(minh, group, "/leaderboard")
        clock.set_local("2026-11-19 18:00")
        await Scheduler(app).run_due(clock())
    app.bot_data.render_pool.shutdown(wait=True)
    assert [m.kind for m in confirmation + board] == ["text", "text", "photo"]
    assert str(sandbox.sent(group)[-1].text).startswith("📊")  # the daily summary
    assert queued == [
        ("sendMessage", SEND_URGENT),  # Minh's confirmation
        ("sendMessage", SEND_DEFERRABLE),  # the leaderboard
        ("sendPhoto", SEND_DEFERRABLE),  # its chart
        ("sendMessage", SEND_URGENT),  # the daily summary
    ]


async def test_two_commands_in_a_row_in_a_private_chat_are_both_answered_at_once(
    db_url: str, db: Database
) -> None:
    """A rep who sends two commands in a row gets both answers without waiting for the chat's
    pace: Telegram tolerates a short burst (the sandbox too), and no 429 comes back."""
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, enforce_limits=True)
    lan = sandbox.user("Lan")
    app = build_application(
        Settings(database_url=db_url),
        request=SandboxRequest(sandbox),
        db=db,
        rate_limit=True,
        token=sandbox.token,
        send_clock=clock,
    )
    async with app:
        talk = Talk(app, sandbox)
        chat = sandbox.private(lan)
        started = clock.monotonic()
        first = await clock.run(talk.say(lan, chat, "/start"))
        second = await clock.run(talk.say(lan, chat, "/help"))
        elapsed = clock.monotonic() - started
    app.bot_data.render_pool.shutdown(wait=True)

    assert sandbox.flood_answers == 0
    assert first and second
    assert elapsed < 0.1  # paced one a second from the first message on, it took a second


async def test_private_chats_let_a_burst_through_and_pace_what_is_sustained() -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, enforce_limits=True)
    user = sandbox.user("Minh")
    chat = sandbox.private(user)
    limiter = SlidingWindowLimiter(max_retries=0, clock=clock)
    bot = await _bot(sandbox, limiter)
    sent_at: list[float] = []

    async def send(i: int) -> None:
        await bot.send_message(chat.id, f"{i}")
        sent_at.append(clock.monotonic())

    try:
        started = clock.monotonic()
        await clock.run(asyncio.gather(*(send(i) for i in range(3))))
        burst = clock.monotonic() - started
        await clock.run(asyncio.gather(*(send(i) for i in range(3, 12))))
        elapsed = clock.monotonic() - started
    finally:
        await bot.shutdown()
    assert sandbox.flood_answers == 0
    assert len(sandbox.sent(chat)) == 12
    assert burst < 0.1  # three at once
    assert elapsed >= 9.0  # then one a second on average: 12 messages, 4 windows of 3 s
    # Never more than 3 in any 3 s, as Telegram's sliding window counts.
    assert all(b - a >= 3.0 for a, b in zip(sent_at, sent_at[3:], strict=False))


async def test_a_flood_answer_is_retried_after_its_wait_and_holds_other_sends() -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock)
    leader = sandbox.user("Lan")
    group = sandbox.group("Sales", creator=leader)
    other = sandbox.group("Support", creator=leader)
    sandbox.fail("sendMessage", code=429, retry_after=1, chat_id=group.id)
    bot = await _bot(sandbox, SlidingWindowLimiter(max_retries=1, clock=clock))
    try:
        started = clock.monotonic()
        first = asyncio.create_task(bot.send_message(group.id, "summary"))
        await clock.run(clock.sleep(0.05))  # the 429 has come back: every send now waits
        await clock.run(bot.send_message(other.id, "later"))
        other_elapsed = clock.monotonic() - started
        await clock.run(first)
        elapsed = clock.monotonic() - started
    finally:
        await bot.shutdown()
    assert [m.text for m in sandbox.sent(group)] == ["summary"]
    assert other_elapsed >= 1.0 and elapsed >= 1.0
    # Without retries the 429 reaches the caller.
    sandbox.fail("sendMessage", code=429, retry_after=1, chat_id=group.id)
    bot = await _bot(sandbox, SlidingWindowLimiter(max_retries=0, clock=clock))
    try:
        with pytest.raises(RetryAfter):
            await clock.run(bot.send_message(group.id, "summary"))
    finally:
        await bot.shutdown()


async def test_limits_of_zero_lift_the_pacing() -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock)
    leader = sandbox.user("Lan")
    group = sandbox.group("Sales", creator=leader)
    chat = sandbox.private(leader)
    limiter = SlidingWindowLimiter(overall=0, group=0, private_interval=0, clock=clock)
    bot = await _bot(sandbox, limiter)
    try:
        started = clock.monotonic()
        await clock.run(asyncio.gather(*(bot.send_message(group.id, f"{i}") for i in range(25))))
        await clock.run(asyncio.gather(*(bot.send_message(chat.id, f"{i}") for i in range(3))))
        elapsed = clock.monotonic() - started
    finally:
        await bot.shutdown()
    assert (len(sandbox.sent(group)), len(sandbox.sent(chat))) == (25, 3)
    assert elapsed < 0.5  # paced, the 21st group message alone would wait a minute


def test_the_floor_follows_the_sliding_windows() -> None:
    limits = FloodLimits()
    assert floor_seconds({}, limits) == 0.0
    assert floor_seconds({-1: 1}, limits) == 0.0
    groups = {-i: 1 for i in range(1, 501)}
    assert floor_seconds(groups, limits) == 16.0  # message 499 goes 499 // 30 = 16 s in
    assert floor_seconds({-i: 1 for i in range(1, 31)}, limits) == 0.0
    assert floor_seconds({-i: 1 for i in range(1, 32)}, limits) == 1.0
    assert floor_seconds({-1: 21}, limits) == 60.0  # a group's 21st message waits a minute
    assert floor_seconds({7: 3}, limits) == 0.0  # a short burst in a private chat
    assert floor_seconds({7: 4}, limits) == 3.0  # then one a second, 3 within any 3 s
