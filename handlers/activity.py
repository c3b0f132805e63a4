"""Logging: commands, `/log`, plain language, edited messages, buttons, and corrections."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from handlers import posts
from handlers.context import (
    BotData,
    KpiContext,
    for_caller,
    lang_of,
    update_key,
)
from handlers.i18n import Html, esc, fmt_day, fmt_int, fmt_money, fmt_money_short, t
from handlers.onboarding import refuse, refuse_in
from handlers.render import (
    answer_query,
    clip,
    command_example,
    edit_text,
    fit,
    has_example,
    join_lines,
    metric_label,
    progress_line,
)
from kpi import checkins, outbox
from kpi.checkins import CorrectionResult, Kept, LogResult
from kpi.metrics import DEALS
from kpi.names import Names
from kpi.store import StoredEntry

# What people typed is quoted back short: a message must stay under Telegram's 4,096 characters.
HISTORY_NOTE_CHARS = 80
UNKNOWN_WORDS_SHOWN = 10


def entry_text(
    lang: str, names: Mapping[str, Names], e: StoredEntry, limit: int | None = None
) -> str:
    """Describe one entry: `+3 cuộc gọi`, `+2 hợp đồng 45tr · ABC (khách mới)`."""
    label = metric_label(names, e.metric, lang)

    def typed(text: str) -> str:
        return esc(clip(text, limit) if limit else text)

    if e.metric == DEALS:
        parts: list[str] = [t(lang, "log.item", value=fmt_int(e.value, lang), metric=label)]
        if e.amount is not None:
            parts.append(fmt_money_short(e.amount, lang))
        if e.customer:
            parts.append("· " + typed(e.customer))
        if e.is_new_customer:
            parts.append(t(lang, "log.new_customer"))
        return " ".join(parts)
    text: str = t(lang, "log.item", value=fmt_int(e.value, lang), metric=label)
    if e.note:
        text += " · " + typed(e.note)
    return text


def _addressed_text(message: Message, bot_username: str) -> str | None:
    """Return the text of a plain message meant for the bot, without the mention."""
    text = message.text or ""
    if message.chat.type == "private":
        return text
    reply = message.reply_to_message
    if (
        reply is not None
        and reply.from_user is not None
        and reply.from_user.username == (bot_username)
    ):
        return text
    mention = f"@{bot_username}".lower()
    if mention in text.lower():
        return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
    return None


async def log_command(update: Update, context: KpiContext) -> None:
    """Log from a command: /call, /meeting, /lead, /deal, /lost, /log and their aliases."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    command, args = checkins.split_command(msg.text)
    if command in checkins.LOG_COMMANDS and not args:
        await quick_keyboard(update, context)
        return
    logged = await log_for_caller(
        update,
        context,
        msg,
        checkins.log_message,
        text=msg.text,
        message_id=msg.message_id,
    )
    if logged is not None:
        await reply_logged(msg, user.language_code, logged.res, bd=context.bot_data, logged=logged)


