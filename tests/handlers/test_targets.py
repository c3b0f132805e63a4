"""Leader commands through the real Application: /target and /kpi, and what they store."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from kpi.models import Activity, AuditEvent, KpiDefinition, Metric, Target
from kpi.parsing import ParseError
from kpi.targets import parse_target_value
from tests.support.chat import TODAY, Talk
from tests.support.team import ids, season

TARGET_EXAMPLE = "Ví dụ: /target doanhso 300tr tháng @minh_tran"
TEAM_ONLY = "Chỉ số này tính chung cho cả đội, không đặt chỉ tiêu riêng cho từng người được."
KPI_USAGE = (
    "Dùng /kpi với: weight (trọng số), minimum (định mức tối thiểu), retire (ngừng dùng) "
    "hoặc add (thêm mới)."
)


def active_targets(db: Any, kpi: str) -> dict[int | None, tuple[float, str]]:
    """Return the active targets of a KPI: member id (None: default) → (value, period)."""
    with db.transaction() as s:
        rows = s.scalars(
            select(Target).where(Target.kpi_key == kpi, Target.superseded_at.is_(None))
        ).all()
        return {r.member_id: (r.value, r.period) for r in rows}


def snapshot(db: Any) -> tuple[Any, ...]:
    """Return what leader commands may change: targets, KPI definitions, metrics, audit."""
    with db.transaction() as s:
        return (
            s.execute(select(Target.id, Target.value, Target.period, Target.superseded_at)).all(),
            s.execute(
                select(KpiDefinition.key, KpiDefinition.weight, KpiDefinition.minimum)
            ).all(),
            s.scalars(select(Metric.key)).all(),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )


# --- /target ------------------------------------------------------------------------------


async def test_leader_sets_a_default_and_the_previous_target_is_superseded(
    talk: Talk, team: Any, db: Any, clock: Any
) -> None:
    t = ids(db)
    text = await talk.reply(team.leader, team.group, "/target calls 25 day")
    assert text == "🎯 Chỉ tiêu Cuộc gọi cho từng thành viên: 25 mỗi ngày."
    with db.transaction() as s:
        rows = s.scalars(select(Target).where(Target.kpi_key == "calls").order_by(Target.id)).all()
        assert [(r.value, r.period, r.member_id) for r in rows] == [
            (20.0, "day", None),
            (25.0, "day", None),
        ]
        old, new = rows
        assert old.superseded_at == clock.now  # history kept, no longer in force
        assert new.superseded_at is None
        assert new.set_by == t.leader and new.effective_from == TODAY
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "target.set"))
        assert event is not None and event.entity_id == new.id and event.actor_id == t.leader
        assert event.before == {"targets": [{"period": "day", "value": 20.0}]}
        assert event.after == {"kpi": "calls", "member": None, "period": "day", "value": 25.0}
    assert "Calls today: 0/25 (0%)" in await talk.reply(team.hoa, team.hoa_dm, "/me")


async def test_override_by_username_and_by_replying_to_a_members_message(
    talk: Talk, team: Any, db: Any
) -> None:
    t = ids(db)
    text = await talk.reply(team.leader, team.group, "/target calls 10 day @minh_tran")
    assert text == "🎯 Chỉ tiêu Cuộc gọi của Minh Trần: 10 mỗi ngày."
    # A reply to Hoa's message names her.
    update = talk.sandbox.text(team.hoa, team.group, "/call 2")
    await talk.deliver(update)
    answers = await talk.say(
        team.leader,
        team.group,
        "/target meetings 3 week",
        reply_to=update["message"]["message_id"],
    )
    assert [a.text for a in answers] == ["🎯 Chỉ tiêu Cuộc hẹn của Hoa Lê: 3 mỗi tuần."]
    assert active_targets(db, "calls") == {None: (20.0, "day"), t.minh: (10.0, "day")}
    assert active_targets(db, "meetings") == {None: (5.0, "week"), t.hoa: (3.0, "week")}
    assert "Meetings this week: 0/3 (0%)" in await talk.reply(team.hoa, team.hoa_dm, "/me")
    minh = await talk.reply(team.minh, team.minh_dm, "/me")
    assert "Cuộc gọi hôm nay: 0/10 (0%)" in minh and "Cuộc hẹn tuần này: 0/5 (0%)" in minh
    # A new override replaces the member's previous one and keeps its period; the default stays.
    await talk.say(team.leader, team.leader_dm, "/target calls 12 @minh_tran")
    assert active_targets(db, "calls") == {None: (20.0, "day"), t.minh: (12.0, "day")}
    with db.transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(Target).where(Target.kpi_key == "calls"))
            == 3
        )


@pytest.mark.parametrize(
    ("command", "kpi", "value", "period", "answer"),
    [
        (
            "/target doanhso 300tr",
            "revenue",
            300_000_000,
            "month",
            "🎯 Chỉ tiêu Doanh số cho từng thành viên: 300tr mỗi tháng.",
        ),
        (
            "/target doanh số 1,5 tỷ quý @hoa_le",
            "revenue",
            1_500_000_000,
            "quarter",
            "🎯 Chỉ tiêu Doanh số của Hoa Lê: 1,5 tỷ mỗi quý.",
        ),
        (
            "/target meetings 6,5 week",
            "meetings",
            6.5,
            "week",
            "🎯 Chỉ tiêu Cuộc hẹn cho từng thành viên: 6,5 mỗi tuần.",
        ),
        (
            "/target win_rate 30%",
            "win_rate",
            0.3,
            "month",
            "🎯 Chỉ tiêu Tỷ lệ thắng cho từng thành viên: 30% mỗi tháng.",
        ),
        (
            "/target tỷ lệ thắng 40",
            "win_rate",
            0.4,
            "month",
            "🎯 Chỉ tiêu Tỷ lệ thắng cho từng thành viên: 40% mỗi tháng.",
        ),
    ],
)
async def test_target_values_are_read_by_the_kpis_unit(
    talk: Talk,
    team: Any,
    db: Any,
    command: str,
    kpi: str,
    value: float,
    period: str,
    answer: str,
) -> None:
    t = ids(db)
    assert await talk.reply(team.leader, team.group, command) == answer
    member = t.hoa if "@hoa_le" in command else None
    assert active_targets(db, kpi)[member] == (pytest.approx(value), period)


def test_parse_target_value_per_unit() -> None:
    assert parse_target_value("300tr", "vnd") == 300_000_000
    assert parse_target_value("12", "count") == 12
    assert parse_target_value("2.5", "count") == 2.5
    assert parse_target_value("25%", "ratio") == 0.25
    assert parse_target_value("0.25", "ratio") == 0.25
    assert parse_target_value("0%", "ratio", allow_zero=True) == 0
    for text, unit in [
        ("0", "count"),
        ("-3", "count"),
        ("abc", "count"),
        ("0%", "ratio"),
        ("150%", "ratio"),
        ("", "vnd"),
        ("1.500", "vnd"),
    ]:
        with pytest.raises(ParseError):
            parse_target_value(text, unit)


@pytest.mark.parametrize(
    ("who", "command", "answer"),
    [
        ("minh", "/target calls 25 day", "Chỉ quản lý mới dùng được lệnh này."),
        ("hoa", "/target calls 25 day @minh_tran", "Only a team leader can use this command."),
        (
            "leader",
            "/target bananas 5",
            f'Không tìm thấy chỉ số "bananas". Gõ /kpi để xem danh sách.\n{TARGET_EXAMPLE}',
        ),
        (
            "leader",
            "/target calls 5 @nobody",
            "Không tìm thấy thành viên @nobody trong đội (bot chỉ biết những người đã tương tác)."
            f"\n{TARGET_EXAMPLE}",
        ),
        ("leader", "/target calls abc", f"Giá trị chỉ tiêu không hợp lệ: abc\n{TARGET_EXAMPLE}"),
        ("leader", "/target calls 0 day", f"Giá trị chỉ tiêu không hợp lệ: 0\n{TARGET_EXAMPLE}"),
        (
            "leader",
            "/target win_rate 150%",
            f"Giá trị chỉ tiêu không hợp lệ: 150%\n{TARGET_EXAMPLE}",
        ),
        ("leader", "/target calls", f"Hãy ghi tên chỉ số và mức chỉ tiêu.\n{TARGET_EXAMPLE}"),
        ("leader", "/target", f"Hãy ghi tên chỉ số và mức chỉ tiêu.\n{TARGET_EXAMPLE}"),
        ("leader", "/target calls day", f"Thiếu giá trị chỉ tiêu.\n{TARGET_EXAMPLE}"),
        (
            "leader",
            "/target doanh số trung bình / nhân viên 50tr",
            f"{TEAM_ONLY}\n{TARGET_EXAMPLE}",
        ),
        (
            "leader",
            "/target reps_on_target 80%",
            f"{TEAM_ONLY}\n{TARGET_EXAMPLE}",
        ),
    ],
)
async def test_refused_or_bad_targets_are_answered_and_store_nothing(
    talk: Talk, team: Any, db: Any, who: str, command: str, answer: str
) -> None:
    person = getattr(team, who)
    chat = team.group if who == "leader" else getattr(team, f"{who}_dm")
    before = snapshot(db)
    assert await talk.reply(person, chat, command) == answer
    assert snapshot(db) == before


async def test_an_ambiguous_amount_is_asked_about_not_guessed(
    talk: Talk, team: Any, db: Any
) -> None:
    before = snapshot(db)
    text = await talk.reply(team.leader, team.leader_dm, "/target revenue 1.500")
    assert "1.500" in text and "hai cách" in text
    assert snapshot(db) == before


# --- /kpi ---------------------------------------------------------------------------------


async def test_everyone_lists_the_kpis_and_only_leaders_get_the_hint(
    talk: Talk, team: Any
) -> None:
    rep = await talk.reply(team.hoa, team.hoa_dm, "/kpi")
    assert rep.startswith("📋 The team's KPIs\n• Revenue revenue · target 200M per month")
    assert "• Calls calls · target 20 per day · weight 20%" in rep
    assert "• Lost deals lost · lower is better" in rep
    assert "Leaders:" not in rep
    leader = await talk.reply(team.leader, team.group, "/kpi")
    assert "• Cuộc gọi calls · chỉ tiêu 20 mỗi ngày · trọng số 20%" in leader
    assert leader.splitlines()[-1].startswith("Quản lý: /kpi weight calls 20%")


async def test_leader_changes_weights_and_the_score_follows(
    talk: Talk, team: Any, db: Any
) -> None:
    t = ids(db)
    await talk.say(team.hoa, team.hoa_dm, "/call 20")
    assert (await talk.reply(team.hoa, team.hoa_dm, "/me")).endswith("Overall score: 20")
    text = await talk.reply(team.leader, team.group, "/kpi weight calls 60%")
    assert text.startswith("✅ Trọng số Cuộc gọi: 60%.\n📋 Các chỉ số KPI của đội")
    assert "• Cuộc gọi calls · chỉ tiêu 20 mỗi ngày · trọng số 60%" in text
    # Calls at 100% now weigh .6 of 1.4.
    assert (await talk.reply(team.hoa, team.hoa_dm, "/me")).endswith("Overall score: 43")
    # A KPI may be named in words, and a weight of 0 takes a KPI out of the score.
    text = await talk.reply(team.leader, team.group, "/kpi weight tỷ lệ thắng 10%")
    assert text.startswith("✅ Trọng số Tỷ lệ thắng: 10%.")
    assert (await talk.reply(team.hoa, team.hoa_dm, "/me")).endswith("Overall score: 43")
    await talk.say(team.leader, team.group, "/kpi weight revenue 0%")
    assert (await talk.reply(team.hoa, team.hoa_dm, "/me")).endswith("Overall score: 60")
    with db.transaction() as s:
        weights = dict(s.execute(select(KpiDefinition.key, KpiDefinition.weight)).all())
        assert weights["calls"] == 0.6 and weights["revenue"] == 0.0
        assert weights["win_rate"] == 0.1
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "kpi.weight"))
        assert event is not None and event.actor_id == t.leader
        assert event.before is not None and event.before["weight"] == 0.2
        assert event.after is not None and event.after["weight"] == 0.6


async def test_leader_sets_a_minimum_level(talk: Talk, team: Any, db: Any) -> None:
    text = await talk.reply(team.leader, team.leader_dm, "/kpi minimum calls 80%")
    assert text.startswith("✅ Định mức tối thiểu Cuộc gọi: 80% chỉ tiêu.")
    with db.transaction() as s:
        kdef = s.scalar(select(KpiDefinition).where(KpiDefinition.key == "calls"))
        assert kdef is not None and kdef.minimum == 0.8
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "kpi.minimum")) is not None


async def test_retiring_a_kpi_hides_it_and_keeps_its_history(
    talk: Talk, team: Any, db: Any, clock: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/meeting 2")
    assert "Cuộc hẹn tuần này: 2/5" in await talk.reply(team.minh, team.minh_dm, "/me")
    text = await talk.reply(team.leader, team.group, "/kpi retire meetings")
    assert text.startswith("✅ Đã ngừng dùng chỉ số Cuộc hẹn (số liệu cũ vẫn được giữ).")
    assert "meetings" not in text.split("\n", 1)[1]
    me = await talk.reply(team.minh, team.minh_dm, "/me")
    assert "Cuộc hẹn" not in me
    assert "Meetings" not in await talk.reply(team.hoa, team.hoa_dm, "/kpi")
    with db.transaction() as s:
        kdef = s.scalar(select(KpiDefinition).where(KpiDefinition.key == "meetings"))
        assert kdef is not None and kdef.retired_at == clock.now
        assert s.scalar(select(func.sum(Activity.value)).where(Activity.metric == "meetings")) == 2
        assert s.scalar(select(Target).where(Target.kpi_key == "meetings")) is not None
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "kpi.retire"))
        assert event is not None and event.entity_id == kdef.id
    # A retired KPI can no longer be changed or given a target.
    again = await talk.reply(team.leader, team.group, "/kpi retire meetings")
    assert again.startswith('Không tìm thấy chỉ số "meetings"')
    assert (await talk.reply(team.leader, team.group, "/target meetings 3")).startswith(
        'Không tìm thấy chỉ số "meetings"'
    )


async def test_leader_adds_a_custom_metric_that_reps_then_log(
    talk: Talk, team: Any, db: Any
) -> None:
    season(db)
    text = await talk.reply(team.leader, team.group, "/kpi add referrals Giới thiệu")
    assert text.startswith("✅ Đã thêm chỉ số Giới thiệu. Ghi bằng /log referrals 1.")
    assert "• Giới thiệu referrals" in text
    logged = await talk.reply(team.minh, team.minh_dm, "/log referrals 2")
    assert logged.startswith("✅ +2 Giới thiệu")
    with db.transaction() as s:
        assert s.scalar(select(Activity.value).where(Activity.metric == "referrals")) == 2
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "kpi.add")) is not None
    await talk.say(team.leader, team.group, "/target referrals 4 week")
    assert "Giới thiệu tuần này: 2/4 (50%)" in await talk.reply(team.minh, team.minh_dm, "/me")
    board = await talk.say(team.hoa, team.hoa_dm, "/leaderboard week referrals")
    assert "🥇 Minh Trần — 2 (50%)" in str(board[0].text)
    # Keys are unique and must look like keys.
    before = snapshot(db)
    assert (await talk.reply(team.leader, team.group, "/kpi add referrals Khác")).startswith(
        "Đã có chỉ số referrals."
    )
    assert (await talk.reply(team.leader, team.group, "/kpi add calls Gọi")).startswith(
        "Đã có chỉ số calls."
    )
    assert (await talk.reply(team.leader, team.group, "/kpi add Giới-thiệu")).startswith(
        "Hãy ghi mã (chữ thường, không dấu) và tên"
    )
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("who", "command", "answer"),
    [
        ("hoa", "/kpi weight calls 30%", "Only a team leader can use this command."),
        ("minh", "/kpi retire calls", "Chỉ quản lý mới dùng được lệnh này."),
        ("minh", "/kpi add referrals Giới thiệu", "Chỉ quản lý mới dùng được lệnh này."),
        (
            "leader",
            "/kpi frobnicate",
            KPI_USAGE,
        ),
        (
            "leader",
            "/kpi weight",
            KPI_USAGE,
        ),
        ("leader", "/kpi weight calls abc", "Trọng số là phần trăm, ví dụ 20%."),
        ("leader", "/kpi weight calls 120%", "Trọng số là phần trăm, ví dụ 20%."),
        (
            "leader",
            "/kpi minimum calls",
            "Định mức tối thiểu là phần trăm chỉ tiêu, ví dụ 50%.",
        ),
        (
            "leader",
            "/kpi weight bananas 20%",
            'Không tìm thấy chỉ số "bananas". Gõ /kpi để xem danh sách.',
        ),
    ],
)
async def test_kpi_changes_refused_or_malformed_change_nothing(
    talk: Talk, team: Any, db: Any, who: str, command: str, answer: str
) -> None:
    person = getattr(team, who)
    chat = team.group if who == "leader" else getattr(team, f"{who}_dm")
    before = snapshot(db)
    text = await talk.reply(person, chat, command)
    if who == "leader":
        assert text == f"{answer}\nVí dụ: /kpi weight doanhso 20%"
    else:
        assert text == answer
    assert snapshot(db) == before


def test_the_snapshot_sees_a_change(db: Any, team: Any) -> None:
    # Guards the refusal tests above: a real change does show up in the snapshot.
    before = snapshot(db)
    with db.transaction() as s:
        kdef = s.scalar(select(KpiDefinition).where(KpiDefinition.key == "calls"))
        assert kdef is not None
        kdef.weight = 0.5
    assert snapshot(db) != before
