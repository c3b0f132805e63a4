"""The translation layer: complete catalogs, escaping, Babel formats."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import i18n
from handlers.i18n import Html, catalog, placeholders, t

ROOT = Path(__file__).resolve().parents[2]


LOCALES = ROOT / "handlers" / "locales"


def _po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def test_the_languages_are_the_catalog_folders() -> None:
    assert i18n.languages() == ("vi", "en")
    assert {p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/kpibot.po")} == {"vi", "en"}


def test_every_message_exists_in_both_languages() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert set(vi) - set(en) == set(), "missing in English"
    assert set(en) - set(vi) == set(), "missing in Vietnamese"
    # The template lists the same keys, so a translator starting a language gets them all.
    template = {m.context for m in _po(LOCALES / "kpibot.pot") if m.id}
    for lang in i18n.languages():
        assert template == set(catalog(lang)), lang


def test_translations_take_the_same_parameters() -> None:
    vi, en = catalog("vi"), catalog("en")
    mismatched = {k for k in vi if placeholders(vi[k]) != placeholders(en[k])}
    assert mismatched == set()
    for lang in i18n.languages():
        other = catalog(lang)
        assert {k for k in other if placeholders(other[k]) != placeholders(en[k])} == set(), lang


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_compiled_catalogs_match_their_sources(lang: str) -> None:
    """The committed .mo is the .po compiled (`pybabel compile -D kpibot -d handlers/locales`)."""
    folder = LOCALES / lang / "LC_MESSAGES"
    source = _po(folder / "kpibot.po")
    with (folder / "kpibot.mo").open("rb") as f:
        compiled = read_mo(f)
    assert [m.id for m in source if m.fuzzy and m.id] == [], "fuzzy messages are not compiled"

    def messages(cat: Catalog) -> dict[tuple[str | None, object], object]:
        return {(m.context, m.id): m.string for m in cat if m.id and m.string}

    assert messages(compiled) == messages(source)
    # The English msgid is what the English catalog says, so a translator reads the real text.
    if lang == "en":
        assert all(m.string == m.id for m in source if m.id)


def test_a_third_language_is_a_catalog_and_no_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding Thai is copying the template into th/LC_MESSAGES, translating and compiling."""
    for lang in ("vi", "en"):
        (tmp_path / lang).mkdir()
        shutil.copytree(LOCALES / lang / "LC_MESSAGES", tmp_path / lang / "LC_MESSAGES")
    thai = _po(LOCALES / "kpibot.pot")
    thai.locale = Locale.parse("th")
    thai.get(
        "Current language: English. Choose a language:", "language.current"
    ).string = "ภาษาปัจจุบัน: ไทย เลือกภาษา:"
    thai.get("🇬🇧 English", "language.self_name").string = "🇹🇭 ไทย"
    thai.get("en anh", "language.words").string = "thai"
    (tmp_path / "th" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "th" / "LC_MESSAGES" / "kpibot.mo").open("wb") as f:
        write_mo(f, thai)
    monkeypatch.setattr(i18n, "locales_dir", lambda: tmp_path)
    i18n.reload()
    try:
        assert i18n.languages() == ("vi", "en", "th")
        assert i18n.normalize_lang("th") == "th"
        assert i18n.normalize_lang("th-TH") == "th"
        assert i18n.normalize_lang("fr") == "vi"
        assert i18n.choose_language("thai") == "th"
        assert t("th", "language.current") == "ภาษาปัจจุบัน: ไทย เลือกภาษา:"
        # Not translated yet: the default language's message, never an error.
        assert t("th", "language.set") == t("vi", "language.set")
        assert str(i18n.babel_locale("th")) == "th_TH"
        assert i18n.fmt_int(1234567, "th") == "1,234,567"
        assert i18n.fmt_day(dt.date(2026, 11, 5), "th") == "05/11"
    finally:
        monkeypatch.undo()
        i18n.reload()
    assert i18n.languages() == ("vi", "en")


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
    [
        ("vi", "vi"),
        ("vi-VN", "vi"),
        ("en", "en"),
        ("en-GB", "en"),
        ("EN_us", "en"),
        (None, "vi"),
        ("", "vi"),
        ("fr", "vi"),
    ],
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


# --- targets and totals as people write them ----------------------------------------------------

_SUFFIX = {"tỷ": 10**9, "tr": 10**6, "k": 10**3, "B": 10**9, "M": 10**6, "K": 10**3}
_LINE = re.compile(r": (?P<actual>[^/]+)/(?P<target>[^ ]+(?: tỷ)?) \((?P<pct>[\d.,]+)%\)")


def _number(text: str, lang: str, unit: str) -> float:
    """Read back a figure as the bot showed it: `1.234`, `0,9`, `280tr`, `1,25 tỷ`, `12.3K`."""
    thousands, decimal = (".", ",") if lang == "vi" else (",", ".")
    m = re.fullmatch(r"([\d.,]+)\s?(tỷ|tr|k|B|M|K)?", text.strip())
    assert m is not None, text
    value = float(m.group(1).replace(thousands, "").replace(decimal, "."))
    return value * (_SUFFIX[m.group(2)] if m.group(2) else 1) if unit == "vnd" else value


def _shown(line: str, lang: str, unit: str) -> tuple[float, float, float]:
    m = _LINE.search(line)
    assert m is not None, line
    pct = float(m.group("pct").replace(",", "").replace(".", ""))
    return _number(m.group("actual"), lang, unit), _number(m.group("target"), lang, unit), pct


def test_prorated_targets_and_totals_are_rounded_the_way_people_write_them() -> None:
    from handlers.render import progress_line

    # Money in three significant figures, counts whole from 10 up and with one decimal below.
    assert progress_line("vi", "doanh số", 100e6, 279_890_000, "vnd", "tuần này").startswith(
        "Doanh số tuần này: 100tr/280tr (36%)"
    )
    assert progress_line("en", "revenue", 29_214_000, 54_350_000, "vnd", "today").startswith(
        "Revenue today: 29.2M/54.4M (54%)"
    )
    assert progress_line("vi", "x", 2, 0.87, "count", "hôm nay").startswith(
        "X hôm nay: 2/0,9 (222%)"
    )
    assert progress_line("vi", "x", 5, 4.47, "count", "tuần này").startswith(
        "X tuần này: 5/4,5 (111%)"
    )
    assert progress_line("en", "x", 300, 279.6, "count", "today").startswith(
        "X today: 300/280 (107%)"
    )


@settings(max_examples=400, deadline=None)
@given(
    lang=st.sampled_from(["vi", "en"]),
    unit=st.sampled_from(["count", "vnd"]),
    actual=st.floats(min_value=0, max_value=1e12),
    target=st.floats(min_value=0.01, max_value=1e12),
)
def test_a_percentage_agrees_with_the_figures_shown_beside_it(
    lang: str, unit: str, actual: float, target: float
) -> None:
    from handlers.render import progress_line

    if unit == "count":
        actual, target = float(round(actual % 100_000)), target % 100_000 or 0.5
    else:
        actual, target = float(round(actual)), max(target, 1_000.0)
    line = progress_line(lang, "x", actual, target, unit, "today")
    shown_actual, shown_target, pct = _shown(line, lang, unit)
    assert shown_target > 0, line
    assert abs(pct - 100 * shown_actual / shown_target) <= 1, line
