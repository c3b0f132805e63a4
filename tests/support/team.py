"""The `team` fixture's rows by id, and its members seasoned (no prorating for new joiners)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kpi.models import Member, Membership, Team

JOINED = dt.date(2026, 10, 1)


@dataclass(frozen=True)
class Ids:
    """Database ids of the `team` fixture's team and people."""

    team: int
    leader: int
    minh: int
    hoa: int


def ids(db: Any) -> Ids:
    """Read the ids of the team fixture's rows."""
    with db.transaction() as s:
        team = s.scalar(select(Team))
        assert team is not None
        by_name = {m.username: m.id for m in s.scalars(select(Member))}
        return Ids(team.id, by_name["lan_sales"], by_name["minh_tran"], by_name["hoa_le"])


def season(db: Any, joined: dt.date = JOINED) -> Ids:
    """Make every member of the team a member since `joined` (no prorating for new joiners)."""
    with db.transaction() as s:
        for m in s.scalars(select(Membership)):
            m.joined_on = joined
    return ids(db)
