"""The common figure: a Figure on an Agg canvas, PNG out, and primitives in pixel coordinates.

Only the object-oriented ``Figure`` API with the Agg canvas is used, never ``pyplot``; artists
are added straight onto the figure with an identity transform (no ``Axes``, no layout engine).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpi.charts.style import _INK, DPI
from kpi.charts.text import _font

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Transform


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
