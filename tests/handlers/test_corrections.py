"""Who may change what (QUALITY.md R6): corrections against message edits, re-binding a group,
and corrections judged by the team an entry belongs to (issue 8).

Each test drives the real Application through the sandbox and checks what people see and what
the database holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.sandbox import Sandbox
from kpi.models import Activity, AuditEvent, Checkin, Member, Membership, Team
from tests.support.chat import ADMIN_ID, TODAY, Clock, Talk
from tests.support.checkins import active_total, audits, celebrations, later, one, rows


def entry_ids(db: Any) -> dict[str, int]:
    """Return the id of each metric's newest entry."""
    with db.transaction() as s:
        return {m: i for i, m in s.execute(select(Activity.id, Activity.metric))}


def member_id(db: Any, first_name: str) -> int:
    """Return a member's id by first name."""
    with db.transaction() as s:
        return int(s.scalars(select(Member.id).where(Member.first_name == first_name)).one())


def set_current_team(db: Any, first_name: str, title: str) -> None:
    """Choose the team a person's private chat is about (as the team buttons do)."""
    with db.transaction() as s:
        team = s.scalars(select(Team).where(Team.title == title)).one()
        s.scalars(
            select(Member).where(Member.first_name == first_name)
        ).one().current_team_id = team.id


# --- a correction by someone else survives the rep's message edit ------------------------------


async def test_a_leaders_edit_survives_the_reps_message_edit(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.hoa, team.hoa_dm, "/deal 900tr Acme")
    await talk.deliver(sent)
    deal_id = entry_ids(db)["deals"]
    text = await talk.reply(team.leader, team.leader_dm, f"/edit {deal_id} 90tr")
    assert text.startswith(f"✏️ Đã sửa mục #{deal_id}")
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/deal 900tr Acme ")))
    # The leader's 90M stands; the rep is told why the edit did not bring 900M back.
    assert rows(db) == [("deals", 1, 90_000_000, "active", TODAY)]
    assert answer.text == (
        "✏️ Updated from your edited message:\n"
        f"🔒 Lan Nguyễn corrected entry #{deal_id} (now +1 deals 90M · Acme): "
        "your edit does not change it."
    )
    [event] = audits(db, "checkin.edit_message")
    assert event.after is not None and event.after["kept"] == [deal_id]
    assert event.actor_id == member_id(db, "Hoa")
    # Telegram users edit a message many times: the correction survives every edit.
    later(sandbox)
    await talk.deliver(sandbox.edit(sent, "/deal 950tr Acme"))
    assert rows(db) == [("deals", 1, 90_000_000, "active", TODAY)]


async def test_a_leaders_edit_of_a_count_survives_the_reps_message_edit_in_vietnamese(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.group, "/call 50")
    await talk.deliver(sent)
    calls_id = entry_ids(db)["calls"]
    await talk.say(team.leader, team.leader_dm, f"/edit {calls_id} 5")
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/call 50 ")))
    assert active_total(db, "calls") == 5
    assert answer.chat_id == team.group.id
    assert (answer.text or "").splitlines()[-1] == (
        f"🔒 Lan Nguyễn đã sửa mục #{calls_id} (hiện là +5 cuộc gọi): "
        "tin nhắn sửa lại không thay đổi mục này."
    )


async def test_a_leaders_void_of_one_entry_survives_the_reps_message_edit(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "/log calls 30 meetings 2")
    await talk.deliver(sent)
    ids = entry_ids(db)
    await talk.say(team.leader, team.leader_dm, f"/void {ids['meetings']}")
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/log calls 35 meetings 2")))
    # The calls nobody else touched are re-read; the voided meetings stay voided.
    assert active_total(db, "calls") == 35
    assert active_total(db, "meetings") == 0
    assert sorted((m, v, st) for m, v, _, st, _ in rows(db)) == [
        ("calls", 30, "replaced"),
        ("calls", 35, "active"),
        ("meetings", 2, "voided"),
    ]
    lines = (answer.text or "").splitlines()
    assert "✅ +35 cuộc gọi" in lines
    assert lines[-1] == (
        f"🔒 Lan Nguyễn đã hủy mục #{ids['meetings']} (+2 cuộc hẹn): "
        "tin nhắn sửa lại không khôi phục mục này."
    )
    # An edit that drops the calls leaves nothing counting: the check-in is undone, the voided
    # meetings are still the leader's.
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/log meetings 2")))
    assert active_total(db, "calls") == 0 and active_total(db, "meetings") == 0
    assert "không còn gì để ghi" in (answer.text or "")
    assert f"Lan Nguyễn đã hủy mục #{ids['meetings']}" in (answer.text or "")


