"""Offline stand-in for the Telegram Bot API.

A :class:`Sandbox` holds the state of a small fake Telegram (users, chats, memberships, messages,
the ``getUpdates`` queue), answers Bot API calls the way Telegram does, and records every call the
bot made. The real python-telegram-bot ``Application`` reaches it either in process, through
:class:`SandboxRequest` (a ``telegram.request.BaseRequest``), or over HTTP on localhost, through
:meth:`Sandbox.serve`, so that a separately started ``kpibot run`` can be pointed at it.

Deliberate limits: Markdown parse modes are accepted but not parsed (the project uses HTML),
inline mode, payments, media groups and webhook delivery are not implemented, and a method the
sandbox does not know answers 404 like an unknown method does on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message as _MimeHeaders
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import IO, Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from telegram import Bot, Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

__all__ = [
    "Call",
    "FloodLimits",
    "ManualClock",
    "ParsedText",
    "SChat",
    "SUser",
    "Sandbox",
    "SandboxRequest",
    "SandboxServer",
    "SentMessage",
    "TelegramHtmlError",
    "deliver",
    "parse_telegram_html",
]

_log = logging.getLogger(__name__)

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

# Telegram leaves these out of getUpdates unless the bot asks for them by name.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Methods that post a new message and therefore count against Telegram's flood limits.
LIMITED_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
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
_INT_FIELDS: Final = frozenset(
    {
        "chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "reply_to_message_id",
        "cache_time",
        "until_date",
        "max_connections",
        "icon_color",
    }
)
_JSON_FIELDS: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "menu_button",
        "media",
        "rights",
        "permissions",
    }
)
_BOOL_FIELDS: Final = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "for_channels",
    }
)
_ADMIN_RIGHTS: Final[JSON] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
}
_CONTENT_KEYS: Final = ("text", "caption", "photo", "document")
_USERNAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_DEEP_LINK_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE: Final = re.compile(r"[a-z]{2}")
_AUTO_ENTITY_RE: Final = re.compile(
    r"(?P<bot_command>(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@]))"
    r"|(?P<mention>(?<![A-Za-z0-9_@])@[A-Za-z0-9_]{4,32}(?![A-Za-z0-9_]))"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
    r"|(?P<url>\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]])"
)
_BUTTON_URL_RE: Final = re.compile(r"(https?://[^\s/]+\S*|tg://\S+)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Public value types
# ---------------------------------------------------------------------------------------------


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
        return _inline_buttons(self.reply_markup)


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood-control thresholds, as counts within sliding windows of seconds."""

    overall: int = 30
    overall_window: float = 1.0
    group: int = 20
    group_window: float = 60.0
    private: int = 1
    private_window: float = 1.0


@dataclass(frozen=True)
class ParsedText:
    """A formatted text as Telegram stores it: the visible text and its entities."""

    text: str
    entities: tuple[JSON, ...]


class TelegramHtmlError(ValueError):
    """Telegram would refuse this HTML; the message is Telegram's own wording."""


class ManualClock:
    """A clock for tests and benchmarks that only moves when told to."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """Return the current time in seconds since the epoch."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


# ---------------------------------------------------------------------------------------------
# Telegram HTML
# ---------------------------------------------------------------------------------------------

_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TRIMMED: Final = " \t\r\n"


@dataclass
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, i: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``source[i] == "&"``: (character, index after it) or None."""
    end = source.find(";", i + 1, i + 12)
    if end < 0:
        return None
    name = source[i + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    code: int | None = None
    if re.fullmatch(r"#[0-9]{1,8}", name):
        code = int(name[1:])
    elif re.fullmatch(r"#[xX][0-9a-fA-F]{1,6}", name):
        code = int(name[2:], 16)
    if code is None or not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


def parse_telegram_html(source: str) -> ParsedText:
    """Parse text with ``parse_mode=HTML`` as Telegram does, or raise TelegramHtmlError."""
    out: list[str] = []
    pos = 0  # UTF-16 length of the visible text so far: Telegram counts offsets that way
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "&":
            decoded = _decode_entity(source, i)
            if decoded is not None:
                out.append(decoded[0])
                pos += _u16(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            pos += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        offset = _byte_offset(source, begin)
        if i + 1 < n and source[i + 1] == "/":
            j = i + 2
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            name = source[i + 2 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise TelegramHtmlError(f"Unclosed end tag at byte offset {offset}")
            if not stack:
                raise TelegramHtmlError(f"Unexpected end tag at byte offset {offset}")
            top = stack.pop()
            if name and name != top.name:
                raise TelegramHtmlError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            _close_tag(top, pos, stack, entities)
            i = j + 1
            continue
        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {offset}")
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise TelegramHtmlError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs, j = _parse_attributes(source, j, name, offset)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise TelegramHtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        stack.append(_OpenTag(name, pos, attrs))
        i = j + 1
    if stack:
        raise TelegramHtmlError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return _trimmed("".join(out), entities)


def _parse_attributes(source: str, j: int, tag: str, offset: int) -> tuple[dict[str, str], int]:
    """Read a start tag's attributes from ``j``; return them and the index of the closing ``>``."""
    attrs: dict[str, str] = {}
    n = len(source)
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {offset}")
        if source[j] == ">":
            return attrs, j
        k = j
        while k < n and not source[k].isspace() and source[k] not in "=>":
            k += 1
        attr = source[j:k].lower()
        if not attr:
            raise TelegramHtmlError(
                f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
            )
        while k < n and source[k].isspace():
            k += 1
        if k >= n or source[k] != "=":
            # A bare attribute, as in <blockquote expandable>.
            attrs[attr] = ""
            j = k
            continue
        k += 1
        while k < n and source[k].isspace():
            k += 1
        if k < n and source[k] in "\"'":
            quote = source[k]
            k += 1
            value: list[str] = []
            while k < n and source[k] != quote:
                if source[k] == "&":
                    decoded = _decode_entity(source, k)
                    if decoded is not None:
                        value.append(decoded[0])
                        k = decoded[1]
                        continue
                value.append(source[k])
                k += 1
            if k >= n:
                raise TelegramHtmlError(f"Unclosed start tag at byte offset {offset}")
            attrs[attr] = "".join(value)
            j = k + 1
        else:
            start = k
            while k < n and (source[k].isalnum() or source[k] in ".-"):
                k += 1
            if k < n and not source[k].isspace() and source[k] != ">":
                raise TelegramHtmlError(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, start)}"
                )
            attrs[attr] = source[start:k].lower()
            j = k


def _close_tag(tag: _OpenTag, pos: int, stack: list[_OpenTag], entities: list[JSON]) -> None:
    length = pos - tag.start
    kind = _HTML_TAGS[tag.name]
    language = tag.attrs.get("class", "")
    if tag.name == "code" and language.startswith("language-") and stack:
        parent = stack[-1]
        if parent.name == "pre" and parent.language is None:
            # <pre><code class="language-x"> is one pre entity with a language.
            parent.language = language.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JSON = {"type": kind, "offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    entities.append(entity)


def _trimmed(text: str, entities: list[JSON]) -> ParsedText:
    """Strip surrounding whitespace as Telegram does and shift the entities to match."""
    stripped = text.strip(_TRIMMED)
    lead = _u16(text[: len(text) - len(text.lstrip(_TRIMMED))])
    total = _u16(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(stripped, tuple(kept))


# ---------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """An error answer, raised inside method handlers and turned into Telegram's JSON."""

    def __init__(self, code: int, description: str, **parameters: int) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def _bad(description: str) -> _ApiError:
    return _ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {description}")


def _forbidden(description: str) -> _ApiError:
    return _ApiError(HTTPStatus.FORBIDDEN, f"Forbidden: {description}")


@dataclass(frozen=True)
class _Upload:
    filename: str
    data: bytes
    mime_type: str


@dataclass(frozen=True)
class _Answer:
    status: int
    body: JSON | None = None
    raw: bytes | None = None
    dropped: bool = False
    stall: float = 0.0

    @property
    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class _Fault:
    method: str
    code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    remaining: int
    drop: bool = False
    applied: bool = False
    stall: float = 0.0
    connect: ConnectFault | None = None

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def error(self) -> _ApiError:
        if self.retry_after is not None:
            return _ApiError(self.code, self.description, retry_after=self.retry_after)
        return _ApiError(self.code, self.description)


@dataclass
class _File:
    file_id: str
    unique_id: str
    path: str
    data: bytes | None
    filename: str | None
    mime_type: str | None
    width: int = 0
    height: int = 0


@dataclass
class _Msg:
    chat_id: int
    data: JSON
    by_bot: bool
    method: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    raw_markup: JSON | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])


