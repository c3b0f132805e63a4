"""Sizes, geometry and colours shared by every chart, and the error for an empty chart."""

from __future__ import annotations

DPI = 100
WIDTH_PX = 1080  # a phone screen's width in physical pixels
MAX_HEIGHT_PX = 2400  # about a phone screen's height at that width
TREND_HEIGHT_PX = 720  # trend chart height with at most one legend row
MAX_ROWS = 60
MAX_SERIES = 8

_FAMILY = "DejaVu Sans"
_ELLIPSIS = "…"

# Geometry in pixels.
_PAD = 28
_TITLE_PX = 34
_SUBTITLE_PX = 24
_HEADER_PX = 132  # title and subtitle band above the rows
_FOOTER_PX = 24
_PITCH_MAX = 60
_PITCH_MIN = 37
_ROW_FONT_MAX = 26
_ROW_FONT_MIN = 19
_LEGEND_ROW_PX = 40
_LEGEND_KEY_PX = 44  # the marker and the space before its label
_LEGEND_GAP = 28  # between two legend entries on one line
_TICK_FONT_PX = 22

# Colours: dark text on white, saturated fills; medal colours only for the top three.
_INK = "#1F2933"
_MUTED = "#52606D"
_GRID = "#E1E5EA"
_TRACK = "#E4E8EE"
_BAND = "#E3EDFD"
_GOLD = "#F0B400"
_SILVER = "#A5AFBA"
_BRONZE = "#C97A40"
_NEUTRAL = "#7F9CC4"
_ACCENT = "#1A66D2"
_DONE = "#1E8E3E"
_ON_PACE = "#3B7DDD"
_BEHIND = "#F29900"
_BELOW_MINIMUM = "#D93025"
_TARGET_LINE = "#C62828"
_STATUS_COLOURS = {
    "done": _DONE,
    "on_pace": _ON_PACE,
    "behind": _BEHIND,
    "below_minimum": _BELOW_MINIMUM,
}
_BARS_WITH_SERIES = "#C3CFDC"
# Okabe-Ito without its yellow (too pale on white), then two dark extras.
_SERIES_COLOURS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#8C564B",
)


class EmptyChartError(ValueError):
    """Raised when there is nothing to draw; the caller sends a text instead of an image."""
