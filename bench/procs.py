"""What P7 and P8 share: `kpibot run --webhook` processes and the CPU each process spent.

CPU comes from /proc (utime + stime of a process and its descendants; PostgreSQL's backends of
the benchmark's database found through pg_stat_activity), so no extra package is needed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from sqlalchemy import text

from kpi import migrate
from kpi.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
SECRET = "bench-webhook-secret_0123456789"
PUBLIC = "https://bot.example.com/tg/bench"
# The stand-in enforces no limits here; the bot's own pacing would only measure itself.
FAST = "[telegram]\noverall_max_rate = 0\ngroup_max_rate = 0\nprivate_min_interval = 0\n"


def fresh_pg(url: str) -> None:
    """Drop and recreate the database's public schema, then migrate it."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    engine.dispose()


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    """Return this environment with the repository on PYTHONPATH, plus `extra`."""
    path = os.environ.get("PYTHONPATH")
    python_path = f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)
    return {**os.environ, "PYTHONPATH": python_path, **extra}


class WebhookBot:
    """One `kpibot run --webhook URL --listen 127.0.0.1:PORT` process."""

    def __init__(
        self, name: str, workdir: Path, db_url: str, base_url: str, file_url: str
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        config = workdir / f"{name}.toml"
        config.write_text(FAST, encoding="utf-8")
        self._env = env(
            TELEGRAM_BOT_TOKEN="",
            TELEGRAM_BASE_URL=base_url,
            TELEGRAM_BASE_FILE_URL=file_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            DATABASE_URL=db_url,
            KPIBOT_CONFIG=str(config),
            KPIBOT_INSTANCE=name,
        )
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """Return the address the web server listens on."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, token: str) -> None:
        """Start the process and wait until /healthz answers."""
        self._env["TELEGRAM_BOT_TOKEN"] = token
        out = self.log.open("ab")
        listen = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--webhook", PUBLIC, "--listen", listen],
            cwd=self.workdir,
            env=self._env,
            stdout=out,
            stderr=out,
        )
        out.close()
        until(self._up, 90, f"{self.name} did not start; see {self.log}")

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited; see {self.log}")
        try:
            return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL if it is late)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until `predicate()` holds; raise with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {what}")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds (user + system) of a process and its live descendants."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue
        # After the ")" that ends the name: state is field 3, utime 14 and stime 15.
        total += (int(fields[11]) + int(fields[12])) / TICKS
        for task in tasks:
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except FileNotFoundError:
                continue
    return total


def self_cpu() -> float:
    """Return the CPU seconds this process has spent so far."""
    return time.process_time()


class PgBackends:
    """The CPU of PostgreSQL's backends serving the benchmark's database (except its own)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def snapshot(self) -> dict[int, float]:
        """Return each backend's CPU seconds so far."""
        with self.engine.connect() as conn:
            pids = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            return {int(p): cpu_seconds(int(p)) for p in pids}

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        """Return the CPU the backends spent between two snapshots (new ones from zero)."""
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

    def close(self) -> None:
        """Close the benchmark's own connection."""
        self.engine.dispose()


def cpu_line(parts: Sequence[tuple[str, float]]) -> str:
    """Format named CPU seconds: 'bot 4.21 s, PostgreSQL 1.02 s'."""
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in parts)