async def free_text(update: Update, context: KpiContext) -> None:
    """Log a plain-language message addressed to the bot (private, reply, or mention)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    text = _addressed_text(msg, context.bot.username)
    if text is None:
        return
    logged = await log_for_caller(
        update,
        context,
        msg,
        checkins.log_message,
        text=text,
        message_id=msg.message_id,
    )
    if logged is None:
        return
    res = logged.res
    if res.outcome in ("not_member", "no_team") and tchat.type != "private":
        return  # chatter in a group that is not ours to answer
    await reply_logged(msg, user.language_code, res, bd=context.bot_data, logged=logged)


async def edited(update: Update, context: KpiContext) -> None:
    """Re-read an edited message that carried a check-in; it never counts twice."""
    msg, user, tchat = update.edited_message, update.effective_user, update.effective_chat
    if msg is None or user is None or tchat is None or msg.text is None:
        return
    text = msg.text
    if not text.startswith("/"):
        addressed = _addressed_text(msg, context.bot.username)
        text = addressed if addressed is not None else text
    logged = await log_for_caller(
        update,
        context,
        msg,
        checkins.reread_edited,
        text=text,
        message_id=msg.message_id,
        sent_at=msg.date,
    )
    if logged is None or logged.res.outcome == "ignored":
        return
    await reply_logged(msg, user.language_code, logged.res, bd=context.bot_data, logged=logged)


async def quick_keyboard(update: Update, context: KpiContext) -> None:
    """Show quick +1 buttons for the team's metrics (bare `/log`)."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    res = await for_caller(update, context, checkins.quick_keyboard)
    if res is None:
        return
    if res.outcome != "ok":
        await refuse(update, res)
        return
    lang = lang_of(res.lang_pref, user)
    buttons = [
        InlineKeyboardButton(
            f"+1 {metric_label(res.metric_names, k, lang)}", callback_data=f"q:{k}"
        )
        for k in res.metric_names
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await msg.reply_text(t(lang, "log.quick_title"), reply_markup=InlineKeyboardMarkup(rows))


async def quick_button(update: Update, context: KpiContext) -> None:
    """Log +1 from a quick button."""
    q = update.callback_query
    assert q is not None and q.data is not None and q.message is not None
    answer_to = q.message if isinstance(q.message, Message) else None
    actor = q.from_user.full_name
    logged = await log_for_caller(
        update, context, answer_to, checkins.quick_add, actor=actor, metric=q.data[2:]
    )
    if logged is None:
        await answer_query(q)
        return
    res = logged.res
    lang = lang_of(res.lang_pref, q.from_user)
    if res.outcome == "ok":
        items = ", ".join(entry_text(lang, res.metric_names, e) for e in res.entries)
        await answer_query(q, t(lang, "log.ok_private", items=Html(items)))
        if answer_to is not None:
            await reply_logged(
                answer_to,
                q.from_user.language_code,
                res,
                actor=actor,
                bd=context.bot_data,
                logged=logged,
            )
        return
    await answer_query(q)
    if answer_to is not None:
        await reply_logged(answer_to, q.from_user.language_code, res, bd=context.bot_data)


async def pending_button(update: Update, context: KpiContext) -> None:
    """Answer a confirmation button: `p:<id>:<choice>` (an amount reading, yes, or no)."""
    q = update.callback_query
    assert q is not None and q.data is not None and q.message is not None
    try:
        _, pending_id, choice = q.data.split(":", 2)
        pid = int(pending_id)
    except ValueError:
        await answer_query(q)
        return
    answer_to = q.message if isinstance(q.message, Message) else None
    actor = q.from_user.full_name
    logged = await log_for_caller(
        update,
        context,
        answer_to,
        checkins.resolve_pending,
        actor=actor,
        pending_id=pid,
        choice=choice,
    )
    if logged is None:
        await answer_query(q)
        return
    res = logged.res
    lang = lang_of(res.lang_pref, q.from_user)
    if res.outcome == "not_yours":
        # The question stays as it is for the person it asks.
        await answer_query(q, t(lang, "log.not_yours"))
        return
    await answer_query(q)
    if res.outcome in ("cancelled", "expired"):
        await _edit_or_send(q.message, t(lang, f"log.{res.outcome}"))
        return
    if answer_to is not None:
        await _remove_buttons(answer_to)
        await reply_logged(
            answer_to,
            q.from_user.language_code,
            res,
            actor=actor,
            bd=context.bot_data,
            logged=logged,
        )


async def undo_button(update: Update, context: KpiContext) -> None:
    """Undo the check-in an "undo" button belongs to."""
    q = update.callback_query
    assert q is not None and q.data is not None and q.message is not None
    try:
        checkin_id = int(q.data.split(":", 1)[1])
    except ValueError:
        await answer_query(q)
        return
    res = await for_caller(update, context, checkins.undo, checkin_id=checkin_id)
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, q.from_user)
    if res.outcome != "ok":
        # Someone else's button, or one already used: say why, and leave the message alone.
        if res.outcome in ("no_team", "not_member", "choose_team"):
            await answer_query(q, t(lang, f"scope.{res.outcome}"))
        else:
            await answer_query(q, render_correction("undo", lang, res))
        return
    await answer_query(q)
    if isinstance(q.message, Message):
        await _remove_buttons(q.message)
        await q.message.reply_text(render_correction("undo", lang, res))


