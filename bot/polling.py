"""Long polling through the inbox: store each batch, then confirm it, then handle it.

python-telegram-bot's Updater confirms updates on its next poll, before handlers have run, so a
crash can lose them. Here a batch is written to the inbox table first; only then does the next
getUpdates (with the new offset) tell Telegram it arrived. Pending inbox rows are handled on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from handlers.context import update_key
from kpi import inbox
from kpi.db import Database

log = logging.getLogger(__name__)


class InboxPoller:
    """Fetch updates, store them in the inbox, and feed them to the application."""

    def __init__(self, app: Any, db: Database, *, timeout: int = 30) -> None:
        self.app = app
        self.db = db
        self.timeout = timeout
        self.offset: int | None = None
        self.handled = 0

    async def drain(self) -> int:
        """Handle what an earlier run stored but did not finish; return how many."""
        total = 0
        while True:
            rows = await self.db.read(partial(inbox.pending, limit=500))
            if not rows:
                return total
            updates = [(key, Update.de_json(payload, self.app.bot)) for key, payload in rows]
            await self._handle([(k, u) for k, u in updates if u is not None])
            total += len(rows)

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
        """Store a fetched batch in the inbox, then handle it; return how many arrived."""
        if not updates:
            return 0
        items = [(update_key(u), u) for u in updates]
        new_keys = set(
            await self.db.read(
                partial(
                    inbox.store,
                    items=[(k, u.update_id, u.to_dict()) for k, u in items],
                )
            )
        )
        # Only now may Telegram forget them: the next call carries the new offset.
        self.offset = updates[-1].update_id + 1
        await self._handle([(k, u) for k, u in items if k in new_keys])
        return len(updates)

    async def poll_once(self) -> int:
        """Fetch one batch, store it, handle it; return how many updates arrived."""
        return await self.process(await self.fetch())

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; network faults are retried with backoff.

        Stopping interrupts a long poll but never a batch being handled: what was fetched is
        stored and handled (or left in the inbox for the next start) before this returns.
        """
        backoff = 1.0
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
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
                    await _sleep_or_stop(stop, _seconds(exc.retry_after))
                except (TimedOut, NetworkError) as exc:
                    log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 30.0)
                except TelegramError:
                    log.exception("getUpdates failed")
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 30.0)
        finally:
            stopping.cancel()

    async def _handle(self, items: Sequence[tuple[str, Update]]) -> None:
        # Updates of one chat are handled in order (an /undo after a /call); chats in parallel.
        by_chat: dict[object, list[tuple[str, Update]]] = defaultdict(list)
        for key, update in items:
            chat = update.effective_chat
            by_chat[chat.id if chat else key].append((key, update))
        await asyncio.gather(*(self._handle_chat(batch) for batch in by_chat.values()))
        await self.db.read(partial(inbox.mark, keys=[k for k, _ in items]))
        self.handled += len(items)

    async def _handle_chat(self, batch: Sequence[tuple[str, Update]]) -> None:
        for _key, update in batch:
            # Errors are answered by the application's error handler; the update is done.
            await self.app.process_update(update)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
