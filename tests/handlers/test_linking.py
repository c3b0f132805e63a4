"""Issue 11: an imported person who joins is linked to their history only on a leader's word.

A leader imports a file with a name nobody in the team has; that person joins; the leaders are
asked privately; a rep's forged press changes nothing; the leader's Confirm makes the imported
history theirs (/me, /history), and pressing again is harmless.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from handlers.posts import sweep_outbox
from kpi.models import (
    MEMBERSHIP_LEFT,
    MEMBERSHIP_MERGED,
    Activity,
    AuditEvent,
    Member,
    Membership,
    PendingAction,
)
from tests.support.chat import Clock, Talk
from tests.support.spreadsheets import GOOD, workbook


async def _import(talk: Talk, team: Any, sandbox: Any) -> None:
    """The leader imports October's file from the chat (Phạm Thu is nobody in the team)."""
    answers = await talk.deliver(
        sandbox.document(team.leader, team.leader_dm, workbook(GOOD), "kpi.xlsx")
    )
    confirm = next(data for label, data in answers[-1].buttons() if "Xác nhận" in label)
    await talk.press(team.leader, team.leader_dm, answers[-1], confirm)


async def _joins(talk: Talk, team: Any, sandbox: Any, app: Any, clock: Clock) -> tuple[Any, Any]:
    """Thu Phạm joins the group's team; return her and the leader's question."""
    thu = sandbox.user("Thu", last_name="Phạm", username="thu_pham", language_code="vi")
    await talk.deliver(sandbox.join(team.group, thu))
    await talk.say(thu, team.group, "/join")
    before = len(sandbox.sent(team.leader_dm))
    assert await sweep_outbox(app.bot, app.bot_data, clock()) == 1
    [question] = sandbox.sent(team.leader_dm)[before:]
    return thu, question


def _counts(db: Any) -> tuple[int, int]:
    """Return (entries of the imported member, entries of the person who joined)."""
    with db.transaction() as s:
        imported = s.scalars(select(Member).where(Member.first_name == "Phạm Thu")).one()
        joined = s.scalars(select(Member).where(Member.username == "thu_pham")).one_or_none()

        def count(member: Member | None) -> int:
            if member is None:
                return 0
            q = select(func.count()).select_from(Activity).where(Activity.member_id == member.id)
            return int(s.scalar(q) or 0)

        return count(imported), count(joined)


async def test_a_leader_links_an_imported_member_who_joins(
    talk: Talk, team: Any, sandbox: Any, db: Any, app: Any, clock: Clock
) -> None:
    await _import(talk, team, sandbox)
    entries = _counts(db)[0]
    assert entries == 3  # Phạm Thu's month: calls, meetings, deals with their money
    thu, question = await _joins(talk, team, sandbox, app, clock)
    assert "Phạm Thu" in (question.text or "") and "@thu_pham" in (question.text or "")
    labels = dict(question.buttons())
    link = labels["Liên kết Phạm Thu với @thu_pham"]
    assert labels["Không phải cùng một người"] == link.replace(":ok", ":no")
    # Her name alone gave her nothing yet.
    assert _counts(db) == (entries, 0)

    # A rep forging the button's data is refused, and nothing moves.
    [minh_dm_message] = await talk.say(team.minh, team.minh_dm, "/help")
    press = sandbox.press(team.minh, team.minh_dm, minh_dm_message.message_id, link, check=False)
    await talk.deliver(press)
    answer = sandbox.callback_answer(press)
    assert answer is not None and "quản lý" in answer.get("text", "")
    assert _counts(db) == (entries, 0)

    done = await talk.press(team.leader, team.leader_dm, question, link)
    assert f"Phạm Thu giờ là Thu Phạm: {entries} mục" in (done[-1].text or "")
    assert _counts(db) == (0, entries)
    # The buttons are gone; the same press delivered again changes nothing.
    shown = next(m for m in sandbox.sent(team.leader_dm) if m.message_id == question.message_id)
    assert not shown.buttons()
    again = await talk.deliver(
        sandbox.press(team.leader, team.leader_dm, question.message_id, link, check=False)
    )
    assert "đã liên kết" in (again[-1].text or "")
    assert _counts(db) == (0, entries)
    with db.transaction() as s:
        links = s.scalars(select(AuditEvent).where(AuditEvent.action == "member.link")).all()
        assert len(links) == 1 and links[0].after is not None
        assert links[0].after["entries"] == entries
        statuses = {
            m.member_id: m.status
            for m in s.scalars(select(Membership))
            if m.member_id == links[0].entity_id
        }
        assert set(statuses.values()) == {MEMBERSHIP_MERGED}
        assert s.get(Member, links[0].entity_id) is not None  # kept, not deleted

    # Her history is hers: /history marks the imported entries, /me counts them.
    thu_dm = sandbox.private(thu)
    history = await talk.reply(thu, thu_dm, "/history")
    assert history.count("📥 (nhập)") == entries
    me = await talk.reply(thu, thu_dm, "/me quý")
    assert "1,2 tỷ" in me
    # A later file naming her finds her, not the imported row nor a new person.
    answers = await talk.deliver(
        sandbox.document(
            team.leader,
            team.leader_dm,
            workbook([(1, "03/11/2026", "Phạm Thu", 7, None, None, None)]),
            "thang11.xlsx",
        )
    )
    confirm = next(data for label, data in answers[-1].buttons() if "Xác nhận" in label)
    await talk.press(team.leader, team.leader_dm, answers[-1], confirm)
    assert _counts(db) == (0, entries + 1)


async def test_not_the_same_person_keeps_two_people_and_is_not_asked_again(
    talk: Talk, team: Any, sandbox: Any, db: Any, app: Any, clock: Clock
) -> None:
    await _import(talk, team, sandbox)
    thu, question = await _joins(talk, team, sandbox, app, clock)
    no = dict(question.buttons())["Không phải cùng một người"]
    done = await talk.press(team.leader, team.leader_dm, question, no)
    assert "hai người khác nhau" in (done[-1].text or "")
    again = await talk.deliver(
        sandbox.press(team.leader, team.leader_dm, question.message_id, no, check=False)
    )
    assert "không phải cùng một người" in (again[-1].text or "")
    assert _counts(db) == (3, 0)
    # Leaving and coming back does not ask again.
    with db.transaction() as s:
        joined = s.scalars(select(Member).where(Member.username == "thu_pham")).one()
        joined.memberships[0].status = MEMBERSHIP_LEFT
    assert "quay lại" in await talk.reply(thu, team.group, "/join")
    assert await sweep_outbox(app.bot, app.bot_data, clock()) == 0
    with db.transaction() as s:
        kinds = s.scalars(select(PendingAction.resolution).where(PendingAction.kind == "link"))
        assert list(kinds) == ["declined"]
