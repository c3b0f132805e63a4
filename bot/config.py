"""Settings: `config.toml` (optional) plus the environment. The only module that reads either.

The token is read from `TELEGRAM_BOT_TOKEN` only, never from a file, and never printed.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.i18n import languages
from kpi.calendar import WEEKDAYS
from kpi.catalog import KPI_BY_KEY, METRIC_KEYS
from kpi.parsing import normalize_hhmm
from kpi.posts.registry import DEFAULT_SCHEDULE
from kpi.teams import TargetDefault, TeamDefaults, TeamSettings

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
PERIODS = ("day", "week", "month", "quarter", "year")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Every environment variable the bot reads, with what it means (`kpibot run --help` shows it).
ENVIRONMENT: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "the bot token from @BotFather (read only from here, never logged)",
    "DATABASE_URL": "SQLAlchemy URL: sqlite:///kpibot.db (default) or "
    "postgresql://user:password@host/dbname",
    "TELEGRAM_BASE_URL": "Bot API server, e.g. http://127.0.0.1:8081/bot (self-hosted)",
    "TELEGRAM_BASE_FILE_URL": "Bot API file server, e.g. http://127.0.0.1:8081/file/bot",
    "KPIBOT_CONFIG": "the config file to read instead of ./config.toml (it must exist)",
    "KPIBOT_INSTANCE": "this instance's name, unique among the instances sharing a database "
    "(overrides [bot] instance; default kpibot)",
    "TELEGRAM_WEBHOOK_SECRET": "webhook mode: the secret Telegram sends with every update "
    "(1-256 of A-Z a-z 0-9 _ -; the same for every instance, never logged)",
}


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class TelegramConfig:
    """Where the Bot API lives and how we talk to it."""

    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = DEFAULT_BASE_FILE_URL
    poll_timeout: int = 30
    max_retries: int = 3
    overall_max_rate: float = 30.0
    group_max_rate: float = 20.0
    private_min_interval: float = 1.0


@dataclass(frozen=True)
class Settings:
    """Everything the bot needs to run, loaded once."""

    token: str | None = field(default=None, repr=False)
    database_url: str = "sqlite:///kpibot.db"
    admins: frozenset[int] = frozenset()
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    defaults: TeamDefaults = field(default_factory=TeamDefaults)
    log_level: str = "INFO"
    instance: str = "kpibot"
    webhook_secret: str | None = field(default=None, repr=False)

    def require_token(self) -> str:
        """Return the token or say what to do."""
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and run "
                "`export TELEGRAM_BOT_TOKEN=<token>` (or try `kpibot demo`, which needs none)"
            )
        return self.token

    def require_webhook_secret(self) -> str:
        """Return the webhook secret or say what to do."""
        if not self.webhook_secret:
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET is not set: webhook mode needs it (the same for every "
                "instance); create one with `openssl rand -hex 32`"
            )
        return self.webhook_secret


@dataclass(frozen=True)
class _Kind:
    """What a config value may be, and how to say it to the person who wrote the file."""

    describe: str
    accepts: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


BOOL = _Kind("true or false (without quotes)", lambda v: isinstance(v, bool))
INT = _Kind("a whole number (without quotes)", _is_int)
NUMBER = _Kind("a number (without quotes)", lambda v: _is_int(v) or isinstance(v, float))
TEXT = _Kind("text in quotes", lambda v: isinstance(v, str))
NAMES = _Kind(
    'a list of names in quotes, such as ["mon", "tue"]',
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
)
USER_IDS = _Kind(
    "a list of Telegram user ids (numbers), such as [123456789]",
    lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
)
TIME_OR_OFF = _Kind('a time like "18:00", or "off"', lambda v: isinstance(v, str) or v is False)


@dataclass(frozen=True)
class _Each:
    """A table whose keys are names from a catalogue, each a table of the same keys."""

    noun: str
    names: Collection[str]
    keys: Mapping[str, _Kind]


Schema = Mapping[str, "_Kind | _Each | Schema"]


def _kind_of(default: Any) -> _Kind:
    if isinstance(default, bool):
        return BOOL
    if isinstance(default, int):
        return INT
    if isinstance(default, float):
        return NUMBER
    return TEXT


def _schema() -> Schema:
    """Return every section and key the file may hold, with the kind of each value."""
    unlisted = {"schedule", "topics", "deal_amount_bound", "grace_minutes"}
    team = {
        f.name: _kind_of(f.default)
        for f in dataclasses.fields(TeamSettings)
        if f.name not in unlisted
    }
    return {
        "bot": {"admins": USER_IDS, "instance": TEXT},
        "database": {"url": TEXT},
        "telegram": {f.name: _kind_of(f.default) for f in dataclasses.fields(TelegramConfig)},
        "logging": {"level": TEXT},
        "defaults": {
            **dict.fromkeys(("timezone", "language", "currency", "country", "week_start"), TEXT),
            "working_days": NAMES,
            "work_start": TEXT,
            "work_end": TEXT,
            **team,
            "schedule": {**dict.fromkeys(DEFAULT_SCHEDULE, TIME_OR_OFF), "grace_minutes": INT},
            "bounds": {**dict.fromkeys(METRIC_KEYS, INT), "deal_amount": INT},
            "kpi": _Each("KPI", KPI_BY_KEY, {"target": NUMBER, "period": TEXT, "weight": NUMBER}),
        },
    }


def _show(value: Any) -> str:
    """Write a value the way TOML does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)


