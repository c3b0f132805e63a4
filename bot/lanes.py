"""Chat lanes shared by several instances on one PostgreSQL database.

The inbox is the queue. An instance works a chat's lane only while it holds the lane's lease
(`kpi.leases`): it takes the lanes that have pending updates and no live holder, handles each
lane's updates one at a time in the order they were stored, and releases the lane when it is
empty. New rows are learnt by short polling (every `POLL` seconds), and at once for the updates
this instance stored itself. A heartbeat renews every lease the instance holds; an instance that
dies stops renewing, and its lanes (and the poller lease, in polling mode) are free `TTL` later
for any other instance to take. A lane whose lease was lost (this instance stalled past `TTL`)
stops before its next update; the handlers' processed-update key makes a second handling of an
update that was in hand a no-op.

On SQLite (one instance) `bot.polling` keeps its in-memory lanes: nothing here is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session
from telegram import Update

from bot.logs import log_chat
from bot.metrics import Metrics
from kpi import inbox, leases, send_budget
from kpi.db import Database
from kpi.models import utcnow

log = logging.getLogger(__name__)

# A lease lives this long without a heartbeat: how soon a dead instance's lanes are taken over.
TTL = dt.timedelta(seconds=5)
HEARTBEAT = 1.0
# How often an instance looks for lanes with work and no holder.
POLL = 0.2
# Lanes one instance works at once (the others are left for the other instances).
MAX_LANES = 64
# Updates read from a lane at a time.
BATCH = 20


def _beat(session: Session, holder: str, names: set[str]) -> tuple[set[str], int, float]:
    """One heartbeat: renew the leases this instance works (its own first taken, on the first
    beat); return them, how many instances are alive, and how long sends are paused."""
    held = leases.renew(session, holder=holder, ttl=TTL, names=names | {leases.INSTANCE + holder})
    if leases.INSTANCE + holder not in held:
        leases.take(session, [leases.INSTANCE + holder], holder=holder, ttl=TTL)
    return held, leases.live_instances(session), send_budget.paused_for(session)


def holder_name(instance: str) -> str:
    """Return this process's lease holder name: the instance, the host, the process, a nonce."""
    return f"{instance}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:160]


