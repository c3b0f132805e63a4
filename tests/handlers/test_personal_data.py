"""Personal data (Vietnam's Decree 13/2023): /start and /join say what the bot stores, /mydata
sends a person their own data as a file, and an admin's /erase (confirmed with a button) takes a
person out of every place the bot keeps text while their numbers stay in the teams' totals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from kpi.models import Activity, AuditEvent, Base, InboxUpdate, Member, OutboxMessage
from tests.support.chat import ADMIN_ID, Talk

STORED_VI = "🔒 Bot lưu tên, username, ID Telegram của bạn và những gì bạn ghi."
STORED_EN = "🔒 The bot stores your name, username, Telegram id and what you log."


# --- what is stored, said at /start and /join ---------------------------------------------------


async def test_start_and_join_say_what_is_stored_and_point_to_mydata(
    talk: Talk, sandbox: Any, team: Any
) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "/start")
    assert f"{STORED_VI} Gõ /mydata để nhận bản sao." in text.splitlines()
    newcomer = sandbox.user("Tú", language_code="en")
    sandbox.join(team.group, newcomer)
    text = await talk.reply(newcomer, team.group, "/join")
    assert text.splitlines()[1] == f"{STORED_EN} /mydata sends you a copy."


# --- /mydata -------------------------------------------------------------------------------------


def _file(answer: Any) -> dict[str, Any]:
    assert answer.kind == "document" and answer.filename.endswith(".json"), answer
    return dict(json.loads(answer.document.decode("utf-8")))


async def test_mydata_sends_the_persons_own_data_in_their_language(talk: Talk, team: Any) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/deal 45m Hong Ha Trading new")
    await talk.say(team.minh, team.minh_dm, "/call 3 khách khó tính")
    [answer] = await talk.say(team.hoa, team.hoa_dm, "/mydata")
    assert answer.text == "📄 Everything the bot keeps about you."
    data = _file(answer)
    assert list(data) == ["about", "profile", "teams", "entries", "changes about you"]
    assert data["profile"]["username"] == "hoa_le"
    assert data["profile"]["Telegram id"] == team.hoa.id
    assert data["teams"] == [
        {
            "team": "Sales HCM",
            "role": "member",
            "status": "active",
            "in rankings": True,
            "joined on": "2026-11-19",
            "left on": None,
        }
    ]
    [deal] = data["entries"]
    assert (deal["metric"], deal["amount"], deal["customer"]) == (
        "deals",
        45_000_000,
        "Hong Ha Trading",
    )
    assert deal["message"] == "/deal 45m Hong Ha Trading new"
    assert [e["what"].splitlines()[0].split(": ", 1)[1] for e in data["changes about you"]] == [
        "joined the team"
    ]
    # Nobody else's data: not Minh's note, not his name.
    assert "khó tính" not in answer.document.decode() and "Minh" not in answer.document.decode()

    [answer] = await talk.say(team.minh, team.minh_dm, "/dulieu")
    data = _file(answer)
    assert "hồ sơ" in data and data["các mục đã ghi"][0]["ghi chú"] == "khách khó tính"


async def test_mydata_asked_in_the_group_goes_to_the_private_chat(talk: Talk, team: Any) -> None:
    answers = await talk.say(team.minh, team.group, "/mydata")
    assert [(a.chat_id, a.kind) for a in answers] == [
        (team.minh.id, "document"),
        (team.group.id, "text"),
    ]
    assert answers[1].text == "📬 Dữ liệu của bạn đã được gửi vào chat riêng."


# --- erasure -------------------------------------------------------------------------------------


@pytest.fixture
async def admin(talk: Talk, sandbox: Any) -> tuple[Any, Any]:
    """A configured admin of the bot, in a private chat with it, reading English."""
    user = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    dm = sandbox.private(user)
    await talk.say(user, dm, "/start")
    return user, dm


def totals(db: Any) -> list[tuple[Any, ...]]:
    """The teams' counted totals per metric."""
    with db.transaction() as s:
        rows = s.execute(
            select(
                Activity.team_id,
                Activity.metric,
                Activity.status,
                func.sum(Activity.value),
                func.coalesce(func.sum(Activity.amount), 0),
                func.count(),
            )
            .group_by(Activity.team_id, Activity.metric, Activity.status)
            .order_by(Activity.team_id, Activity.metric, Activity.status)
        ).all()
    return [tuple(int(v) if isinstance(v, int) else v for v in r) for r in rows]


def everything(db: Any) -> list[tuple[str, str, Any]]:
    """Every value of every column of every table: (table, column, value)."""
    out = []
    with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).mappings():
                for column, value in row.items():
                    out.append((table.name, column, value))
    return out


def holding(db: Any, needles: list[str], telegram_id: int) -> list[tuple[str, str, str]]:
    """Return the places that still hold a needle (text, JSON) or the Telegram id (anywhere)."""
    found = []
    for table, column, value in everything(db):
        if isinstance(value, int) and not isinstance(value, bool) and value == telegram_id:
            found.append((table, column, str(value)))
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        if isinstance(value, str):
            low = value.casefold()
            hits = [n for n in needles if n.casefold() in low]
            if hits:
                found.append((table, column, f"{hits}: {value[:200]}"))
    return found


async def _erase(talk: Talk, admin: tuple[Any, Any], who: str) -> tuple[Any, list[Any]]:
    user, dm = admin
    [question] = await talk.say(user, dm, f"/erase {who}")
    return question, await talk.press(user, dm, question, question.buttons()[0][1])


