"""Online backups of a SQLite database and their restore (the sqlite3 backup API).

A backup is consistent while the bot writes: SQLite's backup API copies one snapshot, and the
copy is opened and checked before it is kept. A restore refuses a database a running bot has
open: leaving WAL mode needs every other connection closed, so it is the test.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def _connect(path: Path, *, timeout: float = 10.0) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=timeout, isolation_level=None)


def check(path: Path) -> int:
    """Open a database file, check its integrity and schema; return its number of tables."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
            if result is None or result[0] != "ok":
                raise BackupError(f"{path} is damaged: {result[0] if result else '?'}")
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
            count = int(tables.fetchone()[0])
            conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a kpibot database: {exc}") from None
    return count


def backup(source: Path, target: Path) -> int:
    """Copy a live SQLite database to `target` (which must not exist); return its tables."""
    if not source.is_file():
        raise BackupError(f"the database {source} does not exist")
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(_connect(source)) as src,
            contextlib.closing(_connect(part)) as dst,
        ):
            # One step: one read transaction, so one snapshot. In WAL mode a reader does not
            # block the bot's writers (copying in steps would restart on every write).
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        tables = check(part)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return tables


def restore(backup_file: Path, target: Path) -> int:
    """Replace the database `target` by a backup's content; refuse while a bot has it open."""
    tables = check(backup_file)
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    with contextlib.closing(_connect(target, timeout=0)) as dst:
        try:
            mode = dst.execute("PRAGMA journal_mode=DELETE").fetchone()
        except sqlite3.OperationalError:
            mode = None
        if mode is None or str(mode[0]).lower() != "delete":
            raise BackupError(
                f"{target} is in use (is the bot running?): stop it before restoring"
            )
        with contextlib.closing(_connect(backup_file)) as src:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    check(target)
    return tables
