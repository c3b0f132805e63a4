"""The translation layer: keyed vi/en catalogs, HTML escaping, Babel number/money/date formats.

Catalogs are TOML files in `handlers/locales/<lang>/` (one file per area of the bot, the same
keys in each language; a test fails when they differ). Messages are Telegram HTML. Every
parameter is escaped unless it is wrapped in `Html` (a fragment this module or another message
produced), so text people typed is always shown literally.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import string
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from kpi.parsing import format_amount_short

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"
_BABEL_LOCALE = {"vi": "vi_VN", "en": "en_US"}


class Html(str):
    """A fragment that is already safe Telegram HTML (never escaped again)."""

    __slots__ = ()


def esc(text: object) -> Html:
    """Escape text people typed so that Telegram shows it literally."""
    if isinstance(text, Html):
        return text
    return Html(html.escape(str(text), quote=False))


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    """Load one language's catalog (flattened dotted keys)."""
    folder = resources.files("handlers").joinpath("locales", lang)
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, Mapping):
                walk(key, v)
            else:
                flat[key] = str(v)

    # One file per area of the bot (core, logging, reports, ...); keys must not repeat.
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            before = len(flat)
            data = tomllib.loads(item.read_text("utf-8"))
            walk("", data)
            if len(flat) - before != _count(data):
                raise ValueError(f"{lang}/{item.name} repeats a key defined in another file")
    return flat


def _count(node: Mapping[str, Any]) -> int:
    return sum(_count(v) if isinstance(v, Mapping) else 1 for v in node.values())


def placeholders(template: str) -> set[str]:
    """Return the names a message template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def normalize_lang(code: str | None) -> Lang:
    """Map Telegram's language_code (or a stored choice) to a supported language."""
    if code and code.lower().startswith("en"):
        return "en"
    return "vi"


def t(lang: str, key: str, /, **params: object) -> Html:
    """Render one message in a language; parameters are escaped unless they are `Html`."""
    template = catalog(normalize_lang(lang)).get(key)
    if template is None:
        raise KeyError(f"missing message {key!r} for {lang!r}")
    safe = {k: (v if isinstance(v, Html) else esc(v)) for k, v in params.items()}
    return Html(template.format(**safe))


def t_plain(lang: str, key: str, /, **params: object) -> str:
    """Render a message as plain text (for chart images: nothing there reads HTML)."""
    template = catalog(normalize_lang(lang)).get(key)
    if template is None:
        raise KeyError(f"missing message {key!r} for {lang!r}")
    return template.format(**{k: str(v) for k, v in params.items()})


def has(key: str) -> bool:
    """Tell whether a message key exists."""
    return key in catalog(DEFAULT_LANG)


def _locale(lang: str) -> str:
    return _BABEL_LOCALE[normalize_lang(lang)]


def fmt_int(n: float, lang: str) -> str:
    """Format a count: 1.234 in Vietnamese, 1,234 in English."""
    if float(n).is_integer():
        return format_decimal(int(n), locale=_locale(lang))
    return format_decimal(round(n, 1), format="#,##0.#", locale=_locale(lang))


def fmt_money(amount: int | float, lang: str, currency: str = "VND") -> str:
    """Format money in full: 50.000.000 ₫ / ₫50,000,000."""
    return format_currency(round(amount), currency, locale=_locale(lang), format_type="standard")


def fmt_money_short(amount: int | float, lang: str, significant: int | None = None) -> str:
    """Format money the way people type it in chat: 45tr, 1,5 tỷ / 45M, 1.5B."""
    return format_amount_short(round(amount), normalize_lang(lang), significant)


def fmt_pct(ratio: float | None, lang: str) -> str:
    """Format a ratio as a whole percentage, or a dash when it is undefined."""
    if ratio is None:
        return "—"
    return format_percent(ratio, format="#,##0%", locale=_locale(lang))


def fmt_day(day: dt.date, lang: str) -> str:
    """Format a day the short way both languages read: 22/11."""
    return format_date(day, "dd/MM", locale=_locale(lang))


def progress_bar(ratio: float | None, width: int = 10) -> str:
    """Draw attainment as a bar: ▓▓▓▓▓▓▓░░░ (full at 100 % and beyond)."""
    if ratio is None:
        return "░" * width
    filled = max(0, min(width, int(ratio * width + 1e-9)))
    return "▓" * filled + "░" * (width - filled)
