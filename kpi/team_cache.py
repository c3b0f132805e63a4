"""What a team rarely changes (metrics, vocabulary, targets, calendar), cached per revision.

Every check-in needs the team's metric names, vocabulary and sanity bounds, its declared
calendar days and its targets in force: a handful of queries that almost always return what
they returned a minute ago. `teams.revision` is bumped in the very transaction that changes any
of them (a session hook below, whatever use case makes the change), and a transaction reads the
team row, and so its revision, before asking for them: a hit is what the database holds for that
transaction, on every instance, at once. A transaction that itself changed one of them neither
reads nor fills the cache (what it sees is not committed yet).

The cache is kept per engine: two databases in one process (tests, the demo) never share one.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session, UOWTransaction

from kpi.models import CalendarDay, KpiDefinition, Metric, Target, Team

T = TypeVar("T")

# The tables whose rows belong to one team and feed the cache.
WATCHED: tuple[type[Any], ...] = (Metric, Target, CalendarDay, KpiDefinition)
# Enough for every team an instance serves at once; the oldest entries go first.
MAX_ENTRIES = 4096
_DIRTY = "kpibot_team_data_changed"


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[int, int, str], Any] = OrderedDict()


_caches: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_of(session: Session) -> _Cache | None:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else getattr(bind, "engine", None)
    if engine is None:
        return None
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = _Cache()
        return cache


def cached(session: Session, team_id: int, what: str, load: Callable[[], T]) -> T:
    """Return `load()` for this team, from the cache when the team's revision is unchanged.

    `what` names the data (and its arguments); `load` must read only the team's own row and
    the watched tables, and callers must not mutate what it returns. The team row is usually
    in the session already (the caller was resolved from it): then this costs no query.
    """
    if session.info.get(_DIRTY):
        return load()
    cache = _cache_of(session)
    team = session.get(Team, team_id)
    if cache is None or team is None:
        return load()
    key = (team_id, team.revision, what)
    with cache.lock:
        if key in cache.entries:
            cache.entries.move_to_end(key)
            return cache.entries[key]
    value = load()
    with cache.lock:
        cache.entries[key] = value
        while len(cache.entries) > MAX_ENTRIES:
            cache.entries.popitem(last=False)
    return value


def changed(session: Session, team_ids: set[int] | None) -> None:
    """Bump the revision of these teams (None: every team) in the session's transaction."""
    session.info[_DIRTY] = True
    stmt = update(Team).values(revision=Team.revision + 1)
    if team_ids is not None:
        if not team_ids:
            return
        stmt = stmt.where(Team.id.in_(sorted(team_ids)))
    session.execute(stmt, execution_options={"synchronize_session": False})
    # The teams in hand read their new revision again when asked.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Team) and (team_ids is None or obj.id in team_ids):
            session.expire(obj, ["revision"])


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    teams: set[int] = set()
    for obj in session.new:
        if isinstance(obj, WATCHED) and obj.team_id is not None:
            teams.add(int(obj.team_id))
    for obj in session.deleted:
        if isinstance(obj, WATCHED) and obj.team_id is not None:
            teams.add(int(obj.team_id))
    for obj in session.dirty:
        if isinstance(obj, (*WATCHED, Team)) and session.is_modified(obj):
            team_id = obj.id if isinstance(obj, Team) else getattr(obj, "team_id", None)
            if team_id is not None:
                teams.add(int(team_id))
    if teams:
        changed(session, teams)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: Any) -> None:
    # An UPDATE or DELETE statement on a watched table (not a flush): its teams are unknown
    # here, so every team's revision moves (rare: linking an imported member).
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in WATCHED:
        changed(state.session, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_over(session: Session) -> None:
    session.info.pop(_DIRTY, None)
