"""Cutting typed text into words that keep their positions, so it can be quoted back verbatim."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kpi.parsing.amounts import money_word
from kpi.parsing.text import EDGE_PUNCT, core
from kpi.parsing.vocabulary import CLAUSE_WORDS

__all__ = ["Tok", "split_spans", "split_words", "unglue"]


@dataclass(frozen=True, slots=True)
class Tok:
    """A word as typed (`raw`), folded (`norm`), where it stands, and whether it separates."""

    raw: str
    norm: str
    start: int
    end: int
    sep: bool = False


_SPAN_WORD = re.compile(r"\S+")
# Commas and colons between digits belong to numbers (50,000 or 14:30); elsewhere they separate.
_SPLIT_WORD = re.compile(r"(?:[^\s,;:=]|(?<=[0-9])[,:](?=[0-9]))+|[,;:=\n]")
_SENTENCE_END = re.compile(r"[.!?…]$")
_GLUED_NUMBER_FIRST = re.compile(r"([0-9]+)([a-z]+)")
_GLUED_WORD_FIRST = re.compile(r"([a-z]+)([0-9]+)")


def split_spans(text: str) -> list[Tok]:
    """Split on whitespace only, keeping positions so typed text can be returned verbatim."""
    return [Tok(m.group(), core(m.group()), m.start(), m.end()) for m in _SPAN_WORD.finditer(text)]


def split_words(text: str) -> list[Tok]:
    """Split into words and separator marks, ungluing `12calls` and `goi12`."""
    out: list[Tok] = []
    for m in _SPLIT_WORD.finditer(text):
        raw = m.group()
        norm = core(raw)
        if raw in ",;:=\n" or norm in CLAUSE_WORDS:
            out.append(Tok(raw, norm, m.start(), m.end(), sep=True))
            continue
        if not norm:
            continue
        pieces = unglue(norm)
        if pieces is None:
            out.append(Tok(raw.strip(EDGE_PUNCT) or raw, norm, m.start(), m.end()))
        else:
            out.extend(Tok(p, p, m.start(), m.end()) for p in pieces)
        if _SENTENCE_END.search(raw):
            out.append(Tok(raw[-1], "", m.end() - 1, m.end(), sep=True))
    return out


def unglue(norm: str) -> tuple[str, str] | None:
    """Split a number glued to a word (`12cuoc`), unless it is money (`500k`, `45trd`)."""
    for pattern, letters_at in ((_GLUED_NUMBER_FIRST, 2), (_GLUED_WORD_FIRST, 1)):
        m = pattern.fullmatch(norm)
        if m and money_word(m.group(letters_at)) is None:
            return m.group(1), m.group(2)
    return None
