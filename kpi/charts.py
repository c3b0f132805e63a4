"""Render KPI charts to PNG bytes: plain data in, image out.

Every word on a chart (titles, labels, legend entries, formatted numbers and dates) comes in
from the caller, already translated; this module decides only geometry and colour.

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

import io
import math
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import Transform

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


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """One bar of a leaderboard, in rank order (best first)."""

    name: str
    value: float
    target: float | None = None
    highlight: bool = False
    # Shared ranks (ties) come from scoring; None means the row's position + 1.
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class ProgressItem:
    """One progress bar: attainment (1.0 = 100 %) and the pace expected by now (0..1)."""

    label: str
    attainment: float | None
    pace_expected: float | None = None
    below_minimum: bool = False


# "band" is the reader's row tint; "text" continues a label that needs a second line.
_LegendKind = Literal["tick", "pace", "dash", "line", "box", "band", "text"]


@dataclass(frozen=True, slots=True)
class _LegendEntry:
    kind: _LegendKind
    colour: str
    label: str


# --- public API -------------------------------------------------------------------------


def rows_chart_size_px(n_rows: int, legend_rows: int = 0) -> tuple[int, int]:
    """Return the (width, height) in pixels of a leaderboard or progress chart of n_rows rows.

    ``legend_rows`` is the number of legend lines the chart needs below its header line.
    """
    _check_row_count(n_rows)
    header = _HEADER_PX + legend_rows * _LEGEND_ROW_PX
    return WIDTH_PX, header + round(n_rows * _row_pitch(n_rows, legend_rows)) + _FOOTER_PX


def leaderboard_chart(
    rows: Sequence[LeaderRow],
    *,
    title: str,
    value_label: str,
    fmt: Callable[[float], str],
    target_label: str | None = None,
    percent: bool = False,
    highlight_label: str | None = None,
) -> bytes:
    """Render a ranked horizontal bar chart (best at the top) as PNG bytes.

    Rows are drawn in the given order with their rank in front of the name; ranks 1-3 with a
    value above zero get gold, silver and bronze bars. Each bar ends with ``fmt(value)``; a
    row's target is a dark tick across its bar. With ``percent=True`` values are ratios
    (1.0 = 100 %) and a dashed 100 % line is drawn. ``target_label`` names the tick (or the
    100 % line) in the legend. Highlighted rows (the reader) get a tinted band and a bold name;
    ``highlight_label`` names the band in the legend. The legend wraps onto lines of its own
    when it does not fit beside the subtitle (the chart grows).
    Raises EmptyChartError for no rows, ValueError for more than MAX_ROWS or non-finite numbers.
    """
    if not rows:
        raise EmptyChartError("no rows to draw")
    n = len(rows)
    _check_row_count(n)
    for row in rows:
        _check_finite(row.value, "value")
        if row.target is not None:
            _check_finite(row.target, "target")
    has_targets = any(row.target is not None for row in rows)
    legend: list[_LegendEntry] = []
    if target_label is not None and percent:
        legend.append(_legend_entry("dash", _INK, target_label))
    elif target_label is not None and has_targets:
        legend.append(_legend_entry("tick", _INK, target_label))
    if highlight_label is not None and any(row.highlight for row in rows):
        legend.append(_legend_entry("band", _BAND, highlight_label))
    legend_rows = _legend_rows(value_label, legend)
    legend_lines = _extra_legend_rows(value_label, legend_rows)
    width, height = rows_chart_size_px(n, legend_lines)
    pitch = _row_pitch(n, legend_lines)
    font_px = _row_font_px(pitch)
    rows_top = height - _HEADER_PX - legend_lines * _LEGEND_ROW_PX

    ranks = [row.rank if row.rank is not None else i + 1 for i, row in enumerate(rows)]
    rank_texts = [str(rank) for rank in ranks]
    rank_w = max(_text_width(text, font_px, bold=True) for text in rank_texts)
    name_x = _PAD + rank_w + 14
    name_max = WIDTH_PX * 0.40 - (name_x - _PAD)
    names = [_fit(_clean(row.name), font_px, row.highlight, name_max) for row in rows]
    name_w = max(
        _text_width(name, font_px, bold=row.highlight)
        for name, row in zip(names, rows, strict=True)
    )
    x0 = name_x + name_w + 20
    plot_w = width - _PAD - x0
    values = [_clean(fmt(row.value)) for row in rows]
    value_ws = [_text_width(text, font_px) for text in values]
    gap = 10.0

    # Smallest data span for which every bar, its target and its value label fit the width.
    vmin = min(0.0, *(row.value for row in rows), *(row.target or 0.0 for row in rows))
    span = 0.0
    for row, label_w in zip(rows, value_ws, strict=True):
        anchor = max(row.value, 0.0, row.target if row.target is not None else 0.0)
        if percent:
            anchor = max(anchor, 1.0)
        room = max(plot_w - gap - label_w - 6, plot_w * 0.25)
        span = max(span, (anchor - vmin) * plot_w / room)
    if percent:
        span = max(span, (1.0 - vmin) * plot_w / (plot_w - 4))
    if span <= 0:
        span = 1.0

    def x_of(value: float) -> float:
        return x0 + (value - vmin) / span * plot_w

    fig, canvas = _figure(width, height)
    _draw_header(fig, width, height, title, value_label, legend, legend_rows=legend_rows)
    bar_half = pitch * 0.32
    boxes: list[tuple[float, float, float, float]] = []
    colours: list[str] = []
    ticks: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for i, row in enumerate(rows):
        yc = rows_top - (i + 0.5) * pitch
        if row.highlight:
            _add_rect(fig, _PAD / 2, yc - pitch / 2, width - _PAD, pitch, _BAND, zorder=0)
        left, right = sorted((x_of(0.0), x_of(row.value)))
        boxes.append((left, yc - bar_half, right - left, 2 * bar_half))
        colours.append(_leader_colour(ranks[i], row))
        label_x = x_of(max(row.value, 0.0)) + gap
        markers = []
        if row.target is not None:
            tx = x_of(row.target)
            ticks.append(((tx, yc - pitch * 0.42), (tx, yc + pitch * 0.42)))
            markers.append(tx)
        if percent:
            markers.append(x_of(1.0))
        # Move the value past a target tick or the 100 % line that would cross it.
        for mx in sorted(markers):
            if label_x - gap - 3 <= mx <= label_x + value_ws[i] + 3:
                label_x = mx + 3 + gap
        medal = _has_medal(ranks[i], row)
        _put(fig, _PAD + rank_w, yc, rank_texts[i], font_px, bold=medal, ha="right", colour=_MUTED)
        _put(fig, name_x, yc, names[i], font_px, bold=row.highlight)
        _put(fig, label_x, yc, values[i], font_px, bold=row.highlight)
    _add_boxes(fig, boxes, colours)
    if ticks:
        _add_segments(fig, ticks, _INK, width_px=3.5, zorder=3)
    if percent:
        x100 = x_of(1.0)
        _add_line(
            fig,
            [x100, x100],
            [_FOOTER_PX / 2, rows_top + 6],
            _INK,
            width_px=2,
            dashed=True,
            zorder=1,
        )
    return _png(canvas)


def progress_chart(
    items: Sequence[ProgressItem],
    *,
    title: str,
    pace_label: str,
    fmt_pct: Callable[[float], str],
    status_labels: Mapping[str, str] | None = None,
) -> bytes:
    """Render progress bars against 100 % with a pace marker per row as PNG bytes.

    The grey track is 0-100 %; the bar is green at or above 100 %, blue when on pace, amber
    when behind pace and red when below the minimum; bars above 200 % are cut at 200 % (the
    printed value stays exact). The marker (a line with a triangle) shows where the row should
    be by now. Rows without attainment show an empty track and a dash. ``status_labels`` names
    the colours in the legend (keys ``done``, ``on_pace``, ``behind``, ``below_minimum``; only
    the colours drawn are listed).
    Raises EmptyChartError for no items, ValueError for more than MAX_ROWS or non-finite numbers.
    """
    if not items:
        raise EmptyChartError("no items to draw")
    n = len(items)
    _check_row_count(n)
    for item in items:
        if item.attainment is not None:
            _check_finite(item.attainment, "attainment")
        if item.pace_expected is not None:
            _check_finite(item.pace_expected, "pace_expected")
    legend: list[_LegendEntry] = []
    if any(item.pace_expected is not None for item in items):
        legend.append(_legend_entry("pace", _INK, pace_label))
    drawn = {_progress_status(item) for item in items if (item.attainment or 0) > 0}
    for status, colour in _STATUS_COLOURS.items():
        if status_labels is not None and status in drawn and status in status_labels:
            legend.append(_legend_entry("box", colour, status_labels[status]))
    legend_rows = _legend_rows("", legend)
    legend_lines = _extra_legend_rows("", legend_rows)
    width, height = rows_chart_size_px(n, legend_lines)
    pitch = _row_pitch(n, legend_lines)
    font_px = _row_font_px(pitch)
    rows_top = height - _HEADER_PX - legend_lines * _LEGEND_ROW_PX
    labels = [_fit(_clean(item.label), font_px, False, WIDTH_PX * 0.36) for item in items]
    label_w = max(_text_width(label, font_px) for label in labels)
    values = [
        _clean(fmt_pct(item.attainment)) if item.attainment is not None else "–" for item in items
    ]
    value_w = max(_text_width(text, font_px) for text in values)
    x0 = _PAD + label_w + 20
    x1 = width - _PAD - value_w - 20
    attainments = [item.attainment for item in items if item.attainment is not None]
    xmax = max(1.0, min(max(attainments, default=1.0), 2.0))

    def x_of(ratio: float) -> float:
        return x0 + min(max(ratio, 0.0), xmax) / xmax * (x1 - x0)

    fig, canvas = _figure(width, height)
    _draw_header(fig, width, height, title, "", legend, legend_rows=legend_rows)
    bar_half = pitch * 0.30
    track_boxes: list[tuple[float, float, float, float]] = []
    boxes: list[tuple[float, float, float, float]] = []
    colours: list[str] = []
    cuts: list[tuple[tuple[float, float], tuple[float, float]]] = []
    pace_lines: list[tuple[tuple[float, float], tuple[float, float]]] = []
    pace_x: list[float] = []
    pace_y: list[float] = []
    for i, item in enumerate(items):
        yc = rows_top - (i + 0.5) * pitch
        track_boxes.append((x0, yc - bar_half, x_of(1.0) - x0, 2 * bar_half))
        if item.attainment is not None and item.attainment > 0:
            boxes.append((x0, yc - bar_half, x_of(item.attainment) - x0, 2 * bar_half))
            colours.append(_progress_colour(item))
            if item.attainment > 1.0:
                # A white notch keeps the 100 % mark visible on bars that overrun it.
                x100 = x_of(1.0)
                cuts.append(((x100, yc - bar_half), (x100, yc + bar_half)))
        if item.pace_expected is not None:
            px = x_of(item.pace_expected)
            pace_lines.append(((px, yc - pitch * 0.42), (px, yc + bar_half)))
            pace_x.append(px)
            pace_y.append(yc + bar_half + 5)
        _put(fig, _PAD, yc, labels[i], font_px)
        _put(fig, width - _PAD, yc, values[i], font_px, ha="right", bold=True)
    _add_boxes(fig, track_boxes, [_TRACK] * len(track_boxes), zorder=1)
    _add_boxes(fig, boxes, colours, zorder=2)
    if cuts:
        _add_segments(fig, cuts, "white", width_px=2, zorder=2.5)
    if pace_lines:
        _add_segments(fig, pace_lines, _INK, width_px=3, zorder=3)
        _add_markers(fig, pace_x, pace_y, _INK, size_px=14, marker="v", zorder=3)
    return _png(canvas)


def trend_chart(
    days: Sequence[date],
    values: Sequence[float],
    *,
    title: str,
    value_label: str,
    target_per_day: float | None = None,
    target_label: str | None = None,
    series: Mapping[str, Sequence[float]] | None = None,
    values_label: str | None = None,
    fmt: Callable[[float], str] | None = None,
    date_fmt: Callable[[date], str] | None = None,
    kind: Literal["bars", "line"] = "bars",
) -> bytes:
    """Render one KPI per day (bars or a line) with an optional target and comparison lines.

    ``days`` are strictly increasing and drawn evenly spaced (gaps such as weekends are not
    shown); ``values`` has one number per day. ``series`` adds up to MAX_SERIES named lines of
    the same length (the bars turn pale so the lines stand out); ``values_label`` names the
    main series in the legend. ``fmt`` formats the value axis (default: plain numbers) and
    ``date_fmt`` the days (default: day/month). ``value_label`` is the subtitle.
    Raises EmptyChartError for no days, ValueError for mismatched lengths, unordered days,
    non-finite numbers or too many series.
    """
    if not days:
        raise EmptyChartError("no days to draw")
    n = len(days)
    if len(values) != n:
        raise ValueError("values must have one number per day")
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise ValueError("days must be strictly increasing")
    extra = dict(series or {})
    if len(extra) > MAX_SERIES:
        raise ValueError(f"at most {MAX_SERIES} series")
    for name, line in extra.items():
        if len(line) != n:
            raise ValueError(f"series {name!r} must have one number per day")
    numbers = [*values, *(v for line in extra.values() for v in line)]
    if target_per_day is not None:
        numbers.append(target_per_day)
    for number in numbers:
        _check_finite(number, "value")
    fmt = fmt or _plain_number
    date_fmt = date_fmt or _day_month

    legend: list[_LegendEntry] = []
    main_colour = _BARS_WITH_SERIES if extra and kind == "bars" else _ACCENT
    if values_label is not None:
        legend.append(
            _legend_entry("box" if kind == "bars" else "line", main_colour, values_label)
        )
    if target_per_day is not None and target_label is not None:
        legend.append(_legend_entry("dash", _TARGET_LINE, target_label))
    for index, name in enumerate(extra):
        legend.append(_legend_entry("line", _SERIES_COLOURS[index], name))
    legend_rows = _legend_rows(value_label, legend)
    legend_lines = _extra_legend_rows(value_label, legend_rows)
    width = WIDTH_PX
    height = TREND_HEIGHT_PX + legend_lines * _LEGEND_ROW_PX
    header = _HEADER_PX + legend_lines * _LEGEND_ROW_PX

    lo, hi = min(0.0, *numbers), max(0.0, *numbers)
    integral = all(float(v).is_integer() for v in numbers)
    ticks = _nice_ticks(lo, hi, integral)
    y_labels = [_clean(fmt(t)) for t in ticks]
    y_label_w = max(_text_width(text, _TICK_FONT_PX) for text in y_labels)
    x0 = _PAD + y_label_w + 14
    x1 = width - _PAD
    y0 = _PAD + _TICK_FONT_PX * 1.3 + 10
    y1 = height - header - 18
    slot = (x1 - x0) / n

    def y_of(value: float) -> float:
        return y0 + (value - ticks[0]) / (ticks[-1] - ticks[0]) * (y1 - y0)

    def x_of(index: int) -> float:
        return x0 + (index + 0.5) * slot

    fig, canvas = _figure(width, height)
    _draw_header(fig, width, height, title, value_label, legend, legend_rows=legend_rows)
    grid = [((x0, y_of(t)), (x1, y_of(t))) for t in ticks if t != 0]
    _add_segments(fig, grid, _GRID, width_px=1.5, zorder=0)
    for tick, text in zip(ticks, y_labels, strict=True):
        _put(fig, x0 - 12, y_of(tick), text, _TICK_FONT_PX, ha="right", colour=_MUTED)
    base = y_of(0.0)
    if kind == "bars":
        bar_w = max(slot * 0.72, 1.0)
        boxes = []
        for i, value in enumerate(values):
            bottom, top = sorted((base, y_of(value)))
            boxes.append((x_of(i) - bar_w / 2, bottom, bar_w, top - bottom))
        _add_boxes(fig, boxes, [main_colour] * n, zorder=1)
    else:
        _add_line(fig, [x_of(i) for i in range(n)], [y_of(v) for v in values], main_colour, 4.5)
    _add_segments(fig, [((x0, base), (x1, base))], _INK, width_px=2, zorder=2)
    if target_per_day is not None:
        y_target = y_of(target_per_day)
        _add_line(fig, [x0, x1], [y_target, y_target], _TARGET_LINE, 3, dashed=True, zorder=3)
    marker = n <= 31
    for index, line in enumerate(extra.values()):
        _add_line(
            fig,
            [x_of(i) for i in range(n)],
            [y_of(v) for v in line],
            _SERIES_COLOURS[index],
            3.5,
            zorder=4,
            marker_px=9 if marker else 0,
        )
    day_labels = [_clean(date_fmt(day)) for day in days]
    label_w = max(_text_width(text, _TICK_FONT_PX) for text in day_labels)
    step = next(s for s in (1, 2, 3, 5, 7, 14, 28, 56, 91, 10**9) if s * slot >= label_w + 18)
    for i in range(0, n, step):
        _put(fig, x_of(i), y0 - 10, day_labels[i], _TICK_FONT_PX, ha="center", va="top")
    return _png(canvas)


# --- layout helpers ---------------------------------------------------------------------


def _check_row_count(n_rows: int) -> None:
    if n_rows < 1:
        raise EmptyChartError("no rows to draw")
    if n_rows > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS} rows fit a readable chart, got {n_rows}")


def _check_finite(value: float, what: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")


def _row_pitch(n_rows: int, legend_rows: int = 0) -> float:
    available = MAX_HEIGHT_PX - _HEADER_PX - legend_rows * _LEGEND_ROW_PX - _FOOTER_PX
    return max(_PITCH_MIN, min(_PITCH_MAX, available / n_rows))


def _row_font_px(pitch: float) -> float:
    return float(min(_ROW_FONT_MAX, max(_ROW_FONT_MIN, round(pitch * 0.5))))


def _has_medal(rank: int, row: LeaderRow) -> bool:
    # Nobody earns a medal with nothing logged.
    return 1 <= rank <= 3 and row.value > 0


def _leader_colour(rank: int, row: LeaderRow) -> str:
    if _has_medal(rank, row):
        return (_GOLD, _SILVER, _BRONZE)[rank - 1]
    return _ACCENT if row.highlight else _NEUTRAL


def _progress_status(item: ProgressItem) -> str:
    attainment = item.attainment or 0.0
    if item.below_minimum:
        return "below_minimum"
    if attainment >= 1.0:
        return "done"
    if item.pace_expected is not None and attainment < item.pace_expected:
        return "behind"
    return "on_pace"


def _progress_colour(item: ProgressItem) -> str:
    return _STATUS_COLOURS[_progress_status(item)]


def _nice_ticks(lo: float, hi: float, integral: bool) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    if integral and hi - lo < 2:
        hi = lo + 2.0  # a count axis needs three whole ticks, never 0.25 of a call
    elif hi - lo <= 0:
        hi = lo + 1.0
    locator = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10], integer=integral, min_n_ticks=3)
    raw = [float(t) for t in locator.tick_values(lo, hi)]
    first = max(t for t in raw if t <= lo)
    last = min(t for t in raw if t >= hi)
    return [t for t in raw if first <= t <= last]


def _plain_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def _day_month(day: date) -> str:
    return f"{day.day}/{day.month}"


def _legend_entry(kind: _LegendKind, colour: str, label: str) -> _LegendEntry:
    return _LegendEntry(kind, colour, _clean(label))


def _legend_rows(subtitle: str, entries: Sequence[_LegendEntry]) -> list[list[_LegendEntry]]:
    """Return the legend's lines when it does not fit beside the subtitle (else none).

    Entries are packed from the left; a label wider than a whole line wraps at spaces onto
    lines of its own, so that no legend text is ever cut.
    """
    inner = WIDTH_PX - 2 * _PAD
    total = sum(_legend_entry_width(entry) for entry in entries) - _LEGEND_GAP
    beside = inner - (_text_width(_clean(subtitle), _SUBTITLE_PX) + 40 if subtitle else 0)
    if total <= beside:
        return []
    rows: list[list[_LegendEntry]] = []
    used = float(inner)
    for entry in (part for e in entries for part in _wrap_entry(e, inner)):
        entry_w = _legend_entry_width(entry)
        if rows and entry.kind != "text" and used + entry_w - _LEGEND_GAP <= inner:
            rows[-1].append(entry)
            used += entry_w
        else:
            rows.append([entry])
            used = entry_w
    return rows


def _wrap_entry(entry: _LegendEntry, inner: float) -> list[_LegendEntry]:
    room = inner - _LEGEND_KEY_PX
    if _text_width(entry.label, _SUBTITLE_PX) <= room:
        return [entry]
    lines: list[str] = []
    for word in entry.label.split(" "):
        if lines and _text_width(f"{lines[-1]} {word}", _SUBTITLE_PX) <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            # A single word wider than the line (no spaces to wrap at) is the one case cut short.
            lines.append(_fit(word, _SUBTITLE_PX, False, room))
    first = _LegendEntry(entry.kind, entry.colour, lines[0])
    return [first, *(_LegendEntry("text", entry.colour, line) for line in lines[1:])]


def _extra_legend_rows(subtitle: str, rows: Sequence[Sequence[_LegendEntry]]) -> int:
    """Return how many lines the legend adds below the header (its first shares an empty one)."""
    return max(0, len(rows) - (0 if subtitle else 1))


def _legend_entry_width(entry: _LegendEntry) -> float:
    return _LEGEND_KEY_PX + _text_width(entry.label, _SUBTITLE_PX) + _LEGEND_GAP


# --- text -------------------------------------------------------------------------------


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


# --- drawing ----------------------------------------------------------------------------


def _figure(width_px: int, height_px: int) -> tuple[Figure, FigureCanvasAgg]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Agg truncates inches * dpi to whole pixels; a quarter pixel more absorbs float error.
    size = ((width_px + 0.25) / DPI, (height_px + 0.25) / DPI)
    fig = Figure(figsize=size, dpi=DPI, facecolor="white")
    # Margins are computed here; never let a matplotlibrc switch a layout engine on.
    fig.set_layout_engine("none")
    return fig, FigureCanvasAgg(fig)


def _png(canvas: FigureCanvasAgg) -> bytes:
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


def _identity() -> Transform:
    from matplotlib.transforms import IdentityTransform

    # Fresh each time: transforms keep links to their users, so sharing one across figures
    # (and threads) would make every render touch common state.
    return IdentityTransform()


def _put(
    fig: Figure,
    x: float,
    y: float,
    text: str,
    size_px: float,
    *,
    bold: bool = False,
    colour: str = _INK,
    ha: str = "left",
    va: str = "center_baseline",
) -> None:
    fig.text(
        x,
        y,
        text,
        transform=_identity(),
        fontproperties=_font(size_px, bold),
        color=colour,
        ha=ha,
        va=va,
        parse_math=False,
        zorder=5,
    )


def _draw_header(
    fig: Figure,
    width: int,
    height: int,
    title: str,
    subtitle: str,
    legend: Sequence[_LegendEntry],
    *,
    legend_rows: Sequence[Sequence[_LegendEntry]] = (),
) -> None:
    inner = width - 2 * _PAD
    title_y = height - _PAD - _TITLE_PX / 2
    _put(fig, _PAD, title_y, _fit(_clean(title), _TITLE_PX, True, inner), _TITLE_PX, bold=True)
    line_y = title_y - _TITLE_PX / 2 - 14 - _SUBTITLE_PX / 2
    inline = [] if legend_rows else legend
    legend_w = sum(_legend_entry_width(entry) for entry in inline)
    if subtitle:
        text = _fit(_clean(subtitle), _SUBTITLE_PX, False, inner - legend_w)
        _put(fig, _PAD, line_y, text, _SUBTITLE_PX, colour=_MUTED)
    # A legend that fits sits at the right end of the subtitle line; one that does not gets
    # lines of its own below it (from the subtitle line itself when there is no subtitle).
    x = width - _PAD - legend_w + _LEGEND_GAP
    for entry in inline:
        x = _draw_legend_entry(fig, x, line_y, entry)
    first = 1 if subtitle else 0
    for index, row in enumerate(legend_rows):
        y = line_y - (index + first) * _LEGEND_ROW_PX
        x = float(_PAD)
        for entry in row:
            x = _draw_legend_entry(fig, x, y, entry)


def _draw_legend_entry(fig: Figure, x: float, y: float, entry: _LegendEntry) -> float:
    if entry.kind == "text":
        pass
    elif entry.kind == "box":
        _add_boxes(fig, [(x + 7, y - 10, 20, 20)], [entry.colour], zorder=5)
    elif entry.kind == "band":
        _add_boxes(fig, [(x, y - 14, 34, 28)], [entry.colour], zorder=5)
    elif entry.kind in ("tick", "pace"):
        _add_segments(fig, [((x + 17, y - 14), (x + 17, y + 10))], entry.colour, 3.5, zorder=5)
        if entry.kind == "pace":
            _add_markers(fig, [x + 17], [y + 13], entry.colour, 14, "v", zorder=5)
    else:
        _add_line(fig, [x, x + 34], [y, y], entry.colour, 3.5, dashed=entry.kind == "dash")
    _put(fig, x + _LEGEND_KEY_PX, y, entry.label, _SUBTITLE_PX, colour=_MUTED)
    return x + _legend_entry_width(entry)


def _lw(width_px: float) -> float:
    return width_px * 72 / DPI


def _add_rect(
    fig: Figure, x: float, y: float, w: float, h: float, colour: str, *, zorder: float
) -> None:
    from matplotlib.patches import Rectangle

    fig.add_artist(
        Rectangle(
            (x, y), w, h, facecolor=colour, edgecolor="none", transform=_identity(), zorder=zorder
        )
    )


def _add_boxes(
    fig: Figure,
    boxes: Sequence[tuple[float, float, float, float]],
    colours: Sequence[str],
    *,
    zorder: float = 2,
) -> None:
    from matplotlib.collections import PolyCollection

    if not boxes:
        return
    verts = [((x, y), (x + w, y), (x + w, y + h), (x, y + h)) for x, y, w, h in boxes]
    collection = PolyCollection(
        verts,
        facecolors=list(colours),
        edgecolors="none",
        linewidths=0,
        transform=_identity(),
        zorder=zorder,
    )
    fig.add_artist(collection)


def _add_segments(
    fig: Figure,
    segments: Sequence[tuple[tuple[float, float], tuple[float, float]]],
    colour: str,
    width_px: float,
    *,
    zorder: float = 3,
) -> None:
    from matplotlib.collections import LineCollection

    if not segments:
        return
    fig.add_artist(
        LineCollection(
            [list(segment) for segment in segments],
            colors=colour,
            linewidths=_lw(width_px),
            capstyle="butt",
            transform=_identity(),
            zorder=zorder,
        )
    )


def _add_line(
    fig: Figure,
    xs: Sequence[float],
    ys: Sequence[float],
    colour: str,
    width_px: float,
    *,
    dashed: bool = False,
    zorder: float = 5,
    marker_px: float = 0,
) -> None:
    from matplotlib.lines import Line2D

    fig.add_artist(
        Line2D(
            list(xs),
            list(ys),
            color=colour,
            linewidth=_lw(width_px),
            linestyle=(0, (3, 2)) if dashed else "-",
            marker="o" if marker_px else "None",
            markersize=_lw(marker_px),
            solid_joinstyle="round",
            solid_capstyle="round",
            transform=_identity(),
            zorder=zorder,
        )
    )


def _add_markers(
    fig: Figure,
    xs: Sequence[float],
    ys: Sequence[float],
    colour: str,
    size_px: float,
    marker: str,
    *,
    zorder: float = 3,
) -> None:
    from matplotlib.lines import Line2D

    fig.add_artist(
        Line2D(
            list(xs),
            list(ys),
            color=colour,
            linestyle="None",
            marker=marker,
            markersize=_lw(size_px),
            markeredgewidth=0,
            transform=_identity(),
            zorder=zorder,
        )
    )