def check_keys(raw: Mapping[str, Any], schema: Schema, prefix: str = "") -> None:
    """Refuse unknown sections and keys (naming the closest known one) and values of the
    wrong type: a typo or a quoted `"false"` must not quietly mean something else."""
    for key, value in raw.items():
        where = f"{prefix}{key}"
        expected = schema.get(key)
        if expected is None:
            raise ConfigError(_unknown(key, prefix, schema))
        if isinstance(expected, _Kind):
            if not expected.accepts(value):
                raise ConfigError(f"{where} must be {expected.describe}, got {_show(value)}")
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a section [{where}], got {_show(value)}")
        if isinstance(expected, _Each):
            for name, spec in value.items():
                if name not in expected.names:
                    close = _closest(name, expected.names)
                    hint = (
                        f"did you mean {where}.{close}?"
                        if close
                        else f"known: {', '.join(expected.names)}"
                    )
                    raise ConfigError(f"unknown {expected.noun} {where}.{name} ({hint})")
                if not isinstance(spec, dict):
                    raise ConfigError(f"{where}.{name} must be a section [{where}.{name}]")
                check_keys(spec, expected.keys, f"{where}.{name}.")
        else:
            check_keys(value, expected, f"{where}.")


def _unknown(key: str, prefix: str, schema: Schema) -> str:
    """Say which key is unknown and what was probably meant."""
    known = list(schema)
    close = _closest(key, known)
    if not prefix:
        if close:
            return f"unknown section [{key}] (did you mean [{close}]?)"
        home = _home(key, _schema())
        if home:
            return f"{key} is outside its section: put it under [{home}]"
        return f"unknown section [{key}] (known: {', '.join(f'[{k}]' for k in known)})"
    if close:
        return f"unknown key {prefix}{key} (did you mean {prefix}{close}?)"
    home = _home(key, _schema())
    if home:
        return f"unknown key {prefix}{key} (it belongs under [{home}])"
    return f"unknown key {prefix}{key} (known: {', '.join(known)})"


def _closest(key: str, known: Collection[str]) -> str | None:
    """Return the known name a mistyped one most likely meant, if any is close."""
    close = difflib.get_close_matches(key.lower(), list(known), n=1)
    if close:
        return close[0]
    lowered = key.lower()
    starts = [k for k in known if lowered and (k.startswith(lowered) or lowered.startswith(k))]
    return starts[0] if len(starts) == 1 else None


