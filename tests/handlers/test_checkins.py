"""Every way a rep logs (issue 3): commands, /log, plain language, buttons, backdating, edits.

Each test drives the real Application through the sandbox and checks both what the person sees
(text, buttons, chat) and what the database holds (activities, check-ins, audit events).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.sandbox import ManualClock, Sandbox, SentMessage
from kpi.models import Activity, AuditEvent, Checkin, Member, PendingAction
from tests.support.chat import TODAY, Clock, Talk
from tests.support.checkins import active_total, audits, celebrations, later, one, rows

YESTERDAY = dt.date(2026, 11, 18)

# --- helpers ---------------------------------------------------------------------------------


def count(db: Any, model: Any) -> int:
    """Return how many rows a table holds."""
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def checkins(db: Any) -> list[tuple[int, str, str]]:
    """Return (id, source, status) of every check-in, oldest first."""
    with db.transaction() as s:
        return [
            (c.id, c.source, c.status) for c in s.scalars(select(Checkin).order_by(Checkin.id))
        ]


def answer_in(answers: list[SentMessage], chat: Any) -> SentMessage:
    """Return the one answer in a chat (a logged deal is also celebrated in the group)."""
    return one([a for a in answers if a.chat_id == chat.id])


def me_value(text: str, label: str) -> int:
    """Read a count from a /me line such as `Cuộc gọi hôm nay: 12/20 (60%) ...`."""
    match = re.search(rf"^{re.escape(label)}[^:\n]*: ([\d.,]+)", text, re.MULTILINE)
    assert match is not None, text
    return int(re.sub(r"[.,]", "", match.group(1)))


def no_error_reply(sandbox: Sandbox) -> None:
    """Assert that the bot never answered with its generic error message."""
    texts = [m.text or "" for m in sandbox.sent()]
    assert not any("Xin lỗi, đã có lỗi" in t or "Sorry, something went wrong" in t for t in texts)


# --- every logging command, in both languages --------------------------------------------------

COUNT_CASES = [
    # (who, command, what the confirmation says, metric, value)
    ("minh", "/call 3", "✅ +3 cuộc gọi", "calls", 3),
    ("minh", "/goi 4", "✅ +4 cuộc gọi", "calls", 4),
    ("minh", "/goi", "✅ +1 cuộc gọi", "calls", 1),
    ("minh", "/meeting 2", "✅ +2 cuộc hẹn", "meetings", 2),
    ("minh", "/hen", "✅ +1 cuộc hẹn", "meetings", 1),
    ("minh", "/lead 5", "✅ +5 khách tiềm năng", "leads", 5),
    ("minh", "/email 30", "✅ +30 email", "emails", 30),
    ("minh", "/demo 2", "✅ +2 demo", "demos", 2),
    ("minh", "/proposal 1", "✅ +1 báo giá", "proposals", 1),
    ("hoa", "/call 3", "✅ +3 calls", "calls", 3),
    ("hoa", "/goi 2", "✅ +2 calls", "calls", 2),
    ("hoa", "/meeting", "✅ +1 meetings", "meetings", 1),
    ("hoa", "/hen 2", "✅ +2 meetings", "meetings", 2),
    ("hoa", "/lead 1", "✅ +1 leads", "leads", 1),
    ("hoa", "/email 12", "✅ +12 emails", "emails", 12),
    ("hoa", "/demo 1", "✅ +1 demos", "demos", 1),
    ("hoa", "/proposal 3", "✅ +3 proposals", "proposals", 3),
]


@pytest.mark.parametrize(("who", "command", "shown", "metric", "value"), COUNT_CASES)
async def test_count_command_stores_one_entry_and_confirms_in_private(
    talk: Talk, team: Any, db: Any, who: str, command: str, shown: str, metric: str, value: int
) -> None:
    user, dm = getattr(team, who), getattr(team, f"{who}_dm")
    answer = one(await talk.say(user, dm, command))
    assert answer.chat_id == dm.id
    lines = (answer.text or "").splitlines()
    assert lines[0] == shown
    # Private confirmations carry progress: where the metric stands after this entry.
    assert len(lines) == 2 and re.search(rf": {value}\b", lines[1]), lines
    assert answer.buttons() == []  # commands need no undo button: /undo exists
    assert rows(db) == [(metric, value, None, "active", TODAY)]
    [(_, source, status)] = checkins(db)
    assert (source, status) == ("command", "active")


async def test_count_command_keeps_its_note(talk: Talk, team: Any, db: Any) -> None:
    text = (await talk.reply(team.minh, team.minh_dm, "/call 2 gọi lại anh Tuấn")).splitlines()
    assert text[0] == "✅ +2 cuộc gọi · gọi lại anh Tuấn"
    with db.transaction() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.value, a.note) == (2, "gọi lại anh Tuấn")


async def test_call_confirmation_shows_todays_progress(talk: Talk, team: Any) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "/call 5")
    assert "Cuộc gọi hôm nay: 5/20 (25%) ▓▓░░░░░░░░" in text
    text = await talk.reply(team.hoa, team.hoa_dm, "/call 15")
    assert "Calls today: 15/20 (75%) ▓▓▓▓▓▓▓░░░" in text


DEAL_CASES = [
    # (who, command, first line, (value, amount, customer, new))
    (
        "minh",
        "/deal 45tr Công ty An Phát mới",
        "✅ +1 hợp đồng 45tr · Công ty An Phát (khách mới)",
        (1, 45_000_000, "Công ty An Phát", True),
    ),
    ("minh", "/chot 1,5 tỷ", "✅ +1 hợp đồng 1,5 tỷ", (1, 1_500_000_000, None, False)),
    ("minh", "/deal 2 45tr", "✅ +2 hợp đồng 45tr", (2, 45_000_000, None, False)),
    (
        "minh",
        "/deal 50.000.000 Bình An",
        "✅ +1 hợp đồng 50tr · Bình An",
        (1, 50_000_000, "Bình An", False),
    ),
    (
        "hoa",
        "/deal 45m Acme new",
        "✅ +1 deals 45M · Acme (new customer)",
        (1, 45_000_000, "Acme", True),
    ),
    ("hoa", "/deal 2 45tr", "✅ +2 deals 45M", (2, 45_000_000, None, False)),
    ("hoa", "/chot 500k", "✅ +1 deals 500K", (1, 500_000, None, False)),
]


@pytest.mark.parametrize(("who", "command", "shown", "stored"), DEAL_CASES)
async def test_deal_command_stores_amount_customer_and_new(
    talk: Talk,
    team: Any,
    db: Any,
    who: str,
    command: str,
    shown: str,
    stored: tuple[int, int, str | None, bool],
) -> None:
    user, dm = getattr(team, who), getattr(team, f"{who}_dm")
    text = answer_in(await talk.say(user, dm, command), dm).text or ""
    assert text.splitlines()[0] == shown
    assert "Doanh số tháng này" in text or "Revenue this month" in text  # progress on revenue
    # The group hears about the deal once, in the team's language.
    [cheer] = celebrations(talk.sandbox, team.group)
    assert cheer.startswith(f"🎉 Chúc mừng {user.full_name} ")
    with db.transaction() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.metric, a.value, a.amount, a.customer, a.is_new_customer) == ("deals", *stored)
        assert a.status == "active" and a.day == TODAY
    assert count(db, Checkin) == 1


@pytest.mark.parametrize(
    ("who", "command", "shown", "customer", "note"),
    [
        (
            "minh",
            "/lost Bình Minh - chọn đối thủ",
            "✅ +1 hợp đồng trượt",
            "Bình Minh",
            "chọn đối thủ",
        ),
        ("minh", "/mat", "✅ +1 hợp đồng trượt", None, None),
        ("hoa", "/lost Acme", "✅ +1 lost deals", "Acme", None),
    ],
)
async def test_lost_command(
    talk: Talk,
    team: Any,
    db: Any,
    who: str,
    command: str,
    shown: str,
    customer: str | None,
    note: str | None,
) -> None:
    user, dm = getattr(team, who), getattr(team, f"{who}_dm")
    text = await talk.reply(user, dm, command)
    assert text.splitlines()[0].startswith(shown)
    with db.transaction() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.metric, a.value, a.customer, a.note, a.status) == (
            "lost",
            1,
            customer,
            note,
            "active",
        )


async def test_log_with_several_metrics_is_one_checkin(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "/log calls 12 meetings 2 emails 30")
    assert text.splitlines()[0] == "✅ +12 cuộc gọi, +2 cuộc hẹn, +30 email"
    assert sorted((m, v) for m, v, *_ in rows(db)) == [
        ("calls", 12),
        ("emails", 30),
        ("meetings", 2),
    ]
    [(checkin_id, source, _)] = checkins(db)
    assert source == "log"
    with db.transaction() as s:
        assert set(s.scalars(select(Activity.checkin_id))) == {checkin_id}
    # The Vietnamese alias reads Vietnamese metric words.
    text = await talk.reply(team.hoa, team.hoa_dm, "/ghi goi 3 hen 1")
    assert text.splitlines()[0] == "✅ +3 calls, +1 meetings"
    assert count(db, Checkin) == 2


async def test_bare_log_offers_quick_buttons_and_a_press_logs_one(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    keyboard = one(await talk.say(team.minh, team.minh_dm, "/log"))
    assert keyboard.text == "Bấm để ghi +1:"
    buttons = keyboard.buttons()
    assert ("+1 cuộc gọi", "q:calls") in buttons
    assert ("+1 cuộc hẹn", "q:meetings") in buttons
    assert all(not data.endswith("deals") for _, data in buttons)  # a deal needs an amount
    assert count(db, Activity) == 0
    press = sandbox.press(team.minh, team.minh_dm, keyboard.message_id, "q:calls")
    answer = one(await talk.deliver(press))
    assert (answer.text or "").splitlines() == [
        "✅ +1 cuộc gọi",
        "Cuộc gọi hôm nay: 1/20 (5%) ░░░░░░░░░░",
    ]
    toast = sandbox.callback_answer(press)
    assert toast is not None and "+1 cuộc gọi" in str(toast.get("text"))
    assert rows(db) == [("calls", 1, None, "active", TODAY)]
    assert checkins(db)[0][1] == "button"
    # The keyboard stays: a second press logs one more.
    await talk.press(team.minh, team.minh_dm, keyboard, "q:calls")
    assert active_total(db, "calls") == 2
    # English keyboard for Hoa, in the group: one line naming who pressed.
    await talk.say(team.hoa, team.group, "/log")
    group_keyboard = talk.sandbox.last(team.group)
    assert ("+1 calls", "q:calls") in group_keyboard.buttons()
    answer = one(await talk.press(team.hoa, team.group, group_keyboard, "q:meetings"))
    assert answer.text == "✅ Hoa Lê: +1 meetings"
    assert answer.buttons() == []
    assert active_total(db, "meetings", "Hoa") == 1
    no_error_reply(sandbox)


# --- backdating ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "command", "day", "shown"),
    [
        ("minh", "/call 2 hôm qua", YESTERDAY, "(tính cho ngày 18/11)"),
        ("minh", "/call 2 hom qua", YESTERDAY, "(tính cho ngày 18/11)"),
        ("hoa", "/call 2 yesterday", YESTERDAY, "(counted for 18/11)"),
        ("minh", "/call 2 18/11", YESTERDAY, "(tính cho ngày 18/11)"),
        ("hoa", "/meeting 1 16/11", dt.date(2026, 11, 16), "(counted for 16/11)"),
        ("minh", "/deal 10tr ABC 2026-11-13", dt.date(2026, 11, 13), "(tính cho ngày 13/11)"),
        ("minh", "/log calls 5 meetings 1 hôm qua", YESTERDAY, "(tính cho ngày 18/11)"),
        ("minh", "gọi 5 cuộc hôm qua", YESTERDAY, "(tính cho ngày 18/11)"),
    ],
)
async def test_backdating_sets_the_day(
    talk: Talk, team: Any, db: Any, who: str, command: str, day: dt.date, shown: str
) -> None:
    user, dm = getattr(team, who), getattr(team, f"{who}_dm")
    text = answer_in(await talk.say(user, dm, command), dm).text or ""
    assert shown in text
    stored = rows(db)
    assert stored and all(r[4] == day for r in stored)
    with db.transaction() as s:
        assert s.scalars(select(Checkin.day)).one() == day


@pytest.mark.parametrize(
    ("who", "command", "says"),
    [
        ("minh", "/call 2 20/11/2026", "Không thể ghi cho ngày trong tương lai."),
        # Without a year a date means its most recent occurrence: 20/11/2025, far too old.
        ("minh", "/call 2 20/11", "Chỉ ghi được trong vòng 7 ngày trở lại."),
        ("minh", "/call 2 2026-12-01", "Không thể ghi cho ngày trong tương lai."),
        ("hoa", "/call 2 20/11/2026", "You cannot log for a future date."),
        ("minh", "/call 2 11/11", "Chỉ ghi được trong vòng 7 ngày trở lại."),
        ("hoa", "/deal 10tr 01/11", "You can log at most 7 days back."),
        ("minh", "/log calls 3 01/10", "Chỉ ghi được trong vòng 7 ngày trở lại."),
        ("lan", "/call 2 2026-08-20", "Chỉ ghi được trong vòng 90 ngày trở lại."),
    ],
)
async def test_future_and_too_old_days_are_refused_with_nothing_stored(
    talk: Talk, team: Any, db: Any, who: str, command: str, says: str
) -> None:
    user = team.leader if who == "lan" else getattr(team, who)
    dm = team.leader_dm if who == "lan" else getattr(team, f"{who}_dm")
    text = await talk.reply(user, dm, command)
    assert text.splitlines()[0] == says
    assert text.splitlines()[1].startswith(("Ví dụ: /", "Example: /"))
    assert count(db, Activity) == 0 and count(db, Checkin) == 0


async def test_the_window_counts_from_the_activity_day(talk: Talk, team: Any, db: Any) -> None:
    # 12/11 is exactly 7 days back: still inside a rep's window.
    await talk.say(team.minh, team.minh_dm, "/call 1 12/11")
    assert rows(db) == [("calls", 1, None, "active", dt.date(2026, 11, 12))]


async def test_a_leader_may_go_back_90_days(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.leader, team.leader_dm, "/call 2 01/09")
    assert "(tính cho ngày 01/09)" in text
    answers = await talk.say(team.leader, team.leader_dm, "/deal 20tr 2026-08-21")
    assert "(tính cho ngày 21/08)" in (answer_in(answers, team.leader_dm).text or "")
    assert [r[4] for r in rows(db)] == [dt.date(2026, 9, 1), dt.date(2026, 8, 21)]


# --- an amount that reads two ways ---------------------------------------------------------------


async def test_ambiguous_amount_asks_and_stores_only_the_pressed_reading_once(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    question = one(await talk.say(team.minh, team.minh_dm, "/deal 1.500 Hưng Thịnh"))
    assert "1.500" in (question.text or "") and "hai cách" in (question.text or "")
    labels = [label for label, _ in question.buttons()]
    assert labels[:2] == ["1.500\u00a0₫", "1.500.000\u00a0₫"]
    assert len(question.buttons()) == 3  # the two readings and cancel
    assert count(db, Activity) == 0 and count(db, Checkin) == 0
    pid = question.buttons()[0][1].split(":")[1]
    answers = await talk.press(team.minh, team.minh_dm, question, f"p:{pid}:1")
    answer = answer_in(answers, team.minh_dm)
    assert "✅ +1 hợp đồng 1,5tr · Hưng Thịnh" in (answer.text or "")
    assert "Bot hiểu là" not in (answer.text or "")  # it was a command, not plain language
    with db.transaction() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.value, a.amount, a.customer) == (1, 1_500_000, "Hưng Thịnh")
        pending = s.get(PendingAction, int(pid))
        assert pending is not None and pending.resolved_at is not None
    # The question lost its buttons; a stale client pressing again changes nothing.
    assert sandbox.sent(team.minh_dm)[0].buttons() == []
    for data in (f"p:{pid}:0", f"p:{pid}:1", f"p:{pid}:no"):
        again = sandbox.press(team.minh, team.minh_dm, question.message_id, data, check=False)
        await talk.deliver(again)
    assert rows(db) == [("deals", 1, 1_500_000, "active", TODAY)]
    assert count(db, Checkin) == 1
    assert len(celebrations(sandbox, team.group)) == 1
    no_error_reply(sandbox)


async def test_ambiguous_amount_in_english_and_the_small_reading(
    talk: Talk, team: Any, db: Any
) -> None:
    question = one(await talk.say(team.hoa, team.hoa_dm, "/deal 1.500"))
    assert "can be read two ways" in (question.text or "")
    assert [label for label, _ in question.buttons()] == ["₫1,500", "₫1,500,000", "✖️ Cancel"]
    await talk.press(team.hoa, team.hoa_dm, question, question.buttons()[0][1])
    assert rows(db) == [("deals", 1, 1_500, "active", TODAY)]


async def test_cancelling_an_ambiguous_amount_stores_nothing(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    question = one(await talk.say(team.minh, team.minh_dm, "/chot 1.500"))
    cancel = question.buttons()[-1]
    assert cancel == ("✖️ Hủy", cancel[1]) and cancel[1].endswith(":no")
    await talk.press(team.minh, team.minh_dm, question, cancel[1])
    assert sandbox.sent(team.minh_dm)[0].text == "Đã hủy, không lưu gì."
    assert sandbox.sent(team.minh_dm)[0].buttons() == []
    # Pressing a reading afterwards (a stale client) stores nothing either.
    late = sandbox.press(
        team.minh, team.minh_dm, question.message_id, cancel[1].replace("no", "1"), check=False
    )
    await talk.deliver(late)
    assert count(db, Activity) == 0 and count(db, Checkin) == 0


async def test_someone_else_cannot_press_a_reps_buttons(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    question = one(await talk.say(team.minh, team.group, "/deal 1.500"))
    offered = question.buttons()
    press = sandbox.press(team.hoa, team.group, question.message_id, offered[1][1])
    assert await talk.deliver(press) == []
    toast = sandbox.callback_answer(press)
    assert toast is not None and toast.get("text") == "This button is for the person who logged."
    # The question still asks Minh, with its buttons.
    assert sandbox.sent(team.group)[-1].buttons() == offered
    await talk.deliver(sandbox.press(team.hoa, team.group, question.message_id, offered[2][1]))
    assert sandbox.sent(team.group)[-1].buttons() == offered
    assert count(db, Activity) == 0
    await talk.press(team.minh, team.group, question, offered[1][1])
    assert rows(db) == [("deals", 1, 1_500_000, "active", TODAY)]
    assert active_total(db, "deals", "Minh") == 1
    no_error_reply(sandbox)


async def test_only_the_owner_can_press_an_undo_button_in_the_group(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    answer = one(await talk.say(team.minh, team.group, "@kpi_test_bot gọi 5 cuộc"))
    [(_, data)] = answer.buttons()
    press = sandbox.press(team.hoa, team.group, answer.message_id, data)
    assert await talk.deliver(press) == []
    toast = sandbox.callback_answer(press)
    assert toast is not None and toast.get("text") == "You can only change your own entries."
    assert sandbox.sent(team.group)[-1].buttons() == [("↩️ Hoàn tác", data)]
    assert rows(db) == [("calls", 5, None, "active", TODAY)]
    undone = one(await talk.press(team.minh, team.group, answer, data))
    assert undone.text == "↩️ Đã hoàn tác: +5 cuộc gọi"
    assert rows(db) == [("calls", 5, None, "voided", TODAY)]


# --- sanity bounds -------------------------------------------------------------------------------


async def test_a_value_beyond_the_bound_asks_and_yes_stores(
    talk: Talk, team: Any, db: Any
) -> None:
    question = one(await talk.say(team.minh, team.minh_dm, "/call 400"))
    assert "400" in (question.text or "") and "300" in (question.text or "")
    assert question.buttons() == [
        ("✅ Lưu", question.buttons()[0][1]),
        ("✖️ Hủy", question.buttons()[1][1]),
    ]
    assert question.buttons()[0][1].endswith(":yes")
    assert count(db, Activity) == 0
    answer = one(await talk.press(team.minh, team.minh_dm, question, question.buttons()[0][1]))
    assert (answer.text or "").splitlines()[0] == "✅ +400 cuộc gọi"  # a command: no "understood"
    assert answer.buttons() == []
    assert rows(db) == [("calls", 400, None, "active", TODAY)]


async def test_a_value_beyond_the_bound_and_no_stores_nothing(
    talk: Talk, team: Any, db: Any
) -> None:
    question = one(await talk.say(team.hoa, team.hoa_dm, "/call 400"))
    assert "Save anyway?" in (question.text or "")
    await talk.press(team.hoa, team.hoa_dm, question, question.buttons()[1][1])
    assert talk.sandbox.sent(team.hoa_dm)[-1].text == "Cancelled, nothing saved."
    assert count(db, Activity) == 0 and count(db, Checkin) == 0


async def test_the_bound_counts_what_was_logged_earlier_that_day(
    talk: Talk, team: Any, db: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 250")
    question = one(await talk.say(team.minh, team.minh_dm, "/call 60"))
    assert "310" in (question.text or "")
    assert active_total(db, "calls") == 250


async def test_a_deal_above_50_ty_asks_too(talk: Talk, team: Any, db: Any) -> None:
    question = one(await talk.say(team.minh, team.minh_dm, "/deal 60 tỷ Tập đoàn X"))
    assert "60.000.000.000" in (question.text or "")
    assert "50.000.000.000" in (question.text or "")
    assert count(db, Activity) == 0
    await talk.press(team.minh, team.minh_dm, question, question.buttons()[0][1])
    assert rows(db) == [("deals", 1, 60_000_000_000, "active", TODAY)]
    # 50 tỷ itself is within the bound.
    await talk.say(team.hoa, team.hoa_dm, "/deal 50 tỷ")
    assert rows(db)[-1] == ("deals", 1, 50_000_000_000, "active", TODAY)


# --- plain language ------------------------------------------------------------------------------


async def test_plain_vietnamese_is_one_checkin_with_an_undo_button(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    answers = await talk.say(team.minh, team.minh_dm, "goi 12 cuoc, gap 3 khach, chot 2 deal 45tr")
    answer = answer_in(answers, team.minh_dm)
    lines = (answer.text or "").splitlines()
    assert lines[0] == "Bot hiểu là:"
    assert lines[1] == "✅ +12 cuộc gọi, +3 cuộc hẹn, +2 hợp đồng 45tr"
    assert sorted((m, v, a) for m, v, a, *_ in rows(db)) == [
        ("calls", 12, None),
        ("deals", 2, 45_000_000),
        ("meetings", 3, None),
    ]
    [(checkin_id, source, _)] = checkins(db)
    assert source == "text"
    assert answer.buttons() == [("↩️ Hoàn tác", f"u:{checkin_id}")]
    undone = one(await talk.press(team.minh, team.minh_dm, answer, f"u:{checkin_id}"))
    assert (undone.text or "").startswith("↩️ Đã hoàn tác: +12 cuộc gọi")
    assert {r[3] for r in rows(db)} == {"voided"}
    assert checkins(db)[0][2] == "voided"
    assert len(audits(db, "checkin.void")) == 1
    # The button is gone; a stale press does nothing more.
    assert sandbox.sent(team.minh_dm)[0].buttons() == []
    stale = sandbox.press(
        team.minh, team.minh_dm, answer.message_id, f"u:{checkin_id}", check=False
    )
    await talk.deliver(stale)
    assert len(audits(db, "checkin.void")) == 1
    no_error_reply(sandbox)


async def test_plain_vietnamese_with_diacritics(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "gọi 12 cuộc, gặp 3 khách, chốt 2 deal 45tr")
    assert sorted((m, v, a) for m, v, a, *_ in rows(db)) == [
        ("calls", 12, None),
        ("deals", 2, 45_000_000),
        ("meetings", 3, None),
    ]


async def test_plain_english(talk: Talk, team: Any, db: Any) -> None:
    answer = one(await talk.say(team.hoa, team.hoa_dm, "12 calls, 3 meetings"))
    lines = (answer.text or "").splitlines()
    assert lines[:2] == ["Here is what I understood:", "✅ +12 calls, +3 meetings"]
    assert answer.buttons()[0][0] == "↩️ Undo"
    assert sorted((m, v) for m, v, *_ in rows(db)) == [("calls", 12), ("meetings", 3)]
    assert count(db, Checkin) == 1


async def test_plain_language_reports_unknown_words(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.hoa, team.hoa_dm, "12 calls, 3 bananas")
    assert "✅ +12 calls" in text
    assert text.splitlines()[-1].startswith("Not understood:") and "bananas" in text
    assert [(m, v) for m, v, *_ in rows(db)] == [("calls", 12)]


async def test_plain_language_with_nothing_to_log(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "xin chào")
    assert text.splitlines()[0] == "Bot chưa hiểu bạn muốn ghi gì."
    assert text.splitlines()[1].startswith("Ví dụ: ")
    assert count(db, Activity) == 0 and count(db, Checkin) == 0


async def test_group_chatter_not_addressed_to_the_bot_is_ignored(
    talk: Talk, team: Any, db: Any
) -> None:
    assert await talk.say(team.minh, team.group, "gọi 5 cuộc") == []
    assert await talk.say(team.hoa, team.group, "12 calls today, nice") == []
    assert count(db, Activity) == 0 and count(db, Checkin) == 0


async def test_group_message_replying_to_the_bot_is_logged(talk: Talk, team: Any, db: Any) -> None:
    bot_message = one(await talk.say(team.minh, team.group, "/call 1"))
    answer = one(await talk.say(team.minh, team.group, "gọi 5", reply_to=bot_message.message_id))
    assert answer.chat_id == team.group.id
    assert answer.text == "✅ Minh Trần: +5 cuộc gọi"
    assert active_total(db, "calls") == 6


async def test_group_message_mentioning_the_bot_is_logged(talk: Talk, team: Any, db: Any) -> None:
    answer = one(await talk.say(team.minh, team.group, "@kpi_test_bot gọi 5"))
    assert answer.text == "✅ Minh Trần: +5 cuộc gọi"
    assert rows(db) == [("calls", 5, None, "active", TODAY)]
    answer = one(await talk.say(team.hoa, team.group, "3 meetings @KPI_test_bot"))
    assert answer.text == "✅ Hoa Lê: +3 meetings"


async def test_a_group_reply_to_someone_else_is_ignored(talk: Talk, team: Any, db: Any) -> None:
    first = talk.sandbox.text(team.hoa, team.group, "hôm nay bận quá")
    await talk.deliver(first)
    reply_to = first["message"]["message_id"]
    assert await talk.say(team.minh, team.group, "gọi 5", reply_to=reply_to) == []
    assert count(db, Activity) == 0


# --- corrections ---------------------------------------------------------------------------------


async def test_undo_voids_the_last_checkin_whole(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await talk.say(team.minh, team.minh_dm, "/log calls 12 meetings 2 emails 30")
    before = await talk.reply(team.minh, team.minh_dm, "/me")
    assert me_value(before, "Cuộc gọi") == 17
    text = await talk.reply(team.minh, team.minh_dm, "/undo")
    assert text == "↩️ Đã hoàn tác: +12 cuộc gọi, +2 cuộc hẹn, +30 email"
    assert sorted((m, v, st) for m, v, _, st, _ in rows(db)) == [
        ("calls", 5, "active"),
        ("calls", 12, "voided"),
        ("emails", 30, "voided"),
        ("meetings", 2, "voided"),
    ]
    assert [st for *_, st in checkins(db)] == ["active", "voided"]
    [event] = audits(db, "checkin.void")
    assert event.before is not None
    assert sorted(e["value"] for e in event.before["entries"]) == [2, 12, 30]
    after = await talk.reply(team.minh, team.minh_dm, "/me")
    assert me_value(after, "Cuộc gọi") == 5
    # The next /undo takes the one before; then there is nothing left.
    await talk.say(team.minh, team.minh_dm, "/undo")
    assert active_total(db, "calls") == 0
    assert await talk.reply(team.minh, team.minh_dm, "/undo") == "Không có gì để hoàn tác."
    assert await talk.reply(team.hoa, team.hoa_dm, "/undo") == "Nothing to undo."


async def test_undo_only_takes_the_callers_own_checkin(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await talk.say(team.hoa, team.hoa_dm, "/call 7")
    await talk.say(team.minh, team.minh_dm, "/undo")
    assert active_total(db, "calls", "Hoa") == 7
    assert active_total(db, "calls", "Minh") == 0


async def test_history_lists_entries_with_ids(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await talk.say(team.minh, team.minh_dm, "/deal 45tr An Phát")
    await talk.say(team.minh, team.minh_dm, "/meeting 2")
    await talk.say(team.minh, team.minh_dm, "/undo")
    await talk.say(team.hoa, team.hoa_dm, "/call 9")
    text = await talk.reply(team.minh, team.minh_dm, "/history")
    ids = {metric: entry_id for entry_id, metric in _ids(db)[:3]}  # Minh's three entries
    assert text.splitlines()[0] == "🗂 Lịch sử gần đây"
    assert f"#{ids['calls']} 19/11 +5 cuộc gọi" in text
    assert f"#{ids['deals']} 19/11 +1 hợp đồng 45tr · An Phát" in text
    assert f"#{ids['meetings']} 19/11 +2 cuộc hẹn (đã hủy)" in text
    assert "+9" not in text  # Hoa's entry is not Minh's history
    lines = text.splitlines()
    assert lines.index(next(x for x in lines if "cuộc hẹn" in x)) < lines.index(
        next(x for x in lines if "cuộc gọi" in x)
    )  # newest first
    en = await talk.reply(team.hoa, team.hoa_dm, "/history")
    assert en.splitlines()[0] == "🗂 Recent entries" and "+9 calls" in en


async def test_edit_changes_a_count_and_keeps_the_old_value(
    talk: Talk, team: Any, db: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    [(entry_id, *_)] = _ids(db)
    text = await talk.reply(team.minh, team.minh_dm, f"/edit {entry_id} 8")
    assert text == f"✏️ Đã sửa mục #{entry_id}: +5 cuộc gọi → +8 cuộc gọi"
    assert rows(db) == [("calls", 8, None, "active", TODAY)]
    [event] = audits(db, "entry.edit")
    assert event.before is not None and event.after is not None
    assert (event.before["value"], event.after["value"]) == (5, 8)
    assert event.entity_id == entry_id
    assert me_value(await talk.reply(team.minh, team.minh_dm, "/me"), "Cuộc gọi") == 8
    # /sua is the Vietnamese alias; "#id" works too.
    await talk.say(team.minh, team.minh_dm, f"/sua #{entry_id} 6")
    assert rows(db)[0][1] == 6


async def test_edit_changes_a_deals_amount(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/deal 45tr Acme")
    [(entry_id, *_)] = _ids(db)
    text = await talk.reply(team.hoa, team.hoa_dm, f"/edit {entry_id} 50tr")
    assert text == f"✏️ Entry #{entry_id}: +1 deals 45M · Acme → +1 deals 50M · Acme"
    assert rows(db) == [("deals", 1, 50_000_000, "active", TODAY)]
    [event] = audits(db, "entry.edit")
    assert event.before is not None and event.before["amount"] == 45_000_000


async def test_void_one_entry(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/log calls 12 meetings 2")
    ids = {metric: entry_id for entry_id, metric in _ids(db)}
    text = await talk.reply(team.minh, team.minh_dm, f"/void {ids['meetings']}")
    assert text == f"🗑 Đã hủy mục #{ids['meetings']}: +2 cuộc hẹn"
    assert sorted((m, st) for m, _, _, st, _ in rows(db)) == [
        ("calls", "active"),
        ("meetings", "voided"),
    ]
    assert checkins(db)[0][2] == "active"  # the calls still count
    [event] = audits(db, "entry.void")
    assert event.before is not None and event.before["status"] == "active"
    # Voiding the last counted entry voids the check-in too; voiding twice is refused.
    await talk.say(team.minh, team.minh_dm, f"/huy {ids['calls']}")
    assert checkins(db)[0][2] == "voided"
    again = await talk.reply(team.minh, team.minh_dm, f"/void {ids['calls']}")
    assert again.startswith("Không tìm thấy mục này")
    assert len(audits(db, "entry.void")) == 2


async def test_a_rep_cannot_change_another_reps_entry_a_leader_can(
    talk: Talk, team: Any, db: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await talk.say(team.minh, team.minh_dm, "/meeting 1")
    (calls_id, _), (meetings_id, _) = _ids(db)
    assert (
        await talk.reply(team.hoa, team.hoa_dm, f"/edit {calls_id} 50")
        == "You can only change your own entries."
    )
    assert (
        await talk.reply(team.hoa, team.hoa_dm, f"/void {meetings_id}")
        == "You can only change your own entries."
    )
    assert [(m, v, st) for m, v, _, st, _ in rows(db)] == [
        ("calls", 5, "active"),
        ("meetings", 1, "active"),
    ]
    assert audits(db, "entry.edit") == [] and audits(db, "entry.void") == []
    await talk.say(team.leader, team.leader_dm, f"/edit {calls_id} 6")
    await talk.say(team.leader, team.group, f"/void {meetings_id}")
    assert [(m, v, st) for m, v, _, st, _ in rows(db)] == [
        ("calls", 6, "active"),
        ("meetings", 1, "voided"),
    ]
    with db.transaction() as s:
        lan = s.scalars(select(Member).where(Member.first_name == "Lan")).one()
        actors = set(
            s.scalars(select(AuditEvent.actor_id).where(AuditEvent.action.like("entry.%")))
        )
    assert actors == {lan.id}


async def test_editing_an_entry_older_than_the_window_is_refused(
    talk: Talk, team: Any, db: Any, clock: Clock
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    [(entry_id, _)] = _ids(db)
    clock.advance(days=8)
    text = await talk.reply(team.minh, team.minh_dm, f"/edit {entry_id} 9")
    assert text == "Mục này đã quá 7 ngày nên không sửa được nữa."
    assert (await talk.reply(team.minh, team.minh_dm, f"/void {entry_id}")).startswith(
        "Mục này đã quá 7 ngày"
    )
    assert rows(db) == [("calls", 5, None, "active", TODAY)]
    # A leader's window is 90 days.
    await talk.say(team.leader, team.leader_dm, f"/edit {entry_id} 9")
    assert rows(db)[0][1] == 9


def _ids(db: Any) -> list[tuple[int, str]]:
    with db.transaction() as s:
        return [
            (i, m)
            for i, m in s.execute(select(Activity.id, Activity.metric).order_by(Activity.id))
        ]


# --- edited Telegram messages -------------------------------------------------------------------


async def test_an_edited_command_replaces_its_checkin(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "/call 3")
    await talk.deliver(sent)
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/call 5")))
    assert (answer.text or "").splitlines()[0] == "✏️ Đã cập nhật theo tin nhắn đã sửa:"
    assert "✅ +5 cuộc gọi" in (answer.text or "")
    assert rows(db) == [
        ("calls", 3, None, "replaced", TODAY),
        ("calls", 5, None, "active", TODAY),
    ]
    assert count(db, Checkin) == 1
    [event] = audits(db, "checkin.edit_message")
    assert event.before is not None and event.before["text"] == "/call 3"
    later(sandbox)
    await talk.deliver(sandbox.edit(sent, "/call 7 hôm qua"))
    assert active_total(db, "calls") == 7
    assert [r[4] for r in rows(db, status="active")] == [YESTERDAY]
    assert count(db, Checkin) == 1
    assert me_value(await talk.reply(team.minh, team.minh_dm, "/me"), "Cuộc gọi") == 0


async def test_an_edited_plain_message_replaces_its_checkin(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.hoa, team.hoa_dm, "12 calls, 3 meetings")
    await talk.deliver(sent)
    later(sandbox)
    await talk.deliver(sandbox.edit(sent, "10 calls, 3 meetings, 2 demos"))
    later(sandbox)
    await talk.deliver(sandbox.edit(sent, "10 calls, 4 meetings, 2 demos"))
    assert sorted((m, v) for m, v, *_ in rows(db, status="active")) == [
        ("calls", 10),
        ("demos", 2),
        ("meetings", 4),
    ]
    assert len(rows(db, status="replaced")) == 5
    assert count(db, Checkin) == 1 and checkins(db)[0][2] == "active"


async def test_an_edit_that_logs_nothing_undoes_the_checkin(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "gọi 5 cuộc")
    await talk.deliver(sent)
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "xin chào")))
    assert "không còn gì để ghi" in (answer.text or "")
    assert rows(db) == [("calls", 5, None, "replaced", TODAY)]
    assert checkins(db)[0][2] == "voided"


async def test_editing_a_message_that_logged_nothing_is_ignored(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.group, "chào cả nhà")
    await talk.deliver(sent)
    later(sandbox)
    assert await talk.deliver(sandbox.edit(sent, "gọi 5 cuộc")) == []
    assert count(db, Activity) == 0


async def test_an_edit_in_the_group_replaces_the_group_checkin(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.hoa, team.group, "/deal 45tr Acme")
    await talk.deliver(sent)
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/deal 2 90tr Acme")))
    assert answer.chat_id == team.group.id
    assert [(v, a) for _, v, a, *_ in rows(db, status="active")] == [(2, 90_000_000)]


# --- exactly once (R1) ---------------------------------------------------------------------------


@pytest.mark.parametrize("times", [1, 2, 3, 4, 5])
async def test_a_command_delivered_several_times_counts_once(
    talk: Talk, team: Any, db: Any, times: int
) -> None:
    update = talk.sandbox.text(team.minh, team.minh_dm, "/log calls 4 meetings 1")
    answers = [await talk.deliver(update) for _ in range(times)]
    assert len(answers[0]) == 1 and all(a == [] for a in answers[1:])
    assert active_total(db, "calls") == 4 and active_total(db, "meetings") == 1
    assert count(db, Checkin) == 1
    deal = talk.sandbox.text(team.hoa, team.hoa_dm, "/deal 2 45tr Acme")
    for _ in range(times):
        await talk.deliver(deal)
    assert rows(db, status="active")[-1] == ("deals", 2, 45_000_000, "active", TODAY)
    assert count(db, Checkin) == 2
    assert len(celebrations(talk.sandbox, team.group)) == 1


@pytest.mark.parametrize("times", [1, 2, 3, 4, 5])
async def test_a_button_press_delivered_several_times_counts_once(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, times: int
) -> None:
    keyboard = one(await talk.say(team.minh, team.minh_dm, "/log"))
    press = sandbox.press(team.minh, team.minh_dm, keyboard.message_id, "q:calls")
    for _ in range(times):
        await talk.deliver(press)
    assert active_total(db, "calls") == 1
    question = one(await talk.say(team.minh, team.minh_dm, "/deal 1.500"))
    choose = sandbox.press(team.minh, team.minh_dm, question.message_id, question.buttons()[1][1])
    for _ in range(times):
        await talk.deliver(choose)
    assert rows(db, status="active")[-1] == ("deals", 1, 1_500_000, "active", TODAY)
    assert count(db, Activity) == 2 and count(db, Checkin) == 2
    no_error_reply(sandbox)


@pytest.mark.parametrize("times", [1, 2, 3, 4, 5])
async def test_an_edit_delivered_several_times_counts_once(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, times: int
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "/call 3")
    await talk.deliver(sent)
    later(sandbox)
    edit = sandbox.edit(sent, "/call 5")
    for _ in range(times):
        await talk.deliver(edit)
    assert active_total(db, "calls") == 5
    assert len(rows(db, status="replaced")) == 1
    assert len(audits(db, "checkin.edit_message")) == 1


# --- two teams ---------------------------------------------------------------------------------


async def test_a_person_in_two_teams_is_asked_which_team_and_it_is_remembered(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    boss = sandbox.user("Bình", language_code="vi")
    second = sandbox.group("Sales HN", creator=boss, members=[team.minh])
    await talk.say(boss, second, "/setup")
    await talk.say(team.minh, second, "/join")
    # Joining remembers the first team as the private chat's team; a person who has not
    # picked one yet (as after an erased choice) is asked.
    with db.transaction() as s:
        s.scalars(select(Member).where(Member.first_name == "Minh")).one().current_team_id = None
    question = one(await talk.say(team.minh, team.minh_dm, "/call 2"))
    assert (question.text or "").startswith("Bạn thuộc nhiều đội.")
    buttons = question.buttons()
    assert [label for label, _ in buttons] == ["Sales HCM", "Sales HN"]
    assert all(re.fullmatch(r"team:\d+", data) for _, data in buttons)
    assert count(db, Activity) == 0
    await talk.press(team.minh, team.minh_dm, question, buttons[1][1])
    assert sandbox.sent(team.minh_dm)[-1].text == "Đã chọn đội Sales HN."
    text = await talk.reply(team.minh, team.minh_dm, "/call 2")
    assert text.startswith("✅ +2 cuộc gọi")
    await talk.say(team.minh, team.minh_dm, "gọi 3 cuộc")
    team_hn = int(buttons[1][1].split(":")[1])
    with db.transaction() as s:
        assert set(s.scalars(select(Activity.team_id))) == {team_hn}
    # In a group the group decides the team: no question.
    assert (
        one(await talk.say(team.minh, team.group, "/call 1")).text == "✅ Minh Trần: +1 cuộc gọi"
    )
    with db.transaction() as s:
        assert s.scalar(select(func.count(func.distinct(Activity.team_id)))) == 2


# --- where and how the confirmation is shown -----------------------------------------------------


async def test_group_confirmation_is_one_line_private_carries_progress(
    talk: Talk, team: Any
) -> None:
    group = one(await talk.say(team.minh, team.group, "/log calls 12 meetings 2 emails 30"))
    assert group.chat_id == team.group.id
    assert group.text == "✅ Minh Trần: +12 cuộc gọi, +2 cuộc hẹn, +30 email"
    group = one(await talk.say(team.minh, team.group, "/call 1 hôm qua"))
    assert group.text is not None and "\n" not in group.text
    assert group.text == "✅ Minh Trần: +1 cuộc gọi (tính cho ngày 18/11)"
    private = one(await talk.say(team.minh, team.minh_dm, "/call 2"))
    assert private.chat_id == team.minh_dm.id
    lines = (private.text or "").splitlines()
    assert lines[0] == "✅ +2 cuộc gọi"
    assert lines[1] == "Cuộc gọi hôm nay: 14/20 (70%) ▓▓▓▓▓▓▓░░░"


async def test_names_notes_and_customers_with_markup_are_shown_literally(
    talk: Talk, sandbox: Sandbox, db: Any
) -> None:
    lan = sandbox.user("Lan", language_code="vi")
    odd = sandbox.user("<b>x</b>", last_name="A & B", language_code="vi")
    group = sandbox.group("<i>Sales</i> & Co", creator=lan, members=[odd])
    await talk.say(lan, group, "/setup")
    await talk.say(odd, group, "/join")
    dm = sandbox.private(odd)
    answer = one(await talk.say(odd, group, "/call 2 <b>x</b> & y"))
    assert answer.text == "✅ <b>x</b> A & B: +2 cuộc gọi · <b>x</b> & y"
    confirmation, cheer = await talk.say(odd, group, "/deal 10tr <b>Cty</b> & <i>co</i> mới")
    assert (
        confirmation.text
        == "✅ <b>x</b> A & B: +1 hợp đồng 10tr · <b>Cty</b> & <i>co</i> (khách mới)"
    )
    assert (cheer.text or "").startswith("🎉 Chúc mừng <b>x</b> A & B ")
    text = await talk.reply(odd, dm, "/lost &amp; </code> - <a href='x'>y</a>")
    assert text.startswith("✅ +1 hợp đồng trượt")
    text = await talk.reply(odd, dm, "/history")
    assert "· <b>Cty</b> & <i>co</i>" in text and "· <b>x</b> & y" in text
    text = await talk.reply(odd, dm, "gọi 3 cuộc <b>ồ</b> & &lt;")
    assert "✅ +3 cuộc gọi" in text
    # The reader drops the brackets at the words' edges; what is left is shown as typed.
    assert text.splitlines()[-1] == "Bỏ qua (không hiểu): b>ồ</b, &lt"
    with db.transaction() as s:
        assert (
            s.scalar(select(Activity.customer).where(Activity.metric == "deals"))
            == "<b>Cty</b> & <i>co</i>"
        )
    no_error_reply(sandbox)


async def test_an_edit_the_next_day_keeps_the_day_the_message_meant(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, clock: Any
) -> None:
    later(sandbox)
    sandbox.clock = ManualClock(clock.now.timestamp())  # the message is sent "now"
    sent = sandbox.text(team.minh, team.minh_dm, "/call 3 hôm qua")
    await talk.deliver(sent)
    clock.advance(days=1)
    sandbox.clock.advance(86400)
    await talk.deliver(sandbox.edit(sent, "/call 4 hôm qua"))
    # "hôm qua" still means the day before the message was sent, not before the edit.
    assert [r[4] for r in rows(db, status="active")] == [YESTERDAY]
    assert active_total(db, "calls") == 4


async def test_editing_an_undone_message_does_not_bring_it_back(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "/call 3")
    await talk.deliver(sent)
    await talk.say(team.minh, team.minh_dm, "/undo")
    later(sandbox)
    assert await talk.deliver(sandbox.edit(sent, "/call 5")) == []
    assert active_total(db, "calls") == 0


async def test_an_edit_is_not_counted_against_the_bound_twice(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "/call 200")
    await talk.deliver(sent)
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/call 250")))
    # 250 calls is under the daily bound of 300: stored without a question.
    assert "✅ +250 cuộc gọi" in (answer.text or "")
    assert active_total(db, "calls") == 250


async def test_an_edit_beyond_the_sanity_bound_asks_first(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    with db.transaction() as s:
        entry_id = s.scalar(select(func.max(Activity.id)))
    [question] = await talk.say(team.minh, team.minh_dm, f"/edit {entry_id} 400")
    assert "400 cuộc gọi trong một ngày? Cao hơn mức thường gặp (300)" in (question.text or "")
    assert active_total(db, "calls") == 5  # nothing changed yet
    [label_yes, label_no] = question.buttons()
    assert label_yes[1].startswith("e:") and label_no[1].endswith(":no")
    await talk.press(team.minh, team.minh_dm, question, label_no[1])
    assert active_total(db, "calls") == 5
    [question] = await talk.say(team.minh, team.minh_dm, f"/edit {entry_id} 400")
    [answer] = await talk.press(team.minh, team.minh_dm, question, question.buttons()[0][1])
    assert (answer.text or "").startswith(f"✏️ Đã sửa mục #{entry_id}: +5 cuộc gọi → +400 cuộc gọi")
    assert active_total(db, "calls") == 400
    # Pressing it again (an old copy of the keyboard) changes nothing more.
    data = question.buttons()[0][1]
    [again] = await talk.deliver(
        sandbox.press(team.minh, team.minh_dm, question.message_id, data, check=False)
    )
    assert again.text == "Nút này đã hết hạn hoặc đã được dùng."
    assert active_total(db, "calls") == 400
