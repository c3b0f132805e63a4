"""`kpibot demo`: the real bot, offline. A sample team with a month of activity in a local SQLite
file, a conversation driven through the real handlers and the sandbox, printed as it happens; the
posts and charts the bot would send are written to the output folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import build_application
from bot.config import Settings
from bot.sandbox import Sandbox, SandboxRequest, SChat, SUser, deliver
from kpi import migrate, periods, store
from kpi.calendar import WorkCalendar, calendar_of, is_working_day, local_today
from kpi.db import Database
from kpi.models import Member, Membership, Team
from kpi.store import EntryInput

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# (first name, last name, username, Telegram language, how busy: calls per day on average)
REPS = (
    ("Minh", "Trần", "minh_tran", "vi", 22),
    ("Hoa", "Lê", "hoa_le", "en", 18),
    ("Tuấn", "Phạm", "tuan_pham", "vi", 25),
    ("Thảo", "Võ", "thao_vo", "vi", 15),
    ("Đức", "Hoàng", "duc_hoang", "vi", 20),
)


_TEAM_ID = [0]  # the demo team's id, known once it is set up


class Transcript:
    """Prints the conversation and keeps a copy for the output folder."""

    def __init__(self, sandbox: Sandbox, out: TextIO, folder: Path) -> None:
        self.sandbox = sandbox
        self.out = out
        self.folder = folder
        self.lines: list[str] = []
        self.images = 0

    def say(self, line: str = "") -> None:
        """Print one line of the transcript."""
        self.lines.append(line)
        print(line, file=self.out)

    def bot_answers(self, since: int) -> None:
        """Print what the bot sent since the given count of messages."""
        for m in self.sandbox.sent()[since:]:
            where = "nhóm/group" if m.chat_id < 0 else "riêng/private"
            body = m.text or ("[" + (m.filename or m.kind) + "]")
            if m.photo is not None:
                self.images += 1
                name = f"chart-{self.images:02d}.png"
                _write_bytes(self.folder / name, m.photo)
                body = f"[{name}]" + (f" {m.text}" if m.text else "")
            self.say(f"  🤖 ({where}) " + body.replace("\n", "\n     "))
            for label, data in m.buttons():
                self.say(f"     [{label}]  ({data})")


async def run_demo(out_dir: Path, *, out: TextIO = sys.stdout, day: dt.date | None = None) -> int:
    """Run the demo on `day` (default: today); return the exit code.

    Everything the demo shows comes from its own clock, so the same day gives the same output.
    """
    _fresh_folder(out_dir)
    db_path = out_dir / "kpibot-demo.db"
    url = f"sqlite:///{db_path}"
    db = Database(url)
    migrate.upgrade(db.engine)
    sandbox = Sandbox(bot_username="kpi_demo_bot", bot_name="KPI Bot")
    # The demo happens at 16:30 on the most recent working day, so there is a day to report on.
    demo_day = day or dt.datetime.now(TZ).date()
    while demo_day.weekday() >= 5:
        demo_day -= dt.timedelta(days=1)
    moment = dt.datetime.combine(demo_day, dt.time(16, 30), TZ).astimezone(dt.UTC)
    settings = Settings(token=None, database_url=url)
    app = build_application(
        settings,
        request=SandboxRequest(sandbox),
        db=db,
        clock=lambda: moment,
        rate_limit=False,
        token=sandbox.token,
    )
    talk = Transcript(sandbox, out, out_dir)
    leader = sandbox.user("Lan", last_name="Nguyễn", username="lan_nguyen", language_code="vi")
    reps = [
        sandbox.user(first, last_name=last, username=user, language_code=lang)
        for first, last, user, lang, _ in REPS
    ]
    group = sandbox.group("Kinh doanh HCM", creator=leader, members=reps)

    async def say(user: SUser, chat: SChat, text: str) -> None:
        where = "nhóm/group" if chat.id < 0 else "riêng/private"
        talk.say(f"👤 {user.first_name} ({where}): {text}")
        before = len(sandbox.sent())
        await deliver(app, sandbox.text(user, chat, text))
        talk.bot_answers(before)
        talk.say()

    async with app:
        talk.say(f"== kpibot demo · {demo_day:%d/%m/%Y} 16:30 (Asia/Ho_Chi_Minh) ==\n")
        await say(leader, group, "/setup")
        for rep in reps:
            await deliver(app, sandbox.text(rep, group, "/join"))
        talk.say(f"({len(reps)} reps sent /join)\n")
        seeded = _seed_history(db, group.id, moment)
        talk.say(f"(a month of history seeded: {seeded} check-ins)\n")
        minh, hoa = reps[0], reps[1]
        minh_dm, hoa_dm = sandbox.private(minh), sandbox.private(hoa)
        leader_dm = sandbox.private(leader)
        await say(minh, minh_dm, "/start")
        await say(minh, minh_dm, "/call 3")
        await say(minh, minh_dm, "gọi 12 cuộc, gặp 3 khách, chốt 2 deal 45tr")
        await say(minh, minh_dm, "/deal 120tr Công ty An Phát mới")
        await say(hoa, group, "/call 5")
        await say(hoa, hoa_dm, "/log calls 4 emails 12 yesterday")
        await say(minh, minh_dm, "/me")
        await say(hoa, hoa_dm, "/me week")
        await say(minh, minh_dm, "/undo")
        await say(leader, group, "/target doanhso 250tr tháng")
        await say(leader, group, "/leaderboard")
        await say(hoa, hoa_dm, "/leaderboard month calls")
        await say(leader, group, "/week")
        await say(minh, minh_dm, "/chart calls")
        await say(leader, leader_dm, "/kpi")
        await _write_posts(app, out_dir, demo_day, talk)
    talk.say(f"Files written to {out_dir}:")
    for name in _write_transcript(out_dir, talk.lines):
        talk.say(f"  {name}")
    db.dispose()
    app.bot_data.render_pool.shutdown(wait=True)
    return 0


async def _write_posts(app: Any, out_dir: Path, day: dt.date, talk: Transcript) -> None:
    """Write every scheduled post the team would get around the demo day, in vi and en."""
    from handlers import digests as render
    from kpi.posts import registry
    from kpi.posts.content import Post

    cal = WorkCalendar()
    week = periods.span_of("week", day, cal)
    month = periods.span_of("month", day, cal)
    # What each scheduled kind is about around the demo day (not only on the days it fires, so
    # that every kind shows up whatever the date), at its default time.
    about = {
        registry.REMINDER: periods.span_of("day", day, cal),
        registry.DAILY_SUMMARY: periods.span_of("day", day, cal),
        registry.WEEKLY: week,
        registry.MONTHLY: periods.previous(month, cal),
        registry.LEADER_DIGEST: periods.previous(week, cal),
    }
    talk.say("Scheduled posts (text in vi and en, charts as PNG):")
    for post_kind, span in about.items():
        kind = post_kind.key
        assert post_kind.default_time is not None
        clock = dt.time.fromisoformat(post_kind.default_time)
        moment = dt.datetime.combine(day, clock, TZ).astimezone(dt.UTC)
        post = Post(0, kind, span.key, moment, span)
        for lang in ("vi", "en"):
            post = dataclasses.replace(post, team_id=_TEAM_ID[0])
            messages = await render.preview(app.bot_data, post, moment, lang)
            texts = [m.text for m in messages if m.text and m.photo is None]
            _write_text(out_dir / f"post-{kind}.{lang}.txt", "\n\n".join(texts) or "(nothing)")
            for i, m in enumerate(m for m in messages if m.photo is not None):
                _write_bytes(out_dir / f"post-{kind}.{lang}.chart{i + 1}.png", m.photo or b"")
        talk.say(f"  post-{kind}.vi.txt / post-{kind}.en.txt")


def _write_text(path: Path, text: str) -> None:
    path.write_text(text + "\n", encoding="utf-8")


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _fresh_folder(out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)


def _write_transcript(out_dir: Path, lines: list[str]) -> list[str]:
    """Save the conversation; return the names of the files in the folder."""
    (out_dir / "conversation.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sorted(p.name for p in out_dir.iterdir() if p.suffix not in (".db-wal", ".db-shm"))


def _seed_history(db: Database, chat_id: int, now: dt.datetime) -> int:
    """Give every member a month of plausible activity before today (deterministic)."""
    rng = random.Random(20261122)
    count = 0
    with db.transaction() as s:
        team = s.query(Team).filter_by(chat_id=chat_id).one()
        _TEAM_ID[0] = team.id
        cal = calendar_of(s, team)
        today = local_today(cal, now)
        by_name = {m.username: m for m in s.query(Member).all()}
        start = today - dt.timedelta(days=35)
        # The team has worked together for a while: membership starts with the history.
        for membership in s.query(Membership).filter_by(team_id=team.id):
            membership.joined_on = start
        for _first, _last, username, _lang, busy in REPS:
            member = by_name[username]
            day = start
            while day < today:
                if is_working_day(cal, day):
                    calls = max(0, int(rng.gauss(busy, 5)))
                    entries = [
                        EntryInput("calls", calls),
                        EntryInput("meetings", rng.choice((0, 0, 1, 1, 2))),
                        EntryInput("emails", rng.randint(3, 25)),
                    ]
                    if rng.random() < 0.18 * busy / 20:
                        amount = rng.choice((10, 15, 20, 30, 45, 60)) * 1_000_000
                        entries.append(
                            EntryInput(
                                "deals", 1, amount=amount, is_new_customer=rng.random() < 0.4
                            )
                        )
                    if rng.random() < 0.1:
                        entries.append(EntryInput("lost", 1))
                    entries = [e for e in entries if e.value > 0]
                    store.record_checkin(
                        s,
                        team_id=team.id,
                        member_id=member.id,
                        actor_id=member.id,
                        source="import",
                        day=day,
                        entries=entries,
                        now=dt.datetime.combine(day, dt.time(17), TZ).astimezone(dt.UTC),
                    )
                    count += 1
                day += dt.timedelta(days=1)
    return count
