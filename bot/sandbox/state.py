"""The fake Telegram's state: chats, stored messages and files, faults, and the world."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from bot.sandbox.types import (
    JSON,
    Call,
    ConnectFault,
    FloodLimits,
    Role,
    SChat,
    SentMessage,
    SUser,
)
from bot.sandbox.wire import ApiError, Upload, bad, forbidden, json_copy

# Telegram leaves these out of getUpdates unless the bot asks for them by name.
OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


ADMIN_RIGHTS: Final[JSON] = {
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
CONTENT_KEYS: Final = ("text", "caption", "photo", "document")


@dataclass
class Fault:
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
        """Return whether the fault applies to this call."""
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id

    def error(self) -> ApiError:
        """Return the error this fault answers with."""
        if self.retry_after is not None:
            return ApiError(self.code, self.description, retry_after=self.retry_after)
        return ApiError(self.code, self.description)


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    path: str
    data: bytes | None
    filename: str | None
    mime_type: str | None
    width: int = 0
    height: int = 0


@dataclass
class StoredMessage:
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
        """Return the message id."""
        return int(self.data["message_id"])


@dataclass
class ChatState:
    chat: SChat
    creator: int | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    left: set[int] = field(default_factory=set)
    kicked: set[int] = field(default_factory=set)
    bot_status: str = "member"
    # Rights an administrator bot lacks here (e.g. ``{"can_pin_messages": False}``).
    bot_rights: dict[str, bool] = field(default_factory=dict)
    bot_admin_when_added: bool = True
    bot_removed_by_other: bool = False
    migrated_to: int | None = None
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        """Return whether the chat is a group or supergroup."""
        return self.chat.type != "private"

    @property
    def bot_in_chat(self) -> bool:
        """Return whether the bot is in the chat now."""
        return self.bot_status in ("member", "administrator")

    def role(self, user_id: int) -> Role:
        """Return the user's status in the chat."""
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
        """Return whether the user is in the chat now."""
        return self.role(user_id) in ("creator", "administrator", "member")

    def take_message_id(self) -> int:
        """Return the chat's next message id and count it."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class Callback:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: JSON | None = None


@dataclass(frozen=True)
class Queued:
    update_id: int
    kind: str
    update: JSON


def _set_done(future: asyncio.Future[None]) -> None:
    """Resolve a waiter's future unless it is done already."""
    if not future.done():
        future.set_result(None)


Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]
Files = Mapping[str, Upload]