async def _edit_or_send(message: object, text: str) -> None:
    if isinstance(message, Message):
        try:
            await edit_text(message, text)
        except BadRequest:
            await message.reply_text(text)


async def _remove_buttons(message: Message) -> None:
    # Already without buttons, or too old to edit: either way there is nothing to remove.
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(reply_markup=None)


async def reply_logged(
    msg: Message,
    language_code: str | None,
    res: LogResult,
    actor: str | None = None,
    *,
    bd: BotData | None = None,
    logged: Logged | None = None,
) -> None:
    """Confirm a check-in (one line in a group, with progress in private) or explain a refusal.

    A stored check-in's confirmation and celebration were written to the outbox by its unit of
    work (`logged`): they are sent from there, retried, and never raise a send error here.
    """
    lang = _lang(res, language_code)
    if res.outcome in ("no_team", "not_member", "choose_team"):
        await refuse_in(msg, lang, res)
        return
    if res.outcome == "bad_input":
        await msg.reply_text(render_error(lang, res.error_code, res.error_params, res.command))
        return
    if res.outcome == "not_understood":
        await msg.reply_text(
            join_lines(
                t(lang, "log.not_understood"),
                command_example(lang, "free_text"),
            )
        )
        return
    if res.outcome == "ambiguous":
        assert res.pending_id is not None
        buttons = [
            InlineKeyboardButton(fmt_money(c, lang), callback_data=f"p:{res.pending_id}:{i}")
            for i, c in enumerate(res.candidates)
        ]
        cancel = InlineKeyboardButton(
            t(lang, "log.cancel"), callback_data=f"p:{res.pending_id}:no"
        )
        await msg.reply_text(
            t(lang, "log.ambiguous", text=clip(str(res.error_params.get("text", "")))),
            reply_markup=InlineKeyboardMarkup([buttons, [cancel]]),
        )
        return
    if res.outcome == "confirm":
        assert res.pending_id is not None and res.bound is not None
        text, markup = bound_question(
            lang,
            res.metric_names,
            res.bound_metric,
            res.bound_value,
            res.bound,
            f"p:{res.pending_id}",
        )
        await msg.reply_text(text, reply_markup=markup)
        return
    if res.outcome != "ok":
        return
    if logged is not None and logged.confirmation is not None and bd is not None:
        await posts.deliver(msg.get_bot(), bd, logged.confirmation, now=bd.now())
    else:
        confirmation, undo_markup = _confirmation(lang, res, actor)
        await msg.reply_text(confirmation, reply_markup=undo_markup)
    if logged is not None and logged.celebration is not None and bd is not None:
        await posts.send_queued(msg.get_bot(), bd, logged.celebration.id, now=bd.now())


def _lang(res: LogResult, language_code: str | None) -> str:
    return lang_of(res.lang_pref) if res.lang_pref else lang_of(language_code)


# --- what follows a stored check-in: written with it, sent after (kpi.outbox) -----------------


@dataclass(frozen=True)
class Logged:
    """A logging use case's result, with the outbox rows its unit of work wrote."""

    res: LogResult
    confirmation: outbox.Message | None = None
    celebration: outbox.Message | None = None


@dataclass(frozen=True)
class _Target:
    """Where the answer to a message goes: its chat, the message quoted (groups), its topic."""

    chat_id: int
    reply_to: int | None
    thread_id: int | None


def _target_of(msg: Message) -> _Target:
    # As Message.reply_text does: quote in groups, stay in the message's forum topic.
    group = msg.chat.type != "private"
    thread = msg.message_thread_id if msg.is_topic_message else None
    return _Target(msg.chat_id, msg.message_id if group else None, thread)


async def log_for_caller(
    update: Update,
    context: KpiContext,
    answer_to: Message | None,
    fn: Callable[..., LogResult],
    /,
    *,
    actor: str | None = None,
    **kwargs: Any,
) -> Logged | None:
    """Run a logging use case once (see for_caller); a check-in it stores gets its confirmation
    (an answer to `answer_to`) and celebration written to the outbox in the same transaction."""
    user = update.effective_user
    assert user is not None
    key = update_key(update)
    target = _target_of(answer_to) if answer_to is not None else None
    instance = context.bot_data.instance

    def work(session: Session, **kw: Any) -> Logged:
        res = fn(session, **kw)
        if res.outcome != "ok" or target is None:
            return Logged(res)
        return _queue(
            session,
            res,
            key=key,
            target=target,
            lang=_lang(res, user.language_code),
            actor=actor,
            user_id=user.id,
            instance=instance,
            now=kw["now"],
        )

    return await for_caller(update, context, work, **kwargs)