class SharedLanes:
    """Lease chat lanes from the shared inbox and handle their updates in order."""

    def __init__(
        self,
        app: Any,
        db: Database,
        *,
        holder: str,
        metrics: Metrics | None = None,
        on_heartbeat: Callable[[int, float], None] | None = None,
    ) -> None:
        self.app = app
        # Told at every heartbeat how many instances are alive and how long sends are paused.
        self.on_heartbeat = on_heartbeat
        self.db = db
        self.holder = holder
        self.metrics = metrics or Metrics()
        self.handled = 0
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._held: set[str] = set()
        self._taken: dict[str, float] = {}
        self._renewed = 0.0
        self._wake = asyncio.Event()
        self._wanted: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    # -- the instance's loops --------------------------------------------------------------

    def start(self) -> None:
        """Start the heartbeat and the search for lanes with work."""
        self._renewed = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="kpibot-lanes-heartbeat"),
            asyncio.create_task(self._search(), name="kpibot-lanes-search"),
        ]

    def nudge(self, lanes: Iterable[str]) -> None:
        """Look for work at once: this instance just stored updates for these lanes."""
        self._wanted.update(lanes)
        self._wake.set()

    def holds(self, name: str) -> bool:
        """Tell whether this instance holds a lease, as of its last heartbeat within the TTL."""
        fresh = time.monotonic() - self._renewed < TTL.total_seconds() - HEARTBEAT
        return fresh and name in self._held

    async def take(self, name: str) -> bool:
        """Take (or keep) a lease that is not a lane's, e.g. the poller's; True if it is ours."""
        won = await self.db.work(partial(leases.take, names=[name], holder=self.holder, ttl=TTL))
        if won:
            self._held.add(name)
            self._taken[name] = time.monotonic()
        return bool(won)

    async def _heartbeat(self) -> None:
        while not self._closing:
            began = time.monotonic()
            try:
                held, instances, paused = await self.db.work(
                    partial(_beat, holder=self.holder, names=set(self._held))
                )
                if self.on_heartbeat is not None:
                    self.on_heartbeat(instances, paused)
                self.metrics.instances_live.set(instances)
                self.metrics.lanes_worked.set(len(self._workers))
                self.metrics.poller.set(int(leases.POLLER in held))
                # A lease taken while the renewal ran may be missing from its answer: kept.
                recent = {n for n, at in self._taken.items() if at >= began}
                self._held = held | recent
                self._renewed = began
            except Exception:
                log.exception("leases not renewed; retrying")
            await asyncio.sleep(HEARTBEAT)

    async def _search(self) -> None:
        last_search = last_fill = 0.0
        while not self._closing:
            try:
                if self._wanted:
                    await self._take_wanted()
                if time.monotonic() - last_search >= POLL:
                    last_search = time.monotonic()
                    room = MAX_LANES - len(self._workers)
                    if room > 0:
                        self._start(
                            await self.db.work(
                                partial(leases.take_lanes, holder=self.holder, ttl=TTL, limit=room)
                            )
                        )
                if time.monotonic() - last_fill > 5.0:
                    last_fill = time.monotonic()
                    await self.db.work(partial(inbox.fill_lanes, now=utcnow()))
            except Exception:
                log.exception("looking for lanes with work failed; retrying")
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL)
            self._wake.clear()

    async def _take_wanted(self) -> None:
        room = MAX_LANES - len(self._workers)
        wanted = [lane for lane in self._wanted if lane not in self._workers][: max(room, 0)]
        self._wanted.clear()
        if not wanted:
            return
        names = [leases.LANE + lane for lane in wanted]
        won = await self.db.work(partial(leases.take, names=names, holder=self.holder, ttl=TTL))
        self._start(n.removeprefix(leases.LANE) for n in won)

    def _start(self, lanes: Iterable[str]) -> None:
        now = time.monotonic()
        for lane in lanes:
            name = leases.LANE + lane
            self._held.add(name)
            self._taken[name] = now
            if lane not in self._workers:
                self._workers[lane] = asyncio.create_task(self._work(lane))

    # -- one lane ---------------------------------------------------------------------------

    async def _work(self, lane: str) -> None:
        name = leases.LANE + lane
        log_chat.set(int(lane) if lane.lstrip("-").isdigit() else None)
        done: list[str] = []
        try:
            while not self._closing:
                # The last update handled is marked in the same transaction as the next read.
                rows = await self.db.work(
                    partial(
                        leases.next_in_lane_or_release,
                        lane=lane,
                        holder=self.holder,
                        limit=BATCH,
                        done=done,
                    )
                )
                done = []
                if not rows:
                    # Empty (released) or lost: either way this lane is not ours any more.
                    self._held.discard(name)
                    self._taken.pop(name, None)
                    return
                for i, (key, payload) in enumerate(rows):
                    if self._closing or not self.holds(name):
                        return
                    update = Update.de_json(dict(payload), self.app.bot)
                    with self.metrics.handling(update):
                        await self.app.process_update(update)
                    self.handled += 1
                    if i == len(rows) - 1:
                        done = [key]
                    else:
                        await self.db.work(partial(inbox.mark, keys=[key]))
        finally:
            # Ended without releasing (stopping, a lost lease, a database fault): not renewed
            # any more, so it expires and the lane goes on, here or on another instance.
            self._held.discard(name)
            self._taken.pop(name, None)
            if done:
                # Stopping after the lane's last update: mark it (unmarked, it would only be
                # handled again as a no-op, its key being recorded).
                with contextlib.suppress(Exception):
                    await self.db.work(partial(inbox.mark, keys=done))
            self._workers.pop(lane, None)

    # -- stopping ---------------------------------------------------------------------------

    @property
    def busy(self) -> int:
        """Return how many lanes this instance is working."""
        return len(self._workers)

    async def idle(self) -> None:
        """Wait until no lane is being worked here."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def finish(self, seconds: float) -> int:
        """Stop taking lanes; let those in hand finish their current update for up to
        `seconds`; release every lease; return how many lanes were cut short."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        left = 0
        if self._workers:
            _, late = await asyncio.wait(list(self._workers.values()), timeout=seconds)
            left = len(late)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self.db.work(partial(leases.release, holder=self.holder))
        except Exception:
            log.exception("leases not released; they expire in %s", TTL)
        self._held.clear()
        return left
