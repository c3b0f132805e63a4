"""What scheduled ticks run: render and send each post, once per recipient and period.

`bot.scheduler` decides when; this module claims each (post, recipient) in the database, builds
the messages in the reader's language, records the attempt, sends them (at most text + chart in
a group), and settles the claim. What may have reached Telegram decides what happens next
(`handlers.posts.classify`): a send that never left or that Telegram refused is retried, one that
may have been delivered (a read timeout, a dropped connection) is not sent again, a chat that
blocked or removed the bot is marked and skipped, and nothing about one chat stops the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from handlers.context import BotData, lang_of
from handlers.i18n import Html, esc, fmt_day, fmt_pct, t
from handlers.posts import classify
from handlers.render import (
    fit,
    fmt_figure,
    join_lines,
    metric_label,
    names_list,
    not_modified,
)
from handlers.views.approvals import digest_lines
from handlers.views.boards import board_chart, late_lines, team_lines, visible_ranking
from kpi.access import Viewer, visible
from kpi.models import RUN_FAILED, RUN_SENT, RUN_SKIPPED, RUN_UNCERTAIN
from kpi.periods import Span
from kpi.posts import chats as chat_state
from kpi.posts import claims as runs
from kpi.posts import content as kd
from kpi.posts import registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One message of a post: text, or a photo with an optional caption."""

    text: str | None = None
    photo: bytes | None = None


Build = Callable[[], Awaitable[list[Outgoing]]]


async def send_post(bot: Bot, bd: BotData, post: kd.Post, now: dt.datetime) -> int:
    """Send one due post to all its recipients; return how many recipients got it now."""
    kind = registry.kind(post.kind)
    send = SENDERS.get(kind.content)
    if send is None:
        raise ValueError(f"post kind {post.kind!r} is not sent on a clock")
    return await send(bot, bd, post, kind, now)


async def _send_board(
    bot: Bot, bd: BotData, post: kd.Post, kind: registry.PostKind, now: dt.datetime
) -> int:
    data = await bd.db.work(partial(kd.board_post, post=post, now=now))
    if data is None:
        return 0
    sent = 0
    if "group" in kind.audience:
        sent += await deliver_once(
            bot,
            bd,
            post,
            data.team.chat_id,
            partial(_board_messages, bd, post, data),
            now,
            thread=data.team.settings.topics.get(post.kind) if kind.topic else None,
        )
    if "leaders" in kind.audience:
        for leader in await bd.db.work(partial(kd.leaders_of, team_id=post.team_id)):
            lang = lang_of(leader.lang_pref)
            build = partial(_board_messages, bd, post, data, lang=lang, private=True)
            sent += await deliver_once(bot, bd, post, leader.telegram_id, build, now)
    return sent


async def _send_reminders(
    bot: Bot, bd: BotData, post: kd.Post, kind: registry.PostKind, now: dt.datetime
) -> int:
    _, reminders = await bd.db.work(partial(kd.reminders, post=post, now=now))
    sent = 0
    for r in reminders:
        build = partial(_reminder_messages, r)
        sent += await deliver_once(bot, bd, post, r.recipient.telegram_id, build, now)
    return sent


async def _send_leader_digest(
    bot: Bot, bd: BotData, post: kd.Post, kind: registry.PostKind, now: dt.datetime
) -> int:
    digest = await bd.db.work(partial(kd.leader_digest, post=post, now=now))
    if digest is None:
        return 0
    sent = 0
    for leader in digest.leaders:
        build = partial(_digest_messages, digest, lang_of(leader.lang_pref))
        sent += await deliver_once(bot, bd, post, leader.telegram_id, build, now)
    return sent


Send = Callable[[Bot, BotData, kd.Post, registry.PostKind, dt.datetime], Awaitable[int]]
# How each content of the post-kind registry is sent on a clock (the deal celebration goes
# through the outbox, `handlers.posts`; the living board is edited by `refresh_living_boards`).
SENDERS: Mapping[registry.Content, Send] = {
    "board": _send_board,
    "reminders": _send_reminders,
    "leader_digest": _send_leader_digest,
}


