"""Chart rendering: valid PNGs of the promised size, literal text, colours that carry meaning."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.image import imread
from matplotlib.mathtext import MathTextParser

from bench.p3 import minimal_bar_chart, png_size
from kpi import charts
from kpi.charts import (
    MAX_HEIGHT_PX,
    MAX_ROWS,
    MAX_SERIES,
    TREND_HEIGHT_PX,
    WIDTH_PX,
    EmptyChartError,
    LeaderRow,
    ProgressItem,
    leaderboard_chart,
    progress_chart,
    rows_chart_size_px,
    trend_chart,
)

VIETNAMESE = ["Nguyễn Thị Hường", "Trần Đức Phúc", "Lê Văn Nam", "Phạm Minh Châu", "Đỗ Hải Yến"]
# Mathtext rejects this, so it renders only if the text is taken literally.
BAD_MATH = r"$\notacommand{$x_1$"
HOSTILE = [BAD_MATH, "<b>bold</b> & <i>", "Hường 🔥🎉", "👍", "tab\there\nnewline", "\u200bzero"]
DAYS_31 = [date(2026, 11, 1) + timedelta(days=i) for i in range(31)]


def pct(value: float) -> str:
    """Format a ratio as a percentage, Vietnamese style."""
    return f"{value * 100:.0f} %"


def count(value: float) -> str:
    """Format a count."""
    return f"{value:.0f}"


def decode(png: bytes) -> np.ndarray:
    """Decode PNG bytes to an RGB(A) float array, checking the signature first."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == png_size(png)[::-1]
    return image


