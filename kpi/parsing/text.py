"""Text folding: the one way the product compares what people type.

Text is lower-cased, loses its diacritics (đ becomes d), zero-width characters that copy-paste
brings along, and repeated whitespace, so Vietnamese typed with or without accents and English
compare alike.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["EDGE_PUNCT", "LEADING_PUNCT", "core", "normalize_text"]

_WHITESPACE = re.compile(r"\s+")
# Stripped from a word's ends: quotes and brackets, and at the end sentence punctuation.
LEADING_PUNCT = "\"'`([{<«»“”‘’"
EDGE_PUNCT = LEADING_PUNCT + ")]}>.,;:!?…"
_DROPPED_CATEGORIES = frozenset({"Mn", "Cf"})


def normalize_text(text: str) -> str:
    """Return text lower-cased, without diacritics (đ -> d) and with whitespace collapsed."""
    lowered = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", lowered)
    # Mn drops the accents; Cf drops zero-width characters that copy-paste brings along.
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return _WHITESPACE.sub(" ", kept).strip()


def core(word: str) -> str:
    """Return a normalised word without surrounding punctuation or inner spaces."""
    return "".join(normalize_text(word).split()).lstrip(LEADING_PUNCT).rstrip(EDGE_PUNCT)
