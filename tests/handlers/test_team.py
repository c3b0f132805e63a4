"""/team through the real Application: the roster, roles, the last leader, removal with its
confirmation, people leaving the group, the bot losing its rights, a migrated group."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.polling import InboxPoller
from kpi.models import Activity, AuditEvent, Member, Membership, Team
from tests.support.chat import ADMIN_ID, Talk


def _membership(db: Any, username: str) -> tuple[str, str, bool]:
    with db.transaction() as s:
        row = s.execute(
            select(Membership.status, Membership.role, Membership.ranked)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.username == username)
        ).one()
        return row[0], row[1], row[2]


def _audits(db: Any, action: str) -> int:
    with db.transaction() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def _chat_member_update(sandbox: Any, user_id: int) -> dict[str, Any]:
    """Take the `chat_member` update the sandbox queued about a user (opt-in on Telegram)."""
    updates = [
        u
        for u in sandbox.take()
        if "chat_member" in u and u["chat_member"]["new_chat_member"]["user"]["id"] == user_id
    ]
    return updates[-1]


async def test_every_member_sees_the_team_with_roles_and_who_the_bot_can_reach(
    talk: Talk, team: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/start")
    [answer] = await talk.say(team.hoa, team.group, "/team")
    lines = answer.text.splitlines()
    assert lines[0] == "👥 Team Sales HCM · members: 3"
    # Leaders first, then reps, by name; 💬 the bot can write privately, 🔕 not yet.
    assert lines[1:4] == [
        "⭐ Lan Nguyễn @lan_sales · leader · 🔕",
        "👤 Hoa Lê @hoa_le · rep · 🔕",
        "👤 Minh Trần @minh_tran · rep · 💬",
    ]
    assert answer.buttons() == []  # a rep gets no buttons
    [answer] = await talk.say(team.minh, team.minh_dm, "/doi")
    assert answer.text.startswith("👥 Đội Sales HCM · thành viên: 3")
    assert "Minh Trần @minh_tran · nhân viên · 💬" in answer.text
    [answer] = await talk.say(team.leader, team.group, "/team")
    assert "Quản lý: bấm vào tên" in answer.text
    assert [label for label, _ in answer.buttons()] == ["⭐ Lan Nguyễn", "Hoa Lê", "Minh Trần"]


async def test_the_team_shows_who_is_on_leave_today(talk: Talk, team: Any, clock: Any) -> None:
    # The test clock says 19/11 (Thursday): leave from today on shows; leave from tomorrow not yet.
    await talk.say(team.leader, team.group, "/leave @minh_tran 19/11..20/11")
    await talk.say(team.leader, team.group, "/leave @hoa_le 20/11")
    [answer] = await talk.say(team.hoa, team.group, "/team")
    assert "👤 Minh Trần @minh_tran · rep · 🔕 · 🏖 on leave today" in answer.text
    assert "👤 Hoa Lê @hoa_le · rep · 🔕\n" in answer.text
    [answer] = await talk.say(team.leader, team.group, "/doi")
    assert "Minh Trần @minh_tran · nhân viên · 🔕 · 🏖 hôm nay nghỉ phép" in answer.text
    clock.advance(days=1)
    [answer] = await talk.say(team.hoa, team.group, "/team")
    assert "Hoa Lê @hoa_le · rep · 🔕 · 🏖 on leave today" in answer.text


async def test_a_leader_promotes_and_demotes_with_commands_and_buttons(
    talk: Talk, team: Any, db: Any
) -> None:
    text = await talk.reply(team.leader, team.group, "/team leader @minh_tran")
    assert text == "✅ Minh Trần giờ là quản lý của đội."
    assert _membership(db, "minh_tran") == ("active", "leader", True)
    # The new leader leads: a leader's command works for him now.
    text = await talk.reply(team.minh, team.group, "/team leader @minh_tran")
    assert text == "Minh Trần đã là quản lý rồi."
    assert _audits(db, "member.role") == 1
    text = await talk.reply(team.leader, team.group, "/team rep @minh_tran")
    assert text == "✅ Minh Trần giờ là nhân viên."
    assert _membership(db, "minh_tran")[1] == "rep"
    # The same through the roster's buttons: a name opens the card, the card acts.
    [roster] = await talk.say(team.leader, team.group, "/team")
    hoa = next(data for label, data in roster.buttons() if label == "Hoa Lê")
    [card] = await talk.press(team.leader, team.group, roster, hoa)
    labels = [label for label, _ in card.buttons()]
    assert labels == ["⭐ Đặt làm quản lý", "Bỏ khỏi bảng xếp hạng", "🚫 Xóa khỏi đội"]
    # Pressed twice before the answer: the second press changes nothing more.
    sandbox = talk.sandbox
    presses = [
        sandbox.press(team.leader, team.group, card.message_id, card.buttons()[0][1])
        for _ in range(2)
    ]
    await talk.deliver(presses[0])
    assert sandbox.last(team.group).text == "✅ Hoa Lê giờ là quản lý của đội."
    assert _membership(db, "hoa_le")[1] == "leader"
    await talk.deliver(presses[1])
    assert sandbox.last(team.group).text == "Hoa Lê đã là quản lý rồi."
    assert _audits(db, "member.role") == 3


async def test_a_rep_cannot_press_a_leaders_buttons(talk: Talk, team: Any, db: Any) -> None:
    [roster] = await talk.say(team.leader, team.group, "/team")
    minh = next(data for label, data in roster.buttons() if label == "Minh Trần")
    assert await talk.press(team.hoa, team.group, roster, minh) == []
    answer = talk.sandbox.calls_for("answerCallbackQuery")[-1].params
    assert answer["text"] == "Only a team leader can use this command."
    [card] = await talk.press(team.leader, team.group, roster, minh)
    await talk.press(team.hoa, team.group, card, card.buttons()[0][1])
    assert _membership(db, "minh_tran") == ("active", "rep", True)


async def test_rankings_leave_a_member_out_and_back_in(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.leader, team.group, "/team rank @hoa_le off")
    assert text.startswith("✅ Đã bỏ Hoa Lê khỏi bảng xếp hạng.")
    assert _membership(db, "hoa_le") == ("active", "rep", False)
    assert "không xếp hạng" in (await talk.say(team.leader, team.group, "/team"))[0].text
    assert "đã không có" in await talk.reply(team.leader, team.group, "/team rank @hoa_le tắt")
    text = await talk.reply(team.leader, team.group, "/team rank @hoa_le on")
    assert text == "✅ Đã đưa Hoa Lê vào lại bảng xếp hạng."
    assert _membership(db, "hoa_le")[2] is True
    answer = await talk.reply(team.leader, team.group, "/team rank @hoa_le maybe")
    assert answer.splitlines() == [
        "Chọn bật hoặc tắt (on/off), ví dụ /team rank @user off.",
        "Ví dụ: /doi quanly @minh_tran",
    ]


async def test_the_last_leader_cannot_be_demoted_or_removed_by_a_leader(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    text = await talk.reply(team.leader, team.group, "/team rep @lan_sales")
    assert text.startswith("Lan Nguyễn là quản lý duy nhất của đội.")
    text = await talk.reply(team.leader, team.group, "/team remove @lan_sales")
    assert text.startswith("Lan Nguyễn là quản lý duy nhất của đội.")
    assert _membership(db, "lan_sales") == ("active", "leader", True)
    # With a second leader, either may step down.
    await talk.say(team.leader, team.group, "/team leader @hoa_le")
    assert "nhân viên" in await talk.reply(team.leader, team.group, "/team rep @lan_sales")
    text = await talk.reply(team.hoa, team.group, "/team rep @hoa_le")
    assert text.startswith("Hoa Lê is the team's last leader.")
    # A configured admin appoints and removes leaders in every team.
    admin = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    sandbox.join(team.group, admin)
    assert await talk.reply(admin, team.group, "/team rep @hoa_le") == "✅ Hoa Lê is now a rep."
    assert "now a leader" in await talk.reply(admin, team.group, "/team leader @lan_sales")


async def test_removal_asks_first_keeps_the_numbers_and_offers_the_group_removal(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.hoa, team.group, "/call 4")
    [ask] = await talk.say(team.leader, team.group, "/team remove @hoa_le")
    assert ask.text.startswith("Xóa Hoa Lê khỏi đội Sales HCM?")
    assert [label for label, _ in ask.buttons()] == ["🚫 Xóa", "Hủy"]
    assert _membership(db, "hoa_le")[0] == "active"  # nothing before the button
    # Hoa herself cannot confirm it.
    await talk.press(team.hoa, team.group, ask, ask.buttons()[0][1])
    assert _membership(db, "hoa_le")[0] == "active"
    # Remove pressed twice in a row (both presses reach the bot before its answer).
    presses = [
        sandbox.press(team.leader, team.group, ask.message_id, ask.buttons()[0][1])
        for _ in range(2)
    ]
    for press in presses:
        await talk.deliver(press)
    assert sandbox.calls_for("answerCallbackQuery")[-1].params["text"] == (
        "Hoa Lê không còn trong đội."
    )
    removed = sandbox.last(team.group)
    assert removed.text.splitlines() == [
        "✅ Đã xóa Hoa Lê khỏi đội Sales HCM. Số liệu đã ghi vẫn tính vào tổng của đội.",
        "Xóa luôn người này khỏi nhóm chat Telegram?",
    ]
    labels = [label for label, _ in removed.buttons()]
    assert labels == ["Xóa khỏi nhóm chat", "Giữ lại trong nhóm chat"]
    assert _membership(db, "hoa_le")[0] == "removed"
    assert _audits(db, "member.remove") == 1
    assert _audits(db, "member.remove") == 1
    with db.transaction() as s:
        assert s.scalar(select(func.sum(Activity.value))) == 4  # her numbers stay
    # The group removal: a ban and an unban, so that she may be invited again one day.
    kick = removed.buttons()[0][1]
    presses = [sandbox.press(team.leader, team.group, removed.message_id, kick) for _ in range(2)]
    await talk.deliver(presses[0])
    assert sandbox.last(team.group).text == "✅ Đã xóa Hoa Lê khỏi nhóm chat."
    assert [c.method for c in sandbox.calls[-4:] if "ban" in c.method.lower()] == [
        "banChatMember",
        "unbanChatMember",
    ]
    assert sandbox.role(team.group, team.hoa) == "left"
    await talk.deliver(presses[1])
    answer = sandbox.calls_for("answerCallbackQuery")[-1].params["text"]
    assert answer == "Câu hỏi này đã được trả lời."
    assert len(sandbox.calls_for("banChatMember")) == 1


async def test_a_removed_member_cannot_log_nor_read_the_team_privately(
    talk: Talk, team: Any, db: Any
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/call 2")
    [ask] = await talk.say(team.leader, team.group, "/team remove @hoa_le")
    await talk.press(team.leader, team.group, ask, ask.buttons()[0][1])
    assert "not joined this team" in await talk.reply(team.hoa, team.group, "/call 3")
    for command in ("/me", "/team", "/week", "/history"):
        assert "not in a team" in await talk.reply(team.hoa, team.hoa_dm, command), command
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 1
    # /join does not bring her back: only a leader can.
    assert "removed" in await talk.reply(team.hoa, team.group, "/join")


async def test_cancel_keeps_the_member(talk: Talk, team: Any, db: Any) -> None:
    [ask] = await talk.say(team.leader, team.group, "/team remove @minh_tran")
    cancel, remove = (
        talk.sandbox.press(team.leader, team.group, ask.message_id, ask.buttons()[i][1])
        for i in (1, 0)
    )
    await talk.deliver(cancel)
    assert talk.sandbox.last(team.group).text == "Đã hủy. Minh Trần vẫn ở trong đội."
    # Remove pressed after Cancel (both on screen a moment ago) removes nobody.
    await talk.deliver(remove)
    assert _membership(db, "minh_tran")[0] == "active"


async def test_no_group_removal_is_offered_without_the_right_to_ban(
    talk: Talk, sandbox: Any, team: Any
) -> None:
    sandbox.set_bot_rights(team.group, team.leader, can_restrict_members=False)
    [ask] = await talk.say(team.leader, team.group, "/team remove @minh_tran")
    await talk.press(team.leader, team.group, ask, ask.buttons()[0][1])
    removed = sandbox.last(team.group)
    assert removed.text.startswith("✅ Đã xóa Minh Trần khỏi đội")
    assert removed.buttons() == []


async def test_leaving_the_group_ends_the_membership_through_chat_member(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    sandbox.take()
    service = sandbox.leave(team.group, team.minh)
    await talk.deliver(_chat_member_update(sandbox, team.minh.id))
    assert _membership(db, "minh_tran") == ("left", "rep", True)
    # The service message that follows changes nothing more.
    await talk.deliver(service)
    assert _audits(db, "member.left") == 1
    # Out of the team: nothing logs, and the private chat tells nothing about it any more.
    assert "chưa thuộc đội nào" in await talk.reply(team.minh, team.minh_dm, "/call 1")


async def test_leaving_the_group_ends_the_membership_through_left_chat_member(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    # A bot that is not an administrator gets no chat_member updates, only the service message.
    await talk.deliver(sandbox.leave(team.group, team.hoa))
    assert _membership(db, "hoa_le")[0] == "left"
    text = (await talk.say(team.leader, team.group, "/team"))[0].text
    assert "Đội Sales HCM · thành viên: 2" in text
    assert "Không còn trong đội: Hoa Lê (đã rời nhóm)" in text


async def test_a_leader_who_leaves_loses_the_role_and_admins_and_the_creator_are_told(
    talk: Talk, sandbox: Any, db: Any
) -> None:
    owner = sandbox.user("Owner", username="group_owner", language_code="en")
    lan = sandbox.user("Lan", username="lan_sales", language_code="vi")
    minh = sandbox.user("Minh", username="minh_tran", language_code="vi")
    admin = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    group = sandbox.group("Sales HN", creator=owner, admins=[lan], members=[minh])
    await talk.say(lan, group, "/setup")
    await talk.say(minh, group, "/join")
    for person in (owner, admin):
        await talk.say(person, sandbox.private(person), "/start")
    sandbox.take()
    sandbox.leave(group, lan)
    await talk.deliver(_chat_member_update(sandbox, lan.id))
    assert _membership(db, "lan_sales") == ("left", "rep", True)
    told = {m.chat_id: m.text for m in sandbox.sent() if m.chat_id in (owner.id, admin.id)}
    assert told[owner.id] == (
        "⚠️ Team Sales HN has no leader any more: Lan left the group. "
        "Appoint one by sending /team leader @user in the team's group."
    )
    assert told[admin.id].endswith("As an admin of the bot you can also send it here.")
    # A rep cannot make himself leader; the group's creator can.
    assert "Chỉ quản lý" in await talk.reply(minh, group, "/team leader @minh_tran")
    text = await talk.reply(owner, group, "/team leader @minh_tran")
    assert text == "✅ Minh is now a leader of the team."
    # Once the team has a leader, the creator is no leader by being the creator.
    assert "not joined this team" in await talk.reply(owner, group, "/team leader @minh_tran")


async def test_an_admin_appoints_a_leader_from_the_private_chat(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    admin = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    dm = sandbox.private(admin)
    text = await talk.reply(admin, dm, "/team leader @minh_tran")
    assert text == "✅ Minh Trần is now a leader of the team."
    # With two teams the admin picks one with the team buttons first.
    vy = sandbox.user("Vy", username="vy_le", language_code="en")
    other = sandbox.group("Sales HN", creator=vy)
    await talk.say(vy, other, "/setup")
    [ask] = await talk.say(admin, dm, "/team")
    assert [label for label, _ in ask.buttons()] == ["Sales HCM", "Sales HN"]
    await talk.press(admin, dm, ask, ask.buttons()[1][1])
    text = (await talk.say(admin, dm, "/team"))[0].text
    assert text.startswith("👥 Team Sales HN · members: 1")


async def test_the_leaders_are_told_what_stops_working_when_the_bot_is_demoted(
    talk: Talk, sandbox: Any, team: Any
) -> None:
    await talk.say(team.leader, team.leader_dm, "/start")
    await talk.deliver(sandbox.set_bot_rights(team.group, team.leader, can_pin_messages=False))
    assert sandbox.last(team.leader_dm).text.splitlines() == [
        "⚠️ Bot đã mất quyền trong nhóm chat của đội Sales HCM. Những việc bot không làm được nữa:",
        "• ghim bảng xếp hạng tự cập nhật",
        "Để khắc phục, hãy cấp lại quyền quản trị viên cho bot, kèm quyền ghim tin nhắn và cấm "
        "thành viên.",
    ]
    await talk.deliver(sandbox.set_bot_rights(team.group, team.leader, admin=False))
    lines = sandbox.last(team.leader_dm).text.splitlines()
    assert lines[1:3] == [
        "• đọc tin nhắn thường trong nhóm (bot chỉ còn thấy lệnh, tin trả lời bot và tin nhắc "
        "tên bot)",
        "• xóa người khỏi nhóm chat",
    ]


async def test_a_leader_the_bot_cannot_reach_is_told_in_the_group(
    talk: Talk, sandbox: Any, team: Any
) -> None:
    before = len(sandbox.sent(team.group))
    await talk.deliver(sandbox.set_bot_rights(team.group, team.leader, admin=False))
    [notice] = sandbox.sent(team.group)[before:]
    assert notice.text.startswith("⚠️ Bot đã mất quyền trong nhóm chat của đội Sales HCM.")
    assert notice.text.endswith("Quản lý mà bot chưa nhắn riêng được: Lan Nguyễn.")


async def test_a_migrated_group_keeps_its_team_and_roster(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    new_chat, update = sandbox.migrate(team.group)
    await talk.deliver(update)
    [answer] = await talk.say(team.hoa, new_chat, "/team")
    assert answer.text.startswith("👥 Team Sales HCM · members: 3")
    with db.transaction() as s:
        assert s.scalar(select(Team.chat_id)) == new_chat.id


async def test_the_bot_asks_telegram_for_member_updates(app: Any, db: Any, sandbox: Any) -> None:
    poller = InboxPoller(app, db, timeout=0)
    await poller.fetch()
    allowed = sandbox.calls_for("getUpdates")[-1].params["allowed_updates"]
    assert {"chat_member", "my_chat_member", "message"} <= set(allowed)


async def test_bad_team_input_says_what_is_wrong_with_an_example(
    talk: Talk, team: Any, db: Any
) -> None:
    before = [_membership(db, u) for u in ("lan_sales", "minh_tran", "hoa_le")]
    for text, first in (
        ("/team promote @minh_tran", "Gõ /team để xem đội, hoặc thêm một trong các lệnh"),
        ("/team leader", "Hãy ghi @username của thành viên"),
        ("/team remove @nobody", "Không tìm thấy thành viên @nobody trong đội"),
    ):
        lines = (await talk.reply(team.leader, team.leader_dm, text)).splitlines()
        assert lines[0].startswith(first), lines
        assert lines[1] == "Ví dụ: /doi quanly @minh_tran"
    assert [_membership(db, u) for u in ("lan_sales", "minh_tran", "hoa_le")] == before
