"""Configuration: the example config parses and documents every key; the environment wins."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
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
