"""Settings: `config.toml` (optional) plus the environment. The only module that reads either.

The token is read from `TELEGRAM_BOT_TOKEN` only, never from a file, and never printed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpi.metrics import KPI_BY_KEY, METRIC_KEYS
from kpi.teams import DEFAULT_SCHEDULE, TargetDefault, TeamDefaults, TeamSettings

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = ("day", "week", "month", "quarter", "year")


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

    def require_token(self) -> str:
        """Return the token or say what to do."""
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and run "
                "`export TELEGRAM_BOT_TOKEN=<token>` (or try `kpibot demo`, which needs none)"
            )
        return self.token


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _hhmm(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ConfigError(f'{where} must be a time like "18:00", got {value!r}')
    return value


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
    if language not in ("vi", "en"):
        raise ConfigError('defaults.language must be "vi" or "en"')
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
                f"defaults.schedule.{kind}: unknown post (one of {DEFAULT_SCHEDULE})"
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
    config_path = Path(path or env.get("KPIBOT_CONFIG", "config.toml"))
    if config_path.exists():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: {exc}") from exc
    elif path is not None:
        raise ConfigError(f"{config_path}: no such file")
    bot = dict(raw.get("bot", {}))
    tg = dict(raw.get("telegram", {}))
    if "token" in tg or "token" in bot:
        raise ConfigError(
            "the token is read only from TELEGRAM_BOT_TOKEN; remove it from the file"
        )
    try:
        admins = frozenset(int(a) for a in bot.get("admins", []))
    except (TypeError, ValueError) as exc:
        raise ConfigError("bot.admins must be a list of Telegram user ids (numbers)") from exc
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
    return Settings(
        token=env.get("TELEGRAM_BOT_TOKEN") or None,
        database_url=env.get("DATABASE_URL") or database.get("url", "sqlite:///kpibot.db"),
        admins=admins,
        telegram=telegram,
        defaults=_defaults(dict(raw.get("defaults", {}))),
        log_level=str(dict(raw.get("logging", {})).get("level", "INFO")).upper(),
        instance=str(bot.get("instance", "kpibot")),
    )


def parse_hhmm(value: str) -> dt.time:
    """Turn "HH:MM" into a time."""
    h, m = value.split(":")
    return dt.time(int(h), int(m))
