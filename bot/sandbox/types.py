"""The sandbox's public value types: users, chats, calls, sent messages, limits, a clock."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, Literal, TypeVar

__all__ = [
    "JSON",
    "LIMITED_METHODS",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_DOWNLOAD_BYTES",
    "MAX_PHOTO_BYTES",
    "MAX_TEXT_LENGTH",
    "MAX_UPLOAD_BYTES",
    "Call",
    "ConnectFault",
    "FloodLimits",
    "ManualClock",
    "Role",
    "SChat",
    "SUser",
    "SentMessage",
    "inline_buttons",
]

JSON = dict[str, Any]
Role = Literal["creator", "administrator", "member", "left", "kicked"]
# How a request can fail before it reaches Telegram (what httpx raises, as python-telegram-bot
# wraps it): no connection in time, connection refused, no free connection in the pool.
ConnectFault = Literal["connect_timeout", "connect_error", "pool_timeout"]

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES: Final = 20 * 1024 * 1024

T = TypeVar("T")
# Event-loop rounds ManualClock.run lets pass before it moves the clock: enough for a send to
# go from the bot through the rate limiter and the in-process transport and back.
_SETTLE_ROUNDS: Final = 50

# Methods that post a new message and therefore count against Telegram's flood limits.
LIMITED_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendDocument"})


@dataclass(frozen=True)
class SUser:
    """A Telegram user of the sandbox."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "vi"
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        """Return the name Telegram clients show: first and last name."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_dict(self) -> JSON:
        """Return the user as a Bot API ``User`` object."""
        d: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            d["last_name"] = self.last_name
        if self.username is not None:
            d["username"] = self.username
        if self.language_code is not None:
            d["language_code"] = self.language_code
        return d


@dataclass(frozen=True)
class SChat:
    """A chat of the sandbox: a user's private chat with the bot, a group or a supergroup."""

    id: int
    type: Literal["private", "group", "supergroup"]
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False

    def to_dict(self) -> JSON:
        """Return the chat as a Bot API ``Chat`` object."""
        d: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.is_forum:
            d["is_forum"] = True
        return d


@dataclass(frozen=True)
class Call:
    """One Bot API call the bot made, with the sandbox's answer."""

    method: str
    params: JSON
    time: float
    status: int
    response: JSON
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    transport: Literal["inproc", "http"] = "inproc"
    dropped: bool = False

    @property
    def ok(self) -> bool:
        """Return whether Telegram accepted the call."""
        return self.status == HTTPStatus.OK and not self.dropped


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent, in its current state (after edits; ``deleted`` once deleted)."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    raw_text: str | None
    parse_mode: str | None
    entities: tuple[JSON, ...]
    reply_markup: JSON | None
    photo: bytes | None
    document: bytes | None
    filename: str | None
    mime_type: str | None
    message_thread_id: int | None
    reply_to_message_id: int | None
    date: int
    edit_date: int | None
    deleted: bool

    @property
    def kind(self) -> Literal["text", "photo", "document"]:
        """Return what was sent: a text, a photo or a document."""
        if self.method == "sendPhoto":
            return "photo"
        if self.method == "sendDocument":
            return "document"
        return "text"

    def buttons(self) -> list[tuple[str, str]]:
        """Return the inline buttons as (label, callback_data or url), row by row."""
        return inline_buttons(self.reply_markup)


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood-control thresholds, as counts within sliding windows of seconds.

    A private chat tolerates a short burst and answers 429 to sustained sending: at most
    `private` messages within any `private_window` seconds (3 in 3: three at once, one a second
    sustained).
    """

    overall: int = 30
    overall_window: float = 1.0
    group: int = 20
    group_window: float = 60.0
    private: int = 3
    private_window: float = 3.0


class ManualClock:
    """A clock for tests and benchmarks that only moves when told to.

    The sandbox reads it by calling it; the rate limiter (``bot.ratelimit.Clock``) reads
    ``monotonic`` and waits with ``sleep``, which ends once ``advance`` moves past its deadline.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._tickets = itertools.count()

    def __call__(self) -> float:
        """Return the current time in seconds since the epoch."""
        return self.now

    def monotonic(self) -> float:
        """Return the current time (the same reading: this clock never goes back)."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sleeper = (self.now + seconds, next(self._tickets), future)
        heapq.heappush(self._sleepers, sleeper)
        try:
            await future
        finally:
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)
                heapq.heapify(self._sleepers)

    def next_deadline(self) -> float | None:
        """Return when the earliest pending ``sleep`` ends, or None if nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def run(self, work: Awaitable[T], *, give_up_after: float = 30.0) -> T:
        """Await ``work``, moving the clock to the next ``sleep``'s end whenever nothing else runs.

        Work handed to threads runs in real time meanwhile, for ``give_up_after`` seconds at most.
        """
        task = asyncio.ensure_future(work)
        give_up = time.monotonic() + give_up_after
        while not task.done():
            # Let every task that can run go as far as it can before time moves.
            for _ in range(_SETTLE_ROUNDS):
                await asyncio.sleep(0)
            if task.done():
                break
            if time.monotonic() > give_up:
                task.cancel()
                raise TimeoutError(
                    f"the work did not finish within {give_up_after} s of real time"
                )
            wake_at = self.next_deadline()
            if wake_at is None:
                # Nobody sleeps on this clock, so something runs in a thread: give it real time.
                await asyncio.wait({task}, timeout=0.001)
            else:
                self.advance(wake_at - self.now)
        return task.result()

    def advance(self, seconds: float) -> None:
        """Move the clock forward, ending the sleeps whose time has come."""
        self.now += seconds
        while self._sleepers and self._sleepers[0][0] <= self.now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


def inline_buttons(markup: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Return a markup's inline buttons as (label, callback_data or url), row by row."""
    if not markup:
        return []
    buttons: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            target = button.get("callback_data", button.get("url", ""))
            buttons.append((str(button.get("text", "")), str(target)))
    return buttons
