"""When scheduled posts are due and what a reminder says it takes: pure, on fixed datetimes."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.scheduler import due_posts, next_times
from kpi.calendar import WorkCalendar
from kpi.posts.content import RunRate, run_rate_phrase
from kpi.posts.registry import DEFAULT_SCHEDULE
from kpi.posts.schedules import TeamSchedule

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str, tz: ZoneInfo = HCM) -> dt.datetime:
    """A UTC instant from a local 'YYYY-MM-DD HH:MM'."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).astimezone(dt.UTC)


def schedule(tz: str = "Asia/Ho_Chi_Minh", grace: int = 120, **times: str | None) -> TeamSchedule:
    return TeamSchedule(
        1,
        WorkCalendar(timezone=tz, country="VN" if tz == "Asia/Ho_Chi_Minh" else "DE"),
        {**DEFAULT_SCHEDULE, **times},
        dt.timedelta(minutes=grace),
    )


def kinds(posts: list[Any]) -> list[tuple[str, str]]:
    return sorted((p.kind, p.period_key) for p in posts)


# --- when: pure ------------------------------------------------------------------------------


def test_daily_posts_fire_on_working_days_inside_the_grace_window() -> None:
    s = schedule()
    assert kinds(due_posts([s], local("2026-11-19 17:59"))) == []
    assert kinds(due_posts([s], local("2026-11-19 18:00"))) == [("daily_summary", "2026-11-19")]
    assert kinds(due_posts([s], local("2026-11-19 19:59"))) == [("daily_summary", "2026-11-19")]
    assert kinds(due_posts([s], local("2026-11-19 20:00"))) == []
    assert kinds(due_posts([s], local("2026-11-19 15:30"))) == [("reminder", "2026-11-19")]


def test_weekly_monthly_and_leader_digest_days() -> None:
    s = schedule()
    # Friday 20/11 is the week's last working day: the week so far.
    assert ("weekly", "2026-W47") in kinds(due_posts([s], local("2026-11-20 17:00")))
    # Monday 23/11: the leader digest is about the previous week.
    assert kinds(due_posts([s], local("2026-11-23 08:30"))) == [("leader_digest", "2026-W47")]
    # Tuesday 1/12 is December's first working day: the monthly report is about November.
    assert kinds(due_posts([s], local("2026-12-01 09:00"))) == [("monthly", "2026-11")]
    assert kinds(due_posts([s], local("2026-11-19 17:00"))) == []


def test_no_posts_on_a_public_holiday_or_a_weekend() -> None:
    s = schedule()
    # 24/11/2026 is a public holiday in Vietnam's calendar (holidays 0.108).
    assert due_posts([s], local("2026-11-24 15:00")) == []
    assert due_posts([s], local("2026-11-24 18:00")) == []
    assert due_posts([s], local("2026-11-21 18:00")) == []  # Saturday


def test_a_declared_make_up_saturday_gets_its_daily_posts() -> None:
    cal = WorkCalendar(extra_working_days=frozenset({dt.date(2026, 11, 21)}))
    s = TeamSchedule(1, cal, dict(DEFAULT_SCHEDULE), dt.timedelta(hours=2))
    assert ("daily_summary", "2026-11-21") in kinds(due_posts([s], local("2026-11-21 18:30")))


def test_a_daily_summary_is_never_sent_the_next_day() -> None:
    s = schedule(grace=24 * 60)
    assert due_posts([s], local("2026-11-20 07:00")) == []
    assert kinds(due_posts([s], local("2026-11-19 23:59"))) == [("daily_summary", "2026-11-19")]


def test_a_weekly_post_may_be_caught_up_after_midnight_inside_its_grace() -> None:
    s = schedule(grace=8 * 60, weekly="22:00")
    assert ("weekly", "2026-W47") in kinds(due_posts([s], local("2026-11-21 01:00")))


