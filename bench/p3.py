"""P3: chart rendering (QUALITY.md).

The leaderboard chart of 30 members and the trend chart of 31 days, each against
`minimal_bar_chart` drawing the same numbers at the same pixel size in the same run.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.core import Figure, Result, interleaved, median_ms
from bench.dataset import person_name
from kpi import charts

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Return the (width, height) in pixels stored in a PNG's header."""
    if len(png) < 24 or not png.startswith(_PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def minimal_bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    width_px: int = charts.WIDTH_PX,
    height_px: int = charts.TREND_HEIGHT_PX,
) -> bytes:
    """Render the plainest matplotlib bar chart of the given size (the P3 reference)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    # Sized as kpi.charts sizes its figures: Agg truncates inches * dpi to whole pixels.
    size = ((width_px + 0.25) / charts.DPI, (height_px + 0.25) / charts.DPI)
    fig = MplFigure(figsize=size, dpi=charts.DPI, facecolor="white")
    fig.set_layout_engine("none")
    ax = fig.add_subplot()
    ax.bar(range(len(values)), values, tick_label=list(labels))
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Options:
    """How P3 runs."""

    quick: bool
    runs: int | None = None


def _money(value: float) -> str:
    # Vietnamese short money, as the bot shows it ("45,5tr"); the text only has to be realistic.
    return f"{value / 1_000_000:,.1f}tr".replace(".", ",")


def leaderboard_rows(n: int = 30) -> list[charts.LeaderRow]:
    """Return a realistic ranked leaderboard: revenue, monthly targets, the reader highlighted."""
    rows = []
    for i in range(n):
        family, given = person_name(i * 7)
        value = 420_000_000 * 0.93**i + 3_000_000 * (i % 4)
        rows.append(
            charts.LeaderRow(
                name=f"{family} Thị {given}" if i % 3 == 0 else f"{family} Văn {given}",
                value=value,
                target=200_000_000.0 if i % 5 else 250_000_000.0,
                highlight=i == 11,
                rank=i + 1,
            )
        )
    return rows


def trend_series(days: int = 31) -> tuple[list[dt.date], list[float]]:
    """Return a month of daily call counts, lower at weekends."""
    first = dt.date(2026, 10, 1)
    out_days = [first + dt.timedelta(days=i) for i in range(days)]
    values = [
        float((37 * i) % 23 + (40 if d.weekday() < 5 else 6)) for i, d in enumerate(out_days)
    ]
    return out_days, values


def run(opts: Options) -> list[Result]:
    """Measure both charts against the minimal bar chart."""
    runs = opts.runs or (5 if opts.quick else 15)
    rows = leaderboard_rows()
    width, height = charts.rows_chart_size_px(len(rows))

    def board() -> bytes:
        return charts.leaderboard_chart(
            rows,
            title="Bảng xếp hạng doanh số · tháng 11",
            value_label="Doanh số tháng này (VND)",
            fmt=_money,
            target_label="Chỉ tiêu",
        )

    def board_ref() -> bytes:
        return minimal_bar_chart(
            [r.value for r in rows], [r.name for r in rows], width_px=width, height_px=height
        )

    days, values = trend_series()
    labels = [f"{d.day}/{d.month}" for d in days]

    def trend() -> bytes:
        return charts.trend_chart(
            days,
            values,
            title="Cuộc gọi mỗi ngày · tháng 10",
            value_label="Cả đội",
            target_per_day=40.0,
            target_label="Chỉ tiêu ngày",
        )

    trend_size = png_size(trend())

    def trend_ref() -> bytes:
        return minimal_bar_chart(values, labels, width_px=trend_size[0], height_px=trend_size[1])

    return [
        _figure(f"leaderboard chart ({len(rows)} members)", board, board_ref, runs),
        _figure(f"trend chart ({len(days)} days)", trend, trend_ref, runs),
    ]


def _figure(
    label: str, chart: Callable[[], bytes], reference: Callable[[], bytes], runs: int
) -> Figure:
    if png_size(chart()) != png_size(reference()):
        raise RuntimeError(f"P3 {label}: the chart and its reference differ in size")
    times = interleaved([chart, reference], runs)
    return Figure(
        "P3",
        label,
        median_ms(times[0]),
        median_ms(times[1]),
        "minimal bar chart",
        "ms",
        goal=1.5,
    )