def _home(key: str, schema: Schema, prefix: str = "") -> str | None:
    """Return the section that holds a key of this name, if one does."""
    for name, expected in schema.items():
        if isinstance(expected, Mapping):
            if key in expected and not isinstance(expected[key], Mapping | _Each):
                return f"{prefix}{name}"
            found = _home(key, expected, f"{prefix}{name}.")
            if found:
                return found
    return None


def _hhmm(value: Any, where: str) -> str:
    hhmm = normalize_hhmm(value) if isinstance(value, str) else None
    if hhmm is None:
        raise ConfigError(f'{where} must be a time like "18:00", got {value!r}')
    return hhmm


def _weekday(value: Any, where: str) -> int:
    if isinstance(value, str) and value[:3].lower() in WEEKDAYS:
        return WEEKDAYS.index(value[:3].lower())
    raise ConfigError(f'{where} must be a weekday name such as "monday", got {value!r}')


def _defaults(raw: Mapping[str, Any]) -> TeamDefaults:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    base = TeamDefaults()
    tz = str(raw.get("timezone", base.timezone))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"defaults.timezone: unknown time zone {tz!r}") from exc
    language = str(raw.get("language", base.language))
    if language not in languages():
        raise ConfigError(f"defaults.language must be one of {', '.join(languages())}")
    days = raw.get("working_days")
    working_days = (
        tuple(sorted({_weekday(d, "defaults.working_days") for d in days}))
        if days is not None
        else base.working_days
    )
    schedule = dict(DEFAULT_SCHEDULE)
    for kind, value in dict(raw.get("schedule", {})).items():
        if kind == "grace_minutes":
            continue
        if kind not in DEFAULT_SCHEDULE:
            raise ConfigError(
                f"defaults.schedule.{kind}: unknown post (one of {dict(DEFAULT_SCHEDULE)})"
            )
        schedule[kind] = None if value in (False, "off") else _hhmm(value, f"schedule.{kind}")
    group_sees = str(raw.get("group_sees", "full"))
    if group_sees not in ("full", "top", "totals"):
        raise ConfigError('defaults.group_sees must be "full", "top" or "totals"')
    bounds = dict(raw.get("bounds", {}))
    deal_bound = int(bounds.pop("deal_amount", TeamSettings.deal_amount_bound))
    for key in bounds:
        if key not in METRIC_KEYS:
            raise ConfigError(f"defaults.bounds.{key}: unknown metric")
    settings = TeamSettings(
        edit_window_days=int(raw.get("edit_window_days", 7)),
        leader_edit_window_days=int(raw.get("leader_edit_window_days", 90)),
        attainment_cap=float(raw.get("attainment_cap", 1.5)),
        group_sees=group_sees,  # type: ignore[arg-type]
        top_n=int(raw.get("top_n", 5)),
        join_approval=bool(raw.get("join_approval", False)),
        deal_approval=bool(raw.get("deal_approval", False)),
        celebrations=bool(raw.get("celebrations", True)),
        reminders=bool(raw.get("reminders", True)),
        living_board=bool(raw.get("living_board", True)),
        invite_days=int(raw.get("invite_days", 7)),
        duplicate_deal_days=int(raw.get("duplicate_deal_days", 3)),
        deal_amount_bound=deal_bound,
        grace_minutes=int(dict(raw.get("schedule", {})).get("grace_minutes", 120)),
        schedule=schedule,
    )
    targets = base.targets
    weights = dict(base.weights)
    if "kpi" in raw:
        targets_list: list[TargetDefault] = []
        weights = {}
        for key, spec in dict(raw["kpi"]).items():
            if key not in KPI_BY_KEY:
                raise ConfigError(f"defaults.kpi.{key}: unknown KPI")
            spec = dict(spec)
            if "weight" in spec:
                weights[key] = float(spec["weight"])
            if "target" in spec:
                period = str(spec.get("period", KPI_BY_KEY[key].period))
                if period not in PERIODS:
                    raise ConfigError(f"defaults.kpi.{key}.period must be one of {PERIODS}")
                targets_list.append(TargetDefault(key, period, float(spec["target"])))
        targets = tuple(targets_list)
    return TeamDefaults(
        language=language,
        timezone=tz,
        currency=str(raw.get("currency", "VND")),
        country=raw.get("country", "VN") or None,
        week_start=_weekday(raw["week_start"], "defaults.week_start")
        if "week_start" in raw
        else 0,
        working_days=working_days,
        work_start=_hhmm(raw.get("work_start", "08:00"), "defaults.work_start"),
        work_end=_hhmm(raw.get("work_end", "17:30"), "defaults.work_end"),
        settings=settings,
        metric_bounds={k: int(v) for k, v in bounds.items()},
        weights=weights,
        targets=targets,
    )


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read `config.toml` (if any) and the environment into frozen settings."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    named = path or env.get("KPIBOT_CONFIG")
    config_path = Path(named or "config.toml")
    if config_path.is_file():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: cannot be read ({exc})") from exc
    elif named:
        source = "--config" if path else "KPIBOT_CONFIG"
        what = "is a folder, not a file" if config_path.is_dir() else "no such file"
        raise ConfigError(f"{source} names {config_path}: {what}")
    try:
        settings = _settings(raw, env)
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: {exc}") from exc
    url = env.get("DATABASE_URL")
    if url:
        settings = dataclasses.replace(settings, database_url=_database_url(url, "DATABASE_URL"))
    secret = env.get("TELEGRAM_WEBHOOK_SECRET")
    if secret:
        settings = dataclasses.replace(settings, webhook_secret=_webhook_secret(secret))
    return settings


