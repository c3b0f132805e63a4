"""Who may change what (QUALITY.md R6): corrections against message edits, re-binding a group,
and corrections judged by the team an entry belongs to (issue 8).

Each test drives the real Application through the sandbox and checks what people see and what
the database holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.sandbox import Sandbox
from kpi.models import Activity, AuditEvent, Member, Membership, Team
from tests.conftest import ADMIN_ID, Talk


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