def colour_mask(image: np.ndarray, hex_colour: str, tolerance: float = 0.02) -> np.ndarray:
    """Return a boolean mask of the pixels that have (about) the given colour."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.all(np.abs(image[..., :3] - rgb) <= tolerance, axis=-1)


def pixels(png: bytes, hex_colour: str) -> int:
    """Count the pixels of a given colour in a PNG."""
    return int(colour_mask(decode(png), hex_colour).sum())


def leader_rows(n: int) -> list[LeaderRow]:
    """Build n ranked rows with Vietnamese names and decreasing values."""
    return [
        LeaderRow(f"{VIETNAMESE[i % len(VIETNAMESE)]} {i}", float(10 * (n - i))) for i in range(n)
    ]


def render_leaderboard(
    rows: list[LeaderRow],
    *,
    title: str = "Bảng xếp hạng — Tháng 11",
    value_label: str = "Doanh số",
    fmt: Callable[[float], str] = count,
    target_label: str | None = None,
    percent: bool = False,
) -> bytes:
    """Render a leaderboard with default labels."""
    return leaderboard_chart(
        rows,
        title=title,
        value_label=value_label,
        fmt=fmt,
        target_label=target_label,
        percent=percent,
    )


@pytest.fixture(scope="module")
def out_dir() -> Iterator[Path]:
    """Keep one copy of each chart under /tmp/kpibot-charts/ for looking at."""
    path = Path("/tmp/kpibot-charts")
    path.mkdir(parents=True, exist_ok=True)
    yield path


# --- PNG validity and size ---------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 10, 30, MAX_ROWS])
def test_leaderboard_is_a_png_of_the_promised_size(n: int, out_dir: Path) -> None:
    png = render_leaderboard(leader_rows(n))
    (out_dir / f"test-leaderboard-{n}.png").write_bytes(png)
    image = decode(png)
    assert png_size(png) == rows_chart_size_px(n)
    assert image.shape[1] == WIDTH_PX
    assert image.shape[0] <= MAX_HEIGHT_PX


def test_progress_is_a_png_of_the_promised_size(out_dir: Path) -> None:
    items = [
        ProgressItem("Doanh số", 0.72, 0.6),
        ProgressItem("Cuộc gọi", 0.4, 0.6),
        ProgressItem("Cuộc hẹn", 1.3, 0.6),
        ProgressItem("Hợp đồng mới", 0.1, 0.6, below_minimum=True),
        ProgressItem("Khách hàng mới", None, None),
    ]
    png = progress_chart(items, title="Tiến độ — Tháng 11", pace_label="Tiến độ", fmt_pct=pct)
    (out_dir / "test-progress.png").write_bytes(png)
    decode(png)
    assert png_size(png) == rows_chart_size_px(len(items))


@pytest.mark.parametrize("n", [1, 7, 31, 92])
def test_trend_is_a_png_of_the_promised_size(n: int, out_dir: Path) -> None:
    days = [date(2026, 9, 1) + timedelta(days=i) for i in range(n)]
    values = [float((i * 7) % 11) for i in range(n)]
    png = trend_chart(days, values, title="Doanh số theo ngày", value_label="Doanh số")
    (out_dir / f"test-trend-{n}.png").write_bytes(png)
    decode(png)
    assert png_size(png) == (WIDTH_PX, TREND_HEIGHT_PX)


def test_trend_grows_only_when_the_legend_needs_rows_of_its_own() -> None:
    values = [1.0] * 31
    short = trend_chart(
        DAYS_31, values, title="t", value_label="v", target_per_day=1, target_label="Chỉ tiêu"
    )
    assert png_size(short) == (WIDTH_PX, TREND_HEIGHT_PX)
    many = {f"{name} {i}": values for i, name in enumerate(VIETNAMESE * 2) if i < MAX_SERIES}
    tall = trend_chart(DAYS_31, values, title="t", value_label="v", series=many)
    width, height = png_size(tall)
    assert width == WIDTH_PX
    assert height > TREND_HEIGHT_PX
    assert decode(tall).shape[0] == height


def test_minimal_bar_chart_has_the_requested_size() -> None:
    png = minimal_bar_chart([1.0, 3.0, 2.0], ["a", "b", "c"], width_px=1080, height_px=1337)
    assert decode(png).shape[:2] == (1337, 1080)


@settings(max_examples=60)
@given(st.integers(min_value=1, max_value=MAX_ROWS - 1))
def test_row_charts_grow_with_rows_and_stay_capped(n: int) -> None:
    width, height = rows_chart_size_px(n)
    assert width == WIDTH_PX
    assert height <= rows_chart_size_px(n + 1)[1] <= MAX_HEIGHT_PX


def test_png_size_rejects_other_data() -> None:
    with pytest.raises(ValueError):
        png_size(b"GIF89a" + bytes(30))


# --- text is literal and always drawable ------------------------------------------------


def test_bad_math_would_break_mathtext() -> None:
    # Guards the tests below: if mathtext accepted BAD_MATH they would prove nothing.
    with pytest.raises(ValueError):
        MathTextParser("path").parse(BAD_MATH)


def test_hostile_text_renders_literally_without_warnings(out_dir: Path) -> None:
    names = VIETNAMESE + HOSTILE
    rows = [LeaderRow(name, float(len(names) - i), target=5.0) for i, name in enumerate(names)]
    with warnings.catch_warnings():
        # A glyph missing from the font (emoji) would warn; mathtext would raise.
        warnings.simplefilter("error")
        pngs = {
            "leaderboard": render_leaderboard(
                rows,
                title=BAD_MATH + " 🏆",
                value_label=BAD_MATH,
                target_label=BAD_MATH,
                fmt=lambda v: f"${v:.0f}",
            ),
            "progress": progress_chart(
                [ProgressItem(name, 0.5, 0.4) for name in names],
                title=BAD_MATH,
                pace_label=BAD_MATH,
                fmt_pct=lambda v: f"$\\{v}$",
            ),
            "trend": trend_chart(
                DAYS_31,
                [float(i % 5) for i in range(31)],
                title=BAD_MATH,
                value_label="$x_1$",
                target_per_day=2,
                target_label=BAD_MATH,
                series={name: [1.0] * 31 for name in HOSTILE[:4]},
                values_label="👍",
                fmt=lambda v: f"${v:g}",
                date_fmt=lambda d: f"$\\{d.day}",
            ),
        }
    for name, png in pngs.items():
        (out_dir / f"test-hostile-{name}.png").write_bytes(png)
        decode(png)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.text(max_size=60),
            st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
            st.one_of(st.none(), st.floats(min_value=0, max_value=1e12)),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_names_and_values_render(data: list[tuple[str, float, float | None, bool]]) -> None:
    rows = [LeaderRow(name, value, target, highlight) for name, value, target, highlight in data]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_leaderboard(rows, fmt=lambda v: f"{v:,.0f}", target_label="Chỉ tiêu")
    assert png_size(png) == rows_chart_size_px(len(rows))


@given(st.text(max_size=80))
def test_clean_gives_one_drawable_line(text: str) -> None:
    cleaned = charts._clean(text)
    assert cleaned
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert all(ord(char) in charts._drawable() for char in cleaned)
    assert charts._clean(cleaned) == cleaned


def test_clean_keeps_vietnamese_and_composes_accents() -> None:
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Hu\u031bo\u031b\u0300ng"
    assert charts._clean(decomposed) == "Nguyễn Thị Hường"
    assert charts._clean("  Trần\tĐức\nPhúc 🔥 ") == "Trần Đức Phúc"
    assert charts._clean("🔥🔥") == "?"


@given(
    st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậềểễếệờởỡớợừửữứự ", max_size=60),
    st.floats(min_value=40, max_value=600),
    st.booleans(),
)
def test_fit_cuts_to_width_with_an_ellipsis(text: str, max_px: float, bold: bool) -> None:
    fitted = charts._fit(text, 24, bold, max_px)
    if fitted == text:
        assert charts._text_width(text, 24, bold) <= max_px
    else:
        assert fitted.endswith("…")
        assert text.startswith(fitted[:-1])
        assert len(fitted) == 1 or charts._text_width(fitted, 24, bold) <= max_px


# --- edge cases -------------------------------------------------------------------------


def test_empty_inputs_raise_a_documented_error() -> None:
    with pytest.raises(EmptyChartError):
        render_leaderboard([])
    with pytest.raises(EmptyChartError):
        progress_chart([], title="t", pace_label="p", fmt_pct=pct)
    with pytest.raises(EmptyChartError):
        trend_chart([], [], title="t", value_label="v")
    assert issubclass(EmptyChartError, ValueError)


def test_too_many_rows_and_bad_numbers_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        render_leaderboard(leader_rows(MAX_ROWS + 1))
    with pytest.raises(ValueError, match="finite"):
        render_leaderboard([LeaderRow("a", math.nan)])
    with pytest.raises(ValueError, match="finite"):
        render_leaderboard([LeaderRow("a", 1.0, target=math.inf)])
    with pytest.raises(ValueError, match="finite"):
        progress_chart([ProgressItem("a", math.nan)], title="t", pace_label="p", fmt_pct=pct)
    with pytest.raises(ValueError, match="one number per day"):
        trend_chart(DAYS_31, [1.0] * 30, title="t", value_label="v")
    with pytest.raises(ValueError, match="increasing"):
        trend_chart(DAYS_31[::-1], [1.0] * 31, title="t", value_label="v")
    with pytest.raises(ValueError, match="series"):
        trend_chart(
            DAYS_31,
            [1.0] * 31,
            title="t",
            value_label="v",
            series={str(i): [1.0] * 31 for i in range(MAX_SERIES + 1)},
        )
    with pytest.raises(ValueError, match="one number per day"):
        trend_chart(DAYS_31, [1.0] * 31, title="t", value_label="v", series={"a": [1.0]})


def test_zero_and_missing_targets_and_all_zero_values_render() -> None:
    rows = [
        LeaderRow("Nguyễn Thị Hường", 0.0, target=0.0),
        LeaderRow("Trần Đức Phúc", 0.0, target=None),
        LeaderRow("Lê Văn Nam", 0.0, target=0.0, highlight=True),
    ]
    png = render_leaderboard(rows, target_label="Chỉ tiêu")
    # Nobody earns a medal with nothing logged.
    assert pixels(png, charts._GOLD) == 0
    assert pixels(png, charts._BAND) > 0
    for percent in (False, True):
        decode(render_leaderboard(leader_rows(3), percent=percent, target_label=None))
    zero_progress = progress_chart(
        [ProgressItem("a", 0.0, 0.0), ProgressItem("b", None, None)],
        title="t",
        pace_label="p",
        fmt_pct=pct,
    )
    decode(zero_progress)
    flat = trend_chart(DAYS_31, [0.0] * 31, title="t", value_label="v", target_per_day=0.0)
    decode(flat)
    single = trend_chart(DAYS_31[:1], [5.0], title="t", value_label="v", target_per_day=None)
    decode(single)


def test_negative_values_render() -> None:
    rows = [LeaderRow("a", 5.0), LeaderRow("b", -3.0, target=2.0)]
    decode(render_leaderboard(rows))
    decode(trend_chart(DAYS_31[:3], [2.0, -1.0, 0.5], title="t", value_label="v", fmt=str))


# --- colours and marks carry meaning ----------------------------------------------------


def test_top_three_get_medal_colours_best_at_the_top() -> None:
    png = render_leaderboard(leader_rows(8))
    image = decode(png)

    def bar_rows(colour: str) -> np.ndarray:
        # A bar fills many pixels of a pixel row; anti-aliased text only a few.
        return np.nonzero(colour_mask(image, colour).sum(axis=1) > 50)[0]

    gold_rows = bar_rows(charts._GOLD)
    silver_rows = bar_rows(charts._SILVER)
    bronze_rows = bar_rows(charts._BRONZE)
    neutral_rows = bar_rows(charts._NEUTRAL)
    assert len(gold_rows) and len(silver_rows) and len(bronze_rows) and len(neutral_rows)
    assert gold_rows.max() < silver_rows.min()
    assert silver_rows.max() < bronze_rows.min()
    assert bronze_rows.max() < neutral_rows.min()


def test_shared_rank_shares_the_medal() -> None:
    alone = [LeaderRow("a", 10.0), LeaderRow("b", 10.0), LeaderRow("c", 5.0)]
    tied = [LeaderRow("a", 10.0, rank=1), LeaderRow("b", 10.0, rank=1), LeaderRow("c", 5.0)]
    gold_alone = pixels(render_leaderboard(alone), charts._GOLD)
    gold_tied = pixels(render_leaderboard(tied), charts._GOLD)
    assert gold_alone > 0
    assert gold_tied == pytest.approx(2 * gold_alone, rel=0.05)


def test_highlight_marks_the_reader() -> None:
    rows = leader_rows(6)
    plain = render_leaderboard(rows)
    marked = [*rows[:4], LeaderRow(rows[4].name, rows[4].value, highlight=True), rows[5]]
    highlighted = render_leaderboard(marked)
    assert pixels(plain, charts._BAND) == 0
    assert pixels(highlighted, charts._BAND) > 0
    assert pixels(highlighted, charts._ACCENT) > pixels(plain, charts._ACCENT)


def test_targets_and_the_100_percent_line_are_drawn() -> None:
    rows = leader_rows(5)
    with_targets = [LeaderRow(r.name, r.value, target=25.0) for r in rows]
    plain = pixels(render_leaderboard(rows), charts._INK)
    ticked = pixels(render_leaderboard(with_targets, target_label="Chỉ tiêu"), charts._INK)
    assert ticked > plain
    ratios = [LeaderRow(r.name, r.value / 40) for r in rows]
    lined = pixels(render_leaderboard(ratios, fmt=pct, percent=True), charts._INK)
    unlined = pixels(render_leaderboard(ratios, fmt=pct), charts._INK)
    assert lined > unlined


def test_progress_colours_follow_status() -> None:
    def render(item: ProgressItem) -> bytes:
        return progress_chart([item], title="t", pace_label="p", fmt_pct=pct)

    behind = render(ProgressItem("a", 0.3, 0.6))
    on_pace = render(ProgressItem("a", 0.7, 0.6))
    done = render(ProgressItem("a", 1.2, 0.6))
    below = render(ProgressItem("a", 0.7, 0.6, below_minimum=True))
    cases = {charts._BEHIND: behind, charts._ON_PACE: on_pace, charts._DONE: done}
    cases[charts._BELOW_MINIMUM] = below
    for colour, png in cases.items():
        assert pixels(png, colour) > 0
        for other_colour in cases:
            if other_colour != colour:
                assert pixels(png, other_colour) == 0
    no_data = render(ProgressItem("a", None, 0.5))
    assert all(pixels(no_data, colour) == 0 for colour in cases)
    assert pixels(no_data, charts._TRACK) > 0


def test_progress_bar_length_follows_attainment() -> None:
    def bar_width(attainment: float) -> int:
        png = progress_chart(
            [ProgressItem("a", attainment, None)], title="t", pace_label="p", fmt_pct=pct
        )
        columns = np.nonzero(colour_mask(decode(png), charts._ON_PACE).any(axis=0))[0]
        return int(columns.max() - columns.min() + 1)

    assert bar_width(0.5) == pytest.approx(bar_width(0.25) * 2, abs=2)


def test_trend_draws_target_series_and_line_kind() -> None:
    values = [float(i % 7) for i in range(31)]
    bars = trend_chart(DAYS_31, values, title="t", value_label="v")
    targeted = trend_chart(DAYS_31, values, title="t", value_label="v", target_per_day=3)
    assert pixels(bars, charts._TARGET_LINE) == 0
    assert pixels(targeted, charts._TARGET_LINE) > 0
    line = trend_chart(DAYS_31, values, title="t", value_label="v", kind="line")
    assert 0 < pixels(line, charts._ACCENT) < pixels(bars, charts._ACCENT) / 2
    compared = trend_chart(
        DAYS_31,
        values,
        title="t",
        value_label="v",
        series={"Nguyễn Thị Hường": values[::-1], "Trần Đức Phúc": [2.0] * 31},
        values_label="Đội",
    )
    assert pixels(compared, charts._SERIES_COLOURS[0]) > 0
    assert pixels(compared, charts._SERIES_COLOURS[1]) > 0
    assert pixels(compared, charts._BARS_WITH_SERIES) > 0


def test_trend_uses_the_given_formatters() -> None:
    seen_values: list[float] = []
    seen_days: list[date] = []

    def fmt(value: float) -> str:
        seen_values.append(value)
        return f"{value:g}"

    def date_fmt(day: date) -> str:
        seen_days.append(day)
        return day.isoformat()

    trend_chart(
        DAYS_31,
        [float(i) for i in range(31)],
        title="t",
        value_label="v",
        fmt=fmt,
        date_fmt=date_fmt,
    )
    assert seen_days == DAYS_31
    assert min(seen_values) == 0 and max(seen_values) >= 30


@pytest.mark.parametrize(
    "values", [[0.0] * 31, [0.0] * 30 + [1.0], [float(i % 3) for i in range(31)]]
)
def test_count_axes_have_whole_ticks(values: list[float]) -> None:
    seen: list[float] = []

    def fmt(value: float) -> str:
        seen.append(value)
        return f"{value:g}"

    trend_chart(DAYS_31, values, title="t", value_label="v", fmt=fmt)
    assert len(seen) >= 3
    assert all(float(value).is_integer() for value in seen)


# --- purity -----------------------------------------------------------------------------


def test_rendering_is_deterministic_across_threads() -> None:
    jobs: list[Callable[[], bytes]] = [
        lambda: render_leaderboard(leader_rows(20)),
        lambda: trend_chart(DAYS_31, [float(i) for i in range(31)], title="t", value_label="v"),
        lambda: progress_chart(
            [ProgressItem("a", 0.5, 0.4)], title="t", pace_label="p", fmt_pct=pct
        ),
    ]
    expected = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: job(), jobs * 4))
    assert results == expected * 4


def test_importing_charts_does_not_import_matplotlib() -> None:
    code = "import sys, kpi.charts; sys.exit('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
    assert result.returncode == 0


# --- legends: every label whole, inside the picture, for every colour (both languages) -------


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Keep every figure the bot renders (charts render in worker threads)."""
    drawn: list[Any] = []
    real = charts.canvas._png

    def keep(canvas: Any) -> bytes:
        drawn.append(canvas.figure)
        return real(canvas)

    # Each chart family module holds its own reference to the PNG writer.
    for family in (charts.leaderboard, charts.progress, charts.trend):
        monkeypatch.setattr(family, "_png", keep)
    return drawn


