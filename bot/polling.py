"""Long polling through the inbox: store each batch, then confirm it, then handle it.

python-telegram-bot's Updater confirms updates on its next poll, before handlers have run, so a
crash can lose them. Here a batch is written to the inbox table first; only then does the next
getUpdates (with the new offset) tell Telegram it arrived. Pending inbox rows are queued on start
in the same per-chat lanes as new updates: polling starts at once, a busy chat's backlog delays
nobody else, and a stop leaves what is not done in the inbox for the next start.

With several instances on PostgreSQL (`shared`, see `bot.lanes`) the lanes are leased from the
database instead of kept in memory, and only the instance holding the poller lease calls
getUpdates (Telegram answers 409 to a second caller); the others take it over when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.lanes import SharedLanes
from bot.logs import log_chat
from bot.metrics import Metrics
from handlers.context import update_key
from kpi import inbox, leases
from kpi.db import Database, WriteBatch
from kpi.models import utcnow

log = logging.getLogger(__name__)


class InboxPoller:
    """Fetch updates, store them in the inbox, and feed them to the application."""

    def __init__(
        self,
        app: Any,
        db: Database,
        *,
        timeout: int = 30,
        metrics: Metrics | None = None,
        shared: SharedLanes | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.metrics = metrics or Metrics()
        self.shared = shared
        self._backlog_last = 0
        self.timeout = timeout
        self.offset: int | None = None
        self.handled = 0
        # One queue and one worker per chat: a chat's updates in order (an /undo after its
        # /call), chats independent, so a group held back by its rate limit delays nobody else.
        self._queues: dict[object, deque[tuple[str, Update]]] = {}
        self._workers: dict[object, asyncio.Task[None]] = {}
        # Fetch no further ahead of the workers than this many updates (what is fetched is stored).
        self.ahead = 5000
        # The stored updates queued by `drain` that are not handled yet.
        self._backlog: set[str] = set()
        self._backlog_done = asyncio.Event()
        # Handled updates are marked together: one transaction for the lanes that finish at once.
        self._marks: WriteBatch[str] = WriteBatch(db, _mark_handled)

    @property
    def queued(self) -> int:
        """Return how many stored updates wait for their chat's worker."""
        return sum(len(q) for q in self._queues.values())

    async def drain(self) -> int:
        """Queue the updates an earlier run stored but did not handle; return how many.

        It does not wait for them to be handled: call it before `run`, so that a chat's stored
        updates come before its new ones, and polling starts at once.
        """
        if self.shared is not None:
            # The lanes find stored updates in the database; whichever instance holds them.
            self._backlog_last = await self.db.work(inbox.last_pending)
            count, _ = await self.db.work(partial(inbox.backlog, now=utcnow()))
            self.shared.start()
            return count
        total, after = 0, 0
        while rows := await self.db.work(partial(inbox.pending, limit=500, after_id=after)):
            after = rows[-1][0]
            items = [(key, Update.de_json(payload, self.app.bot)) for _, key, payload in rows]
            self._backlog.update(key for key, _ in items)
            self._dispatch(items)
            total += len(rows)
        if not self._backlog:
            self._backlog_done.set()
        return total

    async def backlog_handled(self) -> None:
        """Wait until every update queued by `drain` has been handled."""
        if self.shared is not None:
            # By any instance: the rows stored before this one started are no longer pending.
            # Polling the database: another instance's progress sends no event here.
            while await self.db.work(partial(inbox.pending_up_to, last_id=self._backlog_last)):  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            return
        await self._backlog_done.wait()

    async def fetch(self) -> list[Update]:
        """Long-poll for the next batch (confirming the previous one through the offset)."""
        return list(
            await self.app.bot.get_updates(
                offset=self.offset,
                timeout=self.timeout,
                allowed_updates=Update.ALL_TYPES,
            )
        )

    async def process(self, updates: Sequence[Update]) -> int:
        """Store a fetched batch in the inbox, then queue it for its chats; return its size."""
        if not updates:
            return 0
        await self.receive(updates)
        # Only now may Telegram forget them: the next call carries the new offset.
        self.offset = updates[-1].update_id + 1
        return len(updates)

    async def receive(self, updates: Sequence[Update]) -> int:
        """Store updates in the inbox (in a worker thread), then queue the new ones for their
        chats; return how many were new. Polling and the webhook both come in here."""
        items = [(update_key(u), u) for u in updates]
        # Serialised in the database thread: a batch of 100 updates is tens of milliseconds of
        # Python that would otherwise hold up the event loop.
        new_keys = set(await self.db.work(partial(_store, items=items)))
        new = [(k, u) for k, u in items if k in new_keys]
        for _, update in new:
            self.metrics.received(update)
        if self.shared is not None:
            self.shared.nudge(_lane(k, u) for k, u in new)
        else:
            self._dispatch(new)
        return len(new)

    async def poll_once(self) -> int:
        """Fetch one batch, store it, and hand it to the chats' workers; return its size."""
        return await self.process(await self.fetch())

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; network faults are retried with backoff.

        Stopping interrupts a long poll and a wait for the workers to catch up, never the storing
        of a fetched batch; updates still being handled are finished by `finish` (or left in the
        inbox for the next start).
        """
        backoff = 1.0
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                if self.shared is not None and not await self._poller_lease(stop):
                    continue
                fetch = asyncio.create_task(self.fetch())
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramError):
                        await fetch
                    return
                try:
                    await self.process(fetch.result())
                    backoff = 1.0
                except RetryAfter as exc:
                    await sleep_or_stop(stop, retry_seconds(exc.retry_after))
                except Conflict as exc:
                    # Another getUpdates is running (an instance that just died, or a
                    # misconfigured second bot): ask again shortly.
                    log.warning("getUpdates conflict (%s); retrying in 1 s", exc)
                    await sleep_or_stop(stop, 1.0)
                except (TimedOut, NetworkError) as exc:
                    log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                    await sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 30.0)
                except Exception:
                    # Whatever went wrong (Telegram, the database), the bot keeps polling.
                    log.exception("polling failed; retrying in %.0f s", backoff)
                    await sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 30.0)
                await self._backpressure(stopping)
        finally:
            stopping.cancel()

    async def _poller_lease(self, stop: asyncio.Event) -> bool:
        """Hold the poller lease (True), or wait a heartbeat and say False (another instance
        polls; this one works the lanes)."""
        assert self.shared is not None
        name = leases.POLLER
        if self.shared.holds(name):
            return True
        try:
            if await self.shared.take(name):
                log.info("this instance now calls getUpdates (poller lease taken)")
                self.offset = None
                return True
        except Exception:
            log.exception("the poller lease could not be asked for; retrying")
        await sleep_or_stop(stop, 1.0)
        return False

    def _dispatch(self, items: Sequence[tuple[str, Update]]) -> None:
        for key, update in items:
            chat = update.effective_chat
            lane: object = chat.id if chat else key
            self._queues.setdefault(lane, deque()).append((key, update))
            worker = self._workers.get(lane)
            if worker is None or worker.done():
                self._workers[lane] = asyncio.create_task(self._work(lane))

    async def _work(self, lane: object) -> None:
        queue = self._queues[lane]
        # Log lines written while this lane works name its chat (the task's own context).
        log_chat.set(lane if isinstance(lane, int) else None)
        try:
            while queue:
                key, update = queue[0]
                # Errors are answered by the application's error handler; the update is done.
                with self.metrics.handling(update):
                    await self.app.process_update(update)
                await self._marks.add(key)
                queue.popleft()
                self.handled += 1
                if key in self._backlog:
                    self._backlog.discard(key)
                    if not self._backlog:
                        self._backlog_done.set()
        finally:
            if not queue:
                self._queues.pop(lane, None)
            self._workers.pop(lane, None)

    async def _backpressure(self, stopping: asyncio.Future[Any]) -> None:
        # Fetch no further ahead than the workers can follow, unless the bot is stopping.
        while self.queued > self.ahead and self._workers and not stopping.done():
            await asyncio.wait(
                [*self._workers.values(), stopping], return_when=asyncio.FIRST_COMPLETED
            )

    async def idle(self) -> None:
        """Wait until every dispatched update has been handled."""
        if self.shared is not None:
            await self.shared.idle()
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def finish(self, seconds: float) -> int:
        """Let the workers finish for up to `seconds`; return how many updates were left.

        What is left stays pending in the inbox and is handled on the next start (its effects
        are keyed, so nothing counts twice); with shared lanes another instance may take it
        at once, since the leases are released.
        """
        if self.shared is not None:
            return await self.shared.finish(seconds)
        try:
            await asyncio.wait_for(self.idle(), seconds)
        except TimeoutError:
            for worker in list(self._workers.values()):
                worker.cancel()
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
        return self.queued


def _lane(key: str, update: Update) -> str:
    """Return an update's lane as stored (`kpi.inbox.lane_of`)."""
    return inbox.lane_of(key, update.to_dict())


def _store(session: Any, items: Sequence[tuple[str, Update]]) -> list[str]:
    return inbox.store(session, items=[(k, u.update_id, u.to_dict()) for k, u in items])


def _mark_handled(session: Any, keys: list[str]) -> None:
    inbox.mark(session, keys=keys)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep for `seconds` or until `stop` is set; return whether it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


def retry_seconds(value: object) -> float:
    """Return a RetryAfter's wait in seconds (a timedelta or a number)."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
