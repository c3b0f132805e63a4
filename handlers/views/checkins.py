"""Check-in views: what was logged, the questions before storing, bad input explained."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import (
    Html,
    catalog,
    esc,
    fmt_day,
    fmt_int,
    fmt_money,
    fmt_money_short,
    has,
    placeholders,
    t,
)
from handlers.render import (
    clip,
    command_example,
    has_example,
    join_lines,
    metric_label,
    progress_line,
)
from kpi import outbox
from kpi.catalog import DEALS
from kpi.names import Names
from kpi.store import StoredEntry
from kpi.usecases.checkins import AskAmount, Kept, Logged, QuickMenu
from kpi.usecases.outcomes import AskBound, BadInput

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


def stored_lines(
    lang: str, names: Mapping[str, Names], earlier: Sequence[outbox.Unconfirmed]
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


def confirmation(
    lang: str, res: Logged, actor: str | None
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """Confirm a check-in: one line in a group; in private with where the member stands."""
    names = res.names
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
    if not res.replaced and res.command is None:
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
    lang: str, code: str | None, params: Mapping[str, object], command: str | None
) -> Html:
    """Explain bad input in one line and show a correct example."""
    key = f"err.{code}" if code and has(f"err.{code}") else "err.unknown"
    safe = {
        k: clip(", ".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v))
        for k, v in params.items()
    }
    message = t(lang, key, **{k: safe.get(k, "") for k in _params_of(key)})
    # A correct example for each command (per language, in the catalogs), else plain language.
    example = command if command and has_example(command) else "free_text"
    return join_lines(message, command_example(lang, example))


def _params_of(key: str) -> set[str]:
    return placeholders(catalog("vi")[key])


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


def amount_question(lang: str, res: AskAmount) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask which reading of an amount was meant: a button per reading, and Cancel."""
    buttons = [
        InlineKeyboardButton(fmt_money(c, lang), callback_data=f"p:{res.pending_id}:{i}")
        for i, c in enumerate(res.candidates)
    ]
    cancel = InlineKeyboardButton(t(lang, "log.cancel"), callback_data=f"p:{res.pending_id}:no")
    text = t(lang, "log.ambiguous", text=clip(res.text))
    return text, InlineKeyboardMarkup([buttons, [cancel]])


def bound_view(lang: str, res: AskBound, prefix: str) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask before storing a value beyond its bound; `prefix` routes the buttons (`p`, `e`)."""
    return bound_question(
        lang, res.names, res.metric, res.value, res.bound, f"{prefix}:{res.pending_id}"
    )


def bad_input_view(lang: str, res: BadInput, command: str | None = None) -> Html:
    """Explain bad input with an example of the command read (or of `command`)."""
    return render_error(lang, res.code, res.params, res.command or command)


def not_understood_view(lang: str) -> Html:
    """Say that nothing could be logged from plain language, with an example."""
    return join_lines(t(lang, "log.not_understood"), command_example(lang, "free_text"))


def quick_menu(lang: str, res: QuickMenu) -> tuple[Html, InlineKeyboardMarkup]:
    """Offer a +1 button per metric (bare `/log`), two a row."""
    buttons = [
        InlineKeyboardButton(f"+1 {metric_label(res.names, k, lang)}", callback_data=f"q:{k}")
        for k in res.names
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return t(lang, "log.quick_title"), InlineKeyboardMarkup(rows)