async def deliver_once(
    bot: Bot,
    bd: BotData,
    post: kd.Post,
    chat_id: int,
    build: Build,
    now: dt.datetime,
    *,
    thread: int | None = None,
) -> int:
    """Claim, build, send and settle one post for one chat; 1 if it was sent now, else 0."""
    claim = await bd.db.work(
        partial(
            runs.claim,
            team_id=post.team_id,
            kind=post.kind,
            period_key=post.period_key,
            chat_id=chat_id,
            due_at=post.due_at,
            now=now,
            instance=bd.instance,
        )
    )
    if claim is None:
        return 0
    try:
        messages = await build()
    except Exception as exc:
        # Nothing was sent: a definite failure, tried again at the next sweep.
        log.exception("post %s for %s could not be built", post.kind, chat_id)
        await bd.db.work(
            partial(
                runs.settle,
                run_id=claim.id,
                status=RUN_FAILED,
                now=now,
                error=repr(exc),
                attempt=claim.attempt,
            )
        )
        return 0
    if not messages:
        await bd.db.work(
            partial(
                runs.settle, run_id=claim.id, status=RUN_SKIPPED, now=now, attempt=claim.attempt
            )
        )
        return 0
    attempt = partial(runs.attempt, run_id=claim.id, attempt=claim.attempt, now=now)
    if not await bd.db.work(attempt):
        # The claim went stale while this post was built and another sender took it over.
        log.info("post %s to %s was taken over by another sender", post.kind, chat_id)
        return 0
    ids: list[int] = []
    status, error = RUN_SENT, None
    try:
        for m in messages:
            if m.photo is not None:
                sent = await bot.send_photo(
                    chat_id, m.photo, caption=m.text, message_thread_id=thread
                )
            else:
                sent = await bot.send_message(chat_id, m.text or "", message_thread_id=thread)
            ids.append(sent.message_id)
    except Exception as exc:
        fate = classify(exc)
        error = f"{type(exc).__name__}: {exc}"
        if fate == "unreachable":
            # The chat blocked or removed the bot: mark it, skip it, serve the others.
            status = RUN_SKIPPED if not ids else RUN_SENT
            await bd.db.work(
                partial(chat_state.unreachable, chat_id=chat_id, reason=str(exc), now=now)
            )
        elif fate == "migrated":
            assert isinstance(exc, ChatMigrated)
            status = RUN_FAILED
            await bd.db.work(
                partial(chat_state.migrated, old_chat_id=chat_id, new_chat_id=exc.new_chat_id)
            )
        elif fate == "uncertain":
            # Telegram may have accepted it: resolved towards not sending twice.
            status = RUN_UNCERTAIN
            log.warning(
                "post %s to %s may have been delivered (%s); not sending it again",
                post.kind,
                chat_id,
                error,
            )
        else:
            # Nothing of this message reached Telegram: tried again at the next sweep.
            status = RUN_FAILED if not ids else RUN_SENT
            log.warning("post %s to %s failed: %s", post.kind, chat_id, error)
        if not isinstance(exc, TelegramError):
            log.error("post %s to %s failed", post.kind, chat_id, exc_info=exc)
    await bd.db.work(
        partial(
            runs.settle,
            run_id=claim.id,
            status=status,
            now=now,
            message_ids=ids,
            error=error,
            attempt=claim.attempt,
        )
    )
    return 1 if status == RUN_SENT else 0


# --- rendering --------------------------------------------------------------------------------


def span_name(lang: str, span: Span) -> str:
    """Name a span without "this": posts are read later, and some are about the last period."""
    start, end = fmt_day(span.start, lang), fmt_day(span.end, lang)
    return t(lang, f"digest.span_{span.period}", start=start, end=end)


