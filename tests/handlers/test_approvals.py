"""Deals a leader can trust: approval in the leader's private chat, photos of the contract,
/approvals, the leader digest, and the anti-gaming flags with their void button."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from typing import Any

import pytest
from sqlalchemy import select

from bot.sandbox import Sandbox
from bot.scheduler import Scheduler
from kpi import store
from kpi.db import Database
from kpi.models import (
    ROLE_LEADER,
    Activity,
    AuditEvent,
    Checkin,
    Member,
    Membership,
    Team,
)
from kpi.store import EntryInput
from tests.support.chat import TODAY, Clock, Talk


def png() -> bytes:
    """A 1×1 PNG: what a phone's photo of a contract is to the sandbox."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


def member_id(db: Database, first_name: str) -> int:
    with db.transaction() as s:
        found = s.scalar(select(Member.id).where(Member.first_name == first_name))
        assert found is not None
        return found


def approval_on(db: Database) -> None:
    """Turn deal approval on the way `/settings approval deals on` stores it."""
    with db.transaction() as s:
        for t in s.scalars(select(Team)):
            t.settings = {**t.settings, "deal_approval": True}


def deals(db: Database) -> list[tuple[str, int | None, str, dt.date, str | None]]:
    with db.transaction() as s:
        return [
            (a.status, a.amount, a.customer or "", a.day, a.flags)
            for a in s.scalars(
                select(Activity).where(Activity.metric == "deals").order_by(Activity.id)
            )
        ]


def audits(db: Database, action: str) -> list[AuditEvent]:
    with db.transaction() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def celebrations(sandbox: Sandbox, group: Any) -> list[str]:
    return [m.text or "" for m in sandbox.sent(group) if "🎉" in (m.text or "")]


def buttons(message: Any) -> list[str]:
    return [data for _, data in message.buttons()]


@pytest.fixture
async def leaders(talk: Talk, sandbox: Sandbox, team: Any, db: Database) -> Any:
    """A second leader (Tú, English) beside Lan; both opened a private chat; approval is on."""
    tu = sandbox.user("Tú", username="tu_sales", language_code="en")
    sandbox.join(team.group, tu)
    await talk.say(tu, team.group, "/join")
    with db.transaction() as s:
        m = s.scalar(
            select(Membership).where(
                Membership.member_id
                == select(Member.id).where(Member.first_name == "Tú").scalar_subquery()
            )
        )
        assert m is not None
        m.role = ROLE_LEADER
    team.tu = tu
    team.tu_dm = sandbox.private(tu)
    for u in (team.leader, tu, team.minh, team.hoa):
        await talk.say(u, sandbox.private(u), "/start")
    approval_on(db)
    return team


def last(sandbox: Sandbox, chat: Any) -> Any:
    return sandbox.sent(chat)[-1]


def current(sandbox: Sandbox, chat: Any, message: Any) -> Any:
    """Return a bot message as it reads now (after edits)."""
    return next(m for m in sandbox.sent(chat) if m.message_id == message.message_id)


# --- a deal waits, every leader is asked ---------------------------------------------------


