"""The bot as a process: `python -m bot ARGS` run to its end, and `kpibot run` kept running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.config import ENVIRONMENT
from bot.sandbox import SandboxServer


def kpibot(
    args: list[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    python: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` with a clean environment plus `env`; return the finished run."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ENVIRONMENT and k not in ("TEST_DATABASE_URL",)
    }
    command = python or [sys.executable, "-m", "bot"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


class BotProcess:
    """A `kpibot run` child process pointed at the sandbox's HTTP server."""

    def __init__(
        self,
        server: SandboxServer,
        db_url: str,
        workdir: Path,
        config: str = "",
        *,
        token: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.server = server
        self.db_url = db_url
        self.token = token or server.sandbox.token
        self.workdir = workdir
        self.config = workdir / "config.toml"
        self.config.write_text(config, encoding="utf-8")
        self.proc: subprocess.Popen[str] | None = None
        self.log = workdir / "bot.log"

    def start(self) -> None:
        """Start the bot; its output goes to a log file."""
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_BASE_URL": self.server.base_url,
            "TELEGRAM_BASE_FILE_URL": self.server.base_file_url,
            "DATABASE_URL": self.db_url,
            "KPIBOT_CONFIG": str(self.config),
            **self.extra_env,
        }
        self._out = self.log.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", *self.args],
            cwd=self.workdir,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the bot and wait for it to exit; return its exit code (killed if it is late)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        """Wait for the bot to exit by itself; return its exit code (killed if it is late)."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self._out.close()

    def output(self) -> str:
        """Return what the bot printed so far (stdout and stderr)."""
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""
