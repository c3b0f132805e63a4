"""Scheduled posts through the real Application: each is sent once (QUALITY.md R3, R4).

When they are due, a pure function, is tested in tests/unit/test_schedule.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.sandbox import ManualClock, SandboxRequest
from bot.scheduler import Scheduler, due_posts
from handlers import digests
from kpi import store
from kpi.db import Database
from kpi.models import Member, ScheduledRun, Team
from kpi.posts import claims as run_claims
from kpi.posts.schedules import schedules
from kpi.store import EntryInput
from kpi.teams import TeamSettings, save_settings, settings_of
from tests.support.chat import Clock, Talk

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


# --- what and how often: through the real application --------------------------------------


@pytest.fixture
def scheduler(app: Any) -> Scheduler:
    return Scheduler(app)


async def _seed(db: Database, team: Any, day: dt.date) -> None:
    """Minh logs 25 calls and a 60tr deal on `day`; Hoa 5 calls; the leader nothing."""
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        ids = {m.username: m.id for m in s.scalars(select(Member))}
        for username, entries in (
            ("minh_tran", [EntryInput("calls", 25), EntryInput("deals", 1, amount=60_000_000)]),
            ("hoa_le", [EntryInput("calls", 5)]),
        ):
            store.record_checkin(
                s,
                team_id=t.id,
                member_id=ids[username],
                actor_id=ids[username],
                source="import",
                day=day,
                entries=entries,
                now=dt.datetime.combine(day, dt.time(9), HCM).astimezone(dt.UTC),
            )


def group_texts(sandbox: Any, team: Any) -> list[str]:
    return [m.text or "" for m in sandbox.sent(team.group) if m.kind == "text"]


async def test_daily_summary_is_posted_once_in_the_team_language(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    await _seed(db, team, dt.date(2026, 11, 19))
    before = len(sandbox.sent(team.group))
    clock.set_local("2026-11-19 18:00")
    report = await scheduler.run_due(clock.now)
    assert report.sent == 1
    posts = sandbox.sent(team.group)[before:]
    assert len(posts) == 1
    text = posts[0].text
    assert text.startswith("📊 Tổng kết ngày 19/11 · Sales HCM")
    assert "Cuộc gọi: 30/40 (75%)" in text
    assert "🏅 Dẫn đầu hôm nay:" in text and "Minh Trần" in text
    # Nothing more on a second run, a minute later, or after a restart.
    clock.advance(minutes=1)
    assert (await scheduler.run_due(clock.now)).sent == 0
    assert (await Scheduler(scheduler.app).run_due(clock.now)).sent == 0
    assert len(sandbox.sent(team.group)) == before + 1
    # The same post read in English when the team's language is English.
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        t.language = "en"
        s.execute(update(ScheduledRun).values(kind="old"))
    await scheduler.run_due(clock.now)
    english = sandbox.sent(team.group)[-1].text
    assert english.startswith("📊 Daily summary 19/11 · Sales HCM")
    assert "Calls: 30/40 (75%)" in english


async def test_a_daily_summary_shows_prorated_team_targets_as_people_write_them(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    await _seed(db, team, dt.date(2026, 12, 3))
    clock.set_local("2026-12-03 18:00")
    await scheduler.run_due(clock.now)
    text = group_texts(sandbox, team)[-1]
    # December has 23 working days: two reps' 200tr and 4 deals a month are 17,39tr and 0,35
    # deals a day. The percentage is that of the figures shown (1/0,35 would be 287%).
    assert "Doanh số: 60tr/17,4tr (345%)" in text
    assert "Hợp đồng chốt: 1/0,3 (333%)" in text


async def test_missed_post_is_caught_up_inside_the_grace_window_only(
    scheduler: Scheduler, sandbox: Any, team: Any, clock: Clock
) -> None:
    before = len(sandbox.sent(team.group))
    clock.set_local("2026-11-19 20:30")  # the bot was down from 17:50 to 20:30
    assert (await scheduler.run_due(clock.now)).sent == 0
    assert len(sandbox.sent(team.group)) == before
    clock.set_local("2026-11-20 19:10")  # down at 18:00, back at 19:10: still in grace
    assert (await scheduler.run_due(clock.now)).sent == 1
    assert "Tổng kết ngày 20/11" in sandbox.sent(team.group)[-1].text


async def test_two_instances_on_one_database_post_once(
    settings: Any, sandbox: Any, team: Any, db_url: str, clock: Clock
) -> None:
    apps = []
    for _ in range(2):
        other = build_application(
            settings,
            request=SandboxRequest(sandbox),
            db=Database(db_url),
            clock=clock,
            rate_limit=False,
            token=sandbox.token,
        )
        await other.initialize()
        apps.append(other)
    try:
        before = len(sandbox.sent(team.group))
        clock.set_local("2026-11-19 18:05")
        reports = await asyncio.gather(*(Scheduler(a).run_due(clock.now) for a in apps))
        assert sorted(r.sent for r in reports) == [0, 1]
        assert len(sandbox.sent(team.group)) == before + 1
    finally:
        for a in apps:
            await a.shutdown()
            a.bot_data.close()


async def test_a_definite_failure_is_retried_at_the_next_sweep(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    sandbox.fail(
        "sendMessage", code=400, description="Bad Request: try again", chat_id=team.group.id
    )
    clock.set_local("2026-11-19 18:00")
    assert (await scheduler.run_due(clock.now)).sent == 0
    with db.transaction() as s:
        assert s.scalar(select(ScheduledRun.status)) == "failed"
    clock.advance(minutes=1)
    assert (await scheduler.run_due(clock.now)).sent == 1
    with db.transaction() as s:
        run = s.scalar(select(ScheduledRun))
        assert run is not None and run.status == "sent" and run.attempts == 2


async def test_a_crash_between_sending_and_recording_is_not_sent_again(
    scheduler: Scheduler,
    sandbox: Any,
    team: Any,
    db: Database,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.set_local("2026-11-19 18:00")
    # What a process that died after it started sending the post leaves behind.
    await _claim_left_behind(db, clock, "crashed")
    with db.transaction() as s:
        run = s.scalar(select(ScheduledRun))
        assert run is not None
        assert run_claims.attempt(s, run_id=run.id, attempt=run.attempts, now=clock.now)
    before = len(sandbox.sent(team.group))
    clock.set_local("2026-11-19 18:20")
    with caplog.at_level(logging.WARNING):
        report = await scheduler.run_due(clock.now)
    assert report.sent == 0 and report.uncertain == 1
    assert len(sandbox.sent(team.group)) == before
    assert "not sending it again" in caplog.text
    with db.transaction() as s:
        assert s.scalar(select(ScheduledRun.status)) == "uncertain"


async def test_reminders_go_to_reps_behind_pace_with_run_rate_coaching(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock, talk: Talk
) -> None:
    await _seed(db, team, dt.date(2026, 11, 19))
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.minh, team.minh_dm, "/start")
    clock.set_local("2026-11-19 15:00")
    report = await scheduler.run_due(clock.now)
    hoa = sandbox.sent(team.hoa_dm)[-1].text
    assert hoa.startswith("⏰ Hoa Lê, you are behind pace today:")
    assert "Calls today: 5/20 · 15 to go today" in hoa
    # 19, 20, 23, 25, 26, 27 and 30 November are left (24/11 is a holiday): 200M / 7 days.
    assert "Revenue this month: 0/200M · 29M a day over the 7 working days left" in hoa
    assert "(about 140M a week)" in hoa
    assert "/mute" in hoa
    # Minh is on pace for calls but not for meetings: reminded about what is behind only.
    minh = sandbox.sent(team.minh_dm)[-1].text
    assert "Cuộc gọi" not in minh and "Cuộc hẹn tuần này: 0/5" in minh
    assert report.sent == 2
    # Muted reps get nothing the next day; nobody gets anything on the holiday.
    await talk.say(team.hoa, team.hoa_dm, "/mute")
    count = len(sandbox.sent(team.hoa_dm))
    clock.set_local("2026-11-20 15:00")
    await scheduler.run_due(clock.now)
    assert len(sandbox.sent(team.hoa_dm)) == count
    clock.set_local("2026-11-24 15:00")
    assert (await scheduler.run_due(clock.now)).due == 0


async def test_a_reminder_says_what_a_small_target_really_needs(
    scheduler: Scheduler, sandbox: Any, team: Any, clock: Clock, talk: Talk
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.minh, team.minh_dm, "/start")
    clock.set_local("2026-12-01 15:00")
    await scheduler.run_due(clock.now)
    hoa = sandbox.sent(team.hoa_dm)[-1].text
    # December 2026 has 23 working days, all still ahead (today included).
    assert (
        "Deals closed this month: 0/4 · 1 more every 5 working days over the 23 working days "
        "left (about 1 a week)"
    ) in hoa
    assert "Revenue this month: 0/200M · 8.7M a day over the 23 working days left" in hoa
    minh = sandbox.sent(team.minh_dm)[-1].text
    assert (
        "Hợp đồng chốt tháng này: 0/4 · cứ 5 ngày làm việc cần thêm 1, còn 23 ngày làm việc "
        "(khoảng 1 mỗi tuần)"
    ) in minh
    # Two weeks on: 200tr over 14 days is 14,3tr a day, said "15tr".
    clock.set_local("2026-12-14 15:00")
    await scheduler.run_due(clock.now)
    minh = sandbox.sent(team.minh_dm)[-1].text
    assert "Doanh số tháng này: 0/200tr · cần 15tr mỗi ngày, còn 14 ngày làm việc" in minh


async def test_a_rep_who_blocked_the_bot_is_skipped_and_shown_to_leaders(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock, talk: Talk
) -> None:
    await talk.say(team.hoa, team.hoa_dm, "/start")
    await talk.say(team.minh, team.minh_dm, "/start")
    await talk.say(team.leader, team.leader_dm, "/start")
    sandbox.block(team.hoa)
    clock.set_local("2026-11-19 15:00")
    report = await scheduler.run_due(clock.now)
    assert report.sent == 1  # Minh still got his
    with db.transaction() as s:
        hoa = s.scalar(select(Member).where(Member.username == "hoa_le"))
        assert hoa is not None and hoa.blocked_at is not None
    clock.set_local("2026-11-23 08:30")
    await scheduler.run_due(clock.now)
    digest = sandbox.sent(team.leader_dm)[-1].text
    assert digest.startswith("🗒 Tổng kết cho quản lý · tuần 16/11–22/11")
    assert "Hoa Lê" in digest.split("📵")[1]


async def test_a_group_that_removed_the_bot_marks_the_team_inactive(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    sandbox.fail(
        "sendMessage",
        code=403,
        description="Forbidden: bot was kicked from the group chat",
        chat_id=team.group.id,
    )
    clock.set_local("2026-11-19 18:00")
    assert (await scheduler.run_due(clock.now)).sent == 0
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None and not t.active


async def test_weekly_leaderboard_has_ranking_totals_and_a_chart(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    await _seed(db, team, dt.date(2026, 11, 19))
    before = len(sandbox.sent(team.group))
    clock.set_local("2026-11-20 17:00")
    await scheduler.run_due(clock.now)
    new = sandbox.sent(team.group)[before:]
    assert [m.kind for m in new] == ["text", "photo"]
    assert new[0].text.startswith("🏆 Bảng xếp hạng · tuần 16/11–22/11")
    assert "🥇 Minh Trần" in new[0].text and "Đạt chỉ tiêu:" in new[0].text
    assert new[1].photo is not None and new[1].photo.startswith(b"\x89PNG")


async def test_group_visibility_applies_to_scheduled_posts(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    await _seed(db, team, dt.date(2026, 11, 19))
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        save_settings(s, t, TeamSettings.from_json({**t.settings, "group_sees": "totals"}), None)
    before = len(sandbox.sent(team.group))
    clock.set_local("2026-11-20 17:00")
    await scheduler.run_due(clock.now)
    new = sandbox.sent(team.group)[before:]
    assert [m.kind for m in new] == ["text"]
    assert "Minh" not in new[0].text and "Doanh số" in new[0].text


async def test_monthly_report_goes_to_the_group_and_the_leaders(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock, talk: Talk
) -> None:
    await _seed(db, team, dt.date(2026, 11, 19))
    await talk.say(team.leader, team.leader_dm, "/start")
    clock.set_local("2026-12-01 09:00")
    await scheduler.run_due(clock.now)
    group = [m.text for m in sandbox.sent(team.group) if m.kind == "text"][-1]
    assert group.startswith("📅 Báo cáo tháng 11/2026 · Sales HCM")
    assert "Tỷ lệ thắng: 100%" in group
    assert "Giá trị hợp đồng trung bình: 60tr" in group
    private = sandbox.sent(team.leader_dm)
    assert any((m.text or "").startswith("📅 Báo cáo tháng 11/2026") for m in private)


async def test_leader_digest_names_quiet_members(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock, talk: Talk
) -> None:
    await _seed(db, team, dt.date(2026, 11, 16))
    await talk.say(team.leader, team.leader_dm, "/start")
    clock.set_local("2026-11-23 08:30")
    await scheduler.run_due(clock.now)
    digest = sandbox.sent(team.leader_dm)[-1].text
    assert "💤" in digest and "Minh Trần" in digest.split("💤")[1]


async def test_a_deal_is_celebrated_in_the_group_once(
    talk: Talk, sandbox: Any, team: Any, db: Database
) -> None:
    update_ = sandbox.text(team.minh, team.minh_dm, "/deal 45tr An Phát")
    await talk.deliver(update_)
    await talk.deliver(update_)
    cheers = [m.text for m in sandbox.sent(team.group) if "🎉" in (m.text or "")]
    assert cheers == ["🎉 Chúc mừng Minh Trần vừa chốt hợp đồng 45tr!"]
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        save_settings(s, t, TeamSettings.from_json({**t.settings, "celebrations": False}), None)
    await talk.say(team.minh, team.minh_dm, "/deal 10tr")
    assert len([m for m in sandbox.sent(team.group) if "🎉" in (m.text or "")]) == 1


async def test_living_leaderboard_is_pinned_and_edited_in_place(
    scheduler: Scheduler, sandbox: Any, team: Any, clock: Clock, talk: Talk
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await scheduler.sweep(clock.now)
    boards = [m for m in sandbox.sent(team.group) if (m.text or "").startswith("📌")]
    assert len(boards) == 1
    board = boards[0]
    assert board.message_id in sandbox.pinned(team.group)
    clock.advance(minutes=1)
    await talk.say(team.hoa, team.hoa_dm, "/call 9")
    await scheduler.sweep(clock.now)
    boards = [m for m in sandbox.sent(team.group) if (m.text or "").startswith("📌")]
    assert len(boards) == 1 and boards[0].edit_date is not None
    assert "Hoa Lê" in boards[0].text
    # Nothing changed: no edit.
    edits = len(sandbox.calls_for("editMessageText"))
    clock.advance(minutes=1)
    await scheduler.sweep(clock.now)
    assert len(sandbox.calls_for("editMessageText")) == edits


async def test_posts_go_to_the_chosen_forum_topic(
    talk: Talk, sandbox: Any, db: Database, clock: Clock, scheduler: Scheduler
) -> None:
    lan = sandbox.user("Lan", language_code="vi")
    forum = sandbox.group("Forum team", creator=lan, forum=True)
    await talk.say(lan, forum, "/setup")
    topic = sandbox.topic(forum, "Báo cáo", by=lan)
    answer = await talk.reply(lan, forum, "/settings topic daily", thread_id=topic)
    assert "Đã lưu" in answer
    clock.set_local("2026-11-19 18:00")
    await scheduler.run_due(clock.now)
    summary = [m for m in sandbox.sent(forum) if (m.text or "").startswith("📊")]
    assert summary and summary[-1].message_thread_id == topic


async def test_jobs_are_built_per_team_and_rebuilt_when_settings_change(
    scheduler: Scheduler, team: Any, db: Database, talk: Talk
) -> None:
    await scheduler.sync()
    jobs = {j.name: j for j in scheduler.app.job_queue.jobs()}
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        team_id = t.id
    daily = jobs[f"kpibot:{team_id}:daily_summary"]
    assert daily.job.misfire_grace_time == 7200 and daily.job.coalesce
    assert str(daily.job.trigger.timezone) == "Asia/Ho_Chi_Minh"
    await talk.say(team.leader, team.group, "/settings time daily 18:30")
    await talk.say(team.leader, team.group, "/settings time reminder off")
    await scheduler.sync()
    await asyncio.sleep(0)
    jobs = {j.name: j for j in scheduler.app.job_queue.jobs() if not j.removed}
    assert f"kpibot:{team_id}:reminder" not in jobs
    trigger = jobs[f"kpibot:{team_id}:daily_summary"].job.trigger
    assert "minute='30'" in str(trigger) and "hour='18'" in str(trigger)
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None and settings_of(t).schedule["daily_summary"] == "18:30"


async def test_settings_are_for_leaders_and_explain_bad_input(talk: Talk, team: Any) -> None:
    assert "Chỉ quản lý" in await talk.reply(team.minh, team.group, "/settings")
    shown = await talk.reply(team.leader, team.group, "/settings")
    assert "Múi giờ: Asia/Ho_Chi_Minh" in shown and "Tổng kết ngày: 18:00" in shown
    bad = await talk.reply(team.leader, team.group, "/settings timezone Mars/Olympus")
    assert "Không tìm thấy múi giờ" in bad and "Ví dụ:" in bad
    ok = await talk.reply(team.leader, team.group, "/settings days mon-sat")
    assert "Ngày làm việc: T2, T3, T4, T5, T6, T7" in ok
    [answer] = await talk.say(team.leader, team.group, "/settings")
    await talk.press(team.leader, team.group, answer, "set:reminders off")
    assert "Nhắc nhở riêng: tắt" in talk.sandbox.sent(team.group)[-1].text


async def test_flood_control_is_waited_out_and_the_post_delivered(
    settings: Any, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    """QUALITY.md R4: a 429 with retry_after is retried after the wait (max_retries is set)."""
    send_clock = ManualClock()
    limited = build_application(
        settings,
        request=SandboxRequest(sandbox),
        db=db,
        clock=clock,
        rate_limit=True,
        token=sandbox.token,
        send_clock=send_clock,
    )
    sandbox.fail(
        "sendMessage",
        code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=team.group.id,
    )
    async with limited:
        before = len(sandbox.sent(team.group))
        clock.set_local("2026-11-19 18:00")
        started = send_clock.monotonic()
        report = await send_clock.run(Scheduler(limited).run_due(clock.now))
        waited = send_clock.monotonic() - started
    assert report.sent == 1
    assert waited >= 1.0  # the retry came after the wait Telegram asked for
    assert len(sandbox.sent(team.group)) == before + 1
    attempts = [
        c for c in sandbox.calls_for("sendMessage") if c.params.get("chat_id") == team.group.id
    ]
    assert [c.response.get("ok") for c in attempts[-2:]] == [False, True]


async def test_a_deleted_living_leaderboard_is_created_again(
    scheduler: Scheduler, sandbox: Any, team: Any, clock: Clock, talk: Talk, app: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 5")
    await scheduler.sweep(clock.now)
    [first] = [m for m in sandbox.sent(team.group) if (m.text or "").startswith("📌")]
    await app.bot.delete_message(team.group.id, first.message_id)
    clock.advance(minutes=1)
    await talk.say(team.minh, team.minh_dm, "/call 1")
    await scheduler.sweep(clock.now)
    boards = [m for m in sandbox.sent(team.group) if (m.text or "").startswith("📌")]
    live = [m for m in boards if not m.deleted]
    assert len(live) == 1 and live[0].message_id != first.message_id
    assert live[0].message_id in sandbox.pinned(team.group)


async def test_a_rep_in_two_teams_gets_each_teams_reminder(
    scheduler: Scheduler, sandbox: Any, team: Any, talk: Talk, clock: Clock
) -> None:
    boss = sandbox.user("Vy", language_code="vi")
    other = sandbox.group("Sales HN", creator=boss, members=[team.hoa])
    await talk.say(boss, other, "/setup")
    await talk.say(team.hoa, other, "/join")
    await talk.say(team.hoa, team.hoa_dm, "/start")
    before = len(sandbox.sent(team.hoa_dm))
    clock.set_local("2026-11-19 15:00")
    report = await scheduler.run_due(clock.now)
    reminders = [m for m in sandbox.sent(team.hoa_dm)[before:] if "behind pace" in (m.text or "")]
    assert len(reminders) == 2 and report.sent >= 2


async def test_several_deals_are_celebrated_with_their_count(
    talk: Talk, sandbox: Any, team: Any
) -> None:
    await talk.say(team.minh, team.minh_dm, "/deal 2 90tr")
    cheers = [m.text for m in sandbox.sent(team.group) if "🎉" in (m.text or "")]
    assert cheers == ["🎉 Chúc mừng Minh Trần vừa chốt 2 hợp đồng, tổng 90tr!"]


async def test_a_leader_digest_for_a_big_team_fits_one_message(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock, talk: Talk
) -> None:
    from kpi.models import Member, Membership

    await talk.say(team.leader, team.leader_dm, "/start")
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        for i in range(60):
            m = Member(first_name="Nguyễn Thị Ngọc Hương Giang", last_name=f"Phương Thảo {i}")
            s.add(m)
            s.flush()
            s.add(Membership(team_id=t.id, member_id=m.id, joined_on=dt.date(2026, 11, 1)))
    clock.set_local("2026-11-23 08:30")
    await scheduler.run_due(clock.now)
    digest = sandbox.sent(team.leader_dm)[-1].text or ""
    assert digest.startswith("🗒 Tổng kết cho quản lý")
    assert len(digest) <= 4096 and "… +" in digest


# --- sends that fail: what may have reached Telegram decides (QUALITY.md R3, R4) -------------


def summaries(sandbox: Any, team: Any) -> list[str]:
    return [t for t in group_texts(sandbox, team) if t.startswith("📊 Tổng kết ngày 19/11")]


@pytest.mark.parametrize("stall", [0.0, 1.0], ids=["dropped-connection", "read-timeout"])
async def test_an_answer_lost_after_delivery_over_http_is_not_posted_twice(
    settings: Any, sandbox: Any, team: Any, db: Database, clock: Clock, stall: float
) -> None:
    """Over real HTTP: Telegram got the summary, its answer never came back (the connection
    dropped, or the answer came after the bot's read timeout). The bot must not post it again."""
    async with sandbox.serve() as base_url:
        telegram = dataclasses.replace(
            settings.telegram,
            base_url=base_url,
            base_file_url=base_url.replace("/bot", "/file/bot"),
        )
        over_http = build_application(
            dataclasses.replace(settings, telegram=telegram),
            request=HTTPXRequest(read_timeout=0.3),
            db=db,
            clock=clock,
            rate_limit=False,
            token=sandbox.token,
        )
        sandbox.drop("sendMessage", chat_id=team.group.id, applied=True, stall=stall)
        async with over_http:
            scheduler = Scheduler(over_http)
            clock.set_local("2026-11-19 18:00")
            assert (await scheduler.run_due(clock.now)).sent == 0
            for minutes in (1, 5, 30):
                clock.set_local(f"2026-11-19 18:{minutes:02d}")
                await scheduler.run_due(clock.now)
    assert len(summaries(sandbox, team)) == 1
    with db.transaction() as s:
        assert s.scalar(select(ScheduledRun.status)) == "uncertain"


@pytest.mark.parametrize("kind", ["connect_timeout", "pool_timeout", "connect_error"])
async def test_a_send_that_never_left_is_retried(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock, kind: str
) -> None:
    """A connect or pool timeout: nothing reached Telegram, so the post is sent at the next
    sweep (python-telegram-bot reports these as TimedOut, like a read timeout)."""
    sandbox.fail_connect("sendMessage", kind=kind, chat_id=team.group.id)
    clock.set_local("2026-11-19 18:00")
    assert (await scheduler.run_due(clock.now)).sent == 0
    assert summaries(sandbox, team) == []
    clock.advance(minutes=1)
    assert (await scheduler.run_due(clock.now)).sent == 1
    clock.advance(minutes=1)
    await scheduler.run_due(clock.now)
    assert len(summaries(sandbox, team)) == 1


async def _claim_left_behind(db: Database, clock: Clock, instance: str) -> None:
    """Claim today's summary as a sender does before it builds and sends the post."""
    with db.transaction() as s:
        t = s.scalar(select(Team))
        assert t is not None
        won = run_claims.claim(
            s,
            team_id=t.id,
            kind="daily_summary",
            period_key="2026-11-19",
            chat_id=t.chat_id,
            due_at=clock.now,
            now=clock.now,
            instance=instance,
        )
        assert won is not None


async def test_a_claim_never_attempted_is_sent_once_it_is_stale(
    scheduler: Scheduler, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    clock.set_local("2026-11-19 18:00")
    await _claim_left_behind(db, clock, "stopped-before-sending")
    clock.set_local("2026-11-19 18:05")
    assert (await scheduler.run_due(clock.now)).sent == 0  # its holder may still be at it
    clock.set_local("2026-11-19 18:20")
    assert (await scheduler.run_due(clock.now)).sent == 1
    clock.advance(minutes=1)
    await scheduler.run_due(clock.now)
    assert len(summaries(sandbox, team)) == 1


async def test_a_claim_of_this_instance_found_on_start_is_sent_at_once(
    app: Any, sandbox: Any, team: Any, db: Database, clock: Clock
) -> None:
    clock.set_local("2026-11-19 18:00")
    await _claim_left_behind(db, clock, app.bot_data.instance)
    clock.set_local("2026-11-19 18:02")  # restarted two minutes later
    await Scheduler(app).start()
    assert len(summaries(sandbox, team)) == 1
    with db.transaction() as s:
        run = s.scalar(select(ScheduledRun))
        assert run is not None and run.status == "sent" and run.attempts == 2


async def test_a_holder_whose_claim_was_taken_over_does_not_send(
    app: Any, settings: Any, sandbox: Any, team: Any, db_url: str, clock: Clock
) -> None:
    """Instance A claims, then stalls before sending (a long render, a paused VM); instance B
    finds the claim stale and sends. When A wakes up it must not send as well."""
    other = build_application(
        settings,
        request=SandboxRequest(sandbox),
        db=Database(db_url),
        clock=clock,
        rate_limit=False,
        token=sandbox.token,
    )
    await other.initialize()
    try:
        clock.set_local("2026-11-19 18:00")
        teams = await app.bot_data.db.work(schedules)
        [post] = [p for p in due_posts(teams, clock.now) if p.kind == "daily_summary"]
        woke, resume = asyncio.Event(), asyncio.Event()

        async def slow_build() -> list[digests.Outgoing]:
            woke.set()
            await resume.wait()
            return [digests.Outgoing(text="A's summary")]

        a = asyncio.create_task(
            digests.deliver_once(app.bot, app.bot_data, post, team.group.id, slow_build, clock.now)
        )
        await woke.wait()
        clock.set_local("2026-11-19 18:15")
        assert (await Scheduler(other).run_due(clock.now)).sent == 1
        resume.set()
        assert await a == 0
    finally:
        await other.shutdown()
        other.bot_data.close()
    assert len(summaries(sandbox, team)) == 1
    assert "A's summary" not in group_texts(sandbox, team)


async def test_a_settings_change_on_another_instance_rebuilds_this_instances_jobs(
    app: Any, team: Any, db: Database
) -> None:
    """The JobQueue is memory only: a leader's new summary time, stored by whichever instance
    served the /settings, reaches every instance's jobs through the settings revision each
    checks every few seconds."""
    scheduler = Scheduler(app)
    await scheduler.sync()

    def summary_time() -> Any:
        [job] = [j for j in app.job_queue.jobs() if (j.name or "").endswith(":daily_summary")]
        return job.trigger.fields[5:8]  # hour, minute, second

    before = str(summary_time())
    assert not await scheduler.settings_changed()
    # Another instance stores the change (the same database, not this instance's memory).
    with db.transaction() as s:
        t = s.scalars(select(Team)).one()
        now = settings_of(t)
        schedule = {**now.schedule, "daily_summary": "16:45"}
        save_settings(s, t, dataclasses.replace(now, schedule=schedule), None)
    assert await scheduler.settings_changed()
    assert str(summary_time()) != before
    assert "16" in str(summary_time()[0]) and "45" in str(summary_time()[1])
    assert not await scheduler.settings_changed()
