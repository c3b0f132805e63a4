"""The inbox poller: stored before confirmed, chats handled independently and in order."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from telegram import Update

from bot.polling import InboxPoller
from handlers.context import update_key
from kpi import inbox
from kpi.models import InboxUpdate


async def test_a_held_up_chat_does_not_hold_up_the_others(app: Any, sandbox: Any, db: Any) -> None:
    a, b = sandbox.user("A"), sandbox.user("B")
    chat_a, chat_b = sandbox.private(a), sandbox.private(b)
    first_a = Update.de_json(sandbox.text(a, chat_a, "/help"), app.bot)
    second_a = Update.de_json(sandbox.text(a, chat_a, "/start"), app.bot)
    only_b = Update.de_json(sandbox.text(b, chat_b, "/help"), app.bot)
    release = asyncio.Event()
    order: list[tuple[int, int]] = []
    real = app.process_update

    async def process(update: Update) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        if update.effective_chat.id == chat_a.id and not release.is_set():
            await release.wait()  # e.g. a group held back by its rate limit
        order.append((update.effective_chat.id, update.effective_message.message_id))
        await real(update)

    app.process_update = process
    poller = InboxPoller(app, db)
    # The batch is stored and the call returns at once: nothing waits for chat A.
    assert await poller.process([first_a, second_a, only_b]) == 3
    async with asyncio.timeout(5):
        # Polling a counter the poller keeps: there is no event to wait on from outside.
        while poller.handled < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert (chat_b.id, only_b.effective_message.message_id) in order
    assert [o for o in order if o[0] == chat_a.id] == []
    with db.transaction() as s:
        statuses = dict(s.execute(select(InboxUpdate.update_id, InboxUpdate.status)).all())
    assert statuses == {
        first_a.update_id: "pending",
        second_a.update_id: "pending",
        only_b.update_id: "done",
    }
    release.set()
    assert await poller.finish(seconds=5) == 0
    # Chat A's updates were handled in the order they were sent.
    assert [m for c, m in order if c == chat_a.id] == [
        first_a.effective_message.message_id,
        second_a.effective_message.message_id,
    ]
    with db.transaction() as s:
        assert set(s.scalars(select(InboxUpdate.status))) == {"done"}


async def test_updates_left_unhandled_are_handled_on_the_next_start(
    app: Any, sandbox: Any, db: Any
) -> None:
    u = sandbox.user("U", language_code="en")
    update = Update.de_json(sandbox.text(u, sandbox.private(u), "/help"), app.bot)
    stuck = asyncio.Event()

    async def never(update: Update) -> None:
        await stuck.wait()

    real = app.process_update
    app.process_update = never
    first = InboxPoller(app, db)
    await first.process([update])
    assert await first.finish(seconds=0.1) == 1  # stopped with the update in hand
    app.process_update = real
    before = len(sandbox.sent())
    second = InboxPoller(app, db)
    assert await second.drain() == 1
    async with asyncio.timeout(5):
        await second.backlog_handled()
    assert "Commands" in (sandbox.sent()[before].text or "")


async def test_stored_updates_wait_in_their_chats_lanes_not_in_front_of_new_ones(
    app: Any, sandbox: Any, db: Any
) -> None:
    """After a restart the stored backlog is queued, not waited for: a new update in another
    chat is handled while a busy chat's stored updates are still held back."""
    a, b = sandbox.user("A", language_code="en"), sandbox.user("B", language_code="en")
    busy, other = sandbox.group("Busy", creator=a), sandbox.private(b)
    stored = [sandbox.text(a, busy, "/help") for _ in range(3)]
    # An earlier run stored them, then stopped before handling them.
    with db.transaction() as s:
        inbox.store(s, [(update_key(Update.de_json(u, None)), u["update_id"], u) for u in stored])
    release = asyncio.Event()
    real = app.process_update

    async def process(update: Update) -> None:
        assert update.effective_chat is not None
        if update.effective_chat.id == busy.id:
            await release.wait()  # e.g. a group held back by its rate limit
        await real(update)

    app.process_update = process
    poller = InboxPoller(app, db)
    async with asyncio.timeout(5):
        assert await poller.drain() == 3  # returns at once: nothing is handled yet
    backlog = asyncio.ensure_future(poller.backlog_handled())
    await poller.process([Update.de_json(sandbox.text(b, other, "/help"), app.bot)])
    async with asyncio.timeout(5):
        await sandbox.wait_for(lambda: bool(sandbox.sent(other)))
    assert sandbox.sent(busy) == [] and not backlog.done()
    release.set()
    async with asyncio.timeout(5):
        await backlog
    assert len(sandbox.sent(busy)) == 3
    assert await poller.finish(seconds=5) == 0


async def test_a_stop_is_not_held_up_by_workers_that_fall_behind(
    app: Any, sandbox: Any, db: Any
) -> None:
    """Polling waits for the workers when it is too far ahead of them, but not once stopping."""
    a = sandbox.user("A", language_code="en")
    chat = sandbox.private(a)
    for _ in range(3):
        sandbox.text(a, chat, "/help")
    stuck = asyncio.Event()

    async def never(update: Update) -> None:
        await stuck.wait()

    app.process_update = never
    poller = InboxPoller(app, db, timeout=1)
    poller.ahead = 1
    stop = asyncio.Event()
    polling = asyncio.ensure_future(poller.run(stop))
    async with asyncio.timeout(5):
        # Polling a counter the poller keeps: there is no event to wait on from outside.
        while poller.queued < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    stop.set()
    async with asyncio.timeout(5):
        await polling
    assert await poller.finish(seconds=0) == 3
    with db.transaction() as s:
        assert list(s.scalars(select(InboxUpdate.status))) == ["pending"] * 3
