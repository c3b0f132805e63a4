"""The `kpibot` command line: run, demo, db, export, import, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from pathlib import Path

from bot import __version__
from bot.config import ENVIRONMENT, ConfigError, Settings, load_settings
from bot.logs import Redactor, setup_logging
from kpi.db import DatabaseUrlError, hide_password, url_password

log = logging.getLogger("kpibot")


_CONFIG_HELP = "path to config.toml (default: $KPIBOT_CONFIG, else ./config.toml if present)"


def _parser() -> argparse.ArgumentParser:
    # --config is read before or after the subcommand: the subcommands' copies leave the value
    # alone unless given (SUPPRESS), so `kpibot --config x run` and `kpibot run --config x` agree.
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", default=argparse.SUPPRESS, help=_CONFIG_HELP)
    p = argparse.ArgumentParser(prog="kpibot", description="KPI check-in bot for sales teams")
    # Its own argument, not the parent's: a default set on a shared action would reach the
    # subcommands and overwrite a --config given before them.
    p.add_argument("--config", default=None, help=_CONFIG_HELP)
    p.add_argument("--version", action="version", version=f"kpibot {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        parents=[config],
        help="run the bot (long polling)",
        description="Run the bot (long polling) until SIGINT or SIGTERM.",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo = sub.add_parser("demo", parents=[config], help="offline demo: no token, no network")
    demo.add_argument("--out", default="kpibot-demo", help="folder for the demo's files")
    demo.add_argument(
        "--date",
        type=_demo_date,
        help="the demo's day, YYYY-MM-DD (default: today); the same date gives the same output",
    )
    db = sub.add_parser("db", parents=[config], help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", parents=[config], help="bring the schema up to date")
    db_sub.add_parser("current", parents=[config], help="show the schema revision")
    from bot.data_commands import add_parsers

    add_parsers(sub, [config])
    return p


def _environment_help() -> str:
    width = max(len(name) for name in ENVIRONMENT)
    lines = [f"  {name:<{width}}  {meaning}" for name, meaning in ENVIRONMENT.items()]
    return "environment variables (they override config.toml):\n" + "\n".join(lines)


def _demo_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (example: 2026-11-20)") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = _parser().parse_args(argv)
    # python-telegram-bot 22: RetryAfter.retry_after as a timedelta (the future default).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    redact = Redactor([os.environ.get("TELEGRAM_BOT_TOKEN")])
    database = "the database"
    try:
        settings = load_settings(args.config)
        database = f"the database {hide_password(settings.database_url)}"
        redact = setup_logging(
            settings.log_level, [settings.token, url_password(settings.database_url)]
        )
        if args.command == "run":
            settings.require_token()
            return asyncio.run(run(settings))
        if args.command == "demo":
            from bot.demo import run_demo

            return asyncio.run(run_demo(Path(args.out), day=args.date))
        if args.command == "db":
            return db_command(settings, args.db_command)
        from bot.data_commands import COMMANDS

        if args.command in COMMANDS:
            return COMMANDS[args.command](settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # The last resort: one line, never the token, whatever the exception says.
        explained = _explain(exc, database)
        if explained is None:
            log.critical("stopped by an unexpected error", exc_info=exc)
            explained = (1, f"stopped by an unexpected error: {type(exc).__name__}: {exc}")
        code, message = explained
        print(f"kpibot: {redact(message)}", file=sys.stderr)
        return code
    return 1


def _explain(exc: BaseException, database: str) -> tuple[int, str] | None:
    """Return the exit code and one line for an operator's mistake (None for a bug)."""
    from sqlalchemy.exc import OperationalError
    from telegram.error import InvalidToken

    if isinstance(exc, ConfigError):
        return 2, str(exc)
    if isinstance(exc, DatabaseUrlError):
        return 2, str(exc)
    if isinstance(exc, OperationalError):
        reason = (str(exc.orig or exc).strip().splitlines() or ["?"])[0]
        return 1, f"cannot use {database}: {reason}"
    if isinstance(exc, InvalidToken):
        return 1, (
            "Telegram rejected the token in TELEGRAM_BOT_TOKEN: copy it again from @BotFather "
            "(/mybots, API Token)"
        )
    return None


def db_command(settings: Settings, command: str) -> int:
    """Run a database command."""
    from kpi import migrate
    from kpi.db import make_engine, sqlite_file

    where = hide_password(settings.database_url)
    engine = make_engine(settings.database_url)  # checks the URL; connects only when used
    try:
        if command == "upgrade":
            migrate.upgrade(engine)
        # Asking must not create an empty SQLite file on the way.
        file = sqlite_file(settings.database_url)
        absent = command == "current" and file is not None and not file.exists()
        current = None if absent else migrate.current_revision(engine)
    finally:
        engine.dispose()
    if current is None:
        print(
            f"kpibot: the database {where} is not initialised: run `kpibot db upgrade`",
            file=sys.stderr,
        )
        return 1
    print(f"schema at {current} (head {migrate.head_revision()})")
    return 0


async def run(settings: Settings) -> int:
    """Run the bot until SIGINT or SIGTERM: reach the database and Telegram, poll.

    Stored updates (the inbox's backlog) and new ones share the chats' lanes, so new updates are
    served at once; a stop ends every wait within a container's 10 s grace, and leaves what is
    not done in the database for the next start.
    """
    from bot.app import build_application
    from bot.polling import InboxPoller
    from bot.ratelimit import SlidingWindowLimiter
    from bot.scheduler import Scheduler
    from bot.startup import connect_telegram, open_database

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    db = await open_database(settings.database_url, stop)
    if db is None:
        log.info("stopped before the database was reached")
        return 0
    app = build_application(settings, db=db)
    try:
        if not await connect_telegram(app, stop):
            await app.shutdown()
            log.info("stopped before Telegram was reached")
            return 0
        poller = InboxPoller(app, db, timeout=settings.telegram.poll_timeout)
        async with app:
            await app.start()
            scheduler = Scheduler(app)
            queued = await poller.drain()
            scheduler.start_soon(after=poller.backlog_handled())
            log.info("bot @%s running; %d stored updates queued", app.bot.username, queued)
            await poller.run(stop)
            # A container gets 10 s after SIGTERM: finish what is in hand, leave the rest stored.
            left = await poller.finish(seconds=5)
            if left:
                log.info("%d updates left in the inbox for the next start", left)
            # Posts still waiting for a chat's send budget are settled as not sent, for later.
            if isinstance(app.bot.rate_limiter, SlidingWindowLimiter):
                app.bot.rate_limiter.stop()
            await scheduler.stop(seconds=2)
            await app.stop()
    finally:
        app.bot_data.close()
    log.info("stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
