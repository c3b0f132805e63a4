"""Report views: a member's own KPIs (/me) in words and bars, a KPI's daily trend (/chart),
and why there is no report."""

from __future__ import annotations

from handlers.i18n import Html, esc, fmt_day, fmt_pct, progress_bar, t, t_plain
from handlers.render import (
    clip,
    command_example,
    fmt_figure,
    join_lines,
    metric_label,
    shown_attainment,
)
from handlers.views.boards import span_label
from kpi.names import name_in
from kpi.usecases.outcomes import UnknownKpi, UnknownMember
from kpi.usecases.reports import MeReport, NotYours, Trend


def progress_png(res: MeReport, lang: str, period: str | None) -> bytes:
    """Draw the member's progress against each target, with where pace says they should be."""
    from kpi import charts

    names = res.names
    items = []
    for m in res.lines:
        ln = m.line
        if not ln.target:
            continue
        label = metric_label(names, ln.key, lang)
        if period is None:
            label = f"{label} ({t(lang, f'period.{m.span.period}')})"
        expected = m.share if ln.unit != "ratio" and 0 < m.share < 1 else None
        # The percentage the text beside the chart shows, from the same rounded figures.
        shown = shown_attainment(ln.actual, ln.target, ln.unit, ln.direction)
        items.append(charts.ProgressItem(label, shown, expected, ln.behind_minimum))
    heading = t(lang, f"period.{period}") if period else t(lang, "me.overview")
    return charts.progress_chart(
        items,
        title=t_plain(lang, "chart.progress_title", name=res.member_name, period=heading),
        pace_label=t_plain(lang, "chart.pace_marker"),
        fmt_pct=lambda v: fmt_pct(v, lang),
        status_labels={
            s: t_plain(lang, f"chart.status_{s}")
            for s in ("done", "on_pace", "behind", "below_minimum")
        },
    )


def render_me(lang: str, res: MeReport, period: str | None) -> Html:
    """Render a member's KPI report."""
    heading = t(lang, f"period.{period}") if period else t(lang, "me.overview")
    lines: list[str] = [t(lang, "me.title", name=res.member_name, period=heading)]
    if period in (None, "day") and not res.working_day:
        lines.append(t(lang, "me.day_off"))
    names = res.names
    if not res.lines:
        lines.append(t(lang, "me.no_kpis"))
    for m in res.lines:
        ln = m.line
        name = metric_label(names, ln.key, lang)
        if period is None:
            name = f"{name} {t(lang, f'period.{m.span.period}')}"
        actual = fmt_figure(ln.actual, ln.unit, lang)
        line: str
        if ln.target:
            shown = shown_attainment(ln.actual, ln.target, ln.unit, ln.direction)
            line = t(
                lang,
                "me.line",
                name=name,
                actual=actual,
                target=fmt_figure(ln.target, ln.unit, lang),
                pct=fmt_pct(shown, lang),
                bar=progress_bar(shown),
            )
            if ln.pace is not None and 0 < m.share < 1:
                line += " · " + t(lang, "me.pace", pct=fmt_pct(ln.pace, lang))
            if ln.behind_minimum and m.share > 0:
                line += " " + t(lang, "me.below_minimum")
        else:
            line = t(lang, "me.line_no_target", name=name, actual=actual)
        if ln.growth is not None and ln.previous:
            line += " · " + growth_text(lang, ln.growth, m.span.period, same_point=m.same_point)
        lines.append(line)
    if res.score is not None:
        lines.append(t(lang, "me.score", score=f"{res.score:.0f}"))
    return join_lines(*lines)


def growth_text(lang: str, growth: float, period: str, *, same_point: bool) -> Html:
    """Render growth and what it is against: `▲21% vs the same point last month`."""
    # ▲ is more, whatever the KPI's direction.
    arrow = "▲" if growth >= 0 else "▼"
    versus = t(lang, f"versus.{period}_same" if same_point else f"versus.{period}")
    return Html(f"{arrow}{esc(fmt_pct(abs(growth), lang))} {versus}")


def trend_png(res: Trend, lang: str) -> bytes | None:
    """Render a trend (in a worker thread); None when there is no day to draw."""
    from kpi import charts

    if not res.days:
        return None
    name = name_in(res.kpi_names, lang)
    who = res.who or t_plain(lang, "chart.team")
    unit = res.unit
    return charts.trend_chart(
        list(res.days),
        list(res.values),
        title=t_plain(lang, "chart.trend_title", kpi=name, who=who),
        value_label=span_label(lang, res.span),
        target_per_day=res.target_per_day,
        target_label=t_plain(lang, "chart.target_per_day"),
        values_label=name,
        fmt=lambda v: fmt_figure(v, unit, lang),
        date_fmt=lambda d: fmt_day(d, lang),
    )


def bad_period_view(lang: str, word: str) -> Html:
    """Explain that /me did not understand the period asked for, with an example."""
    return join_lines(t(lang, "me.bad_period", word=clip(word)), command_example(lang, "me"))


def unknown_board_kpi_view(lang: str, res: UnknownKpi) -> Html:
    """Explain that no KPI of the team goes by the words a board was asked for."""
    return join_lines(
        t(lang, "board.unknown_kpi", word=clip(res.word or "")),
        command_example(lang, "leaderboard"),
    )


def no_trend_view(lang: str, res: UnknownKpi | UnknownMember | NotYours) -> Html:
    """Explain why there is no chart: no such KPI per day, no such member, not yours to see."""
    if isinstance(res, UnknownKpi):
        return join_lines(
            t(lang, "chart.unknown_kpi", word=clip(res.word or "")),
            command_example(lang, "chart"),
        )
    if isinstance(res, UnknownMember):
        return t(lang, "chart.unknown_member", word=clip(res.word or ""))
    return t(lang, "chart.forbidden")
