"""/audit (/nhatky): a leader reads who changed what, when and from what to what, newest first,
in their own language, about one member if they ask, with kinds no catalog knows yet shown too."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from kpi import audit
from kpi.models import Activity, Team
from tests.support.chat import Talk


async def _history(talk: Talk, team: Any, db: Any) -> int:
    """Minh logs 3 calls and voids them; the leader sets a target. Return the entry's id."""
    await talk.say(team.minh, team.minh_dm, "/call 3")
    with db.transaction() as s:
        entry_id = int(s.scalar(select(func.max(Activity.id))) or 0)
    await talk.say(team.leader, team.leader_dm, "/target calls 30 day")
    await talk.say(team.minh, team.minh_dm, f"/void {entry_id}")
    return entry_id


async def test_a_leader_sees_the_recent_changes_newest_first_in_the_teams_zone(
    talk: Talk, team: Any, db: Any
) -> None:
    entry_id = await _history(talk, team, db)
    text = await talk.reply(team.leader, team.leader_dm, "/nhatky")
    lines = text.splitlines()
    assert lines[0] == "🗂 Các thay đổi gần đây · Sales HCM"
    # 10:00 in Ho Chi Minh City (03:00 UTC): the team's zone, not UTC.
    assert lines[1] == (f"• 19/11 10:00 · Minh Trần: hủy mục #{entry_id}"), lines[1]
    # What changed first, then what the entry was (the void names no value of its own).
    assert lines[2] == "   trạng thái: active → voided · chỉ số: calls · giá trị: 3 · ngày: 19/11"
    assert lines[3].startswith("• 19/11 10:00 · Lan Nguyễn: đặt chỉ tiêu")
    assert "giá trị: 30" in lines[4] and "kỳ: day" in lines[4]
    # The joins and the setup are older: further down.
    assert text.index("tham gia đội") > text.index("đặt chỉ tiêu")
    assert "thiết lập đội" in lines[-1]


async def test_the_reader_gets_their_own_language(talk: Talk, team: Any, db: Any) -> None:
    entry_id = await _history(talk, team, db)
    await talk.say(team.leader, team.leader_dm, "/language en")
    text = await talk.reply(team.leader, team.leader_dm, "/audit 2")
    assert text.splitlines() == [
        "🗂 Recent changes · Sales HCM",
        f"• 19/11 10:00 · Minh Trần: voided entry #{entry_id}",
        "   status: active → voided · metric: calls · value: 3 · day: 19/11",
        "• 19/11 10:00 · Lan Nguyễn: set a target",
        "   kpi: calls · period: day · value: 30 · targets: day 20",
    ]


async def test_one_members_events_only(talk: Talk, team: Any, db: Any) -> None:
    await _history(talk, team, db)
    text = await talk.reply(team.leader, team.leader_dm, "/audit @minh_tran")
    assert "Minh Trần" in text.splitlines()[0]
    assert "hủy mục" in text and "tham gia đội" in text
    assert "đặt chỉ tiêu" not in text  # the team-wide target is not about Minh
    assert "Hoa" not in text
    # Events about him by someone else say whom they are about.
    await talk.say(team.leader, team.leader_dm, "/target calls 40 day @minh_tran")
    text = await talk.reply(team.leader, team.leader_dm, "/audit @minh_tran 1")
    assert text.splitlines()[1] == "• 19/11 10:00 · Lan Nguyễn: đặt chỉ tiêu (về Minh Trần)"


async def test_a_kind_no_catalog_knows_is_still_shown(talk: Talk, team: Any, db: Any) -> None:
    with db.transaction() as s:
        team_id = s.scalar(select(Team.id))
        audit.record(
            s,
            team_id=team_id,
            action="approval.granted",
            entity="deal",
            entity_id=7,
            before={"state": "pending"},
            after={"state": "approved", "amount": 45_000_000},
            now=talk.app.bot_data.now(),
        )
    text = await talk.reply(team.leader, team.leader_dm, "/audit 1")
    assert text.splitlines()[1:] == [
        "• 19/11 10:00 · bot: thay đổi (approval.granted)",
        "   state: pending → approved · số tiền: 45.000.000",
    ]


async def test_mute_and_unmute_are_on_the_trail(talk: Talk, team: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/mute")
    await talk.say(team.minh, team.minh_dm, "/mute")  # no change: no event
    await talk.say(team.minh, team.minh_dm, "/unmute")
    text = await talk.reply(team.leader, team.leader_dm, "/audit @minh_tran 3")
    events = [line for line in text.splitlines() if line.startswith("•")]
    assert [re.findall(r": (tắt|bật) nhắc nhở", e) for e in events] == [["bật"], ["tắt"], []]


async def test_asked_in_the_group_it_goes_to_the_leaders_private_chat(
    talk: Talk, team: Any, sandbox: Any
) -> None:
    answers = await talk.say(team.leader, team.group, "/audit")
    group = [a.text for a in answers if a.chat_id == team.group.id]
    private = [a.text or "" for a in answers if a.chat_id == team.leader.id]
    assert group == ["📬 Đã gửi vào chat riêng của bạn."]
    assert private and private[0].startswith("🗂 Các thay đổi gần đây")


async def test_bad_arguments_are_answered_with_an_example(talk: Talk, team: Any) -> None:
    text = await talk.reply(team.leader, team.leader_dm, "/audit 500")
    assert text == "Chỉ xem được từ 1 đến 50 thay đổi.\nVí dụ: /nhatky @minh_tran 20"
    text = await talk.reply(team.leader, team.leader_dm, "/audit @nobody")
    assert text.startswith("Không tìm thấy thành viên @nobody")
    text = await talk.reply(team.leader, team.leader_dm, "/audit hôm qua")
    assert text.startswith('"hôm" không phải @thành_viên')


async def test_a_rep_is_refused(talk: Talk, team: Any) -> None:
    text = await talk.reply(team.hoa, team.hoa_dm, "/audit")
    assert text == "Only a team leader can use this command."


async def test_settings_and_kpi_changes_are_on_the_trail(talk: Talk, team: Any) -> None:
    await talk.say(team.leader, team.group, "/settings show top 3")
    await talk.say(team.leader, team.leader_dm, "/kpi weight calls 30%")
    text = await talk.reply(team.leader, team.leader_dm, "/audit 2")
    assert text.splitlines()[1:] == [
        "• 19/11 10:00 · Lan Nguyễn: đổi trọng số KPI",
        "   trọng số: 0,2 → 0,3",
        "• 19/11 10:00 · Lan Nguyễn: thay đổi cài đặt",
        "   group_sees: full → top · top_n: 5 → 3",
    ]
