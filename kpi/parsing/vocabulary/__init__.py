"""The parser's words, one data file per language, understood all at once.

Each ``<language>.toml`` beside this module lists the words of one language: metric aliases,
filler words, dates, period names, amount units and currency marks, and the short money
format. Adding a language is adding a file. The parser reads the union of every language's
words, because a team types in more than one (a Vietnamese team types English words too); a
word that two languages give different meanings is refused when the files are loaded.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from kpi.parsing.results import ParseError
from kpi.parsing.text import core, normalize_text

__all__ = [
    "CLAUSE_WORDS",
    "CURRENCY_PREFIXES",
    "CURRENCY_WORDS",
    "DAY_PHRASES",
    "DAY_PREFIXES",
    "DEAL_NEW_PHRASES",
    "DEFAULT_ALIASES",
    "FILLERS",
    "FILLER_LONGEST",
    "LANGUAGES",
    "NEW_LONGEST",
    "NEW_PHRASES",
    "UNITS",
    "ShortUnits",
    "Vocabulary",
    "build_vocabulary",
    "longest_phrase",
    "match_phrase",
    "metric_words",
    "period_phrases",
    "short_units",
]

Vocabulary = Mapping[str, str]
"""Normalised alias (words joined by one space) -> metric key."""

# Offsets of the period names in a language file: the current period, the one before, after.
_PERIOD_OFFSETS = {"current": 0, "previous": -1, "next": 1}


@dataclass(frozen=True, slots=True)
class ShortUnits:
    """How one language writes money the short way: its decimal mark and unit suffixes."""

    decimal_mark: str
    billion: str
    million: str
    thousand: str


@cache
def _files() -> Mapping[str, Mapping[str, Any]]:
    """Load every language's file, by language code, in a stable order."""
    folder = resources.files(__name__)
    found = sorted(
        (item.name.removesuffix(".toml"), item)
        for item in folder.iterdir()
        if item.name.endswith(".toml")
    )
    return MappingProxyType({code: tomllib.loads(item.read_text("utf-8")) for code, item in found})


def _phrase(text: str) -> str:
    """Return a phrase as the parser compares it: folded words joined by one space."""
    return " ".join(w for w in (core(w) for w in normalize_text(text).split()) if w)


def _section(path: str) -> Iterable[tuple[str, Any]]:
    """Yield (language, value) for a dotted section present in the language files."""
    for code, data in _files().items():
        value: Any = data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is not None:
            yield code, value


def _phrases(path: str) -> frozenset[str]:
    """Collect the phrases of a list section over all languages."""
    return frozenset(_phrase(word) for _, words in _section(path) for word in words)


def _merged(path: str) -> dict[str, Any]:
    """Merge a table section over all languages, refusing a key given two different values."""
    merged: dict[str, Any] = {}
    for code, table in _section(path):
        for key, value in table.items():
            phrase = _phrase(key)
            if merged.get(phrase, value) != value:
                raise ValueError(f"{code}.toml: {path} {key!r} means two things across languages")
            merged[phrase] = value
    return merged


def build_vocabulary(metrics: Iterable[tuple[str, Iterable[str]]]) -> Vocabulary:
    """Build the alias -> metric mapping from metric keys and their aliases."""
    vocab: dict[str, str] = {}
    for key, aliases in metrics:
        for alias in (key, *aliases):
            phrase = _phrase(alias)
            if not phrase:
                continue
            known = vocab.get(phrase)
            if known is not None and known != key:
                raise ParseError("vocab.conflict", alias=phrase, metrics=(known, key))
            vocab[phrase] = key
    return MappingProxyType(vocab)


def match_phrase(
    norms: Sequence[str], i: int, phrases: Mapping[str, str] | frozenset[str], longest_words: int
) -> tuple[str, int] | None:
    """Match the longest phrase of the table starting at word `i`; return its value and end."""
    for size in range(min(longest_words, len(norms) - i), 0, -1):
        phrase = " ".join(norms[i : i + size])
        if phrase in phrases:
            value = phrases[phrase] if isinstance(phrases, Mapping) else phrase
            return value, i + size
    return None


def longest_phrase(phrases: Iterable[str]) -> int:
    """Return the word count of the longest phrase."""
    return max((p.count(" ") + 1 for p in phrases), default=0)


def period_phrases() -> Iterable[tuple[str, int, str]]:
    """Yield (period, offset, phrase as written) for every language's period names."""
    for _, periods in _section("periods"):
        for period, kinds in periods.items():
            for kind, words in kinds.items():
                for word in words:
                    yield period, _PERIOD_OFFSETS[kind], word


def short_units(lang: str) -> ShortUnits:
    """Return the short money format of `lang` (a code such as `vi` or `vi-VN`), else English."""
    code = next((c for c in _files() if lang.lower().startswith(c)), "en")
    table = _files()[code]["amounts"]["short"]
    return ShortUnits(table["decimal_mark"], table["billion"], table["million"], table["thousand"])


def _default_aliases() -> dict[str, tuple[str, ...]]:
    """Collect each metric's words over all languages, in the order the files give them."""
    aliases: dict[str, list[str]] = {}
    for _, metrics in _section("metrics"):
        for key, words in metrics.items():
            bucket = aliases.setdefault(key, [])
            bucket.extend(w for w in words if w not in bucket)
    return {key: tuple(words) for key, words in aliases.items()}


def metric_words(lang: str | None = None) -> dict[str, tuple[str, ...]]:
    """Return each metric's words in one language's file, or (None) over all of them."""
    if lang is None:
        return dict(DEFAULT_ALIASES)
    table = _files().get(lang, {}).get("metrics", {})
    return {key: tuple(words) for key, words in table.items()}


LANGUAGES: tuple[str, ...] = tuple(_files())
"""The codes of the languages whose words the parser understands."""

DEFAULT_ALIASES: dict[str, tuple[str, ...]] = _default_aliases()
"""Built-in metric key -> the words of every language that name it."""

FILLERS = _phrases("words.fillers")
FILLER_LONGEST = longest_phrase(FILLERS)
NEW_PHRASES = _phrases("words.new_customer")
DEAL_NEW_PHRASES = NEW_PHRASES | _phrases("words.new_marker")
NEW_LONGEST = longest_phrase(DEAL_NEW_PHRASES)
# Symbols end a clause in every language; the words come from the language files.
CLAUSE_WORDS = frozenset({"&", "+", "-", "–", "—", "|", "/"}) | _phrases("words.clause")

DAY_PHRASES: Mapping[tuple[str, ...], int] = MappingProxyType(
    {tuple(phrase.split()): int(days) for phrase, days in _merged("dates.days_ago").items()}
)
"""Phrase (its folded words) -> days before today (negative: the future)."""
DAY_PREFIXES = _phrases("dates.prefixes")

UNITS: Mapping[str, int] = MappingProxyType(
    {"".join(word.split()): int(factor) for word, factor in _merged("amounts.units").items()}
)
"""Amount unit word -> its value in dong."""
CURRENCY_WORDS = _phrases("amounts.currency")
CURRENCY_PREFIXES = _phrases("amounts.currency_before")