async def test_erasure_blanks_every_place_and_keeps_the_totals(
    talk: Talk, team: Any, db: Any, sandbox: Any, admin: tuple[Any, Any]
) -> None:
    # Minh logs with notes and a customer, in private and in the group, and is quoted by others.
    await talk.say(team.minh, team.minh_dm, "/call 3 khách khó tính")
    await talk.say(team.minh, team.group, "/deal 45tr Công ty Hồng Hà mới")
    await talk.say(team.minh, team.minh_dm, "gọi 12 cuộc, gặp 3 khách ở Phú Mỹ Hưng")
    with db.transaction() as s:
        entry = int(s.scalar(select(func.min(Activity.id)).where(Activity.metric == "calls")) or 0)
        member_id = int(s.scalar(select(Member.id).where(Member.telegram_id == team.minh.id)) or 0)
    await talk.say(team.minh, team.minh_dm, f"/edit {entry} 4")
    await talk.say(team.leader, team.leader_dm, "/target calls 25 day @minh_tran")
    await talk.say(team.minh, team.minh_dm, "/mute")
    await talk.say(team.minh, team.minh_dm, "/deal 999tỷ")  # a question waits for his button
    # The inbox keeps updates as received (polling and the webhook store them first).
    with db.transaction() as s:
        for i, text in enumerate(("/call 2 Phú Mỹ Hưng", "reply to Minh Trần")):
            update = sandbox.text(team.minh if i == 0 else team.hoa, team.group, text)
            s.add(
                InboxUpdate(
                    key=f"m:{team.group.id}:{9000 + i}",
                    update_id=update["update_id"],
                    payload=update,
                    status="done",
                )
            )
    needles = [
        "Minh Trần",
        "Trần",
        "minh_tran",
        str(team.minh.id),
        "khó tính",
        "Hồng Hà",
        "Phú Mỹ Hưng",
    ]
    assert holding(db, needles, team.minh.id)  # the test finds them before the erasure
    board_before = await talk.reply(team.leader, team.leader_dm, "/month")
    before = totals(db)

    question, _ = await _erase(talk, admin, "@minh_tran")
    assert question.text.startswith("⚠️ Erase Minh Trần (@minh_tran) (teams: Sales HCM)?")
    label = f"Người dùng đã xoá #{member_id}"
    assert sandbox.last(admin[1]).text.splitlines()[0] == (f"🗑 Erased: the person is now {label}.")
    assert "Older backups still hold the data" in sandbox.last(admin[1]).text

    left = holding(db, needles, team.minh.id)
    assert left == [], "\n".join(map(str, left))
    assert totals(db) == before
    board_after = await talk.reply(team.leader, team.leader_dm, "/month")
    assert board_after == board_before.replace("Minh Trần", label)
    with db.transaction() as s:
        m = s.get(Member, member_id)
        assert m is not None
        assert (m.telegram_id, m.username, m.first_name, m.last_name) == (None, None, label, None)
        assert m.erased_at is not None
        erasures = s.scalars(select(AuditEvent).where(AuditEvent.action == "member.erase")).all()
        assert [(e.actor_id is not None, e.after) for e in erasures] == [
            (True, {"member": member_id, "erased": True})
        ]
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) > 0
    # The trail says an erasure happened, naming the person in the reader's language.
    text = await talk.reply(team.leader, team.leader_dm, "/nhatky 1")
    assert text.splitlines()[1].endswith(f"xoá dữ liệu cá nhân theo yêu cầu (về {label})")
    await talk.say(team.leader, team.leader_dm, "/language en")
    text = await talk.reply(team.leader, team.leader_dm, "/audit 1")
    assert text.splitlines()[1].endswith(f"(about Erased user #{member_id})")


async def test_the_confirmation_is_safe_to_press_twice_and_can_be_cancelled(
    talk: Talk, team: Any, db: Any, sandbox: Any, admin: tuple[Any, Any]
) -> None:
    user, dm = admin
    [question] = await talk.say(user, dm, "/erase @hoa_le")
    no = question.buttons()[1][1]
    await talk.press(user, dm, question, no)
    assert sandbox.last(dm).text == "Cancelled: nothing was erased."
    with db.transaction() as s:
        assert s.scalar(select(Member.erased_at).where(Member.username == "hoa_le")) is None

    question, _ = await _erase(talk, admin, "@minh_tran")
    done = sandbox.last(dm).text
    assert done.startswith("🗑 Erased")
    # A second press (sent before the first one's edit took the buttons away) changes nothing.
    await talk.deliver(sandbox.press(user, dm, question.message_id, "er:2:ok", check=False))
    assert sandbox.last(dm).text == done
    answer = sandbox.calls_for("answerCallbackQuery")[-1].params.get("text")
    assert answer == "This question is no longer open."
    with db.transaction() as s:
        count = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "member.erase")
        )
    assert count == 1


async def test_erase_answers_mistakes_and_refuses_non_admins(
    talk: Talk, team: Any, admin: tuple[Any, Any]
) -> None:
    user, dm = admin
    text = await talk.reply(user, dm, "/erase @nobody")
    assert text == (
        "Nobody called @nobody: give their @username or Telegram id (the bot knows people who "
        "have talked to it).\nExample: /erase @minh_tran"
    )
    text = await talk.reply(user, dm, "/erase")
    assert text.startswith("Name one person")
    text = await talk.reply(team.leader, team.leader_dm, "/xoadulieu @minh_tran")
    assert text == "Chỉ admin của bot mới dùng được lệnh này."
