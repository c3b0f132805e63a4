"""Team boards in words and bars: the ranking, team totals, one's own place, the chart.

What a reader may see is decided by `kpi.access.visible`; these functions only render it.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.i18n import Html, esc, fmt_day, fmt_pct, t, t_plain
from handlers.render import (
    MAX_TEXT,
    fmt_figure,
    join_lines,
    metric_label,
    names_list,
    shown_attainment,
)
from kpi import periods
from kpi.access import BoardView, OwnRank
from kpi.closing import LateChange
from kpi.standings import Board, MemberRow

MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
NAME_CHARS = 24


def _movement(m: int | None) -> str:
    if not m:
        return ""
    return f" ▲{m}" if m > 0 else f" ▼{-m}"


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def kpi_name(board: Board, key: str, lang: str) -> str:
    """Return a KPI's name in a language."""
    return metric_label(board.names, key, lang)


def span_label(lang: str, span: periods.Span) -> str:
    """Describe a span: `tuần này (16/11–22/11)`."""
    if span.period == "day":
        return f"{t(lang, 'period.day')} ({fmt_day(span.start, lang)})"
    start, end = fmt_day(span.start, lang), fmt_day(span.end, lang)
    return f"{t(lang, f'period.{span.period}')} ({start}–{end})"


def board_value(board: Board, row: MemberRow, lang: str) -> str:
    """Format a row's ranking value: the score, or the KPI's value with its attainment."""
    if board.kpi is None:
        return "—" if row.value is None else f"{row.value:.0f}"
    text = fmt_figure(row.value, board.kpi_unit, lang)
    if row.attainment is not None and board.kpi_unit != "ratio":
        text += f" ({fmt_pct(row.attainment, lang)})"
    return text


def ranking_lines(
    board: Board, lang: str, *, limit: int | None = None, me: int | None = None
) -> list[str]:
    """Render the ranking: medals for the top three, movement arrows, inactive members last."""
    lines: list[str] = []
    for row in board.rows:
        if not row.active:
            continue
        if limit is not None and (row.rank is None or row.rank > limit):
            continue
        # An active member whose value is undefined (a win rate without deals) has no place.
        mark = "–" if row.rank is None else MEDALS.get(row.rank, f"{row.rank}.")
        name = esc(_short(row.name))
        if me is not None and row.member_id == me:
            name = Html(f"<b>{name}</b>")
        lines.append(
            f"{mark} {name} — {esc(board_value(board, row, lang))}{_movement(row.movement)}"
        )
    inactive = [r.name for r in board.rows if not r.active]
    if inactive and limit is None:
        lines.append(t(lang, "board.no_activity", names=names_list([_short(n) for n in inactive])))
    return lines


def visible_ranking(board: Board, view: BoardView, lang: str) -> list[str]:
    """Render as much of the ranking as the view shows (none for team totals only)."""
    if not view.ranking:
        return []
    return ranking_lines(board, lang, limit=view.limit, me=view.me)


def team_lines(board: Board, lang: str) -> list[str]:
    """Render the team's totals against the team targets."""
    lines: list[str] = []
    for k in board.team:
        if k.key not in ("revenue", "deals", "calls", "meetings") and k.target is None:
            continue
        name = kpi_name(board, k.key, lang)
        if k.target:
            lines.append(
                t(
                    lang,
                    "board.team_line",
                    name=name,
                    actual=fmt_figure(k.actual, k.unit, lang),
                    target=fmt_figure(k.target, k.unit, lang),
                    pct=fmt_pct(shown_attainment(k.actual, k.target, k.unit, k.direction), lang),
                )
            )
        else:
            lines.append(
                t(
                    lang,
                    "board.team_line_plain",
                    name=name,
                    actual=fmt_figure(k.actual, k.unit, lang),
                )
            )
    met, counted = board.reps_on_target
    if counted:
        lines.append(t(lang, "board.on_target", met=met, counted=counted))
    return lines


def render_board(board: Board, view: BoardView, lang: str) -> Html:
    """Render a board for a report command: what the view shows, plus one's own place."""
    title = (
        t(lang, "board.title", span=span_label(lang, board.span))
        if board.kpi is None
        else t(
            lang,
            "board.title_kpi",
            kpi=kpi_name(board, board.kpi, lang),
            span=span_label(lang, board.span),
        )
    )
    own = own_rank_line(board, lang, view.own) if view.own is not None else ""

    def text_with(ranking: list[str], *extra: str) -> Html:
        return join_lines(title, *ranking, "", *team_lines(board, lang), own, *extra)

    text = text_with(visible_ranking(board, view, lang))
    if len(text) > MAX_TEXT:
        # A very large team: the top of the ranking and the team lines (the chart has all).
        short = ranking_lines(board, lang, limit=min(view.limit or 10, 10), me=view.me)
        text = text_with(short, t(lang, "board.more_in_chart"))
    return text


def own_rank_line(board: Board, lang: str, own: OwnRank) -> str:
    """Tell one member their rank and what it takes to reach the place above."""
    if own.rank is None:
        return t(lang, "board.you_unranked")
    if own.gap is None:
        return t(lang, "board.you_first", rank=own.rank, total=own.total)
    if board.kpi is None:
        return t(lang, "board.you", rank=own.rank, total=own.total, gap=f"{max(own.gap, 1):.0f}")
    gap_text = fmt_figure(own.gap, board.kpi_unit, lang)
    return t(lang, "board.you_kpi", rank=own.rank, total=own.total, gap=gap_text)


def board_chart(
    board: Board, view: BoardView, lang: str, span_text: str | None = None
) -> bytes | None:
    """Draw what the view shows of the board as a bar chart; None when it shows no ranking.

    `span_text` names the period in the title (a post about last month says so).
    """
    from kpi import charts

    span_text = span_text or span_label(lang, board.span)
    rows = view.rows(board)[: charts.MAX_ROWS]
    if not rows:
        return None
    me = view.me
    if board.kpi is None:
        data = [
            charts.LeaderRow(r.name, (r.value or 0) / 100, None, r.member_id == me, r.rank)
            for r in rows
        ]
        return charts.leaderboard_chart(
            data,
            title=t_plain(lang, "chart.board_title", span=span_text),
            value_label=t_plain(lang, "chart.score_label"),
            fmt=lambda v: f"{v * 100:.0f}",
            target_label=t_plain(lang, "chart.target"),
            percent=True,
            highlight_label=t_plain(lang, "chart.you"),
        )
    unit = board.kpi_unit
    data = [
        charts.LeaderRow(r.name, r.value or 0, r.target, r.member_id == me, r.rank) for r in rows
    ]
    return charts.leaderboard_chart(
        data,
        title=t_plain(
            lang,
            "chart.kpi_title",
            kpi=kpi_name(board, board.kpi, lang),
            span=span_text,
        ),
        value_label=kpi_name(board, board.kpi, lang),
        fmt=lambda v: fmt_figure(v, unit, lang),
        target_label=t_plain(lang, "chart.target"),
        percent=unit == "ratio",
        highlight_label=t_plain(lang, "chart.you"),
    )


def late_lines(lang: str, changes: Sequence[LateChange]) -> list[str]:
    """List changes into closed months: who, what, which day, why."""
    return [
        t(
            lang,
            "digest.late_item",
            actor=c.actor,
            what=t(lang, f"closed.what_{c.what}", id=c.entity_id or "", member=c.member or ""),
            day=fmt_day(c.day, lang),
            reason=c.reason,
        )
        for c in changes
    ]
