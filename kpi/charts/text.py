"""Measure, clean and fit chart text: what the bundled DejaVu Sans can draw, and how wide.

Characters the font cannot draw (emoji) are dropped instead of showing as boxes with a warning
per render; widths come from the font's glyph advances, so margins fit before anything is drawn.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

from kpi.charts.style import _ELLIPSIS, _FAMILY, DPI

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties


class _Metrics:
    """Glyph advance widths of one font file, loaded once per character."""

    _EM = 64.0

    def __init__(self, path: str) -> None:
        from matplotlib import ft2font

        self._font = ft2font.FT2Font(path)
        self._font.set_size(self._EM, 72)
        self._flags = ft2font.LoadFlags.NO_HINTING
        self._advances: dict[str, float] = {}
        self._lock = threading.Lock()
        self.charmap = frozenset(self._font.get_charmap())

    def width(self, text: str, size_px: float) -> float:
        """Return the width of text at size_px, ignoring kerning."""
        total = 0.0
        with self._lock:  # an FT2Font must not be used by two threads at once
            for char in text:
                advance = self._advances.get(char)
                if advance is None:
                    glyph = self._font.load_char(ord(char), flags=self._flags)
                    advance = glyph.linearHoriAdvance / 65536 / self._EM
                    self._advances[char] = advance
                total += advance
        return total * size_px


@cache
def _metrics(bold: bool) -> _Metrics:
    from matplotlib.font_manager import FontProperties, findfont

    weight = "bold" if bold else "normal"
    return _Metrics(findfont(FontProperties(family=_FAMILY, weight=weight)))


@cache
def _drawable() -> frozenset[int]:
    return _metrics(False).charmap & _metrics(True).charmap


def _text_width(text: str, size_px: float, bold: bool = False) -> float:
    # Hinting moves glyphs by a fraction of a pixel each: a small allowance keeps estimates safe.
    return _metrics(bold).width(text, size_px) * 1.03 + 2


def _clean(text: str) -> str:
    """Return text as one line of characters the chart font can draw."""
    drawable = _drawable()
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char)[0] != "C" and ord(char) in drawable:
            kept.append(char)
    return " ".join("".join(kept).split()) or "?"


def _fit(text: str, size_px: float, bold: bool, max_px: float) -> str:
    """Return text, cut with an ellipsis where it would be wider than max_px."""
    if _text_width(text, size_px, bold) <= max_px:
        return text
    lo, hi = 0, len(text) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _text_width(text[:mid].rstrip() + _ELLIPSIS, size_px, bold) <= max_px:
            lo = mid
        else:
            hi = mid - 1
    while lo > 0 and unicodedata.combining(text[lo]):
        lo -= 1  # never separate a letter from its accent
    return text[:lo].rstrip() + _ELLIPSIS


@cache
def _font(size_px: float, bold: bool) -> FontProperties:
    from matplotlib.font_manager import FontProperties

    weight = "bold" if bold else "normal"
    return FontProperties(family=_FAMILY, size=size_px * 72 / DPI, weight=weight)
