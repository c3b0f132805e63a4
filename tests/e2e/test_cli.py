"""The command line as an operator meets it: one clear line and a non-zero exit for a mistake,
never a traceback, never the token (issue 8). Each test runs `python -m bot` as a process."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot
from bot.config import ENVIRONMENT
from bot.logs import Redactor, redacting_handler
from bot.sandbox import Sandbox, SandboxServer
from tests.support.processes import kpibot

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAHsecretPARTofTHEtokenXYZ0123456789"
SECRET = TOKEN.split(":")[1]


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert the run failed with exactly one line on stderr, no traceback; return the line."""
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kpibot: ")
    return lines[0]


# --- --version, --help, --config anywhere -------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    proc = kpibot(["--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kpibot {bot.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", bot.__version__)


def test_run_help_lists_every_environment_variable_the_bot_reads(tmp_path: Path) -> None:
    proc = kpibot(["run", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r"env\.get\(\s*\"([A-Z_]+)\"", source))
    assert read >= {"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "KPIBOT_CONFIG"}
    assert read <= set(ENVIRONMENT)
    for name in ENVIRONMENT:
        assert re.search(rf"^\s+{name}\s+\S", proc.stdout, re.MULTILINE), proc.stdout


@pytest.mark.parametrize(
    "where",
    [
        ["--config", "{c}", "db", "upgrade"],
        ["db", "--config", "{c}", "upgrade"],
        ["db", "upgrade", "--config", "{c}"],
    ],
    ids=["before", "between", "after"],
)
def test_config_is_read_before_or_after_the_subcommand(tmp_path: Path, where: list[str]) -> None:
    database = tmp_path / "from-the-file.db"
    config = tmp_path / "mine.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
    proc = kpibot([a.replace("{c}", str(config)) for a in where], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("schema at ")
    assert database.exists()
    assert not (tmp_path / "kpibot.db").exists()


# --- operator mistakes: one line, non-zero exit -------------------------------------------------

MISTAKES = [
    # (id, command, DATABASE_URL, config.toml text, what the line says)
    ("malformed-url", "db upgrade", "not a url at all", None, "is not a database URL"),
    ("postgres-scheme", "db upgrade", "postgres://kpi:hunter22@h/kpi", None, "postgresql://"),
    ("unsupported", "db upgrade", "mysql://kpi@127.0.0.1/kpi", None, "unsupported database"),
    ("refused", "db upgrade", "postgresql://u@127.0.0.1:1/kpi", None, "cannot use the data"),
    ("refused", "db current", "postgresql://u@127.0.0.1:1/kpi", None, "cannot use the data"),
    ("no-folder", "db upgrade", "sqlite:///{tmp}/no/such/k.db", None, "does not exist"),
    ("no-folder", "db current", "sqlite:///{tmp}/no/such/k.db", None, "does not exist"),
    ("quoted-bool", "db upgrade", None, '[defaults]\ndeal_approval = "false"', "true or false"),
    ("quoted-number", "db current", None, '[telegram]\npoll_timeout = "30"', "whole number"),
    ("unknown-key", "db upgrade", None, '[defaults]\ntimezon = "UTC"', "defaults.timezon"),
    ("unknown-section", "db current", None, "[defualts]\ntop_n = 3", "section [defualts]"),
    ("bad-log-level", "db upgrade", None, '[logging]\nlevel = "LOUD"', "logging.level"),
    ("url-in-file", "db current", None, '[database]\nurl = "postgres://h/db"', "database.url"),
]


@pytest.mark.parametrize(
    ("command", "url", "config", "says"),
    [m[1:] for m in MISTAKES],
    ids=[f"{m[0]}-{m[1]}" for m in MISTAKES],
)
def test_an_operator_mistake_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, command: str, url: str | None, config: str | None, says: str
) -> None:
    env = {"KPIBOT_CONFIG": str(tmp_path / "config.toml")}
    (tmp_path / "config.toml").write_text(config or "", encoding="utf-8")
    if url:
        env["DATABASE_URL"] = url.replace("{tmp}", str(tmp_path))
    line = one_line(kpibot(command.split(), tmp_path, env=env))
    assert says in line
    assert "hunter22" not in line  # a password in a URL is never echoed
    assert not (tmp_path / "kpibot.db").exists()


def test_an_unknown_key_names_the_closest_known_one(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[defaults]\ntimezon = "Asia/Bangkok"\n')
    line = one_line(kpibot(["db", "current"], tmp_path))
    assert "unknown key defaults.timezon (did you mean defaults.timezone?)" in line


def test_a_quoted_false_does_not_turn_approval_on(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[defaults]\ndeal_approval = "false"\n')
    proc = kpibot(["db", "upgrade"], tmp_path)
    assert one_line(proc).endswith(
        'defaults.deal_approval must be true or false (without quotes), got "false"'
    )
    assert proc.returncode == 2


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["run"]], ids=" ".join)
def test_kpibot_config_naming_a_missing_file_is_refused(
    tmp_path: Path, command: list[str]
) -> None:
    env = {"KPIBOT_CONFIG": str(tmp_path / "typo.toml"), "TELEGRAM_BOT_TOKEN": TOKEN}
    line = one_line(kpibot(command, tmp_path, env=env))
    assert line == f"kpibot: KPIBOT_CONFIG names {tmp_path / 'typo.toml'}: no such file"
    # Not the defaults with a new empty database.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mistake", ["quoted-bool", "unknown-key", "unknown-section"])
def test_kpibot_run_says_one_line_for_a_config_mistake(tmp_path: Path, mistake: str) -> None:
    [(_, _, _, config, says)] = [m for m in MISTAKES if m[0] == mistake]
    (tmp_path / "config.toml").write_text(config or "", encoding="utf-8")
    proc = kpibot(["run"], tmp_path, env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert says in one_line(proc)
    assert proc.returncode == 2


def test_postgresql_without_its_driver_says_how_to_install_it(tmp_path: Path) -> None:
    # psycopg made unimportable, as in an install without the postgres extra.
    hide = (
        "import runpy, sys; sys.modules['psycopg'] = None; "
        "runpy.run_module('bot', run_name='__main__')"
    )
    proc = kpibot(
        ["db", "current"],
        tmp_path,
        env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/kpibot"},
        python=[sys.executable, "-c", hide],
    )
    line = one_line(proc)
    assert "psycopg" in line and "kpibot[postgres]" in line


# --- kpibot db current --------------------------------------------------------------------------


def test_db_current_on_a_database_never_set_up_says_so_and_creates_nothing(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'kpi.db'}"}
    line = one_line(kpibot(["db", "current"], tmp_path, env=env))
    assert "not initialised" in line and "kpibot db upgrade" in line
    assert list(tmp_path.iterdir()) == []
    # Default URL, relative to where it runs: nothing left behind either.
    assert "not initialised" in one_line(kpibot(["db", "current"], tmp_path))
    assert list(tmp_path.iterdir()) == []
    # An empty file (or an empty PostgreSQL database) is not initialised either.
    (tmp_path / "kpi.db").write_bytes(b"")
    assert "not initialised" in one_line(kpibot(["db", "current"], tmp_path, env=env))
    upgraded = kpibot(["db", "upgrade"], tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    current = kpibot(["db", "current"], tmp_path, env=env)
    assert current.returncode == 0, current.stderr
    assert current.stdout == upgraded.stdout
    assert re.fullmatch(r"schema at (\w+) \(head \1\)\n", current.stdout)


# --- the token never appears --------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[SandboxServer]:
    """The sandbox over HTTP on localhost."""
    server = Sandbox().serve()
    server.start()
    yield server
    server.stop()


def test_a_rejected_token_is_never_printed(served: SandboxServer, tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,  # not the sandbox's: Telegram answers 401
        "TELEGRAM_BASE_URL": served.base_url,
        "TELEGRAM_BASE_FILE_URL": served.base_file_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kpi.db'}",
    }
    proc = kpibot(["run"], tmp_path, env=env)
    assert proc.returncode != 0
    assert SECRET not in proc.stderr + proc.stdout


def test_an_unexpected_error_with_the_token_in_it_is_redacted(tmp_path: Path) -> None:
    crash = (
        "import sys, bot.__main__ as cli\n"
        "def boom(settings, command):\n"
        "    raise RuntimeError(f'cannot reach https://api.telegram.org/bot{settings.token}/getMe')\n"
        "cli.db_command = boom\n"
        "sys.exit(cli.main(['db', 'current']))\n"
    )
    proc = kpibot(
        [], tmp_path, env={"TELEGRAM_BOT_TOKEN": TOKEN}, python=[sys.executable, "-c", crash]
    )
    assert proc.returncode == 1
    assert SECRET not in proc.stderr
    # The traceback is logged (redacted) for whoever debugs it, then one line closes the run.
    assert "Traceback" in proc.stderr and "RuntimeError" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "kpibot: stopped by an unexpected error: RuntimeError: "
        "cannot reach https://api.telegram.org/bot<token>/getMe"
    )


def test_uncaught_exceptions_in_threads_and_the_main_thread_are_redacted(tmp_path: Path) -> None:
    script = (
        "import threading\n"
        "from bot.logs import setup_logging\n"
        f"setup_logging('INFO', [{TOKEN!r}])\n"
        f"def work(): raise ValueError('in a thread: ' + {TOKEN!r})\n"
        "t = threading.Thread(target=work); t.start(); t.join()\n"
        f"raise RuntimeError('in main: ' + {TOKEN!r})\n"
    )
    proc = kpibot([], tmp_path, python=[sys.executable, "-c", script])
    assert proc.returncode == 1
    assert "in a thread: <token>" in proc.stderr and "in main: <token>" in proc.stderr
    assert SECRET not in proc.stderr


def test_the_log_handler_redacts_arguments_exceptions_and_stacks() -> None:
    out = io.StringIO()
    logger = logging.getLogger("kpibot.test-redaction")
    logger.propagate = False
    logger.handlers[:] = [redacting_handler(Redactor([TOKEN]), out)]
    try:
        logger.warning("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
        try:
            raise ValueError(f"The token `{TOKEN}` was rejected by the server.")
        except ValueError:
            logger.exception("start failed")
        logger.warning("file %s", f"https://x/file/bot{TOKEN.replace(':', '%3A')}/a.png")
        logger.warning("secret alone %s", SECRET, stack_info=True)
    finally:
        logger.handlers.clear()
    text = out.getvalue()
    assert SECRET not in text
    assert "calling https://api.telegram.org/bot<token>/getMe" in text
    assert "ValueError: The token `<token>` was rejected by the server." in text
    assert "file https://x/file/bot<token>/a.png" in text
    assert "Stack (most recent call last)" in text


# --- kpibot erase: a person's data on request, every team ---------------------------------------


def test_erase_names_a_person_asks_for_yes_and_says_one_line_for_a_mistake(
    tmp_path: Path,
) -> None:
    from sqlalchemy import select

    from kpi.db import Database
    from kpi.models import Member
    from tests.support.usecases import PRIVATE_REP, REP, log, set_up_team

    url = f"sqlite:///{tmp_path / 'kpibot.db'}"
    env = {"DATABASE_URL": url, "KPIBOT_CONFIG": str(tmp_path / "config.toml")}
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    assert kpibot(["db", "upgrade"], tmp_path, env=env).returncode == 0
    db = Database(url)
    try:
        set_up_team(db)
        log(db, REP, PRIVATE_REP, "/call 3 anh Tâm Bình Dương")
        with db.transaction() as s:
            s.execute(
                Member.__table__.update()
                .where(Member.telegram_id == REP.telegram_id)
                .values(username="minh_rep")
            )

        line = one_line(kpibot(["erase", "@nobody"], tmp_path, env=env))
        assert line == (
            "kpibot: nobody '@nobody' (give their @username or Telegram id; the bot knows "
            "people who have talked to it)"
        )
        proc = kpibot(["erase", "@minh_rep"], tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("would erase Minh (member #2; teams: Sales HCM)")
        proc = kpibot(["erase", str(REP.telegram_id), "--yes"], tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(
            "erased Minh (member #2; teams: Sales HCM): now 'Người dùng đã xoá #2'; "
            "1 check-ins and 1 entries blanked"
        )
        assert "older backups still hold the data" in proc.stdout
        with db.transaction() as s:
            m = s.scalars(select(Member).where(Member.id == 2)).one()
            assert (m.telegram_id, m.username, m.erased_at is not None) == (None, None, True)
        # Erased once: the same name finds nobody any more.
        line = one_line(kpibot(["erase", "@minh_rep", "--yes"], tmp_path, env=env))
        assert "nobody '@minh_rep'" in line
    finally:
        db.dispose()
