"""The first journey through the real Application: /start, /help, /setup, /join, /call, /me."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kpi.models import Activity, Checkin, Member, Membership, ProcessedUpdate, Team
from tests.support.chat import ADMIN_ID, Talk


def _scalar(db: Any, stmt: Any) -> Any:
    with db.transaction() as s:
        return s.scalar(stmt)


async def test_setup_by_the_group_creator_makes_a_team_and_a_leader(
    talk: Talk, sandbox: Any, db: Any
) -> None:
    lan = sandbox.user("Lan", language_code="vi")
    group = sandbox.group("Sales HCM", creator=lan)
    text = await talk.reply(lan, group, "/setup")
    assert "Đã thiết lập đội Sales HCM" in text
    assert "Lan là quản lý đội" in text
    with db.transaction() as s:
        team = s.scalar(select(Team))
        assert team is not None and team.chat_id == group.id and team.active
        m = s.scalar(select(Membership))
        assert m is not None and m.role == "leader" and m.team_id == team.id
    # A second /setup changes nothing and says so.
    assert "đã được thiết lập" in await talk.reply(lan, group, "/setup")
    assert _scalar(db, select(func.count()).select_from(Team)) == 1


async def test_setup_is_refused_to_ordinary_members_and_allowed_to_admins(
    talk: Talk, sandbox: Any, db: Any
) -> None:
    owner = sandbox.user("Owner", language_code="en")
    rep = sandbox.user("Rep", language_code="en")
    group_admin = sandbox.user("Admin", language_code="en")
    group = sandbox.group("Team A", creator=owner, admins=[group_admin], members=[rep])
    text = await talk.reply(rep, group, "/setup")
    assert text.startswith("Only the group's creator")
    assert _scalar(db, select(func.count()).select_from(Team)) == 0
    text = await talk.reply(group_admin, group, "/setup")
    assert "Team Team A is set up. Admin is its leader." in text


async def test_configured_bot_admin_may_set_up_any_group(
    talk: Talk, sandbox: Any, db: Any
) -> None:
    owner = sandbox.user("Owner")
    bot_admin = sandbox.user("Boss", user_id=ADMIN_ID, language_code="en")
    group = sandbox.group("Team B", creator=owner, members=[bot_admin])
    assert "is set up" in await talk.reply(bot_admin, group, "/setup")


async def test_setup_explains_that_the_bot_needs_admin_rights(talk: Talk, sandbox: Any) -> None:
    owner = sandbox.user("Owner", language_code="en")
    group = sandbox.group("Team C", creator=owner, bot_is_admin=False)
    text = await talk.reply(owner, group, "/setup")
    assert "make me an administrator" in text


async def test_setup_in_a_private_chat_points_to_the_group(talk: Talk, sandbox: Any) -> None:
    u = sandbox.user("Solo", language_code="en")
    assert "in your team's group chat" in await talk.reply(u, sandbox.private(u), "/setup")


async def test_join_offers_the_private_chat_button(talk: Talk, sandbox: Any, db: Any) -> None:
    lan = sandbox.user("Lan")
    minh = sandbox.user("Minh", username="minh_t")
    group = sandbox.group("Sales", creator=lan, members=[minh])
    await talk.say(lan, group, "/setup")
    [answer] = await talk.say(minh, group, "/join")
    assert "Minh đã tham gia đội Sales" in answer.text
    [(label, url)] = answer.buttons()
    assert label == "Mở chat riêng với bot"
    assert url == f"https://t.me/{sandbox.bot_username}"
    assert "đã là thành viên" in await talk.reply(minh, group, "/join")
    with db.transaction() as s:
        member = s.scalar(select(Member).where(Member.username == "minh_t"))
        assert member is not None
        assert (
            s.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.member_id == member.id)
            )
            == 1
        )


async def test_join_in_a_group_without_team(talk: Talk, sandbox: Any) -> None:
    u = sandbox.user("U", language_code="en")
    group = sandbox.group("Nope", creator=u)
    assert "not set up yet" in await talk.reply(u, group, "/join")


async def test_start_in_private_greets_and_lists_teams(talk: Talk, team: Any) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "/start")
    assert text.startswith("👋 Chào Minh!")
    assert "Đội của bạn: Sales HCM." in text
    text = await talk.reply(team.hoa, team.hoa_dm, "/start")
    assert "Your teams: Sales HCM." in text


async def test_help_in_both_languages(talk: Talk, team: Any) -> None:
    vi = await talk.reply(team.minh, team.minh_dm, "/help")
    en = await talk.reply(team.hoa, team.hoa_dm, "/help")
    assert "/call (/goi) [n] [ghi chú]" in vi and "Ghi hoạt động" in vi
    assert "/call (/goi) [n] [note]" in en and "Log activity" in en
    # Reps see the commands they may use; the leader sees the leaders' ones too.
    assert "/target" not in vi and "/settings" not in en
    leader = await talk.reply(team.leader, team.group, "/help")
    assert "Quản lý" in leader and "/target (/chitieu) <chỉ số> <giá trị>" in leader


async def test_call_in_private_confirms_with_progress(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.minh, team.minh_dm, "/call 3")
    # The default daily target for calls is 20 per working day.
    assert "✅ +3 cuộc gọi" in text
    assert "Cuộc gọi hôm nay: 3/20 (15%) ▓░░░░░░░░░" in text
    text = await talk.reply(team.minh, team.minh_dm, "/call 12")
    assert "Cuộc gọi hôm nay: 15/20 (75%) ▓▓▓▓▓▓▓░░░" in text
    with db.transaction() as s:
        values = s.scalars(select(Activity.value).order_by(Activity.id)).all()
        assert values == [3, 12]
        assert s.scalar(select(func.count()).select_from(Checkin)) == 2


async def test_call_in_the_group_is_one_short_line(talk: Talk, team: Any) -> None:
    text = await talk.reply(team.hoa, team.group, "/call 2")
    assert text == "✅ Hoa Lê: +2 calls"


async def test_me_shows_today_against_targets(talk: Talk, team: Any) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/call 10")
    text = await talk.reply(team.hoa, team.hoa_dm, "/me")
    # Each KPI over the period of its target: calls today, meetings this week, revenue this month.
    assert text.startswith("📊 Hoa Lê · overview")
    assert "Calls today: 10/20 (50%) ▓▓▓▓▓░░░░░" in text
    assert "Revenue this month: 0/200M (0%)" in text
    today = await talk.reply(team.hoa, team.hoa_dm, "/me today")
    assert today.startswith("📊 Hoa Lê · today")
    assert "Calls: 10/20 (50%)" in today
    vi = await talk.reply(team.minh, team.minh_dm, "/toi")
    assert "Cuộc gọi hôm nay: 0/20 (0%)" in vi
    # In the private chat the text is followed by the progress chart.
    chart = talk.sandbox.sent(team.minh_dm)[-1]
    assert chart.kind == "photo" and chart.photo.startswith(b"\x89PNG")


async def test_outsider_is_told_how_to_join(talk: Talk, sandbox: Any, team: Any) -> None:
    stranger = sandbox.user("Khách", language_code="vi")
    text = await talk.reply(stranger, sandbox.private(stranger), "/call 3")
    assert "chưa thuộc đội nào" in text
    text = await talk.reply(stranger, sandbox.private(stranger), "/me")
    assert "chưa thuộc đội nào" in text


async def test_the_same_update_delivered_again_counts_once(talk: Talk, team: Any, db: Any) -> None:
    update = talk.sandbox.text(team.minh, team.minh_dm, "/call 4")
    for _ in range(3):
        await talk.deliver(update)
    with db.transaction() as s:
        assert s.scalar(select(func.sum(Activity.value))) == 4
        assert s.scalar(select(func.count()).select_from(ProcessedUpdate)) >= 1


async def test_language_follows_telegram_then_the_choice(talk: Talk, team: Any) -> None:
    assert "Ngôn ngữ hiện tại" in await talk.reply(team.minh, team.minh_dm, "/language")
    assert "Switched to English" in await talk.reply(team.minh, team.minh_dm, "/language en")
    assert "Log activity" in await talk.reply(team.minh, team.minh_dm, "/help")
    [answer] = await talk.say(team.minh, team.minh_dm, "/language")
    assert answer.buttons() == [("🇻🇳 Tiếng Việt", "lang:vi"), ("🇬🇧 English", "lang:en")]
    await talk.press(team.minh, team.minh_dm, answer, "lang:vi")
    assert "Ghi hoạt động" in await talk.reply(team.minh, team.minh_dm, "/help")


async def test_bot_removed_marks_the_team_inactive_and_keeps_data(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await talk.deliver(sandbox.bot_removed(team.group, team.leader))
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None and not t.active
        assert s.scalar(select(func.sum(Activity.value))) == 5


async def test_group_migration_moves_the_team(
    talk: Talk, sandbox: Any, team: Any, db: Any
) -> None:
    new_chat, update = sandbox.migrate(team.group)
    await talk.deliver(update)
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None and t.chat_id == new_chat.id
    text = await talk.reply(team.hoa, new_chat, "/call 1")
    assert text == "✅ Hoa Lê: +1 calls"


async def test_me_in_the_group_goes_to_the_private_chat(talk: Talk, team: Any) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.hoa, team.hoa_dm, "/call 4")
    answers = await talk.say(team.hoa, team.group, "/me")
    # One person's detail is not posted to the whole group.
    in_group = [a.text for a in answers if a.chat_id == team.group.id]
    assert in_group == ["📬 Your numbers are in your private chat."]
    private = talk.sandbox.sent(team.hoa_dm)
    assert private[-2].text.startswith("📊 Hoa Lê · overview") and private[-1].kind == "photo"


async def test_me_in_the_group_without_a_private_chat_offers_one(
    talk: Talk, sandbox: Any, team: Any
) -> None:
    newcomer = sandbox.user("Tâm", language_code="vi")
    sandbox.join(team.group, newcomer)
    await talk.say(newcomer, team.group, "/join")
    [answer] = await talk.say(newcomer, team.group, "/me")
    assert "Hãy mở chat riêng với bot" in answer.text
    assert answer.buttons() == [("Mở chat riêng với bot", f"https://t.me/{sandbox.bot_username}")]


async def test_a_group_admin_cannot_make_himself_leader_of_a_running_team(
    talk: Talk, sandbox: Any, db: Any
) -> None:
    owner = sandbox.user("Owner", language_code="en")
    helper = sandbox.user("Helper", language_code="en")
    group = sandbox.group("Team D", creator=owner, admins=[helper])
    await talk.say(owner, group, "/setup")
    text = await talk.reply(helper, group, "/setup")
    assert text.startswith("Team Team D already has its leaders.")
    with db.transaction() as s:
        roles = s.scalars(select(Membership.role)).all()
        assert roles == ["leader"]
    # The group's owner (and a configured admin) still can.
    assert "already a leader" in await talk.reply(owner, group, "/setup")
