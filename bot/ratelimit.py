"""Telegram's limits, kept on our side: no sliding window Telegram counts ever overflows.

python-telegram-bot's AIORateLimiter is a leaky bucket that lets a full burst through at first
(nearly 60 messages in the first second) and does not pace private chats; this limiter counts
each send from its start until one window after its answer, per bot, per group and per private
chat (a private chat: a short burst at once, one a second sustained), and retries a 429 after
its wait, holding every send meanwhile (Telegram's rule). When the bot stops, sends still
waiting for room are refused at once (`NotSent`): nothing holds up a stop.

Telegram's limits are the bot's, not a process's. With several instances on PostgreSQL each
takes its share of the bot's overall limit (30 a second split among the live instances, which
`bot.lanes` counts at every heartbeat: no database work per send), each send to a chat also
reserves its place in that chat's window kept in the database (`SharedBudget`,
`kpi.send_budget`: rows per chat, so sends to different chats never wait on one another), and a
429 pauses every instance (its end is stored, and read with every reservation and heartbeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from bot.config import TelegramConfig
from handlers.context import send_priority
from kpi import send_budget
from kpi.db import Database
from kpi.send_budget import Reservation, Scope, private_window

log = logging.getLogger(__name__)

T = TypeVar("T")
ApiResult = bool | dict[str, Any] | list[dict[str, Any]]

# Telegram's clock and ours may tick at slightly different rates; a few milliseconds per window
# keep a send that is exactly one window after another from landing inside it.
WINDOW_MARGIN = 0.005


class NotSent(TelegramError):
    """The bot is stopping: this send was still waiting for room and never left."""


class Clock(Protocol):
    """Where the limiter reads the time and waits for it to pass (tests move a fake one)."""

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has moved on by `seconds`."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `asyncio.sleep`."""

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(seconds)


async def _wait_for_wake(wake: asyncio.Event, seconds: float | None, clock: Clock) -> None:
    """Wait until `wake` is set or, unless `seconds` is None, that many seconds have passed."""
    if seconds is None:
        await wake.wait()
        return
    woken = asyncio.ensure_future(wake.wait())
    slept = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait((woken, slept), return_when=asyncio.FIRST_COMPLETED)
    finally:
        woken.cancel()
        slept.cancel()


@dataclass(order=True)
class _Waiter:
    """A send waiting for room in a window: the most urgent first, then the earliest."""

    priority: int
    ticket: int
    wake: asyncio.Event = field(default_factory=asyncio.Event, compare=False)


class _Window:
    """At most `limit` sends that Telegram may count within any `period` seconds.

    A send occupies a slot from the moment it starts until `period` after its answer came back:
    Telegram received it somewhere in between, so counting it that long is safe whatever the
    network latency, and a new send that starts after that can never share a window with it.

    Sends waiting for room queue by priority, then in arrival order: only the head of the
    queue watches the clock, and a more urgent send that arrives goes ahead of those waiting.
    """

    def __init__(self, limit: float, period: float, clock: Clock) -> None:
        self.clock = clock
        self.limit = max(1, int(limit))
        self.period = period + WINDOW_MARGIN
        self.in_flight = 0
        self.finished: deque[float] = deque()
        self._queue: list[_Waiter] = []  # a heap
        self._tickets = itertools.count()

    def _wait(self, now: float) -> float | None:
        """Return 0 if a send fits now, the seconds until one does, or None: a send must end."""
        while self.finished and self.finished[0] <= now - self.period:
            self.finished.popleft()
        excess = self.in_flight + len(self.finished) - self.limit
        if excess < 0:
            return 0.0
        if excess < len(self.finished):
            return self.finished[excess] + self.period - now
        return None

    async def take(self, priority: int) -> None:
        """Wait until this send is the most urgent one waiting and fits; then take a slot."""
        me = _Waiter(priority, next(self._tickets))
        heapq.heappush(self._queue, me)
        try:
            while True:
                wait: float | None = None
                if self._queue[0] is me:
                    wait = self._wait(self.clock.monotonic())
                    if wait == 0.0:
                        break
                me.wake.clear()
                await _wait_for_wake(me.wake, wait, self.clock)
        finally:
            # Taken, or given up (cancelled): either way the next in line looks again.
            self._queue.remove(me)
            heapq.heapify(self._queue)
            self._wake_head()
        self.in_flight += 1

    def _wake_head(self) -> None:
        if self._queue:
            self._queue[0].wake.set()

    def release(self) -> None:
        """Give back a slot taken for a send that never started."""
        self.in_flight -= 1
        self._wake_head()

    def finish(self) -> None:
        """Record that a send ended now."""
        self.in_flight -= 1
        self.finished.append(self.clock.monotonic())
        self._wake_head()

    def idle(self) -> bool:
        """Tell whether the window holds no send that still counts and nobody waits on it."""
        self._wait(self.clock.monotonic())
        return not self.in_flight and not self.finished and not self._queue


