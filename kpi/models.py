"""The data model for the whole product: typed SQLAlchemy 2.x models.

Conventions that hold everywhere:
- Timestamps are timezone-aware UTC (`UtcDateTime`); the local day an activity counts for is a
  plain `Date` in the team's timezone, so period aggregation is a date range in SQL.
- Money is whole VND in 64-bit integers. Telegram ids are 64-bit too.
- Nothing is hard-deleted: rows carry a status, and every correction leaves an `AuditEvent`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from kpi.names import DEFAULT_LANGUAGE

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit autoincrementing key: SQLite only autoincrements "INTEGER PRIMARY KEY".
BigId = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A DateTime stored as UTC that always comes back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Refuse naive datetimes and normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Attach UTC to what SQLite returns naive."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def display_name(member_id: int, first: str, last: str | None, username: str | None) -> str:
    """Return the name people see: first and last name, else @username, else #id."""
    name = " ".join(p for p in (first, last) if p).strip()
    return name or (f"@{username}" if username else f"#{member_id}")


def utcnow() -> dt.datetime:
    """Return the current time in UTC (the default for created_at columns)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- statuses (strings, so that a new one needs no enum migration) ---------------------------

ROLE_LEADER = "leader"
ROLE_REP = "rep"
ROLES = (ROLE_LEADER, ROLE_REP)

MEMBERSHIP_ACTIVE = "active"
MEMBERSHIP_PENDING = "pending"  # waiting for a leader's approval (join approval on)
MEMBERSHIP_LEFT = "left"
MEMBERSHIP_REMOVED = "removed"
MEMBERSHIP_MERGED = "merged"  # an imported person linked to the one who joined (kpi.linking)

ENTRY_ACTIVE = "active"  # counts
ENTRY_PENDING = "pending"  # waiting for approval (deal approval on); does not count yet
ENTRY_VOIDED = "voided"  # voided by /void or /undo
ENTRY_REPLACED = "replaced"  # superseded because the Telegram message was edited
ENTRY_REJECTED = "rejected"  # a leader rejected a pending entry

CHECKIN_ACTIVE = "active"
CHECKIN_VOIDED = "voided"

RUN_CLAIMED = "claimed"
RUN_SENT = "sent"
RUN_FAILED = "failed"  # definite failure (or never attempted): may be claimed again
RUN_UNCERTAIN = "uncertain"  # may have reached Telegram, unrecorded: never re-sent
RUN_SKIPPED = "skipped"

OUTBOX_PENDING = "pending"  # to be sent (again)
OUTBOX_SENDING = "sending"  # claimed by a sender: a send was attempted, not settled yet
OUTBOX_SENT = "sent"
OUTBOX_UNCERTAIN = "uncertain"  # may have reached Telegram: never sent again
OUTBOX_FAILED = "failed"  # given up: attempts used up, or the chat is unreachable

INBOX_PENDING = "pending"
INBOX_DONE = "done"
INBOX_FAILED = "failed"


class Team(Base):
    """A sales team, bound to one Telegram group chat."""

    __tablename__ = "teams"
    # An insert does not read `revision` back (a schema before it has no such column).
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(8), default=DEFAULT_LANGUAGE)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    currency: Mapped[str] = mapped_column(String(8), default="VND")
    country: Mapped[str | None] = mapped_column(String(8), default="VN")
    week_start: Mapped[int] = mapped_column(Integer, default=0)  # 0 = Monday
    working_days: Mapped[str] = mapped_column(String(32), default="0,1,2,3,4")  # 0 = Monday
    work_start: Mapped[str] = mapped_column(String(5), default="08:00")
    work_end: Mapped[str] = mapped_column(String(5), default="17:30")
    is_forum: Mapped[bool] = mapped_column(Boolean, default=False)
    # Everything else a leader tunes with /settings (schedule times, visibility, windows, topics,
    # approvals, caps); typed access lives in kpi.teams.TeamSettings.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    inactive_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Bumped with every change to this row, its metrics, targets or calendar days (kpi.team_cache).
    # Only the database sets its first value: an insert by code that predates it still fits.
    revision: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    memberships: Mapped[list[Membership]] = relationship(back_populates="team")


class CalendarDay(Base):
    """A day a team declares as a working day ("làm bù") or a day off."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Member(Base):
    """A person: linked to a Telegram account, or not yet (imported from a spreadsheet)."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str | None] = mapped_column(String(255))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /language
    # The bot can only write privately to people who opened a private chat with it.
    private_chat_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    current_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    erased_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="member")

    @property
    def display_name(self) -> str:
        """Return the name people see (first and last name, else the username)."""
        return display_name(self.id, self.first_name, self.last_name, self.username)


class Membership(Base):
    """A person's place in a team: role, status, whether they are ranked."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("team_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=ROLE_REP)
    status: Mapped[str] = mapped_column(String(16), default=MEMBERSHIP_ACTIVE)
    ranked: Mapped[bool] = mapped_column(Boolean, default=True)
    reminders_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    team: Mapped[Team] = relationship(back_populates="memberships")
    member: Mapped[Member] = relationship(back_populates="memberships")


