"""Small writes that finish together share one transaction (kpi.db.WriteBatch): the inbox's
marks and the outbox's sent confirmations cost one thread hop per batch, not one per update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kpi import inbox
from kpi.db import Database, WriteBatch
from kpi.models import INBOX_DONE, InboxUpdate


def _mark(session: Session, keys: list[str]) -> None:
    inbox.mark(session, keys=keys)


async def test_marks_added_together_share_one_transaction_and_all_commit(db: Database) -> None:
    keys = [f"m:1:{i}" for i in range(20)]
    await db.work(lambda s: inbox.store(s, [(k, i, {"update_id": i}) for i, k in enumerate(keys)]))
    began: list[Any] = []

    def on_begin(conn: Any) -> None:
        began.append(conn)

    event.listen(db.engine, "begin", on_begin)
    try:
        batch: WriteBatch[str] = WriteBatch(db, _mark)
        await asyncio.gather(*(batch.add(k) for k in keys))
    finally:
        event.remove(db.engine, "begin", on_begin)
    # The first add starts a transaction; the other 19 wait and go together in the next.
    assert len(began) <= 2
    with db.transaction() as s:
        statuses = s.scalars(select(InboxUpdate.status).where(InboxUpdate.key.in_(keys))).all()
    assert statuses == [INBOX_DONE] * len(keys)


async def test_a_failed_batch_fails_each_of_its_writers(db: Database) -> None:
    def broken(session: Session, items: list[str]) -> None:
        raise RuntimeError("database down")

    batch: WriteBatch[str] = WriteBatch(db, broken)
    results = await asyncio.gather(batch.add("a"), batch.add("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await batch.add("c")
