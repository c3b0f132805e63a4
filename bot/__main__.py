"""The `kpibot` command line: run, demo, db, export, import, backup, restore, erase."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.config import ENVIRONMENT, ConfigError, Settings, load_settings
from bot.logs import Redactor, setup_logging
from kpi.db import DatabaseUrlError, hide_password, url_password

if TYPE_CHECKING:
    from bot.web import WebOptions

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
    run_p = sub.add_parser(
        "run",
        parents=[config],
        help="run the bot (long polling, or a webhook with --webhook)",
        description="Run the bot until SIGINT or SIGTERM: long polling, or Telegram posting "
        "updates to our web server (--webhook).",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _web_arguments(run_p)
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


def _web_arguments(p: argparse.ArgumentParser) -> None:
    from bot.web import DEFAULT_MAX_CONNECTIONS

    p.add_argument(
        "--webhook",
        metavar="URL",
        help="webhook mode: the public https:// URL Telegram posts to (its path is served)",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="webhook mode: where the web server listens (default 127.0.0.1:8080)",
    )
    p.add_argument(
        "--no-set-webhook",
        action="store_true",
        help="webhook mode: do not call setWebhook (another instance or the operator does)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help=f"webhook mode: setWebhook's max_connections (default {DEFAULT_MAX_CONNECTIONS})",
    )
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="polling mode: serve /healthz, /readyz and /metrics here",
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines (default) or one JSON object per line",
    )


def _web_options(args: argparse.Namespace) -> WebOptions:
    """Turn the run command's options into WebOptions (ConfigError when they contradict)."""
    from bot.web import DEFAULT_LISTEN, AddressError, WebOptions, parse_address

    webhook = args.webhook
    if webhook is None and (args.listen or args.no_set_webhook):
        raise AddressError("--listen and --no-set-webhook go with --webhook URL")
    if webhook is not None and args.http:
        raise AddressError("in webhook mode the endpoints are on --listen; drop --http")
    options = WebOptions(
        webhook_url=webhook,
        listen=parse_address(args.listen) if args.listen else DEFAULT_LISTEN,
        http=parse_address(args.http) if args.http else None,
        set_webhook=not args.no_set_webhook,
        max_connections=args.max_connections,
    )
    options.check()
    return options


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
            settings.log_level,
            [settings.token, url_password(settings.database_url), settings.webhook_secret],
            fmt=getattr(args, "log_format", "text"),
        )
        if args.command == "run":
            settings.require_token()
            web = _web_options(args)
            if web.webhook_url:
                settings.require_webhook_secret()
            return asyncio.run(run(settings, web))
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


async def run(settings: Settings, web: WebOptions | None = None) -> int:
    """Run the bot until SIGINT or SIGTERM: reach the database and Telegram, then poll, or
    serve the webhook.

    Stored updates (the inbox's backlog) and new ones share the chats' lanes, so new updates are
    served at once; a stop ends every wait within a container's 10 s grace, and leaves what is
    not done in the database for the next start.
    """
    from telegram.request import HTTPXRequest

    from bot.app import build_application, freeze_start_up_heap
    from bot.lanes import SharedLanes, holder_name
    from bot.metrics import MeteredRequest, Metrics
    from bot.polling import InboxPoller
    from bot.ratelimit import SlidingWindowLimiter
    from bot.scheduler import Scheduler
    from bot.startup import connect_telegram, open_database, set_webhook
    from bot.web import (
        WebOptions,
        WebServer,
        bind,
        build_web_app,
        operator_routes,
        webhook_path,
        webhook_route,
    )
    from kpi.db import is_sqlite

    web = web or WebOptions()
    webhook = web.webhook_url
    # Bound first: a port in use is one line before the database or Telegram is reached.
    sock = bind(web.address) if web.address else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    db = await open_database(settings.database_url, stop)
    if db is None:
        if sock is not None:
            sock.close()
        log.info("stopped before the database was reached")
        return 0
    metrics = Metrics()
    metrics.watch(db.engine)
    # One pool for every call (PTB's own default size), counted by method and outcome.
    request = MeteredRequest(HTTPXRequest(connection_pool_size=256), metrics)
    app = build_application(settings, db=db, request=request)
    app.add_error_handler(metrics.note_failure)
    server: WebServer | None = None
    try:
        if not await connect_telegram(app, stop, polling=webhook is None):
            await app.shutdown()
            log.info("stopped before Telegram was reached")
            return 0
        # Several instances may share a PostgreSQL database: lanes and the poller are leased.
        shared = (
            None
            if is_sqlite(db.engine)
            else SharedLanes(
                app,
                db,
                holder=holder_name(settings.instance),
                metrics=metrics,
                # Each instance takes its share of Telegram's overall limit; a 429 holds all.
                on_heartbeat=getattr(app.bot.rate_limiter, "share", None),
            )
        )
        poller = InboxPoller(
            app, db, timeout=settings.telegram.poll_timeout, metrics=metrics, shared=shared
        )
        async with app:
            await app.start()
            scheduler = Scheduler(app)
            queued = await poller.drain()
            scheduler.start_soon(after=poller.backlog_handled())
            if sock is not None:
                routes = operator_routes(db, metrics)
                if webhook:
                    secret = settings.require_webhook_secret()
                    path = webhook_path(webhook)
                    routes.insert(0, webhook_route(path, secret, poller.receive, app.bot))
                server = WebServer(build_web_app(routes), sock)
                await server.start()
                log.info("serving on http://%s", server.address)
            if webhook and web.set_webhook:
                # Only once we listen: Telegram starts posting as soon as it is registered.
                await set_webhook(
                    app,
                    stop,
                    url=webhook,
                    secret=settings.require_webhook_secret(),
                    max_connections=web.max_connections,
                )
            freeze_start_up_heap()
            mode = "webhook" if webhook else "polling"
            log.info(
                "bot @%s running (%s); %d stored updates queued", app.bot.username, mode, queued
            )
            if webhook:
                await stop.wait()
            else:
                await poller.run(stop)
            began = loop.time()
            if server is not None:
                # No new updates: in-flight posts are stored (or refused) within its grace.
                await server.stop()
                server = None
            # A container gets 10 s after SIGTERM: finish what is in hand, leave the rest stored.
            left = await poller.finish(seconds=max(5 - (loop.time() - began), 1))
            if left:
                log.info("%d updates left in the inbox for the next start", left)
            # Posts still waiting for a chat's send budget are settled as not sent, for later.
            if isinstance(app.bot.rate_limiter, SlidingWindowLimiter):
                app.bot.rate_limiter.stop()
            await scheduler.stop(seconds=2)
            await app.stop()
    finally:
        if server is not None:
            await server.stop()
        elif sock is not None:
            sock.close()
        app.bot_data.close()
    log.info("stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
