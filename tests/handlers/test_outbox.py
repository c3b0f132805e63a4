"""What follows a committed check-in happens once (QUALITY.md R11, R1, R4).

The confirmation of a stored check-in is retried when Telegram fails, and shown with the
person's next answer (or in /history) when it could not be sent; the generic "please try again"
is only for work that was not stored. A deal celebration goes through the outbox: a row written
with the check-in, sent and settled after it, so an error or a crash between the commit and the
send neither loses nor doubles it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import func, select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.sandbox import Sandbox
from bot.scheduler import Scheduler
from handlers.posts import classify
from kpi.db import Database
from kpi.models import Activity, OutboxMessage
from tests.support.chat import Clock, Talk

SORRY = ("Xin lỗi, đã có lỗi", "Sorry, something went wrong")


def texts(sandbox: Sandbox, chat: Any) -> list[str]:
    return [m.text or "" for m in sandbox.sent(chat) if m.kind == "text"]


def sorry(sandbox: Sandbox) -> list[str]:
    return [m.text or "" for m in sandbox.sent() if any(s in (m.text or "") for s in SORRY)]


def calls_stored(db: Database) -> int:
    with db.transaction() as s:
        return int(
            s.scalar(
                select(func.coalesce(func.sum(Activity.value), 0)).where(
                    Activity.metric == "calls", Activity.status == "active"
                )
            )
            or 0
        )


def celebrations(sandbox: Sandbox, team: Any) -> list[str]:
    return [t for t in texts(sandbox, team.group) if t.startswith("🎉")]


async def test_a_500_on_the_confirmation_is_retried_not_answered_with_try_again(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database
) -> None:
    sandbox.fail("sendMessage", code=500, chat_id=team.minh_dm)
    answers = await talk.say(team.minh, team.minh_dm, "/call 3")
    assert [a.text.splitlines()[0] for a in answers if a.text] == ["✅ +3 cuộc gọi"]
    assert sorry(sandbox) == []
    assert calls_stored(db) == 3


async def test_a_confirmation_telegram_keeps_refusing_is_sent_by_the_sweep(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database, clock: Clock, app: Any
) -> None:
    sandbox.fail("sendMessage", code=502, description="Bad Gateway", chat_id=team.minh_dm, times=3)
    update = sandbox.text(team.minh, team.minh_dm, "/call 3")
    assert await talk.deliver(update) == []
    assert sorry(sandbox) == []
    clock.advance(minutes=1)
    await Scheduler(app).sweep(clock.now)
    [late] = sandbox.sent(team.minh_dm)[-1:]
    assert late.text is not None and late.text.startswith("✅ +3 cuộc gọi")
    # Nothing more at the next sweeps, and the update delivered again changes nothing.
    clock.advance(minutes=5)
    await Scheduler(app).sweep(clock.now)
    await talk.deliver(update)
    assert [t for t in texts(sandbox, team.minh_dm) if t.startswith("✅")] == [late.text]
    assert calls_stored(db) == 3


async def test_a_confirmation_that_may_have_been_lost_shows_with_the_next_answer(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database
) -> None:
    # Telegram never answered (and never got it): the bot cannot know, so it does not resend.
    sandbox.drop("sendMessage", chat_id=team.minh_dm)
    assert await talk.say(team.minh, team.minh_dm, "/call 3") == []
    assert sorry(sandbox) == []
    answer = await talk.reply(team.minh, team.minh_dm, "/call 2")
    lines = answer.splitlines()
    assert lines[0] == "✅ Đã lưu: +3 cuộc gọi · 19/11 (lúc đó chưa gửi được xác nhận)"
    assert lines[1] == "✅ +2 cuộc gọi"
    # Shown once.
    again = await talk.reply(team.minh, team.minh_dm, "/call 1")
    assert "Đã lưu" not in again
    assert calls_stored(db) == 6


async def test_history_shows_a_confirmation_that_could_not_be_sent(
    talk: Talk, sandbox: Sandbox, team: Any
) -> None:
    sandbox.drop("sendMessage", chat_id=team.hoa_dm, applied=False)
    await talk.say(team.hoa, team.hoa_dm, "/call 4")
    history = await talk.reply(team.hoa, team.hoa_dm, "/history")
    assert history.splitlines()[0] == (
        "✅ Stored: +4 calls · 19/11 (the confirmation did not get through then)"
    )
    assert "Stored:" not in await talk.reply(team.hoa, team.hoa_dm, "/history")


async def test_a_celebration_telegram_refused_is_sent_once_by_the_sweep(
    talk: Talk, sandbox: Sandbox, team: Any, clock: Clock, app: Any
) -> None:
    sandbox.fail("sendMessage", code=500, chat_id=team.group, times=5)
    update = sandbox.text(team.minh, team.minh_dm, "/deal 45tr An Phát")
    answers = await talk.deliver(update)
    assert [a.chat_id for a in answers] == [team.minh_dm.id]  # the confirmation only
    assert celebrations(sandbox, team) == []
    for _ in range(3):
        clock.advance(minutes=5)
        await Scheduler(app).sweep(clock.now)
    await talk.deliver(update)
    assert celebrations(sandbox, team) == ["🎉 Chúc mừng Minh Trần vừa chốt hợp đồng 45tr!"]
    assert sorry(sandbox) == []


async def test_a_celebration_whose_answer_was_lost_is_not_sent_again(
    talk: Talk, sandbox: Sandbox, team: Any, clock: Clock, app: Any
) -> None:
    sandbox.drop("sendMessage", chat_id=team.group, applied=True)
    await talk.say(team.minh, team.minh_dm, "/deal 45tr An Phát")
    for _ in range(3):
        clock.advance(minutes=5)
        await Scheduler(app).sweep(clock.now)
    assert celebrations(sandbox, team) == ["🎉 Chúc mừng Minh Trần vừa chốt hợp đồng 45tr!"]


async def test_an_answer_lost_after_an_undo_does_not_invite_a_second_undo(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 3")
    await talk.say(team.minh, team.minh_dm, "/call 2")
    sandbox.fail("sendMessage", code=500, chat_id=team.minh_dm)
    answers = await talk.say(team.minh, team.minh_dm, "/undo")
    assert sorry(sandbox) == []
    assert [a.text for a in answers] == [
        "⚠️ Yêu cầu của bạn đã được xử lý nhưng chưa gửi được câu trả lời. "
        "Xem /history trước khi gửi lại."
    ]
    assert calls_stored(db) == 3


async def _stored(db: Database, predicate: Any) -> None:
    """Wait (at most 5 s) until the database shows what the predicate looks for."""
    async with asyncio.timeout(5):
        while True:
            with db.transaction() as s:
                if predicate(s):
                    return
            await asyncio.sleep(0.01)


async def test_a_crash_between_the_commit_and_the_send_loses_nothing_and_doubles_nothing(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database, clock: Clock, app: Any
) -> None:
    """The process stops while the confirmation of a committed deal is on its way (the task is
    cancelled, as at a hard stop): after the restart the celebration is sent once, and the
    confirmation is shown with the rep's next answer instead of being lost."""
    app.bot.request.latency = 5.0  # every send now takes long enough to be cut off
    update = sandbox.text(team.minh, team.minh_dm, "/deal 45tr An Phát")
    handling = asyncio.create_task(talk.deliver(update))
    await _stored(db, lambda s: s.scalar(select(func.count()).select_from(OutboxMessage)) == 2)
    handling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await handling
    app.bot.request.latency = 0.0
    assert sandbox.sent(team.minh_dm) == [] and celebrations(sandbox, team) == []

    clock.advance(minutes=1)
    await Scheduler(app).start()  # the restart
    await talk.deliver(update)  # Telegram delivers the update again: it counts once
    assert celebrations(sandbox, team) == ["🎉 Chúc mừng Minh Trần vừa chốt hợp đồng 45tr!"]
    answer = await talk.reply(team.minh, team.minh_dm, "/call 1")
    assert answer.splitlines()[0] == (
        "✅ Đã lưu: +1 hợp đồng 45tr · An Phát · 19/11 (lúc đó chưa gửi được xác nhận)"
    )
    clock.advance(minutes=15)
    await Scheduler(app).sweep(clock.now)
    assert len(celebrations(sandbox, team)) == 1
    with db.transaction() as s:
        deals = select(func.count()).select_from(Activity).where(Activity.metric == "deals")
        assert s.scalar(deals) == 1