def test_two_timezones_and_daylight_saving_time() -> None:
    hcm, berlin = schedule(), schedule("Europe/Berlin")
    berlin = TeamSchedule(2, berlin.calendar, berlin.times, berlin.grace)
    # Berlin: 18:00 is 17:00 UTC in winter time, 16:00 UTC after the clocks go forward.
    before = due_posts([hcm, berlin], dt.datetime(2026, 3, 27, 17, 0, tzinfo=dt.UTC))
    # Friday: Berlin's daily summary is due, and its weekly leaderboard from 17:00 still is.
    assert sorted((p.team_id, p.kind) for p in before) == [(2, "daily_summary"), (2, "weekly")]
    daily = next(p for p in before if p.kind == "daily_summary")
    assert daily.due_at == dt.datetime(2026, 3, 27, 17, 0, tzinfo=dt.UTC)
    after = due_posts([berlin], dt.datetime(2026, 3, 30, 16, 0, tzinfo=dt.UTC))
    assert [(p.kind, p.due_at.hour) for p in after] == [("daily_summary", 16)]
    # Ho Chi Minh City has no DST: 18:00 is always 11:00 UTC.
    assert [
        p.team_id for p in due_posts([hcm], dt.datetime(2026, 3, 30, 11, 0, tzinfo=dt.UTC))
    ] == [1]


def test_posts_switched_off_never_fire_and_next_times_are_listed() -> None:
    s = schedule(daily_summary=None)
    assert due_posts([s], local("2026-11-19 18:00")) == []
    upcoming = next_times(schedule(), local("2026-11-19 16:00"))
    assert upcoming["daily_summary"] == local("2026-11-19 18:00")
    assert upcoming["monthly"] == local("2026-12-01 09:00")


# --- what a reminder says it takes: pure ----------------------------------------------------


def test_a_small_run_rate_is_said_over_the_span_that_makes_a_whole_unit() -> None:
    # 4 deals over 23 working days: not "1 a day", but one every 5 days (6 would make only 3).
    rate = run_rate_phrase(4, 23, "count", week_days=5, weekly=True)
    assert rate == RunRate("every", 1, 23, every=5, per_week=1)
    # Two over 23: every 11 days, and "0.4 a week" would help nobody.
    assert run_rate_phrase(2, 23, "count", week_days=5, weekly=True) == RunRate(
        "every", 1, 23, every=11
    )
    # 4 over 7 is more than one every two days and less than one a day: say the whole amount.
    assert run_rate_phrase(4, 7, "count", week_days=5, weekly=True) == RunRate(
        "rest", 4, 7, per_week=3
    )
    assert run_rate_phrase(1, 20, "count", week_days=5, weekly=True) == RunRate("rest", 1, 20)
    # A fractional target still needs whole deals: 3.5 left is 4.
    assert run_rate_phrase(3.5, 2, "count", week_days=5, weekly=False) == RunRate("per_day", 2, 2)
    assert run_rate_phrase(26, 7, "count", week_days=5, weekly=False) == RunRate("per_day", 4, 7)
    # On the period's last working day it is simply what is left, today.
    assert run_rate_phrase(3, 1, "count", week_days=5, weekly=False) == RunRate("today", 3, 1)
    assert run_rate_phrase(0, 5, "count", week_days=5, weekly=True) is None
    assert run_rate_phrase(5, 0, "count", week_days=5, weekly=True) is None


def test_money_per_day_is_rounded_up_to_what_people_say() -> None:
    # 152.2tr over 14 days is 10.87tr a day: "11tr", about 54tr a week.
    assert run_rate_phrase(152_200_000, 14, "vnd", week_days=5, weekly=True) == RunRate(
        "per_day", 11_000_000, 14, per_week=54_000_000
    )
    assert run_rate_phrase(200_000_000, 7, "vnd", week_days=5, weekly=True) == RunRate(
        "per_day", 29_000_000, 7, per_week=140_000_000
    )
    assert run_rate_phrase(1_234_000, 1, "vnd", week_days=5, weekly=True) == RunRate(
        "today", 1_300_000, 1
    )
    assert run_rate_phrase(2_500_000_000, 20, "vnd", week_days=6, weekly=False) == RunRate(
        "per_day", 130_000_000, 20
    )


@given(
    remaining=st.floats(min_value=0.01, max_value=1e6),
    days=st.integers(min_value=1, max_value=260),
    unit=st.sampled_from(["count", "vnd"]),
)
def test_what_a_reminder_asks_for_is_enough_to_reach_the_target(
    remaining: float, days: int, unit: str
) -> None:
    if unit == "vnd":
        remaining *= 10_000
    rate = run_rate_phrase(remaining, days, unit, week_days=5, weekly=True)
    assert rate is not None
    if rate.kind == "per_day":
        assert rate.amount * days >= remaining * (1 - 1e-12)
    elif rate.kind == "every":
        assert unit == "count" and rate.every >= 2
        assert days // rate.every >= math.ceil(remaining)
    else:
        # Float noise below a millionth (0.01 tr stored as 100.00000000000001 đồng) is no money.
        assert rate.amount >= remaining * (1 - 1e-12)
