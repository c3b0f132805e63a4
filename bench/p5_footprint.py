"""P5: footprint (QUALITY.md).

`kpibot run` as its own process against the sandbox served over HTTP, as an operator runs it:

- start-up: from launching the process (database migrated already, as on a restart) to its
  first `getUpdates`, against the time `python -c 'import telegram.ext, sqlalchemy.orm'` takes
  on the same machine in the same run (the floor any python-telegram-bot + SQLAlchemy bot pays);
- memory: the resident memory of the bot's whole process tree once it has served the P1
  workload (10 teams of 20 set up, then check-ins from all of them), against the 200 MB budget.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.core import Figure, Note, Result
from bench.dataset import person_name
from bench.p1 import COMMANDS, MEMBERS_PER_TEAM, TEAMS
from bot.sandbox import Sandbox, SandboxServer, SChat, SUser
from kpi import migrate
from kpi.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
START_GOAL = 2.5
RSS_BUDGET_MB = 200.0
# The stand-in enforces no limits here; the bot's own pacing would only measure itself.
FAST = "[telegram]\noverall_max_rate = 0\ngroup_max_rate = 0\nprivate_min_interval = 0\n"


@dataclass(frozen=True)
class Options:
    """How P5 runs."""

    quick: bool
    workdir: Path


def run(opts: Options) -> list[Result]:
    """Measure start-up and resident memory of `kpibot run`."""
    starts = 1 if opts.quick else 3
    checkins = 500 if opts.quick else 2000
    path = opts.workdir / "p5.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    config = opts.workdir / "p5.toml"
    config.write_text(FAST, encoding="utf-8")
    sandbox = Sandbox()
    server = sandbox.serve()
    server.start()
    imports: list[float] = []
    start_ups: list[float] = []
    try:
        for i in range(starts):
            imports.append(_import_floor())
            last = i == starts - 1
            proc, seconds = _start(sandbox, server, f"sqlite:///{path}", config, opts.workdir)
            start_ups.append(seconds)
            try:
                if last:
                    _workload(sandbox, checkins)
                    rss = _tree_rss_mb(proc.pid)
            finally:
                _stop(proc)
    finally:
        server.stop()
    floor = statistics.median(imports) * 1000
    start = statistics.median(start_ups) * 1000
    return [
        Figure(
            "P5",
            "start to first getUpdates",
            start,
            floor,
            "import telegram.ext, sqlalchemy.orm",
            "ms",
            goal=START_GOAL,
        ),
        Figure(
            "P5",
            f"resident memory after {checkins:,} check-ins (process tree)",
            rss,
            RSS_BUDGET_MB,
            "budget",
            "MB",
            goal=1.0,
        ),
        Note("P5", "start-up runs", ", ".join(f"{s * 1000:.0f} ms" for s in start_ups)),
    ]


def _env(**extra: str) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    python_path = f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)
    return {**os.environ, "PYTHONPATH": python_path, **extra}


def _import_floor() -> float:
    """Time `python -c 'import telegram.ext, sqlalchemy.orm'` (seconds)."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import telegram.ext, sqlalchemy.orm"], env=_env(), check=True
    )
    return time.perf_counter() - began


def _start(
    sandbox: Sandbox, server: SandboxServer, url: str, config: Path, workdir: Path
) -> tuple[subprocess.Popen[bytes], float]:
    """Launch `kpibot run`; return it and the seconds until its first getUpdates."""
    # A long poll is recorded among the calls when it is answered: its start moves poll_gen.
    polls = sandbox.world.poll_gen
    env = _env(
        TELEGRAM_BOT_TOKEN=sandbox.token,
        TELEGRAM_BASE_URL=server.base_url,
        TELEGRAM_BASE_FILE_URL=server.base_file_url,
        DATABASE_URL=url,
        KPIBOT_CONFIG=str(config),
    )
    log = (workdir / "p5-bot.log").open("ab")
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=workdir, env=env, stdout=log, stderr=log
    )
    polled = sandbox.wait_until(lambda: sandbox.world.poll_gen > polls, 120)
    seconds = time.perf_counter() - began
    if not polled:
        _stop(proc)
        raise RuntimeError(f"P5: the bot did not poll; see {workdir / 'p5-bot.log'}")
    return proc, seconds


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _workload(sandbox: Sandbox, checkins: int) -> None:
    """Set up 10 teams of 20 through the bot, then send check-ins from everyone in turn."""
    groups: list[tuple[SChat, list[SUser]]] = []
    for t in range(TEAMS):
        people = []
        for i in range(MEMBERS_PER_TEAM):
            family, given = person_name(t * MEMBERS_PER_TEAM + i)
            people.append(sandbox.user(given, last_name=family, language_code="vi"))
        group = sandbox.group(f"Kinh doanh {t + 1:02d}", creator=people[0], members=people[1:])
        sandbox.text(people[0], group, "/setup")
        groups.append((group, people))
    _wait(sandbox, [g for g, _ in groups], 1)
    for group, people in groups:
        for rep in people[1:]:
            sandbox.text(rep, group, "/join")
    _wait(sandbox, [g for g, _ in groups], MEMBERS_PER_TEAM)
    for i in range(checkins):
        group, people = groups[i % TEAMS]
        command, _, low, _ = COMMANDS[i % len(COMMANDS)]
        sandbox.text(people[(i // TEAMS) % MEMBERS_PER_TEAM], group, f"{command} {low}")
    _wait(sandbox, [g for g, _ in groups], MEMBERS_PER_TEAM + checkins // TEAMS)


def _wait(sandbox: Sandbox, groups: list[SChat], each: int) -> None:
    if not sandbox.wait_until(lambda: all(len(sandbox.sent(g)) >= each for g in groups), 600):
        counts = [len(sandbox.sent(g)) for g in groups]
        raise RuntimeError(f"P5: the bot did not answer in time ({counts}, {each} expected)")


def _tree_rss_mb(pid: int) -> float:
    """Return the resident memory of a process and all its descendants (MB, from /proc)."""
    total_kb = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
        for task in Path(f"/proc/{p}/task").iterdir():
            children = (task / "children").read_text().split()
            todo.extend(int(c) for c in children)
    return total_kb / 1024
