"""Schema migrations: bring a database to the newest revision (Alembic, run in code).

Every instance migrates at start, one at a time (an advisory lock on PostgreSQL). While an
upgrade rolls, instances of the previous version run on the new schema, and one of them that
restarts finds a revision it does not know: it runs on it instead of refusing to start (each
revision is written so that the version before it still works: README "Zero-downtime
upgrades").
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: instances starting together take turns instead of racing the DDL.
_PG_LOCK_ID = 0x6B7069626F74

log = logging.getLogger(__name__)


def alembic_config() -> Config:
    """Return an Alembic config that points at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    """Return the newest revision id shipped with the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision`, under an advisory lock on PostgreSQL."""
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
    try:
        return ScriptDirectory.from_config(cfg).get_revision(revision) is not None
    except CommandError:
        return False


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the schema to `revision` (used by the migration tests)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
