"""QUALITY.md R6: every command × admin / leader / rep / non-member / other team's member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.posts import sweep_outbox
from kpi.models import (
    ABSENCE_APPROVED,
    ABSENCE_PENDING,
    Absence,
    Activity,
    AuditEvent,
    Invite,
    KpiDefinition,
    Member,
    Membership,
    Target,
    Team,
)
from tests.support.chat import ADMIN_ID, Talk

# QUALITY.md R6's cast: a configured admin, the team's leader and rep, a non-member, a member of
# another team, and a member the leader removed (still in the Telegram group).
ROLES = ("admin", "leader", "rep", "outsider", "other_team", "removed")


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
    gone = sandbox.user("Tú", username="tu_pham", language_code="en")
    sandbox.join(team.group, gone)
    await talk.say(gone, team.group, "/join")
    await talk.say(gone, sandbox.private(gone), "/start")
    [ask] = await talk.say(team.leader, team.group, "/team remove @tu_pham")
    await talk.press(team.leader, team.group, ask, ask.buttons()[0][1])
    return {
        "admin": admin,
        "leader": team.leader,
        "rep": team.hoa,
        "outsider": outsider,
        "other_team": other_rep,
        "removed": gone,
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
    ("/settings approval joins on", ("Saved", "Đã lưu")),
    ("/invite", ("Invite link #1", "Link mời #1")),
    ("/invite once", ("Single-use invite link #1", "chỉ dùng được một lần")),
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


# --- /team: the same table with a removed member as a sixth role ------------------------------

NOT_IN_TEAM = ("not in a team", "chưa thuộc đội nào", "not joined this team")


def _minh(db: Any) -> tuple[str, str, bool]:
    with db.transaction() as s:
        row = s.execute(
            select(Membership.status, Membership.role, Membership.ranked)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.username == "minh_tran")
        ).one()
        return row[0], row[1], row[2]


@pytest.mark.parametrize("role", ROLES)
async def test_the_team_list_is_for_its_members_and_admins(
    talk: Talk, cast: dict[str, Any], role: str
) -> None:
    answers = await talk.say(cast[role], cast["group"], "/team")
    text = "\n".join(a.text or "" for a in answers)
    if role in ("admin", "leader", "rep"):
        assert "Sales HCM" in text and "Minh Trần" in text
        # Only those who manage the team get the buttons.
        assert bool(answers[-1].buttons()) == (role != "rep")
    else:
        assert "Minh Trần" not in text
        assert any(w in text for w in NOT_IN_TEAM), text


TEAM_CHANGES = [
    ("/team leader @minh_tran", ("active", "leader", True)),
    ("/team rank @minh_tran off", ("active", "rep", False)),
]


@pytest.mark.parametrize(("command", "after"), TEAM_CHANGES)
@pytest.mark.parametrize("role", ROLES)
async def test_team_changes_are_for_leaders_and_admins(
    talk: Talk,
    cast: dict[str, Any],
    db: Any,
    role: str,
    command: str,
    after: tuple[str, str, bool],
) -> None:
    before = _minh(db)
    text = await talk.reply(cast[role], cast["group"], command)
    if role in ("admin", "leader"):
        assert text.startswith("✅"), text
        assert _minh(db) == after
    else:
        assert _minh(db) == before
        if role == "rep":
            assert "Only a team leader" in text
        else:
            assert any(w in text for w in NOT_IN_TEAM), text


@pytest.mark.parametrize("role", ROLES)
async def test_removal_and_its_button_are_for_leaders_and_admins(
    talk: Talk, cast: dict[str, Any], team: Any, db: Any, role: str, sandbox: Any
) -> None:
    user, group = cast[role], cast["group"]
    answers = await talk.say(user, group, "/team remove @minh_tran")
    asked = [a for a in answers if a.buttons()]
    assert bool(asked) == (role in ("admin", "leader"))
    # The leader's confirmation, pressed by each role: only a leader or an admin removes.
    [ask] = await talk.say(team.leader, group, "/team remove @minh_tran")
    await talk.press(user, group, ask, ask.buttons()[0][1])
    removed = _minh(db)[0] == "removed"
    assert removed == (role in ("admin", "leader"))
    if not removed:
        answer = sandbox.calls_for("answerCallbackQuery")[-1].params
        assert answer.get("show_alert") is True


@pytest.mark.parametrize("role", ROLES)
async def test_invite_list_and_revoke_are_for_leaders(
    talk: Talk, cast: dict[str, Any], db: Any, role: str, sandbox: Any
) -> None:
    """/invite list and /invite revoke: the team's leaders (and admins, in its group) only."""
    made = await talk.reply(cast["leader"], cast["group"], "/invite")
    assert "Invite link #1" in made or "Link mời #1" in made
    user = cast[role]
    listing = await talk.reply(user, cast["group"], "/invite list")
    revoked = await talk.reply(user, cast["group"], "/invite revoke 1")
    with db.transaction() as s:
        revoked_at = s.scalar(select(Invite.revoked_at))
    if role in ("admin", "leader"):
        assert "#1" in listing and "https://" not in listing
        assert "revoked" in revoked or "thu hồi" in revoked
        assert revoked_at is not None
    else:
        assert revoked_at is None
        for text in (listing, revoked):
            assert "#1" not in text
            if role == "rep":
                assert "Only a team leader" in text or "Chỉ quản lý" in text
            else:
                assert any(
                    w in text
                    for w in ("not in a team", "chưa thuộc đội nào", "not joined this team")
                )


