"""Data in and out from the chat: /export (/xuat), /import (/nhap), a sent spreadsheet, Confirm,
and the leaders' answer linking an imported member to the person who joined."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from handlers.context import (
    KpiContext,
    for_caller,
    lang_of,
    refuse,
    send_privately,
)
from handlers.i18n import t, t_plain
from handlers.render import clip, id_and_choice, join_lines
from handlers.views import linking as linking_view
from kpi.exports import usecases
from kpi.exports.export import build_csv, build_xlsx, file_name
from kpi.exports.importing import ImportReport, RowIssue

T = TypeVar("T")

# Telegram lets a bot download files up to 20 MB; a chat import is kept for the Confirm button,
# so it is held to less. Larger files go through `kpibot import` on the server.
MAX_CHAT_FILE = 5 * 1024 * 1024
_LISTED = 15  # rejected rows or warnings listed in a report; the rest are counted
SPREADSHEET = (".xlsx", ".xlsm", ".csv")

Translate = Callable[..., str]


async def export(update: Update, context: KpiContext) -> None:
    """Send a leader the team's numbers as XLSX (or CSV): `/export [period] [csv]`."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    args = " ".join(context.args or [])
    res = await for_caller(update, context, usecases.export_for, args=args)
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    if res.outcome == "forbidden":
        await msg.reply_text(t(lang, "scope.leader_only"))
        return
    if res.outcome == "bad_period" or res.data is None:
        await msg.reply_text(t(lang, "export.bad_period", word=clip(args)))
        return
    data = res.data
    # Built in the render threads: a big team's workbook must not hold up the event loop.
    if res.csv:
        content = await context.bot_data.render(build_csv, data, lang)
        name = file_name(data, "csv")
    else:
        content = await context.bot_data.render(build_xlsx, data, lang)
        name = file_name(data, "xlsx")
    caption = t(lang, "export.caption", team=data.team_title, period=data.span.key)

    async def send(chat_id: int) -> None:
        await context.bot.send_document(chat_id, content, filename=name, caption=caption)

    # Asked in the group: the team's numbers go to the leader alone.
    await send_privately(update, context, lang, "export", send)


async def import_help(update: Update, context: KpiContext) -> None:
    """Tell a leader how to send a spreadsheet (`/import`, `/nhap`)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    lang = lang_of(None, user)
    if tchat.type != "private":
        await msg.reply_text(t(lang, "import.group"))
        return
    await msg.reply_text(t(lang, "import.howto"))


async def document(update: Update, context: KpiContext) -> None:
    """Check a spreadsheet a leader sent in the private chat and offer Confirm."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    doc = msg.document
    if doc is None:
        return
    lang = lang_of(None, user)
    name = doc.file_name or "file"
    if not name.lower().endswith(SPREADSHEET):
        await msg.reply_text(t(lang, "import.not_spreadsheet"))
        return
    if doc.file_size is not None and doc.file_size > MAX_CHAT_FILE:
        await msg.reply_text(t(lang, "import.too_large", size=f"{doc.file_size / 2**20:.1f} MB"))
        return
    file = await context.bot.get_file(doc.file_id)
    content = bytes(await file.download_as_bytearray())
    res = await for_caller(
        update, context, usecases.import_preview, filename=name, content=content
    )
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    if res.outcome == "forbidden" or res.report is None:
        await msg.reply_text(t(lang, "scope.leader_only"))
        return
    text = render_report(res.report, name, partial(t, lang))
    if res.action_id is None:
        await msg.reply_text(text)
        return
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "import.confirm"), callback_data=f"imp:{res.action_id}:ok"
                ),
                InlineKeyboardButton(
                    t(lang, "import.cancel"), callback_data=f"imp:{res.action_id}:no"
                ),
            ]
        ]
    )
    await msg.reply_text(
        join_lines(text, "", t(lang, "import.confirm_question")), reply_markup=buttons
    )


