"""Report commands: /me (/toi)."""

from __future__ import annotations

from functools import partial

from telegram import Update

from handlers.context import KpiContext, chat_of, lang_of, person_of, unit_of_work
from handlers.i18n import Html, fmt_pct, progress_bar, t
from handlers.onboarding import refuse
from handlers.render import fmt_value, join_lines
from kpi import periods, reports


async def me(update: Update, context: KpiContext) -> None:
    """Show the caller's own KPIs against targets, with pace, for a period (today by default)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    period: periods.Period | None = None
    if context.args:
        period = periods.parse_period(" ".join(context.args))
    bd = context.bot_data
    res = await unit_of_work(
        update,
        context,
        partial(
            reports.me_report,
            person=person_of(user),
            chat=chat_of(tchat),
            admins=bd.admins,
            now=bd.now(),
            period=period,
        ),
    )
    if res is None:
        return
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    lang = lang_of(res.lang_pref, user)
    await msg.reply_text(render_me(lang, res, period))


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
        vi, en = names.get(ln.key, (ln.key, ln.key))
        name = en if lang == "en" else vi
        if period is None:
            name = f"{name} {t(lang, f'period.{m.span.period}')}"
        actual = fmt_value(ln.actual, ln.unit, lang)
        line: str
        if ln.target:
            line = t(
                lang,
                "me.line",
                name=name,
                actual=actual,
                target=fmt_value(ln.target, ln.unit, lang),
                pct=fmt_pct(ln.attainment.raw, lang),
                bar=progress_bar(ln.attainment.raw),
            )
            if ln.pace is not None and 0 < m.share < 1:
                line += " · " + t(lang, "me.pace", pct=fmt_pct(ln.pace, lang))
        else:
            line = t(lang, "me.line_no_target", name=name, actual=actual)
        lines.append(line)
    if res.score is not None:
        lines.append(t(lang, "me.score", score=f"{res.score:.0f}"))
    return join_lines(*lines)