def _queue(
    session: Session,
    res: LogResult,
    *,
    key: str,
    target: _Target,
    lang: str,
    actor: str | None,
    user_id: int,
    instance: str,
    now: dt.datetime,
) -> Logged:
    """Render the confirmation in the reader's language and queue it (and a celebration)."""
    text, markup = _confirmation(lang, res, actor)
    # Check-ins whose confirmation never got through are shown with this one.
    earlier = outbox.unconfirmed(session, user_id=user_id)
    lines = stored_lines(lang, res.metric_names, earlier)
    confirmation = outbox.enqueue(
        session,
        key=f"reply:{key}",
        kind=outbox.CONFIRMATION,
        chat_id=target.chat_id,
        thread_id=target.thread_id,
        reply_to=target.reply_to,
        team_id=res.team_id,
        user_id=user_id,
        ref_id=res.checkin_id,
        text=fit(join_lines(*lines, text)) if lines else text,
        buttons=markup.to_dict() if markup is not None else None,
        payload={"shows": [u.id for u in earlier]} if earlier else None,
        # This handler sends it right after the commit.
        sending_by=instance,
        now=now,
    )
    celebration = None
    c = res.celebration
    if c is not None and res.checkin_id is not None:
        celebration = outbox.enqueue_celebration(
            session,
            key=f"celebration:checkin-{res.checkin_id}",
            team_id=c.team_id,
            chat_id=c.chat_id,
            thread_id=c.thread,
            language=c.language,
            name=actor or res.member_name,
            amount=c.amount,
            count=c.count,
            now=now,
        )
    return Logged(res, confirmation, celebration)


def stored_lines(
    lang: str, names: Mapping[str, Names], earlier: list[outbox.Unconfirmed]
) -> list[str]:
    """Render `✅ Stored: +3 calls · 19/11 (…)` for check-ins never confirmed (voided: none)."""
    return [
        t(
            lang,
            "outbox.stored",
            items=Html(", ".join(entry_text(lang, names, e) for e in u.entries)),
            day=fmt_day(u.day, lang),
        )
        for u in earlier
        if u.entries
    ]


def _confirmation(
    lang: str, res: LogResult, actor: str | None
) -> tuple[Html, InlineKeyboardMarkup | None]:
    names = res.metric_names
    kept = [kept_text(lang, names, k) for k in res.kept]
    if not res.entries and (res.replaced or kept):
        # Nothing new was read: the check-in still counts only through what a leader kept.
        counting = any(k.entry.status in ("active", "pending") for k in res.kept)
        head = None
        if res.replaced:
            head = t(lang, "log.replaced") if counting else t(lang, "log.replaced_empty")
        return join_lines(head, *kept), None
    items = Html(", ".join(entry_text(lang, names, e) for e in res.entries))
    backdated = (
        t(lang, "log.backdated", day=fmt_day(res.day, lang))
        if res.day and res.today and res.day != res.today
        else None
    )
    pending = any(e.status == "pending" for e in res.entries)
    unknown = None
    if res.unknown:
        words = [clip(w, 30) for w in res.unknown[:UNKNOWN_WORDS_SHOWN]]
        if len(res.unknown) > UNKNOWN_WORDS_SHOWN:
            words.append("…")
        unknown = t(lang, "log.unknown_words", words=", ".join(words))
    markup = None
    if res.checkin_id is not None and not res.replaced and res.command is None:
        # Plain language: show what was understood, with a one-tap undo.
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(lang, "log.undo_button"), callback_data=f"u:{res.checkin_id}"
                    )
                ]
            ]
        )
    head = t(lang, "log.replaced") if res.replaced else None
    if res.is_group:
        line = t(lang, "log.ok_group", name=actor or res.member_name, items=items)
        extra = " ".join(p for p in (backdated, t(lang, "log.pending") if pending else None) if p)
        return join_lines(head, line + (f" {extra}" if extra else ""), unknown, *kept), markup
    lines: list[str | None] = [
        head,
        t(lang, "log.understood") if res.command is None else None,
        t(lang, "log.ok_private", items=items),
        backdated,
        t(lang, "log.pending") if pending else None,
    ]
    for p in res.progress:
        label = (
            metric_label(names, p.metric, lang)
            if p.metric != "revenue"
            else t(lang, "log.revenue")
        )
        unit = "vnd" if p.metric == "revenue" else "count"
        if p.period == "day" and res.day is not None and res.day != res.today:
            when = t(lang, "log.on_day", day=fmt_day(res.day, lang))
        else:
            when = t(lang, f"period.{p.period}")
        lines.append(progress_line(lang, label, p.actual, p.target, unit, when))
    lines.append(unknown)
    lines.extend(kept)
    return join_lines(*lines), markup


