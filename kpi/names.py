"""Names per language (metrics, KPIs): one mapping per name, and the rule for a missing one."""

from __future__ import annotations

from collections.abc import Mapping

# The language a team starts in and that a missing translation falls back to.
DEFAULT_LANGUAGE = "vi"

Names = Mapping[str, str]


def name_in(names: Names, lang: str) -> str:
    """Return a name in a language, else in the default language, else any name there is."""
    found = names.get(lang) or names.get(DEFAULT_LANGUAGE)
    if found:
        return found
    return next((name for name in names.values() if name), "")


def all_names(names: Names) -> tuple[str, ...]:
    """Return every language's name once (the words that find the thing), in a stable order."""
    return tuple(dict.fromkeys(name for _, name in sorted(names.items()) if name))
