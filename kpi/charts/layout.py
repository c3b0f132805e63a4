"""Row geometry, input checks, legends and the header band shared by the chart families."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kpi.charts.canvas import _add_boxes, _add_line, _add_markers, _add_segments, _put
from kpi.charts.style import (
    _FOOTER_PX,
    _HEADER_PX,
    _LEGEND_GAP,
    _LEGEND_KEY_PX,
    _LEGEND_ROW_PX,
    _MUTED,
    _PAD,
    _PITCH_MAX,
    _PITCH_MIN,
    _ROW_FONT_MAX,
    _ROW_FONT_MIN,
    _SUBTITLE_PX,
    _TITLE_PX,
    MAX_HEIGHT_PX,
    MAX_ROWS,
    WIDTH_PX,
    EmptyChartError,
)
from kpi.charts.text import _clean, _fit, _text_width

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# "band" is the reader's row tint; "text" continues a label that needs a second line.
_LegendKind = Literal["tick", "pace", "dash", "line", "box", "band", "text"]


@dataclass(frozen=True, slots=True)
class _LegendEntry:
    kind: _LegendKind
    colour: str
    label: str


def rows_chart_size_px(n_rows: int, legend_rows: int = 0) -> tuple[int, int]:
    """Return the (width, height) in pixels of a leaderboard or progress chart of n_rows rows.

    ``legend_rows`` is the number of legend lines the chart needs below its header line.
    """
    _check_row_count(n_rows)
    header = _HEADER_PX + legend_rows * _LEGEND_ROW_PX
    return WIDTH_PX, header + round(n_rows * _row_pitch(n_rows, legend_rows)) + _FOOTER_PX


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
