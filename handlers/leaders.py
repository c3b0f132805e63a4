"""Leader commands: /target and /kpi."""

from __future__ import annotations

from telegram import Update

from handlers.context import KpiContext, for_caller, lang_of, refused, replied_user_id
from handlers.render import split_message
from handlers.views.leaders import kpi_list_view, kpi_problem_view, target_view
from kpi.access import Refusal
from kpi.reading import split_command
from kpi.usecases import leaders
from kpi.usecases.leaders import KpiListing


async def target(update: Update, context: KpiContext) -> None:
    """Set a target: `/target <kpi> <value> [period] [@member]` (leaders)."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    res = await for_caller(
        update,
        context,
        leaders.target,
        args=split_command(msg.text)[1],
        reply_to=replied_user_id(update),
    )
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    await msg.reply_text(target_view(lang_of(res.lang_pref, user), res))


async def kpi(update: Update, context: KpiContext) -> None:
    """List the team's KPIs; leaders change weights and minimums, retire and add KPIs."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    res = await for_caller(update, context, leaders.kpi_command, args=split_command(msg.text)[1])
    if res is None or isinstance(res, Refusal):
        return await refused(update, res)
    lang = lang_of(res.lang_pref, user)
    if not isinstance(res, KpiListing):
        await msg.reply_text(kpi_problem_view(lang, res))
        return
    # A team may define many KPIs: a long list goes out in several messages.
    for part in split_message(kpi_list_view(lang, res)):
        await msg.reply_text(part)
