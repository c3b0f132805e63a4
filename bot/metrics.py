"""Prometheus metrics: what an operator watches (README "What to watch").

Every `Metrics` has its own `CollectorRegistry`, never the global one: two applications in one
process (tests, a later dashboard) never share or double-register a series. Counters move where
the work happens (the lanes, the Bot API transport, the database's transactions); the inbox's
backlog and the scheduled posts' claims are read from the database at scrape time, so every
instance reports the same shared truth.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    exposition,
    generate_latest,
)
from sqlalchemy import Engine, event
from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from kpi import inbox
from kpi.db import Database
from kpi.models import RUN_FAILED, RUN_SENT, RUN_UNCERTAIN
from kpi.posts import claims as runs

CONTENT_TYPE = exposition.CONTENT_TYPE_LATEST

# Handlers answer in tens of milliseconds; a chart or an export takes seconds.
_HANDLER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_UNIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# A Bot API URL is <base_url><token>/<method>: only the method may become a label.
_METHOD = re.compile(r"/bot[^/]*/([A-Za-z]+)$")


def update_kind(update: Update) -> str:
    """Return what an update carries: message, edited_message, callback_query, …"""
    for kind in Update.ALL_TYPES:
        if getattr(update, kind, None) is not None:
            return str(kind)
    return "other"


class Metrics:
    """The bot's counters, gauges and histograms, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates_received = Counter(
            "kpibot_updates_received",
            "Updates stored in the inbox (polled or posted), by kind.",
            ["kind"],
            registry=r,
        )
        self.updates_handled = Counter(
            "kpibot_updates_handled",
            "Updates handled without an error, by kind.",
            ["kind"],
            registry=r,
        )
        self.updates_failed = Counter(
            "kpibot_updates_failed",
            "Updates whose handler raised (answered by the error handler), by kind.",
            ["kind"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "kpibot_handler_seconds",
            "Time to handle one update, by kind.",
            ["kind"],
            buckets=_HANDLER_BUCKETS,
            registry=r,
        )
        self.inbox_backlog = Gauge(
            "kpibot_inbox_backlog",
            "Updates stored but not handled yet (read from the database at scrape time).",
            registry=r,
        )
        self.inbox_oldest_age = Gauge(
            "kpibot_inbox_oldest_pending_age_seconds",
            "Age of the oldest update not handled yet; 0 when none (read at scrape time).",
            registry=r,
        )
        self.database_up = Gauge(
            "kpibot_database_up",
            "1 when the scrape could read the database, else 0.",
            registry=r,
        )
        self.api_calls = Counter(
            "kpibot_bot_api_calls",
            "Bot API calls, by method and outcome (ok, flood, client_error, server_error, "
            "timeout, network_error).",
            ["method", "outcome"],
            registry=r,
        )
        self.flood_waits = Counter(
            "kpibot_bot_api_flood_waits",
            "Answers 429 (flood control) from Telegram.",
            registry=r,
        )
        self.flood_wait_seconds = Counter(
            "kpibot_bot_api_flood_wait_seconds",
            "Seconds Telegram's 429 answers asked the bot to wait (retry_after).",
            registry=r,
        )
        self.scheduled_posts = Gauge(
            "kpibot_scheduled_posts",
            "Scheduled posts' claims in the database, by status (sent, failed, uncertain, …).",
            ["status"],
            registry=r,
        )
        self.unit_of_work_seconds = Histogram(
            "kpibot_unit_of_work_seconds",
            "Database transactions from BEGIN to COMMIT or ROLLBACK, by outcome.",
            ["outcome"],
            buckets=_UNIT_BUCKETS,
            registry=r,
        )
        # Several instances on PostgreSQL (set at each heartbeat of bot.lanes).
        self.lanes_worked = Gauge(
            "kpibot_lanes_worked",
            "Chat lanes this instance holds and works (several instances on PostgreSQL).",
            registry=r,
        )
        self.poller = Gauge(
            "kpibot_poller",
            "1 when this instance holds the poller lease and calls getUpdates, else 0.",
            registry=r,
        )
        self.instances_live = Gauge(
            "kpibot_instances_live",
            "Instances alive on the database (their lease renewed); each takes its share of "
            "Telegram's overall limit.",
            registry=r,
        )
        for status in (RUN_SENT, RUN_FAILED, RUN_UNCERTAIN):
            self.scheduled_posts.labels(status)
        # Updates whose handler raised, noted by `note_failure` (the application's error
        # handler runs inside `process_update`, before the lane asks).
        self._failed: set[int] = set()

    # -- updates -------------------------------------------------------------------------------

    def received(self, update: Update) -> None:
        """Count an update stored in the inbox."""
        self.updates_received.labels(update_kind(update)).inc()

    async def note_failure(self, update: object, context: Any) -> None:
        """Remember that an update's handler raised (registered as an error handler)."""
        if isinstance(update, Update):
            self._failed.add(id(update))

    @contextlib.contextmanager
    def handling(self, update: Update) -> Iterator[None]:
        """Time the handling of one update and count it handled or failed."""
        kind = update_kind(update)
        began = time.perf_counter()
        try:
            yield
        except BaseException:
            # Cancelled by a stop: not handled, left in the inbox for the next start.
            self._failed.discard(id(update))
            raise
        self.handler_seconds.labels(kind).observe(time.perf_counter() - began)
        if id(update) in self._failed:
            self._failed.discard(id(update))
            self.updates_failed.labels(kind).inc()
        else:
            self.updates_handled.labels(kind).inc()

    # -- the Bot API ---------------------------------------------------------------------------

    def api_call(self, url: str, outcome: str, retry_after: float | None = None) -> None:
        """Count one Bot API call (a 429 also counts its wait)."""
        match = _METHOD.search(url)
        self.api_calls.labels(match.group(1) if match else "file", outcome).inc()
        if outcome == "flood":
            self.flood_waits.inc()
            if retry_after:
                self.flood_wait_seconds.inc(retry_after)

    # -- the database --------------------------------------------------------------------------

    def watch(self, engine: Engine) -> None:
        """Time every transaction on the engine (from BEGIN, the write lock's wait included)."""

        def began(conn: Any) -> None:
            conn.info["kpibot_began"] = time.perf_counter()

        def ended(outcome: str) -> Any:
            def observe(conn: Any) -> None:
                start = conn.info.pop("kpibot_began", None)
                if start is not None:
                    self.unit_of_work_seconds.labels(outcome).observe(time.perf_counter() - start)

            return observe

        # First among the listeners: SQLite's BEGIN IMMEDIATE, which may wait, comes after.
        event.listen(engine, "begin", began, insert=True)
        event.listen(engine, "commit", ended("commit"))
        event.listen(engine, "rollback", ended("rollback"))

    def read_database(self, db: Database, now: dt.datetime) -> None:
        """Set the gauges read from the database (blocking: call it off the event loop)."""
        try:
            with db.transaction() as session:
                pending, age = inbox.backlog(session, now)
                claims = runs.count_by_status(session)
        except Exception:
            self.database_up.set(0)
            raise
        self.database_up.set(1)
        self.inbox_backlog.set(pending)
        self.inbox_oldest_age.set(age)
        for status in {*claims, RUN_SENT, RUN_FAILED, RUN_UNCERTAIN}:
            self.scheduled_posts.labels(status).set(claims.get(status, 0))

    def exposition(self) -> bytes:
        """Return the metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class MeteredRequest(BaseRequest):
    """A Bot API transport that counts every call by method and outcome, then delegates."""

    def __init__(self, inner: BaseRequest, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    @property
    def read_timeout(self) -> float | None:
        """Return the wrapped transport's read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Initialize the wrapped transport."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Shut the wrapped transport down."""
        await self.inner.shutdown()

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
        """Send the request through the wrapped transport and count its outcome."""
        try:
            code, payload = await self.inner.do_request(
                url,
                method,
                request_data=request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except TimedOut:
            self.metrics.api_call(url, "timeout")
            raise
        except NetworkError:
            self.metrics.api_call(url, "network_error")
            raise
        self.metrics.api_call(url, *_outcome(code, payload))
        return code, payload


def _outcome(code: int, payload: bytes) -> tuple[str, float | None]:
    if code == 200:
        return "ok", None
    if code == 429:
        retry_after: float | None = None
        with contextlib.suppress(ValueError, TypeError, KeyError):
            retry_after = float(json.loads(payload)["parameters"]["retry_after"])
        return "flood", retry_after
    return ("server_error" if code >= 500 else "client_error"), None
