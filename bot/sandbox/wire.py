"""The Bot API's wire format: errors as Telegram words them, parameters, markup, images, paths."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import unquote

from bot.sandbox.types import JSON, MAX_CALLBACK_DATA_BYTES

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


_BUTTON_URL_RE: Final = re.compile(r"(https?://[^\s/]+\S*|tg://\S+)", re.IGNORECASE)


class ApiError(Exception):
    """An error answer, raised inside method handlers and turned into Telegram's JSON."""

    def __init__(self, code: int, description: str, **parameters: int) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """Return the error as Telegram's JSON answer."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad(description: str) -> ApiError:
    """Return a 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {description}")


def forbidden(description: str) -> ApiError:
    """Return a 403 error with Telegram's "Forbidden: " prefix."""
    return ApiError(HTTPStatus.FORBIDDEN, f"Forbidden: {description}")


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    mime_type: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: JSON | None = None
    raw: bytes | None = None
    dropped: bool = False
    stall: float = 0.0

    @property
    def payload(self) -> bytes:
        """Return the answer's bytes."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


def json_copy(value: JSON) -> JSON:
    """Return a deep copy of a JSON value."""
    copied: JSON = json.loads(json.dumps(value))
    return copied


def as_bool(value: object) -> bool:
    """Read a boolean the way the Bot API reads form fields."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def coerce(raw: Mapping[str, Any]) -> JSON:
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
                        raise bad("can't parse reply keyboard markup JSON object") from None
                    raise bad(f"can't parse {key} JSON object") from None
            elif key in _INT_FIELDS:
                text = value.strip()
                if re.fullmatch(r"-?\d+", text):
                    value = int(text)
                elif key != "chat_id":
                    raise bad(f"invalid {key} specified")
            elif key in _BOOL_FIELDS:
                value = as_bool(value)
        elif isinstance(value, float) and key in _INT_FIELDS and value.is_integer():
            value = int(value)
        params[key] = value
    return params


def check_markup(markup: object) -> JSON | None:
    """Validate a reply_markup the way Telegram does and return it."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if sum(len(r) for r in rows) > 100:
        raise bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad("can't parse inline keyboard button: Text buttons are unallowed")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not _BUTTON_URL_RE.fullmatch(str(button["url"])):
                    raise bad("BUTTON_URL_INVALID")
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
                raise bad("text buttons are unallowed in the inline keyboard")
    return markup


def image_size(data: bytes) -> tuple[int, int] | None:
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
    """Return (width, height) from a JPEG's start-of-frame marker."""
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


def strip_reply(message: JSON) -> JSON:
    """Return a copy of a message fit to be embedded as reply_to_message (one level deep)."""
    copied = json_copy(message)
    copied.pop("reply_to_message", None)
    return copied


def route(path: str) -> tuple[str, str, str] | None:
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


def default_description(code: int, retry_after: int | None) -> str:
    """Return Telegram's wording for an error code."""
    if code == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if code == HTTPStatus.FORBIDDEN:
        return "Forbidden: bot was blocked by the user"
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"Error {code}"
