"""Report commands: /me, /leaderboard, /today, /week, /month, /chart."""

from __future__ import annotations

from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.error import Forbidden

from handlers.context import (
    KpiContext,
    deferrable_sends,
    for_caller,
    lang_of,
    refused,
    replied_user_id,
    send_privately,
)
from handlers.i18n import esc, t
from handlers.render import MAX_TEXT, fit, join_lines
from handlers.views.boards import board_chart, late_lines, render_board
from handlers.views.reports import (
    bad_period_view,
    no_trend_view,
    progress_png,
    render_me,
    trend_png,
    unknown_board_kpi_view,
)
from kpi import periods
from kpi.access import Refusal, Viewer, visible
from kpi.posts import chats as chat_state
from kpi.posts.chats import GroupReport
from kpi.reading import split_command
from kpi.usecases import reports
from kpi.usecases.outcomes import UnknownKpi
from kpi.usecases.reports import Trend


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
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if word and period is None:
        await msg.reply_text(bad_period_view(lang, word))
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
    async def send(chat_id: int) -> None:
        await context.bot.send_message(chat_id, text)
        if png is not None:
            await context.bot.send_photo(chat_id, png)

    # One person's detail goes to their private chat, not to the whole group.
    await send_privately(update, context, lang, "me", send)


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
    # `/month 11/2026`: that month (a closed one as its report was sent).
    month = split_command(msg.text)[1] if period == "month" else None
    await _send_board(update, context, period, None, chart=False, month=month or None)


async def _send_board(
    update: Update,
    context: KpiContext,
    period: periods.Period,
    kpi_word: str | None,
    *,
    chart: bool,
    month: str | None = None,
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
        month=month,
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if isinstance(res, UnknownKpi):
        await msg.reply_text(unknown_board_kpi_view(lang, res))
        return
    board = res.board
    # Answered in the group, the whole chat reads it; answered again privately, one person.
    group = res.in_group is not None and res.in_group.earlier is None
    view = visible(board, Viewer(in_group=group, leader=res.leader, member_id=res.me))
    text = render_board(board, view, lang)
    if res.closed:
        # The figures bonuses are paid on, and what leaders changed in the month since.
        lines: list[str] = [text, t(lang, "closed.as_sent")]
        if res.late:
            lines += [t(lang, "closed.changes_title"), *late_lines(lang, res.late)]
        text = fit(join_lines(*lines))
    png = None
    if chart and view.ranking:
        png = await bd.render(board_chart, board, view, lang)
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
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if not isinstance(res, Trend):
        await msg.reply_text(no_trend_view(lang, res))
        return
    png = await bd.render(trend_png, res, lang)
    if png is None:
        await _answer(update, context, lang, res.in_group, t(lang, "chart.no_data"), None)
        return
    await _answer(update, context, lang, res.in_group, None, png)