async def test_classify_tells_what_a_real_http_fault_may_have_delivered(
    sandbox: Sandbox,
) -> None:
    lan = sandbox.user("Lan", language_code="vi")
    chat = sandbox.private(lan)
    server = sandbox.serve()
    server.start()
    request = HTTPXRequest(read_timeout=0.3, connection_pool_size=1, pool_timeout=0.2)
    bot = Bot(sandbox.token, base_url=server.base_url, request=request)
    fates: dict[str, str] = {}

    async def fate(name: str, **kwargs: Any) -> None:
        try:
            await bot.send_message(chat.id, name, **kwargs)
        except Exception as exc:
            fates[name] = classify(exc)
        else:
            fates[name] = "sent"

    try:
        async with bot:
            sandbox.drop("sendMessage", applied=True, stall=1.0)
            await fate("read timeout")
            sandbox.drop("sendMessage", applied=True)
            await fate("dropped connection")
            sandbox.fail("sendMessage", code=500)
            await fate("server error")
            sandbox.fail("sendMessage", code=400, description="Bad Request: no")
            await fate("bad request")
            sandbox.fail("sendMessage", code=403, description="Forbidden: bot was blocked")
            await fate("blocked")
            # The pool's only connection is busy with a slow call: the next one never leaves.
            sandbox.drop("sendMessage", applied=True, stall=1.0)
            slow = asyncio.create_task(fate("slow", read_timeout=2.0))
            await asyncio.sleep(0.1)
            await fate("pool timeout")
            await slow
            server.refuse()
            await fate("connection refused")
    finally:
        server.stop()
    assert fates == {
        "read timeout": "uncertain",
        "dropped connection": "uncertain",
        "server error": "retry",
        "bad request": "retry",
        "blocked": "unreachable",
        "slow": "uncertain",
        "pool timeout": "retry",
        "connection refused": "retry",
    }
    # What may have arrived did; what was retried never reached Telegram.
    assert [m.text for m in sandbox.sent(chat)] == ["read timeout", "dropped connection", "slow"]