def kept_text(lang: str, names: Mapping[str, Names], kept: Kept) -> Html:
    """Tell the rep that a leader's correction of an entry outlives the edit of the message."""
    e = kept.entry
    key = "log.kept_voided" if e.status == "voided" else "log.kept_edited"
    return t(lang, key, name=kept.by, id=e.id, item=Html(entry_text(lang, names, e)))


def render_error(
    lang: str, code: str | None, params: dict[str, object], command: str | None
) -> Html:
    """Explain bad input in one line and show a correct example."""
    key = f"err.{code}" if code and t_has(f"err.{code}") else "err.unknown"
    safe = {
        k: clip(", ".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v))
        for k, v in params.items()
    }
    message = t(lang, key, **{k: safe.get(k, "") for k in _params_of(key)})
    # A correct example for each command (per language, in the catalogs), else plain language.
    example = command if command and has_example(command) else "free_text"
    return join_lines(message, command_example(lang, example))


def t_has(key: str) -> bool:
    """Tell whether a message key exists."""
    from handlers.i18n import has

    return has(key)


def _params_of(key: str) -> set[str]:
    from handlers.i18n import DEFAULT_LANG, catalog, placeholders

    return placeholders(catalog(DEFAULT_LANG)[key])


# --- corrections -----------------------------------------------------------------------------


async def undo(update: Update, context: KpiContext) -> None:
    """Void the caller's last check-in, whole."""
    await _correction(update, context, "undo", checkins.undo)


async def history(update: Update, context: KpiContext) -> None:
    """List the caller's recent entries with short ids, after any never confirmed."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    bd = context.bot_data

    def work(session: Session, **kw: Any) -> tuple[CorrectionResult, list[outbox.Unconfirmed]]:
        res = checkins.history(session, **kw)
        earlier = outbox.unconfirmed(session, user_id=user.id) if res.outcome == "ok" else []
        return res, earlier

    out = await for_caller(update, context, work)
    if out is None:
        return
    res, earlier = out
    lang = lang_of(res.lang_pref, user)
    if res.outcome in ("no_team", "not_member", "choose_team"):
        await refuse_in(msg, lang, LogResult(res.outcome, choices=res.choices))
        return
    lines = stored_lines(lang, res.metric_names, earlier)
    await msg.reply_text(fit(join_lines(*lines, render_correction("history", lang, res))))
    if earlier:
        await bd.db.work(partial(outbox.mark_shown, ids=[u.id for u in earlier], now=bd.now()))


async def edit(update: Update, context: KpiContext) -> None:
    """Change one entry: /edit <id> <value>."""
    await _correction(update, context, "edit", checkins.edit, with_args=True)


async def void(update: Update, context: KpiContext) -> None:
    """Void one entry: /void <id>."""
    await _correction(update, context, "void", checkins.void, with_args=True)


async def _correction(
    update: Update,
    context: KpiContext,
    kind: str,
    fn: Callable[..., CorrectionResult],
    *,
    with_args: bool = False,
) -> None:
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    kwargs: dict[str, object] = {}
    if with_args:
        kwargs["args"] = checkins.split_command(msg.text)[1]
    res = await for_caller(update, context, fn, **kwargs)
    if res is None:
        return
    assert isinstance(res, CorrectionResult)
    lang = lang_of(res.lang_pref, user)
    if res.outcome in ("no_team", "not_member", "choose_team"):
        await refuse_in(
            msg,
            lang,
            LogResult(res.outcome, choices=res.choices),
        )
        return
    if res.outcome == "confirm":
        assert res.pending_id is not None and res.bound is not None
        text, markup = bound_question(
            lang,
            res.metric_names,
            res.bound_metric,
            res.bound_value,
            res.bound,
            f"e:{res.pending_id}",
        )
        await msg.reply_text(text, reply_markup=markup)
        return
    await msg.reply_text(render_correction(kind, lang, res))


def bound_question(
    lang: str,
    names: Mapping[str, Names],
    metric: str | None,
    value: int | None,
    bound: int,
    data: str,
) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask before storing a value beyond its sanity bound: the text and the Save/Cancel buttons."""
    if metric == "amount":
        text = t(
            lang,
            "log.confirm_amount",
            value=fmt_money(value or 0, lang),
            bound=fmt_money(bound, lang),
        )
    else:
        text = t(
            lang,
            "log.confirm_bound",
            metric=metric_label(names, metric or "", lang),
            value=fmt_int(value or 0, lang),
            bound=fmt_int(bound, lang),
        )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "log.save"), callback_data=f"{data}:yes"),
                InlineKeyboardButton(t(lang, "log.cancel"), callback_data=f"{data}:no"),
            ]
        ]
    )
    return text, markup


