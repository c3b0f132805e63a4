"""Offline stand-in for the Telegram Bot API.

A :class:`Sandbox` holds the state of a small fake Telegram (users, chats, memberships, messages,
the ``getUpdates`` queue), answers Bot API calls the way Telegram does, and records every call the
bot made. The real python-telegram-bot ``Application`` reaches it either in process, through
:class:`SandboxRequest` (a ``telegram.request.BaseRequest``), or over HTTP on localhost, through
:meth:`Sandbox.serve`, so that a separately started ``kpibot run`` can be pointed at it.

The package, from the outside in:

- ``sandbox``: the :class:`Sandbox` test API (what the bot did, faults to inject), on top of
  ``users`` (what users do: texts, edits, presses, joins, the bot added or removed);
- ``transport`` (in process) and ``server`` (HTTP), both answering through ``api``: the method
  table, one call answered and recorded, long polling;
- one module per Bot API method family: ``updates`` (getUpdates, getMe, webhooks),
  ``messages`` (send, edit, delete, flood control), ``files`` (photos, documents, getFile),
  ``callbacks``, ``commands`` (command menus, profile texts), ``chats`` (members, pins, topics);
- ``state`` (the world they all change), ``types`` (public values), ``html`` (Telegram's HTML
  parse mode), ``wire`` (errors, parameters, markup, images as the Bot API has them).

Deliberate limits: Markdown parse modes are accepted but not parsed (the project uses HTML),
inline mode, payments, media groups and webhook delivery are not implemented, and a method the
sandbox does not know answers 404 like an unknown method does on Telegram.

It imports only the standard library, ``telegram`` and ``httpx`` (whose errors
python-telegram-bot wraps), since it ships with the product for ``kpibot demo``.
"""

from bot.sandbox.html import ParsedText, TelegramHtmlError, parse_telegram_html
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.server import SandboxServer
from bot.sandbox.transport import SandboxRequest, deliver
from bot.sandbox.types import (
    JSON,
    LIMITED_METHODS,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_DOWNLOAD_BYTES,
    MAX_PHOTO_BYTES,
    MAX_TEXT_LENGTH,
    MAX_UPLOAD_BYTES,
    Call,
    ConnectFault,
    FloodLimits,
    ManualClock,
    Role,
    SChat,
    SentMessage,
    SUser,
)

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
    "ParsedText",
    "Role",
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
