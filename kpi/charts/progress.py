"""Progress bars against 100 %, coloured by status, with a pace marker per row."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kpi.charts.canvas import _add_boxes, _add_markers, _add_segments, _figure, _png, _put
from kpi.charts.layout import (
    _check_finite,
    _check_row_count,
    _draw_header,
    _extra_legend_rows,
    _legend_entry,
    _legend_rows,
    _LegendEntry,
    _row_font_px,
    _row_pitch,
    rows_chart_size_px,
)
from kpi.charts.style import (
    _HEADER_PX,
    _INK,
    _LEGEND_ROW_PX,
    _PAD,
    _STATUS_COLOURS,
    _TRACK,
    WIDTH_PX,
    EmptyChartError,
)
from kpi.charts.text import _clean, _fit, _text_width


@dataclass(frozen=True, slots=True)
class ProgressItem:
    """One progress bar: attainment (1.0 = 100 %) and the pace expected by now (0..1)."""

    label: str
    attainment: float | None
    pace_expected: float | None = None
    below_minimum: bool = False


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
