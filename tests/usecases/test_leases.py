"""Several instances on one PostgreSQL database: leases on lanes and the poller, the shared send
budget. Two "instances" here are two holders (or two rate limiters) on the same database."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import func, update
from telegram.ext import ExtBot

from bot.ratelimit import SharedBudget, SlidingWindowLimiter
from bot.sandbox import Sandbox, SandboxRequest
from bot.sandbox.types import FloodLimits
from kpi import inbox, leases, send_budget
from kpi.db import Database
from kpi.models import Lease
from tests.support.database import on_postgres

pytestmark = pytest.mark.skipif(
    not on_postgres(),
    reason="leases and the shared send budget serve several instances on one PostgreSQL "
    "database (SQLite runs one instance); CI runs this file with TEST_DATABASE_URL set",
)

LEASE = dt.timedelta(seconds=5)


def _expire(db: Database, name: str) -> None:
    """The holder died: nobody renewed the lease, and its time is up."""
    with db.transaction() as s:
        s.execute(
            update(Lease)
            .where(Lease.name == name)
            .values(expires_at=func.now() - dt.timedelta(seconds=1))
        )


def test_a_lease_has_one_holder_until_it_expires_then_another_takes_it(db: Database) -> None:
    with db.transaction() as s:
        assert leases.take(s, ["poller"], holder="a", ttl=LEASE) == ["poller"]
    with db.transaction() as s:
        assert leases.take(s, ["poller"], holder="b", ttl=LEASE) == []
        assert leases.renew(s, holder="a", ttl=LEASE) == {"poller"}
    _expire(db, "poller")  # "a" died: nobody renewed it
    with db.transaction() as s:
        assert leases.take(s, ["poller"], holder="b", ttl=LEASE) == ["poller"]
        # "a" learns at its next heartbeat that it lost it.
        assert leases.renew(s, holder="a", ttl=LEASE) == set()
        assert leases.holders(s) == {"poller": "b"}
        # A holder renews only what it still works: a lane whose worker ended expires.
        assert leases.take(s, ["lane:7"], holder="b", ttl=LEASE) == ["lane:7"]
        assert leases.renew(s, holder="b", ttl=LEASE, names={"poller"}) == {"poller"}


def _store(db: Database, chat: int, update_id: int) -> None:
    payload = {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": {"id": chat}, "text": "x"},
    }
    with db.transaction() as s:
        inbox.store(s, [(f"u{update_id}", update_id, payload)])


def test_lanes_with_work_are_leased_oldest_first_each_to_one_instance(db: Database) -> None:
    for update_id, chat in enumerate([-1, -2, -1, -3, -1], start=1):
        _store(db, chat, update_id)
    with db.transaction() as s:
        assert leases.take_lanes(s, holder="a", ttl=LEASE, limit=2) == ["-1", "-2"]
    with db.transaction() as s:
        # Only the lane nobody holds is left for the second instance.
        assert leases.take_lanes(s, holder="b", ttl=LEASE, limit=5) == ["-3"]
        assert leases.next_in_lane_or_release(s, "-1", holder="b") is None
    with db.transaction() as s:
        rows = leases.next_in_lane_or_release(s, "-1", holder="a")
    assert rows is not None and [k for k, _ in rows] == ["u1", "u3", "u5"]  # stored order
    with db.transaction() as s:
        # The last one handled is marked with the next read: nothing left, the lane is freed.
        assert leases.next_in_lane_or_release(s, "-1", holder="a", done=["u1", "u3", "u5"]) == []
        assert "lane:-1" not in leases.holders(s)
    _store(db, -1, 6)
    with db.transaction() as s:
        assert leases.take_lanes(s, holder="b", ttl=LEASE, limit=5) == ["-1"]
    # An instance that died: its lane is taken over once the lease expires.
    _expire(db, "lane:-2")
    with db.transaction() as s:
        assert leases.take_lanes(s, holder="b", ttl=LEASE, limit=5) == ["-2"]


def _bot(sandbox: Sandbox, limiter: SlidingWindowLimiter) -> ExtBot[Any]:
    return ExtBot(
        sandbox.token,
        request=SandboxRequest(sandbox),
        get_updates_request=SandboxRequest(sandbox),
        rate_limiter=limiter,
    )


async def test_two_instances_keep_a_chats_window_together_and_a_429_pauses_both(
    db: Database,
) -> None:
    """Each instance alone keeps a private chat to 3 messages within any 0.9 s (one every
    0.3 s sustained); together they would send six at once. With the budget shared through the
    database, Telegram sees no 429; and a 429 one instance receives holds the other's sends to
    another chat too."""
    sandbox = Sandbox(limits=FloodLimits(private=3, private_window=0.9), enforce_limits=True)
    user = sandbox.user("Hoa")
    chat = sandbox.private(user)
    other = sandbox.private(sandbox.user("Lan"))
    limiters = [
        SlidingWindowLimiter(private_interval=0.3, max_retries=2, shared=SharedBudget(db))
        for _ in range(2)
    ]
    bots = [_bot(sandbox, limiter) for limiter in limiters]
    async with bots[0], bots[1]:
        began = time.monotonic()
        await asyncio.gather(
            *(bot.send_message(chat.id, f"{i}") for bot in bots for i in range(3))
        )
        assert time.monotonic() - began >= 0.9  # three at once, three more 0.9 s later
        assert sandbox.flood_answers == 0
        assert len(sandbox.sent(chat)) == 6

        # A short burst in a chat of its own goes out at once, through the shared window too
        # (paced one every 0.3 s from the first message on, three took 0.6 s).
        burst = sandbox.private(sandbox.user("Minh"))
        began = time.monotonic()
        await asyncio.gather(*(bots[i % 2].send_message(burst.id, f"{i}") for i in range(3)))
        assert time.monotonic() - began < 0.5
        assert len(sandbox.sent(burst)) == 3

        sandbox.fail("sendMessage", code=429, retry_after=2, chat_id=chat.id)
        first = asyncio.ensure_future(bots[0].send_message(chat.id, "after a 429"))
        async with asyncio.timeout(5):
            while not await db.run(send_budget.paused_for):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        paused = time.monotonic()
        await bots[1].send_message(other.id, "held by the other instance's 429")
        assert time.monotonic() - paused >= 1.5
        await first
    assert [m.text for m in sandbox.sent(other)] == ["held by the other instance's 429"]
