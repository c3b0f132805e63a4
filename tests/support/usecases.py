"""What the use-case tests share: a team set up in a database, callers, and one call in a unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kpi.access import ChatInfo
from kpi.db import Database
from kpi.models import Team
from kpi.teams import PersonInfo, TeamDefaults, join_team, setup_team, upsert_member
from kpi.usecases import checkins

NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)  # 10:00 in Ho Chi Minh City, a Thursday
TODAY = dt.date(2026, 11, 19)
LEADER = PersonInfo(telegram_id=4_000_001, first_name="Lan")
REP = PersonInfo(telegram_id=4_000_002, first_name="Minh")
STRANGER = PersonInfo(telegram_id=4_000_003, first_name="Hoa")
GROUP = ChatInfo(-1001, "supergroup", "Sales HCM")
OTHER_GROUP = ChatInfo(-1009, "supergroup", "Not ours")
PRIVATE_REP = ChatInfo(REP.telegram_id, "private")


def set_up_team(db: Database) -> None:
    """Set up Sales HCM with Lan as its leader and Minh as a rep."""
    with db.transaction() as s:
        leader = upsert_member(s, LEADER, NOW)
        res = setup_team(
            s,
            chat_id=GROUP.id,
            title=GROUP.title or "",
            leader=leader,
            defaults=TeamDefaults(),
            today=TODAY,
            now=NOW,
        )
        team = s.get(Team, res.team_id)
        assert team is not None
        join_team(s, team, upsert_member(s, REP, NOW), TODAY)


def call(db: Database, fn: Any, person: PersonInfo, chat: ChatInfo, **kw: Any) -> Any:
    """Call a use case in one unit of work, as the handlers do."""
    with db.transaction() as s:
        return fn(s, person=person, chat=chat, admins=frozenset(), now=NOW, **kw)


def log(db: Database, person: PersonInfo, chat: ChatInfo, text: str) -> Any:
    """Log a message as `person` in `chat` (no Telegram message id)."""
    return call(db, checkins.log_message, person, chat, text=text, message_id=None)
