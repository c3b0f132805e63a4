"""Schema migrations: bring a database to the newest revision (Alembic, run in code).

Every instance migrates at start, one at a time (an advisory lock on PostgreSQL). While an
upgrade rolls, instances of the previous version run on the new schema, and one of them that
restarts finds a revision it does not know: it runs on it instead of refusing to start (each
revision is written so that the version before it still works: README "Zero-downtime
upgrades").
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: instances starting together take turns instead of racing the DDL.
_PG_LOCK_ID = 0x6B7069626F74

log = logging.getLogger(__name__)


def alembic_config() -> Config:
    """Return an Alembic config that points at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    """Return the newest revision id shipped with the code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision`, under an advisory lock on PostgreSQL.

    A database at the shipped head (every start but the first after an upgrade) is left alone
    without loading Alembic and its scripts: a third of a second off every start.
    """
    if revision == "head" and _at_shipped_head(engine):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and not _known(cfg, current):
            # A newer version migrated this database (an upgrade is rolling): run on it.
            log.warning(
                "the database's schema is at %s, newer than this version's %s: running on it "
                "without migrating",
                current,
                head_revision(),
            )
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _known(cfg: Config, revision: str) -> bool:
    """Tell whether this version ships the revision (False: a newer version wrote it)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(cfg).get_revision(revision) is not None
    except CommandError:
        return False


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the schema to `revision` (used by the migration tests)."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)


def shipped_head() -> str | None:
    """Return the head revision read from the migration files' `revision` and `down_revision`
    lines without Alembic; None when they do not name exactly one head."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            continue
        revisions.add(rev.group(1))
        downs.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def _at_shipped_head(engine: Engine) -> bool:
    head = shipped_head()
    if head is None:
        return False
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return list(versions) == [head]
