"""Configuration: the example config parses and documents every key; the environment wins."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def test_example_config_parses_into_settings() -> None:
    s = load_settings(EXAMPLE, environ={})
    assert s.database_url == "sqlite:///kpibot.db"
    assert s.defaults.timezone == "Asia/Ho_Chi_Minh"
    assert s.defaults.settings.schedule["daily_summary"] == "18:00"
    assert s.defaults.settings.deal_amount_bound == 50_000_000_000
    assert {t.kpi for t in s.defaults.targets} == {"revenue", "deals", "meetings", "calls"}
    assert s.token is None


def test_example_documents_every_team_setting() -> None:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    documented = set(raw["defaults"]) | set(raw["defaults"]["schedule"])
    from kpi.teams import TeamSettings

    fields = {f.name for f in dataclasses.fields(TeamSettings)} - {
        "schedule",
        "topics",
        "deal_amount_bound",
    }
    assert fields - documented == set()
    assert "deal_amount" in raw["defaults"]["bounds"]


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "DATABASE_URL": "postgresql://u@h/db",
        "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
        "TELEGRAM_BASE_FILE_URL": "http://127.0.0.1:8081/file/bot",
    }
    s = load_settings(EXAMPLE, environ=env)
    assert s.token == "123:abc"
    assert s.database_url == "postgresql://u@h/db"
    assert s.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert s.telegram.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert "123:abc" not in repr(s)


def test_missing_token_says_what_to_do() -> None:
    s = load_settings(EXAMPLE, environ={})
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        s.require_token()


def test_token_in_the_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[telegram]\ntoken = "123:abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="only from TELEGRAM_BOT_TOKEN"):
        load_settings(cfg, environ={})


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('[defaults]\ntimezone = "Mars/Base"', "unknown time zone"),
        ('[defaults]\nlanguage = "fr"', "language"),
        ('[defaults.schedule]\ndaily_summary = "25:00"', "time like"),
        ('[defaults]\nworking_days = ["funday"]', "weekday"),
        ("[defaults.kpi.unknown]\ntarget = 1", "unknown KPI"),
        ('[bot]\nadmins = ["me"]', "Telegram user ids"),
    ],
)
def test_bad_config_is_explained(tmp_path: Path, snippet: str, message: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


def test_absent_default_config_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.defaults.language == "vi"


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('[defaults]\ndeal_approval = "false"', 'deal_approval must be true or false.*"false"'),
        ("[defaults]\nreminders = 0", "reminders must be true or false"),
        ('[defaults]\ntop_n = "5"', "top_n must be a whole number"),
        ("[defaults]\nedit_window_days = 7.5", "edit_window_days must be a whole number"),
        ("[defaults]\nattainment_cap = true", "attainment_cap must be a number"),
        ("[defaults]\ncurrency = 1", "currency must be text"),
        ('[defaults]\nworking_days = "mon"', "working_days must be a list"),
        ('[telegram]\npoll_timeout = "30"', "poll_timeout must be a whole number"),
        ("[bot]\nadmins = [1, true]", "Telegram user ids"),
        ('[defaults.bounds]\ncalls = "300"', "bounds.calls must be a whole number"),
        ('[defaults.kpi.calls]\ntarget = "20"', "kpi.calls.target must be a number"),
        ("[defaults.schedule]\nweekly = true", 'weekly must be a time like "18:00"'),
        ('[defaults]\nschedule = "off"', r"must be a section \[defaults.schedule\]"),
        ('[logging]\nlevel = "LOUD"', "logging.level must be one of"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path, snippet: str, message: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('[defaults]\ntimezon = "UTC"', r"unknown key defaults\.timezon \(did you mean "),
        ("[defualts]\ntop_n = 3", r"unknown section \[defualts\] \(did you mean \[defaults\]"),
        ('[defaults.schedule]\ndaily = "18:00"', r"did you mean defaults\.schedule\.daily_summ"),
        ("[defaults.kpi.revenu]\ntarget = 1", r"unknown KPI defaults\.kpi\.revenu \(did you me"),
        ("[telegram]\npoll_timout = 10", r"did you mean telegram\.poll_timeout\?"),
        ('timezone = "UTC"', r"timezone is outside its section: put it under \[defaults\]"),
        ('[bot]\nweekly = "17:00"', r"it belongs under \[defaults\.schedule\]"),
        ("[defaults]\nzzz = 1", r"unknown key defaults\.zzz \(known: timezone, "),
    ],
)
def test_an_unknown_key_or_section_names_the_closest_known_one(
    tmp_path: Path, snippet: str, message: str
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


def test_right_types_are_read_as_written(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[defaults]\ndeal_approval = false\njoin_approval = true\nattainment_cap = 2\n"
        '[defaults.schedule]\nweekly = "off"\nreminder = false\n',
        encoding="utf-8",
    )
    s = load_settings(cfg, environ={}).defaults.settings
    assert (s.deal_approval, s.join_approval, s.attainment_cap) == (False, True, 2.0)
    assert s.schedule["weekly"] is None and s.schedule["reminder"] is None


def test_kpibot_config_naming_a_missing_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"KPIBOT_CONFIG names .*absent\.toml: no such file"):
        load_settings(environ={"KPIBOT_CONFIG": str(tmp_path / "absent.toml")})
    with pytest.raises(ConfigError, match=r"KPIBOT_CONFIG names .*: is a folder"):
        load_settings(environ={"KPIBOT_CONFIG": str(tmp_path)})
    (tmp_path / "there.toml").write_text("[defaults]\ntop_n = 9\n", encoding="utf-8")
    s = load_settings(environ={"KPIBOT_CONFIG": str(tmp_path / "there.toml")})
    assert s.defaults.settings.top_n == 9


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "'nonsense' is not a database URL"),
        ("postgres://u:pw@h/db", r"write postgresql:// instead of postgres://.*u:\*\*\*@h/db"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("sqlite://", "use a SQLite file"),
    ],
)
def test_an_unusable_database_url_is_refused_naming_where_it_came_from(
    tmp_path: Path, url: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^DATABASE_URL: {message}"):
        load_settings(EXAMPLE, environ={"DATABASE_URL": url})
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"config.toml: database.url: {message}"):
        load_settings(cfg, environ={})
