"""End to end: `kpibot run` as a separate process against the sandbox served over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.sandbox import Sandbox, SandboxServer
from kpi.db import Database
from kpi.models import Activity, InboxUpdate
from tests.support.processes import BotProcess


def _wait(sandbox: Sandbox, predicate: Any, timeout: float = 30.0) -> None:
    assert sandbox.wait_until(predicate, timeout), "the bot did not answer in time"


def test_kpibot_run_serves_a_team_over_http(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    bot = BotProcess(served, db_url, tmp_path)
    lan = sandbox.user("Lan", language_code="vi")
    hoa = sandbox.user("Hoa", language_code="en")
    group = sandbox.group("Sales", creator=lan, members=[hoa])
    bot.start()
    try:
        sandbox.text(lan, group, "/setup")
        _wait(sandbox, lambda: any("Sales" in (m.text or "") for m in sandbox.sent(group)))
        sandbox.text(hoa, group, "/join")
        # Chats are handled independently: wait for the join before logging in private.
        _wait(sandbox, lambda: any("joined team" in (m.text or "") for m in sandbox.sent(group)))
        dm = sandbox.private(hoa)
        sandbox.text(hoa, dm, "/call 3")
        _wait(sandbox, lambda: any("+3 calls" in (m.text or "") for m in sandbox.sent(dm)))
        # A correction: the last check-in undone.
        sandbox.text(hoa, dm, "/undo")
        _wait(sandbox, lambda: any("Undone" in (m.text or "") for m in sandbox.sent(dm)))
        # A button press: the language keyboard.
        sandbox.text(hoa, dm, "/language")
        _wait(sandbox, lambda: bool(sandbox.sent(dm)[-1].buttons()))
        keyboard = sandbox.sent(dm)[-1]
        sandbox.press(hoa, dm, keyboard.message_id, "lang:vi")
        _wait(sandbox, lambda: "tiếng Việt" in (sandbox.sent(dm)[-1].text or ""))
        sandbox.text(hoa, dm, "/call 2")
        _wait(sandbox, lambda: "+2 cuộc gọi" in (sandbox.sent(dm)[-1].text or ""))
        # The command menus were published in both languages.
        assert {
            c.params.get("language_code") for c in sandbox.calls if c.method == "setMyCommands"
        } >= {
            "vi",
            "en",
        }
    finally:
        code = bot.stop()
    log = bot.log.read_text(encoding="utf-8")
    assert code == 0, log
    assert "stopped cleanly" in log
    assert sandbox.token not in log
    database = Database(db_url)
    with database.transaction() as s:
        rows = s.execute(select(Activity.value, Activity.status).order_by(Activity.id)).all()
        assert [tuple(r) for r in rows] == [(3, "voided"), (2, "active")]
        pending = s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending")
        )
        assert pending == 0
    database.dispose()


def test_missing_token_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # No config file at all (none in the folder, no KPIBOT_CONFIG): the defaults.
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "KPIBOT_CONFIG")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_demo_runs_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Đã thiết lập đội Kinh doanh HCM" in proc.stdout
    assert "Bot hiểu là:" in proc.stdout
    assert "Xin lỗi, đã có lỗi" not in proc.stdout
    assert (tmp_path / "demo" / "conversation.txt").exists()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_stop_in_the_middle_loses_nothing_and_doubles_nothing(
    served: SandboxServer, sandbox: Sandbox, db_url: str, tmp_path: Path, sig: int
) -> None:
    """QUALITY.md R2 and R10: 2,000 check-ins, the bot killed (SIGKILL) or stopped (SIGTERM)
    halfway, then restarted: every check-in is stored exactly once. A SIGTERM stops it cleanly
    within a container's default grace of 10 s.

    The stand-in does not enforce Telegram's limits here, so the bot's own send pacing is lifted
    (at 30 replies a second the test would only measure the rate limiter).
    """
    fast = "[telegram]\noverall_max_rate = 0\ngroup_max_rate = 0\nprivate_min_interval = 0\n"
    lan = sandbox.user("Lan", language_code="vi")
    reps = [sandbox.user(f"Rep{i}", language_code="vi") for i in range(20)]
    group = sandbox.group("Crash", creator=lan, members=reps)
    bot = BotProcess(served, db_url, tmp_path, fast)
    bot.start()
    try:
        sandbox.text(lan, group, "/setup")
        for rep in reps:
            sandbox.text(rep, group, "/join")
        _wait(sandbox, lambda: len(sandbox.sent(group)) >= 21)
        dms = [sandbox.private(rep) for rep in reps]
        for i in range(2000):
            sandbox.text(reps[i % 20], dms[i % 20], "/call 1")
        _wait(sandbox, lambda: sum(len(sandbox.sent(dm)) for dm in dms) >= 600, timeout=120)
    finally:
        began = time.monotonic()
        stopped = bot.stop(sig, timeout=10)
    if sig == signal.SIGKILL:
        assert stopped == -signal.SIGKILL
    else:
        assert stopped == 0 and time.monotonic() - began <= 10
        assert "stopped cleanly" in bot.log.read_text(encoding="utf-8")
    restarted = BotProcess(served, db_url, tmp_path, fast)
    restarted.start()
    database = Database(db_url)

    def stored() -> int:
        with database.transaction() as s:
            return int(s.scalar(select(func.coalesce(func.sum(Activity.value), 0))) or 0)

    try:
        deadline = time.monotonic() + 180
        while stored() < 2000 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sandbox.wait_until(lambda: not sandbox.pending(), 60)
    finally:
        code = restarted.stop()
    assert code == 0, restarted.log.read_text(encoding="utf-8")
    # Every check-in sent before the kill is stored exactly once, confirmed or not.
    assert stored() == 2000
    with database.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 2000
    database.dispose()
