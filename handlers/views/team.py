"""Team views: /team's roster, a member's card and buttons, what a change did, the removal's
confirmation and the offer to remove from the group, and the notices to admins and leaders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, esc, normalize_lang, t, t_plain
from handlers.render import clip, command_example, join_lines, names_list, split_message
from kpi.access import Refusal
from kpi.usecases.outcomes import BadInput, Closed, UnknownMember
from kpi.usecases.team import (
    FORMER_LISTED,
    LOSSES,
    ConfirmRemoval,
    Kick,
    LastLeader,
    MemberCard,
    NotRemoved,
    RankSet,
    Removed,
    RoleSet,
    Roster,
    RosterRow,
)

# Buttons: a member's card `mb:<membership>`, its actions `mb:<membership>:<action>`, the
# removal's confirmation `mbr:<pending>:ok|no`, the group removal `mbk:<pending>:ok|no`.
CARD, REMOVE, KICK = "mb", "mbr", "mbk"
# Names a leader's roster offers as buttons at most (Telegram allows 100 buttons).
BUTTONS = 40


def _who(row: RosterRow) -> str:
    handle = f" @{row.username}" if row.username else ""
    return f"{esc(clip(row.name, 40))}{esc(handle)}"


def _row(lang: str, row: RosterRow, away: frozenset[int]) -> str:
    icon = "⭐" if row.role == "leader" else "👤"
    parts = [f"{icon} {_who(row)}", t(lang, f"team.role_{row.role}")]
    parts.append("💬" if row.reachable else "🔕")
    if row.member_id in away:
        parts.append(t(lang, "team.away"))
    if row.status == "pending":
        parts.append(t(lang, "team.pending"))
    if not row.ranked:
        parts.append(t(lang, "team.unranked"))
    return " · ".join(parts)


def roster_view(lang: str, res: Roster) -> tuple[list[Html], InlineKeyboardMarkup | None]:
    """List the team's people (role, status, reachable privately); leaders get name buttons."""
    current = [r for r in res.rows if r.status in ("active", "pending")]
    former = [r for r in res.rows if r.status in ("left", "removed")]
    lines: list[str] = [t(lang, "team.title", team=res.team_title, count=len(current))]
    lines += [_row(lang, r, res.away) for r in current]
    if former:
        names = [
            f"{clip(r.name, 32)} ({t_plain(lang, f'team.status_{r.status}')})"
            for r in former[:FORMER_LISTED]
        ]
        extra = len(former) - len(names)
        listed = ", ".join(names) + (f" … +{extra}" if extra > 0 else "")
        lines.append(t(lang, "team.former", names=listed))
    lines.append(t(lang, "team.legend"))
    if res.manage:
        lines.append(t(lang, "team.hint"))
    markup = None
    active = [r for r in current if r.status == "active"]
    if res.manage and active:
        buttons = [
            InlineKeyboardButton(
                ("⭐ " if r.role == "leader" else "") + clip(r.name, 30),
                callback_data=f"{CARD}:{r.membership_id}",
            )
            for r in active[:BUTTONS]
        ]
        markup = InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
    return split_message(join_lines(*lines)), markup


def card_view(lang: str, card: MemberCard) -> tuple[Html, InlineKeyboardMarkup]:
    """Show one member with the changes a leader may make."""
    row = card.row
    text = join_lines(
        _row(lang, row, frozenset()),
        t(lang, "team.card_ranked" if row.ranked else "team.card_unranked"),
    )

    def button(key: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            t_plain(lang, key), callback_data=f"{CARD}:{card.membership_id}:{action}"
        )

    first = button("team.btn_rep", "rep") if row.role == "leader" else None
    if row.role != "leader":
        first = button("team.btn_leader", "leader")
    rank = (
        button("team.btn_rank_off", "rank_off")
        if row.ranked
        else button("team.btn_rank_on", "rank_on")
    )
    rows = [[b] for b in (first, rank, button("team.btn_remove", "remove")) if b is not None]
    return text, InlineKeyboardMarkup(rows)


