"""Engine, sessions and the unit of work.

One unit of work = one transaction = one thread hop. Handlers call `await db.run(fn, ...)`;
`fn(session, ...)` runs in a worker thread inside a transaction that commits when it returns and
rolls back when it raises. The processed-update key of the update that caused the work is claimed
inside that same transaction, so a re-delivered update never has its effect twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
import sqlite3
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Generic, ParamSpec, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, delete, event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from kpi import team_cache  # noqa: F401  (its session hooks keep teams' revisions)
from kpi.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Item = TypeVar("Item")


class _Duplicate:
    """Marker returned by `Database.run` when the update was handled before."""

    def __repr__(self) -> str:
        return "DUPLICATE"


DUPLICATE: Final = _Duplicate()


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used; the message says what to write instead."""


URL_EXAMPLES = "sqlite:///kpibot.db or postgresql://user:password@host/dbname"


def normalize_url(url: str | URL) -> URL:
    """Pick the driver: sqlite3 for SQLite, psycopg 3 for PostgreSQL (whatever was written)."""
    try:
        u = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"{hide_password(url)!r} is not a database URL (write {URL_EXAMPLES})"
        ) from None
    backend = u.get_backend_name()
    if backend == "postgres":
        fixed = hide_password(u.set(drivername="postgresql"))
        raise DatabaseUrlError(
            f"write postgresql:// instead of postgres:// (SQLAlchemy does not read the short "
            f"name): {fixed}"
        )
    if backend not in ("postgresql", "sqlite"):
        raise DatabaseUrlError(f"unsupported database {backend!r}: write {URL_EXAMPLES}")
    if backend == "postgresql" and u.get_driver_name() != "psycopg":
        u = u.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if u.get_driver_name() not in ("", "pysqlite"):
            raise DatabaseUrlError(
                f"unsupported SQLite driver {u.drivername!r}; use sqlite:///path.db"
            )
        if u.database in (None, "", ":memory:"):
            # An in-memory database is empty in worker threads: refuse it instead of surprising.
            raise DatabaseUrlError(
                "use a SQLite file (sqlite:///path.db); in-memory is per thread"
            )
    return u


def hide_password(url: str | URL) -> str:
    """Return a URL fit to show: the password replaced by ***, even in a malformed URL."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def url_password(url: str | URL) -> str | None:
    """Return the password written in a database URL, if any (to keep it out of logs)."""
    try:
        return make_url(url).password or None
    except ArgumentError:
        return None


def sqlite_file(url: str | URL) -> Path | None:
    """Return the file of a SQLite URL (None for another database)."""
    u = normalize_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.query.get("uri"):
        return None
    return Path(u.database)


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # A deferred transaction that reads, then writes fails with "database is locked" under
    # concurrency whatever the timeout: every transaction takes the write lock up front.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """Create an engine with the pragmas and transaction behaviour ARCHITECTURE.md asks for."""
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        file = sqlite_file(u)
        if file is not None and not file.parent.is_dir():
            raise DatabaseUrlError(
                f"the folder of the SQLite file {file} does not exist: create it or fix the URL"
            )
        engine = create_engine(
            u,
            echo=echo,
            connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 10},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        return create_engine(u, echo=echo, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)
    except ImportError as exc:
        raise DatabaseUrlError(
            f"PostgreSQL needs the psycopg driver, which cannot be imported ({exc}): "
            "install kpibot with its postgres extra, pip install 'kpibot[postgres]'"
        ) from exc


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def insert_ignore(session: Session, model: Any) -> Any:
    """Return the dialect's INSERT that can say ON CONFLICT DO NOTHING."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_dialect.insert(model)
    return sqlite_dialect.insert(model)


def gone_holder(
    claimed_at: InstrumentedAttribute[dt.datetime] | InstrumentedAttribute[dt.datetime | None],
    holder: InstrumentedAttribute[str | None],
    *,
    now: dt.datetime,
    stale: dt.timedelta,
    instance: str | None,
    started: dt.datetime | None,
) -> ColumnElement[bool]:
    """Match claims whose holder is gone: older than `stale`, or ours from before we started."""
    gone = claimed_at < now - stale
    if instance is not None and started is not None:
        # A restarted instance's own older claims died with its previous run, however recent.
        gone = gone | ((holder == instance) & (claimed_at < started))
    return gone


