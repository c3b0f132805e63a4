"""Deal approval views: a request to a leader, /approvals, decisions, flags, a kept photo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, esc, fmt_day, fmt_int, fmt_money_short, t
from handlers.render import clip, join_lines, metric_label
from kpi.catalog import DEALS
from kpi.names import Names
from kpi.usecases.approvals import (
    AlreadyDecided,
    Approvals,
    BackfillNote,
    Decided,
    FlagNote,
    NoDeal,
    PendingDeal,
    PhotoKept,
)

CAPTION = 1024  # Telegram's limit for a photo's caption


def deal_text(lang: str, d: PendingDeal) -> Html:
    """Describe a deal: `2 × 45tr · Acme`."""
    return _deal(lang, d.value, d.amount, d.customer)


def _deal(lang: str, value: int, amount: int | None, customer: str | None) -> Html:
    parts: list[str] = []
    if value != 1:
        parts.append(f"{fmt_int(value, lang)} ×")
    parts.append(fmt_money_short(amount, lang) if amount is not None else "—")
    if customer:
        parts.append("· " + esc(clip(customer)))
    return Html(" ".join(parts))


def request_view(lang: str, d: PendingDeal) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask a leader to approve a deal: the rep, amount, customer, day; Approve and Reject."""
    text = t(
        lang,
        "approval.request",
        id=d.entry_id,
        name=d.member_name,
        contract=deal_text(lang, d),
        day=fmt_day(d.day, lang),
    )
    if d.photo:
        text = Html(text + "\n" + t(lang, "approval.with_photo"))
    return Html(text[:CAPTION]), decide_buttons(lang, [d])


def decide_buttons(lang: str, deals: Sequence[PendingDeal]) -> InlineKeyboardMarkup:
    """Return Approve / Reject buttons, one row per deal (`ap:<entry>:ok|no`)."""
    several = len(deals) > 1
    rows = []
    for d in deals:
        suffix = f" #{d.entry_id}" if several else ""
        rows.append(
            [
                InlineKeyboardButton(
                    t(lang, "approval.btn_approve") + suffix, callback_data=f"ap:{d.entry_id}:ok"
                ),
                InlineKeyboardButton(
                    t(lang, "approval.btn_reject") + suffix, callback_data=f"ap:{d.entry_id}:no"
                ),
            ]
        )
    return InlineKeyboardMarkup(rows)


def pending_line(lang: str, d: PendingDeal) -> Html:
    """One waiting deal in a list: `#12 · Minh · 45tr · Acme · 19/11 📎`."""
    photo = " 📎" if d.photo else ""
    return Html(
        f"#{d.entry_id} · {esc(d.member_name)} · {deal_text(lang, d)} · "
        f"{fmt_day(d.day, lang)}{photo}"
    )


def list_view(lang: str, res: Approvals) -> tuple[Html, InlineKeyboardMarkup | None]:
    """Render /approvals: what waits, oldest first, each with Approve / Reject."""
    if not res.deals:
        return t(lang, "approval.none", team=res.team_title), None
    lines = [t(lang, "approval.list_title", team=res.team_title, count=len(res.deals))]
    lines += [pending_line(lang, d) for d in res.deals]
    return join_lines(*lines), decide_buttons(lang, res.deals)


def decided_view(lang: str, res: Decided) -> Html:
    """Tell the leader what their press did."""
    key = "approval.approved" if res.approved else "approval.rejected"
    return t(
        lang,
        key,
        id=res.deal.entry_id,
        name=res.deal.member_name,
        contract=deal_text(lang, res.deal),
        day=fmt_day(res.deal.day, lang),
        by=res.by,
    )


def already_view(lang: str, res: AlreadyDecided) -> Html:
    """Tell a second press (or a second leader) that the entry was decided, and by whom."""
    d = res.decision
    by = d.by or "?"
    if d.action == "deal.approve":
        return t(lang, "approval.already_approved", by=by)
    if d.action == "deal.reject":
        return t(lang, "approval.already_rejected", by=by)
    if d.action in ("entry.void", "flag.void") and d.by:
        return t(lang, "approval.already_voided", by=by)
    return t(lang, "approval.no_longer_waiting")


def rep_view(lang: str, res: Decided) -> Html:
    """Tell the rep the outcome of their deal."""
    key = "approval.rep_approved" if res.approved else "approval.rep_rejected"
    return t(
        lang,
        key,
        contract=deal_text(lang, res.deal),
        day=fmt_day(res.deal.day, lang),
        by=res.by,
    )


def flag_view(
    lang: str, note: FlagNote, names: Mapping[str, Names]
) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask a leader to look at a flagged entry, with a one-tap void."""
    if note.metric == DEALS:
        what = _deal(lang, note.value, note.amount, note.customer)
    else:
        what = Html(f"{fmt_int(note.value, lang)} {esc(metric_label(names, note.metric, lang))}")
    reasons = []
    if "outlier" in note.flags:
        reasons.append(t(lang, "flag.outlier"))
    if "duplicate" in note.flags and note.same_as is not None:
        reasons.append(t(lang, "flag.duplicate", same=note.same_as))
    text = join_lines(
        t(
            lang,
            "flag.title",
            id=note.entry_id,
            name=note.member_name,
            what=what,
            day=fmt_day(note.day, lang),
        ),
        *reasons,
        t(lang, "flag.hint"),
    )
    button = InlineKeyboardButton(
        t(lang, "flag.btn_void", id=note.entry_id), callback_data=f"fv:{note.entry_id}"
    )
    return text, InlineKeyboardMarkup([[button]])


def voided_view(lang: str, entry_id: int) -> Html:
    """Confirm a flagged entry voided."""
    return t(lang, "flag.voided", id=entry_id)


def photo_view(lang: str, res: PhotoKept | NoDeal) -> Html:
    """Tell the rep the photo was kept with the deal (and sent to the leaders), or why not."""
    if isinstance(res, NoDeal):
        return t(lang, f"approval.photo_{res.why}")
    if res.waiting:
        return t(lang, "approval.photo_sent")
    return t(lang, "approval.photo_kept")


def digest_lines(
    lang: str, pending: Sequence[PendingDeal], count: int, backfills: Sequence[BackfillNote]
) -> list[str]:
    """The leader digest's lines about deals waiting and bulk backfills."""
    lines: list[str] = []
    if count:
        lines.append(t(lang, "approval.digest_pending", count=count))
        lines += [pending_line(lang, d) for d in pending]
    if backfills:
        lines.append(
            t(
                lang,
                "flag.digest_backfill",
                items=Html(
                    ", ".join(
                        t(
                            lang,
                            "flag.backfill_item",
                            name=b.member_name,
                            count=b.count,
                            day=fmt_day(b.start.date(), lang),
                        )
                        for b in backfills[:15]
                    )
                ),
            )
        )
    return lines
