"""Telegram's side of a webhook, for the sandbox: post queued updates to the registered URL.

Once the bot has called `setWebhook` on the sandbox, a `WebhookDelivery` takes the updates the
sandbox queues (as users write) and posts each one to the registered URL with the registered
`X-Telegram-Bot-Api-Secret-Token`, one at a time and in order, until it is answered 2xx; an
update answered otherwise (or not at all) is kept and posted again after a short pause, as
Telegram does. `via` stands in for the reverse proxy that ends TLS: the registered URL is
https://, and the post goes to `via` with the URL's path. (It lives beside the sandbox, not in
it, and reads the registration from the sandbox's record of the bot's calls.)
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.sandbox.sandbox import Sandbox

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    """A thread that posts the sandbox's updates to the bot's webhook, as Telegram would."""

    def __init__(self, sandbox: Sandbox, *, via: str | None = None, retry: float = 0.2) -> None:
        self.sandbox = sandbox
        self.via = via.rstrip("/") if via else None
        self.retry = retry
        self.delivered: list[dict[str, Any]] = []
        self.refused: list[tuple[int, dict[str, Any]]] = []
        self._held: deque[dict[str, Any]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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

    def target(self, url: str) -> str:
        """Return where a post for the registered URL goes (through `via`, if given)."""
        if self.via is None:
            return url
        parts = urlsplit(url)
        return f"{self.via}{parts.path or '/'}{'?' + parts.query if parts.query else ''}"

    def start(self) -> None:
        """Start delivering in a background thread."""
        self._thread = threading.Thread(target=self._run, name="sandbox-webhook", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop delivering; updates not delivered yet stay held."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def held(self) -> int:
        """Return how many updates wait to be delivered."""
        return len(self._held)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                registered = self.registration()
                if registered is None:
                    self._stop.wait(0.05)
                    continue
                self._held.extend(self.sandbox.take())
                if not self._held:
                    self._stop.wait(0.02)
                    continue
                url, secret = registered
                update = self._held[0]
                headers = {SECRET_HEADER: secret} if secret else {}
                try:
                    answer = client.post(self.target(url), json=update, headers=headers)
                except httpx.HTTPError:
                    self._stop.wait(self.retry)
                    continue
                if 200 <= answer.status_code < 300:
                    self.delivered.append(self._held.popleft())
                else:
                    self.refused.append((answer.status_code, update))
                    self._stop.wait(self.retry)
