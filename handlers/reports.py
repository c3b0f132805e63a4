"""Report commands: /me (/toi)."""

from __future__ import annotations

from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.error import Forbidden

from handlers.context import (
    KpiContext,
    deferrable_sends,
    for_caller,
    lang_of,
    replied_user_id,
)
from handlers.i18n import Html, esc, fmt_pct, progress_bar, t, t_plain
from handlers.onboarding import refuse
from handlers.render import (
    MAX_TEXT,
    clip,
    command_example,
    fmt_figure,
    join_lines,
    metric_label,
    names_list,
    shown_attainment,
)
from kpi import periods, reports
from kpi import state as chat_state
from kpi.names import name_in
from kpi.state import GroupReport


async def me(update: Update, context: KpiContext) -> None:
    """Show the caller's own KPIs against targets, with pace, for a period (today by default)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    period: periods.Period | None = None
    word = " ".join(context.args or [])
    if word:
        period = periods.parse_period(word)
    bd = context.bot_data
    res = await for_caller(update, context, reports.me_report, period=period)
    if res is None:
        return
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    lang = lang_of(res.lang_pref, user)
    if word and period is None:
        await msg.reply_text(
            join_lines(
                t(lang, "me.bad_period", word=clip(word)),
                command_example(lang, "me"),
            )
        )
        return
    text = render_me(lang, res, period)
    png = (
        await bd.render(progress_png, res, lang, period)
        if any(m.line.target for m in res.lines)
        else None
    )
    with deferrable_sends():
        await _send_me(update, context, lang, text, png)


async def _send_me(
    update: Update, context: KpiContext, lang: str, text: str, png: bytes | None
) -> None:
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    if tchat.type == "private":
        await msg.reply_text(text)
        if png is not None:
            await msg.reply_photo(png)
        return
    # One person's detail goes to their private chat, not to the whole group.
    try:
        await context.bot.send_message(user.id, text)
        if png is not None:
            await context.bot.send_photo(user.id, png)
    except Forbidden:
        url = f"https://t.me/{context.bot.username}"
        button = InlineKeyboardButton(t(lang, "join.open_private"), url=url)
        await msg.reply_text(
            t(lang, "me.open_private"), reply_markup=InlineKeyboardMarkup([[button]])
        )
        return
    await msg.reply_text(t(lang, "me.sent_private"))


def progress_png(res: reports.MeReport, lang: str, period: str | None) -> bytes:
    """Draw the member's progress against each target, with where pace says they should be."""
    from kpi import charts

    names = res.names or {}
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


def render_me(lang: str, res: reports.MeReport, period: str | None) -> Html:
    """Render a member's KPI report."""
    heading = t(lang, f"period.{period}") if period else t(lang, "me.overview")
    lines: list[str] = [t(lang, "me.title", name=res.member_name, period=heading)]
    if period in (None, "day") and not res.working_day:
        lines.append(t(lang, "me.day_off"))
    names = res.names or {}
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


# --- team boards ---------------------------------------------------------------------------

MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
NAME_CHARS = 24


def _movement(m: int | None) -> str:
    if not m:
        return ""
    return f" ▲{m}" if m > 0 else f" ▼{-m}"


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def kpi_name(board: reports.Board, key: str, lang: str) -> str:
    """Return a KPI's name in a language."""
    return metric_label(board.names, key, lang)


def span_label(lang: str, span: periods.Span) -> str:
    """Describe a span: `tuần này (16/11–22/11)`."""
    from handlers.i18n import fmt_day

    if span.period == "day":
        return f"{t(lang, 'period.day')} ({fmt_day(span.start, lang)})"
    start, end = fmt_day(span.start, lang), fmt_day(span.end, lang)
    return f"{t(lang, f'period.{span.period}')} ({start}–{end})"


def board_value(board: reports.Board, row: reports.MemberRow, lang: str) -> str:
    """Format a row's ranking value: the score, or the KPI's value with its attainment."""
    if board.kpi is None:
        return "—" if row.value is None else f"{row.value:.0f}"
    text = fmt_figure(row.value, board.kpi_unit, lang)
    if row.attainment is not None and board.kpi_unit != "ratio":
        text += f" ({fmt_pct(row.attainment, lang)})"
    return text