async def _board_messages(
    bd: BotData,
    post: kd.Post,
    data: kd.BoardPost,
    *,
    lang: str | None = None,
    private: bool = False,
) -> list[Outgoing]:
    lang = lang or data.team.language
    board = data.board
    # The group's post shows what the team chose; a leader's private copy shows everything.
    view = visible(board, Viewer(in_group=not private, leader=private))
    lines: list[str] = []
    kind = registry.kind(post.kind)
    if kind is registry.DAILY_SUMMARY:
        lines.append(
            t(lang, kind.title, day=fmt_day(board.span.start, lang), team=board.team_title)
        )
        lines += team_lines(board, lang)
        best = view.podium()
        top = [r for r in board.rows if r.active and r.rank is not None and r.rank <= best]
        if top and view.ranking:
            lines.append(t(lang, "digest.top", names=names_list([r.name for r in top])))
        if board.not_logged:
            if view.names:
                lines.append(t(lang, "digest.not_logged", names=names_list(board.not_logged)))
            else:
                lines.append(t(lang, "digest.not_logged_count", count=len(board.not_logged)))
        elif board.rows:
            lines.append(t(lang, "digest.everyone_logged"))
        return [Outgoing(text=fit(join_lines(*lines)))]
    lines.append(
        t(
            lang,
            kind.title,
            span=span_name(lang, board.span),
            month=board.span.start.strftime("%m/%Y"),
            team=board.team_title,
        )
    )
    lines += visible_ranking(board, view, lang)
    lines.append("")
    lines += team_lines(board, lang)
    if kind is registry.MONTHLY:
        lines += _monthly_lines(data, lang)
    messages = [Outgoing(text=fit(join_lines(*lines)))]
    if view.ranking:
        png = await bd.render(board_chart, board, view, lang, span_name(lang, board.span))
        if png is not None:
            messages.append(Outgoing(photo=png))
    return messages


def _monthly_lines(data: kd.BoardPost, lang: str) -> list[str]:
    board = data.board
    lines: list[str] = []
    revenue = next((k for k in board.team if k.key == "revenue"), None)
    if revenue is not None and revenue.growth is not None:
        sign = "+" if revenue.growth >= 0 else ""
        lines.append(t(lang, "digest.growth", sign=sign, pct=fmt_pct(revenue.growth, lang)))
    lines.append(t(lang, "digest.win_rate", pct=fmt_pct(board.win_rate, lang)))
    lines.append(
        t(lang, "digest.avg_deal", value=fmt_figure(board.average_deal_value, "vnd", lang))
    )
    lines.append(t(lang, "digest.per_rep", value=fmt_figure(board.revenue_per_rep, "vnd", lang)))
    return lines


async def _reminder_messages(r: kd.Reminder) -> list[Outgoing]:
    lang = lang_of(r.recipient.lang_pref)
    lines: list[str] = [t(lang, registry.REMINDER.title, name=r.recipient.name)]
    for c in r.coaching:
        name = metric_label(r.names, c.kpi, lang)
        line: str = t(
            lang,
            "digest.reminder_line",
            kpi=name,
            actual=fmt_figure(c.actual, c.unit, lang),
            target=fmt_figure(c.target, c.unit, lang),
            period=t(lang, f"period.{c.period}"),
        )
        if c.period == "day":
            left = fmt_figure(c.remaining, c.unit, lang)
            line += " · " + t(lang, "digest.left_today", left=left)
        elif c.rate is not None:
            line += " · " + run_rate_text(lang, c.rate, c.unit)
        lines.append(line)
    lines.append(t(lang, "digest.mute_hint"))
    return [Outgoing(text=fit(join_lines(*lines)))]


def run_rate_text(lang: str, rate: kd.RunRate, unit: str) -> Html:
    """Say what it takes from here: `11tr a day …`, `1 more every 5 working days …`."""
    amount = fmt_figure(rate.amount, unit, lang)
    if rate.kind == "today":
        return t(lang, "digest.run_rate_today", left=amount)
    if rate.kind == "every":
        text = t(lang, "digest.run_rate_every", every=rate.every, days=rate.days_left)
    elif rate.kind == "rest":
        text = t(lang, "digest.run_rate_rest", left=amount, days=rate.days_left)
    else:
        text = t(lang, "digest.run_rate", per_day=amount, days=rate.days_left)
    if rate.per_week is not None:
        per_week = fmt_figure(rate.per_week, unit, lang)
        text = Html(text + " " + t(lang, "digest.run_rate_week", per_week=per_week))
    return text


async def _digest_messages(d: kd.LeaderDigest, lang: str) -> list[Outgoing]:
    board = d.board
    lines: list[str] = [
        t(
            lang,
            registry.LEADER_DIGEST.title,
            span=span_name(lang, board.span),
            team=board.team_title,
        )
    ]
    # Sent to each leader privately: the full ranking.
    lines += visible_ranking(board, visible(board, Viewer(in_group=False, leader=True)), lang)
    lines.append("")
    lines += team_lines(board, lang)
    lines.append(
        t(lang, "digest.behind", names=names_list(d.behind))
        if d.behind
        else t(lang, "digest.nobody_behind")
    )
    if d.quiet:
        lines.append(t(lang, "digest.quiet", names=names_list(d.quiet)))
    if d.unreachable:
        lines.append(t(lang, "digest.unreachable", names=names_list(d.unreachable)))
    if d.late:
        lines.append(t(lang, "digest.late_title"))
        lines += late_lines(lang, d.late)
    # Deals waiting for approval, and bulk backfills since the last digest.
    lines += digest_lines(lang, d.pending, d.pending_count, d.backfills)
    return [Outgoing(text=fit(join_lines(*lines)))]


