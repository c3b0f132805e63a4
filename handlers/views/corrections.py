"""Correction views: what /undo, /edit, /void changed, why not, and /history."""

from __future__ import annotations

from typing import Literal

from handlers.i18n import Html, fmt_day, t
from handlers.render import command_example, has_example, join_lines
from handlers.views.checkins import HISTORY_NOTE_CHARS, entry_text, render_error
from kpi.usecases.corrections import CannotCorrect, Corrected, History
from kpi.usecases.outcomes import BadInput, Closed

Kind = Literal["undo", "history", "edit", "void"]


def correction_view(
    kind: Kind, lang: str, res: Corrected | History | CannotCorrect | BadInput | Closed
) -> Html:
    """Render what a correction command (`kind`) did, or why it did nothing."""
    if isinstance(res, Closed):
        return t(lang, f"log.{res.why}")
    if isinstance(res, BadInput):
        return render_error(lang, res.code, res.params, res.command or kind)
    if isinstance(res, CannotCorrect):
        if res.why == "not_found" and has_example(kind):
            # A wrong entry number is bad input: show what a right command looks like.
            return join_lines(t(lang, "fix.not_found"), command_example(lang, kind))
        if res.why == "too_old":
            return t(lang, "fix.too_old", days=res.days)
        if res.why in ("closed", "needs_reason"):
            # The same words as a check-in into the closed month (kpi.closing).
            key = "err.closed.rep" if res.why == "closed" else "err.closed.reason"
            return t(lang, key, month=res.month)
        return t(lang, f"fix.{res.why}")
    if isinstance(res, History):
        return history_view(lang, res)
    names = res.names
    items = Html(", ".join(entry_text(lang, names, e) for e in res.entries))
    if kind == "undo":
        return t(lang, "fix.undone", items=items)
    if kind == "void":
        return t(lang, "fix.voided", id=res.entries[0].id, items=items)
    before = Html(entry_text(lang, names, res.before[0])) if res.before else Html("")
    return t(lang, "fix.edited", id=res.entries[0].id, before=before, after=items)


def history_view(lang: str, res: History) -> Html:
    """List recent entries with their ids, voided, pending and imported ones marked."""
    if not res.entries:
        return t(lang, "history.empty")
    lines = [t(lang, "history.title")]
    for e in res.entries:
        status = t(lang, f"history.{e.status}") if e.status != "active" else ""
        if e.imported:
            status = Html(t(lang, "history.imported") + status)
        lines.append(
            t(
                lang,
                "history.line",
                id=e.id,
                day=fmt_day(e.day, lang),
                item=Html(entry_text(lang, res.names, e, HISTORY_NOTE_CHARS)),
                status=status,
            )
        )
    lines.append(t(lang, "history.hint"))
    return join_lines(*lines)