class World:
    """The state of a fake Telegram: users, chats, memberships, messages, files, the update
    queue, injected faults and flood counters, and the log of every Bot API call the bot made.

    Every reader and writer holds ``lock``; the Bot API method families and the user side
    change it, the transports wait on it.
    """

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
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.users: dict[int, SUser] = {}
        self.chats: dict[int, ChatState] = {}
        self.started: set[int] = set()
        self.blocked: set[int] = set()
        self.queue: list[Queued] = []
        self.next_update_id = 100_000_001
        self.allowed_updates: frozenset[str] | None = None
        self.poll_gen = 0
        self.poll_waiters: list[Waiter] = []
        self.change_waiters: list[Waiter] = []
        self.next_user_id = 100_000_001
        self.next_group = 1
        self.next_callback = 1
        self.next_file = 1
        self.bot_messages: list[StoredMessage] = []
        self.stored_files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, StoredFile] = {}
        self.callbacks: dict[str, Callback] = {}
        self.command_menus: dict[tuple[str, str], list[JSON]] = {}
        self.profile: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.webhook: JSON | None = None
        self.faults: list[Fault] = []
        self.sends_all: deque[float] = deque()
        self.sends_chat: dict[int, deque[float]] = {}

    # -- people and chats ---------------------------------------------------------------------

    @property
    def bot_user(self) -> SUser:
        """Return the bot as a user."""
        return SUser(self.bot_id, self.bot_name, username=self.bot_username, is_bot=True)

    def known_user(self, user: SUser) -> SUser:
        """Return the current profile of a user the sandbox knows, or raise."""
        known = self.users.get(user.id)
        if known is None:
            raise ValueError(f"unknown user {user.id}: create users with Sandbox.user()")
        return known

    def chat_state(self, chat: SChat | int) -> ChatState:
        """Return the state of a chat the sandbox knows, or raise."""
        chat_id = chat.id if isinstance(chat, SChat) else chat
        state = self.chats.get(chat_id)
        if state is None:
            raise ValueError(f"unknown chat {chat_id}")
        return state

    def private_chat_of(self, user: SUser) -> SChat:
        """Return the user's private chat with the bot."""
        return SChat(
            user.id,
            "private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )

    def open_private(self, user: SUser) -> ChatState:
        """Open the user's private chat with the bot (pressing Start)."""
        state = self.chats.get(user.id)
        if state is None:
            state = ChatState(self.private_chat_of(user), members={user.id})
            self.chats[user.id] = state
        self.started.add(user.id)
        return state

    def bot_sees(self, state: ChatState, message: Mapping[str, Any]) -> bool:
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
        return not any(key in message for key in CONTENT_KEYS)

    def emit(self, kind: str, payload: JSON, *, deliver: bool = True) -> JSON:
        """Build an update and queue it for getUpdates if the bot would receive it."""
        update_id = self.next_update_id
        self.next_update_id += 1
        update: JSON = {"update_id": update_id, kind: json_copy(payload)}
        if deliver and self.queue_updates:
            self.queue.append(Queued(update_id, kind, json_copy(update)))
            self.wake(self.poll_waiters)
            self.notify_change()
        return update

    def member_dict(self, state: ChatState, user_id: int) -> JSON:
        """Return a user's ``ChatMember`` object in a chat."""
        role = state.role(user_id)
        user = self.users[user_id].to_dict()
        if role == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if role == "administrator":
            rights = {**ADMIN_RIGHTS, "can_manage_topics": state.chat.is_forum}
            return {"status": "administrator", "user": user, **rights}
        if role == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": role, "user": user}

    def bot_member_dict(self, state: ChatState) -> JSON:
        """Return the bot's ``ChatMember`` object in a chat."""
        user = self.bot_user.to_dict()
        if state.bot_status == "administrator":
            rights = {**ADMIN_RIGHTS, "can_manage_topics": state.chat.is_forum, **state.bot_rights}
            return {"status": "administrator", "user": user, **rights}
        if state.bot_status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": state.bot_status, "user": user}

    def bot_can(self, state: ChatState, right: str) -> bool:
        """Return whether the bot is an administrator of the group with this right."""
        return state.bot_status == "administrator" and state.bot_rights.get(right, True)

    def member_update(self, state: ChatState, actor: SUser, old: JSON, new: JSON) -> JSON:
        """Return a ``ChatMemberUpdated`` object for a group."""
        return {
            "chat": state.chat.to_dict(),
            "from": actor.to_dict(),
            "date": int(self.clock()),
            "old_chat_member": old,
            "new_chat_member": new,
        }

    def private_member_update(self, user: SUser, old: str, new: str) -> JSON:
        """Return the ``ChatMemberUpdated`` of a user blocking or unblocking the bot."""
        bot = self.bot_user.to_dict()

        def member(status: str) -> JSON:
            if status == "kicked":
                return {"status": "kicked", "user": bot, "until_date": 0}
            return {"status": status, "user": bot}

        return {
            "chat": self.private_chat_of(user).to_dict(),
            "from": user.to_dict(),
            "date": int(self.clock()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def snapshot(self, m: StoredMessage) -> SentMessage:
        """Return a stored bot message as the test API shows it."""
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

    # -- waiting and recording ----------------------------------------------------------------

    def wake(self, waiters: list[Waiter]) -> None:
        """Resolve the waiters' futures, each on its own event loop."""
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

    def notify_change(self) -> None:
        """Wake whoever waits for a call or an update."""
        self.cond.notify_all()
        self.wake(self.change_waiters)

    def record(self, call: Call) -> None:
        """Log a call, keeping the log within ``max_calls``."""
        self.calls.append(call)
        if self.max_calls is not None and len(self.calls) > 2 * self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls]
        self.notify_change()

    # -- what Bot API methods share -----------------------------------------------------------

    def take_fault(self, method: str, params: Mapping[str, Any], *, connect: bool) -> Fault | None:
        """Take the first pending fault that matches the call, counting it down."""
        for fault in self.faults:
            if (fault.connect is not None) == connect and fault.matches(method, params):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def wait_async(self, waiters: list[Waiter], predicate: Callable[[], bool]) -> None:
        """Wait on the event loop, registered among ``waiters``, until the predicate holds."""
        loop = asyncio.get_running_loop()
        while True:
            with self.lock:
                if predicate():
                    return
                future: asyncio.Future[None] = loop.create_future()
                waiter = (loop, future)
                waiters.append(waiter)
            try:
                await future
            finally:
                with self.lock, contextlib.suppress(ValueError):
                    waiters.remove(waiter)

    def allowed(self, kind: str) -> bool:
        """Return whether getUpdates delivers updates of this kind."""
        if self.allowed_updates is None:
            return kind not in OPT_IN_UPDATES
        return kind in self.allowed_updates

    def confirm(self, params: Mapping[str, Any]) -> None:
        """Forget confirmed updates and remember allowed_updates, as getUpdates does."""
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self.allowed_updates = frozenset(allowed) if allowed else None
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            self.queue = self.queue[offset:]
        elif isinstance(offset, int) and offset > 0:
            self.queue = [q for q in self.queue if q.update_id >= offset]
        self.queue = [q for q in self.queue if self.allowed(q.kind)]

    def target(self, p: Mapping[str, Any], *, send: bool = True) -> ChatState:
        """Resolve chat_id to a chat the bot may act in, or raise Telegram's error."""
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            for candidate in self.chats.values():
                if candidate.chat.username and candidate.chat.username.lower() == name:
                    chat_id = candidate.chat.id
                    break
            else:
                raise bad("chat not found")
        state = self.chats.get(int(chat_id))
        if state is None:
            if int(chat_id) in self.blocked and send:
                raise forbidden("bot was blocked by the user")
            if int(chat_id) in self.users and send:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad("chat not found")
        if state.migrated_to is not None:
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=state.migrated_to,
            )
        if not state.is_group:
            if state.chat.id in self.blocked:
                raise forbidden("bot was blocked by the user")
            return state
        if not state.bot_in_chat:
            kind = state.chat.type
            if state.bot_removed_by_other:
                raise forbidden(f"bot was kicked from the {kind} chat")
            raise forbidden(f"bot is not a member of the {kind} chat")
        return state

    def message_of(self, state: ChatState, p: Mapping[str, Any], missing: str) -> StoredMessage:
        """Return the live message a call addresses, or raise Telegram's error."""
        if "inline_message_id" in p:
            raise bad("inline messages are not supported by the sandbox")
        message_id = p.get("message_id")
        if not isinstance(message_id, int):
            raise bad("message identifier is not specified")
        stored = state.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad(missing)
        return stored

    def store_file(
        self,
        kind: str,
        data: bytes | None,
        filename: str | None,
        mime_type: str | None,
        size: tuple[int, int] | None,
    ) -> StoredFile:
        """Keep a file to fetch later and return it with its new file_id and path."""
        number = self.next_file
        self.next_file += 1
        prefix = "AgAC" if kind == "photo" else "BQAC"
        if kind == "photo":
            path = f"photos/file_{number}.jpg"
        else:
            suffix = filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin"
            path = f"documents/file_{number}.{suffix}"
        stored = StoredFile(
            file_id=f"{prefix}SBX{number:010d}",
            unique_id=f"AQADSBX{number:08d}",
            path=path,
            data=data,
            filename=filename,
            mime_type=mime_type,
            width=size[0] if size else 0,
            height=size[1] if size else 0,
        )
        self.stored_files[stored.file_id] = stored
        self.file_paths[path] = stored
        return stored

    def photo_size(self, stored: StoredFile) -> JSON:
        """Return a stored photo as a ``PhotoSize`` object."""
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": stored.width,
            "height": stored.height,
            "file_size": len(stored.data or b""),
        }

    def document_dict(self, stored: StoredFile) -> JSON:
        """Return a stored file as a ``Document`` object."""
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


# A Bot API method: the world, the coerced parameters and the uploads in; the result out.
Method = Callable[[World, JSON, Files], Any]
