"""Render KPI charts to PNG bytes: plain data in, image out.

Every word on a chart (titles, labels, legend entries, formatted numbers and dates) comes in
from the caller, already translated; this package decides only geometry and colour.

One module per subject: `style` (sizes and colours), `text` (measuring, cleaning and fitting
text), `canvas` (the Figure on an Agg canvas, PNG out, drawing primitives), `layout` (row
geometry, checks, legends and the header), and one module per chart family: `leaderboard`,
`progress`, `trend`.

Design notes:

- matplotlib is imported lazily inside the functions: the bot must start without it.
- Only the object-oriented ``Figure`` API with the Agg canvas is used, never ``pyplot``.
- Everything is drawn straight onto the figure in pixel coordinates (no ``Axes``, no tick
  machinery, no layout engine): margins are computed from measured label widths, which is
  both faster and more predictable than ``tight_layout``.
- Text is never parsed as mathtext (``parse_math=False``), so names such as ``$x_1$`` show as
  typed. Characters the bundled DejaVu Sans cannot draw (emoji) are dropped instead of showing
  as boxes with a warning per render.
- Functions are pure and thread-safe, so several charts may render in worker threads at once.

Errors: an empty input raises `EmptyChartError` (a `ValueError`), so the caller can send a text
instead of a picture; malformed input (NaN, mismatched lengths, too many rows) raises
`ValueError`.
"""

from __future__ import annotations

from kpi.charts.layout import rows_chart_size_px
from kpi.charts.leaderboard import LeaderRow, leaderboard_chart
from kpi.charts.progress import ProgressItem, progress_chart

# The private names are internals that the chart tests read here (colours, text fitting).
from kpi.charts.style import (  # noqa: F401
    _ACCENT,
    _BAND,
    _BARS_WITH_SERIES,
    _BEHIND,
    _BELOW_MINIMUM,
    _BRONZE,
    _DONE,
    _GOLD,
    _INK,
    _NEUTRAL,
    _ON_PACE,
    _SERIES_COLOURS,
    _SILVER,
    _STATUS_COLOURS,
    _TARGET_LINE,
    _TRACK,
    DPI,
    MAX_HEIGHT_PX,
    MAX_ROWS,
    MAX_SERIES,
    TREND_HEIGHT_PX,
    WIDTH_PX,
    EmptyChartError,
)
from kpi.charts.text import _clean, _drawable, _fit, _text_width  # noqa: F401
from kpi.charts.trend import trend_chart

__all__ = [
    "DPI",
    "MAX_HEIGHT_PX",
    "MAX_ROWS",
    "MAX_SERIES",
    "TREND_HEIGHT_PX",
    "WIDTH_PX",
    "EmptyChartError",
    "LeaderRow",
    "ProgressItem",
    "leaderboard_chart",
    "progress_chart",
    "rows_chart_size_px",
    "trend_chart",
]
