"""Turning kpi results into messages: shared pieces used by every handler family."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Mapping, Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from handlers.i18n import (
    DEFAULT_LANG,
    Html,
    catalog,
    esc,
    fmt_count,
    fmt_int,
    fmt_money_short,
    fmt_pct,
    placeholders,
    progress_bar,
    round_count,
    round_money,
    t,
    t_plain,
)
from kpi import scoring
from kpi.access import TeamChoice
from kpi.names import Names, name_in

# Telegram's limits (PRODUCT.md): messages, captions, button payloads.
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Words people typed are quoted back at most this long, so an answer stays under MAX_TEXT.
QUOTE_CHARS = 60


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """Shorten text people typed for quoting it back: `abcdef…`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted_params(key: str, params: Mapping[str, object]) -> dict[str, object]:
    """Pick the parameters a message expects, with the text people typed quoted short."""
    return {
        k: clip(v) if isinstance(v, str) else v
        for k, v in ((k, params.get(k, "")) for k in placeholders(catalog(DEFAULT_LANG)[key]))
    }


def not_modified(exc: BadRequest) -> bool:
    """Tell whether Telegram refused an edit only because it changes nothing."""
    return "message is not modified" in str(exc).lower()


async def edit_text(
    target: Message | CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit a message's text; the same text again (a button pressed twice) is success."""
    try:
        if isinstance(target, CallbackQuery):
            await target.edit_message_text(text, reply_markup=reply_markup)
        else:
            await target.edit_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if not not_modified(exc):
            raise


async def remove_buttons(message: Message) -> None:
    """Take the buttons off a message whose question is answered."""
    # Already without buttons, or too old to edit: either way there is nothing to remove.
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(reply_markup=None)


def id_and_choice(data: str) -> tuple[int, str] | None:
    """Read a button's `<prefix>:<id>:<choice>` payload; None when it is not one."""
    try:
        _, ident, choice = data.split(":", 2)
        return int(ident), choice
    except ValueError:
        return None


async def answer_query(q: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; callback answers are plain text of at most 200 characters."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", text))[:190] if text else None
    # Telegram answers a query once: a redelivered press finds it answered already.
    with contextlib.suppress(BadRequest):
        await q.answer(plain)


def metric_label(names: Mapping[str, Names], metric: str, lang: str) -> str:
    """Return a metric's or KPI's name in the reader's language (the key when unknown)."""
    return name_in(names.get(metric, {}), lang) or metric


def fmt_value(value: float | None, unit: str, lang: str) -> str:
    """Format a value exactly as it was logged or set: counts, short money, or a percentage.

    Computed figures (totals, prorated targets, averages) use `fmt_figure`, rounded the way
    people say them.
    """
    if value is None:
        return "—"
    if unit == "vnd":
        return fmt_money_short(value, lang)
    if unit == "ratio":
        return fmt_pct(value, lang)
    return fmt_int(value, lang)


def shown_value(value: float | None, unit: str) -> float | None:
    """Return a target or total as it is shown: rounded the way people write it."""
    if value is None:
        return None
    if unit == "vnd":
        return round_money(value)
    if unit == "ratio":
        return round(value, 2)  # a rate is shown as a whole percentage
    return round_count(value)


def fmt_figure(value: float | None, unit: str, lang: str) -> str:
    """Format a target or total for posts and reports: `280tr`, `0,9`, `1.956`.

    Confirmations and /history show what was logged with `fmt_value` instead.
    """
    if value is None:
        return "—"
    if unit == "vnd":
        return fmt_money_short(round_money(value), lang)
    if unit == "ratio":
        return fmt_pct(value, lang)
    return fmt_count(value, lang)


def shown_attainment(
    actual: float | None, target: float | None, unit: str, direction: str = "higher"
) -> float | None:
    """Return the attainment of the figures as shown, so that the percentage agrees with them."""
    a, t_ = shown_value(actual, unit), shown_value(target, unit)
    if unit == "ratio" and t_ == 0:
        a, t_ = actual, target  # a rate below half a percent is still a target
    return scoring.attainment(a, t_, direction).raw  # type: ignore[arg-type]


def progress_line(
    lang: str, label: str, actual: float, target: float | None, unit: str, when: str
) -> Html:
    """Render `Calls today: 15/20 (75%) ▓▓▓▓▓▓▓░░░`, or without a target just the value."""
    # Metric names are lowercase ("cuộc gọi") to sit inside "+3 cuộc gọi"; a line starts upper.
    label = label[:1].upper() + label[1:]
    if not target:
        return t(
            lang,
            "log.progress_no_target",
            metric=label,
            when=when,
            actual=fmt_figure(actual, unit, lang),
        )
    ratio = shown_attainment(actual, target, unit)
    return t(
        lang,
        "log.progress",
        metric=label,
        when=when,
        actual=fmt_figure(actual, unit, lang),
        target=fmt_figure(target, unit, lang),
        pct=fmt_pct(ratio, lang),
        bar=progress_bar(ratio),
    )


def team_keyboard(choices: Sequence[TeamChoice]) -> InlineKeyboardMarkup:
    """Offer the caller's teams as buttons (payload `team:<id>`, well under 64 bytes)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.title[:60], callback_data=f"team:{c.id}")] for c in choices]
    )


def names_list(names: Sequence[str], limit: int = 15) -> str:
    """List names for a message: at most `limit` of them, then how many more (`… +7`)."""
    shown = [clip(n, 32) for n in names[:limit]]
    extra = len(names) - len(shown)
    return ", ".join(shown) + (f" … +{extra}" if extra > 0 else "")


def split_message(text: str, limit: int = MAX_TEXT) -> list[Html]:
    """Split a long message at line ends into messages within Telegram's limit.

    Each line is whole HTML (tags open and close on it), so every part is valid on its own; a
    single line beyond the limit is shortened by `fit`.
    """
    parts: list[Html] = []
    lines: list[str] = []
    size = 0
    for line in text.split("\n"):
        if lines and size + 1 + len(line) > limit:
            parts.append(fit("\n".join(lines), limit))
            lines, size = [], 0
        size += len(line) + (1 if lines else 0)
        lines.append(line)
    parts.append(fit("\n".join(lines), limit))
    return parts


def fit(text: str, limit: int = MAX_TEXT) -> Html:
    """Keep a message within Telegram's limit by dropping whole lines from its end."""
    if len(text) <= limit:
        return Html(text)
    lines = text.split("\n")
    while lines and len("\n".join(lines)) + 2 > limit:
        lines.pop()
    return Html("\n".join([*lines, "…"]))


def example_line(lang: str, example: str) -> Html:
    """Show a correct example of a command, as every bad-input answer does."""
    return t(lang, "err.example", example=Html(f"<code>{esc(example)}</code>"))


def has_example(command: str) -> bool:
    """Tell whether the catalogs hold a correct example of a command."""
    return f"example.{command}" in catalog(DEFAULT_LANG)


def command_example(lang: str, command: str) -> Html:
    """Show the catalog's example of a command in the reader's language (`mới`, not `new`)."""
    return example_line(lang, t_plain(lang, f"example.{command}"))


def join_lines(*parts: str | None) -> Html:
    """Join message parts with newlines; None parts are left out, "" makes a blank line."""
    return Html("\n".join(p for p in parts if p is not None))