async def edit_button(update: Update, context: KpiContext) -> None:
    """Answer the Save/Cancel buttons of an /edit beyond the sanity bound (`e:<id>:<choice>`)."""
    q = update.callback_query
    assert q is not None and q.data is not None
    try:
        _, pending_id, choice = q.data.split(":", 2)
        pid = int(pending_id)
    except ValueError:
        await answer_query(q)
        return
    res = await for_caller(update, context, checkins.confirm_edit, pending_id=pid, choice=choice)
    if res is None:
        await answer_query(q)
        return
    lang = lang_of(res.lang_pref, q.from_user)
    if res.outcome in ("no_team", "not_member", "choose_team"):
        # No longer in the entry's team: say so, and leave the question as it is.
        await answer_query(q, t(lang, f"scope.{res.outcome}"))
        return
    await answer_query(q)
    if not isinstance(q.message, Message):
        return
    await _remove_buttons(q.message)
    await q.message.reply_text(render_correction("edit", lang, res))


def render_correction(kind: str, lang: str, res: CorrectionResult) -> Html:
    """Render what /undo, /history, /edit or /void did."""
    names = res.metric_names
    if res.outcome in ("cancelled", "expired"):
        return t(lang, f"log.{res.outcome}")
    if res.outcome == "bad_input":
        return render_error(lang, res.error_code, res.error_params, kind)
    if res.outcome == "not_found" and has_example(kind):
        # A wrong entry number is bad input: show what a right command looks like.
        return join_lines(t(lang, "fix.not_found"), command_example(lang, kind))
    if res.outcome in ("nothing", "not_found", "forbidden"):
        return t(lang, f"fix.{res.outcome}")
    if res.outcome == "too_old":
        return t(lang, "fix.too_old", days=res.days or 0)
    if kind == "history":
        if not res.entries:
            return t(lang, "history.empty")
        lines = [t(lang, "history.title")]
        for e in res.entries:
            status = t(lang, f"history.{e.status}") if e.status != "active" else ""
            lines.append(
                t(
                    lang,
                    "history.line",
                    id=e.id,
                    day=fmt_day(e.day, lang),
                    item=Html(entry_text(lang, names, e, HISTORY_NOTE_CHARS)),
                    status=status,
                )
            )
        lines.append(t(lang, "history.hint"))
        return join_lines(*lines)
    items = Html(", ".join(entry_text(lang, names, e) for e in res.entries))
    if kind == "undo":
        return t(lang, "fix.undone", items=items)
    if kind == "void":
        return t(lang, "fix.voided", id=res.entries[0].id, items=items)
    before = Html(entry_text(lang, names, res.before[0])) if res.before else Html("")
    return t(lang, "fix.edited", id=res.entries[0].id, before=before, after=items)
