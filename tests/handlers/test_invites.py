"""Invite links and join approval (issue 10), through the real Application and the sandbox.

A leader makes a link; opening it joins the team; a single-use link lets one person in; a link
expires and can be revoked, and each refusal says why; the database holds only the token's
hash. With join approval on, /join and links make a request, the leaders get Approve / Reject
privately, the first answer decides (a second press learns who decided), and the person who
asked is told the outcome in their language.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import select, update

from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_LEFT,
    MEMBERSHIP_PENDING,
    ROLE_LEADER,
    Activity,
    AuditEvent,
    Base,
    Invite,
    Member,
    Membership,
    Team,
)
from kpi.teams import settings_of
from tests.support.chat import Clock, Talk

LINK = re.compile(r"https://t\.me/kpi_test_bot\?start=([A-Za-z0-9_-]+)")


async def make_link(talk: Talk, team: Any, args: str = "") -> tuple[str, str]:
    """The leader asks for a link in private; return the answer and the token."""
    answer = await talk.reply(team.leader, team.leader_dm, f"/invite {args}".strip())
    found = LINK.search(answer)
    assert found is not None, answer
    return answer, found.group(1)


def membership_status(db: Any, user_id: int) -> str | None:
    with db.transaction() as s:
        return s.scalar(
            select(Membership.status)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.telegram_id == user_id)
        )


def audit_actions(db: Any) -> list[str]:
    with db.transaction() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


async def test_a_leaders_link_joins_the_team(talk: Talk, team: Any, sandbox: Any, db: Any) -> None:
    answer, token = await make_link(talk, team)
    assert "Link mời #1 vào đội Sales HCM, dùng được cho nhiều người" in answer
    assert "hiệu lực đến 26/11/2026 10:00" in answer  # 7 days (invite_days), local time
    assert "Link chỉ hiện một lần này" in answer
    assert len(token) >= 32
    assert "invite.create" in audit_actions(db)

    vy = sandbox.user("Vy", username="vy_pham", language_code="en")
    text = await talk.reply(vy, sandbox.private(vy), f"/start {token}")
    assert "✅ You joined team Sales HCM." in text
    assert membership_status(db, vy.id) == MEMBERSHIP_ACTIVE
    # A member now: logging from the private chat counts for the team.
    assert (await talk.reply(vy, sandbox.private(vy), "/call 2")).startswith("✅")
    # A multi-use link lets the next person in too; opening it again uses nothing up.
    an = sandbox.user("An", language_code="vi")
    assert "Bạn đã tham gia đội" in await talk.reply(an, sandbox.private(an), f"/start {token}")
    again = await talk.reply(vy, sandbox.private(vy), f"/start {token}")
    assert "You are already a member of team" in again
    with db.transaction() as s:
        assert s.scalar(select(Invite.uses)) == 2


async def test_a_single_use_link_lets_one_person_in(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    answer, token = await make_link(talk, team, "once")
    assert "chỉ dùng được một lần (cho một người)" in answer
    vy = sandbox.user("Vy", language_code="en")
    an = sandbox.user("An", language_code="vi")
    assert "You joined team" in await talk.reply(vy, sandbox.private(vy), f"/start {token}")
    refused = await talk.reply(an, sandbox.private(an), f"/start {token}")
    assert "Link mời một lần vào đội Sales HCM đã có người dùng." in refused
    assert membership_status(db, an.id) is None
    # The one it let in opening it again is told they are in, not refused.
    assert "already a member" in await talk.reply(vy, sandbox.private(vy), f"/start {token}")
    # The Vietnamese alias takes the Vietnamese word.
    answer = await talk.reply(team.leader, team.leader_dm, "/moi một lần")
    assert "chỉ dùng được một lần" in answer


async def test_a_link_expires_after_the_teams_invite_days(
    talk: Talk, team: Any, sandbox: Any, db: Any, clock: Clock
) -> None:
    _, token = await make_link(talk, team)
    clock.advance(days=6, hours=23)
    vy = sandbox.user("Vy", language_code="en")
    assert "You joined" in await talk.reply(vy, sandbox.private(vy), f"/start {token}")
    clock.advance(hours=1)
    an = sandbox.user("An", language_code="en")
    text = await talk.reply(an, sandbox.private(an), f"/start {token}")
    assert "The invite link of team Sales HCM has expired." in text
    assert membership_status(db, an.id) is None
    # Expired links are no longer listed as open.
    listing = await talk.reply(team.leader, team.leader_dm, "/invite list")
    assert "chưa có link mời nào còn hiệu lực" in listing


async def test_a_team_with_longer_invite_days_gets_longer_links(
    talk: Talk, team: Any, db: Any
) -> None:
    with db.transaction() as s:
        t = s.scalars(select(Team)).one()
        t.settings = {**(t.settings or {}), "invite_days": 30}
    answer, _ = await make_link(talk, team)
    assert "hiệu lực đến 19/12/2026 10:00" in answer


async def test_a_revoked_link_joins_nobody(talk: Talk, team: Any, sandbox: Any, db: Any) -> None:
    _, token = await make_link(talk, team)
    text = await talk.reply(team.leader, team.leader_dm, "/invite revoke 1")
    assert text == "🚫 Đã thu hồi link mời #1. Link này không còn dùng được nữa."
    vy = sandbox.user("Vy", language_code="en")
    refused = await talk.reply(vy, sandbox.private(vy), f"/start {token}")
    assert "A leader revoked this invite link to team Sales HCM." in refused
    assert membership_status(db, vy.id) is None
    assert "đã được thu hồi trước đó" in await talk.reply(
        team.leader, team.leader_dm, "/moi thuhoi 1"
    )
    assert "Không tìm thấy link mời #99" in await talk.reply(
        team.leader, team.leader_dm, "/invite revoke 99"
    )
    bad = await talk.reply(team.leader, team.leader_dm, "/invite revoke abc")
    assert bad.endswith("Ví dụ: /moi thuhoi 1")
    with db.transaction() as s:
        revoked = s.scalars(select(AuditEvent).where(AuditEvent.action == "invite.revoke")).one()
        assert revoked.entity == "invite" and revoked.entity_id == 1
        assert revoked.actor_id is not None


async def test_another_teams_link_cannot_be_revoked_from_here(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    boss = sandbox.user("Vy", language_code="en")
    other = sandbox.group("Sales HN", creator=boss)
    await talk.say(boss, other, "/setup")
    answer = await talk.reply(boss, other, "/invite")
    assert "Invite link #1 to team Sales HN" in answer
    text = await talk.reply(team.leader, team.leader_dm, "/invite revoke 1")
    assert "Không tìm thấy link mời #1" in text
    with db.transaction() as s:
        assert s.scalar(select(Invite.revoked_at)) is None


async def test_the_list_shows_open_links_without_their_tokens(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    _, multi = await make_link(talk, team)
    _, once = await make_link(talk, team, "once")
    _, revoked = await make_link(talk, team)
    await talk.say(team.leader, team.leader_dm, "/invite revoke 3")
    vy = sandbox.user("Vy", language_code="en")
    await talk.say(vy, sandbox.private(vy), f"/start {multi}")
    listing = await talk.reply(team.leader, team.leader_dm, "/invite list")
    assert "#1 · nhiều người · đến 26/11/2026 10:00 · đã dùng 1 lần" in listing
    assert "#2 · một lần · đến 26/11/2026 10:00 · chưa dùng" in listing
    assert "#3" not in listing
    assert not any(token in listing for token in (multi, once, revoked))


async def test_the_database_holds_only_the_tokens_hash(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    _, token = await make_link(talk, team, "once")
    vy = sandbox.user("Vy", language_code="en")
    await talk.say(vy, sandbox.private(vy), f"/start {token}")
    with db.transaction() as s:
        stored = s.scalars(select(Invite)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        # No table holds the plain token anywhere (audit, pending actions, the inbox, ...).
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).all():
                assert token not in repr(tuple(row)), table.name


# --- join approval ---------------------------------------------------------------------------


async def approval_on(talk: Talk, team: Any) -> None:
    """The leader turns join approval on and opens the private chat the questions go to."""
    text = await talk.reply(team.leader, team.group, "/settings approval joins on")
    assert "Duyệt thành viên mới: bật" in text
    await talk.say(team.leader, team.leader_dm, "/start")


def question_to(sandbox: Any, chat: Any) -> Any:
    """Return the join request a leader got last, with its buttons."""
    asked = [m for m in sandbox.sent(chat) if "xin tham gia đội" in (m.text or "")]
    assert asked, [m.text for m in sandbox.sent(chat)]
    return asked[-1]


async def test_with_approval_on_a_join_waits_for_a_leader(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    await approval_on(talk, team)
    vy = sandbox.user("Vy", last_name="Phạm", username="vy_pham", language_code="en")
    sandbox.join(team.group, vy)
    answers = await talk.say(vy, team.group, "/join")
    # Vy is told in the group; the leader's question is sent at once, privately.
    assert [a.chat_id for a in answers] == [team.group.id, team.leader.id]
    assert "waiting for a leader's approval" in (answers[0].text or "")
    assert membership_status(db, vy.id) == MEMBERSHIP_PENDING
    question = question_to(sandbox, team.leader_dm)
    assert question.text == "🙋 Vy Phạm (@vy_pham) xin tham gia đội Sales HCM."
    labels = dict(question.buttons())
    assert set(labels) == {"✅ Duyệt", "❌ Từ chối"}
    # Asking again sends no second question while the first waits.
    await talk.say(vy, team.group, "/join")
    assert len([m for m in sandbox.sent(team.leader_dm) if "xin tham gia" in (m.text or "")]) == 1

    # Waiting, Vy cannot log nor read the team's numbers.
    before = len(sandbox.sent())
    refusal = await talk.reply(vy, team.group, "/call 3")
    assert "not joined this team" in refusal or "not in a team" in refusal
    with db.transaction() as s:
        logged = select(Activity).join(Member, Member.id == Activity.member_id)
        assert s.scalars(logged.where(Member.telegram_id == vy.id)).all() == []
    assert "/join" in await talk.reply(vy, team.group, "/me")
    assert len(sandbox.sent()) == before + 2

    done = await talk.press(team.leader, team.leader_dm, question, labels["✅ Duyệt"])
    assert "✅ Vy Phạm đã là thành viên của đội Sales HCM." in [m.text for m in done]
    # Vy opened no private chat: the group is told, in Vy's language.
    told = [m for m in done if m.chat_id == team.group.id]
    assert told and "a leader approved your request" in (told[0].text or "")
    assert membership_status(db, vy.id) == MEMBERSHIP_ACTIVE
    assert (await talk.reply(vy, team.group, "/call 3")).startswith("✅")
    shown = next(m for m in sandbox.sent(team.leader_dm) if m.message_id == question.message_id)
    assert not shown.buttons()
    # The same button pressed again changes nothing and says who decided.
    again = await talk.deliver(
        sandbox.press(
            team.leader, team.leader_dm, question.message_id, labels["✅ Duyệt"], check=False
        )
    )
    assert "Lan Nguyễn đã duyệt yêu cầu của Vy Phạm rồi." in (again[-1].text or "")
    assert audit_actions(db).count("member.approve") == 1


async def test_two_leaders_the_second_sees_who_decided(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    await approval_on(talk, team)
    with db.transaction() as s:
        minh = s.scalars(select(Member).where(Member.telegram_id == team.minh.id)).one()
        s.execute(
            update(Membership).where(Membership.member_id == minh.id).values(role=ROLE_LEADER)
        )
    await talk.say(team.minh, team.minh_dm, "/start")
    vy = sandbox.user("Vy", username="vy_pham", language_code="en")
    _, token = await make_link(talk, team)
    answers = await talk.say(vy, sandbox.private(vy), f"/start {token}")
    assert "waiting for a leader's approval" in (answers[0].text or "")
    lan_q, minh_q = question_to(sandbox, team.leader_dm), question_to(sandbox, team.minh_dm)
    reject = dict(lan_q.buttons())["❌ Từ chối"]
    approve = dict(minh_q.buttons())["✅ Duyệt"]

    done = await talk.press(team.leader, team.leader_dm, lan_q, reject)
    assert any("Đã từ chối yêu cầu tham gia đội" in (m.text or "") for m in done)
    # Vy opened the private chat with the link: told there, in English.
    told = [m for m in done if m.chat_id == vy.id]
    assert told and "a leader did not approve your request to join team" in (told[0].text or "")
    assert membership_status(db, vy.id) == MEMBERSHIP_LEFT

    late = await talk.press(team.minh, team.minh_dm, minh_q, approve)
    assert [m.text for m in late] == ["Lan Nguyễn đã từ chối yêu cầu của Vy rồi."]
    assert membership_status(db, vy.id) == MEMBERSHIP_LEFT
    actions = audit_actions(db)
    assert actions.count("member.reject") == 1 and "member.approve" not in actions
    # Rejected, Vy may ask again: the leaders are asked again.
    await talk.say(vy, sandbox.private(vy), f"/start {token}")
    assert membership_status(db, vy.id) == MEMBERSHIP_PENDING
    assert len([m for m in sandbox.sent(team.leader_dm) if "xin tham gia" in (m.text or "")]) == 2


async def test_a_rep_cannot_answer_a_join_request(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    await approval_on(talk, team)
    vy = sandbox.user("Vy", language_code="en")
    sandbox.join(team.group, vy)
    await talk.say(vy, team.group, "/join")
    data = dict(question_to(sandbox, team.leader_dm).buttons())["✅ Duyệt"]
    [own] = await talk.say(team.minh, team.minh_dm, "/help")
    press = sandbox.press(team.minh, team.minh_dm, own.message_id, data, check=False)
    await talk.deliver(press)
    answer = sandbox.callback_answer(press)
    assert answer is not None and "Chỉ quản lý" in answer.get("text", "")
    assert membership_status(db, vy.id) == MEMBERSHIP_PENDING


# --- the settings ----------------------------------------------------------------------------


def team_settings(db: Any) -> Any:
    with db.transaction() as s:
        return settings_of(s.scalars(select(Team)).one())


async def test_leaders_turn_join_and_deal_approval_on_and_off(
    talk: Talk, team: Any, db: Any
) -> None:
    assert not team_settings(db).join_approval and not team_settings(db).deal_approval
    text = await talk.reply(team.leader, team.group, "/settings approval deals on")
    assert text.startswith("✅") or "Đã lưu" in text
    assert "Duyệt hợp đồng: bật" in text
    assert team_settings(db).deal_approval
    await talk.say(team.leader, team.group, "/caidat duyet thanhvien bat")
    assert team_settings(db).join_approval
    await talk.say(team.leader, team.group, "/settings approval joins off")
    assert not team_settings(db).join_approval
    with db.transaction() as s:
        changes = s.scalars(select(AuditEvent).where(AuditEvent.action == "settings.change")).all()
        assert [(c.before or {}).get("deal_approval") for c in changes] == [False, True, True]
        assert [(c.before or {}).get("join_approval") for c in changes] == [False, False, True]
        assert [(c.after or {}).get("join_approval") for c in changes] == [False, True, False]
        assert all(c.actor_id is not None for c in changes)
    bad = await talk.reply(team.leader, team.group, "/settings approval maybe on")
    assert "joins: thành viên mới" in bad and bad.endswith("/settings approval joins on")
    refused = await talk.reply(team.minh, team.group, "/settings approval joins on")
    assert "Chỉ quản lý" in refused
    assert not team_settings(db).join_approval


async def test_a_new_team_takes_the_configured_defaults(
    talk: Talk, sandbox: Any, app: Any
) -> None:
    import dataclasses

    bd = app.bot_data
    bd.defaults = dataclasses.replace(
        bd.defaults,
        settings=dataclasses.replace(bd.defaults.settings, join_approval=True, invite_days=3),
    )
    boss = sandbox.user("Vy", language_code="en")
    group = sandbox.group("Sales DN", creator=boss)
    await talk.say(boss, group, "/setup")
    rep = sandbox.user("Nam", language_code="en")
    sandbox.join(group, rep)
    answers = await talk.say(rep, group, "/join")
    assert "waiting for a leader's approval" in (answers[0].text or "")
    answer = await talk.reply(boss, group, "/invite")
    assert "valid until 22/11/2026 10:00" in answer


async def test_a_bad_invite_command_shows_an_example_and_makes_no_link(
    talk: Talk, team: Any, db: Any
) -> None:
    text = await talk.reply(team.leader, team.leader_dm, "/invite banana")
    assert text.splitlines() == [
        "Dùng /invite (link cho nhiều người), /invite once (cho một người), /invite list (xem)"
        " hoặc /invite revoke <số> (thu hồi).",
        "Ví dụ: /moi một lần",
    ]
    with db.transaction() as s:
        assert s.scalars(select(Invite)).all() == []


async def test_with_no_leader_reachable_privately_the_request_is_asked_in_the_group(
    talk: Talk, team: Any, sandbox: Any, db: Any
) -> None:
    text = await talk.reply(team.leader, team.group, "/settings approval joins on")
    assert "Duyệt thành viên mới: bật" in text
    # The leader never opened the private chat (or closed it): nobody could be asked privately.
    with db.transaction() as s:
        s.execute(update(Member).values(private_chat_ok=False))
    vy = sandbox.user("Vy", last_name="Phạm", username="vy_pham", language_code="en")
    sandbox.join(team.group, vy)
    await talk.say(vy, team.group, "/join")
    question = question_to(sandbox, team.group)
    assert question.text == "🙋 Vy Phạm (@vy_pham) xin tham gia đội Sales HCM."
    labels = dict(question.buttons())
    # In the group anyone can press: a rep's press is refused and decides nothing.
    await talk.press(team.hoa, team.group, question, labels["✅ Duyệt"])
    assert membership_status(db, vy.id) == MEMBERSHIP_PENDING
    await talk.press(team.leader, team.group, question, labels["✅ Duyệt"])
    assert membership_status(db, vy.id) == MEMBERSHIP_ACTIVE
