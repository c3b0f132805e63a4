"""/org (/congty): the configured admins rank every member across teams and compare the teams;
nobody else sees the whole company."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.chat import ADMIN_ID, Talk


@pytest.fixture
async def company(talk: Talk, sandbox: Any, team: Any) -> dict[str, Any]:
    """Two teams that logged today, and a configured admin in private."""
    admin = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    vy = sandbox.user("Vy", last_name="Phạm", username="vy_hn", language_code="en")
    nam = sandbox.user("Nam", last_name="Đỗ", username="nam_hn", language_code="en")
    hanoi = sandbox.group("Sales HN", creator=vy, members=[nam])
    await talk.say(vy, hanoi, "/setup")
    await talk.say(nam, hanoi, "/join")
    await talk.say(team.minh, team.minh_dm, "/call 20")
    await talk.say(team.hoa, team.hoa_dm, "/call 5")
    await talk.say(nam, hanoi, "/call 10")
    return {"admin": admin, "admin_dm": sandbox.private(admin), "vy": vy, "nam": nam}


async def test_an_admin_sees_every_member_ranked_and_the_teams_compared(
    talk: Talk, company: dict[str, Any]
) -> None:
    text = await talk.reply(company["admin"], company["admin_dm"], "/org today")
    lines = text.splitlines()
    assert lines[0] == "🏢 Every team · today (19/11)"
    assert lines[1] == "Members (top 3 of 3), overall score:"
    # Minh met his daily target of 20 calls, Nam half of it, Hoa a quarter: across teams.
    assert [line.split(" · ")[:2] for line in lines[2:5]] == [
        ["1. Minh Trần", "Sales HCM"],
        ["2. Nam Đỗ", "Sales HN"],
        ["3. Hoa Lê", "Sales HCM"],
    ]
    assert lines[6] == "Teams, by average score:"
    teams = lines[7:9]
    assert teams[0].startswith("1. Sales HCM · ") and "2/2 logged (100%)" in teams[0]
    assert teams[0].endswith("best: Minh Trần")
    assert teams[1].startswith("2. Sales HN · ") and teams[1].endswith("best: Nam Đỗ")


async def test_the_period_is_read_as_other_reports_read_it(
    talk: Talk, company: dict[str, Any]
) -> None:
    text = await talk.reply(company["admin"], company["admin_dm"], "/congty tháng")
    assert text.startswith("🏢 Every team · this month (01/11–30/11)")
    text = await talk.reply(company["admin"], company["admin_dm"], "/org soon")
    assert text == ('"soon" is not a period: today, week, month or quarter.\nExample: /org month')


@pytest.mark.parametrize("who", ["leader", "rep", "other_leader"])
async def test_nobody_else_sees_the_company(
    talk: Talk, team: Any, company: dict[str, Any], sandbox: Any, who: str
) -> None:
    user = {"leader": team.leader, "rep": team.hoa, "other_leader": company["vy"]}[who]
    answers = await talk.say(user, sandbox.private(user), "/org")
    assert [a.text for a in answers] in (
        ["Only the bot's admins can use this command."],
        ["Chỉ admin của bot mới dùng được lệnh này."],
    )
