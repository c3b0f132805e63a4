"""Team settings use cases: `/settings` for leaders, `/mute` and `/unmute` for reps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import audit
from kpi.access import ChatInfo, Refusal, require, resolve
from kpi.calendar import WEEKDAYS, normalize_timezone, today_in
from kpi.models import CalendarDay, Team
from kpi.parsing import normalize_hhmm
from kpi.posts import registry as post_kinds
from kpi.teams import PersonInfo, TeamSettings, save_settings, settings_of
from kpi.usecases.outcomes import BadInput


@dataclass(frozen=True)
class SettingsView:
    """The team's settings as /settings shows them."""

    title: str
    timezone: str
    language: str
    working_days: tuple[int, ...]
    work_start: str
    work_end: str
    settings: TeamSettings
    days_off: tuple[dt.date, ...]
    extra_days: tuple[dt.date, ...]


@dataclass(frozen=True)
class Settings:
    """The team's settings, after the change /settings made (`changed`), if any."""

    lang_pref: str | None
    view: SettingsView
    changed: str | None = None


@dataclass(frozen=True)
class Muted:
    """The caller's private reminders turned off (`muted`) or back on."""

    lang_pref: str | None
    muted: bool


SettingsOutcome = Settings | BadInput | Refusal


def _view(session: Session, team: Team) -> SettingsView:
    declared = session.execute(
        select(CalendarDay.day, CalendarDay.working)
        .where(CalendarDay.team_id == team.id)
        .order_by(CalendarDay.day)
    ).all()
    return SettingsView(
        team.title,
        team.timezone,
        team.language,
        tuple(int(d) for d in team.working_days.split(",") if d),
        team.work_start,
        team.work_end,
        settings_of(team),
        tuple(d for d, working in declared if not working),
        tuple(d for d, working in declared if working),
    )


def _on_off(word: str | None) -> bool | None:
    if word in ("on", "bat", "bật", "yes", "1"):
        return True
    if word in ("off", "tat", "tắt", "no", "0"):
        return False
    return None


# `/settings approval joins|deals on|off`: what needs a leader's approval.
APPROVALS = {
    "joins": "join_approval",
    "join": "join_approval",
    "thanhvien": "join_approval",
    "deals": "deal_approval",
    "deal": "deal_approval",
    "hopdong": "deal_approval",
}


def _days(word: str) -> tuple[int, ...] | None:
    word = word.lower()
    if "-" in word and "," not in word:
        a, _, b = word.partition("-")
        if a[:3] in WEEKDAYS and b[:3] in WEEKDAYS:
            i, j = WEEKDAYS.index(a[:3]), WEEKDAYS.index(b[:3])
            return tuple(range(i, j + 1)) if i <= j else None
        return None
    parts = [p[:3] for p in word.split(",") if p]
    if parts and all(p in WEEKDAYS for p in parts):
        return tuple(sorted({WEEKDAYS.index(p) for p in parts}))
    return None


