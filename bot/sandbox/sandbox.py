"""The Sandbox: a fake Telegram's state behind the test API (what users do, what the bot did,
faults to inject), reached by the bot through :mod:`bot.sandbox.transport` or
:mod:`bot.sandbox.server`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from telegram import Bot, Update

from bot.sandbox.commands import scope_key
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import Fault, World
from bot.sandbox.types import JSON, Call, ConnectFault, FloodLimits, SChat, SentMessage, SUser
from bot.sandbox.users import UserSide
from bot.sandbox.wire import default_description, json_copy


class Sandbox(UserSide):
    """A fake Telegram: users, chats, memberships, messages, the update queue, and a log of
    every Bot API call the bot made."""

    def __init__(
        self,
        *,
        bot_id: int = 7000000001,
        bot_username: str = "kpi_test_bot",
        bot_name: str = "KPI Bot",
        token: str = "7000000001:TEST-TOKEN",
        clock: Callable[[], float] = time.time,
        limits: FloodLimits | None = None,
        enforce_limits: bool = False,
        queue_updates: bool = True,
        max_calls: int | None = None,
    ) -> None:
        self.world = World(
            bot_id=bot_id,
            bot_username=bot_username,
            bot_name=bot_name,
            token=token,
            clock=clock,
            limits=limits,
            enforce_limits=enforce_limits,
            queue_updates=queue_updates,
            max_calls=max_calls,
        )

    # -- the bot and the settings ------------------------------------------------------------

    @property
    def bot_id(self) -> int:
        """Return the bot's user id."""
        return self.world.bot_id

    @property
    def bot_username(self) -> str:
        """Return the bot's username, without the @."""
        return self.world.bot_username

    @property
    def bot_user(self) -> SUser:
        """Return the bot as a user."""
        return self.world.bot_user

    @property
    def token(self) -> str:
        """Return the bot token the sandbox accepts."""
        return self.world.token

    @property
    def clock(self) -> Callable[[], float]:
        """Return the clock that dates messages and counts flood windows."""
        return self.world.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.world.clock = clock

    @property
    def limits(self) -> FloodLimits:
        """Return Telegram's flood limits as the sandbox applies them."""
        return self.world.limits

    @property
    def bot_name(self) -> str:
        """Return the bot's display name."""
        return self.world.bot_name

    @property
    def enforce_limits(self) -> bool:
        """Return whether sends over Telegram's flood limits are answered with 429."""
        return self.world.enforce_limits

    @enforce_limits.setter
    def enforce_limits(self, enforce: bool) -> None:
        self.world.enforce_limits = enforce

    @property
    def queue_updates(self) -> bool:
        """Return whether users' updates are queued for getUpdates (off: tests deliver them)."""
        return self.world.queue_updates

    @queue_updates.setter
    def queue_updates(self, queue: bool) -> None:
        self.world.queue_updates = queue

    @property
    def max_calls(self) -> int | None:
        """Return how many recorded calls the log keeps at least (None: all of them)."""
        return self.world.max_calls

    @property
    def flood_answers(self) -> int:
        """Return how many times the sandbox answered 429 under enforced limits."""
        return self.world.flood_answers

    @property
    def calls(self) -> list[Call]:
        """Return every Bot API call the bot made, oldest first (the live log)."""
        return self.world.calls

    # -- inspecting and queueing updates -----------------------------------------------------

    def to_update(self, update: Mapping[str, Any], bot: Bot) -> Update:
        """Turn an update dict into a python-telegram-bot Update bound to the bot."""
        return Update.de_json(dict(update), bot)

    def pending(self) -> list[JSON]:
        """Return the updates waiting in the getUpdates queue (copies)."""
        with self.world.lock:
            return [json_copy(q.update) for q in self.world.queue]

    def take(self) -> list[JSON]:
        """Remove and return every update waiting in the getUpdates queue."""
        with self.world.lock:
            taken = [q.update for q in self.world.queue]
            self.world.queue.clear()
            return taken

    def would_receive(self, update: Mapping[str, Any]) -> bool:
        """Return whether Telegram would deliver this update to the bot (privacy mode)."""
        with self.world.lock:
            message = update.get("message") or update.get("edited_message")
            if message is None:
                return True
            state = self.world.chats.get(int(message["chat"]["id"]))
            return state is not None and self.world.bot_sees(state, message)

    # -- what the bot did ----------------------------------------------------------------------

    def calls_for(self, method: str) -> list[Call]:
        """Return the calls of one Bot API method, oldest first."""
        with self.world.lock:
            return [c for c in self.world.calls if c.method.lower() == method.lower()]

    def sent(
        self, chat: SChat | int | None = None, *, method: str | None = None
    ) -> list[SentMessage]:
        """Return the messages, photos and documents the bot sent, oldest first."""
        chat_id = chat.id if isinstance(chat, SChat) else chat
        with self.world.lock:
            return [
                self.world.snapshot(m)
                for m in self.world.bot_messages
                if (chat_id is None or m.chat_id == chat_id)
                and (method is None or m.method == method)
            ]

    def last(self, chat: SChat | int) -> SentMessage:
        """Return the last message the bot sent to the chat."""
        messages = self.sent(chat)
        if not messages:
            raise LookupError("the bot sent nothing to this chat")
        return messages[-1]

    def buttons(self, sent_message: SentMessage) -> list[tuple[str, str]]:
        """Return a sent message's inline buttons as (label, callback_data or url)."""
        return sent_message.buttons()

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """Return the command menu stored for a scope and language as (command, description)."""
        with self.world.lock:
            stored = self.world.command_menus.get((scope_key(scope), language_code), [])
            return [(c["command"], c["description"]) for c in stored]

    def pinned(self, chat: SChat | int) -> list[int]:
        """Return the ids of the chat's pinned messages, most recent last."""
        with self.world.lock:
            return list(self.world.chat_state(chat).pinned)

    def file_bytes(self, file_id: str) -> bytes | None:
        """Return the content of a file the sandbox knows, by file_id."""
        with self.world.lock:
            stored = self.world.stored_files.get(file_id)
            return stored.data if stored else None

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait, without blocking the event loop, until the predicate holds.

        Bound the wait with ``asyncio.timeout``; the predicate is checked under the sandbox's
        lock after every recorded call and queued update.
        """
        await self.world.wait_async(self.world.change_waiters, predicate)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block this thread until the predicate holds; return whether it did."""
        with self.world.cond:
            return self.world.cond.wait_for(predicate, timeout)

    # -- faults and limits -------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        code: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: SChat | int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next matching calls (``"*"`` for any method) fail with this error."""
        if description is None:
            description = default_description(code, retry_after)
        if code == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        with self.world.lock:
            self.world.faults.append(
                Fault(
                    method.lower(),
                    code,
                    description,
                    retry_after,
                    chat_id.id if isinstance(chat_id, SChat) else chat_id,
                    times,
                )
            )

    def drop(
        self,
        method: str,
        *,
        chat_id: SChat | int | None = None,
        times: int = 1,
        applied: bool = False,
        stall: float = 0.0,
    ) -> None:
        """Lose the answer to the next matching calls, as a network fault after sending would.

        In process the transport raises ``TimedOut`` caused by ``httpx.ReadTimeout``, as
        python-telegram-bot's ``HTTPXRequest`` does. Over HTTP the connection closes without an
        answer (python-telegram-bot raises ``NetworkError`` from ``httpx.RemoteProtocolError``),
        or, with ``stall``, only after that many seconds, so that a client whose read timeout is
        shorter gives up first (``TimedOut`` from ``httpx.ReadTimeout``). With ``applied``
        Telegram did act on the call (the message exists), which is the ambiguous case a bot
        must survive.
        """
        with self.world.lock:
            self.world.faults.append(
                Fault(
                    method.lower(),
                    0,
                    "Timed out",
                    None,
                    chat_id.id if isinstance(chat_id, SChat) else chat_id,
                    times,
                    drop=True,
                    applied=applied,
                    stall=stall,
                )
            )

    def fail_connect(
        self,
        method: str,
        *,
        kind: ConnectFault = "connect_timeout",
        chat_id: SChat | int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next matching calls fail before they reach Telegram (in process only).

        The transport raises what python-telegram-bot's ``HTTPXRequest`` raises for the httpx
        error (``TimedOut`` from ``httpx.ConnectTimeout`` or ``httpx.PoolTimeout``,
        ``NetworkError`` from ``httpx.ConnectError``); Telegram never sees the call, so nothing
        is recorded. Over HTTP a connection fails for every method alike: use
        ``SandboxServer.refuse()``.
        """
        with self.world.lock:
            self.world.faults.append(
                Fault(
                    method.lower(),
                    0,
                    kind,
                    None,
                    chat_id.id if isinstance(chat_id, SChat) else chat_id,
                    times,
                    connect=kind,
                )
            )

    # -- serving -----------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """Return an HTTP server for this sandbox, to use as a (sync or async) context manager."""
        return SandboxServer(self, host, port)
