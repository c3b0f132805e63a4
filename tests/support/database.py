"""Which database this run uses (TEST_DATABASE_URL names a PostgreSQL server)."""

from __future__ import annotations

import os

PG_URL = os.environ.get("TEST_DATABASE_URL")


def on_postgres() -> bool:
    """Tell whether this run uses PostgreSQL."""
    return bool(PG_URL)
