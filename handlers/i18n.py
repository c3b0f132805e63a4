"""The translation layer: gettext catalogs through Babel, HTML escaping, number/money/date formats.

Every language is a folder, `handlers/locales/<lang>/LC_MESSAGES/kpibot.po` compiled to
`kpibot.mo` (`handlers/locales/kpibot.pot` is the template): `msgctxt` is the message key,
`msgid` the English text, `msgstr` the translation. Adding a folder adds a language; its Babel
locale comes from the folder's name. Messages are Telegram HTML. Every parameter is escaped unless
it is wrapped in `Html` (a fragment this module or another message produced), so text people
typed is always shown literally.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
import string
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable

from babel import Locale
from babel.core import get_global
from babel.dates import format_date
from babel.messages.mofile import read_mo
from babel.numbers import format_currency, format_decimal, format_percent

from kpi.names import DEFAULT_LANGUAGE
from kpi.parsing import format_amount_short

# A language is a catalog folder's name (`vi`, `en`, `pt_BR`): any string, checked against
# `languages()`, not a closed set in the types.
Lang = str
DEFAULT_LANG: Lang = DEFAULT_LANGUAGE
DOMAIN = "kpibot"


def locales_dir() -> Traversable:
    """Return the folder that holds one catalog folder per language."""
    return resources.files("handlers").joinpath("locales")


class Html(str):
    """A fragment that is already safe Telegram HTML (never escaped again)."""

    __slots__ = ()


def esc(text: object) -> Html:
    """Escape text people typed so that Telegram shows it literally."""
    if isinstance(text, Html):
        return text
    return Html(html.escape(str(text), quote=False))


def _mo(lang: str) -> Traversable:
    return locales_dir().joinpath(lang, "LC_MESSAGES", f"{DOMAIN}.mo")


@functools.cache
def languages() -> tuple[Lang, ...]:
    """List the languages that have a compiled catalog: the default first, then by name."""
    found = sorted(
        item.name for item in locales_dir().iterdir() if item.is_dir() and _mo(item.name).is_file()
    )
    if DEFAULT_LANG not in found:
        raise RuntimeError(f"no compiled catalog for the default language {DEFAULT_LANG!r}")
    return (DEFAULT_LANG, *(lang for lang in found if lang != DEFAULT_LANG))


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    """Load one language's compiled catalog: message key (msgctxt) to template."""
    with _mo(lang).open("rb") as f:
        compiled = read_mo(f)
    # An untranslated message is left out of the .mo; `_template` then falls back.
    return {m.context: str(m.string) for m in compiled if m.context and m.string}


def reload() -> None:
    """Forget the loaded catalogs and languages (after `locales_dir` changed, in tests)."""
    for cached in (languages, catalog, normalize_lang, babel_locale):
        cached.cache_clear()


