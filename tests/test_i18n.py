"""The translation layer: complete catalogs, escaping, Babel formats."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from handlers import i18n
from handlers.i18n import Html, catalog, placeholders, t

ROOT = Path(__file__).resolve().parents[1]


def test_every_message_exists_in_both_languages() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert set(vi) - set(en) == set(), "missing in English"
    assert set(en) - set(vi) == set(), "missing in Vietnamese"


def test_translations_take_the_same_parameters() -> None:
    vi, en = catalog("vi"), catalog("en")
    mismatched = {k for k in vi if placeholders(vi[k]) != placeholders(en[k])}
    assert mismatched == set()


def test_no_message_is_empty_or_untranslated_copy() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert [k for k, v in vi.items() if not v.strip()] == []

    # Vietnamese text that is identical to English is suspicious unless it has no words.
    def words(v: str) -> str:
        return re.sub(r"\{[a-z_]+\}|<[^>]+>|/[a-z_]+|#", "", v)

    same = [k for k in vi if vi[k] == en[k] and re.search(r"[A-Za-z]{4,}", words(vi[k]))]
    assert same == []


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        for m in re.finditer(r"\bt\(\s*\w+,\s*\"([a-z_]+\.[a-z_.]+)\"", path.read_text("utf-8")):
            used.add(m.group(1))
    assert used, "the scan found no keys"
    assert sorted(used - set(catalog("vi"))) == []


def test_parameters_are_escaped_unless_marked_safe() -> None:
    out = t("en", "join.joined", name="<b>Bob</b> & co", team=Html("<i>A</i>"))
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; co" in out
    assert "<i>A</i>" in out


@pytest.mark.parametrize(
    ("code", "lang"),
    [("vi", "vi"), ("vi-VN", "vi"), ("en", "en"), ("en-GB", "en"), (None, "vi"), ("fr", "vi")],
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert i18n.normalize_lang(code) == lang


def test_babel_formats() -> None:
    assert i18n.fmt_int(1234567, "vi") == "1.234.567"
    assert i18n.fmt_int(1234567, "en") == "1,234,567"
    assert i18n.fmt_money(50_000_000, "vi") == "50.000.000\u00a0₫"
    assert i18n.fmt_money(50_000_000, "en") == "₫50,000,000"
    assert i18n.fmt_pct(0.75, "vi") == "75%"
    assert i18n.fmt_pct(None, "en") == "—"
    assert i18n.fmt_day(dt.date(2026, 11, 5), "en") == "05/11"
    assert i18n.progress_bar(0.75) == "▓▓▓▓▓▓▓░░░"
    assert i18n.progress_bar(2.0) == "▓" * 10
    assert i18n.progress_bar(None) == "░" * 10
