"""The post-kind registry: one entry per kind of post the bot sends on its own.

Everything that depends on a post kind reads it from here: when it fires and what span it
reports on (`bot.scheduler.due_posts`), its default time (`kpi.teams.DEFAULT_SCHEDULE`), the
words `/settings time|topic` accept, which team setting turns it on, who receives it, and which
content builder (`kpi.posts.content`) and view (`handlers.digests`) make it.

Adding a post kind is one entry here plus its texts (`digest.*`, `settings.post_<key>` in the
catalogs: its `title`) and, when no existing `content` fits, a content builder and its view.

This module imports nothing of the data layer (`kpi.teams` reads its defaults from here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from kpi import periods
from kpi.calendar import WorkCalendar, is_working_day
from kpi.periods import Span


class Settings(Protocol):
    """A team's settings as far as a post kind reads them (`kpi.teams.TeamSettings`).

    A protocol, not an import: `kpi.teams` reads its default schedule from this module.
    """

    @property
    def reminders(self) -> bool:
        """Whether reminders are on."""
        ...

    @property
    def celebrations(self) -> bool:
        """Whether deal celebrations are on."""
        ...

    @property
    def living_board(self) -> bool:
        """Whether the pinned living board is on."""
        ...


Audience = Literal["group", "private", "leaders"]
# What a post is made of: one content builder and one view per content (several kinds may share
# one: the daily summary, weekly leaderboard and monthly report are all built around a board).
Content = Literal["board", "reminders", "leader_digest", "celebration", "living_board"]
Occurs = Callable[[WorkCalendar, dt.date], Span | None]


def _every_working_day(cal: WorkCalendar, day: dt.date) -> Span | None:
    """Fire every working day, about that day."""
    return periods.span_of("day", day, cal) if is_working_day(cal, day) else None


def _week_last_working_day(cal: WorkCalendar, day: dt.date) -> Span | None:
    """Fire on the week's last working day, about the week so far."""
    week = periods.span_of("week", day, cal)
    return week if periods.last_working_day(cal, week) == day else None


def _month_first_working_day(cal: WorkCalendar, day: dt.date) -> Span | None:
    """Fire on the month's first working day, about the previous month."""
    month = periods.span_of("month", day, cal)
    return periods.previous(month, cal) if periods.first_working_day(cal, month) == day else None


def _week_first_working_day(cal: WorkCalendar, day: dt.date) -> Span | None:
    """Fire on the week's first working day, about the previous week."""
    week = periods.span_of("week", day, cal)
    return periods.previous(week, cal) if periods.first_working_day(cal, week) == day else None


@dataclass(frozen=True)
class PostKind:
    """One kind of post: who gets it, when, what it is made of, what turns it on."""

    key: str  # stored in claims (`scheduled_runs.kind`), settings and topics: never renamed
    audience: tuple[Audience, ...]
    content: Content
    title: str  # the catalog key of the post's first line
    # On a clock: the default local time and the days it fires (with the span it reports on).
    # Neither: the post follows an event (a deal logged, numbers changed).
    default_time: str | None = None
    occurs: Occurs | None = None
    # The grace window is the team's (`grace_minutes`), narrowed for posts about today: never
    # sent on another day, and a reminder not after the working day.
    same_day: bool = False
    until_work_end: bool = False
    words: tuple[str, ...] = ()  # what `/settings time|topic <word>` accepts besides the key
    topic: bool = False  # may be sent to a forum topic (`/settings topic <word>`)
    enabled_by: str | None = None  # the TeamSettings flag that turns it on (None: always on)

    @property
    def scheduled(self) -> bool:
        """Tell whether the post fires on a clock (and so has a time and a job)."""
        return self.occurs is not None

    def enabled(self, settings: Settings) -> bool:
        """Tell whether the team's settings have this post turned on."""
        return self.enabled_by is None or bool(getattr(settings, self.enabled_by))


DAILY_SUMMARY = PostKind(
    "daily_summary",
    ("group",),
    "board",
    "digest.daily_title",
    default_time="18:00",
    occurs=_every_working_day,
    same_day=True,
    words=("daily", "summary", "tongket"),
    topic=True,
)
REMINDER = PostKind(
    "reminder",
    ("private",),
    "reminders",
    "digest.reminder_title",
    default_time="15:00",
    occurs=_every_working_day,
    same_day=True,
    until_work_end=True,
    words=("reminders", "nhacnho"),
    enabled_by="reminders",
)
WEEKLY = PostKind(
    "weekly",
    ("group",),
    "board",
    "digest.weekly_title",
    default_time="17:00",
    occurs=_week_last_working_day,
    words=("tuan",),
    topic=True,
)
MONTHLY = PostKind(
    "monthly",
    ("group", "leaders"),
    "board",
    "digest.monthly_title",
    default_time="09:00",
    occurs=_month_first_working_day,
    words=("thang",),
    topic=True,
)
LEADER_DIGEST = PostKind(
    "leader_digest",
    ("leaders",),
    "leader_digest",
    "digest.leader_title",
    default_time="08:30",
    occurs=_week_first_working_day,
    words=("digest", "leader"),
)
CELEBRATION = PostKind(
    "celebration",
    ("group",),
    "celebration",
    "digest.celebrate",
    topic=True,
    enabled_by="celebrations",
)
LIVING_BOARD = PostKind(
    "board",
    ("group",),
    "living_board",
    "digest.living_title",
    topic=True,
    enabled_by="living_board",
)

# In the order posts are listed (/settings) and configured ([defaults.schedule]).
POST_KINDS: tuple[PostKind, ...] = (
    DAILY_SUMMARY,
    REMINDER,
    WEEKLY,
    MONTHLY,
    LEADER_DIGEST,
    CELEBRATION,
    LIVING_BOARD,
)
BY_KEY: Mapping[str, PostKind] = MappingProxyType({k.key: k for k in POST_KINDS})
SCHEDULED: tuple[PostKind, ...] = tuple(k for k in POST_KINDS if k.scheduled)
DEFAULT_SCHEDULE: Mapping[str, str | None] = MappingProxyType(
    {k.key: k.default_time for k in SCHEDULED}
)
_BY_WORD: Mapping[str, PostKind] = MappingProxyType(
    {word: k for k in POST_KINDS for word in (k.key, *k.words)}
)


def kind(key: str) -> PostKind:
    """Return the post kind stored under `key` (ValueError for an unknown one)."""
    found = BY_KEY.get(key)
    if found is None:
        raise ValueError(f"unknown post kind {key!r}")
    return found


def by_word(word: str) -> PostKind | None:
    """Return the post kind a leader means by a word of `/settings` (`daily`, `tuan`), if any."""
    return _BY_WORD.get(word)


def occurrence(cal: WorkCalendar, key: str, day: dt.date) -> Span | None:
    """Return the span a post of this kind reports on if it fires on local `day`, else None."""
    occurs = kind(key).occurs
    if occurs is None:
        raise ValueError(f"post kind {key!r} is not scheduled")
    return occurs(cal, day)
