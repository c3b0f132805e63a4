"""The `kpibot` command line: run, demo, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

log = logging.getLogger("kpibot")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kpibot", description="KPI check-in bot for sales teams")
    p.add_argument("--config", help="path to config.toml (default: ./config.toml if present)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling)")
    demo = sub.add_parser("demo", help="offline demo: no token, no network")
    demo.add_argument("--out", default="kpibot-demo", help="folder for the demo's files")
    demo.add_argument(
        "--date",
        type=_demo_date,
        help="the demo's day, YYYY-MM-DD (default: today); the same date gives the same output",
    )
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="bring the schema up to date")
    db_sub.add_parser("current", help="show the schema revision")
    return p


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
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"kpibot: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, [settings.token or ""])
    try:
        if args.command == "run":
            settings.require_token()
            return asyncio.run(run(settings))
        if args.command == "demo":
            from bot.demo import run_demo

            return asyncio.run(run_demo(Path(args.out), day=args.date))
        if args.command == "db":
            return db_command(settings, args.db_command)
    except ConfigError as exc:
        print(f"kpibot: {exc}", file=sys.stderr)
        return 2
    return 1


def db_command(settings: Settings, command: str) -> int:
    """Run a database command."""
    from kpi import migrate
    from kpi.db import make_engine

    engine = make_engine(settings.database_url)
    if command == "upgrade":
        migrate.upgrade(engine)
    print(f"schema at {migrate.current_revision(engine)} (head {migrate.head_revision()})")
    engine.dispose()
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