async def test_a_checkin_a_leader_voided_whole_stays_voided_and_the_rep_is_told(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.hoa, team.hoa_dm, "/call 50")
    await talk.deliver(sent)
    calls_id = entry_ids(db)["calls"]
    await talk.say(team.leader, team.leader_dm, f"/void {calls_id}")
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/call 50 ")))
    assert rows(db) == [("calls", 50, None, "voided", TODAY)]
    assert answer.text == (
        f"🔒 Lan Nguyễn voided entry #{calls_id} (+50 calls): your edit does not bring it back."
    )
    [event] = audits(db, "checkin.edit_message")
    assert event.after is not None and event.after["kept"] == [calls_id]


async def test_the_reps_own_corrections_are_re_read_from_the_edited_message(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    sent = sandbox.text(team.minh, team.minh_dm, "/call 50")
    await talk.deliver(sent)
    await talk.say(team.minh, team.minh_dm, f"/edit {entry_ids(db)['calls']} 5")
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/call 40")))
    assert active_total(db, "calls") == 40
    assert "🔒" not in (answer.text or "")


# --- a pending deal stays pending -------------------------------------------------------------


async def test_a_pending_deal_stays_pending_when_its_message_is_edited(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    with db.transaction() as s:
        t = s.scalars(select(Team)).one()
        t.settings = {**t.settings, "deal_approval": True}
    sent = sandbox.text(team.hoa, team.group, "/deal 45tr Acme")
    await talk.deliver(sent)
    assert rows(db) == [("deals", 1, 45_000_000, "pending", TODAY)]
    later(sandbox)
    answer = one(await talk.deliver(sandbox.edit(sent, "/deal 2 90tr Acme")))
    assert rows(db) == [
        ("deals", 1, 45_000_000, "replaced", TODAY),
        ("deals", 2, 90_000_000, "pending", TODAY),
    ]
    assert active_total(db, "deals") == 0
    assert "waiting for a leader's approval" in (answer.text or "")
    assert celebrations(sandbox, team.group) == []


# --- re-binding a group keeps the team's leaders ---------------------------------------------


async def test_a_group_admin_cannot_take_over_a_team_by_re_adding_the_bot(
    talk: Talk, sandbox: Sandbox, db: Any
) -> None:
    owner = sandbox.user("Lan", language_code="en")
    helper = sandbox.user("Tú", language_code="vi")
    group = sandbox.group("Sales HCM", creator=owner, admins=[helper])
    await talk.say(owner, group, "/setup")
    await talk.deliver(sandbox.bot_removed(group, helper))
    await talk.deliver(sandbox.bot_added(group, helper))
    text = await talk.reply(helper, group, "/setup")
    assert text == (
        "Đội Sales HCM đã có quản lý. "
        "Chỉ quản lý của đội, người tạo nhóm hoặc admin của bot mới bật lại được đội."
    )
    lan = member_id(db, "Lan")
    with db.transaction() as s:
        assert not s.scalars(select(Team)).one().active
        assert [(m.member_id, m.role) for m in s.scalars(select(Membership))] == [(lan, "leader")]
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "team.leader")).all() == []
    # The team's leader turns it back on, with the same leaders.
    text = await talk.reply(owner, group, "/setup")
    assert text.startswith("✅ Team Sales HCM is active again")
    with db.transaction() as s:
        assert s.scalars(select(Team)).one().active
        assert s.scalars(select(Membership.role)).all() == ["leader"]


async def test_a_leader_who_is_not_the_groups_owner_may_re_bind_the_team(
    talk: Talk, sandbox: Sandbox, db: Any
) -> None:
    owner = sandbox.user("Lan", language_code="en")
    boss = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    group = sandbox.group("Sales HCM", creator=owner, admins=[boss])
    await talk.say(owner, group, "/setup")
    # A configured admin adds himself as a leader, then the group changes hands.
    assert "now a leader" in await talk.reply(boss, group, "/setup")
    newcomer = sandbox.user("Quân", language_code="en")
    sandbox.join(group, newcomer)
    sandbox.set_role(group, newcomer, "creator")
    await talk.deliver(sandbox.bot_removed(group, owner))
    await talk.deliver(sandbox.bot_added(group, owner))
    # Lan is a leader (now a plain administrator of the group): she may turn the team back on.
    assert (await talk.reply(owner, group, "/setup")).startswith(
        "✅ Team Sales HCM is active again"
    )
    with db.transaction() as s:
        assert s.scalars(select(Team)).one().active


# --- corrections follow the team the entry belongs to ---------------------------------------


async def two_teams(talk: Talk, sandbox: Sandbox, team: Any) -> Any:
    """Minh: a rep in Sales HCM (his private chat's team) and the leader of Sales HN."""
    hn = sandbox.group("Sales HN", creator=team.minh)
    await talk.say(team.minh, hn, "/setup")
    return hn


