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
from tests.conftest import Talk

MAX_TEXT = 4096


def stored(db: Any) -> tuple[int, int]:
    """Return how many activities and check-ins the database holds."""
    with db.transaction() as s:
        activities = s.scalar(select(func.count()).select_from(Activity))
        checkins = s.scalar(select(func.count()).select_from(Checkin))
    return int(activities or 0), int(checkins or 0)


def no_failed_call(sandbox: Sandbox) -> None:
    """Assert that Telegram accepted every call the bot made, and no apology was sent."""
    assert [(c.method, c.response) for c in sandbox.calls if not c.ok] == []
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
