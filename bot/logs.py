"""Logging set-up: one format, and the token redacted from everything written (QUALITY.md R9).

Redaction happens at the handler, on the whole record: the message with its arguments, the text
of a logged exception and its traceback, and the stack; the formatted line is checked once more.
Exceptions nobody caught (the main thread, other threads) and warnings go through the same
handler, and the command line's last-resort error line uses the same `Redactor`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO
from urllib.parse import quote

PLACEHOLDER = "<token>"
# A bot token is "<bot id>:<secret>"; the bot id is public, the secret alone must go too.
_MIN_SECRET_PART = 16


class Redactor:
    """Replace secrets in a text (also percent-encoded, and a token's secret part)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            forms.update({secret, quote(secret, safe=""), quote(secret)})
            _, colon, tail = secret.partition(":")
            if colon and len(tail) >= _MIN_SECRET_PART:
                forms.update({tail, quote(tail, safe="")})
        # Longest first: a secret's part never leaves a piece of the whole behind.
        self.secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """Return the text without the secrets."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, PLACEHOLDER)
        return text


class RedactFilter(logging.Filter):
    """Rewrite a record without the secrets: message, arguments, exception text and stack."""

    def __init__(self, secrets: Iterable[str | None] | Redactor) -> None:
        super().__init__()
        self.redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; every record passes."""
        if not self.redact.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what is there, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line is redacted once more, whatever the record held."""

    def __init__(self, fmt: str, redact: Redactor) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then redact the result."""
        return self.redact(super().format(record))


_FORMATTER = logging.Formatter()
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")

# The chat whose update is being handled, set by its lane; a record may also carry `team` or
# `chat` itself (logging's `extra`), which wins.
log_chat: contextvars.ContextVar[int | None] = contextvars.ContextVar("log_chat", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, team and chat where known."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Format the record as one JSON line, then redact the result."""
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        team = getattr(record, "team", None)
        chat = getattr(record, "chat", None) or log_chat.get()
        if team is not None:
            line["team"] = team
        if chat is not None:
            line["chat"] = chat
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # Redacted once more as a whole: json.dumps may escape a secret's characters, so the
        # values were redacted by RedactFilter already and the line is checked again here.
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


def redacting_handler(
    redact: Redactor, stream: TextIO | None = None, *, fmt: str = "text"
) -> logging.Handler:
    """Return a stream handler (stderr by default) that writes nothing the redactor removes."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(redact))
    else:
        handler.setFormatter(RedactingFormatter(FORMAT, redact))
    handler.addFilter(RedactFilter(redact))
    return handler


def setup_logging(level: str, secrets: Iterable[str | None], *, fmt: str = "text") -> Redactor:
    """Configure the root logger with redaction on its handler; return the redactor."""
    redact = Redactor(secrets)
    root = logging.getLogger()
    root.handlers[:] = [redacting_handler(redact, fmt=fmt)]
    root.setLevel(level)
    # httpx logs every request URL, which contains the token: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # uvicorn's access log would carry the webhook's path; its errors still come through.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    _route_uncaught_exceptions()
    return redact


def _route_uncaught_exceptions() -> None:
    """Send exceptions nobody caught through the logging handler instead of raw stderr."""
    log = logging.getLogger("kpibot")

    def main_thread(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        log.critical("uncaught exception", exc_info=(kind, value, tb))

    def other_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.error(
            "uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = main_thread
    threading.excepthook = other_thread
