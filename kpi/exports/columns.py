"""The spreadsheet vocabulary: sheet and column names written per language, headers read back.

The words are data, one file per language (`kpi/exports/words/<lang>.toml`), not in the
handlers' catalogs, because the workbook is built in `kpi/`, which knows nothing of the bot's
translation layer. The same files tell the importer which column is which, in any of the
languages, with or without diacritics.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from kpi import parsing
from kpi.names import Names, name_in

# --- the words, per language: kpi/exports/words/<lang>.toml -----------------------------------


@cache
def _files() -> Mapping[str, Mapping[str, Any]]:
    """Load every language's words, by language code (a new language is a new file)."""
    folder = resources.files("kpi.exports").joinpath("words")
    found = sorted(
        (item.name.removesuffix(".toml"), item)
        for item in folder.iterdir()
        if item.name.endswith(".toml")
    )
    return {code: tomllib.loads(item.read_text("utf-8")) for code, item in found}


def _written(section: str) -> Mapping[str, Names]:
    """Return key -> {language: word} for a section of what exports write."""
    table: dict[str, dict[str, str]] = {}
    for code, data in _files().items():
        for key, text in data.get(section, {}).items():
            table.setdefault(key, {})[code] = text
    return MappingProxyType(table)


def _read(section: str) -> dict[str, tuple[str, ...]]:
    """Return key -> every language's header words for a section of what imports read."""
    table: dict[str, list[str]] = {}
    for data in _files().values():
        for key, words in data.get("read", {}).get(section, {}).items():
            table.setdefault(key, []).extend(words)
    return {key: tuple(words) for key, words in table.items()}


# --- what an export writes ---------------------------------------------------------------------

SHEETS = _written("sheets")
HEADERS = _written("headers")
STATUSES = _written("statuses")
SOURCES = _written("sources")
PERIOD_NAMES = _written("periods")

# The raw activities sheet, in order; the importer reads this layout back (one row per entry).
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "date",
    "member",
    "metric",
    "value",
    "amount",
    "customer",
    "new_customer",
    "note",
    "status",
    "source",
    "logged_by",
    "changed_by",
    "entry_id",
)


def word(table: Mapping[str, Names], key: str, lang: str) -> str:
    """Return a table's word in a language (the default language's where it has none)."""
    return name_in(table[key], lang)


def header(key: str, lang: str) -> str:
    """Return a column's header in a language."""
    return word(HEADERS, key, lang)


# --- what an import reads ----------------------------------------------------------------------

# Columns that describe the row (header word -> role), and columns that carry one metric's
# figure (one row per person and day or month; revenue is the deals' money).
_ROLE_HEADERS = _read("roles")
_METRIC_HEADERS = _read("metrics")


def fold(text: object) -> str:
    """Fold a header or a name for comparison: lower case, no diacritics, single spaces."""
    return parsing.normalize_text(str(text)).strip(" :*")


def name_key(name: str) -> str:
    """Fold a name so that `Trần Minh`, `minh tran` and `Minh  Trần` are one person."""
    return " ".join(sorted(fold(name).split()))


def header_roles(
    extra_metrics: Mapping[str, Iterable[str]] = MappingProxyType({}),
) -> dict[str, str]:
    """Return folded header -> role (`date`, `member`, ...) or `metric:<key>` / `revenue`."""
    out: dict[str, str] = {}
    for key, words in _METRIC_HEADERS.items():
        for w in words:
            out[fold(w)] = "revenue" if key == "revenue" else f"metric:{key}"
    for key, extra in extra_metrics.items():
        for w in extra:
            out.setdefault(fold(w), f"metric:{key}")
    # The describing columns win: "Giá trị" is the value column, never a metric.
    for role, words in _ROLE_HEADERS.items():
        for w in words:
            out[fold(w)] = role
    # And an export's own headers, in every language, read back as what they are.
    for key, written in HEADERS.items():
        if key in _ROLE_HEADERS:
            for w in written.values():
                out[fold(w)] = key
    return out


def metric_word_index(metrics: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Return folded metric word -> metric key, for a per-activity file's metric column."""
    out: dict[str, str] = {}
    for key, words in _METRIC_HEADERS.items():
        if key != "revenue":
            for w in words:
                out[fold(w)] = key
    for key, team_words in metrics.items():
        for w in team_words:
            out[fold(w)] = key
        out[fold(key)] = key
    return out


def status_index() -> dict[str, str]:
    """Return folded status word (any language) -> status."""
    return {fold(w): key for key, written in STATUSES.items() for w in written.values()}