# --- the living leaderboard --------------------------------------------------------------------


async def refresh_living_boards(bot: Bot, bd: BotData, now: dt.datetime) -> int:
    """Edit each team's pinned weekly leaderboard in place when its numbers changed."""
    stale = await bd.db.work(partial(chat_state.boards_to_refresh, now=now))
    edited = 0
    for item in stale:
        text = _living_text(item)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest == item.text_hash:
            continue
        message_id = item.message_id
        try:
            if message_id is not None:
                try:
                    await bot.edit_message_text(text, chat_id=item.chat_id, message_id=message_id)
                except BadRequest as exc:
                    if not_modified(exc):
                        pass
                    elif "not found" in str(exc).lower():
                        message_id = None
                    else:
                        raise
            if message_id is None:
                sent = await bot.send_message(
                    item.chat_id, text, disable_notification=True, message_thread_id=item.thread
                )
                message_id = sent.message_id
                try:
                    await bot.pin_chat_message(item.chat_id, message_id, disable_notification=True)
                except TelegramError as exc:
                    log.info("could not pin the leaderboard in %s: %s", item.chat_id, exc)
        except Forbidden as exc:
            await bd.db.work(
                partial(chat_state.unreachable, chat_id=item.chat_id, reason=str(exc), now=now)
            )
            continue
        except TelegramError as exc:
            log.warning("living leaderboard in %s not updated: %s", item.chat_id, exc)
            continue
        await bd.db.work(
            partial(
                chat_state.board_edited,
                chat_id=item.chat_id,
                team_id=item.board.team_id,
                message_id=message_id,
                text_hash=digest,
                now=now,
            )
        )
        edited += 1
    return edited


def _living_text(item: chat_state.LivingBoard) -> Html:
    board = item.board
    lang = board.language
    lines: list[str] = [t(lang, registry.LIVING_BOARD.title, span=span_name(lang, board.span))]
    lines += visible_ranking(board, visible(board, Viewer(in_group=True)), lang)
    lines.append("")
    lines += team_lines(board, lang)
    lines.append(t(lang, "digest.living_updated", time=esc(item.local_time)))
    return fit(join_lines(*lines))


async def preview(bd: BotData, post: kd.Post, now: dt.datetime, lang: str) -> list[Outgoing]:
    """Build a post's messages in a language without claiming or sending it (for the demo)."""
    build = PREVIEWS.get(registry.kind(post.kind).content)
    if build is None:
        raise ValueError(f"post kind {post.kind!r} is not sent on a clock")
    return await build(bd, post, now, lang)


async def _preview_board(
    bd: BotData, post: kd.Post, now: dt.datetime, lang: str
) -> list[Outgoing]:
    data = await bd.db.work(partial(kd.board_post, post=post, now=now))
    if data is None:
        return []
    return await _board_messages(bd, post, data, lang=lang)


async def _preview_reminder(
    bd: BotData, post: kd.Post, now: dt.datetime, lang: str
) -> list[Outgoing]:
    _, reminders = await bd.db.work(partial(kd.reminders, post=post, now=now))
    if not reminders:
        return []
    first = reminders[0]
    recipient = dataclasses.replace(first.recipient, lang_pref=lang)
    return await _reminder_messages(dataclasses.replace(first, recipient=recipient))


async def _preview_leader_digest(
    bd: BotData, post: kd.Post, now: dt.datetime, lang: str
) -> list[Outgoing]:
    digest = await bd.db.work(partial(kd.leader_digest, post=post, now=now))
    return [] if digest is None else await _digest_messages(digest, lang)


Preview = Callable[[BotData, kd.Post, dt.datetime, str], Awaitable[list[Outgoing]]]
PREVIEWS: Mapping[registry.Content, Preview] = {
    "board": _preview_board,
    "reminders": _preview_reminder,
    "leader_digest": _preview_leader_digest,
}