def confirm_view(lang: str, res: ConfirmRemoval) -> tuple[Html, InlineKeyboardMarkup]:
    """Ask the leader to confirm a removal."""
    buttons = [
        InlineKeyboardButton(
            t_plain(lang, "team.btn_confirm_remove"), callback_data=f"{REMOVE}:{res.pending_id}:ok"
        ),
        InlineKeyboardButton(
            t_plain(lang, "team.btn_cancel"), callback_data=f"{REMOVE}:{res.pending_id}:no"
        ),
    ]
    text = t(lang, "team.confirm_remove", name=res.name, team=res.team_title)
    return text, InlineKeyboardMarkup([buttons])


def kick_offer(lang: str, kick_id: int) -> InlineKeyboardMarkup:
    """Offer to remove a removed member from the Telegram group too."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(lang, "team.btn_kick"), callback_data=f"{KICK}:{kick_id}:ok"
                ),
                InlineKeyboardButton(
                    t_plain(lang, "team.btn_keep"), callback_data=f"{KICK}:{kick_id}:no"
                ),
            ]
        ]
    )


def removed_view(lang: str, res: Removed, *, can_kick: bool) -> Html:
    """Say the member is out of the team, and whether they can be removed from the group."""
    return join_lines(
        t(lang, "team.removed", name=res.name, team=res.team_title),
        t(lang, "team.offer_kick") if can_kick else None,
    )


def change_view(
    lang: str,
    res: RoleSet | RankSet | LastLeader | NotRemoved | UnknownMember | BadInput | Closed,
) -> Html:
    """Say what a /team change did, or why it did nothing (with an example for bad input)."""
    if isinstance(res, RoleSet):
        done = "made" if res.changed else "already"
        return t(lang, f"team.{done}_{res.role}", name=res.name)
    if isinstance(res, RankSet):
        key = f"team.ranked_{'on' if res.ranked else 'off'}"
        return t(lang, key if res.changed else f"{key}_already", name=res.name)
    if isinstance(res, LastLeader):
        return t(lang, "team.last_leader", name=res.name)
    if isinstance(res, NotRemoved):
        return t(lang, f"team.remove_{res.why}", name=res.name)
    if isinstance(res, Closed):
        return t(lang, "team.expired")
    example = command_example(lang, "team")
    if isinstance(res, UnknownMember):
        return join_lines(t(lang, "admin.unknown_member", word=clip(res.word or "")), example)
    return join_lines(t(lang, res.code, word=clip(str(res.params.get("word", "")))), example)


def kick_view(lang: str, res: Kick | NotRemoved | Closed, *, done: bool) -> Html:
    """Say whether the member was removed from the group."""
    if isinstance(res, Kick):
        return t(lang, "team.kicked" if done else "team.kick_failed", name=res.name)
    if isinstance(res, NotRemoved):
        return t(lang, "team.kept" if res.why == "cancelled" else "team.kick_done", name=res.name)
    return t(lang, "team.expired")


def refusal_text(lang: str, refusal: Refusal) -> str:
    """A button's refusal, as a short plain answer."""
    key = "scope.leader_only" if refusal.reason == "not_leader" else "team.not_yours"
    return t_plain(lang, key)


# --- notices that follow a committed change (outbox rows) -------------------------------------


def _lang(payload: Mapping[str, Any]) -> str:
    return normalize_lang(str(payload.get("lang") or "") or None)


def leaderless_text(payload: Mapping[str, Any]) -> Html:
    """Tell an admin or the group's creator that a team has no leader left."""
    lang = _lang(payload)
    return join_lines(
        t(
            lang,
            "team.leaderless",
            team=str(payload.get("team") or ""),
            name=str(payload.get("name") or ""),
        ),
        t(lang, "team.leaderless_admin") if payload.get("admin") else None,
    )


def bot_rights_text(payload: Mapping[str, Any]) -> Html:
    """Tell leaders what stops working now that the bot lost rights in their group."""
    lang = _lang(payload)
    lost: Sequence[str] = [x for x in payload.get("lost") or () if x in LOSSES]
    unreachable = [str(n) for n in payload.get("leaders") or ()]
    return join_lines(
        t(lang, "team.bot_rights", team=str(payload.get("team") or "")),
        *(t(lang, f"team.lost_{x}") for x in lost),
        t(lang, "team.bot_rights_fix"),
        t(lang, "team.bot_rights_unreachable", names=names_list(unreachable))
        if unreachable
        else None,
    )