def ranking_lines(
    board: reports.Board, lang: str, *, limit: int | None = None, me: int | None = None
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


def team_lines(board: reports.Board, lang: str) -> list[str]:
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


def render_board(
    board: reports.Board, lang: str, *, group: bool, me: int | None, leader: bool
) -> Html:
    """Render a leaderboard for a group (what the team shows) or one person (plus own rank)."""
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
    sees = visibility(board, group=group, leader=leader)
    limit = board.top_n if sees == "top" else None
    highlight = None if group else me
    own = own_rank_line(board, lang, me) if not group and me is not None else ""

    def text_with(ranking: list[str], *extra: str) -> Html:
        return join_lines(title, *ranking, "", *team_lines(board, lang), own, *extra)

    ranking = [] if sees == "totals" else ranking_lines(board, lang, limit=limit, me=highlight)
    text = text_with(ranking)
    if len(text) > MAX_TEXT:
        # A very large team: the top of the ranking and the team lines (the chart has all).
        short = ranking_lines(board, lang, limit=min(limit or 10, 10), me=highlight)
        text = text_with(short, t(lang, "board.more_in_chart"))
    return text


def visibility(board: reports.Board, *, group: bool, leader: bool) -> str:
    """Return how much of the ranking a reader sees: "full", "top" or "totals"."""
    # Leaders see everything in private; the group setting also governs reps' private view.
    return "full" if (leader and not group) else board.group_sees


def own_rank_line(board: reports.Board, lang: str, me: int) -> str:
    """Tell one member their rank and what it takes to reach the place above."""
    from kpi import scoring

    row = next((r for r in board.rows if r.member_id == me), None)
    if row is None:
        return ""
    if row.rank is None:
        return t(lang, "board.you_unranked")
    ranked = [
        scoring.Ranked(r.member_id, r.value, r.rank, r.active, r.movement) for r in board.rows
    ]
    gap = scoring.gap_to_next(ranked, me)
    total = sum(1 for r in board.rows if r.rank is not None)
    if gap is None:
        return t(lang, "board.you_first", rank=row.rank, total=total)
    if board.kpi is None:
        return t(lang, "board.you", rank=row.rank, total=total, gap=f"{max(gap, 1):.0f}")
    gap_text = fmt_figure(gap, board.kpi_unit, lang)
    return t(lang, "board.you_kpi", rank=row.rank, total=total, gap=gap_text)


def board_chart(
    board: reports.Board,
    lang: str,
    me: int | None,
    sees: str | None = None,
    span_text: str | None = None,
) -> bytes | None:
    """Draw what a reader may see of the board (the group's view by default) as a bar chart.

    `span_text` names the period in the title (a post about last month says so).
    """
    from kpi import charts

    span_text = span_text or span_label(lang, board.span)
    sees = sees or board.group_sees
    if sees == "totals":
        return None
    limit = board.top_n if sees == "top" else None
    shown = [r for r in board.rows if r.rank is not None and (limit is None or r.rank <= limit)]
    rows = shown[: charts.MAX_ROWS]
    if not rows:
        return None
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


def _period_and_kpi(args: list[str], default: periods.Period) -> tuple[periods.Period, str | None]:
    period: periods.Period | None = None
    rest = []
    for a in args:
        p = periods.parse_period(a)
        if p is not None and period is None:
            period = p
        else:
            rest.append(a)
    return period or default, (" ".join(rest) or None)


async def leaderboard(update: Update, context: KpiContext) -> None:
    """Rank the team: `/leaderboard [period] [kpi]` (overall score by default), with a chart."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    period, kpi_word = _period_and_kpi(list(context.args or []), "week")
    await _send_board(update, context, period, kpi_word, chart=True)


async def summary(update: Update, context: KpiContext) -> None:
    """Team summary for today, this week or this month (`/today`, `/week`, `/month`)."""
    msg = update.effective_message
    assert msg is not None and msg.text is not None
    command = msg.text.split()[0].lstrip("/").split("@")[0].lower()
    period: periods.Period = {"today": "day", "homnay": "day", "week": "week", "tuan": "week"}.get(
        command, "month"
    )  # type: ignore[assignment]
    await _send_board(update, context, period, None, chart=False)


async def _send_board(
    update: Update,
    context: KpiContext,
    period: periods.Period,
    kpi_word: str | None,
    *,
    chart: bool,
) -> None:
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    bd = context.bot_data
    res = await for_caller(
        update,
        context,
        reports.board_for,
        period=period,
        kpi_word=kpi_word,
        asked_as="leaderboard" if chart else "summary",
    )
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    if res.outcome == "unknown_kpi":
        await msg.reply_text(
            join_lines(
                t(lang, "board.unknown_kpi", word=clip(res.unknown_kpi or "")),
                command_example(lang, "leaderboard"),
            )
        )
        return
    board = res.board
    assert board is not None
    leader = res.leader
    group = res.in_group is not None and res.in_group.earlier is None
    text = render_board(board, lang, group=group, me=res.me, leader=leader)
    sees = visibility(board, group=group, leader=leader)
    png = None
    if chart and sees != "totals":
        png = await bd.render(board_chart, board, lang, None if group else res.me, sees)
    await _answer(update, context, lang, res.in_group, text, png)


async def _answer(
    update: Update,
    context: KpiContext,
    lang: str,
    in_group: GroupReport | None,
    text: str | None,
    png: bytes | None,
) -> None:
    """Send a report answer: to the asker, in the group, or privately when the group has it.

    Report answers wait behind scheduled posts and confirmations for the chat's send budget.
    The group's answer is remembered under its key, so that the same report asked again in
    the next minutes goes to the asker privately (or, when the bot cannot write to them, a
    short pointer to the post replies to it) instead of spending the group's budget again.
    """
    msg, tchat = update.effective_message, update.effective_chat
    assert msg is not None and tchat is not None
    bd = context.bot_data
    with deferrable_sends():
        if in_group is not None and in_group.earlier is not None:
            await _answer_again(update, context, lang, in_group.earlier, text, png)
            return
        posted: Message | None = None
        try:
            if text is not None:
                posted = await msg.reply_text(text)
            if png is not None:
                photo = await msg.reply_photo(png)
                posted = posted or photo
        finally:
            if in_group is not None:
                # A post that failed is forgotten: the next ask posts it again.
                await bd.db.work(
                    partial(
                        chat_state.report_posted,
                        chat_id=tchat.id,
                        report=in_group.key,
                        message_id=posted.message_id if posted is not None else None,
                        now=bd.now(),
                    )
                )


async def _answer_again(
    update: Update,
    context: KpiContext,
    lang: str,
    earlier: chat_state.PostedReport,
    text: str | None,
    png: bytes | None,
) -> None:
    """Answer a report the group was given a moment ago: privately, or point to the post."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    note = t(lang, "report.again_private", group=esc(tchat.title or ""), time=earlier.local_time)
    try:
        if text is not None and len(note) + 1 + len(text) <= MAX_TEXT:
            await context.bot.send_message(user.id, join_lines(note, text))
        else:
            await context.bot.send_message(user.id, note)
            if text is not None:
                await context.bot.send_message(user.id, text)
        if png is not None:
            await context.bot.send_photo(user.id, png)
        return
    except Forbidden:
        pass  # they never opened a private chat with the bot, or blocked it
    url = f"https://t.me/{context.bot.username}"
    button = InlineKeyboardButton(t(lang, "join.open_private"), url=url)
    await msg.reply_text(
        t(lang, "report.again_pointer", time=earlier.local_time),
        reply_markup=InlineKeyboardMarkup([[button]]),
        # A reply to the earlier post, so a tap shows it; to the question when it is unknown.
        reply_parameters=(
            ReplyParameters(earlier.message_id, allow_sending_without_reply=True)
            if earlier.message_id is not None
            else None
        ),
    )


def _without_team_words(words: str | None) -> tuple[str | None, bool]:
    """Split `calls cả đội` into the KPI words and whether the whole team is asked for."""
    parts = (words or "").split()
    for n in (2, 1):
        if len(parts) >= n and reports.is_team_word(" ".join(parts[-n:])):
            return (" ".join(parts[:-n]) or None), True
    return words, False


async def chart(update: Update, context: KpiContext) -> None:
    """Draw a KPI per day: `/chart [kpi] [period] [@member]` (revenue this month by default)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    args = list(context.args or [])
    handle = next((a for a in args if a.startswith("@")), None)
    args = [a for a in args if not a.startswith("@")]
    period, kpi_word = _period_and_kpi(args, "month")
    kpi_word, whole_team = _without_team_words(kpi_word)
    reply_to = replied_user_id(update)
    bd = context.bot_data
    res = await for_caller(
        update,
        context,
        reports.trend,
        kpi_word=kpi_word,
        period=period,
        handle=handle,
        reply_to=reply_to,
        whole_team=whole_team,
    )
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    if res.outcome == "unknown_kpi":
        await msg.reply_text(
            join_lines(
                t(lang, "chart.unknown_kpi", word=clip(res.word or "")),
                command_example(lang, "chart"),
            )
        )
        return
    if res.outcome in ("unknown_member", "forbidden"):
        await msg.reply_text(t(lang, f"chart.{res.outcome}", word=clip(res.word or "")))
        return
    png = await bd.render(trend_png, res, lang)
    if png is None:
        await _answer(update, context, lang, res.in_group, t(lang, "chart.no_data"), None)
        return
    await _answer(update, context, lang, res.in_group, None, png)


def trend_png(res: reports.Trend, lang: str) -> bytes | None:
    """Render a trend (in a worker thread); None when there is no day to draw."""
    from handlers.i18n import fmt_day
    from kpi import charts

    if not res.days or res.span is None:
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
