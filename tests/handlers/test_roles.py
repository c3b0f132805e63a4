"""QUALITY.md R6: every command × admin / leader / rep / non-member / other team's member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from kpi.models import Activity, AuditEvent, KpiDefinition, Member, Target, Team
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


# --- records and personal data: /audit (leaders), /org and /erase (configured admins), /mydata


@pytest.mark.parametrize("role", ROLES)
async def test_the_audit_trail_is_for_the_teams_leaders(
    talk: Talk, cast: dict[str, Any], role: str
) -> None:
    user, group = cast[role], cast["group"]
    answers = await talk.say(user, group, "/audit")
    in_group = "\n".join(a.text or "" for a in answers if a.chat_id == group.id)
    private = "\n".join(a.text or "" for a in answers if a.chat_id == user.id)
    if role in ("admin", "leader"):
        # Who changed what goes to the asker's private chat, never to the group.
        assert in_group in ("📬 Sent to your private chat.", "📬 Đã gửi vào chat riêng của bạn.")
        assert "Sales HCM" in private and "HN" not in private
    else:
        assert private == ""
        if role == "rep":
            assert "Only a team leader" in in_group
        else:
            assert any(w in in_group for w in ("not in a team", "not joined this team"))


@pytest.mark.parametrize("role", ROLES)
async def test_the_company_view_is_for_the_configured_admins(
    talk: Talk, cast: dict[str, Any], role: str, sandbox: Any
) -> None:
    user = cast[role]
    text = await talk.reply(user, sandbox.private(user), "/org")
    if role == "admin":
        assert text.startswith("🏢 Every team") and "Sales HN" in text
    else:
        assert text in (
            "Only the bot's admins can use this command.",
            "Chỉ admin của bot mới dùng được lệnh này.",
        )


@pytest.mark.parametrize("role", ROLES)
async def test_erasure_is_for_the_configured_admins(
    talk: Talk, cast: dict[str, Any], db: Any, role: str, sandbox: Any
) -> None:
    user = cast[role]
    answers = await talk.say(user, sandbox.private(user), "/erase @minh_tran")
    text = "\n".join(a.text or "" for a in answers)
    if role == "admin":
        assert text.startswith("⚠️ Erase Minh Trần") and answers[0].buttons()
    else:
        assert text in (
            "Only the bot's admins can use this command.",
            "Chỉ admin của bot mới dùng được lệnh này.",
        )
        assert all(not a.buttons() for a in answers)
    with db.transaction() as s:
        assert s.scalar(select(Member.erased_at).where(Member.username == "minh_tran")) is None


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_gets_their_own_data_and_nobody_elses(
    talk: Talk, cast: dict[str, Any], role: str, sandbox: Any
) -> None:
    user = cast[role]
    [answer] = await talk.say(user, sandbox.private(user), "/mydata")
    assert answer.kind == "document" and answer.chat_id == user.id
    content = (answer.document or b"").decode("utf-8")
    assert str(user.id) in content
    assert "minh_tran" not in content  # Minh's data is Minh's (he is none of these roles)