def _date(word: str, today: dt.date) -> dt.date | None:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", word) or None
    try:
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?", word)
        if m:
            return dt.date(int(m[3] or today.year), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def settings_command(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
    languages: Sequence[str],
    thread_id: int | None = None,
) -> SettingsOutcome:
    """Show the team's settings, or change one: see `_change` for the forms it takes."""
    scope = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(scope, Refusal):
        return scope
    team = scope.team
    words = args.lower().split()
    if not words:
        return Settings(scope.lang_pref, _view(session, team))
    try:
        changed = _change(session, team, words, thread_id, scope.member.id, now, languages)
    except _Bad as exc:
        return BadInput(scope.lang_pref, exc.code, exc.params)
    session.flush()
    return Settings(scope.lang_pref, _view(session, team), changed)


class _Bad(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = dict(params)


def _change(
    session: Session,
    team: Team,
    words: list[str],
    thread_id: int | None,
    actor_id: int,
    now: dt.datetime,
    languages: Sequence[str],
) -> str:
    """Apply one change; return its name. Forms:

    timezone <IANA> · language <code> · time <post> <HH:MM|off> · days mon-fri|mon,wed,…
    · hours 08:00-17:30 · show full|top [N]|totals · reminders|celebrations|board on|off|toggle
    · topic <post> [off] (in a forum topic) · dayoff <date> · workday <date>
    · approval joins|deals on|off
    """
    what, rest = words[0], words[1:]
    s = settings_of(team)
    arg = rest[0] if rest else None
    before = {
        "timezone": team.timezone,
        "language": team.language,
        "days": team.working_days,
        "hours": f"{team.work_start}-{team.work_end}",
    }
    if what in ("timezone", "tz", "muigio"):
        name = normalize_timezone(arg or "")
        if name is None:
            raise _Bad("settings.bad_timezone", value=arg or "")
        team.timezone = name
    elif what in ("language", "ngonngu", "lang"):
        # The languages there are catalogs for: the caller knows them, the domain does not.
        if arg is None or arg not in languages:
            raise _Bad("settings.bad_language", languages=", ".join(languages))
        team.language = arg
    elif what in ("time", "gio"):
        post = post_kinds.by_word(arg or "")
        value = rest[1] if len(rest) > 1 else None
        if post is None or not post.scheduled or value is None:
            raise _Bad("settings.bad_time")
        kind = post.key
        if _on_off(value) is False:
            new_time: str | None = None
        else:
            new_time = normalize_hhmm(value)
            if new_time is None:
                raise _Bad("settings.bad_time")
        save_settings(
            session,
            team,
            dataclasses.replace(s, schedule={**s.schedule, kind: new_time}),
            actor_id,
            now,
        )
        return f"time.{kind}"
    elif what in ("days", "ngay"):
        days = _days(arg or "")
        if not days:
            raise _Bad("settings.bad_days")
        team.working_days = ",".join(str(d) for d in days)
    elif what in ("hours", "giolam"):
        first, _, last = (arg or "").partition("-")
        start, end = normalize_hhmm(first), normalize_hhmm(last)
        if start is None or end is None or start >= end:
            raise _Bad("settings.bad_hours")
        team.work_start, team.work_end = start, end
    elif what in ("show", "hienthi"):
        if arg not in ("full", "top", "totals"):
            raise _Bad("settings.bad_show")
        top_n = s.top_n
        if arg == "top" and len(rest) > 1:
            if not rest[1].isdigit() or not 1 <= int(rest[1]) <= 50:
                raise _Bad("settings.bad_show")
            top_n = int(rest[1])
        save_settings(
            session,
            team,
            dataclasses.replace(s, group_sees=arg, top_n=top_n),  # type: ignore[arg-type]
            actor_id,
            now,
        )
        return "show"
    elif what in ("reminders", "celebrations", "board", "nhacnho", "chucmung"):
        field_name = {
            "nhacnho": "reminders",
            "chucmung": "celebrations",
            "board": "living_board",
        }.get(what, what)
        current = getattr(s, field_name)
        value_ = not current if arg == "toggle" else _on_off(arg)
        if value_ is None:
            raise _Bad("settings.bad_on_off", name=what)
        changes: dict[str, object] = {field_name: value_}
        save_settings(session, team, dataclasses.replace(s, **changes), actor_id, now)  # type: ignore[arg-type]
        return field_name
    elif what in ("approval", "approvals", "duyet", "pheduyet"):
        approval = APPROVALS.get(arg or "")
        value_ = _on_off(rest[1]) if len(rest) == 2 else None
        if approval is None or value_ is None:
            raise _Bad("settings.bad_approval")
        changes = {approval: value_}
        save_settings(session, team, dataclasses.replace(s, **changes), actor_id)  # type: ignore[arg-type]
        return approval
    elif what == "topic":
        post = post_kinds.by_word(arg or "")
        if post is None or not post.topic:
            raise _Bad("settings.bad_topic")
        kind = post.key
        topics = dict(s.topics)
        if len(rest) > 1 and _on_off(rest[1]) is False:
            topics.pop(kind, None)
        elif thread_id is None:
            raise _Bad("settings.bad_topic_here")
        else:
            topics[kind] = thread_id
        save_settings(session, team, dataclasses.replace(s, topics=topics), actor_id, now)
        return "topic"
    elif what in ("dayoff", "workday", "nghi", "lambu"):
        today = today_in(team.timezone, now)
        day = _date(arg or "", today)
        if day is None:
            raise _Bad("settings.bad_date")
        row = session.scalar(
            select(CalendarDay).where(CalendarDay.team_id == team.id, CalendarDay.day == day)
        )
        working = what in ("workday", "lambu")
        if row is None:
            session.add(
                CalendarDay(team_id=team.id, day=day, working=working, created_by=actor_id)
            )
        else:
            row.working = working
        audit.record(
            session,
            team_id=team.id,
            actor_id=actor_id,
            action=f"calendar.{what}",
            entity="team",
            entity_id=team.id,
            after={"day": day.isoformat()},
            now=now,
        )
        return "calendar"
    else:
        raise _Bad("settings.bad_usage")
    audit.record(
        session,
        team_id=team.id,
        actor_id=actor_id,
        action=f"settings.{what}",
        entity="team",
        entity_id=team.id,
        before=before,
        after={
            "timezone": team.timezone,
            "language": team.language,
            "days": team.working_days,
            "hours": f"{team.work_start}-{team.work_end}",
        },
        now=now,
    )
    return what


def mute(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    muted: bool,
) -> Muted | Refusal:
    """Turn the caller's private reminders off or on (for the team of this chat)."""
    scope = require(resolve(session, person, chat, admins, now), "member")
    if isinstance(scope, Refusal):
        return scope
    assert scope.membership is not None  # a member's, as `require` checked
    if scope.membership.reminders_muted != muted:
        audit.record(
            session,
            team_id=scope.team.id,
            actor_id=scope.member.id,
            action="member.mute" if muted else "member.unmute",
            entity=audit.MEMBERSHIP,
            entity_id=scope.membership.id,
            before={"muted": scope.membership.reminders_muted},
            after={"muted": muted, "member": scope.member.id},
            now=now,
        )
    scope.membership.reminders_muted = muted
    return Muted(scope.lang_pref, muted)