def placeholders(template: str) -> set[str]:
    """Return the names a message template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@functools.cache
def normalize_lang(code: str | None) -> Lang:
    """Map Telegram's language_code (or a stored choice) to the best language there is.

    The exact language (`pt-br` → `pt_BR`), else its language part (`en-GB` → `en`), else the
    default.
    """
    if not code:
        return DEFAULT_LANG
    wanted = code.replace("-", "_").lower()
    by_code = {lang.lower(): lang for lang in languages()}
    if wanted in by_code:
        return by_code[wanted]
    return by_code.get(wanted.split("_", 1)[0], DEFAULT_LANG)


def _template(lang: str, key: str) -> str:
    # A message a catalog lacks is shown in the default language rather than not at all.
    template = catalog(normalize_lang(lang)).get(key) or catalog(DEFAULT_LANG).get(key)
    if template is None:
        raise KeyError(f"missing message {key!r} for {lang!r}")
    return template


def t(lang: str, key: str, /, **params: object) -> Html:
    """Render one message in a language; parameters are escaped unless they are `Html`."""
    safe = {k: (v if isinstance(v, Html) else esc(v)) for k, v in params.items()}
    return Html(_template(lang, key).format(**safe))


def t_plain(lang: str, key: str, /, **params: object) -> str:
    """Render a message as plain text (for chart images: nothing there reads HTML)."""
    return _template(lang, key).format(**{k: str(v) for k, v in params.items()})


def has(key: str) -> bool:
    """Tell whether a message key exists."""
    return key in catalog(DEFAULT_LANG)


def language_words(lang: str) -> tuple[str, ...]:
    """Return the words that choose a language in `/language` (its code first)."""
    return (lang.lower(), *t_plain(lang, "language.words").split())


def choose_language(word: str) -> Lang | None:
    """Return the language a word someone typed names (`en`, `anh`, `tiếng`), if any."""
    word = word.lower()
    for lang in languages():
        if word.startswith(language_words(lang)):
            return lang
    return None


@functools.cache
def babel_locale(lang: str) -> Locale:
    """Return a language's Babel locale, its territory from CLDR's likely subtags (vi → vi_VN)."""
    code = normalize_lang(lang)
    likely: Mapping[str, str] = get_global("likely_subtags")
    return Locale.parse(likely.get(code, code))


def fmt_int(n: float, lang: str) -> str:
    """Format a count: 1.234 in Vietnamese, 1,234 in English."""
    if float(n).is_integer():
        return format_decimal(int(n), locale=babel_locale(lang))
    return format_decimal(round(n, 1), format="#,##0.#", locale=babel_locale(lang))


def round_count(value: float) -> float:
    """Round a count for display: whole from 10 up, one decimal below (4,5; 0,9), else 0,04."""
    magnitude = abs(value)
    if magnitude == 0 or not math.isfinite(magnitude):
        return value
    rounded: float
    if magnitude >= 9.95:
        rounded = math.floor(magnitude + 0.5)
    elif magnitude >= 0.095:
        rounded = math.floor(magnitude * 10 + 0.5) / 10
    else:
        # Below a tenth (a monthly target of one seen for a day) hundredths still say something.
        rounded = max(math.floor(magnitude * 100 + 0.5), 1) / 100
    return math.copysign(rounded, value)


def round_money(amount: float) -> float:
    """Round money to three significant figures, as people say it: 279,89tr is 280tr."""
    magnitude = round(abs(amount))
    if magnitude < 1000:
        return float(math.copysign(magnitude, amount))
    step = 10 ** (len(str(magnitude)) - 3)
    # Integer arithmetic: whole đồng, half up, no float error at 10^12.
    return float(math.copysign((magnitude + step // 2) // step * step, amount))


def fmt_count(value: float, lang: str) -> str:
    """Format a count rounded for display (see `round_count`): 1.234, 4,5, 0,04."""
    return format_decimal(round_count(value), format="#,##0.##", locale=babel_locale(lang))


def fmt_money(amount: int | float, lang: str, currency: str = "VND") -> str:
    """Format money in full: 50.000.000 ₫ / ₫50,000,000."""
    return format_currency(
        round(amount), currency, locale=babel_locale(lang), format_type="standard"
    )


def fmt_money_short(amount: int | float, lang: str) -> str:
    """Format money the way people type it in chat: 45tr, 1,5 tỷ / 45M, 1.5B."""
    return format_amount_short(round(amount), normalize_lang(lang))


def fmt_pct(ratio: float | None, lang: str) -> str:
    """Format a ratio as a whole percentage, or a dash when it is undefined."""
    if ratio is None:
        return "—"
    return format_percent(ratio, format="#,##0%", locale=babel_locale(lang))


def fmt_day(day: dt.date, lang: str) -> str:
    """Format a day the short way both languages read: 22/11."""
    return format_date(day, "dd/MM", locale=babel_locale(lang))


def progress_bar(ratio: float | None, width: int = 10) -> str:
    """Draw attainment as a bar: ▓▓▓▓▓▓▓░░░ (full at 100 % and beyond)."""
    if ratio is None:
        return "░" * width
    filled = max(0, min(width, int(ratio * width + 1e-9)))
    return "▓" * filled + "░" * (width - filled)
