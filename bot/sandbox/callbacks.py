"""answerCallbackQuery: the bot's answer to a pressed inline button."""

from __future__ import annotations

from typing import Final

from bot.sandbox.state import Files, Method, World
from bot.sandbox.types import JSON
from bot.sandbox.wire import bad


def answer_callback_query(w: World, p: JSON, files: Files) -> bool:
    """Answer ``answerCallbackQuery``: once per press, while the press is fresh."""
    callback = w.callbacks.get(str(p.get("callback_query_id", "")))
    if callback is None or callback.answer is not None:
        raise bad("query is too old and response timeout expired or query ID is invalid")
    if len(str(p.get("text", ""))) > 200:
        raise bad("MESSAGE_TOO_LONG")
    callback.answer = {k: v for k, v in p.items() if k != "callback_query_id"}
    return True


METHODS: Final[dict[str, Method]] = {
    "answerCallbackQuery": answer_callback_query,
}