class SharedBudget:
    """The windows of `kpi.send_budget`, reserved from the event loop in threads of its own
    (a send never queues behind units of work for a database thread)."""

    # Never sleep longer than this between two looks: another instance's send may end early.
    LOOK_AGAIN = 1.0

    def __init__(self, db: Database, *, threads: int = 2) -> None:
        self.db = db
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            # Opened on first use (and again after `close`: an application started again).
            self._executor = ThreadPoolExecutor(
                max_workers=self._threads, thread_name_prefix="kpibot-send"
            )
        loop = asyncio.get_running_loop()
        work = functools.partial(self._in_tx, fn, *args)
        return await loop.run_in_executor(self._executor, work)

    def _in_tx(self, fn: Callable[..., T], *args: Any) -> T:
        with self.db.transaction() as session:
            return fn(session, *args)

    async def reserve(self, scopes: tuple[Scope, ...]) -> Reservation:
        """Wait until the send fits in every shared window (and no pause holds it); record it."""
        while True:
            wait, reservation = await self._call(
                functools.partial(send_budget.reserve, scopes=scopes)
            )
            if reservation is not None:
                return reservation
            await asyncio.sleep(min(wait, self.LOOK_AGAIN))

    async def finish(self, reservation: Reservation) -> None:
        """Record that the send ended now (a failure is logged: the slot frees itself later)."""
        try:
            await self._call(functools.partial(send_budget.finish, reservation=reservation))
        except Exception:
            log.exception("the shared send budget was not updated after a send")

    async def pause(self, seconds: float) -> None:
        """Hold every instance's sends for `seconds` (Telegram answered 429)."""
        try:
            await self._call(functools.partial(send_budget.pause, seconds=seconds))
        except Exception:
            log.exception("the flood wait was not shared with the other instances")

    def close(self) -> None:
        """Stop the threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class SlidingWindowLimiter(BaseRateLimiter[int]):
    """Keep the bot inside Telegram's flood limits, counted over sliding windows like Telegram.

    New messages: at most `overall` in any `overall_period` seconds (Telegram: 30 in 1), `group`
    per group chat in any `group_period` (20 in 60), and per private chat a short burst at once
    and then one every `private_interval` seconds sustained (`kpi.send_budget.private_window`:
    3 within any 3 intervals, so a rep's second and third answer in a row do not wait); a limit
    of 0 is no limit. Edits, deletions and pins count towards
    the overall limit only; reads and chat actions are not paced. A 429 is retried up to
    `max_retries` times after its `retry_after`, and holds every send meanwhile (Telegram's rule).
    Sends waiting for a window go by `handlers.context.send_priority`: scheduled posts and
    confirmations ahead of report answers, so one person's repeated /leaderboard in a group
    never delays the daily summary or the others' confirmations.

    python-telegram-bot's `AIORateLimiter` is a leaky bucket: it lets a full burst through and
    then keeps dripping, so a fan-out puts up to twice the limit into the first second (and up to
    40 messages into a group's minute) and Telegram answers 429.

    `clock` tells the time and waits (the real one unless a test passes a fake).
    """

    def __init__(
        self,
        *,
        overall: float = 30,
        overall_period: float = 1.0,
        group: float = 20,
        group_period: float = 60.0,
        private_interval: float = 1.0,
        max_retries: int = 3,
        clock: Clock | None = None,
        shared: SharedBudget | None = None,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._shared = shared
        self._limits = (overall, overall_period, group, group_period, private_interval)
        paced = overall > 0 and overall_period > 0
        self._overall = _Window(overall, overall_period, self._clock) if paced else None
        self._group: tuple[float, float] | None = (
            (group, group_period) if group > 0 and group_period > 0 else None
        )
        self._private: tuple[float, float] | None = (
            private_window(private_interval) if private_interval > 0 else None
        )
        self._chats: dict[int | str, _Window] = {}
        self._max_retries = max_retries
        self._paused_until = 0.0
        self._stopping: asyncio.Future[None] | None = None

    async def initialize(self) -> None:
        """Open nothing: the windows live in memory."""

    async def shutdown(self) -> None:
        """Close the shared budget's threads, if any (the local windows live in memory)."""
        if self._shared is not None:
            self._shared.close()

    def stop(self) -> None:
        """Refuse every send that has not left yet, now and later (the bot is stopping)."""
        stopping = self._stopped()
        if not stopping.done():
            stopping.set_result(None)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        """Wait for room in the windows this call counts against, send it, retry a 429."""
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        priority = send_priority.get()
        attempt = 0
        while True:
            windows = self._windows_of(endpoint, data.get("chat_id"))
            scopes = self._scopes_of(endpoint, data.get("chat_id"), windows)
            reservation = await self._admit(*windows, priority, scopes=scopes)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                # The public `retry_after` warns about its int-to-timedelta migration.
                pause = exc._retry_after.total_seconds() + 0.1
                if self._shared is not None:
                    # Every instance waits, whether or not this send is tried again.
                    await self._shared.pause(pause)
                if attempt >= retries:
                    raise
                attempt += 1
                log.info("flood control: every send waits %.1f s", pause)
                self._paused_until = max(self._paused_until, self._clock.monotonic() + pause)
            finally:
                for window in windows:
                    if window is not None:
                        window.finish()
                if reservation is not None:
                    assert self._shared is not None
                    await self._shared.finish(reservation)

    def _windows_of(self, endpoint: str, chat_id: Any) -> tuple[_Window | None, _Window | None]:
        """Return the (chat, overall) windows a call counts against."""
        if chat_id is None or endpoint.startswith("get") or endpoint == "sendChatAction":
            return None, None
        if not endpoint.startswith(("send", "copy", "forward")):
            return None, self._overall
        return self._chat_window(chat_id), self._overall

    def _scopes_of(
        self, endpoint: str, chat_id: Any, windows: tuple[_Window | None, _Window | None]
    ) -> tuple[Scope, ...]:
        """Return the shared windows a call counts against (none without a shared budget)."""
        if self._shared is None:
            return ()
        _, _, group, group_period, _ = self._limits
        chat, _ = windows
        scopes = []
        if chat is not None:
            try:
                key: int | str = int(chat_id)
            except (TypeError, ValueError):
                key = str(chat_id)
            if isinstance(key, int) and key > 0:
                assert self._private is not None  # else the chat would have no window
                limit, period = self._private
                scopes.append(Scope(f"c:{key}", int(limit), period + WINDOW_MARGIN))
            else:
                scopes.append(Scope(f"c:{key}"[:64], int(group), group_period + WINDOW_MARGIN))
        return tuple(scopes)

    def share(self, instances: int, paused_for: float = 0.0) -> None:
        """Take this instance's share of the bot's overall limit among `instances` live ones,
        and hold every send for `paused_for` seconds (a 429 another instance received)."""
        if self._overall is not None:
            self._overall.limit = max(1, int(self._limits[0] // max(instances, 1)))
        if paused_for > 0:
            self._paused_until = max(self._paused_until, self._clock.monotonic() + paused_for)

    def _chat_window(self, chat_id: Any) -> _Window | None:
        key: int | str
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            key = str(chat_id)  # "@channel": paced like a group
        limit = self._private if isinstance(key, int) and key > 0 else self._group
        if limit is None:
            return None
        window = self._chats.get(key)
        if window is None:
            if len(self._chats) >= 1024:
                self._chats = {k: w for k, w in self._chats.items() if not w.idle()}
            window = self._chats[key] = _Window(*limit, self._clock)
        return window

    def _stopped(self) -> asyncio.Future[None]:
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_future()
        return self._stopping

    async def _admit(
        self,
        chat: _Window | None,
        overall: _Window | None,
        priority: int,
        *,
        scopes: tuple[Scope, ...] = (),
    ) -> Reservation | None:
        """Take a slot in each window (and the shared ones), or raise NotSent if the bot stops
        first; return the shared reservation, if any."""
        stopping = self._stopped()
        if stopping.done():
            raise NotSent("not sent: the bot is stopping")
        acquire = asyncio.ensure_future(self._acquire(chat, overall, priority, scopes))
        try:
            await asyncio.wait(
                {acquire, cast("asyncio.Future[Any]", stopping)},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not acquire.done():
                # Cancelling gives back whatever the wait had taken (see _acquire).
                acquire.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquire
        if acquire.cancelled():
            raise NotSent("not sent: the bot is stopping")
        return acquire.result()

    async def _acquire(
        self,
        chat: _Window | None,
        overall: _Window | None,
        priority: int,
        scopes: tuple[Scope, ...] = (),
    ) -> Reservation | None:
        """Wait for a slot in each window and take them, the chat's first; then the shared
        windows' (every instance's sends), if any."""
        # The chat's window first: a full group holds up only itself.
        taken: list[_Window] = []
        try:
            for window in (chat, overall):
                if window is not None:
                    await window.take(priority)
                    taken.append(window)
            await self._pause()
            if scopes:
                assert self._shared is not None
                return await self._shared.reserve(scopes)
            return None
        except BaseException:
            for window in taken:
                window.release()
            raise

    async def _pause(self) -> None:
        # A loop, because another 429 may push the end of the pause further while we sleep.
        while True:
            left = self._paused_until - self._clock.monotonic()
            if left <= 0:
                return
            await self._clock.sleep(left)


def rate_limiter(
    tg: TelegramConfig, clock: Clock | None = None, *, shared: Database | None = None
) -> SlidingWindowLimiter:
    """Build the rate limiter from the Telegram settings (on the real clock by default); with
    `shared` (a PostgreSQL database) the budget is shared with every instance on it."""
    return SlidingWindowLimiter(
        overall=tg.overall_max_rate,
        group=tg.group_max_rate,
        private_interval=tg.private_min_interval,
        max_retries=tg.max_retries,
        clock=clock,
        shared=SharedBudget(shared) if shared is not None else None,
    )
