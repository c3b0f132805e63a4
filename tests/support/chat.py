"""Talking to the bot in a test: the configured admin, the fake clock, a conversation helper."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.sandbox import Sandbox, deliver

ADMIN_ID = 999_000_001
TODAY = dt.date(2026, 11, 19)  # the clock fixture's local day (Thursday)


class Clock:
    """A fake clock the tests move by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set_local(self, text_: str, tz: str = "Asia/Ho_Chi_Minh") -> None:
        """Set the time from a local 'YYYY-MM-DD HH:MM' string."""
        from zoneinfo import ZoneInfo

        local = dt.datetime.strptime(text_, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(tz))
        self.now = local.astimezone(dt.UTC)

    def advance(self, **kwargs: float) -> None:
        """Move the clock forward."""
        self.now += dt.timedelta(**kwargs)


class Talk:
    """Send updates as people and read what the bot answered."""

    def __init__(self, app: Any, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def deliver(self, update: dict[str, Any]) -> list[Any]:
        """Deliver one update; return the messages the bot sent because of it."""
        before = len(self.sandbox.sent())
        await deliver(self.app, update)
        return self.sandbox.sent()[before:]

    async def say(self, user: Any, chat: Any, text_: str, **kwargs: Any) -> list[Any]:
        """Send a message as `user` in `chat`; return the bot's answers."""
        return await self.deliver(self.sandbox.text(user, chat, text_, **kwargs))

    async def reply(self, user: Any, chat: Any, text_: str, **kwargs: Any) -> str:
        """Send a message and return the text of the bot's one answer."""
        answers = [a for a in await self.say(user, chat, text_, **kwargs) if a.kind == "text"]
        assert len(answers) == 1, [a.text for a in answers]
        return str(answers[0].text)

    async def press(self, user: Any, chat: Any, message: Any, data: str) -> list[Any]:
        """Press an inline button of a bot message; return the bot's new messages."""
        return await self.deliver(self.sandbox.press(user, chat, message.message_id, data))
