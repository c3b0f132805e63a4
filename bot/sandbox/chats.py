"""Chat information and management: getChat, members and administrators, pins, leaving,
the menu button, forum topics."""

from __future__ import annotations

from typing import Final

from bot.sandbox.state import Files, Method, StoredMessage, World
from bot.sandbox.types import JSON
from bot.sandbox.wire import bad, forbidden, strip_reply


def get_chat(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``getChat``: the chat with its pinned message."""
    state = w.target(p, send=False)
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
        info["pinned_message"] = strip_reply(pinned.data)
    return info


def get_chat_member(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``getChatMember``: the user's status in the chat."""
    state = w.target(p, send=False)
    user_id = p.get("user_id")
    if not isinstance(user_id, int):
        raise bad("invalid user_id specified")
    if user_id == w.bot_id:
        return w.bot_member_dict(state)
    if user_id not in w.users:
        raise bad("user not found")
    if not state.is_group:
        if user_id != state.chat.id:
            raise bad("user not found")
        return {"status": "member", "user": w.users[user_id].to_dict()}
    return w.member_dict(state, user_id)


def get_chat_administrators(w: World, p: JSON, files: Files) -> list[JSON]:
    """Answer ``getChatAdministrators``: the creator, the admins and the bot if one."""
    state = w.target(p, send=False)
    if not state.is_group:
        raise bad("there are no administrators in the private chat")
    admins = [w.member_dict(state, state.creator)] if state.creator else []
    admins += [w.member_dict(state, a) for a in sorted(state.admins)]
    if state.bot_status == "administrator":
        admins.append(w.bot_member_dict(state))
    return admins


def get_chat_member_count(w: World, p: JSON, files: Files) -> int:
    """Answer ``getChatMemberCount``, the bot included."""
    state = w.target(p, send=False)
    if not state.is_group:
        return 2
    people = len(state.admins) + len(state.members) + (1 if state.creator else 0)
    return people + (1 if state.bot_in_chat else 0)


def pin_chat_message(w: World, p: JSON, files: Files) -> bool:
    """Answer ``pinChatMessage`` (an admin bot only, in groups)."""
    state = w.target(p)
    if state.is_group and not w.bot_can(state, "can_pin_messages"):
        raise bad("not enough rights to manage pinned messages in the chat")
    stored = w.message_of(state, p, "message to pin not found")
    if stored.message_id in state.pinned:
        state.pinned.remove(stored.message_id)
    state.pinned.append(stored.message_id)
    return True


def unpin_chat_message(w: World, p: JSON, files: Files) -> bool:
    """Answer ``unpinChatMessage``: the given message, or the last pinned."""
    state = w.target(p)
    if state.is_group and not w.bot_can(state, "can_pin_messages"):
        raise bad("not enough rights to manage pinned messages in the chat")
    message_id = p.get("message_id")
    if message_id is None:
        if state.pinned:
            state.pinned.pop()
    elif message_id in state.pinned:
        state.pinned.remove(message_id)
    else:
        raise bad("message to unpin not found")
    return True


def unpin_all_chat_messages(w: World, p: JSON, files: Files) -> bool:
    """Answer ``unpinAllChatMessages``."""
    state = w.target(p)
    if state.is_group and not w.bot_can(state, "can_pin_messages"):
        raise bad("not enough rights to manage pinned messages in the chat")
    state.pinned.clear()
    return True


def leave_chat(w: World, p: JSON, files: Files) -> bool:
    """Answer ``leaveChat``: the bot leaves the group, and a my_chat_member update follows."""
    state = w.target(p, send=False)
    if not state.is_group:
        raise bad("chat member status can't be changed in private chats")
    if not state.bot_in_chat:
        raise forbidden(f"bot is not a member of the {state.chat.type} chat")
    old = w.bot_member_dict(state)
    state.bot_status = "left"
    state.bot_removed_by_other = False
    w.emit(
        "my_chat_member",
        w.member_update(state, w.bot_user, old, w.bot_member_dict(state)),
    )
    return True


def ban_chat_member(w: World, p: JSON, files: Files) -> bool:
    """Answer ``banChatMember``: an administrator bot with the right to ban removes a user."""
    state = w.target(p)
    if not state.is_group:
        raise bad("chat member status can't be changed in private chats")
    user_id = p.get("user_id")
    if not isinstance(user_id, int) or user_id not in w.users:
        raise bad("invalid user_id specified")
    if not w.bot_can(state, "can_restrict_members"):
        raise bad("not enough rights to restrict/unrestrict chat member")
    if user_id == state.creator:
        raise bad("can't remove chat owner")
    if user_id in state.admins:
        raise bad("user is an administrator of the chat")
    old = w.member_dict(state, user_id)
    was_in = state.is_member(user_id)
    state.members.discard(user_id)
    state.left.discard(user_id)
    state.kicked.add(user_id)
    w.emit("chat_member", w.member_update(state, w.bot_user, old, w.member_dict(state, user_id)))
    if was_in:
        # The group sees "<bot> removed <user>"; the bot gets the service message too.
        message_id = state.take_message_id()
        service: JSON = {
            "message_id": message_id,
            "from": w.bot_user.to_dict(),
            "chat": state.chat.to_dict(),
            "date": int(w.clock()),
            "left_chat_member": w.users[user_id].to_dict(),
        }
        state.messages[message_id] = StoredMessage(state.chat.id, service, by_bot=False)
        w.emit("message", service)
    return True


def unban_chat_member(w: World, p: JSON, files: Files) -> bool:
    """Answer ``unbanChatMember``: a banned user may join again; with ``only_if_banned`` a
    member is left alone, without it a member is removed from the chat (as Telegram does)."""
    state = w.target(p)
    if not state.is_group:
        raise bad("chat member status can't be changed in private chats")
    user_id = p.get("user_id")
    if not isinstance(user_id, int) or user_id not in w.users:
        raise bad("invalid user_id specified")
    if not w.bot_can(state, "can_restrict_members"):
        raise bad("not enough rights to restrict/unrestrict chat member")
    if user_id == state.creator or user_id in state.admins:
        raise bad("user is an administrator of the chat")
    if user_id not in state.kicked and (p.get("only_if_banned") or user_id not in state.members):
        return True
    old = w.member_dict(state, user_id)
    state.kicked.discard(user_id)
    state.members.discard(user_id)
    state.left.add(user_id)
    w.emit("chat_member", w.member_update(state, w.bot_user, old, w.member_dict(state, user_id)))
    return True


def set_chat_menu_button(w: World, p: JSON, files: Files) -> bool:
    """Answer ``setChatMenuButton`` for one chat or as the default."""
    chat_id: int | None = None
    if "chat_id" in p:
        chat_id = w.target(p, send=False).chat.id
    button = p.get("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in (
        "default",
        "commands",
        "web_app",
    ):
        raise bad("can't parse menu button JSON object")
    w.menu_buttons[chat_id] = button
    return True


def get_chat_menu_button(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``getChatMenuButton``: the chat's, else the default."""
    chat_id: int | None = None
    if "chat_id" in p:
        chat_id = w.target(p, send=False).chat.id
    fallback = w.menu_buttons.get(None, {"type": "commands"})
    return dict(w.menu_buttons.get(chat_id, fallback))


def create_forum_topic(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``createForumTopic`` (an admin bot in a forum only)."""
    state = w.target(p)
    if not state.chat.is_forum:
        raise bad("the chat is not a forum")
    if state.bot_status != "administrator":
        raise bad("not enough rights to create a topic")
    name = str(p.get("name", ""))
    if not 1 <= len(name) <= 128:
        raise bad("TOPIC_TITLE_EMPTY")
    icon_color = int(p.get("icon_color", 7322096))
    message_id = state.take_message_id()
    data: JSON = {
        "message_id": message_id,
        "from": w.bot_user.to_dict(),
        "chat": state.chat.to_dict(),
        "date": int(w.clock()),
        "message_thread_id": message_id,
        "is_topic_message": True,
        "forum_topic_created": {"name": name, "icon_color": icon_color},
    }
    state.messages[message_id] = StoredMessage(state.chat.id, data, by_bot=True)
    state.topics[message_id] = name
    return {"message_thread_id": message_id, "name": name, "icon_color": icon_color}


METHODS: Final[dict[str, Method]] = {
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "getChatMemberCount": get_chat_member_count,
    "pinChatMessage": pin_chat_message,
    "unpinChatMessage": unpin_chat_message,
    "unpinAllChatMessages": unpin_all_chat_messages,
    "leaveChat": leave_chat,
    "banChatMember": ban_chat_member,
    "unbanChatMember": unban_chat_member,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "createForumTopic": create_forum_topic,
}
