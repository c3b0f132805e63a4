"""Records: the audit trail for leaders (/audit, /nhatky) and the admins' company view (/org)."""

from __future__ import annotations

from telegram import Update

from handlers.context import (
    KpiContext,
    for_caller,
    lang_of,
    refused,
    replied_user_id,
    send_privately,
)
from handlers.i18n import Html
from handlers.render import split_message
from handlers.views.records import (
    audit_problem_view,
    audit_view,
    org_bad_period_view,
    org_text,
)
from kpi import periods
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import records
from kpi.usecases.records import AuditLog


async def send_private(update: Update, context: KpiContext, lang: str, text: Html) -> None:
    """Answer in the private chat; asked in a group, send it privately and say so there."""

    async def send(chat_id: int) -> None:
        for part in split_message(text):
            await context.bot.send_message(chat_id, part)

    # Who changed what, and everyone's place in the company, are not the whole group's to read.
    await send_privately(update, context, lang, "records", send)


async def audit(update: Update, context: KpiContext) -> None:
    """Show a leader the team's recent changes: `/audit [@member] [n]`."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    res = await for_caller(
        update,
        context,
        records.audit_log,
        args=split_command(msg.text)[1],
        reply_to=replied_user_id(update),
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if not isinstance(res, AuditLog):
        await msg.reply_text(audit_problem_view(lang, res))
        return
    await send_private(update, context, lang, audit_view(lang, res))


async def org(update: Update, context: KpiContext) -> None:
    """Rank every member across teams and compare the teams: `/org [period]` (admins)."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    word = " ".join(context.args or [])
    period = periods.parse_period(word) if word else "week"
    res = await for_caller(
        update,
        context,
        records.org_view,
        period=period or "week",
        defaults=context.bot_data.defaults,
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if period is None:
        await msg.reply_text(org_bad_period_view(lang, word))
        return
    await send_private(update, context, lang, org_text(lang, res))