@pytest.mark.parametrize("choice", ["ok", "no"])
@pytest.mark.parametrize("role", ROLES)
async def test_approve_and_reject_a_join_are_for_leaders(
    talk: Talk, cast: dict[str, Any], db: Any, role: str, choice: str, sandbox: Any
) -> None:
    """A join request's buttons: the team's leaders and admins decide; anyone else who presses
    them (forged in their own chat) is told so and the request still waits."""
    await talk.say(cast["leader"], cast["group"], "/settings approval joins on")
    newcomer = sandbox.user("Khoa", language_code="en")
    sandbox.join(cast["group"], newcomer)
    await talk.say(newcomer, cast["group"], "/join")
    question = sandbox.sent(sandbox.private(cast["leader"]))[-1]
    data = dict(question.buttons())["✅ Duyệt" if choice == "ok" else "❌ Từ chối"]
    assert data == f"jr:{data.split(':')[1]}:{choice}"
    user = cast[role]
    chat = sandbox.private(user)
    [own] = await talk.say(user, chat, "/help")
    press = sandbox.press(user, chat, own.message_id, data, check=False)
    answers = await talk.deliver(press)
    with db.transaction() as s:
        status = s.scalar(
            select(Membership.status)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.telegram_id == newcomer.id)
        )
    if role in ("admin", "leader"):
        assert status == ("active" if choice == "ok" else "left")
        assert any("Khoa" in (a.text or "") for a in answers if a.chat_id == chat.id)
    else:
        assert status == "pending"
        answer = sandbox.callback_answer(press)
        assert answer is not None
        assert "Only a leader" in answer.get("text", "") or "Chỉ quản lý" in answer.get("text", "")
        assert [a for a in answers if a.chat_id != chat.id] == []


def absence_statuses(db: Any) -> list[str]:
    with db.transaction() as s:
        return list(s.scalars(select(Absence.status).order_by(Absence.id)))


@pytest.mark.parametrize("role", ROLES)
async def test_setting_someone_elses_leave_is_for_leaders(
    talk: Talk, cast: dict[str, Any], db: Any, role: str
) -> None:
    text = await talk.reply(cast[role], cast["group"], "/leave @minh_tran 19/11..20/11")
    if role in ("admin", "leader"):
        assert "19/11–20/11" in text and text.startswith("✅"), text
        assert absence_statuses(db) == [ABSENCE_APPROVED]
    else:
        assert absence_statuses(db) == []
        if role == "rep":
            assert "Only a team leader" in text or "Chỉ quản lý" in text
        else:
            assert any(
                w in text for w in ("not in a team", "chưa thuộc đội nào", "not joined this team")
            )
    # Who is away is for everyone in the team (an admin manages it), no one else.
    listing = await talk.reply(cast[role], cast["group"], "/nghiphep")
    if role in ("admin", "leader", "rep"):
        assert "Leave" in listing or "Nghỉ phép" in listing or "Nobody" in listing
    else:
        assert "Minh" not in listing


@pytest.mark.parametrize("role", ROLES)
async def test_a_leave_request_is_answered_by_the_teams_leaders_only(
    talk: Talk, cast: dict[str, Any], db: Any, role: str, sandbox: Any, app: Any, team: Any
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.minh, team.minh_dm, "/leave 25/11")
    await sweep_outbox(app.bot, app.bot_data, app.bot_data.now())
    question = sandbox.sent(team.leader_dm)[-1]
    approve = dict(question.buttons())["✅ Duyệt"]
    user = cast[role]
    chat = sandbox.private(user)
    [mine] = await talk.say(user, chat, "/help")
    press = sandbox.press(user, chat, mine.message_id, approve, check=False)
    await talk.deliver(press)
    if role in ("admin", "leader"):
        assert absence_statuses(db) == [ABSENCE_APPROVED]
    else:
        assert absence_statuses(db) == [ABSENCE_PENDING]
        answer = sandbox.callback_answer(press)
        assert answer is not None and answer.get("text")


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


# --- deal approval and flags: /approvals, Approve/Reject, a flag's void ------------------------


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
