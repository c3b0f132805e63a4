"""The leaderboard: ranked horizontal bars, medals for the top three, targets and the reader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kpi.charts.canvas import _add_boxes, _add_line, _add_rect, _add_segments, _figure, _png, _put
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
    _ACCENT,
    _BAND,
    _BRONZE,
    _FOOTER_PX,
    _GOLD,
    _HEADER_PX,
    _INK,
    _LEGEND_ROW_PX,
    _MUTED,
    _NEUTRAL,
    _PAD,
    _SILVER,
    WIDTH_PX,
    EmptyChartError,
)
from kpi.charts.text import _clean, _fit, _text_width


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """One bar of a leaderboard, in rank order (best first)."""

    name: str
    value: float
    target: float | None = None
    highlight: bool = False
    # Shared ranks (ties) come from scoring; None means the row's position + 1.
    rank: int | None = None


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


def _has_medal(rank: int, row: LeaderRow) -> bool:
    # Nobody earns a medal with nothing logged.
    return 1 <= rank <= 3 and row.value > 0


def _leader_colour(rank: int, row: LeaderRow) -> str:
    if _has_medal(rank, row):
        return (_GOLD, _SILVER, _BRONZE)[rank - 1]
    return _ACCENT if row.highlight else _NEUTRAL
