"""Personal data views: what the bot stores (one line), a person's data file, erasure."""

from __future__ import annotations

import json
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, t, t_plain
from handlers.render import clip, command_example, join_lines
from handlers.views.records import event_line, plain
from kpi.usecases.outcomes import BadInput, Closed, UnknownMember
from kpi.usecases.privacy import EraseAsked, Erased, PersonalData


def stored_line(lang: str) -> Html:
    """Say in one line what the bot stores and where a person gets a copy."""
    return t(lang, "privacy.stored")


def erased_label(member_id: int, lang: str) -> str:
    """The anonymous label that replaces an erased person's name (stored in `lang`)."""
    return t_plain(lang, "privacy.erased_name", id=member_id)


def data_file_name(data: PersonalData) -> str:
    """Name the file: kpibot-mydata-<id>.json."""
    return f"kpibot-mydata-{data.member_id}.json"


def data_file(lang: str, data: PersonalData) -> bytes:
    """Write a person's own data as JSON, its headings and words in their language."""

    def f(key: str) -> str:
        return t_plain(lang, f"mydata.{key}")

    def role(value: str) -> str:
        return t_plain(lang, f"mydata.role_{value}") if value in ("leader", "rep") else value

    doc: dict[str, Any] = {
        f("about"): t_plain(lang, "mydata.explain"),
        f("profile"): {
            f("member_id"): data.member_id,
            f("telegram_id"): data.telegram_id,
            f("first_name"): data.first_name,
            f("last_name"): data.last_name,
            f("username"): data.username,
            f("language"): data.language or data.telegram_language,
            f("private_chat"): data.private_chat_ok,
            f("first_seen"): data.created_at.isoformat(),
            f("last_seen"): data.seen_at.isoformat(),
        },
        f("memberships"): [
            {
                f("team"): m.team,
                f("role"): role(m.role),
                f("status"): m.status,
                f("ranked"): m.ranked,
                f("joined_on"): m.joined_on.isoformat(),
                f("left_on"): m.left_on.isoformat() if m.left_on else None,
            }
            for m in data.memberships
        ],
        f("entries"): [
            {
                f("entry"): e.id,
                f("team"): e.team,
                f("day"): e.day.isoformat(),
                f("metric"): e.metric,
                f("value"): e.value,
                f("amount"): e.amount,
                f("customer"): e.customer,
                f("note"): e.note,
                f("status"): e.status,
                f("message"): e.text,
                f("logged_at"): e.logged_at.isoformat(),
            }
            for e in data.entries
        ],
        f("events"): [
            {
                f("event"): i.id,
                f("when"): i.at.isoformat(),
                f("what"): plain(event_line(lang, i, data.timezone)),
            }
            for i in data.events
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def erase_ask_view(lang: str, res: EraseAsked) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask an admin to confirm an erasure: who, which teams, what happens."""
    who = res.name + (f" (@{res.username})" if res.username else "")
    text = t(
        lang,
        "erase.confirm",
        name=who,
        teams=", ".join(res.teams) or "—",
    )
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(lang, "erase.btn_yes"), callback_data=f"er:{res.pending_id}:ok"
                ),
                InlineKeyboardButton(
                    t_plain(lang, "erase.btn_no"), callback_data=f"er:{res.pending_id}:no"
                ),
            ]
        ]
    )
    return text, buttons


def erase_done_view(lang: str, res: Erased) -> Html:
    """Confirm an erasure and what it blanked."""
    d = res.done
    return join_lines(
        t(lang, "erase.done", label=res.label),
        t(
            lang,
            "erase.counts",
            teams=d.teams,
            checkins=d.checkins,
            events=d.events,
            messages=d.inbox + d.outbox + d.pending,
        ),
        t(lang, "erase.backups"),
    )


def erase_closed_view(lang: str, res: Closed) -> Html:
    """Say why the buttons did nothing (cancelled now, already answered, not yours)."""
    return t(lang, f"erase.closed_{res.why}")


def erase_problem_view(lang: str, res: UnknownMember | BadInput) -> Html:
    """Say why /erase asks nothing, with an example."""
    example = command_example(lang, "erase")
    if isinstance(res, UnknownMember):
        return join_lines(t(lang, "erase.unknown", word=clip(res.word or "")), example)
    return join_lines(t(lang, "erase.bad_usage"), example)
