"""Every message gets an answer Telegram accepts (issue 8, R5): botched counts are refused, not
stored as 1; quoted values and long lists stay within Telegram's limits; pressing a button twice
is no error; an unknown command is answered with the closest command and /help.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.sandbox import Sandbox
from kpi.models import Activity, Checkin
from tests.support.chat import Talk

MAX_TEXT = 4096


def stored(db: Any) -> tuple[int, int]:
    """Return how many activities and check-ins the database holds."""
    with db.transaction() as s:
        activities = s.scalar(select(func.count()).select_from(Activity))
        checkins = s.scalar(select(func.count()).select_from(Checkin))
    return int(activities or 0), int(checkins or 0)


@pytest.fixture
def failures(app: Any) -> list[BaseException]:
    """Record every exception that reaches the application's error handlers."""
    seen: list[BaseException] = []

    async def record(update: object, context: Any) -> None:
        seen.append(context.error)

    app.add_error_handler(record)
    return seen


def no_failed_call(sandbox: Sandbox, *, unchanged_edits: bool = False) -> None:
    """Assert that Telegram accepted every call the bot made, and no apology was sent.

    With `unchanged_edits`, an edit refused as "message is not modified" is allowed: the bot
    cannot know that a second press finds the message as the first left it.
    """
    refused = [(c.method, c.response) for c in sandbox.calls if not c.ok]
    if unchanged_edits:
        refused = [r for r in refused if "message is not modified" not in str(r[1])]
    assert refused == []
    texts = [m.text or "" for m in sandbox.sent()]
    assert not any("Xin lỗi, có lỗi" in t or "Sorry, something went wrong" in t for t in texts)


# --- counts are numbers, or they are refused ----------------------------------------------------

BOTCHED = ["12O", "1e3", "0x10", "5-", "½", "NaN", "١٢", "3tr", "hôm qua 12O", "12O khách ABC"]


@pytest.mark.parametrize("typed", BOTCHED)
@pytest.mark.parametrize(
    ("who", "first_line", "example"),
    [
        ("minh", "Không đọc được số lượng", "Ví dụ: /call 3"),
        ("hoa", "Cannot read", "Example: /call 3"),
    ],
)
async def test_a_botched_count_is_refused_not_stored_as_one(
    talk: Talk,
    team: Any,
    db: Any,
    sandbox: Sandbox,
    typed: str,
    who: str,
    first_line: str,
    example: str,
) -> None:
    user, dm = getattr(team, who), getattr(team, f"{who}_dm")
    lines = (await talk.reply(user, dm, f"/call {typed}")).splitlines()
    assert lines[0].startswith(first_line), lines
    assert len(lines) == 2 and lines[1].startswith(example), lines
    assert stored(db) == (0, 0)
    no_failed_call(sandbox)


@pytest.mark.parametrize(
    ("typed", "value", "note"),
    [
        ("", 1, None),
        ("3 khách ABC", 3, "khách ABC"),
        ("khách ABC", 1, "khách ABC"),
        ("14:30 gọi lại anh Nam", 1, "14:30 gọi lại anh Nam"),
        ("9h sáng", 1, "9h sáng"),
        ("nản quá", 1, "nản quá"),
        ("NaN Corp", 1, "NaN Corp"),
    ],
)
async def test_counts_and_notes_that_are_no_botched_number_still_log(
    talk: Talk, team: Any, db: Any, typed: str, value: int, note: str | None
) -> None:
    await talk.reply(team.minh, team.minh_dm, f"/goi {typed}".strip())
    with db.transaction() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.metric, a.value, a.note) == ("calls", value, note)


# --- answers stay inside Telegram's limits -------------------------------------------------------


async def test_a_long_value_is_quoted_short_in_a_settings_answer(
    talk: Talk, team: Any, sandbox: Sandbox
) -> None:
    answer = await talk.reply(team.leader, team.group, "/settings timezone " + "x" * 4000)
    assert answer.startswith('Không tìm thấy múi giờ "xxx'), answer[:80]
    assert "…" in answer and len(answer) < 400
    no_failed_call(sandbox)