def text_problems(fig: Any) -> list[str]:
    """List texts that are cut, leave the picture or run into each other."""
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in fig.texts]
    problems = [f"cut: {s!r}" for s, _ in boxes if s.endswith("…")]
    problems += [
        f"outside: {s!r}"
        for s, b in boxes
        if b.x0 < 0 or b.y0 < 0 or b.x1 > width or b.y1 > height
    ]
    problems += [
        f"overlap: {a!r} {b!r}" for (a, x), (b, y) in combinations(boxes, 2) if x.overlaps(y)
    ]
    return problems


def split_at_rows(png: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Split a progress chart into the part above its first bar track (the legend) and the rest."""
    image = decode(png)
    # A track is a long run of its colour (anti-aliased text has a few such pixels too).
    first = int(np.nonzero(colour_mask(image, charts._TRACK).sum(axis=1) > 100)[0].min())
    return image[: first - 2], image[first:]


async def test_chart_legends_are_whole_and_name_every_colour(
    talk: Any, team: Any, figures: list[Any], out_dir: Path
) -> None:
    from handlers.i18n import t_plain

    for user, dm, lang in ((team.hoa, team.hoa_dm, "en"), (team.minh, team.minh_dm, "vi")):
        await talk.say(user, dm, "/call 25")
        await talk.say(user, dm, "/meeting 1")
        figures.clear()
        answers = [
            *await talk.say(user, dm, "/me"),
            *await talk.say(user, dm, "/leaderboard"),
            *await talk.say(user, dm, "/chart calls week"),
        ]
        photos = [a.photo for a in answers if a.kind == "photo"]
        assert len(photos) == len(figures) == 3
        for i, (png, fig) in enumerate(zip(photos, figures, strict=True)):
            (out_dir / f"legend-{lang}-{i}.png").write_bytes(png)
            assert text_problems(fig) == [], (lang, i)
        texts = [{text.get_text() for text in fig.texts} for fig in figures]
        progress, board, trend = texts
        # Where pace says one should be, and what each bar colour means.
        assert t_plain(lang, "chart.pace_marker") in progress
        legend, bars = split_at_rows(photos[0])
        drawn = [
            s for s, colour in charts._STATUS_COLOURS.items() if colour_mask(bars, colour).any()
        ]
        assert len(drawn) >= 2
        for status in drawn:
            assert t_plain(lang, f"chart.status_{status}") in progress
            assert colour_mask(legend, charts._STATUS_COLOURS[status]).any()
        assert t_plain(lang, "chart.you") in board
        # The bars of a trend are named, and so is the target line.
        name = "Calls" if lang == "en" else "Cuộc gọi"
        assert {t_plain(lang, "chart.target_per_day"), name} <= trend


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_legend_that_does_not_fit_beside_the_title_wraps_onto_lines_of_its_own(
    lang: str, figures: list[Any], out_dir: Path
) -> None:
    from handlers.i18n import t_plain

    items = [
        ProgressItem("a", 1.2, 0.6),
        ProgressItem("b", 0.7, 0.6),
        ProgressItem("c", 0.3, 0.6),
        ProgressItem("d", 0.2, 0.6, below_minimum=True),
    ]
    statuses = {s: t_plain(lang, f"chart.status_{s}") for s in charts._STATUS_COLOURS}
    long_label = " ".join([t_plain(lang, "chart.pace_marker")] * 6)
    png = progress_chart(
        items, title="t", pace_label=long_label, fmt_pct=pct, status_labels=statuses
    )
    (out_dir / f"test-progress-legend-{lang}.png").write_bytes(png)
    [fig] = figures
    assert text_problems(fig) == []
    texts = [text.get_text() for text in fig.texts]
    # Every status is named once, and the long label is all there, over several lines.
    assert all(texts.count(label) == 1 for label in statuses.values())
    others = {*statuses.values(), "t", *"abcd", *(pct(i.attainment or 0) for i in items)}
    assert " ".join(x for x in texts if x not in others) == long_label
    _, height = png_size(png)
    assert height > rows_chart_size_px(len(items))[1]
    assert height <= MAX_HEIGHT_PX
