"""The user side of the sandbox: people, groups, and the updates a user's actions send the bot
(texts, photos, edits, button presses, joins and leaves, the bot added or removed, blocks)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from bot.sandbox.html import auto_entities, u16
from bot.sandbox.state import Callback, ChatState, StoredMessage, World
from bot.sandbox.types import JSON, Role, SChat, SUser, inline_buttons
from bot.sandbox.wire import image_size, json_copy, strip_reply

_USERNAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_DEEP_LINK_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class UserSide:
    """What users do in the sandbox; the :class:`Sandbox` test API builds on it."""

    world: World

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
        with self.world.lock:
            if user_id is None:
                while self.world.next_user_id in self.world.users:
                    self.world.next_user_id += 1
                user_id = self.world.next_user_id
                self.world.next_user_id += 1
            elif user_id in self.world.users or user_id == self.world.bot_id or user_id <= 0:
                raise ValueError(f"user id {user_id} is taken or invalid")
            if username is not None and any(
                u.username and u.username.lower() == username.lower()
                for u in self.world.users.values()
            ):
                raise ValueError(f"username {username!r} is taken")
            created = SUser(user_id, first_name, username, last_name, language_code)
            self.world.users[user_id] = created
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
        with self.world.lock:
            old = self.world.known_user(user)
            new = SUser(
                old.id,
                first_name if first_name is not None else old.first_name,
                username if username is not None else old.username,
                last_name if last_name is not None else old.last_name,
                language_code if language_code is not None else old.language_code,
            )
            self.world.users[old.id] = new
            state = self.world.chats.get(old.id)
            if state is not None:
                state.chat = self.world.private_chat_of(new)
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
        with self.world.lock:
            for person in (creator, *admins, *members):
                self.world.known_user(person)
            is_super = supergroup or forum or username is not None
            number = self.world.next_group
            self.world.next_group += 1
            chat_id = -1_002_000_000_000 - number if is_super else -4_000_000_000 - number
            chat = SChat(
                chat_id,
                "supergroup" if is_super else "group",
                title=title,
                username=username,
                is_forum=forum,
            )
            state = ChatState(chat, creator=creator.id, bot_admin_when_added=bot_is_admin)
            state.admins = {a.id for a in admins} - {creator.id}
            state.members = {m.id for m in members} - state.admins - {creator.id}
            if with_bot:
                state.bot_status = "administrator" if bot_is_admin else "member"
            else:
                state.bot_status = "left"
            self.world.chats[chat_id] = state
            return chat

    def private(self, user: SUser) -> SChat:
        """Return the user's private chat with the bot, opening it if needed."""
        with self.world.lock:
            return self.world.open_private(self.world.known_user(user)).chat

    def has_started(self, user: SUser) -> bool:
        """Return whether the user has opened a private chat with the bot."""
        with self.world.lock:
            return user.id in self.world.started

    def role(self, chat: SChat | int, user: SUser) -> Role:
        """Return the user's status in the chat as getChatMember would report it."""
        with self.world.lock:
            return self.world.chat_state(chat).role(user.id)

    # -- updates as Telegram sends them -------------------------------------------------------

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
        with self.world.lock:
            state, sender = self._writable(user, chat)
            message = self._user_message(state, sender, reply_to=reply_to, thread_id=thread_id)
            message["text"] = text
            entities = auto_entities(text)
            for mentioned in text_mentions:
                entities.append(self._text_mention(text, self.world.known_user(mentioned)))
            if entities:
                entities.sort(key=lambda e: (e["offset"], -e["length"]))
                message["entities"] = entities
            self._store_user_message(state, message)
            return self.world.emit("message", message, deliver=self.world.bot_sees(state, message))

    def photo(
        self,
        user: SUser,
        chat: SChat | int,
        data: bytes,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """Send a photo as the user, with a caption or as a reply (the bot can fetch it with
        getFile; the update's file_id can be sent again with sendPhoto)."""
        size = image_size(data)
        if size is None:
            raise ValueError("not a PNG, GIF, JPEG or WebP image")
        with self.world.lock:
            state, sender = self._writable(user, chat)
            stored = self.world.store_file("photo", data, None, "image/jpeg", size)
            message = self._user_message(state, sender, reply_to=reply_to)
            message["photo"] = [self.world.photo_size(stored)]
            self._add_caption(message, caption)
            self._store_user_message(state, message)
            return self.world.emit("message", message, deliver=self.world.bot_sees(state, message))

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
        with self.world.lock:
            state, sender = self._writable(user, chat)
            stored = self.world.store_file("document", data, filename, mime_type, None)
            message = self._user_message(state, sender)
            message["document"] = self.world.document_dict(stored)
            self._add_caption(message, caption)
            self._store_user_message(state, message)
            return self.world.emit("message", message, deliver=self.world.bot_sees(state, message))

    def edit(self, update_or_message: Mapping[str, Any], new_text: str) -> JSON:
        """Edit a user's text message; return the edited_message update and queue it."""
        original = update_or_message.get("message") or update_or_message.get("edited_message")
        if original is None:
            original = update_or_message
        with self.world.lock:
            state = self.world.chat_state(int(original["chat"]["id"]))
            stored = state.messages.get(int(original["message_id"]))
            if stored is None or stored.deleted or stored.by_bot:
                raise ValueError("only a user's existing message can be edited")
            if "text" not in stored.data:
                raise ValueError("only text messages can be edited this way")
            stored.data["text"] = new_text
            entities = auto_entities(new_text)
            if entities:
                stored.data["entities"] = entities
            else:
                stored.data.pop("entities", None)
            stored.data["edit_date"] = int(self.world.clock())
            message = json_copy(stored.data)
            return self.world.emit(
                "edited_message", message, deliver=self.world.bot_sees(state, message)
            )

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
        with self.world.lock:
            state, sender = self._writable(user, chat)
            stored = state.messages.get(message_id)
            if stored is None or not stored.by_bot:
                raise ValueError(f"no bot message {message_id} in chat {state.chat.id}")
            if check:
                if stored.deleted:
                    raise ValueError(f"message {message_id} was deleted")
                offered = [target for _, target in inline_buttons(stored.data.get("reply_markup"))]
                if data not in offered:
                    raise ValueError(f"message {message_id} has no button with data {data!r}")
            query_id = str(4_000_000_000_000_000 + self.world.next_callback)
            self.world.next_callback += 1
            self.world.callbacks[query_id] = Callback(
                query_id, sender.id, state.chat.id, message_id, data
            )
            query: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "message": json_copy(stored.data),
                "chat_instance": str(abs(state.chat.id) * 7919 % 10**18),
                "data": data,
            }
            return self.world.emit("callback_query", query, deliver=True)

    def callback_answer(self, query: Mapping[str, Any] | str) -> JSON | None:
        """Return the bot's answerCallbackQuery parameters for a press, or None if unanswered."""
        if isinstance(query, str):
            query_id = query
        else:
            query_id = str(query.get("callback_query", query)["id"])
        with self.world.lock:
            callback = self.world.callbacks.get(query_id)
            return dict(callback.answer) if callback and callback.answer is not None else None

    def start_link(self, user: SUser, payload: str) -> JSON:
        """Open a deep link ``t.me/<bot>?start=<payload>``: "/start <payload>" in private."""
        if not _DEEP_LINK_RE.fullmatch(payload):
            raise ValueError("deep-link payloads are 1-64 characters of A-Z, a-z, 0-9, _ and -")
        with self.world.lock:
            chat = self.private(user)
            return self.text(user, chat, f"/start {payload}")

    def bot_added(self, chat: SChat | int, by: SUser, *, as_admin: bool | None = None) -> JSON:
        """Add the bot to a group; return the my_chat_member update (a service message follows)."""
        with self.world.lock:
            state = self.world.chat_state(chat)
            if not state.is_group or state.migrated_to is not None:
                raise ValueError("the bot can only be added to a live group")
            if not state.is_member(by.id):
                raise ValueError("only a member can add the bot")
            old = self.world.bot_member_dict(state)
            admin = state.bot_admin_when_added if as_admin is None else as_admin
            state.bot_status = "administrator" if admin else "member"
            state.bot_removed_by_other = False
            new = self.world.bot_member_dict(state)
            update = self.world.emit(
                "my_chat_member", self.world.member_update(state, by, old, new)
            )
            service = self._user_message(state, self.world.known_user(by))
            service["new_chat_members"] = [self.world.bot_user.to_dict()]
            self._store_user_message(state, service)
            self.world.emit("message", service)
            return update

    def bot_removed(self, chat: SChat | int, by: SUser) -> JSON:
        """Remove the bot from a group; return the my_chat_member update."""
        with self.world.lock:
            state = self.world.chat_state(chat)
            if not state.is_group or not state.bot_in_chat:
                raise ValueError("the bot is not in this group")
            if state.role(by.id) not in ("creator", "administrator"):
                raise ValueError("only an administrator can remove the bot")
            old = self.world.bot_member_dict(state)
            state.bot_status = "kicked" if state.chat.type == "supergroup" else "left"
            state.bot_removed_by_other = True
            new = self.world.bot_member_dict(state)
            return self.world.emit("my_chat_member", self.world.member_update(state, by, old, new))

    def set_bot_rights(
        self, chat: SChat | int, by: SUser, *, admin: bool = True, **rights: bool
    ) -> JSON:
        """Promote or demote the bot, or change its rights (``can_pin_messages=False``);
        return the my_chat_member update."""
        with self.world.lock:
            state = self.world.chat_state(chat)
            if not state.is_group or not state.bot_in_chat:
                raise ValueError("the bot is not in this group")
            if state.role(by.id) not in ("creator", "administrator"):
                raise ValueError("only an administrator can change the bot's rights")
            old = self.world.bot_member_dict(state)
            state.bot_status = "administrator" if admin else "member"
            state.bot_rights = dict(rights) if admin else {}
            new = self.world.bot_member_dict(state)
            return self.world.emit("my_chat_member", self.world.member_update(state, by, old, new))

    def migrate(self, chat: SChat | int, *, forum: bool = False) -> tuple[SChat, JSON]:
        """Turn a group into a supergroup; return the new chat and the migrate_to update.

        Both service messages are queued as Telegram sends them: ``migrate_to_chat_id`` in the
        old group, then ``migrate_from_chat_id`` in the new supergroup.
        """
        with self.world.lock:
            old = self.world.chat_state(chat)
            if old.chat.type != "group" or old.migrated_to is not None:
                raise ValueError("only a basic group can be migrated, once")
            number = self.world.next_group
            self.world.next_group += 1
            new_chat = SChat(
                -1_002_000_000_000 - number, "supergroup", title=old.chat.title, is_forum=forum
            )
            new = ChatState(
                new_chat,
                creator=old.creator,
                admins=set(old.admins),
                members=set(old.members),
                left=set(old.left),
                kicked=set(old.kicked),
                bot_status=old.bot_status,
                bot_rights=dict(old.bot_rights),
                bot_admin_when_added=old.bot_admin_when_added,
            )
            self.world.chats[new_chat.id] = new
            old.migrated_to = new_chat.id
            actor = self.world.users.get(old.creator or 0, self.world.bot_user)
            notice = self._user_message(old, actor)
            notice["migrate_to_chat_id"] = new_chat.id
            self._store_user_message(old, notice)
            update = self.world.emit("message", notice)
            welcome = self._user_message(new, actor)
            welcome["migrate_from_chat_id"] = old.chat.id
            self._store_user_message(new, welcome)
            self.world.emit("message", welcome)
            return new_chat, update

    def join(self, chat: SChat | int, user: SUser, *, by: SUser | None = None) -> JSON:
        """Add a user to a group; return the new_chat_members service message update."""
        with self.world.lock:
            state = self.world.chat_state(chat)
            joined = self.world.known_user(user)
            if not state.is_group:
                raise ValueError("users join groups, not private chats")
            if state.is_member(joined.id):
                raise ValueError("the user is already a member")
            old = self.world.member_dict(state, joined.id)
            state.left.discard(joined.id)
            state.kicked.discard(joined.id)
            state.members.add(joined.id)
            actor = self.world.known_user(by) if by is not None else joined
            self.world.emit(
                "chat_member",
                self.world.member_update(
                    state, actor, old, self.world.member_dict(state, joined.id)
                ),
            )
            service = self._user_message(state, actor)
            service["new_chat_members"] = [joined.to_dict()]
            self._store_user_message(state, service)
            return self.world.emit("message", service, deliver=state.bot_in_chat)

    def leave(self, chat: SChat | int, user: SUser) -> JSON:
        """Make a user leave a group; return the left_chat_member service message update."""
        with self.world.lock:
            state = self.world.chat_state(chat)
            gone = self.world.known_user(user)
            if not state.is_member(gone.id) or gone.id == state.creator:
                raise ValueError("the user is not a member who can leave")
            old = self.world.member_dict(state, gone.id)
            state.admins.discard(gone.id)
            state.members.discard(gone.id)
            state.left.add(gone.id)
            self.world.emit(
                "chat_member",
                self.world.member_update(state, gone, old, self.world.member_dict(state, gone.id)),
            )
            service = self._user_message(state, gone)
            service["left_chat_member"] = gone.to_dict()
            self._store_user_message(state, service)
            return self.world.emit("message", service, deliver=state.bot_in_chat)

    def set_role(
        self, chat: SChat | int, user: SUser, role: Role, *, by: SUser | None = None
    ) -> JSON:
        """Change a user's status in a group; return the chat_member update.

        Like Telegram, chat_member updates reach the bot only if it asks for them in
        ``allowed_updates``.
        """
        with self.world.lock:
            state = self.world.chat_state(chat)
            target = self.world.known_user(user)
            if not state.is_group:
                raise ValueError("roles exist in groups only")
            old = self.world.member_dict(state, target.id)
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
            actor = self.world.known_user(by) if by is not None else target
            new = self.world.member_dict(state, target.id)
            return self.world.emit("chat_member", self.world.member_update(state, actor, old, new))

    def topic(self, chat: SChat | int, name: str, *, by: SUser | None = None) -> int:
        """Create a forum topic as a user; return its message_thread_id."""
        with self.world.lock:
            state = self.world.chat_state(chat)
            if not state.chat.is_forum:
                raise ValueError("topics exist in forum supergroups only")
            actor = (
                self.world.known_user(by)
                if by is not None
                else self.world.users[state.creator or 0]
            )
            message = self._user_message(state, actor)
            thread_id = int(message["message_id"])
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            message["forum_topic_created"] = {"name": name, "icon_color": 7322096}
            state.topics[thread_id] = name
            self._store_user_message(state, message)
            self.world.emit("message", message, deliver=state.bot_in_chat)
            return thread_id

    def block(self, user: SUser) -> JSON:
        """Block the bot as the user; private sends then answer 403."""
        with self.world.lock:
            blocker = self.world.known_user(user)
            self.world.blocked.add(blocker.id)
            return self.world.emit(
                "my_chat_member",
                self.world.private_member_update(blocker, "member", "kicked"),
            )

    def unblock(self, user: SUser) -> JSON:
        """Unblock the bot as the user."""
        with self.world.lock:
            blocker = self.world.known_user(user)
            self.world.blocked.discard(blocker.id)
            return self.world.emit(
                "my_chat_member",
                self.world.private_member_update(blocker, "kicked", "member"),
            )

    # -- what Telegram checks and builds for a user's message ---------------------------------

    def _writable(self, user: SUser, chat: SChat | int) -> tuple[ChatState, SUser]:
        """Check that the user can write in the chat as Telegram would allow."""
        sender = self.world.known_user(user)
        chat_id = chat.id if isinstance(chat, SChat) else chat
        if chat_id == sender.id:
            state = self.world.open_private(sender)
            if sender.id in self.world.blocked:
                # Writing to a blocked bot means pressing "Restart": Telegram unblocks it.
                self.unblock(sender)
            return state, sender
        state = self.world.chat_state(chat_id)
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
        state: ChatState,
        sender: SUser,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        """Return a new message from the user in the chat, replying or in a topic."""
        message: JSON = {
            "message_id": state.take_message_id(),
            "from": sender.to_dict(),
            "chat": state.chat.to_dict(),
            "date": int(self.world.clock()),
        }
        replied: StoredMessage | None = None
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
            message["reply_to_message"] = strip_reply(replied.data)
        return message

    def _store_user_message(self, state: ChatState, message: JSON) -> None:
        """Keep a user's message so that the bot can reply to it or edit around it."""
        state.messages[int(message["message_id"])] = StoredMessage(
            state.chat.id, json_copy(message), by_bot=False
        )

    def _add_caption(self, message: JSON, caption: str | None) -> None:
        """Add a caption and its automatic entities to a message."""
        if caption:
            message["caption"] = caption
            entities = auto_entities(caption)
            if entities:
                message["caption_entities"] = entities

    def _text_mention(self, text: str, user: SUser) -> JSON:
        """Return a text_mention entity for the user's full name in the text."""
        index = text.find(user.full_name)
        if index < 0:
            raise ValueError(f"{user.full_name!r} does not occur in the text")
        return {
            "type": "text_mention",
            "offset": u16(text[:index]),
            "length": u16(user.full_name),
            "user": user.to_dict(),
        }
