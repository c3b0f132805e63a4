"""The trend: one KPI per day as bars or a line, with a target line and comparison series."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from itertools import pairwise
from typing import Literal

from kpi.charts.canvas import _add_boxes, _add_line, _add_segments, _figure, _png, _put
from kpi.charts.layout import (
    _check_finite,
    _draw_header,
    _extra_legend_rows,
    _legend_entry,
    _legend_rows,
    _LegendEntry,
)
from kpi.charts.style import (
    _ACCENT,
    _BARS_WITH_SERIES,
    _GRID,
    _HEADER_PX,
    _INK,
    _LEGEND_ROW_PX,
    _MUTED,
    _PAD,
    _SERIES_COLOURS,
    _TARGET_LINE,
    _TICK_FONT_PX,
    MAX_SERIES,
    TREND_HEIGHT_PX,
    WIDTH_PX,
    EmptyChartError,
)
from kpi.charts.text import _clean, _text_width


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