class Invite(Base):
    """An invite deep link (t.me/<bot>?start=<token>); expires and can be revoked.

    Only the token's SHA-256 is kept (`token_hash`): the link is shown once, to its maker.
    """

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class Metric(Base):
    """A counted metric a team logs (the built-ins are seeded at setup; teams may add more)."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    key: Mapped[str] = mapped_column(String(32))
    # The name in each language, {"vi": "cuộc gọi", "en": "calls"} (kpi.names.name_in reads it).
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    aliases: Mapped[str] = mapped_column(Text, default="")  # comma-separated extra words
    daily_bound: Mapped[int] = mapped_column(BigInteger)  # sanity bound per day
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)


class KpiDefinition(Base):
    """A KPI following the KPI design steps: name, unit, direction, period, minimum, weight."""

    __tablename__ = "kpi_definitions"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    key: Mapped[str] = mapped_column(String(32))
    names: Mapped[dict[str, str]] = mapped_column(JSON)  # {language: name}
    # "count" (a metric's sum), "vnd" (money), "ratio" (a formula between sums)
    unit: Mapped[str] = mapped_column(String(16))
    # which built-in formula (kpi.catalog.FORMULAS) or "metric:<key>" for a counted metric
    source: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8), default="higher")
    period: Mapped[str] = mapped_column(String(8), default="month")  # the review period
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    minimum: Mapped[float | None] = mapped_column(Float)  # minimum attainment, e.g. 0.5
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    builtin: Mapped[bool] = mapped_column(Boolean, default=True)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Target(Base):
    """A target for one KPI and period: the per-member default (member_id NULL) or an override.

    A new target supersedes the previous one (superseded_at set), so history stays.
    """

    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_lookup", "team_id", "kpi_key", "period", "member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    kpi_key: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    period: Mapped[str] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Checkin(Base):
    """What one message logged: one or more activity entries grouped by the message."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_member_recent", "team_id", "member_id", "id"),
        Index("ix_checkins_message", "chat_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))  # whose numbers
    actor_id: Mapped[int] = mapped_column(ForeignKey("members.id"))  # who logged them
    source: Mapped[str] = mapped_column(String(16))  # command, log, text, button, import
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    # Telegram's file_id of a photo of the contract the rep attached (deal approval).
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    day: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=CHECKIN_ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    entries: Mapped[list[Activity]] = relationship(back_populates="checkin")


class Activity(Base):
    """One metric's entry of a check-in, counted for a local day.

    `value` is the count (deals: the number of deals); `amount` the deal money in VND.
    """

    __tablename__ = "activities"
    __table_args__ = (
        # The aggregation index: a team's period totals per member and metric (QUALITY.md P2).
        Index("ix_activities_team_day", "team_id", "status", "day", "member_id", "metric"),
        Index("ix_activities_member_day", "member_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    metric: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    customer: Mapped[str | None] = mapped_column(String(200))
    is_new_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=ENTRY_ACTIVE)
    flags: Mapped[str | None] = mapped_column(String(100))  # outlier, duplicate, backfill
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    checkin: Mapped[Checkin] = relationship(back_populates="entries")


class AuditEvent(Base):
    """Who changed what, when, and the value before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PendingAction(Base):
    """State behind a button that outlives one update (a confirmation, an ambiguity, a choice).

    Button payloads carry only `p:<id>:<choice>`, within Telegram's 64 bytes; the rest is here,
    so any instance can answer the press.
    """

    __tablename__ = "pending_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(String(32))


class ScheduledRun(Base):
    """A claim on one scheduled post for one recipient and period: the exactly-once key."""

    __tablename__ = "scheduled_runs"
    # The team is part of the key: a rep in two teams gets each team's reminder.
    __table_args__ = (UniqueConstraint("team_id", "kind", "period_key", "chat_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=RUN_CLAIMED)
    instance: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Whether the current claim's holder started sending (set just before the first message):
    # False = claimed, nothing sent yet (a holder that died may be replaced); True = a send
    # started; NULL = not recorded (a claim by a version before revision 0002, or settled).
    attempted: Mapped[bool | None] = mapped_column(Boolean)
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    message_ids: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message that follows a committed effect: written in the effect's transaction, then
    sent and settled (kpi.outbox), so a crash or a Telegram error neither loses nor doubles it.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status", "status", "id"),
        Index("ix_outbox_user", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # one message per effect
    kind: Mapped[str] = mapped_column(String(32))  # confirmation, celebration, ...
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    reply_to: Mapped[int | None] = mapped_column(BigInteger)
    # The Telegram user a confirmation is for (shown with their next answer if never sent).
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    ref_id: Mapped[int | None] = mapped_column(BigInteger)  # e.g. the check-in it confirms
    text: Mapped[str | None] = mapped_column(Text)  # Telegram HTML, rendered with the effect
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what to render at send time
    buttons: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # an inline keyboard
    status: Mapped[str] = mapped_column(String(16), default=OUTBOX_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    instance: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    next_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # not before (backoff)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    shown_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # shown in a later answer
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


class ProcessedUpdate(Base):
    """The key of an update already handled; checked inside the handler's own transaction."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class InboxUpdate(Base):
    """An update as received, stored before Telegram is told it arrived; drained on start."""

    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index("ix_inbox_pending", "status", "id"),
        # The lanes with work waiting, in stored order (see bot.lanes): only pending rows.
        Index(
            "ix_inbox_lane_pending",
            "lane",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    update_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=INBOX_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The chat whose lane handles it (str(chat id), or "u:<key>" for an update without a chat);
    # NULL when an older version stored it (a newer one fills it in).
    lane: Mapped[str | None] = mapped_column(String(64))


class Lease(Base):
    """A lease on shared work (a chat's lane, the getUpdates poller) held by one process.

    Taken with an INSERT ... ON CONFLICT DO UPDATE that wins only over an expired lease, renewed
    by its holder's heartbeat, released when done; a holder that died loses it at `expires_at`.
    Times are the database's clock, so instances whose clocks differ agree.
    """

    __tablename__ = "leases"
    __table_args__ = (Index("ix_leases_holder", "holder"),)

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    holder: Mapped[str] = mapped_column(String(160))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SendWindow(Base):
    """Telegram's send budget shared by every instance: one row per chat, and `*` for the bot.

    `stamps` holds, for the sends that still count against the window, when each stops counting
    (seconds on the database's clock); `paused_until` (on the `*` row) is a 429's wait, which
    holds every instance's sends.
    """

    __tablename__ = "send_windows"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamps: Mapped[list[float]] = mapped_column(JSON, default=list)
    paused_until: Mapped[float | None] = mapped_column(Float)


class ChatState(Base):
    """Per-chat facts the bot keeps: a pinned living leaderboard, unreachable chats, topics."""

    __tablename__ = "chat_states"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    pinned_message_id: Mapped[int | None] = mapped_column(BigInteger)
    pinned_text_hash: Mapped[str | None] = mapped_column(String(64))
    pinned_edited_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    unreachable_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    # Report answers posted in the group in the last few minutes (kpi.posts.chats.REPEAT_WINDOW):
    # report key -> {"at": ISO time, "message_id": the post's first message or null}.
    recent_reports: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ImportRow(Base):
    """A spreadsheet row already imported into a team: the key that makes a re-import a no-op.

    `row_key` hashes the row's normalised content and its occurrence among identical rows of
    the file, so a file imported twice (also after it was re-saved) counts once.
    """

    __tablename__ = "import_rows"
    __table_args__ = (UniqueConstraint("team_id", "row_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    row_key: Mapped[str] = mapped_column(String(64))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


ABSENCE_PENDING = "pending"  # a rep's request, waiting for a leader
ABSENCE_APPROVED = "approved"  # in force (a leader's own /leave is approved at once)
ABSENCE_REJECTED = "rejected"
ABSENCE_CANCELLED = "cancelled"


class Absence(Base):
    """A member's leave (nghỉ phép) in a team, first and last local day inclusive.

    While approved it keeps reminders and "has not logged" away from the member and prorates
    their targets over the days they are there (kpi.absences). Never deleted: cancelled.
    """

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_team_id_first_day", "team_id", "first_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ABSENCE_PENDING)
    requested_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReportSnapshot(Base):
    """What a period's report said when it was sent (the monthly report: bonuses are paid on
    it), so reading it again shows the sent figures and later corrections apart (kpi.closing).
    """

    __tablename__ = "report_snapshots"
    __table_args__ = (UniqueConstraint("team_id", "kind", "period_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(32))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
