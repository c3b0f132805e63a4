"""`kpibot run --webhook` and `--http` as processes against the HTTP sandbox.

Telegram's side is `WebhookDelivery`: it posts the sandbox's updates to the URL and with the
secret the bot registered through `setWebhook`, through a stand-in for the reverse proxy that
ends TLS (the registered URL is https://, the bot listens on plain HTTP on localhost).
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from telegram import Update

from bot.sandbox import Sandbox, SandboxServer
from bot.sandbox.webhook import SECRET_HEADER, WebhookDelivery
from kpi.db import Database
from kpi.models import Activity, InboxUpdate
from tests.support.processes import BotProcess

SECRET = "e2e-webhook-secret_0123456789"
PUBLIC = "https://bot.example.com/tg/Xk3-path"
GRACE = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


@pytest.fixture
def delivery(sandbox: Sandbox) -> Iterator[Callable[[int], WebhookDelivery]]:
    """Start Telegram's webhook delivery towards a local port."""
    started: list[WebhookDelivery] = []

    def start(port: int) -> WebhookDelivery:
        d = WebhookDelivery(sandbox, via=f"http://127.0.0.1:{port}")
        d.start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def test_kpibot_run_webhook_stores_answers_refuses_and_reports(
    served: SandboxServer,
    sandbox: Sandbox,
    db_url: str,
    tmp_path: Path,
    delivery: Callable[[int], WebhookDelivery],
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bot = BotProcess(
        served,
        db_url,
        tmp_path,
        args=["--webhook", PUBLIC, "--listen", f"127.0.0.1:{port}", "--max-connections", "20"],
        env={"TELEGRAM_WEBHOOK_SECRET": SECRET},
    )
    database = Database(db_url)
    lan = sandbox.user("Lan", language_code="en")
    hoa = sandbox.user("Hoa", language_code="en")
    group = sandbox.group("Sales", creator=lan, members=[hoa])
    telegram = delivery(port)
    bot.start()
    try:
        _until(lambda: bool(sandbox.calls_for("setWebhook")), what=bot.output())
        registered = sandbox.calls_for("setWebhook")[-1]
        assert registered.ok
        assert registered.params["url"] == PUBLIC
        assert registered.params["secret_token"] == SECRET
        assert registered.params["max_connections"] == 20
        assert set(registered.params["allowed_updates"]) == set(Update.ALL_TYPES)
        assert not sandbox.calls_for("deleteWebhook")
        assert _up(base)

        # A team served through the webhook: set up, joined, check-ins, a correction.
        sandbox.text(lan, group, "/setup")
        _until(lambda: any("Sales" in (m.text or "") for m in sandbox.sent(group)))
        sandbox.text(hoa, group, "/join")
        _until(lambda: any("joined team" in (m.text or "") for m in sandbox.sent(group)))
        dm = sandbox.private(hoa)
        for n in (3, 2, 4):
            sandbox.text(hoa, dm, f"/call {n}")
        _until(lambda: sum("calls" in (m.text or "") for m in sandbox.sent(dm)) >= 3)
        sandbox.text(hoa, dm, "/undo")
        _until(lambda: any("Undone" in (m.text or "") for m in sandbox.sent(dm)))
        _until(lambda: len(telegram.delivered) == 6 and _count(database, InboxUpdate) == 6)
        assert not telegram.refused
        assert _count(database, Activity) >= 2

        # Whatever is not a genuine update from Telegram: 4xx, nothing stored.
        url = f"{base}/tg/Xk3-path"
        good = {"update_id": 10**9, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}
        bad = [
            (httpx.post(url, json=good, headers={SECRET_HEADER: "not-it"}), 403),
            (httpx.post(url, json=good), 401),
            (httpx.post(url, content=b"{oops", headers={SECRET_HEADER: SECRET}), 400),
            (httpx.post(url, json={"ok": True}, headers={SECRET_HEADER: SECRET}), 400),
            (
                httpx.post(
                    url, content=b"[" + b"1," * 600_000 + b"1]", headers={SECRET_HEADER: SECRET}
                ),
                413,
            ),
            (httpx.get(url, headers={SECRET_HEADER: SECRET}), 405),
        ]
        for answer, status in bad:
            assert answer.status_code == status, (answer.request.method, answer.text)
        assert _count(database, InboxUpdate) == 6

        # The operator's view on the same port.
        assert httpx.get(f"{base}/readyz").status_code == 200
        scraped = httpx.get(f"{base}/metrics")
        assert scraped.status_code == 200
        text = scraped.text
        assert _metric(text, "kpibot_updates_received_total", kind="message") == 6
        assert _metric(text, "kpibot_updates_handled_total", kind="message") == 6
        assert _metric(text, "kpibot_updates_failed_total") == 0
        assert _metric(text, "kpibot_handler_seconds_count") == 6
        assert _metric(text, "kpibot_inbox_backlog") == 0
        assert _metric(text, "kpibot_bot_api_calls_total", method="setWebhook", outcome="ok") == 1
        assert _metric(text, "kpibot_bot_api_calls_total", method="sendMessage", outcome="ok") >= 6
        assert _metric(text, "kpibot_unit_of_work_seconds_count", outcome="commit") > 0
        # The counters move with more check-ins.
        sandbox.text(hoa, dm, "/call 1")
        _until(lambda: _count(database, InboxUpdate) == 7)
        _until(
            lambda: _metric(httpx.get(f"{base}/metrics").text, "kpibot_updates_handled_total") == 7
        )
    finally:
        began = time.monotonic()
        code = bot.stop(signal.SIGTERM, timeout=GRACE)
        stopped_in = time.monotonic() - began
        database.dispose()
    out = bot.output()
    assert code == 0, out
    assert stopped_in <= GRACE
    assert "stopped cleanly" in out
    assert "Traceback" not in out
    assert SECRET not in out
    assert sandbox.token.split(":")[1] not in out
    assert not _up(base)


def test_an_update_posted_while_the_bot_is_down_is_delivered_after_the_restart(
    served: SandboxServer,
    sandbox: Sandbox,
    db_url: str,
    tmp_path: Path,
    delivery: Callable[[int], WebhookDelivery],
) -> None:
    """Telegram keeps an update until the webhook answers 2xx: one sent while the bot is
    stopped is handled once it is back, and is stored once."""
    port = _free_port()
    args = ["--webhook", PUBLIC, "--listen", f"127.0.0.1:{port}"]
    env = {"TELEGRAM_WEBHOOK_SECRET": SECRET}
    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    telegram = delivery(port)
    bot = BotProcess(served, db_url, tmp_path, args=args, env=env)
    bot.start()
    try:
        _until(lambda: bool(sandbox.calls_for("setWebhook")), what=bot.output())
        sandbox.text(hoa, dm, "/help")
        _until(lambda: len(sandbox.sent(dm)) == 1)
    finally:
        assert bot.stop(signal.SIGTERM, timeout=GRACE) == 0, bot.output()
    sandbox.text(hoa, dm, "/help")
    _until(lambda: len(telegram.refused) > 0 or telegram.held > 0)
    restarted = BotProcess(served, db_url, tmp_path, args=args, env=env)
    restarted.start()
    try:
        _until(lambda: len(sandbox.sent(dm)) == 2, what=restarted.output())
    finally:
        assert restarted.stop(signal.SIGTERM, timeout=GRACE) == 0, restarted.output()
    database = Database(db_url)
    try:
        assert _count(database, InboxUpdate) == 2
    finally:
        database.dispose()


def test_polling_serves_the_operators_view_on_http(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bot = BotProcess(
        served, db_url, tmp_path, args=["--http", f"127.0.0.1:{port}", "--log-format", "json"]
    )
    hoa = sandbox.user("Hoa", language_code="en")
    dm = sandbox.private(hoa)
    bot.start()
    try:
        _until(lambda: _up(base), what=bot.output())
        sandbox.text(hoa, dm, "/help")
        _until(lambda: bool(sandbox.sent(dm)))
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        text = httpx.get(f"{base}/metrics").text
        assert _metric(text, "kpibot_updates_received_total", kind="message") == 1
        assert _metric(text, "kpibot_bot_api_calls_total", method="getUpdates", outcome="ok") >= 1
        # Polling has no webhook: its path is not served.
        assert httpx.post(f"{base}/tg/Xk3-path", json={}).status_code == 404
    finally:
        code = bot.stop(signal.SIGTERM, timeout=GRACE)
    assert code == 0, bot.output()
    import json

    lines = [json.loads(line) for line in bot.output().splitlines() if line.strip()]
    assert any(line["message"] == "stopped cleanly" for line in lines)
    assert sandbox.calls_for("deleteWebhook")


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--webhook", PUBLIC], {}, "TELEGRAM_WEBHOOK_SECRET is not set"),
        (["--webhook", PUBLIC], {"TELEGRAM_WEBHOOK_SECRET": "a b"}, "must be 1 to 256"),
        (["--webhook", "http://bot.example.com/tg"], {"TELEGRAM_WEBHOOK_SECRET": SECRET}, "https"),
        (["--listen", "127.0.0.1:8080"], {}, "go with --webhook"),
    ],
    ids=["no-secret", "bad-secret", "http-url", "listen-alone"],
)
def test_webhook_mistakes_are_one_line(
    served: SandboxServer,
    db_url: str,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    says: str,
) -> None:
    bot = BotProcess(served, db_url, tmp_path, args=args, env=env)
    bot.start()
    code = bot.wait(timeout=30)
    lines = bot.output().strip().splitlines()
    assert code == 2
    assert len(lines) == 1, lines
    assert says in lines[0]


def test_a_port_in_use_is_one_line(served: SandboxServer, db_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        bot = BotProcess(
            served,
            db_url,
            tmp_path,
            args=["--webhook", PUBLIC, "--listen", f"127.0.0.1:{port}"],
            env={"TELEGRAM_WEBHOOK_SECRET": SECRET},
        )
        bot.start()
        code = bot.wait(timeout=30)
    lines = bot.output().strip().splitlines()
    assert code == 2
    assert len(lines) == 1, lines
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
