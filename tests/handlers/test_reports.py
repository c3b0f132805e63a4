"""KPIs, rankings and charts through the real Application: /me, /leaderboard, /today, /chart.

The fake clock stands at Thursday 19/11/2026 10:00 in Ho Chi Minh City: the week 16–22/11 has
5 working days, November 20 (24/11 is a public holiday), and the working day runs 08:00–17:30,
so 2/9.5 of today has passed. Default targets: calls 20/day, meetings 5/week, deals 4/month,
revenue 200tr/month; weights revenue .4, deals .2, meetings .2, calls .2.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from itertools import count
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bench import p3
from kpi import charts, scoring, standings, store
from kpi.access import ChatInfo
from kpi.models import ROLE_REP, ChatState, Member, Membership, Team
from kpi.periods import span_of
from kpi.targets import calendar_of, set_target
from kpi.teams import (
    GroupSees,
    PersonInfo,
    TeamDefaults,
    join_team,
    save_settings,
    settings_of,
    setup_team,
    upsert_member,
)
from kpi.usecases import reports
from tests.support.chat import TODAY, Talk
from tests.support.team import JOINED, Ids, season

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAST_FRIDAY = dt.date(2026, 11, 13)
DAY_SHARE = 2 / 9.5  # of Thursday's working hours at 10:00
WEEK_SHARE = (3 + DAY_SHARE) / 5
MONTH_SHARE = (13 + DAY_SHARE) / 20


# --- helpers ---------------------------------------------------------------------------------


def add_member(
    db: Any,
    team_id: int,
    first_name: str,
    last_name: str | None = None,
    *,
    joined: dt.date = JOINED,
    role: str = ROLE_REP,
) -> int:
    """Create a member (not linked to Telegram) directly in the database."""
    with db.transaction() as s:
        member = Member(first_name=first_name, last_name=last_name)
        s.add(member)
        s.flush()
        s.add(Membership(team_id=team_id, member_id=member.id, role=role, joined_on=joined))
        return int(member.id)


def log(
    db: Any,
    team_id: int,
    member_id: int,
    day: dt.date,
    *,
    calls: int = 0,
    meetings: int = 0,
    deals: Sequence[int] = (),
    lost: int = 0,
) -> None:
    """Store one check-in for a member the way the logging commands do."""
    entries = [
        *([store.EntryInput("calls", calls)] if calls else []),
        *([store.EntryInput("meetings", meetings)] if meetings else []),
        *(store.EntryInput("deals", 1, amount=a) for a in deals),
        *([store.EntryInput("lost", lost)] if lost else []),
    ]
    with db.transaction() as s:
        store.record_checkin(
            s,
            team_id=team_id,
            member_id=member_id,
            actor_id=member_id,
            source="import",
            day=day,
            entries=entries,
            now=dt.datetime(2026, 11, 19, 2, 0, tzinfo=dt.UTC),
        )


def group_sees(db: Any, sees: GroupSees, top_n: int = 5) -> None:
    """Change what the group sees (the /settings command comes later)."""
    with db.transaction() as s:
        team = s.scalar(select(Team))
        assert team is not None
        new = dataclasses.replace(settings_of(team), group_sees=sees, top_n=top_n)
        save_settings(s, team, new, None)


def png_size(message: Any) -> tuple[int, int]:
    """Check that a sent message is a PNG photo and return its size in pixels."""
    assert message.kind == "photo"
    assert message.photo is not None and message.photo.startswith(PNG_SIGNATURE)
    return p3.png_size(message.photo)


def pct(ratio: float) -> str:
    """Format a ratio as the bot shows a whole percentage."""
    return f"{round(ratio * 100)}%"


# --- /me -------------------------------------------------------------------------------------


async def test_me_overview_in_english_shows_each_kpi_over_its_period_with_pace(
    talk: Talk, team: Any
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/call 15")
    await talk.say(team.hoa, team.hoa_dm, "/meeting 2")
    await talk.say(team.hoa, team.hoa_dm, "/deal 50tr ACME")
    text = await talk.reply(team.hoa, team.hoa_dm, "/me")
    assert text.startswith("📊 Hoa Lê · overview")
    assert f"Calls today: 15/20 (75%) ▓▓▓▓▓▓▓░░░ · pace {pct(15 / (20 * DAY_SHARE))}" in text
    assert f"Meetings this week: 2/5 (40%) ▓▓▓▓░░░░░░ · pace {pct(0.4 / WEEK_SHARE)}" in text
    assert (
        f"Revenue this month: 50M/200M (25%) ▓▓░░░░░░░░ · pace {pct(0.25 / MONTH_SHARE)}" in text
    )
    assert (
        f"Deals closed this month: 1/4 (25%) ▓▓░░░░░░░░ · pace {pct(0.25 / MONTH_SHARE)}" in text
    )
    # .4 × 25% + .2 × 25% + .2 × 40% + .2 × 75%
    assert text.endswith("Overall score: 38")
    assert "day off" not in text


async def test_me_for_a_period_in_vietnamese(talk: Talk, team: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 12 17/11")
    await talk.say(team.minh, team.minh_dm, "/call 8")
    text = await talk.reply(team.minh, team.minh_dm, "/toi tuần")
    assert text.startswith("📊 Minh Trần · tuần này")
    # Every KPI over the week: calls 20 × 5 days, revenue 200tr × 5/20 working days.
    assert f"Cuộc gọi: 20/100 (20%) ▓▓░░░░░░░░ · {pct(0.2 / WEEK_SHARE)} so với tiến độ" in text
    assert "Doanh số: 0/50tr (0%)" in text
    assert "Cuộc hẹn: 0/5 (0%)" in text
    assert text.endswith("Điểm KPI: 4")
    month = await talk.reply(team.minh, team.minh_dm, "/me month")
    assert month.startswith("📊 Minh Trần · tháng này")
    assert "Cuộc gọi: 20/400 (5%)" in month
    today = await talk.reply(team.minh, team.minh_dm, "/me today")
    assert "Cuộc gọi: 8/20 (40%)" in today


async def test_me_shows_prorated_targets_as_people_write_them(
    talk: Talk, team: Any, clock: Any
) -> None:
    clock.set_local("2026-12-08 10:00")
    await talk.say(team.hoa, team.hoa_dm, "/deal 2 45tr")
    text = await talk.reply(team.hoa, team.hoa_dm, "/me week")
    # December has 23 working days: 4 deals and 200M a month are 0.87 deals and 43.48M a week.
    # The percentages are those of the figures shown (2/0.87 would be 230%).
    assert "Deals closed: 2/0.9 (222%)" in text
    assert "Revenue: 45M/43.5M (103%)" in text


async def test_growth_compares_a_period_in_progress_with_the_same_point_of_the_last(
    talk: Talk, team: Any, db: Any, clock: Any
) -> None:
    t = season(db)
    log(db, t.team, t.minh, dt.date(2026, 11, 3), deals=[50_000_000])
    log(db, t.team, t.minh, dt.date(2026, 11, 20), deals=[150_000_000])
    log(db, t.team, t.minh, dt.date(2026, 12, 2), deals=[60_000_000])
    for member in (t.minh, t.hoa):
        log(db, t.team, member, dt.date(2026, 12, 3), calls=20)
        log(db, t.team, member, dt.date(2026, 12, 4), calls=5)
    # Friday 4 December, 10:00: 3.2 of December's 23 working days have passed, the same share
    # as 2.8 of November's 20; on 2 and 3 November Minh had sold 50tr (all November: 200tr).
    clock.set_local("2026-12-04 10:00")
    text = await talk.reply(team.minh, team.minh_dm, "/me")
    revenue = next(x for x in text.splitlines() if x.startswith("Doanh số tháng này"))
    assert revenue.endswith(" · ▲20% so với cùng kỳ tháng trước")
    # 5 calls by 10:00 against 2/9.5 of yesterday's 20.
    calls = next(x for x in text.splitlines() if x.startswith("Cuộc gọi hôm nay"))
    assert calls.endswith(" · ▲19% so với cùng giờ hôm qua")
    english = await talk.reply(team.hoa, team.hoa_dm, "/me today")
    assert "Calls: 5/20 (25%) ▓▓░░░░░░░░ · pace 119% · ▲19% vs the same time yesterday" in english
    # Once the working day is over, the day is compared with all of the day before.
    clock.set_local("2026-12-04 18:00")
    evening = await talk.reply(team.hoa, team.hoa_dm, "/me today")
    assert "Calls: 5/20 (25%) ▓▓░░░░░░░░ ⚠️ below the minimum level · ▼75% vs yesterday" in (
        evening
    )
    # The team's figures follow the same rule: December so far against 2-3 November.
    with db.transaction() as s:
        team_row = s.get(Team, t.team)
        assert team_row is not None
        cal = calendar_of(s, team_row)
        now = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)
        board = standings.team_board(s, team_row, span_of("month", now.date(), cal), now)
        closed = standings.team_board(s, team_row, span_of("month", TODAY, cal), now)
    revenue = next(k for k in board.team if k.key == "revenue")
    assert board.same_point and revenue.previous == 50_000_000 and revenue.growth == 0.2
    # November is over: compared with all of October (nothing), so no growth to show.
    assert not closed.same_point
    assert next(k for k in closed.team if k.key == "revenue").growth is None


async def test_me_with_an_unknown_period_says_so_with_an_example(talk: Talk, team: Any) -> None:
    text = await talk.reply(team.hoa, team.hoa_dm, "/me fortnight")
    assert text == 'Unknown period "fortnight". Use today, week, month, quarter or year.\n' + (
        "Example: /me week"
    )
    vi = await talk.reply(team.minh, team.minh_dm, "/me abc")
    assert vi.startswith('Kỳ "abc" không hợp lệ')


async def test_me_on_a_public_holiday_says_it_is_a_day_off(
    talk: Talk, team: Any, clock: Any
) -> None:
    # 24/11/2026 (a Tuesday) is Vietnam's Culture Day in the pinned `holidays`.
    clock.set_local("2026-11-24 10:00")
    text = await talk.reply(team.minh, team.minh_dm, "/me")
    assert "Hôm nay là ngày nghỉ." in text
    # Nothing is expected of anyone today: no daily target, no pace.
    assert "Cuộc gọi hôm nay: 0\n" in text
    week = await talk.reply(team.minh, team.minh_dm, "/me week")
    assert "ngày nghỉ" not in week
    # The holiday week has 4 working days: the weekly share of the daily target is 80 calls.
    assert "Cuộc gọi: 0/80 (0%)" in week


async def test_me_on_a_weekend_says_it_is_a_day_off(talk: Talk, team: Any, clock: Any) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/call 4")
    clock.set_local("2026-11-21 11:00")
    text = await talk.reply(team.hoa, team.hoa_dm, "/me today")
    assert text.startswith("📊 Hoa Lê · today\nToday is a day off.")
    assert "Calls: 0\n" in text
    week = await talk.reply(team.hoa, team.hoa_dm, "/me week")
    # The week's working time is over on Saturday: no pace any more.
    # ... and 4 % of the week's target is below the KPI's minimum level (50 %): flagged.
    assert "Calls: 4/100 (4%) ░░░░░░░░░░ ⚠️ below the minimum level\n" in week
    assert "pace" not in week


# --- /leaderboard ------------------------------------------------------------------------------


async def test_ranking_is_by_attainment_of_ones_own_target(talk: Talk, team: Any, db: Any) -> None:
    season(db)
    text = await talk.reply(team.leader, team.group, "/target calls 10 day @minh_tran")
    assert text == "🎯 Chỉ tiêu Cuộc gọi của Minh Trần: 10 mỗi ngày."
    await talk.say(team.minh, team.minh_dm, "/call 30")
    await talk.say(team.hoa, team.hoa_dm, "/call 45")
    answers = await talk.say(team.leader, team.group, "/leaderboard")
    assert [a.kind for a in answers] == ["text", "photo"]
    board = str(answers[0].text)
    # Minh: 30 of his 50 a week = 60% → 12 points; Hoa: 45 of 100 = 45% → 9 points.
    assert board.startswith("🏆 Bảng xếp hạng · tuần này (16/11–22/11)\n🥇 Minh Trần — 12\n")
    assert "🥈 Hoa Lê — 9\n" in board
    # The team target sums the members' own targets; the leader, who logged nothing, is out.
    assert "Cuộc gọi: 75/150 (50%)" in board
    assert "Lan" not in board
    png_size(answers[1])
    # By raw calls Hoa leads, with each one's attainment beside the value.
    answers = await talk.say(team.hoa, team.hoa_dm, "/leaderboard week calls")
    raw = str(answers[0].text)
    assert raw.startswith("🏆 Calls · this week (16/11–22/11)\n🥇 Hoa Lê — 45 (45%)\n")
    assert "🥈 Minh Trần — 30 (60%)" in raw
    assert raw.endswith("You lead the team (1 of 2). Keep it up!")
    png_size(answers[1])
    bxh = await talk.say(team.minh, team.minh_dm, "/bxh calls week")
    assert "Bạn đang hạng 2/2, cần thêm 15 nữa là lên một hạng." in str(bxh[0].text)


async def test_ties_share_a_rank_and_idle_members_come_last_with_movement(
    talk: Talk, team: Any, db: Any
) -> None:
    t = season(db)
    an = add_member(db, t.team, "An")
    binh = add_member(db, t.team, "Bình")
    chi = add_member(db, t.team, "Chi")
    dung = add_member(db, t.team, "Dũng")
    # Last week: Dũng led, Chi second, An third, Bình did nothing.
    log(db, t.team, dung, LAST_FRIDAY, calls=50)
    log(db, t.team, chi, LAST_FRIDAY, calls=30)
    log(db, t.team, an, LAST_FRIDAY, calls=10)
    # This week: An 40, Bình and Chi 20 each, Dũng 10; Minh and Hoa nothing.
    log(db, t.team, an, TODAY, calls=40)
    log(db, t.team, binh, TODAY, calls=20)
    log(db, t.team, chi, TODAY, calls=20)
    log(db, t.team, dung, TODAY, calls=10)
    answers = await talk.say(team.hoa, team.group, "/bxh")
    lines = str(answers[0].text).splitlines()
    assert lines[1:6] == [
        "🥇 An — 8 ▲2",
        "🥈 Bình — 4",
        "🥈 Chi — 4",
        "4. Dũng — 2 ▼3",
        "No activity yet: Hoa Lê, Minh Trần",
    ]
    # The team target counts every ranked member, idle ones too: 6 × 100.
    assert "Calls: 90/600 (15%)" in lines
    # The chart draws the four ranked members only.
    assert png_size(answers[1]) == charts.rows_chart_size_px(4)


async def test_movement_from_backdated_commands(talk: Talk, team: Any, db: Any) -> None:
    season(db)
    await talk.say(team.minh, team.minh_dm, "/call 30 13/11")
    await talk.say(team.hoa, team.hoa_dm, "/call 10 13/11")
    await talk.say(team.leader, team.leader_dm, "/call 5 hôm qua")
    await talk.say(team.hoa, team.hoa_dm, "/call 20")
    await talk.say(team.minh, team.minh_dm, "/call 10")
    text = (await talk.say(team.leader, team.leader_dm, "/leaderboard"))[0].text
    # The leader sells too (yesterday's calls), so she is ranked; last week she was not.
    lines = str(text).splitlines()
    assert lines[1:4] == ["🥇 Hoa Lê — 4 ▲1", "🥈 Minh Trần — 2 ▼1", "🥉 Lan Nguyễn — 1"]
    assert "Cuộc gọi: 35/300 (12%)" in lines


async def test_unknown_kpi_word_gets_an_example_and_no_chart(talk: Talk, team: Any) -> None:
    answers = await talk.say(team.hoa, team.group, "/leaderboard week bananas")
    assert [a.text for a in answers] == [
        'Unknown KPI "bananas". See the list with /kpi.\nExample: /leaderboard week calls'
    ]
    vi = await talk.reply(team.minh, team.minh_dm, "/bxh chuối")
    assert (
        vi.startswith('Không tìm thấy chỉ số "chuối"')
        and "Ví dụ: /leaderboard tuần cuộc gọi" in vi
    )


async def test_a_rate_leaderboard_lists_members_without_a_rate_unranked(
    talk: Talk, team: Any, db: Any
) -> None:
    season(db)
    await talk.say(team.minh, team.minh_dm, "/deal 10tr")
    await talk.say(team.minh, team.minh_dm, "/lost")
    await talk.say(team.hoa, team.hoa_dm, "/call 3")
    answers = await talk.say(team.leader, team.leader_dm, "/bxh week win_rate")
    text = str(answers[0].text)
    assert "🥇 Minh Trần — 50%" in text
    # Hoa logged, but a win rate needs deals or lost deals: she has a dash, not a place.
    assert "– Hoa Lê — —" in text
    assert "None" not in text
    assert png_size(answers[1]) == charts.rows_chart_size_px(1)


# --- what the group sees --------------------------------------------------------------------


async def _three_reps(talk: Talk, team: Any, db: Any) -> Ids:
    """Minh 100 calls (20 points), Hoa 25 (5 points), Tú 5 (1 point) this week."""
    t = season(db)
    tu = add_member(db, t.team, "Tú", "Phạm")
    log(db, t.team, tu, TODAY, calls=5)
    await talk.say(team.minh, team.minh_dm, "/call 100")
    await talk.say(team.hoa, team.hoa_dm, "/call 25")
    return t


async def test_group_sees_the_full_ranking_by_default(talk: Talk, team: Any, db: Any) -> None:
    await _three_reps(talk, team, db)
    answers = await talk.say(team.hoa, team.group, "/leaderboard")
    text = str(answers[0].text)
    assert text.splitlines()[1:4] == ["🥇 Minh Trần — 20", "🥈 Hoa Lê — 5", "🥉 Tú Phạm — 1"]
    # In the group nobody's own rank is announced.
    assert "You are" not in text
    assert png_size(answers[1]) == charts.rows_chart_size_px(3)


async def test_group_sees_only_the_top_n(talk: Talk, team: Any, db: Any) -> None:
    await _three_reps(talk, team, db)
    group_sees(db, "top", top_n=1)
    answers = await talk.say(team.hoa, team.group, "/leaderboard")
    text = str(answers[0].text)
    assert "🥇 Minh Trần — 20" in text
    assert "Hoa" not in text and "Tú" not in text
    # The chart shows no more than the text.
    assert png_size(answers[1]) == charts.rows_chart_size_px(1)
    # A rep in private sees the top and their own place.
    answers = await talk.say(team.hoa, team.hoa_dm, "/leaderboard")
    private = str(answers[0].text)
    assert "Tú" not in private
    assert private.endswith("You are number 2 of 3; 15 more points to move up a place.")
    assert png_size(answers[1]) == charts.rows_chart_size_px(1)


async def test_group_sees_only_team_totals(talk: Talk, team: Any, db: Any, clock: Any) -> None:
    await _three_reps(talk, team, db)
    group_sees(db, "totals")
    for who in (team.hoa, team.leader):  # a leader asking in the group included
        clock.advance(minutes=10)  # not a repeat of the last ask (answered privately)
        answers = await talk.say(who, team.group, "/leaderboard")
        assert len(answers) == 1, "no chart in the group"
        text = str(answers[0].text)
        assert not any(name in text for name in ("Minh", "Hoa", "Tú", "🥇"))
        assert "130/300" in text  # the team's calls against the team's target
    # A rep in private gets their own rank and the gap to the next place, nobody else's name.
    answers = await talk.say(team.hoa, team.hoa_dm, "/leaderboard")
    assert len(answers) == 1
    text = str(answers[0].text)
    assert text.endswith("You are number 2 of 3; 15 more points to move up a place.")
    assert "Minh" not in text and "Tú" not in text
    vi = await talk.reply(team.minh, team.minh_dm, "/bxh")
    assert vi.endswith("Bạn đang dẫn đầu (1/3). Giữ vững nhé!")
    # A leader in private sees the full ranking and its chart.
    answers = await talk.say(team.leader, team.leader_dm, "/leaderboard")
    text = str(answers[0].text)
    assert text.splitlines()[1:4] == ["🥇 Minh Trần — 20", "🥈 Hoa Lê — 5", "🥉 Tú Phạm — 1"]
    assert png_size(answers[1]) == charts.rows_chart_size_px(3)


async def test_a_fifty_member_leaderboard_fits_one_message_and_one_chart(
    talk: Talk, team: Any, db: Any
) -> None:
    t = season(db)
    for i in range(50):
        # Long names with markup characters: escaped, shortened, still under Telegram's limit.
        name = f"{i:02d} Nguyễn Thị <Hồng> & Co"
        add_member(db, t.team, name, "Trần Lê Phạm Hoàng")
    with db.transaction() as s:
        members = s.scalars(select(Member).where(Member.telegram_id.is_(None))).all()
        by_number = {int(m.first_name[:2]): m.id for m in members}
    for i, member in by_number.items():
        if i < 45:
            log(db, t.team, member, TODAY, calls=i + 1, meetings=i % 3)
    answers = await talk.say(team.leader, team.group, "/leaderboard")
    assert [a.kind for a in answers] == ["text", "photo"]
    text = str(answers[0].text)
    assert len(text) <= 4096
    ranked = [line for line in text.splitlines() if " — " in line]
    assert len(ranked) == 45
    # Member 44 logged most: 45 of 100 calls and 2 of 5 meetings, .2 × 45% + .2 × 40%.
    assert ranked[0] == "🥇 44 Nguyễn Thị <Hồng> & … — 17"
    assert len({line.split(" ")[1] for line in ranked}) == 45
    assert "No activity yet" not in text  # the leader asked in Vietnamese
    assert "Chưa ghi số:" in text
    assert png_size(answers[1]) == charts.rows_chart_size_px(45)


# --- team totals ------------------------------------------------------------------------------


async def test_team_target_prorates_a_member_who_joined_mid_week(
    talk: Talk, team: Any, db: Any
) -> None:
    t = season(db)
    with db.transaction() as s:
        m = s.scalar(select(Membership).where(Membership.member_id == t.hoa))
        assert m is not None
        m.joined_on = dt.date(2026, 11, 18)  # Wednesday: 3 of the week's 5 working days
    await talk.say(team.leader, team.group, "/target calls 10 day @minh_tran")
    await talk.say(team.minh, team.minh_dm, "/call 11")
    text = await talk.reply(team.hoa, team.hoa_dm, "/week")
    # Minh 10 × 5 days + Hoa 20 × 3 days.
    assert "Calls: 11/110 (10%)" in text
    # Her own target is not cut: the ranking is by attainment of the full weekly target.
    assert "Hoa Lê" not in text.splitlines()[1]


async def test_leaders_count_only_when_they_sell_and_reps_on_target_are_counted(
    talk: Talk, team: Any, db: Any
) -> None:
    season(db)
    await talk.say(team.leader, team.group, "/target calls 10 day @minh_tran")
    # Minh meets every weekly target: revenue 50tr, deals 1, meetings 5, calls 50.
    await talk.say(team.minh, team.minh_dm, "/log calls 50 meetings 5")
    await talk.say(team.minh, team.minh_dm, "/deal 2 50tr")
    await talk.say(team.hoa, team.hoa_dm, "/call 10")
    text = await talk.reply(team.leader, team.leader_dm, "/week")
    assert "🥇 Minh Trần — 110" in text  # deals at 200% count 150% (the cap)
    assert "Cuộc gọi: 60/150 (40%)" in text
    assert "Doanh số: 50tr/100tr (50%)" in text
    assert "Đạt chỉ tiêu: 1/2 người" in text
    # Once the leader logs too she is ranked and her target joins the team's.
    await talk.say(team.leader, team.leader_dm, "/call 20")
    text = await talk.reply(team.leader, team.leader_dm, "/week")
    assert "Lan Nguyễn — 4" in text
    assert "Cuộc gọi: 80/250 (32%)" in text
    assert "Đạt chỉ tiêu: 1/3 người" in text


async def test_members_excluded_from_rankings_are_not_in_the_team_target(
    talk: Talk, team: Any, db: Any
) -> None:
    t = season(db)
    await talk.say(team.hoa, team.hoa_dm, "/call 10")
    await talk.say(team.minh, team.minh_dm, "/call 30")
    with db.transaction() as s:
        m = s.scalar(select(Membership).where(Membership.member_id == t.hoa))
        assert m is not None
        m.ranked = False
    text = await talk.reply(team.minh, team.minh_dm, "/week")
    assert "Hoa" not in text
    # Hoa is neither ranked nor in the team target (Minh's 100), but her calls are the team's.
    assert "Cuộc gọi: 40/100 (40%)" in text


async def test_a_member_who_left_still_counts_in_the_team_totals(
    talk: Talk, team: Any, db: Any
) -> None:
    season(db)
    await talk.say(team.hoa, team.hoa_dm, "/deal 50tr")
    await talk.say(team.minh, team.minh_dm, "/deal 100tr")
    before = await talk.reply(team.minh, team.minh_dm, "/month")
    with db.transaction() as s:
        hoa = s.scalar(select(Member).where(Member.username == "hoa_le"))
        assert hoa is not None
        m = s.scalar(select(Membership).where(Membership.member_id == hoa.id))
        assert m is not None
        m.status = "left"
    after = await talk.reply(team.minh, team.minh_dm, "/month")
    assert "Doanh số: 150tr/" in before and "Doanh số: 150tr/" in after
    assert "Hoa" not in after


# --- /today, /week, /month -----------------------------------------------------------------


async def test_summaries_for_today_week_and_month_in_both_languages(
    talk: Talk, team: Any, db: Any
) -> None:
    t = season(db)
    log(db, t.team, t.minh, dt.date(2026, 11, 3), calls=40, deals=[40_000_000])
    await talk.say(team.minh, team.minh_dm, "/call 12 17/11")
    await talk.say(team.minh, team.minh_dm, "/call 8")
    await talk.say(team.hoa, team.hoa_dm, "/call 12")
    await talk.say(team.hoa, team.hoa_dm, "/deal 20tr")
    answers = await talk.say(team.hoa, team.group, "/today")
    assert len(answers) == 1, "summaries come without a chart"
    today = str(answers[0].text)
    # In the group too, an answer to one person is in that person's language.
    assert today.startswith("🏆 Leaderboard · today (19/11)\n")
    assert "Calls: 20/40 (50%)" in today
    assert "Revenue: 20M/20M (100%)" in today  # 200M a month over 20 working days, × 2
    week = await talk.reply(team.minh, team.group, "/tuan")
    assert week.startswith("🏆 Bảng xếp hạng · tuần này (16/11–22/11)\n")
    assert "Cuộc gọi: 32/200 (16%)" in week
    assert "Doanh số: 20tr/100tr (20%)" in week
    month = await talk.reply(team.hoa, team.hoa_dm, "/month")
    assert month.startswith("🏆 Leaderboard · this month (01/11–30/11)\n")
    # Minh: .4 × 20% + .2 × 25% + .2 × 15% = 16; Hoa: .4 × 10% + .2 × 25% + .2 × 3% = 9.6.
    assert "🥇 Minh Trần — 16\n🥈 Hoa Lê — 10\n" in month
    assert "Calls: 72/800 (9%)" in month
    assert "Revenue: 60M/400M (15%)" in month
    assert "Deals closed: 2/8 (25%)" in month
    assert month.endswith("You are number 2 of 2; 6 more points to move up a place.")
    thang = await talk.reply(team.minh, team.minh_dm, "/thang")
    assert thang.startswith("🏆 Bảng xếp hạng · tháng này (01/11–30/11)\n")
    assert "Cuộc gọi: 72/800 (9%)" in thang
    assert thang.endswith("Bạn đang dẫn đầu (1/2). Giữ vững nhé!")


# --- a group's send budget is everyone's ------------------------------------------------------


async def test_a_report_repeated_in_the_group_within_minutes_goes_privately_or_points_back(
    talk: Talk, team: Any, db: Any, sandbox: Any, clock: Any
) -> None:
    group = team.group
    await talk.say(team.minh, team.minh_dm, "/call 12")
    await talk.say(team.hoa, team.hoa_dm, "/call 5")
    first = await talk.say(team.minh, group, "/leaderboard")
    assert [(a.chat_id, a.kind) for a in first] == [(group.id, "text"), (group.id, "photo")]
    # Two minutes later Hoa asks for the same board in the group: it comes to her privately,
    # as she would see it there (with her own place), and the group gets nothing new.
    clock.advance(minutes=2)
    again = await talk.say(team.hoa, group, "/leaderboard")
    assert [(a.chat_id, a.kind) for a in again] == [
        (team.hoa_dm.id, "text"),
        (team.hoa_dm.id, "photo"),
    ]
    text = str(again[0].text)
    assert text.startswith(
        "📬 The same report was posted in Sales HCM at 10:00. To keep the group quiet, here it"
        " is just for you:\n🏆 Leaderboard · this week (16/11–22/11)\n"
    )
    assert "You are number 2 of 2" in text
    # Tú never opened a private chat with the bot: one short line replies to the board.
    tu = sandbox.user("Tú", last_name="Phạm", language_code="vi")
    sandbox.join(group, tu)
    await talk.say(tu, group, "/join")
    [pointer] = await talk.say(tu, group, "/bxh")
    assert (pointer.chat_id, pointer.reply_to_message_id) == (group.id, first[0].message_id)
    assert pointer.text == (
        "☝️ Báo cáo này vừa được gửi trong nhóm lúc 10:00, xem tin nhắn phía trên."
        " Mở chat riêng với bot để nhận bản riêng cho bạn."
    )
    assert [label for label, _ in pointer.buttons()] == ["Mở chat riêng với bot"]
    # Another report, or the same board for another KPI, is a new answer in the group.
    [week] = await talk.say(team.hoa, group, "/week")
    [calls, _] = await talk.say(team.hoa, group, "/leaderboard week calls")
    assert week.chat_id == calls.chat_id == group.id
    # A chart repeated goes privately the same way.
    [chart] = await talk.say(team.minh, group, "/chart calls")
    [note, photo] = await talk.say(team.hoa, group, "/chart calls")
    assert chart.chat_id == group.id and chart.kind == "photo"
    assert (note.chat_id, photo.chat_id, photo.kind) == (team.hoa_dm.id, team.hoa_dm.id, "photo")
    assert str(note.text).startswith("📬 The same report was posted in Sales HCM at 10:02.")
    # Five minutes after the post, the board is posted in the group again.
    clock.advance(minutes=4)
    later = await talk.say(team.hoa, group, "/leaderboard")
    assert [(a.chat_id, a.kind) for a in later] == [(group.id, "text"), (group.id, "photo")]
    with db.transaction() as s:
        state = s.get(ChatState, group.id)
        assert state is not None and state.recent_reports is not None
        # What the group was given in the last five minutes, and where.
        assert {k: v["message_id"] for k, v in state.recent_reports.items()} == {
            "leaderboard:week:": later[0].message_id,
            "summary:week:": week.message_id,
            "leaderboard:week:calls": calls.message_id,
            "chart:calls:month:": chart.message_id,
        }


# --- /chart -----------------------------------------------------------------------------------


async def test_chart_defaults_to_revenue_this_month(talk: Talk, team: Any) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/deal 20tr")
    await talk.say(team.hoa, team.hoa_dm, "/call 7")
    [default] = await talk.say(team.hoa, team.hoa_dm, "/chart")
    [explicit] = await talk.say(team.hoa, team.hoa_dm, "/chart revenue month")
    [calls] = await talk.say(team.hoa, team.hoa_dm, "/chart calls week")
    png_size(default), png_size(explicit), png_size(calls)
    # The same picture as asked for in full, a different one for another KPI and period.
    assert default.photo == explicit.photo
    assert calls.photo != default.photo


async def test_chart_in_private_shows_the_askers_own_numbers_by_default(
    talk: Talk, team: Any, clock: Any
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/call 7")
    await talk.say(team.minh, team.minh_dm, "/call 12")
    [own] = await talk.say(team.hoa, team.hoa_dm, "/chart calls")
    [named] = await talk.say(team.hoa, team.hoa_dm, "/chart calls @hoa_le")
    [whole] = await talk.say(team.hoa, team.hoa_dm, "/chart calls team")
    [group] = await talk.say(team.hoa, team.group, "/chart calls")
    png_size(own), png_size(whole), png_size(group)
    # Privately the asker's own chart; the whole team in the group, or when asked for.
    assert own.photo == named.photo
    assert whole.photo == group.photo != own.photo
    [mine] = await talk.say(team.minh, team.minh_dm, "/bieudo cuộc gọi")
    [doi] = await talk.say(team.minh, team.minh_dm, "/bieudo cuộc gọi cả đội")
    clock.advance(minutes=10)  # not a repeat of Hoa's ask (answered privately)
    [nhom] = await talk.say(team.minh, team.group, "/bieudo cuộc gọi")
    assert doi.photo == nhom.photo != mine.photo


async def test_chart_of_another_member_is_for_leaders(talk: Talk, team: Any, db: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 7")
    [leader_view] = await talk.say(team.leader, team.leader_dm, "/chart calls @minh_tran")
    png_size(leader_view)
    [own] = await talk.say(team.minh, team.minh_dm, "/chart calls @minh_tran")
    png_size(own)
    # A leader's chart of Minh is Minh's own chart, in the leader's language.
    assert (await talk.say(team.hoa, team.hoa_dm, "/chart calls @minh_tran"))[0].text == (
        "You can only see your own chart."
    )
    assert await talk.reply(team.hoa, team.hoa_dm, "/chart calls @nobody") == (
        "No member @nobody in this team."
    )
    text = await talk.reply(team.hoa, team.hoa_dm, "/chart win_rate")
    assert text == (
        'I cannot chart "win_rate" per day. See the list with /kpi.\nExample: /chart calls week'
    )


def test_trend_sums_the_team_per_day_and_leaves_idle_leaders_out(
    db: Any, team: Any, clock: Any
) -> None:
    t = season(db)
    log(db, t.team, t.minh, dt.date(2026, 11, 17), calls=12)
    log(db, t.team, t.hoa, TODAY, calls=9)
    log(db, t.team, t.minh, TODAY, calls=4)
    with db.transaction() as s:
        res = reports.trend(
            s,
            person=PersonInfo(team.hoa.id, "Hoa", "Lê", "hoa_le", "en"),
            chat=ChatInfo(team.hoa_dm.id, "private"),
            admins=frozenset(),
            now=clock(),
            kpi_word="calls",
            period="week",
            whole_team=True,
        )
    assert isinstance(res, reports.Trend)
    assert res.days == tuple(dt.date(2026, 11, d) for d in (16, 17, 18, 19))
    assert res.values == (0.0, 12.0, 0.0, 13.0)
    assert res.target_per_day == 40  # two reps × 20; the leader logged nothing


# --- rates and averages are levels, not amounts -------------------------------------------


async def test_a_rate_target_is_not_prorated(talk: Talk, team: Any, db: Any) -> None:
    season(db)
    await talk.say(team.leader, team.group, "/target win_rate 30%")
    await talk.say(team.minh, team.minh_dm, "/deal 10tr")
    await talk.say(team.minh, team.minh_dm, "/lost")
    week = await talk.reply(team.minh, team.minh_dm, "/me week")
    assert "Tỷ lệ thắng: 50%/30% (167%)" in week
    overview = await talk.reply(team.minh, team.minh_dm, "/me")
    line = next(x for x in overview.splitlines() if x.startswith("Tỷ lệ thắng"))
    assert line == "Tỷ lệ thắng tháng này: 50%/30% (167%) ▓▓▓▓▓▓▓▓▓▓"  # no pace for a rate


def test_an_average_target_is_the_same_for_any_span(db: Any, team: Any, clock: Any) -> None:
    t = season(db)
    with db.transaction() as s:
        set_target(
            s,
            team_id=t.team,
            kpi_key="average_deal_value",
            period="month",
            value=40_000_000,
            member_id=None,
            actor_id=t.leader,
            today=TODAY,
            now=clock(),
        )
    log(db, t.team, t.minh, TODAY, deals=[20_000_000, 40_000_000])
    with db.transaction() as s:
        team_row = s.get(Team, t.team)
        assert team_row is not None
        cal = calendar_of(s, team_row)
        board = standings.team_board(
            s, team_row, span_of("week", TODAY, cal), clock(), kpi="average_deal_value"
        )
        lines, _ = standings.member_lines(s, team_row, cal, t.minh, TODAY, clock(), "day")
    minh = next(r for r in board.rows if r.member_id == t.minh)
    assert minh.value == 30_000_000 and minh.target == 40_000_000
    assert minh.attainment == 0.75
    average = next(m.line for m in lines if m.line.key == "average_deal_value")
    assert average.target == 40_000_000 and average.pace is None


# --- properties ---------------------------------------------------------------------------------

_chats = count(-9_000_000_000, -1)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(min_value=0, max_value=120)),  # calls, None = idle
            st.sampled_from([5, 10, 20, 40]),  # own daily calls target
        ),
        min_size=1,
        max_size=8,
    )
)
def test_board_ranks_are_competition_ranks_with_idle_members_last(
    db: Any, people: list[tuple[int | None, int]]
) -> None:
    now = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)
    with db.transaction() as s:
        boss = upsert_member(s, PersonInfo(next(_chats) * -1, "Boss"), now)
        team_id = setup_team(
            s, chat_id=next(_chats), title="P", leader=boss, defaults=TeamDefaults(), today=TODAY
        ).team_id
        team_row = s.get(Team, team_id)
        assert team_row is not None
        member_ids = []
        for i, (calls, own_target) in enumerate(people):
            member = Member(first_name=f"M{i}")
            s.add(member)
            s.flush()
            join_team(s, team_row, member, TODAY)
            member_ids.append(member.id)
            set_target(
                s,
                team_id=team_id,
                kpi_key="calls",
                period="day",
                value=own_target,
                member_id=member.id,
                actor_id=boss.id,
                today=TODAY,
                now=now,
            )
            if calls is not None:
                # Zero calls is still activity (an email): ranked, with a score of 0.
                entry = (
                    store.EntryInput("calls", calls) if calls else store.EntryInput("emails", 1)
                )
                store.record_checkin(
                    s,
                    team_id=team_id,
                    member_id=member.id,
                    actor_id=member.id,
                    source="import",
                    day=TODAY,
                    entries=[entry],
                    now=now,
                )
        cal = calendar_of(s, team_row)
        board = standings.team_board(s, team_row, span_of("week", TODAY, cal), now)
    rows = board.rows
    assert sorted(r.member_id for r in rows) == sorted(member_ids)
    # Everyone joined on Thursday: held to the week's last two working days of their target.
    expected = {
        mid: 20 * min(calls / (2 * own), 1.5)
        for mid, (calls, own) in zip(member_ids, people, strict=True)
        if calls is not None
    }
    ranked = [r for r in rows if r.rank is not None]
    # Idle members (and only they) come after everyone ranked.
    assert {r.member_id for r in ranked} == set(expected)
    assert rows[: len(ranked)] == tuple(ranked)
    assert all(not r.active for r in rows[len(ranked) :])
    values = {r.member_id: r.value for r in ranked if r.value is not None}
    assert len(values) == len(ranked)
    for position, r in enumerate(ranked):
        value = values[r.member_id]
        assert scoring.same_value(value, expected[r.member_id])
        ahead = [v for v in values.values() if v > value and not scoring.same_value(v, value)]
        assert r.rank == len(ahead) + 1  # "1224": one plus the number strictly ahead
        if position:
            prev = ranked[position - 1]
            tied = scoring.same_value(values[prev.member_id], value)
            assert tied or values[prev.member_id] > value
            assert r.rank == (prev.rank if tied else position + 1)
    if ranked:
        assert ranked[0].rank == 1


async def test_long_words_are_quoted_back_short(talk: Talk, team: Any, db: Any) -> None:
    word = "&<b>" * 1500
    for who, chat, command in [
        (team.hoa, team.hoa_dm, "/me"),
        (team.hoa, team.hoa_dm, "/leaderboard week"),
        (team.hoa, team.hoa_dm, "/chart"),
        (team.leader, team.leader_dm, "/target calls 5 @"),
        (team.leader, team.leader_dm, "/target calls"),
        (team.leader, team.leader_dm, "/kpi weight"),
    ]:
        text = await talk.reply(
            who, chat, f"{command}{'' if command.endswith('@') else ' '}{word}"
        )
        assert "&<b>&<b>" in text and "…" in text
        assert len(text) < 400


async def test_leaderboard_by_score_by_name(talk: Talk, team: Any) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    for word in ("score", "điểm"):
        text = await talk.reply(team.minh, team.minh_dm, f"/leaderboard week {word}")
        assert text.startswith("🏆 Bảng xếp hạng · tuần này")