async def test_a_deal_waits_and_every_leader_is_asked_privately(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    answers = await talk.say(team.minh, team.group, "/deal 45tr An Phát")
    assert [a.text for a in answers if a.chat_id == team.group.id] == [
        "✅ Minh Trần: +1 hợp đồng 45tr · An Phát ⏳ chờ quản lý duyệt"
    ]
    [(status, amount, customer, day, _)] = deals(db)
    assert (status, amount, customer, day) == ("pending", 45_000_000, "An Phát", TODAY)
    with db.transaction() as s:
        entry_id = s.scalar(select(Activity.id).where(Activity.metric == "deals"))
    lan = last(sandbox, team.leader_dm)
    assert lan.text == (
        f"🧾 Minh Trần vừa ghi hợp đồng: 45tr · An Phát · 19/11 (#{entry_id}). Bạn có duyệt không?"
    )
    assert buttons(lan) == [f"ap:{entry_id}:ok", f"ap:{entry_id}:no"]
    tu = last(sandbox, team.tu_dm)
    assert tu.text.startswith("🧾 Minh Trần logged a deal: 45M · An Phát · 19/11")
    assert buttons(tu) == [f"ap:{entry_id}:ok", f"ap:{entry_id}:no"]
    # Nothing counts and nothing is celebrated yet.
    assert celebrations(sandbox, team.group) == []


async def test_approval_counts_the_deal_on_the_day_it_was_logged_for_and_celebrates_once(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database, clock: Clock
) -> None:
    team = leaders
    await talk.say(team.minh, team.minh_dm, "/deal 45tr An Phát 18/11")
    request = last(sandbox, team.leader_dm)
    entry_id = int(buttons(request)[0].split(":")[1])
    clock.advance(days=1)  # the leader approves the next day
    answers = await talk.press(team.leader, team.leader_dm, request, f"ap:{entry_id}:ok")
    [(status, _, _, day, _)] = deals(db)
    assert (status, day) == ("active", dt.date(2026, 11, 18))
    lan = member_id(db, "Lan")
    with db.transaction() as s:
        sums = store.member_sums(s, 1, dt.date(2026, 11, 18), dt.date(2026, 11, 18))
        entry = s.get(Activity, entry_id)
        assert entry is not None and entry.approved_by == lan
    assert sums[member_id(db, "Minh")]["deals"].amount == 45_000_000
    # The leader's request says who decided, without buttons; the rep hears in Vietnamese.
    request = current(sandbox, team.leader_dm, request)
    assert request.buttons() == []
    assert "✅ Lan Nguyễn đã duyệt hợp đồng 45tr · An Phát · 18/11" in request.text
    rep = [a for a in answers if a.chat_id == team.minh.id]
    assert [a.text for a in rep] == [
        "✅ Hợp đồng 45tr · An Phát · 18/11 của bạn đã được Lan Nguyễn duyệt "
        "và được tính vào kết quả."
    ]
    assert celebrations(sandbox, team.group) == ["🎉 Chúc mừng Minh Trần vừa chốt hợp đồng 45tr!"]
    [event] = audits(db, "deal.approve")
    assert (event.entity_id, event.actor_id) == (entry_id, member_id(db, "Lan"))
    assert event.before == {"status": "pending"} and event.after == {"status": "active"}


async def test_approve_pressed_twice_and_by_a_second_leader_decides_once(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    await talk.say(team.hoa, team.hoa_dm, "/deal 30tr Acme")
    lan_request = last(sandbox, team.leader_dm)
    tu_request = last(sandbox, team.tu_dm)
    entry_id = int(buttons(lan_request)[0].split(":")[1])
    press = sandbox.press(team.leader, team.leader_dm, lan_request.message_id, f"ap:{entry_id}:ok")
    await talk.deliver(press)
    await talk.deliver(press)  # the same press delivered again
    # The second leader presses Reject on their own copy: it is decided already.
    second = sandbox.press(team.tu, team.tu_dm, tu_request.message_id, f"ap:{entry_id}:no")
    await talk.deliver(second)
    answer = sandbox.callback_answer(second)
    assert answer is not None and answer["text"] == "Already approved by Lan Nguyễn."
    tu_request = current(sandbox, team.tu_dm, tu_request)
    assert tu_request.buttons() == []
    assert [d[0] for d in deals(db)] == ["active"]
    assert len(audits(db, "deal.approve")) == 1 and audits(db, "deal.reject") == []
    assert len(celebrations(sandbox, team.group)) == 1
    hoa = [m.text for m in sandbox.sent(team.hoa_dm) if "approved" in (m.text or "")]
    assert hoa == ["✅ Your deal 30M · Acme · 19/11 was approved by Lan Nguyễn. It counts now."]


async def test_a_rejected_deal_stays_in_history_as_rejected(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    await talk.say(team.hoa, team.hoa_dm, "/deal 30tr Acme")
    request = last(sandbox, team.tu_dm)
    entry_id = int(buttons(request)[1].split(":")[1])
    await talk.press(team.tu, team.tu_dm, request, f"ap:{entry_id}:no")
    assert [d[0] for d in deals(db)] == ["rejected"]
    assert celebrations(sandbox, team.group) == []
    assert last(sandbox, team.hoa_dm).text == (
        "❌ Your deal 30M · Acme · 19/11 was rejected by Tú. If you think this is a mistake, "
        "ask them."
    )
    [event] = audits(db, "deal.reject")
    assert event.entity_id == entry_id and event.after == {"status": "rejected"}
    # Pressing Approve afterwards changes nothing.
    lan = last(sandbox, team.leader_dm)
    press = sandbox.press(team.leader, team.leader_dm, lan.message_id, f"ap:{entry_id}:ok")
    await talk.deliver(press)
    answer = sandbox.callback_answer(press)
    assert answer is not None and answer["text"] == "Tú đã từ chối hợp đồng này rồi."
    assert [d[0] for d in deals(db)] == ["rejected"]
    history = await talk.reply(team.hoa, team.hoa_dm, "/history")
    assert "Acme" in history


async def test_editing_a_pending_deal_keeps_it_pending_and_asks_again(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database, clock: Clock
) -> None:
    team = leaders
    sent = sandbox.text(team.minh, team.minh_dm, "/deal 45tr An Phát")
    await talk.deliver(sent)
    first = last(sandbox, team.leader_dm)
    clock.advance(minutes=1)
    await talk.deliver(sandbox.edit(sent, "/deal 50tr An Phát"))
    assert [d[:2] for d in deals(db)] == [("replaced", 45_000_000), ("pending", 50_000_000)]
    second = last(sandbox, team.leader_dm)
    assert second.message_id != first.message_id and "50tr" in second.text
    # The request for the replaced entry no longer decides anything.
    old_id = int(buttons(first)[0].split(":")[1])
    press = sandbox.press(team.leader, team.leader_dm, first.message_id, f"ap:{old_id}:ok")
    await talk.deliver(press)
    answer = sandbox.callback_answer(press)
    assert answer is not None and "không còn chờ duyệt" in answer["text"]
    assert [d[0] for d in deals(db)] == ["replaced", "pending"]


async def test_a_rep_cannot_edit_an_approved_deals_amount_but_a_leader_can(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    await talk.say(team.minh, team.minh_dm, "/deal 10tr An Phát")
    request = last(sandbox, team.leader_dm)
    await talk.press(team.leader, team.leader_dm, request, buttons(request)[0])
    [(status, amount, *_)] = deals(db)
    assert (status, amount) == ("active", 10_000_000)
    entry_id = int(buttons(request)[0].split(":")[1])
    # The approved 10tr must not become 900tr unseen.
    text = await talk.reply(team.minh, team.minh_dm, f"/edit {entry_id} 900tr")
    assert "do quản lý duyệt" in text and "sửa lại tin nhắn" in text
    assert [d[:2] for d in deals(db)] == [("active", 10_000_000)]
    # The approver may correct it.
    await talk.say(team.leader, team.leader_dm, f"/edit {entry_id} 12tr")
    assert [d[:2] for d in deals(db)] == [("active", 12_000_000)]


# --- photos of the contract ----------------------------------------------------------------


async def test_a_photo_captioned_deal_logs_it_and_the_leaders_see_the_photo(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    answers = await talk.deliver(
        sandbox.photo(team.minh, team.minh_dm, png(), caption="/deal 45tr An Phát")
    )
    assert any("chờ quản lý duyệt" in (a.text or "") for a in answers)
    with db.transaction() as s:
        checkin = s.scalars(select(Checkin)).all()[-1]
        assert checkin.photo_file_id
        photo_id = checkin.photo_file_id
    request = last(sandbox, team.leader_dm)
    assert request.kind == "photo" and request.photo is not None
    assert request.text.startswith("🧾 Minh Trần vừa ghi hợp đồng: 45tr · An Phát")
    assert "📎 Có ảnh hợp đồng đính kèm." in request.text
    assert len(buttons(request)) == 2
    assert photo_id
    # Approving from the photo answers under it.
    entry_id = int(buttons(request)[0].split(":")[1])
    await talk.press(team.leader, team.leader_dm, request, f"ap:{entry_id}:ok")
    assert [d[0] for d in deals(db)] == ["active"]
    assert "✅ Lan Nguyễn đã duyệt" in (last(sandbox, team.leader_dm).text or "")


async def test_a_photo_replying_to_the_deals_confirmation_is_kept_and_sent_to_leaders(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    [confirmation] = [
        a
        for a in await talk.say(team.hoa, team.hoa_dm, "/deal 30tr Acme")
        if a.chat_id == team.hoa.id
    ]
    before = len(sandbox.sent(team.leader_dm))
    answers = await talk.deliver(
        sandbox.photo(team.hoa, team.hoa_dm, png(), reply_to=confirmation.message_id)
    )
    assert [a.text for a in answers if a.chat_id == team.hoa.id] == [
        "📎 Photo kept with the deal and sent to the leaders."
    ]
    with db.transaction() as s:
        assert s.scalars(select(Checkin.photo_file_id)).all()[-1]
    new = sandbox.sent(team.leader_dm)[before:]
    assert [m.kind for m in new] == ["photo"]
    assert "Acme" in (new[0].text or "") and len(buttons(new[0])) == 2
    assert [e.action for e in audits(db, "checkin.photo")] == ["checkin.photo"]


async def test_a_photo_replying_to_something_else_is_explained_in_private(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    [confirmation] = [
        a for a in await talk.say(team.hoa, team.hoa_dm, "/call 3") if a.chat_id == team.hoa.id
    ]
    answers = await talk.deliver(
        sandbox.photo(team.hoa, team.hoa_dm, png(), reply_to=confirmation.message_id)
    )
    assert [a.text for a in answers] == [
        "To attach a photo of a contract, send it as a reply to the deal's confirmation, "
        "or with the caption /deal 45m Customer."
    ]
    with db.transaction() as s:
        assert s.scalars(select(Checkin.photo_file_id)).all() == [None]


# --- /approvals and the digest ---------------------------------------------------------------


async def test_approvals_lists_what_waits_oldest_first_with_buttons(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database, clock: Clock
) -> None:
    team = leaders
    await talk.say(team.hoa, team.hoa_dm, "/deal 30tr Acme")
    clock.advance(minutes=5)
    await talk.say(team.minh, team.minh_dm, "/deal 45tr An Phát hôm qua")
    with db.transaction() as s:
        first, second = s.scalars(select(Activity.id).order_by(Activity.id)).all()[-2:]
    answers = await talk.say(team.leader, team.leader_dm, "/duyet")
    [listing] = answers
    assert listing.text.splitlines() == [
        "⏳ Chờ duyệt · Sales HCM (2), cũ nhất trước:",
        f"#{first} · Hoa Lê · 30tr · Acme · 19/11",
        f"#{second} · Minh Trần · 45tr · An Phát · 18/11",
    ]
    assert buttons(listing) == [
        f"ap:{first}:ok",
        f"ap:{first}:no",
        f"ap:{second}:ok",
        f"ap:{second}:no",
    ]
    await talk.press(team.leader, team.leader_dm, listing, f"ap:{second}:ok")
    assert [d[0] for d in deals(db)] == ["pending", "active"]
    # The list keeps the other request's buttons and says what was decided.
    listing = current(sandbox, team.leader_dm, listing)
    assert buttons(listing) == [f"ap:{first}:ok", f"ap:{first}:no"]
    assert listing.text.splitlines()[-1].startswith("✅ Lan Nguyễn đã duyệt hợp đồng 45tr")
    text = await talk.reply(team.tu, team.tu_dm, "/approvals")
    assert text.splitlines()[1:] == [f"#{first} · Hoa Lê · 30M · Acme · 19/11"]
    assert await talk.reply(team.hoa, team.hoa_dm, "/approvals") == (
        "Only a team leader can use this command."
    )
    # Leaders find it in /help; reps do not.
    assert "/approvals (/duyet) — deals waiting for your approval" in await talk.reply(
        team.tu, team.tu_dm, "/help"
    )
    assert "/approvals" not in await talk.reply(team.hoa, team.hoa_dm, "/help")


async def test_the_leader_digest_lists_deals_waiting_for_approval(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database, clock: Clock, app: Any
) -> None:
    team = leaders
    await talk.say(team.minh, team.minh_dm, "/deal 45tr An Phát")
    clock.set_local("2026-11-23 08:30")
    await Scheduler(app).run_due(clock.now)
    digest = last(sandbox, team.leader_dm).text or ""
    assert digest.startswith("🗒 Tổng kết cho quản lý")
    assert "⏳ Hợp đồng chờ duyệt: 1 (/duyet)" in digest
    assert "Minh Trần · 45tr · An Phát · 19/11" in digest


# --- flags -----------------------------------------------------------------------------------


def seed_calls(
    db: Database, first_name: str, days: int, value: int = 10, *, weekend: bool = False
) -> None:
    """Give a rep `days` working days of history, `value` calls a day, before TODAY (and on
    the weekends between them too, with `weekend`: those are no working days)."""
    mid = member_id(db, first_name)
    day = TODAY
    with db.transaction() as s:
        n = 0
        while n < days:
            day -= dt.timedelta(days=1)
            if day.weekday() >= 5 and not weekend:
                continue
            n += day.weekday() < 5
            at = dt.datetime.combine(day, dt.time(3), tzinfo=dt.UTC)
            store.record_checkin(
                s,
                team_id=1,
                member_id=mid,
                actor_id=mid,
                source="command",
                day=day,
                entries=[EntryInput("calls", value)],
                now=at,
            )


async def test_an_outlier_is_flagged_to_leaders_with_a_void_button(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database
) -> None:
    team = leaders
    seed_calls(db, "Minh", 12)
    answers = await talk.say(team.minh, team.minh_dm, "/call 80")
    # A flag never blocks the rep, and the rep is not told.
    assert [a.text.splitlines()[0] for a in answers if a.chat_id == team.minh.id] == [
        "✅ +80 cuộc gọi"
    ]
    with db.transaction() as s:
        entry = s.scalars(select(Activity).order_by(Activity.id.desc())).first()
        assert entry is not None and entry.flags == "outlier" and entry.status == "active"
        entry_id = entry.id
    note = last(sandbox, team.leader_dm)
    assert note.text.splitlines()[:2] == [
        f"🚩 Bạn xem giúp: Minh Trần vừa ghi 80 cuộc gọi · 19/11 (#{entry_id}).",
        "• cao bất thường so với số liệu thường ngày của người này (gấp hơn 5 lần mức trung vị)",
    ]
    assert buttons(note) == [f"fv:{entry_id}"]
    await talk.press(team.leader, team.leader_dm, note, f"fv:{entry_id}")
    with db.transaction() as s:
        voided = s.get(Activity, entry_id)
        assert voided is not None and voided.status == "voided"
    [event] = audits(db, "flag.void")
    assert event.entity_id == entry_id and event.actor_id == member_id(db, "Lan")
    # Tú's copy, pressed after: already voided, by whom; nothing changes.
    tu_note = last(sandbox, team.tu_dm)
    press = sandbox.press(team.tu, team.tu_dm, tu_note.message_id, f"fv:{entry_id}")
    await talk.deliver(press)
    answer_ = sandbox.callback_answer(press)
    assert answer_ is not None and answer_["text"] == "Already voided by Lan Nguyễn."
    assert len(audits(db, "flag.void")) == 1


@pytest.mark.parametrize("weekend", [False, True])
async def test_nine_working_days_of_history_are_not_enough_to_call_an_outlier(
    talk: Talk, sandbox: Sandbox, leaders: Any, db: Database, weekend: bool
) -> None:
    team = leaders
    seed_calls(db, "Minh", 9, weekend=weekend)
    before = len(sandbox.sent(team.leader_dm))
    await talk.say(team.minh, team.minh_dm, "/call 80")
    assert sandbox.sent(team.leader_dm)[before:] == []


async def test_a_duplicate_deal_is_flagged_to_leaders(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database
) -> None:
    await talk.say(team.leader, team.leader_dm, "/start")
    await talk.say(team.hoa, team.group, "/deal 45tr An Phát")
    await talk.say(team.minh, team.group, "/deal 45tr an phát hôm qua")
    with db.transaction() as s:
        first, second = s.scalars(select(Activity.id).order_by(Activity.id)).all()[-2:]
    assert [d[4] for d in deals(db)] == [None, "duplicate"]
    assert [d[0] for d in deals(db)] == ["active", "active"]  # approval off: both count
    note = last(sandbox, team.leader_dm)
    assert note.text.splitlines()[:2] == [
        f"🚩 Bạn xem giúp: Minh Trần vừa ghi 45tr · an phát · 18/11 (#{second}).",
        f"• trùng khách hàng và số tiền với mục #{first}",
    ]
    assert buttons(note) == [f"fv:{second}"]


async def test_a_bulk_backfill_is_named_in_the_leader_digest(
    talk: Talk, sandbox: Sandbox, team: Any, db: Database, clock: Clock, app: Any
) -> None:
    await talk.say(team.leader, team.leader_dm, "/start")
    await talk.say(team.minh, team.minh_dm, "/start")
    for i in range(10):
        clock.advance(minutes=3)
        await talk.say(team.minh, team.minh_dm, f"/call 2 {12 + i % 6}/11")
    clock.set_local("2026-11-23 08:30")
    await Scheduler(app).run_due(clock.now)
    digest = last(sandbox, team.leader_dm).text or ""
    assert "⏪ Ghi bù hàng loạt" in digest
    assert "Minh Trần: 10 mục ngày 19/11" in digest
