"""Text messages the bot sends, edits and deletes, chat actions, and Telegram's flood control."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from bot.sandbox.html import TelegramHtmlError, parse_telegram_html, trimmed
from bot.sandbox.state import ChatState, Files, Method, StoredMessage, World
from bot.sandbox.types import JSON, MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH
from bot.sandbox.wire import ApiError, as_bool, bad, check_markup, json_copy, strip_reply

_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def formatted(
    w: World, p: Mapping[str, Any], key: str, entities_key: str
) -> tuple[str | None, list[JSON] | None]:
    """Return a text or caption as Telegram would store it: visible text and entities."""
    raw = p.get(key)
    if raw is None:
        return None, None
    source = str(raw)
    mode = p.get("parse_mode")
    if mode is not None and str(mode).lower() == "html":
        try:
            parsed = parse_telegram_html(source)
        except TelegramHtmlError as exc:
            raise bad(f"can't parse entities: {exc}") from None
        return parsed.text, list(parsed.entities) or None
    if mode is not None and str(mode).lower() not in ("markdown", "markdownv2", ""):
        raise bad("unsupported parse_mode")
    parsed = trimmed(source, list(p.get(entities_key) or []))
    return parsed.text, list(parsed.entities) or None


def text_of(w: World, p: Mapping[str, Any]) -> tuple[str, list[JSON] | None]:
    """Return a message text as Telegram stores it, or raise Telegram's error."""
    text, entities = formatted(w, p, "text", "entities")
    if not text:
        raise bad("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad("message is too long")
    return text, entities


def caption_of(w: World, p: Mapping[str, Any]) -> tuple[str | None, list[JSON] | None]:
    """Return a caption as Telegram stores it (None if empty), or raise Telegram's error."""
    caption, entities = formatted(w, p, "caption", "caption_entities")
    if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
        raise bad("message caption is too long")
    return caption or None, entities


def reply_of(w: World, state: ChatState, p: Mapping[str, Any]) -> StoredMessage | None:
    """Return the message a send replies to, if any, or raise Telegram's error."""
    reply = p.get("reply_parameters")
    if reply is None and "reply_to_message_id" in p:
        reply = {
            "message_id": p["reply_to_message_id"],
            "allow_sending_without_reply": p.get("allow_sending_without_reply", False),
        }
    if not isinstance(reply, dict):
        return None
    stored = state.messages.get(int(reply.get("message_id", 0)))
    if stored is None or stored.deleted:
        if as_bool(reply.get("allow_sending_without_reply", False)):
            return None
        raise bad("message to be replied not found")
    return stored


def thread_of(
    w: World, state: ChatState, p: Mapping[str, Any], reply: StoredMessage | None
) -> int | None:
    """Return the topic or thread a send goes to: given, or the replied message's topic."""
    thread_id = p.get("message_thread_id")
    if thread_id is None:
        if reply is not None and reply.data.get("is_topic_message"):
            return int(reply.data["message_thread_id"])
        return None
    thread_id = int(thread_id)
    known = thread_id in state.topics if state.chat.is_forum else thread_id in state.messages
    if not state.is_group or not known:
        raise bad("message thread not found")
    return thread_id


def check_flood(w: World, state: ChatState) -> None:
    """Answer 429 if one more message would break Telegram's limits; else count it."""
    if not w.enforce_limits:
        return
    now = w.clock()
    limits = w.limits
    per_chat = w.sends_chat.setdefault(state.chat.id, deque())
    if state.is_group:
        chat_limit, chat_window = limits.group, limits.group_window
    else:
        chat_limit, chat_window = limits.private, limits.private_window
    waits = [
        flood_wait(w.sends_all, limits.overall, limits.overall_window, now),
        flood_wait(per_chat, chat_limit, chat_window, now),
    ]
    wait = max(waits)
    if wait > 0:
        w.flood_answers += 1
        raise ApiError(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"Too Many Requests: retry after {wait}",
            retry_after=wait,
        )
    w.sends_all.append(now)
    per_chat.append(now)


def new_bot_message(
    w: World, state: ChatState, method: str, p: Mapping[str, Any], body: JSON
) -> StoredMessage:
    """Check the common send parameters, apply flood control, and store the message."""
    markup = check_markup(p.get("reply_markup"))
    reply = reply_of(w, state, p)
    thread_id = thread_of(w, state, p, reply)
    check_flood(w, state)
    data: JSON = {
        "message_id": state.take_message_id(),
        "from": w.bot_user.to_dict(),
        "chat": state.chat.to_dict(),
        "date": int(w.clock()),
    }
    if thread_id is not None:
        data["message_thread_id"] = thread_id
        if state.chat.is_forum:
            data["is_topic_message"] = True
    if reply is not None:
        data["reply_to_message"] = strip_reply(reply.data)
    data.update(body)
    if markup is not None and "inline_keyboard" in markup:
        data["reply_markup"] = markup
    stored = StoredMessage(
        state.chat.id,
        data,
        by_bot=True,
        method=method,
        parse_mode=p.get("parse_mode"),
        raw_markup=markup,
    )
    state.messages[stored.message_id] = stored
    w.bot_messages.append(stored)
    return stored


def send_message(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``sendMessage``."""
    state = w.target(p)
    text, entities = text_of(w, p)
    body: JSON = {"text": text}
    if entities:
        body["entities"] = entities
    stored = new_bot_message(w, state, "sendMessage", p, body)
    stored.raw_text = str(p["text"])
    return json_copy(stored.data)


def editable(w: World, p: Mapping[str, Any]) -> StoredMessage:
    """Return the bot message an edit addresses, or raise Telegram's error."""
    state = w.target(p)
    stored = w.message_of(state, p, "message to edit not found")
    if not stored.by_bot:
        raise bad("message can't be edited")
    return stored


def apply_edit(w: World, stored: StoredMessage, p: Mapping[str, Any], changes: JSON) -> JSON:
    """Apply an edit unless it changes nothing; an edit without markup drops the keyboard."""
    markup = check_markup(p.get("reply_markup"))
    inline = markup if markup is not None and "inline_keyboard" in markup else None
    before = {k: stored.data.get(k) for k in changes}
    if before == changes and stored.data.get("reply_markup") == inline:
        raise bad(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    for key, value in changes.items():
        if value is None:
            stored.data.pop(key, None)
        else:
            stored.data[key] = value
    if inline is None:
        stored.data.pop("reply_markup", None)
    else:
        stored.data["reply_markup"] = inline
    stored.raw_markup = inline
    stored.data["edit_date"] = int(w.clock())
    return json_copy(stored.data)


def edit_message_text(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``editMessageText``."""
    stored = editable(w, p)
    if "text" not in stored.data:
        raise bad("there is no text in the message to edit")
    text, entities = text_of(w, p)
    result = apply_edit(w, stored, p, {"text": text, "entities": entities})
    stored.raw_text = str(p["text"])
    stored.parse_mode = p.get("parse_mode")
    return result


def edit_message_caption(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``editMessageCaption``."""
    stored = editable(w, p)
    if "text" in stored.data:
        raise bad("there is no caption in the message to edit")
    caption, entities = caption_of(w, p)
    result = apply_edit(w, stored, p, {"caption": caption, "caption_entities": entities})
    stored.raw_text = p.get("caption")
    stored.parse_mode = p.get("parse_mode")
    return result


def edit_message_reply_markup(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``editMessageReplyMarkup``."""
    return apply_edit(w, editable(w, p), p, {})


def delete_message(w: World, p: JSON, files: Files) -> bool:
    """Answer ``deleteMessage`` (others' messages in groups need an admin bot)."""
    state = w.target(p)
    stored = w.message_of(state, p, "message to delete not found")
    if not stored.by_bot and state.is_group and state.bot_status != "administrator":
        raise bad("message can't be deleted")
    stored.deleted = True
    if stored.message_id in state.pinned:
        state.pinned.remove(stored.message_id)
    return True


def send_chat_action(w: World, p: JSON, files: Files) -> bool:
    """Answer ``sendChatAction``."""
    w.target(p)
    if p.get("action") not in _CHAT_ACTIONS:
        raise bad("wrong parameter action in request")
    return True


def flood_wait(times: deque[float], limit: int, window: float, now: float) -> int:
    """Return the whole seconds to wait before one more send fits in the window (0 if it does)."""
    while times and times[0] <= now - window:
        times.popleft()
    if len(times) < limit:
        return 0
    frees_at = times[len(times) - limit] + window
    # Rounding first keeps float noise in epoch timestamps from adding a whole second.
    return max(1, math.ceil(round(frees_at - now, 3)))


METHODS: Final[dict[str, Method]] = {
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "sendChatAction": send_chat_action,
}