@dataclass
class _ChatState:
    chat: SChat
    creator: int | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    left: set[int] = field(default_factory=set)
    kicked: set[int] = field(default_factory=set)
    bot_status: str = "member"
    bot_admin_when_added: bool = True
    bot_removed_by_other: bool = False
    migrated_to: int | None = None
    next_message_id: int = 1
    messages: dict[int, _Msg] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.chat.type != "private"

    @property
    def bot_in_chat(self) -> bool:
        return self.bot_status in ("member", "administrator")

    def role(self, user_id: int) -> Role:
        if user_id == self.creator:
            return "creator"
        if user_id in self.admins:
            return "administrator"
        if user_id in self.members:
            return "member"
        if user_id in self.kicked:
            return "kicked"
        return "left"

    def is_member(self, user_id: int) -> bool:
        return self.role(user_id) in ("creator", "administrator", "member")

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _Callback:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: JSON | None = None


@dataclass(frozen=True)
class _Queued:
    update_id: int
    kind: str
    update: JSON


def _json_copy(value: JSON) -> JSON:
    copied: JSON = json.loads(json.dumps(value))
    return copied


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _coerce(raw: Mapping[str, Any]) -> JSON:
    """Turn parameters from any transport (native, form or JSON) into typed values."""
    params: JSON = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    if key == "reply_markup":
                        raise _bad("can't parse reply keyboard markup JSON object") from None
                    raise _bad(f"can't parse {key} JSON object") from None
            elif key in _INT_FIELDS:
                text = value.strip()
                if re.fullmatch(r"-?\d+", text):
                    value = int(text)
                elif key != "chat_id":
                    raise _bad(f"invalid {key} specified")
            elif key in _BOOL_FIELDS:
                value = _as_bool(value)
        elif isinstance(value, float) and key in _INT_FIELDS and value.is_integer():
            value = int(value)
        params[key] = value
    return params


