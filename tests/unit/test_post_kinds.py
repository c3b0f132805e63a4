"""The post-kind registry is complete: every kind has its texts, its sender and its schedule.

Adding a post kind is one `kpi.posts.registry.PostKind` plus its texts (and, for a new
`content`, a builder and a view); these tests say what is missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.scheduler import due_posts
from handlers import digests
from handlers.i18n import catalog, languages
from kpi.calendar import WorkCalendar
from kpi.posts import registry
from kpi.posts.registry import DEFAULT_SCHEDULE, POST_KINDS, SCHEDULED, PostKind
from kpi.posts.schedules import TeamSchedule
from kpi.teams import TeamSettings

KINDS = pytest.mark.parametrize("kind", POST_KINDS, ids=lambda k: k.key)


@KINDS
def test_every_post_kind_has_its_texts_in_each_language(kind: PostKind) -> None:
    for lang in languages():
        assert kind.title in catalog(lang), f"{kind.title} missing in {lang}"
        if kind.scheduled:
            key = f"settings.post_{kind.key}"
            assert key in catalog(lang), f"{key} missing in {lang}"


@KINDS
def test_every_post_kind_is_whole(kind: PostKind) -> None:
    assert kind.audience and set(kind.audience) <= {"group", "private", "leaders"}
    assert registry.kind(kind.key) is kind
    assert (kind.default_time is not None) == kind.scheduled
    assert kind.same_day or not kind.until_work_end
    if kind.enabled_by is not None:
        flag = {f.name: f for f in dataclasses.fields(TeamSettings)}[kind.enabled_by]
        assert flag.type == "bool"
    for word in (kind.key, *kind.words):
        assert registry.by_word(word) is kind


def test_scheduled_kinds_are_the_default_schedule_and_have_a_sender() -> None:
    assert tuple(DEFAULT_SCHEDULE) == tuple(k.key for k in SCHEDULED)
    assert dict(DEFAULT_SCHEDULE) == {
        "daily_summary": "18:00",
        "reminder": "15:00",
        "weekly": "17:00",
        "monthly": "09:00",
        "leader_digest": "08:30",
    }
    for kind in SCHEDULED:
        assert kind.content in digests.SENDERS and kind.content in digests.PREVIEWS
    # Event posts have no clock: the celebration goes through the outbox, the board is edited.
    assert {k.key for k in POST_KINDS if not k.scheduled} == {"celebration", "board"}


def test_every_scheduled_kind_is_scheduled_by_due_posts() -> None:
    team = TeamSchedule(1, WorkCalendar(), dict(DEFAULT_SCHEDULE), dt.timedelta(hours=2))
    seen: set[str] = set()
    now = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
    while now < dt.datetime(2026, 12, 15, tzinfo=dt.UTC):
        seen |= {p.kind for p in due_posts([team], now)}
        now += dt.timedelta(minutes=30)
    assert seen == {k.key for k in SCHEDULED}


def test_settings_words_name_the_same_posts_as_before() -> None:
    # The words `/settings time <word>` took before the registry, with the post each meant.
    before = {
        "daily": "daily_summary",
        "summary": "daily_summary",
        "daily_summary": "daily_summary",
        "tongket": "daily_summary",
        "reminder": "reminder",
        "reminders": "reminder",
        "nhacnho": "reminder",
        "weekly": "weekly",
        "tuan": "weekly",
        "monthly": "monthly",
        "thang": "monthly",
        "digest": "leader_digest",
        "leader": "leader_digest",
        "leader_digest": "leader_digest",
    }
    for word, key in before.items():
        found = registry.by_word(word)
        assert found is not None and found.key == key and found.scheduled, word
    scheduled_words = {w for k in SCHEDULED for w in (k.key, *k.words)}
    assert scheduled_words == set(before)
    # And `/settings topic <word>`: the group posts, the celebration and the living board.
    topics = {k.key for k in POST_KINDS if k.topic}
    assert topics == {"daily_summary", "weekly", "monthly", "celebration", "board"}


def test_an_unknown_post_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        registry.kind("quarterly")
    with pytest.raises(ValueError):
        registry.occurrence(WorkCalendar(), "celebration", dt.date(2026, 11, 20))
    assert registry.by_word("quarterly") is None