async def test_a_long_kpi_list_is_split_into_messages_telegram_accepts(
    talk: Talk, team: Any, sandbox: Sandbox
) -> None:
    keys = [f"kpi{i:02d}" for i in range(45)]
    for key in keys:
        name = f"Số {key[3:]} " + "tên dài " * 12
        await talk.say(team.leader, team.leader_dm, f"/kpi add {key} {name}")
    no_failed_call(sandbox)
    answers = await talk.say(team.minh, team.minh_dm, "/kpi")
    assert len(answers) > 1
    texts = [a.text or "" for a in answers]
    assert all(len(text) <= MAX_TEXT for text in texts)
    assert texts[0].startswith("📋")
    whole = "\n".join(texts)
    # Every KPI is listed once, none is cut in half.
    assert all(whole.count(f" {key}") == 1 for key in keys), whole
    no_failed_call(sandbox)


async def test_pressing_the_same_settings_button_twice_is_no_error(
    talk: Talk, team: Any, sandbox: Sandbox, failures: list[BaseException]
) -> None:
    [shown] = await talk.say(team.leader, team.group, "/settings")
    data = next(d for _, d in shown.buttons() if d.startswith("set:reminders"))
    # A double tap: both presses leave the client before the first answer edits the keyboard.
    first = sandbox.press(team.leader, team.group, shown.message_id, data)
    second = sandbox.press(team.leader, team.group, shown.message_id, data)
    assert await talk.deliver(first) == []
    assert await talk.deliver(second) == []
    assert failures == []
    # The second press found the message as the first left it; Telegram said so, and that is fine.
    assert [c.method for c in sandbox.calls if not c.ok] == ["editMessageText"]
    no_failed_call(sandbox, unchanged_edits=True)
    assert "⬜" in sandbox.sent(team.group)[-1].buttons()[0][0]  # reminders are off, once


async def test_choosing_the_same_language_twice_is_no_error(
    talk: Talk, team: Any, sandbox: Sandbox, failures: list[BaseException]
) -> None:
    [shown] = await talk.say(team.minh, team.minh_dm, "/language")
    first = sandbox.press(team.minh, team.minh_dm, shown.message_id, "lang:en")
    second = sandbox.press(team.minh, team.minh_dm, shown.message_id, "lang:en")
    await talk.deliver(first)
    await talk.deliver(second)
    assert failures == []
    no_failed_call(sandbox, unchanged_edits=True)


# --- an unknown command gets an answer ----------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "typed", "answer"),
    [
        (
            "minh",
            "/cal 3",
            "Bot không có lệnh /cal. Có phải ý bạn là /call 3? Gõ /help để xem các lệnh.",
        ),
        (
            "hoa",
            "/cal 3",
            "There is no command /cal. Did you mean /call 3? Type /help to see the commands.",
        ),
        (
            "minh",
            "/gọi 5 khách ABC",
            "Bot không có lệnh /gọi. Có phải ý bạn là /goi 5 khách ABC? Gõ /help để xem các lệnh.",
        ),
        ("hoa", "/leaderbord", "There is no command /leaderbord. Did you mean /leaderboard?"),
        ("minh", "/caidatt", "Bot không có lệnh /caidatt. Có phải ý bạn là /caidat?"),
        ("hoa", "/xyzzy", "There is no command /xyzzy. Type /help to see the commands."),
    ],
)
async def test_an_unknown_command_in_private_names_the_closest_and_help(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, who: str, typed: str, answer: str
) -> None:
    user, dm = getattr(team, who), getattr(team, f"{who}_dm")
    text = await talk.reply(user, dm, typed)
    assert text.startswith(answer), text
    assert stored(db) == (0, 0)
    no_failed_call(sandbox)


async def test_in_a_group_only_unknown_commands_addressed_to_the_bot_are_answered(
    talk: Talk, team: Any, sandbox: Sandbox
) -> None:
    # Other bots' commands are theirs: a bare /cal, or anything addressed to another bot.
    assert await talk.say(team.hoa, team.group, "/cal 3") == []
    assert await talk.say(team.hoa, team.group, "/cal@other_bot 3") == []
    assert await talk.say(team.hoa, team.group, "/call@other_bot 3") == []
    text = await talk.reply(team.hoa, team.group, "/cal@kpi_test_bot 3")
    assert text == (
        "There is no command /cal. Did you mean /call 3? Type /help to see the commands."
    )
    no_failed_call(sandbox)


async def test_an_unknown_command_addressed_to_another_bot_in_private_is_not_answered(
    talk: Talk, team: Any
) -> None:
    assert await talk.say(team.minh, team.minh_dm, "/start@other_bot") == []


async def test_known_commands_are_not_answered_twice(talk: Talk, team: Any) -> None:
    answers = await talk.say(team.minh, team.minh_dm, "/call@kpi_test_bot 2")
    assert [a.text.splitlines()[0] for a in answers if a.text] == ["✅ +2 cuộc gọi"]