def _inline_buttons(markup: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not markup:
        return []
    buttons: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            target = button.get("callback_data", button.get("url", ""))
            buttons.append((str(button.get("text", "")), str(target)))
    return buttons


def _check_markup(markup: object) -> JSON | None:
    """Validate a reply_markup the way Telegram does and return it."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if sum(len(r) for r in rows) > 100:
        raise _bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not _BUTTON_URL_RE.fullmatch(str(button["url"])):
                    raise _bad("BUTTON_URL_INVALID")
            elif not any(
                key in button
                for key in (
                    "login_url",
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "switch_inline_query_chosen_chat",
                    "web_app",
                    "copy_text",
                    "callback_game",
                    "pay",
                )
            ):
                raise _bad("text buttons are unallowed in the inline keyboard")
    return markup


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) of a PNG, GIF, JPEG or WebP image, or None if it is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            width = 1 + int.from_bytes(data[24:27], "little")
            height = 1 + int.from_bytes(data[27:30], "little")
            return width, height
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return int(width) & 0x3FFF, int(height) & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + int(length)
    return None


def _strip_reply(message: JSON) -> JSON:
    """Return a copy of a message fit to be embedded as reply_to_message (one level deep)."""
    copied = _json_copy(message)
    copied.pop("reply_to_message", None)
    return copied


def _auto_entities(text: str) -> list[JSON]:
    """Detect the entities a Telegram client marks in typed text: commands, mentions, links."""
    entities: list[JSON] = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup or "url"
        start, end = match.span()
        entities.append(
            {"type": kind, "offset": _u16(text[:start]), "length": _u16(text[start:end])}
        )
    return entities


def _route(path: str) -> tuple[str, str, str] | None:
    """Split a Bot API path: ("file", token, file_path), ("method", token, name) or None."""
    # python-telegram-bot percent-encodes file URLs, the ":" of the token included.
    path = unquote(path)
    _, sep, rest = path.partition("/file/bot")
    if sep:
        token, _, file_path = rest.partition("/")
        return ("file", token, file_path) if file_path else None
    _, sep, rest = path.rpartition("/bot")
    if not sep:
        return None
    token, slash, method = rest.partition("/")
    if not slash or not method or "/" in method:
        return None
    return ("method", token, method)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------


class Sandbox:
    """State of a fake Telegram: users, chats, memberships, messages, the update queue, and a
    log of every Bot API call the bot made."""

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
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.token = token
        self.clock = clock
        self.limits = limits or FloodLimits()
        self.enforce_limits = enforce_limits
        self.queue_updates = queue_updates
        self.max_calls = max_calls
        self.flood_answers = 0
        self.calls: list[Call] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._users: dict[int, SUser] = {}
        self._chats: dict[int, _ChatState] = {}
        self._started: set[int] = set()
        self._blocked: set[int] = set()
        self._queue: list[_Queued] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll_gen = 0
        self._poll_waiters: list[_Waiter] = []
        self._change_waiters: list[_Waiter] = []
        self._next_user_id = 100_000_001
        self._next_group = 1
        self._next_callback = 1
        self._next_file = 1
        self._bot_messages: list[_Msg] = []
        self._files: dict[str, _File] = {}
        self._paths: dict[str, _File] = {}
        self._callbacks: dict[str, _Callback] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._profile: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._webhook: JSON | None = None
        self._faults: list[_Fault] = []
        self._sends_all: deque[float] = deque()
        self._sends_chat: dict[int, deque[float]] = {}
        self._handlers: dict[str, Callable[[JSON, Mapping[str, _Upload]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "pinChatMessage": self._pin_chat_message,
            "unpinChatMessage": self._unpin_chat_message,
            "unpinAllChatMessages": self._unpin_all_chat_messages,
            "leaveChat": self._leave_chat,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getFile": self._get_file,
            "createForumTopic": self._create_forum_topic,
            "setMyName": self._profile_setter("name"),
            "getMyName": self._profile_getter("name"),
            "setMyDescription": self._profile_setter("description"),
            "getMyDescription": self._profile_getter("description"),
            "setMyShortDescription": self._profile_setter("short_description"),
            "getMyShortDescription": self._profile_getter("short_description"),
            "close": self._accept,
            "logOut": self._accept,
        }
        self._canonical = {name.lower(): name for name in self._handlers}

    # -- the bot itself ----------------------------------------------------------------------

    @property
    def bot_user(self) -> SUser:
        """Return the bot as a user."""
        return SUser(self.bot_id, self.bot_name, username=self.bot_username, is_bot=True)

    # -- people and chats --------------------------------------------------------------------

    def user(
        self,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "vi",
        user_id: int | None = None,
    ) -> SUser:
        """Create a Telegram user (who has not opened a private chat with the bot yet)."""
        if username is not None and not _USERNAME_RE.fullmatch(username):
            raise ValueError(f"not a valid Telegram username: {username!r}")
        with self._lock:
            if user_id is None:
                while self._next_user_id in self._users:
                    self._next_user_id += 1
                user_id = self._next_user_id
                self._next_user_id += 1
            elif user_id in self._users or user_id == self.bot_id or user_id <= 0:
                raise ValueError(f"user id {user_id} is taken or invalid")
            if username is not None and any(
                u.username and u.username.lower() == username.lower() for u in self._users.values()
            ):
                raise ValueError(f"username {username!r} is taken")
            created = SUser(user_id, first_name, username, last_name, language_code)
            self._users[user_id] = created
            return created

    def rename(
        self,
        user: SUser,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> SUser:
        """Change a user's profile; later updates carry the new one."""
        if username is not None and not _USERNAME_RE.fullmatch(username):
            raise ValueError(f"not a valid Telegram username: {username!r}")
        with self._lock:
            old = self._known_user(user)
            new = SUser(
                old.id,
                first_name if first_name is not None else old.first_name,
                username if username is not None else old.username,
                last_name if last_name is not None else old.last_name,
                language_code if language_code is not None else old.language_code,
            )
            self._users[old.id] = new
            state = self._chats.get(old.id)
            if state is not None:
                state.chat = self._private_chat_of(new)
            return new

    def group(
        self,
        title: str,
        *,
        creator: SUser,
        admins: Iterable[SUser] = (),
        members: Iterable[SUser] = (),
        supergroup: bool = False,
        forum: bool = False,
        bot_is_admin: bool = True,
        with_bot: bool = True,
        username: str | None = None,
    ) -> SChat:
        """Create a group (or supergroup, or forum) that already has the bot in it."""
        with self._lock:
            for person in (creator, *admins, *members):
                self._known_user(person)
            is_super = supergroup or forum or username is not None
            number = self._next_group
            self._next_group += 1
            chat_id = -1_002_000_000_000 - number if is_super else -4_000_000_000 - number
            chat = SChat(
                chat_id,
                "supergroup" if is_super else "group",
                title=title,
                username=username,
                is_forum=forum,
            )
            state = _ChatState(chat, creator=creator.id, bot_admin_when_added=bot_is_admin)
            state.admins = {a.id for a in admins} - {creator.id}
            state.members = {m.id for m in members} - state.admins - {creator.id}
            if with_bot:
                state.bot_status = "administrator" if bot_is_admin else "member"
            else:
                state.bot_status = "left"
            self._chats[chat_id] = state
            return chat

    def private(self, user: SUser) -> SChat:
        """Return the user's private chat with the bot, opening it if needed."""
        with self._lock:
            return self._open_private(self._known_user(user)).chat

    def has_started(self, user: SUser) -> bool:
        """Return whether the user has opened a private chat with the bot."""
        with self._lock:
            return user.id in self._started

    def role(self, chat: SChat | int, user: SUser) -> Role:
        """Return the user's status in the chat as getChatMember would report it."""
        with self._lock:
            return self._state(chat).role(user.id)

    # -- updates as Telegram sends them ------------------------------------------------------

    def text(
        self,
        user: SUser,
        chat: SChat | int,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        text_mentions: Iterable[SUser] = (),
    ) -> JSON:
        """Send a text message as the user; return the update and queue it for getUpdates."""
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        with self._lock:
            state, sender = self._writable(user, chat)
            message = self._user_message(state, sender, reply_to=reply_to, thread_id=thread_id)
            message["text"] = text
            entities = _auto_entities(text)
            for mentioned in text_mentions:
                entities.append(self._text_mention(text, self._known_user(mentioned)))
            if entities:
                entities.sort(key=lambda e: (e["offset"], -e["length"]))
                message["entities"] = entities
            self._store_user_message(state, message)
            return self._emit("message", message, deliver=self._bot_sees(state, message))

    def photo(
        self, user: SUser, chat: SChat | int, data: bytes, *, caption: str | None = None
    ) -> JSON:
        """Send a photo as the user (the bot can fetch it with getFile)."""
        size = _image_size(data)
        if size is None:
            raise ValueError("not a PNG, GIF, JPEG or WebP image")
        with self._lock:
            state, sender = self._writable(user, chat)
            stored = self._store_file("photo", data, None, "image/jpeg", size)
            message = self._user_message(state, sender)
            message["photo"] = [self._photo_size(stored)]
            self._add_caption(message, caption)
            self._store_user_message(state, message)
            return self._emit("message", message, deliver=self._bot_sees(state, message))

    def document(
        self,
        user: SUser,
        chat: SChat | int,
        data: bytes,
        filename: str,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> JSON:
        """Send a file as the user (the bot can fetch it with getFile)."""
        with self._lock:
            state, sender = self._writable(user, chat)
            stored = self._store_file("document", data, filename, mime_type, None)
            message = self._user_message(state, sender)
            message["document"] = self._document_dict(stored)
            self._add_caption(message, caption)
            self._store_user_message(state, message)
            return self._emit("message", message, deliver=self._bot_sees(state, message))

    def edit(self, update_or_message: Mapping[str, Any], new_text: str) -> JSON:
        """Edit a user's text message; return the edited_message update and queue it."""
        original = update_or_message.get("message") or update_or_message.get("edited_message")
        if original is None:
            original = update_or_message
        with self._lock:
            state = self._state(int(original["chat"]["id"]))
            stored = state.messages.get(int(original["message_id"]))
            if stored is None or stored.deleted or stored.by_bot:
                raise ValueError("only a user's existing message can be edited")
            if "text" not in stored.data:
                raise ValueError("only text messages can be edited this way")
            stored.data["text"] = new_text
            entities = _auto_entities(new_text)
            if entities:
                stored.data["entities"] = entities
            else:
                stored.data.pop("entities", None)
            stored.data["edit_date"] = int(self.clock())
            message = _json_copy(stored.data)
            return self._emit("edited_message", message, deliver=self._bot_sees(state, message))

    def press(
        self,
        user: SUser,
        chat: SChat | int,
        message_id: int,
        data: str,
        *,
        check: bool = True,
    ) -> JSON:
        """Press an inline button of a bot message; return the callback_query update."""
        with self._lock:
            state, sender = self._writable(user, chat)
            stored = state.messages.get(message_id)
            if stored is None or not stored.by_bot:
                raise ValueError(f"no bot message {message_id} in chat {state.chat.id}")
            if check:
                if stored.deleted:
                    raise ValueError(f"message {message_id} was deleted")
                offered = [
                    target for _, target in _inline_buttons(stored.data.get("reply_markup"))
                ]
                if data not in offered:
                    raise ValueError(f"message {message_id} has no button with data {data!r}")
            query_id = str(4_000_000_000_000_000 + self._next_callback)
            self._next_callback += 1
            self._callbacks[query_id] = _Callback(
                query_id, sender.id, state.chat.id, message_id, data
            )
            query: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "message": _json_copy(stored.data),
                "chat_instance": str(abs(state.chat.id) * 7919 % 10**18),
                "data": data,
            }
            return self._emit("callback_query", query, deliver=True)

    def callback_answer(self, query: Mapping[str, Any] | str) -> JSON | None:
        """Return the bot's answerCallbackQuery parameters for a press, or None if unanswered."""
        if isinstance(query, str):
            query_id = query
        else:
            query_id = str(query.get("callback_query", query)["id"])
        with self._lock:
            callback = self._callbacks.get(query_id)
            return dict(callback.answer) if callback and callback.answer is not None else None

    def start_link(self, user: SUser, payload: str) -> JSON:
        """Open a deep link ``t.me/<bot>?start=<payload>``: "/start <payload>" in private."""
        if not _DEEP_LINK_RE.fullmatch(payload):
            raise ValueError("deep-link payloads are 1-64 characters of A-Z, a-z, 0-9, _ and -")
        with self._lock:
            chat = self.private(user)
            return self.text(user, chat, f"/start {payload}")

    def bot_added(self, chat: SChat | int, by: SUser, *, as_admin: bool | None = None) -> JSON:
        """Add the bot to a group; return the my_chat_member update (a service message follows)."""
        with self._lock:
            state = self._state(chat)
            if not state.is_group or state.migrated_to is not None:
                raise ValueError("the bot can only be added to a live group")
            if not state.is_member(by.id):
                raise ValueError("only a member can add the bot")
            old = self._bot_member_dict(state)
            admin = state.bot_admin_when_added if as_admin is None else as_admin
            state.bot_status = "administrator" if admin else "member"
            state.bot_removed_by_other = False
            new = self._bot_member_dict(state)
            update = self._emit("my_chat_member", self._member_update(state, by, old, new))
            service = self._user_message(state, self._known_user(by))
            service["new_chat_members"] = [self.bot_user.to_dict()]
            self._store_user_message(state, service)
            self._emit("message", service)
            return update

    def bot_removed(self, chat: SChat | int, by: SUser) -> JSON:
        """Remove the bot from a group; return the my_chat_member update."""
        with self._lock:
            state = self._state(chat)
            if not state.is_group or not state.bot_in_chat:
                raise ValueError("the bot is not in this group")
            if state.role(by.id) not in ("creator", "administrator"):
                raise ValueError("only an administrator can remove the bot")
            old = self._bot_member_dict(state)
            state.bot_status = "kicked" if state.chat.type == "supergroup" else "left"
            state.bot_removed_by_other = True
            new = self._bot_member_dict(state)
            return self._emit("my_chat_member", self._member_update(state, by, old, new))

    def migrate(self, chat: SChat | int, *, forum: bool = False) -> tuple[SChat, JSON]:
        """Turn a group into a supergroup; return the new chat and the migrate_to update.

        Both service messages are queued as Telegram sends them: ``migrate_to_chat_id`` in the
        old group, then ``migrate_from_chat_id`` in the new supergroup.
        """
        with self._lock:
            old = self._state(chat)
            if old.chat.type != "group" or old.migrated_to is not None:
                raise ValueError("only a basic group can be migrated, once")
            number = self._next_group
            self._next_group += 1
            new_chat = SChat(
                -1_002_000_000_000 - number, "supergroup", title=old.chat.title, is_forum=forum
            )
            new = _ChatState(
                new_chat,
                creator=old.creator,
                admins=set(old.admins),
                members=set(old.members),
                left=set(old.left),
                kicked=set(old.kicked),
                bot_status=old.bot_status,
                bot_admin_when_added=old.bot_admin_when_added,
            )
            self._chats[new_chat.id] = new
            old.migrated_to = new_chat.id
            actor = self._users.get(old.creator or 0, self.bot_user)
            notice = self._user_message(old, actor)
            notice["migrate_to_chat_id"] = new_chat.id
            self._store_user_message(old, notice)
            update = self._emit("message", notice)
            welcome = self._user_message(new, actor)
            welcome["migrate_from_chat_id"] = old.chat.id
            self._store_user_message(new, welcome)
            self._emit("message", welcome)
            return new_chat, update

    def join(self, chat: SChat | int, user: SUser, *, by: SUser | None = None) -> JSON:
        """Add a user to a group; return the new_chat_members service message update."""
        with self._lock:
            state = self._state(chat)
            joined = self._known_user(user)
            if not state.is_group:
                raise ValueError("users join groups, not private chats")
            if state.is_member(joined.id):
                raise ValueError("the user is already a member")
            old = self._member_dict(state, joined.id)
            state.left.discard(joined.id)
            state.kicked.discard(joined.id)
            state.members.add(joined.id)
            actor = self._known_user(by) if by is not None else joined
            self._emit(
                "chat_member",
                self._member_update(state, actor, old, self._member_dict(state, joined.id)),
            )
            service = self._user_message(state, actor)
            service["new_chat_members"] = [joined.to_dict()]
            self._store_user_message(state, service)
            return self._emit("message", service, deliver=state.bot_in_chat)

    def leave(self, chat: SChat | int, user: SUser) -> JSON:
        """Make a user leave a group; return the left_chat_member service message update."""
        with self._lock:
            state = self._state(chat)
            gone = self._known_user(user)
            if not state.is_member(gone.id) or gone.id == state.creator:
                raise ValueError("the user is not a member who can leave")
            old = self._member_dict(state, gone.id)
            state.admins.discard(gone.id)
            state.members.discard(gone.id)
            state.left.add(gone.id)
            self._emit(
                "chat_member",
                self._member_update(state, gone, old, self._member_dict(state, gone.id)),
            )
            service = self._user_message(state, gone)
            service["left_chat_member"] = gone.to_dict()
            self._store_user_message(state, service)
            return self._emit("message", service, deliver=state.bot_in_chat)

    def set_role(
        self, chat: SChat | int, user: SUser, role: Role, *, by: SUser | None = None
    ) -> JSON:
        """Change a user's status in a group; return the chat_member update.

        Like Telegram, chat_member updates reach the bot only if it asks for them in
        ``allowed_updates``.
        """
        with self._lock:
            state = self._state(chat)
            target = self._known_user(user)
            if not state.is_group:
                raise ValueError("roles exist in groups only")
            old = self._member_dict(state, target.id)
            for bucket in (state.admins, state.members, state.left, state.kicked):
                bucket.discard(target.id)
            if role == "creator":
                if state.creator is not None and state.creator != target.id:
                    state.admins.add(state.creator)
                state.creator = target.id
            else:
                if state.creator == target.id:
                    state.creator = None
                {
                    "administrator": state.admins,
                    "member": state.members,
                    "left": state.left,
                    "kicked": state.kicked,
                }[role].add(target.id)
            actor = self._known_user(by) if by is not None else target
            new = self._member_dict(state, target.id)
            return self._emit("chat_member", self._member_update(state, actor, old, new))

    def topic(self, chat: SChat | int, name: str, *, by: SUser | None = None) -> int:
        """Create a forum topic as a user; return its message_thread_id."""
        with self._lock:
            state = self._state(chat)
            if not state.chat.is_forum:
                raise ValueError("topics exist in forum supergroups only")
            actor = self._known_user(by) if by is not None else self._users[state.creator or 0]
            message = self._user_message(state, actor)
            thread_id = int(message["message_id"])
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            message["forum_topic_created"] = {"name": name, "icon_color": 7322096}
            state.topics[thread_id] = name
            self._store_user_message(state, message)
            self._emit("message", message, deliver=state.bot_in_chat)
            return thread_id

    def block(self, user: SUser) -> JSON:
        """Block the bot as the user; private sends then answer 403."""
        with self._lock:
            blocker = self._known_user(user)
            self._blocked.add(blocker.id)
            return self._emit(
                "my_chat_member",
                self._private_member_update(blocker, "member", "kicked"),
            )

    def unblock(self, user: SUser) -> JSON:
        """Unblock the bot as the user."""
        with self._lock:
            blocker = self._known_user(user)
            self._blocked.discard(blocker.id)
            return self._emit(
                "my_chat_member",
                self._private_member_update(blocker, "kicked", "member"),
            )

    def to_update(self, update: Mapping[str, Any], bot: Bot) -> Update:
        """Turn an update dict into a python-telegram-bot Update bound to the bot."""
        return Update.de_json(dict(update), bot)

    def pending(self) -> list[JSON]:
        """Return the updates waiting in the getUpdates queue (copies)."""
        with self._lock:
            return [_json_copy(q.update) for q in self._queue]

    def take(self) -> list[JSON]:
        """Remove and return every update waiting in the getUpdates queue."""
        with self._lock:
            taken = [q.update for q in self._queue]
            self._queue.clear()
            return taken

    def would_receive(self, update: Mapping[str, Any]) -> bool:
        """Return whether Telegram would deliver this update to the bot (privacy mode)."""
        with self._lock:
            message = update.get("message") or update.get("edited_message")
            if message is None:
                return True
            state = self._chats.get(int(message["chat"]["id"]))
            return state is not None and self._bot_sees(state, message)

    # -- what the bot did ----------------------------------------------------------------------

    def calls_for(self, method: str) -> list[Call]:
        """Return the calls of one Bot API method, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent(
        self, chat: SChat | int | None = None, *, method: str | None = None
    ) -> list[SentMessage]:
        """Return the messages, photos and documents the bot sent, oldest first."""
        chat_id = chat.id if isinstance(chat, SChat) else chat
        with self._lock:
            return [
                self._snapshot(m)
                for m in self._bot_messages
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
        with self._lock:
            stored = self._commands.get((self._scope_key(scope), language_code), [])
            return [(c["command"], c["description"]) for c in stored]

    def pinned(self, chat: SChat | int) -> list[int]:
        """Return the ids of the chat's pinned messages, most recent last."""
        with self._lock:
            return list(self._state(chat).pinned)

    def file_bytes(self, file_id: str) -> bytes | None:
        """Return the content of a file the sandbox knows, by file_id."""
        with self._lock:
            stored = self._files.get(file_id)
            return stored.data if stored else None

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait, without blocking the event loop, until the predicate holds.

        Bound the wait with ``asyncio.timeout``; the predicate is checked under the sandbox's
        lock after every recorded call and queued update.
        """
        await self._wait_async(self._change_waiters, predicate)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block this thread until the predicate holds; return whether it did."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

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
            description = _default_description(code, retry_after)
        if code == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.append(
                _Fault(
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
        with self._lock:
            self._faults.append(
                _Fault(
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
        with self._lock:
            self._faults.append(
                _Fault(
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

    # -- internals: update building ------------------------------------------------------------

    def _known_user(self, user: SUser) -> SUser:
        known = self._users.get(user.id)
        if known is None:
            raise ValueError(f"unknown user {user.id}: create users with Sandbox.user()")
        return known

    def _state(self, chat: SChat | int) -> _ChatState:
        chat_id = chat.id if isinstance(chat, SChat) else chat
        state = self._chats.get(chat_id)
        if state is None:
            raise ValueError(f"unknown chat {chat_id}")
        return state

    def _private_chat_of(self, user: SUser) -> SChat:
        return SChat(
            user.id,
            "private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )

    def _open_private(self, user: SUser) -> _ChatState:
        state = self._chats.get(user.id)
        if state is None:
            state = _ChatState(self._private_chat_of(user), members={user.id})
            self._chats[user.id] = state
        self._started.add(user.id)
        return state

    def _writable(self, user: SUser, chat: SChat | int) -> tuple[_ChatState, SUser]:
        """Check that the user can write in the chat as Telegram would allow."""
        sender = self._known_user(user)
        chat_id = chat.id if isinstance(chat, SChat) else chat
        if chat_id == sender.id:
            state = self._open_private(sender)
            if sender.id in self._blocked:
                # Writing to a blocked bot means pressing "Restart": Telegram unblocks it.
                self.unblock(sender)
            return state, sender
        state = self._state(chat_id)
        if not state.is_group:
            raise ValueError("a private chat belongs to its own user")
        if state.migrated_to is not None:
            raise ValueError(f"chat {chat_id} became supergroup {state.migrated_to}")
        if not state.is_member(sender.id):
            raise ValueError(f"user {sender.id} is not a member of chat {chat_id}")
        if not state.bot_in_chat:
            raise ValueError("the bot is not in this chat: Telegram would deliver nothing")
        return state, sender

    def _user_message(
        self,
        state: _ChatState,
        sender: SUser,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        message: JSON = {
            "message_id": state.take_message_id(),
            "from": sender.to_dict(),
            "chat": state.chat.to_dict(),
            "date": int(self.clock()),
        }
        replied: _Msg | None = None
        if reply_to is not None:
            replied = state.messages.get(reply_to)
            if replied is None or replied.deleted:
                raise ValueError(f"no message {reply_to} to reply to in chat {state.chat.id}")
            if thread_id is None:
                thread_id = replied.data.get("message_thread_id")
        if thread_id is not None:
            if state.chat.is_forum and thread_id not in state.topics:
                raise ValueError(f"no topic {thread_id} in chat {state.chat.id}")
            message["message_thread_id"] = thread_id
            if state.chat.is_forum:
                message["is_topic_message"] = True
        if replied is not None:
            message["reply_to_message"] = _strip_reply(replied.data)
        return message

    def _store_user_message(self, state: _ChatState, message: JSON) -> None:
        state.messages[int(message["message_id"])] = _Msg(
            state.chat.id, _json_copy(message), by_bot=False
        )

    def _add_caption(self, message: JSON, caption: str | None) -> None:
        if caption:
            message["caption"] = caption
            entities = _auto_entities(caption)
            if entities:
                message["caption_entities"] = entities

    def _text_mention(self, text: str, user: SUser) -> JSON:
        index = text.find(user.full_name)
        if index < 0:
            raise ValueError(f"{user.full_name!r} does not occur in the text")
        return {
            "type": "text_mention",
            "offset": _u16(text[:index]),
            "length": _u16(user.full_name),
            "user": user.to_dict(),
        }

    def _bot_sees(self, state: _ChatState, message: Mapping[str, Any]) -> bool:
        """Apply privacy mode: a non-admin bot in a group sees commands, replies and mentions."""
        if not state.is_group or state.bot_status == "administrator":
            return True
        if not state.bot_in_chat:
            return False
        text = str(message.get("text") or message.get("caption") or "")
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            target = command.partition("@")[2]
            return not target or target.lower() == self.bot_username.lower()
        replied = message.get("reply_to_message")
        if replied is not None and replied.get("from", {}).get("id") == self.bot_id:
            return True
        if f"@{self.bot_username.lower()}" in text.lower():
            return True
        # What is left to see is service messages (joins, leaves, migrations, topics).
        return not any(key in message for key in _CONTENT_KEYS)

    def _emit(self, kind: str, payload: JSON, *, deliver: bool = True) -> JSON:
        update_id = self._next_update_id
        self._next_update_id += 1
        update: JSON = {"update_id": update_id, kind: _json_copy(payload)}
        if deliver and self.queue_updates:
            self._queue.append(_Queued(update_id, kind, _json_copy(update)))
            self._wake(self._poll_waiters)
            self._notify_change()
        return update

    def _member_dict(self, state: _ChatState, user_id: int) -> JSON:
        role = state.role(user_id)
        user = self._users[user_id].to_dict()
        if role == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if role == "administrator":
            rights = {**_ADMIN_RIGHTS, "can_manage_topics": state.chat.is_forum}
            return {"status": "administrator", "user": user, **rights}
        if role == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": role, "user": user}

    def _bot_member_dict(self, state: _ChatState) -> JSON:
        user = self.bot_user.to_dict()
        if state.bot_status == "administrator":
            rights = {**_ADMIN_RIGHTS, "can_manage_topics": state.chat.is_forum}
            return {"status": "administrator", "user": user, **rights}
        if state.bot_status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": state.bot_status, "user": user}

    def _member_update(self, state: _ChatState, actor: SUser, old: JSON, new: JSON) -> JSON:
        return {
            "chat": state.chat.to_dict(),
            "from": actor.to_dict(),
            "date": int(self.clock()),
            "old_chat_member": old,
            "new_chat_member": new,
        }

    def _private_member_update(self, user: SUser, old: str, new: str) -> JSON:
        bot = self.bot_user.to_dict()

        def member(status: str) -> JSON:
            if status == "kicked":
                return {"status": "kicked", "user": bot, "until_date": 0}
            return {"status": status, "user": bot}

        return {
            "chat": self._private_chat_of(user).to_dict(),
            "from": user.to_dict(),
            "date": int(self.clock()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def _snapshot(self, m: _Msg) -> SentMessage:
        data = m.data
        reply = data.get("reply_to_message")
        return SentMessage(
            method=m.method or "",
            chat_id=m.chat_id,
            message_id=m.message_id,
            text=data.get("text", data.get("caption")),
            raw_text=m.raw_text,
            parse_mode=m.parse_mode,
            entities=tuple(data.get("entities") or data.get("caption_entities") or ()),
            reply_markup=m.raw_markup,
            photo=m.photo,
            document=m.document,
            filename=m.filename,
            mime_type=m.mime_type,
            message_thread_id=data.get("message_thread_id"),
            reply_to_message_id=reply["message_id"] if reply else None,
            date=int(data["date"]),
            edit_date=data.get("edit_date"),
            deleted=m.deleted,
        )

    # -- internals: waiting and recording ------------------------------------------------------

    def _wake(self, waiters: list[_Waiter]) -> None:
        if not waiters:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, future in waiters:
            if loop is running:
                _set_done(future)
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_set_done, future)
        waiters.clear()

    def _notify_change(self) -> None:
        self._cond.notify_all()
        self._wake(self._change_waiters)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        if self.max_calls is not None and len(self.calls) > 2 * self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls]
        self._notify_change()

    # -- internals: the Bot API ----------------------------------------------------------------

    def _handle(
        self,
        token: str,
        method: str,
        raw: Mapping[str, Any],
        files: Mapping[str, _Upload],
        transport: Literal["inproc", "http"],
    ) -> _Answer:
        """Answer one Bot API call as Telegram would, and record it."""
        with self._lock:
            name = self._canonical.get(method.lower(), method)
            params: JSON = dict(raw)
            dropped = False
            fault: _Fault | None = None
            try:
                if token != self.token:
                    raise _ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
                params = _coerce(raw)
                fault = self._take_fault(name, params, connect=False)
                if fault is not None and not fault.drop:
                    raise fault.error()
                if fault is not None and not fault.applied:
                    answer = _Answer(0, {"ok": False, "description": "Timed out"}, dropped=True)
                else:
                    handler = self._handlers.get(name)
                    if handler is None:
                        _log.warning("the sandbox does not implement Bot API method %s", name)
                        raise _ApiError(HTTPStatus.NOT_FOUND, "Not Found: method not found")
                    result = handler(params, files)
                    answer = _Answer(HTTPStatus.OK, {"ok": True, "result": result})
                dropped = fault is not None
            except _ApiError as exc:
                answer = _Answer(exc.code, exc.body())
            self._record(
                Call(
                    method=name,
                    params=params,
                    time=self.clock(),
                    status=answer.status,
                    response=answer.body or {},
                    files={k: (v.filename, v.data) for k, v in files.items()},
                    transport=transport,
                    dropped=dropped,
                )
            )
            stall = fault.stall if fault is not None else 0.0
            return _Answer(answer.status, answer.body, dropped=dropped, stall=stall)

    def _connect_fault(self, method: str, raw: Mapping[str, Any]) -> ConnectFault | None:
        """Take a pending connect fault for this call (the in-process transport asks first)."""
        with self._lock:
            name = self._canonical.get(method.lower(), method)
            try:
                params = _coerce(raw)
            except _ApiError:
                return None
            fault = self._take_fault(name, params, connect=True)
            return fault.connect if fault is not None else None

    def _file_answer(self, token: str, path: str) -> _Answer:
        with self._lock:
            stored = self._paths.get(path)
            if token != self.token:
                return _Answer(HTTPStatus.UNAUTHORIZED, _ApiError(401, "Unauthorized").body())
            if stored is None or stored.data is None:
                return _Answer(HTTPStatus.NOT_FOUND, _ApiError(404, "Not Found").body())
            return _Answer(HTTPStatus.OK, raw=stored.data)

    def _take_fault(
        self, method: str, params: Mapping[str, Any], *, connect: bool
    ) -> _Fault | None:
        for fault in self._faults:
            if (fault.connect is not None) == connect and fault.matches(method, params):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # getUpdates long polling: the transports wait between _begin_poll and _finish_poll.

    def _begin_poll(self, token: str, raw: Mapping[str, Any]) -> int:
        with self._lock:
            self._poll_gen += 1
            if token == self.token and self._webhook is None:
                with contextlib.suppress(_ApiError):
                    self._confirm(_coerce(raw))
            self._wake(self._poll_waiters)
            self._cond.notify_all()
            return self._poll_gen

    def _poll_ready(self, gen: int) -> bool:
        if gen != self._poll_gen or self._webhook is not None:
            return True
        if any(f.matches("getUpdates", {}) for f in self._faults):
            return True
        return any(self._allowed(q.kind) for q in self._queue)

    def _finish_poll(
        self, token: str, gen: int, raw: Mapping[str, Any], transport: Literal["inproc", "http"]
    ) -> _Answer:
        with self._lock:
            if gen != self._poll_gen:
                error = _ApiError(
                    HTTPStatus.CONFLICT,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
                self._record(
                    Call(
                        "getUpdates",
                        dict(raw),
                        self.clock(),
                        error.code,
                        error.body(),
                        transport=transport,
                    )
                )
                return _Answer(error.code, error.body())
            return self._handle(token, "getUpdates", raw, {}, transport)

    def _wait_poll_sync(self, gen: int, timeout: float, stop: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._poll_ready(gen) or stop()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    async def _wait_async(self, waiters: list[_Waiter], predicate: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if predicate():
                    return
                future: asyncio.Future[None] = loop.create_future()
                waiter = (loop, future)
                waiters.append(waiter)
            try:
                await future
            finally:
                with self._lock, contextlib.suppress(ValueError):
                    waiters.remove(waiter)

    def _allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _confirm(self, params: Mapping[str, Any]) -> None:
        """Forget confirmed updates and remember allowed_updates, as getUpdates does."""
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            self._queue = self._queue[offset:]
        elif isinstance(offset, int) and offset > 0:
            self._queue = [q for q in self._queue if q.update_id >= offset]
        self._queue = [q for q in self._queue if self._allowed(q.kind)]

    def _get_updates(self, p: JSON, files: Mapping[str, _Upload]) -> list[JSON]:
        if self._webhook is not None:
            raise _ApiError(
                HTTPStatus.CONFLICT,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self._confirm(p)
        limit = min(max(int(p.get("limit", 100)), 1), 100)
        return [q.update for q in self._queue[:limit]]

    def _get_me(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        return {
            **self.bot_user.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _accept(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        return True

    def _delete_webhook(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        self._webhook = None
        if p.get("drop_pending_updates"):
            self._queue.clear()
        self._cond.notify_all()
        return True

    def _set_webhook(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        url = str(p.get("url", ""))
        if not url:
            return self._delete_webhook(p, files)
        if not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if p.get("drop_pending_updates"):
            self._queue.clear()
        if "allowed_updates" in p:
            allowed = p["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._webhook = {"url": url, "max_connections": int(p.get("max_connections", 40))}
        return True

    def _get_webhook_info(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # chats as the bot addresses them

    def _target(self, p: Mapping[str, Any], *, send: bool = True) -> _ChatState:
        """Resolve chat_id to a chat the bot may act in, or raise Telegram's error."""
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            for candidate in self._chats.values():
                if candidate.chat.username and candidate.chat.username.lower() == name:
                    chat_id = candidate.chat.id
                    break
            else:
                raise _bad("chat not found")
        state = self._chats.get(int(chat_id))
        if state is None:
            if int(chat_id) in self._blocked and send:
                raise _forbidden("bot was blocked by the user")
            if int(chat_id) in self._users and send:
                raise _forbidden("bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if state.migrated_to is not None:
            raise _ApiError(
                HTTPStatus.BAD_REQUEST,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=state.migrated_to,
            )
        if not state.is_group:
            if state.chat.id in self._blocked:
                raise _forbidden("bot was blocked by the user")
            return state
        if not state.bot_in_chat:
            kind = state.chat.type
            if state.bot_removed_by_other:
                raise _forbidden(f"bot was kicked from the {kind} chat")
            raise _forbidden(f"bot is not a member of the {kind} chat")
        return state

    def _message_of(self, state: _ChatState, p: Mapping[str, Any], missing: str) -> _Msg:
        if "inline_message_id" in p:
            raise _bad("inline messages are not supported by the sandbox")
        message_id = p.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        stored = state.messages.get(message_id)
        if stored is None or stored.deleted:
            raise _bad(missing)
        return stored

    def _formatted(
        self, p: Mapping[str, Any], key: str, entities_key: str
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
                raise _bad(f"can't parse entities: {exc}") from None
            return parsed.text, list(parsed.entities) or None
        if mode is not None and str(mode).lower() not in ("markdown", "markdownv2", ""):
            raise _bad("unsupported parse_mode")
        parsed = _trimmed(source, list(p.get(entities_key) or []))
        return parsed.text, list(parsed.entities) or None

    def _text_of(self, p: Mapping[str, Any]) -> tuple[str, list[JSON] | None]:
        text, entities = self._formatted(p, "text", "entities")
        if not text:
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text, entities

    def _caption_of(self, p: Mapping[str, Any]) -> tuple[str | None, list[JSON] | None]:
        caption, entities = self._formatted(p, "caption", "caption_entities")
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return caption or None, entities

    def _reply_of(self, state: _ChatState, p: Mapping[str, Any]) -> _Msg | None:
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
            if _as_bool(reply.get("allow_sending_without_reply", False)):
                return None
            raise _bad("message to be replied not found")
        return stored

    def _thread_of(
        self, state: _ChatState, p: Mapping[str, Any], reply: _Msg | None
    ) -> int | None:
        thread_id = p.get("message_thread_id")
        if thread_id is None:
            if reply is not None and reply.data.get("is_topic_message"):
                return int(reply.data["message_thread_id"])
            return None
        thread_id = int(thread_id)
        known = thread_id in state.topics if state.chat.is_forum else thread_id in state.messages
        if not state.is_group or not known:
            raise _bad("message thread not found")
        return thread_id

    def _check_flood(self, state: _ChatState) -> None:
        """Answer 429 if one more message would break Telegram's limits; else count it."""
        if not self.enforce_limits:
            return
        now = self.clock()
        limits = self.limits
        per_chat = self._sends_chat.setdefault(state.chat.id, deque())
        if state.is_group:
            chat_limit, chat_window = limits.group, limits.group_window
        else:
            chat_limit, chat_window = limits.private, limits.private_window
        waits = [
            _flood_wait(self._sends_all, limits.overall, limits.overall_window, now),
            _flood_wait(per_chat, chat_limit, chat_window, now),
        ]
        wait = max(waits)
        if wait > 0:
            self.flood_answers += 1
            raise _ApiError(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"Too Many Requests: retry after {wait}",
                retry_after=wait,
            )
        self._sends_all.append(now)
        per_chat.append(now)

    def _new_bot_message(
        self, state: _ChatState, method: str, p: Mapping[str, Any], body: JSON
    ) -> _Msg:
        """Check the common send parameters, apply flood control, and store the message."""
        markup = _check_markup(p.get("reply_markup"))
        reply = self._reply_of(state, p)
        thread_id = self._thread_of(state, p, reply)
        self._check_flood(state)
        data: JSON = {
            "message_id": state.take_message_id(),
            "from": self.bot_user.to_dict(),
            "chat": state.chat.to_dict(),
            "date": int(self.clock()),
        }
        if thread_id is not None:
            data["message_thread_id"] = thread_id
            if state.chat.is_forum:
                data["is_topic_message"] = True
        if reply is not None:
            data["reply_to_message"] = _strip_reply(reply.data)
        data.update(body)
        if markup is not None and "inline_keyboard" in markup:
            data["reply_markup"] = markup
        stored = _Msg(
            state.chat.id,
            data,
            by_bot=True,
            method=method,
            parse_mode=p.get("parse_mode"),
            raw_markup=markup,
        )
        state.messages[stored.message_id] = stored
        self._bot_messages.append(stored)
        return stored

    def _send_message(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        state = self._target(p)
        text, entities = self._text_of(p)
        body: JSON = {"text": text}
        if entities:
            body["entities"] = entities
        stored = self._new_bot_message(state, "sendMessage", p, body)
        stored.raw_text = str(p["text"])
        return _json_copy(stored.data)

    def _media(
        self, p: Mapping[str, Any], files: Mapping[str, _Upload], key: str
    ) -> _File | _Upload | str:
        """Resolve a photo or document parameter: an upload, a known file, or a URL."""
        upload = files.get(key)
        value = p.get(key)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            return upload
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if re.match(r"https?://", value):
                return value
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {key} in the request")

    def _send_photo(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        state = self._target(p)
        source = self._media(p, files, "photo")
        if isinstance(source, _Upload):
            if len(source.data) > MAX_PHOTO_BYTES:
                raise _ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
            size = _image_size(source.data)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10_000 or max(width, height) > 20 * max(1, min(width, height)):
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            stored_file = self._store_file(
                "photo", source.data, source.filename, "image/jpeg", size
            )
        elif isinstance(source, str):
            # A URL: Telegram would fetch it; offline there is nothing to fetch.
            stored_file = self._store_file("photo", None, None, "image/jpeg", (1280, 720))
        else:
            stored_file = source
        caption, entities = self._caption_of(p)
        body: JSON = {"photo": [self._photo_size(stored_file)]}
        if caption:
            body["caption"] = caption
        if entities:
            body["caption_entities"] = entities
        stored = self._new_bot_message(state, "sendPhoto", p, body)
        stored.photo = stored_file.data
        stored.raw_text = p.get("caption")
        return _json_copy(stored.data)

    def _send_document(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        state = self._target(p)
        source = self._media(p, files, "document")
        if isinstance(source, _Upload):
            if len(source.data) > MAX_UPLOAD_BYTES:
                raise _ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
            stored_file = self._store_file(
                "document", source.data, source.filename, source.mime_type, None
            )
        elif isinstance(source, str):
            name = source.rsplit("/", 1)[-1] or "file"
            stored_file = self._store_file(
                "document", None, name, "application/octet-stream", None
            )
        else:
            stored_file = source
        caption, entities = self._caption_of(p)
        body: JSON = {"document": self._document_dict(stored_file)}
        if caption:
            body["caption"] = caption
        if entities:
            body["caption_entities"] = entities
        stored = self._new_bot_message(state, "sendDocument", p, body)
        stored.document = stored_file.data
        stored.filename = stored_file.filename
        stored.mime_type = stored_file.mime_type
        stored.raw_text = p.get("caption")
        return _json_copy(stored.data)

    def _store_file(
        self,
        kind: str,
        data: bytes | None,
        filename: str | None,
        mime_type: str | None,
        size: tuple[int, int] | None,
    ) -> _File:
        number = self._next_file
        self._next_file += 1
        prefix = "AgAC" if kind == "photo" else "BQAC"
        if kind == "photo":
            path = f"photos/file_{number}.jpg"
        else:
            suffix = filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin"
            path = f"documents/file_{number}.{suffix}"
        stored = _File(
            file_id=f"{prefix}SBX{number:010d}",
            unique_id=f"AQADSBX{number:08d}",
            path=path,
            data=data,
            filename=filename,
            mime_type=mime_type,
            width=size[0] if size else 0,
            height=size[1] if size else 0,
        )
        self._files[stored.file_id] = stored
        self._paths[path] = stored
        return stored

    def _photo_size(self, stored: _File) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": stored.width,
            "height": stored.height,
            "file_size": len(stored.data or b""),
        }

    def _document_dict(self, stored: _File) -> JSON:
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data or b""),
        }
        if stored.filename:
            document["file_name"] = stored.filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _get_file(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        stored = self._files.get(str(p.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.data is not None and len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data or b""),
            "file_path": stored.path,
        }

    # editing

    def _editable(self, p: Mapping[str, Any]) -> _Msg:
        state = self._target(p)
        stored = self._message_of(state, p, "message to edit not found")
        if not stored.by_bot:
            raise _bad("message can't be edited")
        return stored

    def _apply_edit(self, stored: _Msg, p: Mapping[str, Any], changes: JSON) -> JSON:
        """Apply an edit unless it changes nothing; an edit without markup drops the keyboard."""
        markup = _check_markup(p.get("reply_markup"))
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        before = {k: stored.data.get(k) for k in changes}
        if before == changes and stored.data.get("reply_markup") == inline:
            raise _bad(
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
        stored.data["edit_date"] = int(self.clock())
        return _json_copy(stored.data)

    def _edit_message_text(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        stored = self._editable(p)
        if "text" not in stored.data:
            raise _bad("there is no text in the message to edit")
        text, entities = self._text_of(p)
        result = self._apply_edit(stored, p, {"text": text, "entities": entities})
        stored.raw_text = str(p["text"])
        stored.parse_mode = p.get("parse_mode")
        return result

    def _edit_message_caption(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        stored = self._editable(p)
        if "text" in stored.data:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._caption_of(p)
        result = self._apply_edit(stored, p, {"caption": caption, "caption_entities": entities})
        stored.raw_text = p.get("caption")
        stored.parse_mode = p.get("parse_mode")
        return result

    def _edit_message_reply_markup(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        return self._apply_edit(self._editable(p), p, {})

    def _delete_message(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        state = self._target(p)
        stored = self._message_of(state, p, "message to delete not found")
        if not stored.by_bot and state.is_group and state.bot_status != "administrator":
            raise _bad("message can't be deleted")
        stored.deleted = True
        if stored.message_id in state.pinned:
            state.pinned.remove(stored.message_id)
        return True

    def _send_chat_action(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        self._target(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _answer_callback_query(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        callback = self._callbacks.get(str(p.get("callback_query_id", "")))
        if callback is None or callback.answer is not None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(p.get("text", ""))) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        callback.answer = {k: v for k, v in p.items() if k != "callback_query_id"}
        return True

    # commands and profile

    def _scope_key(self, scope: Mapping[str, Any] | None) -> str:
        return json.dumps(dict(scope or {"type": "default"}), sort_keys=True)

    def _commands_key(self, p: Mapping[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise _bad("can't parse BotCommandScope JSON object")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            self._target(scope, send=False)
        if scope["type"] == "chat_member" and not isinstance(scope.get("user_id"), int):
            raise _bad("user not found")
        language = str(p.get("language_code", ""))
        if language and not _LANGUAGE_RE.fullmatch(language):
            raise _bad("LANG_CODE_INVALID")
        return self._scope_key(scope), language

    def _set_my_commands(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        clean: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not _COMMAND_NAME_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be non-empty")
            clean.append({"command": name, "description": description})
        key = self._commands_key(p)
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    def _delete_my_commands(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    def _get_my_commands(self, p: JSON, files: Mapping[str, _Upload]) -> list[JSON]:
        return [dict(c) for c in self._commands.get(self._commands_key(p), [])]

    def _profile_setter(self, field_name: str) -> Callable[[JSON, Mapping[str, _Upload]], bool]:
        def setter(p: JSON, files: Mapping[str, _Upload]) -> bool:
            language = str(p.get("language_code", ""))
            value = str(p.get(field_name, ""))
            if value:
                self._profile[(field_name, language)] = value
            else:
                self._profile.pop((field_name, language), None)
            return True

        return setter

    def _profile_getter(self, field_name: str) -> Callable[[JSON, Mapping[str, _Upload]], JSON]:
        def getter(p: JSON, files: Mapping[str, _Upload]) -> JSON:
            language = str(p.get("language_code", ""))
            default = self.bot_name if field_name == "name" else ""
            value = self._profile.get((field_name, language), self._profile.get((field_name, "")))
            return {field_name: value if value is not None else default}

        return getter

    # chat information and management

    def _get_chat(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        state = self._target(p, send=False)
        info: JSON = {
            **state.chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if state.pinned:
            pinned = state.messages[state.pinned[-1]]
            info["pinned_message"] = _strip_reply(pinned.data)
        return info

    def _get_chat_member(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        state = self._target(p, send=False)
        user_id = p.get("user_id")
        if not isinstance(user_id, int):
            raise _bad("invalid user_id specified")
        if user_id == self.bot_id:
            return self._bot_member_dict(state)
        if user_id not in self._users:
            raise _bad("user not found")
        if not state.is_group:
            if user_id != state.chat.id:
                raise _bad("user not found")
            return {"status": "member", "user": self._users[user_id].to_dict()}
        return self._member_dict(state, user_id)

    def _get_chat_administrators(self, p: JSON, files: Mapping[str, _Upload]) -> list[JSON]:
        state = self._target(p, send=False)
        if not state.is_group:
            raise _bad("there are no administrators in the private chat")
        admins = [self._member_dict(state, state.creator)] if state.creator else []
        admins += [self._member_dict(state, a) for a in sorted(state.admins)]
        if state.bot_status == "administrator":
            admins.append(self._bot_member_dict(state))
        return admins

    def _get_chat_member_count(self, p: JSON, files: Mapping[str, _Upload]) -> int:
        state = self._target(p, send=False)
        if not state.is_group:
            return 2
        people = len(state.admins) + len(state.members) + (1 if state.creator else 0)
        return people + (1 if state.bot_in_chat else 0)

    def _pin_chat_message(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        state = self._target(p)
        if state.is_group and state.bot_status != "administrator":
            raise _bad("not enough rights to manage pinned messages in the chat")
        stored = self._message_of(state, p, "message to pin not found")
        if stored.message_id in state.pinned:
            state.pinned.remove(stored.message_id)
        state.pinned.append(stored.message_id)
        return True

    def _unpin_chat_message(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        state = self._target(p)
        if state.is_group and state.bot_status != "administrator":
            raise _bad("not enough rights to manage pinned messages in the chat")
        message_id = p.get("message_id")
        if message_id is None:
            if state.pinned:
                state.pinned.pop()
        elif message_id in state.pinned:
            state.pinned.remove(message_id)
        else:
            raise _bad("message to unpin not found")
        return True

    def _unpin_all_chat_messages(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        state = self._target(p)
        if state.is_group and state.bot_status != "administrator":
            raise _bad("not enough rights to manage pinned messages in the chat")
        state.pinned.clear()
        return True

    def _leave_chat(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        state = self._target(p, send=False)
        if not state.is_group:
            raise _bad("chat member status can't be changed in private chats")
        if not state.bot_in_chat:
            raise _forbidden(f"bot is not a member of the {state.chat.type} chat")
        old = self._bot_member_dict(state)
        state.bot_status = "left"
        state.bot_removed_by_other = False
        self._emit(
            "my_chat_member",
            self._member_update(state, self.bot_user, old, self._bot_member_dict(state)),
        )
        return True

    def _set_chat_menu_button(self, p: JSON, files: Mapping[str, _Upload]) -> bool:
        chat_id: int | None = None
        if "chat_id" in p:
            chat_id = self._target(p, send=False).chat.id
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        chat_id: int | None = None
        if "chat_id" in p:
            chat_id = self._target(p, send=False).chat.id
        fallback = self._menu_buttons.get(None, {"type": "commands"})
        return dict(self._menu_buttons.get(chat_id, fallback))

    def _create_forum_topic(self, p: JSON, files: Mapping[str, _Upload]) -> JSON:
        state = self._target(p)
        if not state.chat.is_forum:
            raise _bad("the chat is not a forum")
        if state.bot_status != "administrator":
            raise _bad("not enough rights to create a topic")
        name = str(p.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY")
        icon_color = int(p.get("icon_color", 7322096))
        message_id = state.take_message_id()
        data: JSON = {
            "message_id": message_id,
            "from": self.bot_user.to_dict(),
            "chat": state.chat.to_dict(),
            "date": int(self.clock()),
            "message_thread_id": message_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": icon_color},
        }
        state.messages[message_id] = _Msg(state.chat.id, data, by_bot=True)
        state.topics[message_id] = name
        return {"message_thread_id": message_id, "name": name, "icon_color": icon_color}


def _default_description(code: int, retry_after: int | None) -> str:
    if code == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if code == HTTPStatus.FORBIDDEN:
        return "Forbidden: bot was blocked by the user"
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"Error {code}"


def _flood_wait(times: deque[float], limit: int, window: float, now: float) -> int:
    """Return the whole seconds to wait before one more send fits in the window (0 if it does)."""
    while times and times[0] <= now - window:
        times.popleft()
    if len(times) < limit:
        return 0
    frees_at = times[len(times) - limit] + window
    # Rounding first keeps float noise in epoch timestamps from adding a whole second.
    return max(1, math.ceil(round(frees_at - now, 3)))


# ---------------------------------------------------------------------------------------------
# In-process transport
# ---------------------------------------------------------------------------------------------


def _uploads(request_data: RequestData | None) -> dict[str, _Upload]:
    if request_data is None or not request_data.contains_files:
        return {}
    uploads: dict[str, _Upload] = {}
    for name, spec in request_data.multipart_data.items():
        filename, content, mime_type = spec[0], spec[1], spec[2] if len(spec) > 2 else None
        if not isinstance(content, bytes):
            content = _read_all(content)
        uploads[name] = _Upload(filename or name, content, mime_type or "application/octet-stream")
    return uploads


def _read_all(handle: IO[bytes]) -> bytes:
    data = handle.read()
    return data if isinstance(data, bytes) else bytes(data)


class SandboxRequest(BaseRequest):
    """In-process transport: answers every Bot API call from the Sandbox."""

    def __init__(
        self, sandbox: Sandbox, *, latency: float = 0.0, read_timeout: float | None = 5.0
    ) -> None:
        self.sandbox = sandbox
        self.latency = latency
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout, as python-telegram-bot requires."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open nothing: the sandbox needs no connection."""

    async def shutdown(self) -> None:
        """Close nothing: the sandbox needs no connection."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one request from the sandbox and return (HTTP status, JSON bytes)."""
        # Yield like a network round trip would, so concurrent tasks interleave realistically.
        await asyncio.sleep(self.latency)
        route = _route(urlsplit(url).path)
        if route is None:
            return HTTPStatus.NOT_FOUND, b'{"ok":false,"error_code":404,"description":"Not Found"}'
        kind, token, name = route
        if kind == "file":
            return self._result(self.sandbox._file_answer(token, name))
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        if name.lower() == "getupdates":
            gen = self.sandbox._begin_poll(token, params)
            seconds = _poll_timeout(params)
            if seconds > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(seconds):
                        await self.sandbox._wait_async(
                            self.sandbox._poll_waiters, lambda: self.sandbox._poll_ready(gen)
                        )
            answer = self.sandbox._finish_poll(token, gen, params, "inproc")
        else:
            connect = self.sandbox._connect_fault(name, params)
            if connect is not None:
                _raise_connect_fault(connect)
            answer = self.sandbox._handle(token, name, params, _uploads(request_data), "inproc")
        return self._result(answer)

    @staticmethod
    def _result(answer: _Answer) -> tuple[int, bytes]:
        if answer.dropped:
            # What HTTPXRequest raises when the answer does not come back in time.
            raise TimedOut("Timed out (the sandbox dropped the answer)") from httpx.ReadTimeout(
                "the sandbox dropped the answer"
            )
        return answer.status, answer.payload


def _raise_connect_fault(kind: ConnectFault) -> None:
    """Raise what python-telegram-bot's HTTPXRequest raises when a request never left."""
    if kind == "connect_timeout":
        raise TimedOut("Timed out") from httpx.ConnectTimeout("connect timed out (sandbox)")
    if kind == "pool_timeout":
        raise TimedOut(
            "Pool timeout: All connections in the connection pool are occupied. "
            "Request was *not* sent to Telegram."
        ) from httpx.PoolTimeout("no connection free in the pool (sandbox)")
    raise NetworkError("httpx.ConnectError: connection refused (sandbox)") from httpx.ConnectError(
        "connection refused (sandbox)"
    )


def _poll_timeout(params: Mapping[str, Any]) -> float:
    value = params.get("timeout", 0)
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0


# ---------------------------------------------------------------------------------------------
# HTTP transport
# ---------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox
        self.stopping = False
        # Open client connections, so that `SandboxServer.refuse` can cut them like a network.
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.live_lock:
            self.live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.live_lock:
            self.live.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Close every open client connection (a client sees its peer go away)."""
        with self.live_lock:
            live, self.live = set(self.live), set()
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid long-poll is normal; keep stderr quiet.
        _log.debug("sandbox HTTP error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("sandbox HTTP: " + format, *args)

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        parts = urlsplit(self.path)
        body = self._read_body()
        route = _route(parts.path)
        if route is None:
            self._reply(_Answer(HTTPStatus.NOT_FOUND, _ApiError(404, "Not Found").body()))
            return
        kind, token, name = route
        if kind == "file":
            self._reply(sandbox._file_answer(token, name))
            return
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        files: dict[str, _Upload] = {}
        try:
            self._parse_body(body, params, files)
        except ValueError as exc:
            self._reply(_Answer(HTTPStatus.BAD_REQUEST, _bad(str(exc)).body()))
            return
        if name.lower() == "getupdates":
            gen = sandbox._begin_poll(token, params)
            timeout = _poll_timeout(_safe_coerce(params))
            if timeout > 0:
                sandbox._wait_poll_sync(gen, timeout, lambda: self.server.stopping)
            answer = sandbox._finish_poll(token, gen, params, "http")
        else:
            answer = sandbox._handle(token, name, params, files, "http")
        if answer.dropped:
            # The call was read (and, if applied, carried out); the answer never comes back.
            deadline = time.monotonic() + answer.stall
            while time.monotonic() < deadline and not self.server.stopping:
                time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
            self.close_connection = True
            return
        self._reply(answer)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _parse_body(self, body: bytes, params: dict[str, Any], files: dict[str, _Upload]) -> None:
        if not body:
            return
        content_type = self.headers.get("Content-Type", "")
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json":
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError("can't parse JSON object")
            params.update(decoded)
        elif mime == "multipart/form-data":
            _parse_multipart(body, content_type, params, files)
        else:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))

    def _reply(self, answer: _Answer) -> None:
        payload = answer.payload
        self.send_response(answer.status)
        content_type = "application/octet-stream" if answer.raw is not None else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _safe_coerce(params: Mapping[str, Any]) -> JSON:
    try:
        return _coerce(params)
    except _ApiError:
        return {}


def _header_params(value: str) -> _MimeHeaders:
    headers = _MimeHeaders()
    headers["Content-Disposition"] = value
    return headers


def _parse_multipart(
    body: bytes, content_type: str, params: dict[str, Any], files: dict[str, _Upload]
) -> None:
    """Split a multipart/form-data body into fields and uploaded files."""
    boundary = _header_params(content_type).get_param("boundary", header="content-disposition")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get_param("name", header="content-disposition")
        filename = disposition.get_filename()
        if not isinstance(name, str):
            continue
        if filename is not None:
            mime_type = headers.get("content-type", "application/octet-stream")
            files[name] = _Upload(filename, content, mime_type)
        else:
            params[name] = content.decode("utf-8")


class SandboxServer:
    """The sandbox served over HTTP on localhost, as python-telegram-bot's ``base_url`` wants."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self._address = (host, port)
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """Return the port the server listens (or listened, and will listen again) on."""
        if self._server is not None:
            return int(self._server.server_address[1])
        if self._address[1]:
            return self._address[1]
        raise RuntimeError("the sandbox server is not running")

    @property
    def base_url(self) -> str:
        """Return the Bot API base URL, e.g. ``http://127.0.0.1:PORT/bot``."""
        return f"http://{self._address[0]}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Return the file download base URL, e.g. ``http://127.0.0.1:PORT/file/bot``."""
        return f"http://{self._address[0]}:{self.port}/file/bot"

    def start(self) -> str:
        """Start serving in a background thread; return the base URL.

        After `stop` or `refuse` it listens again on the same port.
        """
        if self._server is None:
            self._server = _HTTPServer(self._address, self.sandbox)
            # Keep the port, so that a restart is reached at the same base URL.
            self._address = (self._address[0], int(self._server.server_address[1]))
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="kpibot-sandbox-http",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving, ending pending long polls."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping = True
        with self.sandbox._cond:
            self.sandbox._cond.notify_all()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def refuse(self) -> None:
        """Stop listening and cut open connections: new calls fail to connect (`start` undoes).

        A client then sees ``httpx.ConnectError`` (python-telegram-bot: ``NetworkError``): the
        request never reached Telegram.
        """
        server = self._server
        self.stop()
        if server is not None:
            server.cut_connections()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


# ---------------------------------------------------------------------------------------------
# Helpers for tests and the demo
# ---------------------------------------------------------------------------------------------


async def deliver(
    app: Application[Any, Any, Any, Any, Any, Any], update: Mapping[str, Any]
) -> None:
    """Hand one update dict to the application, as the updater would."""
    await app.process_update(Update.de_json(dict(update), app.bot))