def _database_url(url: str, where: str) -> str:
    from kpi.db import DatabaseUrlError, normalize_url

    try:
        normalize_url(url)
    except DatabaseUrlError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return url


def _settings(raw: dict[str, Any], env: Mapping[str, str]) -> Settings:
    """Check the file's keys and types, then build the settings (the file's own URL checked)."""
    bot = dict(raw.get("bot", {})) if isinstance(raw.get("bot"), dict) else {}
    tg = dict(raw.get("telegram", {})) if isinstance(raw.get("telegram"), dict) else {}
    if "token" in tg or "token" in bot or "token" in raw:
        raise ConfigError(
            "the token is read only from TELEGRAM_BOT_TOKEN; remove it from the file"
        )
    check_keys(raw, _schema())
    admins = frozenset(bot.get("admins", []))
    telegram = TelegramConfig(
        base_url=env.get("TELEGRAM_BASE_URL") or tg.get("base_url", DEFAULT_BASE_URL),
        base_file_url=env.get("TELEGRAM_BASE_FILE_URL")
        or tg.get("base_file_url", DEFAULT_BASE_FILE_URL),
        poll_timeout=int(tg.get("poll_timeout", 30)),
        max_retries=int(tg.get("max_retries", 3)),
        overall_max_rate=float(tg.get("overall_max_rate", 30)),
        group_max_rate=float(tg.get("group_max_rate", 20)),
        private_min_interval=float(tg.get("private_min_interval", 1.0)),
    )
    database = dict(raw.get("database", {}))
    file_url = database.get("url")
    level = str(dict(raw.get("logging", {})).get("level", "INFO")).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"logging.level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return Settings(
        token=env.get("TELEGRAM_BOT_TOKEN") or None,
        database_url=_database_url(file_url, "database.url")
        if file_url and not env.get("DATABASE_URL")
        else "sqlite:///kpibot.db",
        admins=admins,
        telegram=telegram,
        defaults=_defaults(dict(raw.get("defaults", {}))),
        log_level=level,
        instance=env.get("KPIBOT_INSTANCE") or str(bot.get("instance", "kpibot")),
    )


# Telegram's rule for setWebhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook_secret(value: str) -> str:
    if not _WEBHOOK_SECRET.fullmatch(value):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - "
            "(Telegram's rule), e.g. the output of `openssl rand -hex 32`"
        )
    return value