async def test_the_undo_button_uses_the_window_of_the_checkins_team(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, clock: Clock
) -> None:
    await two_teams(talk, sandbox, team)
    answer = one(await talk.say(team.minh, team.minh_dm, "gọi 5 cuộc"))  # Sales HCM
    [(_, data)] = answer.buttons()
    clock.advance(days=10)
    # Minh now talks about Sales HN, where he leads (a 90-day window); the check-in is Sales
    # HCM's, where he is a rep (7 days).
    set_current_team(db, "Minh", "Sales HN")
    press = sandbox.press(team.minh, team.minh_dm, answer.message_id, data)
    assert await talk.deliver(press) == []
    toast = sandbox.callback_answer(press)
    assert (
        toast is not None and toast.get("text") == "Mục này đã quá 7 ngày nên không sửa được nữa."
    )
    assert active_total(db, "calls") == 5
    assert audits(db, "checkin.void") == []


async def test_the_undo_button_works_for_a_person_with_two_teams_and_no_chosen_team(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    await two_teams(talk, sandbox, team)
    answer = one(await talk.say(team.minh, team.minh_dm, "gọi 5 cuộc"))
    with db.transaction() as s:
        s.scalars(select(Member).where(Member.first_name == "Minh")).one().current_team_id = None
    undone = one(await talk.press(team.minh, team.minh_dm, answer, answer.buttons()[0][1]))
    assert (undone.text or "").startswith("↩️ Đã hoàn tác: +5 cuộc gọi")
    assert active_total(db, "calls") == 0


async def test_edit_and_void_use_the_role_and_window_of_the_entrys_team(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, clock: Clock
) -> None:
    await two_teams(talk, sandbox, team)
    await talk.say(team.minh, team.minh_dm, "/call 5")  # Sales HCM
    await talk.say(team.hoa, team.hoa_dm, "/meeting 2")  # Sales HCM
    ids = entry_ids(db)
    set_current_team(db, "Minh", "Sales HN")
    # His own entry of the other team: corrected as a rep of that team.
    text = await talk.reply(team.minh, team.minh_dm, f"/edit {ids['calls']} 6")
    assert text == f"✏️ Đã sửa mục #{ids['calls']}: +5 cuộc gọi → +6 cuộc gọi"
    # Leading Sales HN makes him no leader of Sales HCM.
    text = await talk.reply(team.minh, team.minh_dm, f"/void {ids['meetings']}")
    assert text == "Bạn chỉ sửa được mục của chính mình."
    clock.advance(days=10)
    text = await talk.reply(team.minh, team.minh_dm, f"/void {ids['calls']}")
    assert text == "Mục này đã quá 7 ngày nên không sửa được nữa."
    assert active_total(db, "calls") == 6 and active_total(db, "meetings") == 2
    with db.transaction() as s:
        assert s.scalars(select(Checkin.status)).all() == ["active", "active"]


async def test_the_save_button_of_an_edit_uses_the_team_of_the_entry(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    calls_id = entry_ids(db)["calls"]
    [question] = await talk.say(team.leader, team.leader_dm, f"/edit {calls_id} 400")
    # Before she presses Save, Lan joins a second team: her private chat no longer has one team.
    vy = sandbox.user("Vy", language_code="vi")
    hn = sandbox.group("Sales HN", creator=vy, members=[team.leader])
    await talk.say(vy, hn, "/setup")
    await talk.say(team.leader, hn, "/join")
    [answer] = await talk.press(team.leader, team.leader_dm, question, question.buttons()[0][1])
    assert answer.text == f"✏️ Đã sửa mục #{calls_id}: +5 cuộc gọi → +400 cuộc gọi"
    assert active_total(db, "calls") == 400
    [event] = audits(db, "entry.edit")
    assert event.actor_id == member_id(db, "Lan")


async def test_another_teams_entry_does_not_exist_in_a_group(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox
) -> None:
    # An answer in Sales HN's group must not show (or change) an entry of Sales HCM.
    hn = await two_teams(talk, sandbox, team)
    await talk.say(team.minh, team.minh_dm, "/call 5")  # Sales HCM
    ids = entry_ids(db)
    for command in (f"/edit {ids['calls']} 6", f"/void {ids['calls']}"):
        text = await talk.reply(team.minh, hn, command)
        assert "cuộc gọi" not in text and "#" not in text
    assert active_total(db, "calls") == 5
    # From his private chat, where the entry's team is his, it is his to correct.
    assert "+6" in await talk.reply(team.minh, team.minh_dm, f"/edit {ids['calls']} 6")
