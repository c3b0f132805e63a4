"""getUpdates, getMe and the webhook methods: how updates leave the sandbox."""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from bot.sandbox.state import Files, Method, World
from bot.sandbox.types import JSON
from bot.sandbox.wire import ApiError, bad


def get_updates(w: World, p: JSON, files: Files) -> list[JSON]:
    """Answer ``getUpdates``: the queued updates after confirming the offset."""
    if w.webhook is not None:
        raise ApiError(
            HTTPStatus.CONFLICT,
            "Conflict: can't use getUpdates method while webhook is active; use "
            "deleteWebhook to delete the webhook first",
        )
    w.confirm(p)
    limit = min(max(int(p.get("limit", 100)), 1), 100)
    return [q.update for q in w.queue[:limit]]


def get_me(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``getMe``."""
    return {
        **w.bot_user.to_dict(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def accept(w: World, p: JSON, files: Files) -> bool:
    """Answer a method that only has to succeed (``close``, ``logOut``)."""
    return True


def delete_webhook(w: World, p: JSON, files: Files) -> bool:
    """Answer ``deleteWebhook``."""
    w.webhook = None
    if p.get("drop_pending_updates"):
        w.queue.clear()
    w.cond.notify_all()
    return True


def set_webhook(w: World, p: JSON, files: Files) -> bool:
    """Answer ``setWebhook`` (stored only: the sandbox delivers no webhooks)."""
    url = str(p.get("url", ""))
    if not url:
        return delete_webhook(w, p, files)
    if not url.lower().startswith("https://"):
        raise bad("bad webhook: An HTTPS URL must be provided for webhook")
    if p.get("drop_pending_updates"):
        w.queue.clear()
    if "allowed_updates" in p:
        allowed = p["allowed_updates"]
        w.allowed_updates = frozenset(allowed) if allowed else None
    w.webhook = {"url": url, "max_connections": int(p.get("max_connections", 40))}
    return True


def get_webhook_info(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``getWebhookInfo``."""
    info: JSON = {
        "url": w.webhook["url"] if w.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(w.queue),
    }
    if w.webhook:
        info["max_connections"] = w.webhook["max_connections"]
    if w.allowed_updates is not None:
        info["allowed_updates"] = sorted(w.allowed_updates)
    return info


METHODS: Final[dict[str, Method]] = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "deleteWebhook": delete_webhook,
    "setWebhook": set_webhook,
    "getWebhookInfo": get_webhook_info,
    "close": accept,
    "logOut": accept,
}
