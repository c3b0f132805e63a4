"""Which database this run uses (TEST_DATABASE_URL names a PostgreSQL server)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from kpi.db import Database

PG_URL = os.environ.get("TEST_DATABASE_URL")


def on_postgres() -> bool:
    """Tell whether this run uses PostgreSQL."""
    return bool(PG_URL)


def _waiting_on_a_lock(db: Database) -> bool:
    with db.engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar()
    return bool(waiting)


def race(db: Database, first: Callable[[Session], Any], second: Callable[[Session], Any]) -> Any:
    """Run `first` in a transaction held open until `second`, in its own, waits on it; commit.

    Returns what `second` returned (or raises what it raised).
    """
    outcome: dict[str, Any] = {}

    def run_second() -> None:
        try:
            outcome["value"] = db.call(second)
        except Exception as exc:
            outcome["error"] = exc

    with db.transaction() as session:
        first(session)
        worker = threading.Thread(target=run_second)
        worker.start()
        deadline = time.monotonic() + 10
        if on_postgres():
            # The second transaction has read "nobody yet" and now waits on the first's insert.
            while not _waiting_on_a_lock(db):
                assert time.monotonic() < deadline, "the second transaction never waited"
                time.sleep(0.02)
        else:
            time.sleep(0.2)  # the second waits to begin (SQLite has one writer at a time)
    worker.join(timeout=20)
    assert not worker.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
