"""Leader commands: /target and /kpi."""

from __future__ import annotations

from telegram import Update

from handlers.context import (
    KpiContext,
    for_caller,
    lang_of,
    refuse,
    replied_user_id,
)
from handlers.i18n import esc, fmt_pct, t
from handlers.render import (
    clip,
    command_example,
    fmt_value,
    join_lines,
    quoted_params,
    split_message,
)
from handlers.views.checkins import render_error
from kpi import admin
from kpi.names import name_in
from kpi.reading import split_command


async def target(update: Update, context: KpiContext) -> None:
    """Set a target: `/target <kpi> <value> [period] [@member]` (leaders)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    res = await for_caller(
        update,
        context,
        admin.target,
        args=split_command(msg.text)[1],
        reply_to=replied_user_id(update),
    )
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    example = command_example(lang, "target")
    if res.outcome == "unknown_kpi":
        await msg.reply_text(
            join_lines(t(lang, "admin.unknown_kpi", word=clip(res.word or "")), example)
        )
    elif res.outcome == "unknown_member":
        await msg.reply_text(
            join_lines(t(lang, "admin.unknown_member", word=clip(res.word or "")), example)
        )
    elif res.outcome == "bad_input":
        key = f"admin.{res.error_code}" if res.error_code else "err.unknown"
        if res.error_code and res.error_code.startswith(("target.", "kpi.")):
            await msg.reply_text(
                join_lines(t(lang, key, **quoted_params(key, res.error_params)), example)
            )
        else:
            await msg.reply_text(render_error(lang, res.error_code, res.error_params, None))
    else:
        text = t(
            lang,
            "admin.target_set" if res.member_name else "admin.target_set_default",
            kpi=name_in(res.kpi_names, lang),
            value=fmt_value(res.value, res.unit, lang),
            period=t(lang, f"per.{res.period}"),
            member=res.member_name or "",
        )
        await msg.reply_text(text)


async def kpi(update: Update, context: KpiContext) -> None:
    """List the team's KPIs; leaders change weights and minimums, retire and add KPIs."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    res = await for_caller(update, context, admin.kpi_command, args=split_command(msg.text)[1])
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    example = command_example(lang, "kpi")
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    if res.outcome == "unknown_kpi":
        word = str(res.error_params.get("word", ""))
        await msg.reply_text(join_lines(t(lang, "admin.unknown_kpi", word=clip(word)), example))
        return
    if res.outcome == "bad_input":
        key = f"admin.{res.error_code}"
        await msg.reply_text(
            join_lines(t(lang, key, **quoted_params(key, res.error_params)), example)
        )
        return
    lines: list[str] = []
    if res.action:
        lines.append(
            t(
                lang,
                f"admin.kpi_{res.action}",
                kpi=name_in(res.kpi_names, lang) or res.kpi or "",
                value=fmt_pct(res.value, lang),
                code=res.kpi or "",
            )
        )
    lines.append(t(lang, "admin.kpi_title"))
    for row in res.rows:
        name = name_in(row.names, lang)
        parts = [f"• <b>{esc(name)}</b> <code>{esc(row.key)}</code>"]
        if row.target is not None:
            parts.append(
                t(
                    lang,
                    "admin.row_target",
                    value=fmt_value(row.target, row.unit, lang),
                    period=t(lang, f"per.{row.target_period}"),
                )
            )
        if row.weight:
            parts.append(t(lang, "admin.row_weight", weight=fmt_pct(row.weight, lang)))
        if row.direction == "lower":
            parts.append(t(lang, "admin.row_lower"))
        lines.append(" · ".join(parts))
    if res.leader:
        lines.append(t(lang, "admin.kpi_hint"))
    # A team may define many KPIs: a long list goes out in several messages.
    for part in split_message(join_lines(*lines)):
        await msg.reply_text(part)
