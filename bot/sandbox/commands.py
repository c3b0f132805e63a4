"""setMyCommands and friends, and the bot's profile texts (name, descriptions) per language."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from bot.sandbox.state import Files, Method, World
from bot.sandbox.types import JSON
from bot.sandbox.wire import bad

_COMMAND_NAME_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE: Final = re.compile(r"[a-z]{2}")


def scope_key(scope: Mapping[str, Any] | None) -> str:
    """Return the key a command scope is stored under."""
    return json.dumps(dict(scope or {"type": "default"}), sort_keys=True)


def commands_key(w: World, p: Mapping[str, Any]) -> tuple[str, str]:
    """Return the (scope, language) a command call addresses, checked as Telegram does."""
    scope = p.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad("can't parse BotCommandScope JSON object")
    if scope["type"] in ("chat", "chat_administrators", "chat_member"):
        w.target(scope, send=False)
    if scope["type"] == "chat_member" and not isinstance(scope.get("user_id"), int):
        raise bad("user not found")
    language = str(p.get("language_code", ""))
    if language and not _LANGUAGE_RE.fullmatch(language):
        raise bad("LANG_CODE_INVALID")
    return scope_key(scope), language


def set_my_commands(w: World, p: JSON, files: Files) -> bool:
    """Answer ``setMyCommands``; an empty list deletes the menu."""
    commands = p.get("commands")
    if not isinstance(commands, list):
        raise bad("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad("too many commands")
    clean: list[JSON] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad("can't parse BotCommand JSON object")
        name = str(command.get("command", "")).removeprefix("/")
        description = str(command.get("description", ""))
        if not _COMMAND_NAME_RE.fullmatch(name):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad("command description must be non-empty")
        clean.append({"command": name, "description": description})
    key = commands_key(w, p)
    if clean:
        w.command_menus[key] = clean
    else:
        w.command_menus.pop(key, None)
    return True


def delete_my_commands(w: World, p: JSON, files: Files) -> bool:
    """Answer ``deleteMyCommands``."""
    w.command_menus.pop(commands_key(w, p), None)
    return True


def get_my_commands(w: World, p: JSON, files: Files) -> list[JSON]:
    """Answer ``getMyCommands``."""
    return [dict(c) for c in w.command_menus.get(commands_key(w, p), [])]


def profile_setter(field_name: str) -> Method:
    """Return the ``setMy...`` method that stores one profile text per language."""

    def setter(w: World, p: JSON, files: Files) -> bool:
        language = str(p.get("language_code", ""))
        value = str(p.get(field_name, ""))
        if value:
            w.profile[(field_name, language)] = value
        else:
            w.profile.pop((field_name, language), None)
        return True

    return setter


def profile_getter(field_name: str) -> Method:
    """Return the ``getMy...`` method that reads one profile text, falling back to the default."""

    def getter(w: World, p: JSON, files: Files) -> JSON:
        language = str(p.get("language_code", ""))
        default = w.bot_name if field_name == "name" else ""
        value = w.profile.get((field_name, language), w.profile.get((field_name, "")))
        return {field_name: value if value is not None else default}

    return getter


METHODS: Final[dict[str, Method]] = {
    "setMyCommands": set_my_commands,
    "deleteMyCommands": delete_my_commands,
    "getMyCommands": get_my_commands,
    "setMyName": profile_setter("name"),
    "getMyName": profile_getter("name"),
    "setMyDescription": profile_setter("description"),
    "getMyDescription": profile_getter("description"),
    "setMyShortDescription": profile_setter("short_description"),
    "getMyShortDescription": profile_getter("short_description"),
}
