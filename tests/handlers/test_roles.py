"""QUALITY.md R6: every command × admin / leader / rep / non-member / other team's member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from kpi.models import Activity, AuditEvent, KpiDefinition, Target, Team
from tests.support.chat import ADMIN_ID, Talk

ROLES = ("admin", "leader", "rep", "outsider", "other_team")


@pytest.fixture
async def cast(talk: Talk, sandbox: Any, team: Any) -> dict[str, Any]:
    """The team fixture plus a configured admin (not a member), an outsider, another team."""
    admin = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    outsider = sandbox.user("Out", language_code="en")
    other_leader = sandbox.user("Vy", language_code="en")
    other_rep = sandbox.user("Nam", language_code="en")
    other = sandbox.group("Sales HN", creator=other_leader, members=[other_rep])
    await talk.say(other_leader, other, "/setup")
    await talk.say(other_rep, other, "/join")
    for u in (team.leader, team.minh, admin, outsider, other_rep):
        await talk.say(u, sandbox.private(u), "/start")
    # The three who are not in the team are in its Telegram group nonetheless.
    for u in (admin, outsider, other_rep):
        sandbox.join(team.group, u)
    await talk.say(team.minh, team.minh_dm, "/call 3")
    return {
        "admin": admin,
        "leader": team.leader,
        "rep": team.hoa,
        "outsider": outsider,
        "other_team": other_rep,
        "group": team.group,
    }


def counts(db: Any) -> tuple[int, ...]:
    with db.transaction() as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Activity, Target, AuditEvent, KpiDefinition)
        )


# command, where it is sent, the roles allowed, a fragment of the refusal each other role sees
LEADER_COMMANDS = [
    ("/target calls 30 day", ("Target for Calls", "Chỉ tiêu Cuộc gọi")),
    ("/kpi weight calls 30%", ("Weight of Calls", "Trọng số Cuộc gọi")),
    ("/settings show top 3", ("Saved", "Đã lưu")),
]


@pytest.mark.parametrize(("command", "success"), LEADER_COMMANDS)
@pytest.mark.parametrize("role", ROLES)
async def test_leader_commands_in_the_group(
    talk: Talk, cast: dict[str, Any], db: Any, role: str, command: str, success: tuple[str, str]
) -> None:
    user, group = cast[role], cast["group"]
    before = counts(db)
    answers = await talk.say(user, group, command)
    text = "\n".join(a.text or "" for a in answers)
    if role in ("admin", "leader"):
        assert any(s in text for s in success), text
        assert counts(db) != before
    else:
        assert counts(db) == before, text
        if role == "rep":
            assert "Only a team leader" in text or "Chỉ quản lý" in text
        else:
            assert any(
                w in text for w in ("not in a team", "chưa thuộc đội nào", "not joined this team")
            )


@pytest.mark.parametrize("role", ROLES)
async def test_logging_needs_membership_of_the_team(
    talk: Talk, cast: dict[str, Any], db: Any, role: str
) -> None:
    before = counts(db)
    text = await talk.reply(cast[role], cast["group"], "/call 2")
    if role in ("leader", "rep"):
        assert text.startswith("✅")
        assert counts(db)[0] == before[0] + 1
    else:
        # Admins manage every team but have no numbers of their own to log.
        assert any(
            w in text for w in ("not in a team", "chưa thuộc đội nào", "not joined this team")
        )
        assert counts(db) == before


@pytest.mark.parametrize("role", ROLES)
async def test_correcting_someone_elses_entry(
    talk: Talk, cast: dict[str, Any], team: Any, db: Any, role: str, sandbox: Any
) -> None:
    with db.transaction() as s:
        entry_id = s.scalar(select(func.max(Activity.id)))
    user = cast[role]
    before = counts(db)
    text = await talk.reply(user, sandbox.private(user), f"/void {entry_id}")
    with db.transaction() as s:
        status = s.scalar(select(Activity.status).where(Activity.id == entry_id))
    if role in ("admin", "leader"):
        # The entry's team decides: a configured admin manages it from any chat, as in its group.
        assert "Voided entry" in text or "Đã hủy mục" in text
        assert status == "voided"
    else:
        assert status == "active"
        assert counts(db) == before
        if role == "rep":
            assert "only change your own entries" in text
        elif role == "other_team":
            assert "not found" in text  # another team's entries do not exist for them
        else:
            assert any(
                w in text for w in ("not in a team", "chưa thuộc đội nào", "not joined this team")
            )


@pytest.mark.parametrize("role", ROLES)
async def test_another_members_chart_is_for_leaders(
    talk: Talk, cast: dict[str, Any], role: str, sandbox: Any
) -> None:
    user = cast[role]
    answers = await talk.say(user, sandbox.private(user), "/chart calls @minh_tran")
    kinds = [a.kind for a in answers]
    if role == "leader":
        assert kinds == ["photo"]
    elif role == "rep":
        assert "You can only see your own chart." in (answers[0].text or "")
    elif role == "other_team":
        assert "No member @minh_tran in this team" in (answers[0].text or "")
    else:
        assert "photo" not in kinds


@pytest.mark.parametrize("role", ROLES)
async def test_setup_of_an_existing_team(
    talk: Talk, cast: dict[str, Any], db: Any, role: str
) -> None:
    text = await talk.reply(cast[role], cast["group"], "/setup")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 2
    if role in ("admin", "leader"):
        assert "already" in text or "đã" in text or "leader" in text
    else:
        # Only the group's creator or administrators (or a bot admin) may set up a team.
        assert "Only the group's creator" in text or "Chỉ người tạo nhóm" in text


# --- deal approval and flags: /approvals, Approve/Reject, a flag's void ------------------------

NOT_IN_TEAM = ("not in a team", "chưa thuộc đội nào", "not joined this team")


@pytest.mark.parametrize("role", ROLES)
async def test_approvals_is_for_leaders(talk: Talk, cast: dict[str, Any], role: str) -> None:
    text = await talk.reply(cast[role], cast["group"], "/approvals")
    if role in ("admin", "leader"):
        assert "No deal of team Sales HCM is waiting for approval." in text or "chờ duyệt" in text
    elif role == "rep":
        assert "Only a team leader" in text
    else:
        assert any(w in text for w in NOT_IN_TEAM), text


async def _press(talk: Talk, sandbox: Any, user: Any, data: str) -> str:
    """Press a button as `user` in their private chat (as if forwarded); return the answer."""
    chat = sandbox.private(user)
    if not sandbox.sent(chat):
        await talk.say(user, chat, "/start")
    message = sandbox.sent(chat)[-1]
    press = sandbox.press(user, chat, message.message_id, data, check=False)
    await talk.deliver(press)
    answer = sandbox.callback_answer(press)
    return str((answer or {}).get("text") or "")


@pytest.mark.parametrize("choice", ["ok", "no"])
@pytest.mark.parametrize("role", ROLES)
async def test_approving_a_deal_is_for_its_teams_leaders(
    talk: Talk, cast: dict[str, Any], db: Any, sandbox: Any, team: Any, role: str, choice: str
) -> None:
    with db.transaction() as s:
        for t in s.scalars(select(Team)):
            t.settings = {**t.settings, "deal_approval": True}
    await talk.say(team.minh, team.minh_dm, "/deal 45tr An Phát")
    with db.transaction() as s:
        entry_id = s.scalar(select(func.max(Activity.id)))
    before = counts(db)
    text = await _press(talk, sandbox, cast[role], f"ap:{entry_id}:{choice}")
    with db.transaction() as s:
        status = s.scalar(select(Activity.status).where(Activity.id == entry_id))
    if role in ("admin", "leader"):
        assert status == ("active" if choice == "ok" else "rejected")
        assert counts(db)[2] == before[2] + 1  # one audit event
    else:
        assert status == "pending"
        assert counts(db) == before
        if role == "rep":
            assert "Only a team leader" in text
        else:
            assert any(w in text for w in NOT_IN_TEAM), text


@pytest.mark.parametrize("role", ROLES)
async def test_a_flags_void_button_is_for_the_entrys_teams_leaders(
    talk: Talk, cast: dict[str, Any], db: Any, sandbox: Any, role: str
) -> None:
    with db.transaction() as s:
        entry_id = s.scalar(select(func.max(Activity.id)))
    before = counts(db)
    text = await _press(talk, sandbox, cast[role], f"fv:{entry_id}")
    with db.transaction() as s:
        status = s.scalar(select(Activity.status).where(Activity.id == entry_id))
    if role in ("admin", "leader"):
        assert status == "voided"
        assert f"Entry #{entry_id} voided" in text or f"Đã hủy mục #{entry_id}" in text
    else:
        assert status == "active"
        assert counts(db) == before
        if role == "rep":
            assert "Only a team leader" in text
        else:
            assert any(w in text for w in NOT_IN_TEAM), text
