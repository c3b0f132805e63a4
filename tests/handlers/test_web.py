"""The web server in process: the webhook's checks, the operator's endpoints, the metrics, JSON
logs. The ASGI app is driven through httpx's ASGI transport on the test's own event loop, so an
accepted update goes through the real inbox and lanes to the real Application."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from telegram import Update

from bot.config import ConfigError, load_settings
from bot.logs import Redactor, log_chat, redacting_handler
from bot.metrics import MeteredRequest, Metrics, update_kind
from bot.polling import InboxPoller
from bot.sandbox import Sandbox, SandboxRequest
from bot.web import (
    SECRET_HEADER,
    AddressError,
    WebOptions,
    build_web_app,
    operator_routes,
    parse_address,
    webhook_path,
    webhook_route,
)
from kpi import inbox
from kpi.db import Database
from kpi.models import InboxUpdate

SECRET = "s3cret-Token_for-tests"
PATH = "/tg/hook-path"


def _stored(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(InboxUpdate)) or 0)


@pytest.fixture
async def web(app: Any, db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, InboxPoller]]:
    """The webhook and operator routes over the real app's inbox and lanes."""
    metrics = Metrics()
    app.add_error_handler(metrics.note_failure)
    poller = InboxPoller(app, db, metrics=metrics)
    routes = [
        webhook_route(PATH, SECRET, poller.receive, app.bot),
        *operator_routes(db, metrics),
    ]
    transport = httpx.ASGITransport(app=build_web_app(routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client, poller
    await poller.finish(seconds=5)


async def test_an_update_with_the_secret_is_stored_answered_200_then_handled(
    web: tuple[httpx.AsyncClient, InboxPoller], sandbox: Sandbox, db: Database
) -> None:
    client, poller = web
    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    update = sandbox.text(hoa, dm, "/help")
    answer = await client.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 200
    # Stored before the answer.
    assert _stored(db) == 1
    await poller.idle()
    assert sandbox.sent(dm), "the stored update went through the lanes to the handlers"
    # Telegram posting the same update again (our 200 lost) stores and handles nothing new.
    again = await client.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
    assert again.status_code == 200
    await poller.idle()
    assert _stored(db) == 1
    assert len(sandbox.sent(dm)) == 1


UPDATE = {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, json.dumps(UPDATE), 401),
        ({SECRET_HEADER: "wrong"}, json.dumps(UPDATE), 403),
        ({SECRET_HEADER: SECRET[:-1]}, json.dumps(UPDATE), 403),
        ({SECRET_HEADER: SECRET}, "{not json", 400),
        ({SECRET_HEADER: SECRET}, b"\xff\xfe", 400),
        ({SECRET_HEADER: SECRET}, "[1, 2]", 400),
        ({SECRET_HEADER: SECRET}, '{"hello": "world"}', 400),
        ({SECRET_HEADER: SECRET}, '{"update_id": "7", "message": {}}', 400),
        ({SECRET_HEADER: SECRET}, '{"update_id": 7}', 400),
        ({SECRET_HEADER: SECRET}, '{"update_id": 7, "message": 3}', 400),
        ({SECRET_HEADER: SECRET}, '{"update_id": 7, "message": {"text": "hi"}}', 400),
        ({SECRET_HEADER: SECRET}, json.dumps({**UPDATE, "padding": "x" * (1 << 20)}), 413),
    ],
    ids=[
        "no-secret",
        "wrong-secret",
        "secret-prefix",
        "not-json",
        "not-utf8",
        "a-list",
        "no-update-id",
        "update-id-text",
        "no-content",
        "content-not-an-object",
        "content-not-a-message",
        "oversized",
    ],
)
async def test_bad_requests_get_4xx_and_store_nothing(
    web: tuple[httpx.AsyncClient, InboxPoller],
    db: Database,
    headers: dict[str, str],
    body: str | bytes,
    status: int,
) -> None:
    client, _ = web
    answer = await client.post(
        PATH, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert answer.status_code == status
    assert _stored(db) == 0


async def test_an_oversized_body_without_a_length_is_refused_while_read(
    web: tuple[httpx.AsyncClient, InboxPoller], db: Database
) -> None:
    client, _ = web

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 65536

    answer = await client.post(PATH, content=chunks(), headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 413
    assert _stored(db) == 0


async def test_the_webhook_takes_only_post(
    web: tuple[httpx.AsyncClient, InboxPoller], db: Database
) -> None:
    client, _ = web
    for method in ("GET", "PUT", "DELETE"):
        answer = await client.request(method, PATH, headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 405, method
    assert (await client.post("/elsewhere", json=UPDATE)).status_code == 404
    assert _stored(db) == 0


async def test_healthz_and_readyz(web: tuple[httpx.AsyncClient, InboxPoller]) -> None:
    client, _ = web
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = Database(f"postgresql://postgres@127.0.0.1:{port}/kpibot")
    metrics = Metrics()
    app = build_web_app(operator_routes(db, metrics))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            answer = await client.get("/readyz")
            assert answer.status_code == 503
            assert answer.json()["status"] == "unavailable"
            # The process is still up, and its metrics still scrape.
            assert (await client.get("/healthz")).status_code == 200
            scraped = (await client.get("/metrics")).text
            assert "kpibot_database_up 0.0" in scraped
    finally:
        db.dispose()


def _sample(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_metrics_count_updates_received_handled_and_failed_and_read_the_inbox(
    web: tuple[httpx.AsyncClient, InboxPoller], sandbox: Sandbox, db: Database
) -> None:
    client, poller = web
    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    for _ in range(3):
        update = sandbox.text(hoa, dm, "/help")
        assert (await client.post(PATH, json=update, headers={SECRET_HEADER: SECRET})).is_success
    await poller.idle()
    # A handler that raises (Telegram down for its answer) counts as failed.
    sandbox.fail("sendMessage", code=400, description="Bad Request: something broke", times=2)
    update = sandbox.text(hoa, dm, "/help")
    assert (await client.post(PATH, json=update, headers={SECRET_HEADER: SECRET})).is_success
    await poller.idle()
    # One stored by an earlier run, not handled: the backlog is read from the database.
    with db.transaction() as s:
        inbox.store(s, items=[("earlier", 1, {"update_id": 1})])
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert _sample(text, "kpibot_updates_received_total", kind="message") == 4
    assert _sample(text, "kpibot_updates_handled_total", kind="message") == 3
    assert _sample(text, "kpibot_updates_failed_total", kind="message") == 1
    assert _sample(text, "kpibot_handler_seconds_count", kind="message") == 4
    assert _sample(text, "kpibot_inbox_backlog") == 1
    assert _sample(text, "kpibot_inbox_oldest_pending_age_seconds") >= 0
    assert _sample(text, "kpibot_database_up") == 1
    assert "kpibot_scheduled_posts" in text


async def test_metered_requests_count_calls_by_method_and_outcome_and_flood_waits(
    sandbox: Sandbox,
) -> None:
    from telegram import Bot
    from telegram.error import BadRequest, RetryAfter

    metrics = Metrics()
    request = MeteredRequest(SandboxRequest(sandbox), metrics)
    bot = Bot(sandbox.token, request=request, get_updates_request=request)
    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    async with bot:
        await bot.send_message(dm.id, "hello")
        sandbox.fail("sendMessage", code=429, retry_after=7)
        with pytest.raises(RetryAfter):
            await bot.send_message(dm.id, "hello")
        sandbox.fail("sendMessage", code=400)
        with pytest.raises(BadRequest):
            await bot.send_message(dm.id, "hello")
    text = metrics.exposition().decode()
    calls = "kpibot_bot_api_calls_total"
    assert _sample(text, calls, method="sendMessage", outcome="ok") == 1
    assert _sample(text, calls, method="sendMessage", outcome="flood") == 1
    assert _sample(text, calls, method="sendMessage", outcome="client_error") == 1
    assert _sample(text, calls, method="getMe", outcome="ok") == 1
    assert _sample(text, "kpibot_bot_api_flood_waits_total") == 1
    assert _sample(text, "kpibot_bot_api_flood_wait_seconds_total") == 7
    # The token is never a label.
    assert sandbox.token.split(":")[1] not in text


async def test_units_of_work_are_timed(db: Database) -> None:
    metrics = Metrics()
    metrics.watch(db.engine)
    await db.work(partial(inbox.pending, limit=1))
    text = metrics.exposition().decode()
    assert _sample(text, "kpibot_unit_of_work_seconds_count", outcome="commit") >= 1


def test_each_application_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.updates_received.labels("message").inc()
    assert _sample(two.exposition().decode(), "kpibot_updates_received_total") == 0


def test_json_logs_are_one_object_a_line_with_the_chat_and_no_token() -> None:
    token = "7000000001:AAE-secretsecretsecretsecret"
    out = io.StringIO()
    logger = logging.getLogger("kpibot.test_json")
    logger.propagate = False
    logger.handlers[:] = [redacting_handler(Redactor([token, SECRET]), out, fmt="json")]
    logger.setLevel(logging.INFO)
    try:
        reset = log_chat.set(-100123)
        logger.info("calling https://api.telegram.org/bot%s/getMe", token)
        log_chat.reset(reset)
        logger.warning("for a team", extra={"team": 7})
        try:
            raise RuntimeError(f"failed with {token} and {SECRET}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.handlers.clear()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["chat"] == -100123
    assert first["level"] == "INFO"
    assert first["message"] == "calling https://api.telegram.org/bot<token>/getMe"
    assert second["team"] == 7 and "chat" not in second
    assert "RuntimeError" in third["exception"]
    assert token not in out.getvalue()
    assert token.split(":")[1] not in out.getvalue()
    assert SECRET not in out.getvalue()


def test_the_webhook_secret_is_checked_against_telegrams_rule() -> None:
    env = {"TELEGRAM_WEBHOOK_SECRET": "has spaces!"}
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET must be"):
        load_settings(None, env)
    settings = load_settings(None, {"TELEGRAM_WEBHOOK_SECRET": SECRET})
    assert settings.require_webhook_secret() == SECRET
    assert SECRET not in repr(settings)
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is not set"):
        load_settings(None, {}).require_webhook_secret()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (WebOptions(webhook_url="http://bot.example.com/tg"), "https://"),
        (WebOptions(webhook_url="https://bot.example.com/metrics"), "operator"),
        (WebOptions(webhook_url="bot.example.com/tg"), "not a webhook URL"),
        (WebOptions(webhook_url="https://b.example.com/tg", max_connections=0), "between 1"),
    ],
)
def test_webhook_options_that_cannot_work_are_refused(options: WebOptions, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        options.check()


def test_addresses_and_paths() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    with pytest.raises(AddressError):
        parse_address("8080")
    assert webhook_path("https://bot.example.com/tg/abc?x=1") == "/tg/abc"
    assert webhook_path("https://bot.example.com") == "/"
    WebOptions(webhook_url="http://127.0.0.1:8080/tg", set_webhook=False).check()


def test_update_kinds(sandbox: Sandbox) -> None:
    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    message = sandbox.text(hoa, dm, "hi")
    edited = sandbox.edit(message, "hello")
    kinds = [update_kind(Update.de_json(u, None)) for u in (message, edited)]
    assert kinds == ["message", "edited_message"]
