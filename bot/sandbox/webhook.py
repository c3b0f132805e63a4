"""Telegram's side of a webhook, for the sandbox: post queued updates to the registered URL.

Once the bot has called `setWebhook` on the sandbox, a `WebhookDelivery` takes the updates the
sandbox queues (as users write) and posts each one to the registered URL with the registered
`X-Telegram-Bot-Api-Secret-Token`, one at a time and in order, until it is answered 2xx; an
update answered otherwise (or not at all) is kept and posted again after a short pause, as
Telegram does. `via` stands in for the reverse proxy that ends TLS: the registered URL is
https://, and the post goes to `via` with the URL's path. With several `via` addresses it is
also the load balancer in front of several instances: each update goes to the next one in turn,
and to the one after it when that one does not answer 2xx (a stopped or killed instance). (It
lives beside the sandbox, not in it, and reads the registration from the sandbox's record of the
bot's calls.)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.sandbox.sandbox import Sandbox

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    """A thread that posts the sandbox's updates to the bot's webhook, as Telegram would."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        via: str | Sequence[str] | None = None,
        retry: float = 0.2,
        connections: int = 1,
    ) -> None:
        self.sandbox = sandbox
        targets = [via] if isinstance(via, str) else list(via or [])
        self.vias = [v.rstrip("/") for v in targets]
        self.via = self.vias[0] if self.vias else None
        self.retry = retry
        self.delivered: list[dict[str, Any]] = []
        self.refused: list[tuple[int, dict[str, Any]]] = []
        # Where each delivered update went (its index in `vias`), in delivery order.
        self.routed: list[int] = []
        # Telegram's parallel connections (setWebhook's max_connections): a chat's updates
        # always take the same one, so they arrive in order.
        self._queues: list[deque[dict[str, Any]]] = [deque() for _ in range(max(connections, 1))]
        self._turns = [0] * len(self._queues)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def registration(self) -> tuple[str, str | None] | None:
        """Return the webhook's URL and secret as last registered (None when there is none)."""
        calls = [
            c
            for c in self.sandbox.calls_for("setWebhook") + self.sandbox.calls_for("deleteWebhook")
            if c.ok
        ]
        if not calls:
            return None
        last = max(calls, key=lambda c: c.time)
        url = str(last.params.get("url") or "")
        if last.method == "deleteWebhook" or not url:
            return None
        secret = last.params.get("secret_token")
        return url, str(secret) if secret else None

    def target(self, url: str, via: str | None = None) -> str:
        """Return where a post for the registered URL goes (through `via`, if given)."""
        via = via or self.via
        if via is None:
            return url
        parts = urlsplit(url)
        return f"{via}{parts.path or '/'}{'?' + parts.query if parts.query else ''}"

    def start(self) -> None:
        """Start delivering in background threads (one per connection)."""
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"sandbox-webhook-{i}", daemon=True)
            for i in range(len(self._queues))
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop delivering; updates not delivered yet stay held."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def held(self) -> int:
        """Return how many updates wait to be delivered."""
        return sum(len(q) for q in self._queues)

    def _take(self) -> None:
        with self._lock:
            for update in self.sandbox.take():
                self._queues[_chat_of(update) % len(self._queues)].append(update)

    def _run(self, connection: int) -> None:
        queue = self._queues[connection]
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                registered = self.registration()
                if registered is None:
                    self._stop.wait(0.05)
                    continue
                self._take()
                if not queue:
                    self._stop.wait(0.02)
                    continue
                url, secret = registered
                if not self._post(client, connection, url, secret):
                    self._stop.wait(self.retry)

    def _post(self, client: httpx.Client, connection: int, url: str, secret: str | None) -> bool:
        """Post the connection's oldest update to the next instance in turn (each tried once)."""
        queue = self._queues[connection]
        update = queue[0]
        headers = {SECRET_HEADER: secret} if secret else {}
        vias: list[str | None] = list(self.vias) or [None]
        for _ in range(len(vias)):
            index = self._turns[connection] % len(vias)
            self._turns[connection] += 1
            try:
                answer = client.post(self.target(url, vias[index]), json=update, headers=headers)
            except httpx.HTTPError:
                continue
            with self._lock:
                if 200 <= answer.status_code < 300:
                    self.delivered.append(queue.popleft())
                    self.routed.append(index)
                    return True
                self.refused.append((answer.status_code, update))
        return False


def _chat_of(update: dict[str, Any]) -> int:
    """Return the id of the chat an update belongs to (its update id if it has none)."""
    for body in update.values():
        if isinstance(body, dict):
            chat = body.get("chat") or (body.get("message") or {}).get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return abs(int(chat["id"]))
    return int(update.get("update_id", 0))