_PREPARED: dict[tuple[str, Hashable], Executable] = {}


def prepared(session: Session, key: Hashable, build: Callable[[], Executable]) -> Executable:
    """Return the statement `build()` makes, built once per dialect and `key`.

    For the statements every check-in runs: building a statement costs more Python than
    executing it, so the hot path builds each once with bind parameters (`bindparam`) and
    runs it with `execute` below.
    """
    k = (session.get_bind().dialect.name, key)
    stmt = _PREPARED.get(k)
    if stmt is None:
        stmt = _PREPARED[k] = build()
    return stmt


def execute(session: Session, stmt: Executable, params: Any = None) -> Any:
    """Run a Core statement on the session's connection (pending ORM changes flushed first),
    skipping the ORM's per-statement work; return the Core result."""
    if session.new or session.deleted or session.dirty:
        session.flush()
    return session.connection().execute(stmt, params)


def claim_update(session: Session, key: str) -> bool:
    """Record an update's key; False when it was processed before (inside the caller's tx)."""
    stmt = prepared(
        session,
        "claim_update",
        lambda: (
            insert_ignore(session, ProcessedUpdate.__table__)
            .values(key=bindparam("key"), processed_at=bindparam("at"))
            .on_conflict_do_nothing()
            .returning(ProcessedUpdate.__table__.c.key)
        ),
    )
    return execute(session, stmt, {"key": key, "at": utcnow()}).first() is not None


def was_processed(session: Session, key: str) -> bool:
    """Tell whether an update's unit of work committed (its key is recorded)."""
    return session.get(ProcessedUpdate, key) is not None


def purge_processed(session: Session, older_than: dt.timedelta) -> int:
    """Forget processed-update keys older than the given age (at least 48 hours are kept)."""
    keep = max(older_than, dt.timedelta(hours=48))
    result = session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < utcnow() - keep)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class Database:
    """The engine, the session factory and the worker threads that run units of work."""

    def __init__(self, url: str | URL, *, workers: int | None = None, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if workers is None:
            # SQLite has one writer at a time: more threads would only queue on its lock.
            workers = 1 if is_sqlite(self.engine) else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kpibot-db")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open one transaction (commit on success, roll back on error); for sync callers."""
        with self.sessions() as session, session.begin():
            yield session

    def call(self, fn: Callable[..., T], *args: Any, key: str | None = None) -> T | _Duplicate:
        """Run `fn(session, *args)` in one transaction, claiming `key` first when given."""
        with self.transaction() as session:
            if key is not None and not claim_update(session, key):
                return DUPLICATE
            return fn(session, *args)

    async def run(
        self, fn: Callable[..., T], *args: Any, key: str | None = None
    ) -> T | _Duplicate:
        """Run one unit of work in a worker thread; see `call`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self.call, fn, *args, key=key)
        )

    async def work(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a unit of work that is not an update's (a scheduled post, the inbox) in a thread."""
        result = await self.run(fn, *args)
        assert not isinstance(result, _Duplicate)
        return result

    def dispose(self) -> None:
        """Stop the worker threads and close the connections."""
        self._executor.shutdown(wait=True)
        self.engine.dispose()


class WriteBatch(Generic[Item]):
    """Small writes that share one transaction (and one thread hop): a group commit.

    `add` waits until the transaction that wrote its item has committed, as a `Database.work`
    of its own would; items added while one transaction runs are written together by the next.
    Used where every update or send ends with one small write (the inbox's marks, the outbox's
    sent confirmations): under load tens of them go in one transaction instead of one each.
    """

    def __init__(self, db: Database, write: Callable[[Session, list[Item]], object]) -> None:
        self._db = db
        self._write = write
        self._items: list[tuple[Item, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, item: Item) -> None:
        """Write `item` with whatever else is waiting; return once it is committed."""
        done = asyncio.get_running_loop().create_future()
        self._items.append((item, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        # A cancelled caller does not cancel the others' transaction.
        await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._items:
            batch, self._items = self._items, []
            try:
                await self._db.work(self._write, [item for item, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