async def import_button(update: Update, context: KpiContext) -> None:
    """Store or drop a checked import (the Confirm and Cancel buttons)."""
    query, user, tchat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and tchat is not None
    res = await _answer(update, context, usecases.import_confirm)
    await query.answer()
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.outcome == "stored" and res.report is not None:
        text = render_report(res.report, res.filename, partial(t, lang))
    elif res.outcome == "cancelled":
        text = t(lang, "import.cancelled")
    elif res.outcome == "forbidden":
        text = t(lang, "scope.leader_only")
    else:
        text = t(lang, "import.expired")
    await query.edit_message_reply_markup(None)
    if query.message is not None:
        await context.bot.send_message(tchat.id, text)


async def _answer(update: Update, context: KpiContext, fn: Callable[..., T]) -> T | None:
    """Run a use case that answers Yes/No buttons (`<prefix>:<action id>:ok|no`) once."""
    query = update.callback_query
    payload = id_and_choice(query.data or "") if query is not None else None
    if payload is None:
        return None
    action_id, choice = payload
    return await for_caller(update, context, fn, action_id=action_id, confirm=choice == "ok")


# --- the report, for the chat (HTML) and the command line (plain text) --------------------------


def _reason(tr: Translate, issue: RowIssue) -> str:
    key = f"import.reason.{issue.code}"
    try:
        return tr(key, detail=issue.detail)
    except KeyError:
        return tr("import.reason.other", detail=issue.code)


def _rows(tr: Translate, issues: tuple[RowIssue, ...], key: str) -> list[str]:
    lines = [tr(key, row=i.row, reason=_reason(tr, i)) for i in issues[:_LISTED]]
    if len(issues) > _LISTED:
        lines.append(tr("import.more", count=len(issues) - _LISTED))
    return ["• " + line for line in lines]


def render_report(report: ImportReport, filename: str, tr: Translate) -> str:
    """Render an import's report: what is (or would be) stored, each rejected row and why."""
    if report.file_error is not None:
        err = report.file_error
        return tr(f"import.{err.code}", detail=err.detail)
    stored = not report.dry_run and report.stored > 0
    lines = [tr("import.title" if stored else "import.dry_run_title", file=filename)]
    if report.all_already:
        lines.append(tr("import.all_already"))
    elif report.stored:
        lines.append(
            tr(
                "import.rows",
                stored=report.stored,
                entries=report.entries,
                first=_day(report.first_day),
                last=_day(report.last_day),
            )
        )
        if report.monthly:
            lines.append(tr("import.monthly", count=report.monthly))
    elif not report.rejected:
        lines.append(tr("import.nothing"))
    if report.already and not report.all_already:
        lines.append(tr("import.already", count=report.already))
    if report.skipped:
        lines.append(tr("import.skipped", count=len(report.skipped)))
    if report.new_members:
        lines.append(tr("import.new_members", names=", ".join(report.new_members)))
    if report.matched:
        pairs = ", ".join(f"{a} → {b}" for a, b in report.matched)
        lines.append(tr("import.matched", pairs=pairs))
    if report.rejected:
        title = "import.rejected_skipped" if report.stored else "import.rejected_title"
        lines.append(tr(title, count=len(report.rejected)))
        lines += _rows(tr, report.rejected, "import.rejected_row")
    if report.warnings:
        lines.append(tr("import.warnings_title"))
        lines += _rows(tr, report.warnings, "import.warning_row")
    return "\n".join(lines)


def _day(day: object) -> str:
    return day.strftime("%d/%m/%Y") if hasattr(day, "strftime") else "—"


def plain(lang: str) -> Translate:
    """Return a translator that renders plain text (for the command line)."""
    return partial(t_plain, lang)


async def link_button(update: Update, context: KpiContext) -> None:
    """Link an imported member to the person who joined, or not (a leader's buttons)."""
    query, user, tchat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and tchat is not None
    res = await _answer(update, context, usecases.answer_link)
    if res is None:
        await query.answer()
        return
    lang = lang_of(res.lang_pref, user)
    text = linking_view.answer_view(lang, res)
    if res.outcome == "forbidden":
        # Someone else's buttons stay for the leaders; the answer is for the presser alone.
        await query.answer(t_plain(lang, "link.forbidden"), show_alert=True)
        return
    await query.answer()
    message = query.message
    # A second press (the same buttons twice, a retry) finds them gone already.
    if isinstance(message, Message) and message.reply_markup is not None:
        await query.edit_message_reply_markup(None)
    await context.bot.send_message(tchat.id, text)
